// lwip-wasm/node: everything the main entry has, plus node:net and node:dgram over a
// stack. Node only (it needs node:stream and node:events); the main entry never imports
// it, so browsers never load it. Its Stack extends the main entry's with `net` and
// `dgram`; createNet(stack) and createDgram(stack) serve a stack from either entry.
import { Stack as BaseStack, type StackOptions } from './index.js';
import { createNet, type LwipNet } from './adapters/net.js';
import { createDgram, type LwipDgram } from './adapters/dgram.js';

export * from './index.js';
export { createNet, type LwipNet } from './adapters/net.js';
export { NetSocket, type NetSocketOptions, type NetConnectOptions, type LookupFunction } from './adapters/net-socket.js';
export { NetServer, type NetServerOptions, type NetListenOptions, type AddressInfo } from './adapters/net-server.js';
export {
  createDgram, DgramSocket, type LwipDgram, type DgramSocketOptions, type DgramType, type RemoteInfo,
  type DgramBindOptions, type DgramAddress,
} from './adapters/dgram.js';
export type { NodeSystemError } from './adapters/node-errors.js';
export type { SocketProvider } from './adapters/provider.js';

/** A Stack with node:net and node:dgram over it (the main entry's Stack, extended). */
export class Stack extends BaseStack {
  /** Creates a stack; see the main entry's Stack.create. */
  static override create(options?: StackOptions): Promise<Stack> {
    return BaseStack.open(options, (internal) => new Stack(internal));
  }

  /** node:net over this stack (one module object per stack, as createNet gives). */
  get net(): LwipNet {
    return createNet(this);
  }

  /** node:dgram over this stack (one module object per stack, as createDgram gives). */
  get dgram(): LwipDgram {
    return createDgram(this);
  }
}
