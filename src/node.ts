// lwip-wasm/node: everything the main entry has, plus node:net, node:dgram and node:dns's
// lookup over a stack. Node only (it needs node:stream and node:events); the main entry
// never imports it, so browsers never load it. Its Stack extends the main entry's with
// `net`, `dgram` and `dns`; createNet(stack), createDgram(stack) and createDns(stack)
// serve a stack from either entry, and routeThrough(stack) sends the process's own
// node:net, node:dgram and node:dns through one.
import { Stack as BaseStack, type StackOptions } from './index.js';
import { createNet, type LwipNet } from './adapters/net.js';
import { createDgram, type LwipDgram } from './adapters/dgram.js';
import { createDns, type LwipDns } from './adapters/dns.js';

export * from './index.js';
export { createNet, type LwipNet, type NetSocketConstructor, type NetServerConstructor } from './adapters/net.js';
export { NetSocket, type NetSocketOptions, type NetConnectOptions } from './adapters/net-socket.js';
export { NetServer, type NetServerOptions, type NetListenOptions, type AddressInfo } from './adapters/net-server.js';
export {
  createDgram, DgramSocket, type LwipDgram, type DgramSocketOptions, type DgramType, type RemoteInfo,
  type DgramBindOptions, type DgramAddress, type DgramSocketConstructor,
} from './adapters/dgram.js';
export {
  createDns, type LwipDns, type LookupFunction, type LookupOptions, type LookupAddress, type LookupCallback,
} from './adapters/dns.js';
export { routeThrough, withRoute, type Route } from './adapters/route.js';
export type { NodeSystemError } from './adapters/node-errors.js';
export type { SocketProvider, ProviderInterface } from './adapters/provider.js';

/** A Stack with node:net, node:dgram and node:dns's lookup over it (the main entry's Stack, extended). */
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

  /** node:dns's lookup and promises.lookup over this stack's resolver; 'localhost' is its own loopback. */
  get dns(): LwipDns {
    return createDns(this);
  }
}
