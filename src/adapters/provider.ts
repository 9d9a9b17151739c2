// What the adapters need of a stack, and no more: they take this narrow interface rather
// than importing Stack, so the stack can offer them (stack.connect, lwip-wasm/node)
// without a module cycle.
import type { Socket } from '../socket.js';

export interface SocketProvider {
  /** socket(2): AF_INET or AF_INET6, SOCK_STREAM or SOCK_DGRAM. */
  socket(domain: number, type: number): Socket;
  /** True once dispose() was called: its sockets are gone. */
  readonly disposed: boolean;
  /** The error that stopped the stack, if one did. */
  readonly failure: Error | undefined;
}
