// What the adapters need of a stack, and no more: they take this narrow interface rather
// than importing Stack, so the stack can offer them (stack.connect, lwip-wasm/node)
// without a module cycle.
import type { Socket } from '../socket.js';
import type { TlsSocket, TlsSocketOptions } from '../tls/tls-socket.js';
import type { SecureContext } from '../tls/context.js';
import type { SecureContextOptions } from '../tls/options.js';
import type { Clock } from '../clock.js';

export interface SocketProvider {
  /** socket(2): AF_INET or AF_INET6, SOCK_STREAM or SOCK_DGRAM. */
  socket(domain: number, type: number): Socket;
  /** True once dispose() was called: its sockets are gone. */
  readonly disposed: boolean;
  /** The error that stopped the stack, if one did. */
  readonly failure: Error | undefined;
  /** The stack's clock: socket timeouts run on it (default: real time). */
  readonly clock?: Clock;
  /** True when the stack's wasm has TLS. */
  readonly hasTls?: boolean;
  /** TLS over a connected socket (stacks made with { tls: true }; others throw TypeError). */
  startTls?(socket: Socket, options?: TlsSocketOptions): TlsSocket;
  /** A TLS configuration shared by connections. */
  createSecureContext?(options?: SecureContextOptions & { isServer?: boolean }): SecureContext;
}
