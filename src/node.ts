// lwip-wasm/node: everything the main entry has, plus node:net and node:dgram over a
// stack. Node only (it needs node:stream and node:events); the main entry never imports
// it, so browsers never load it. Importing it gives every Stack `.net` and `.dgram`.
import { Stack } from './index.js';
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

declare module './index.js' {
  interface Stack {
    /** node:net over this stack (from 'lwip-wasm/node'). */
    readonly net: LwipNet;
    /** node:dgram over this stack (from 'lwip-wasm/node'). */
    readonly dgram: LwipDgram;
  }
}

// Installed on the prototype (not in stack.ts) so the main entry stays free of Node
// built-ins; each stack gets one module object of each, made on first use.
for (const [name, make] of [['net', createNet], ['dgram', createDgram]] as const) {
  if (!Object.getOwnPropertyDescriptor(Stack.prototype, name)) {
    Object.defineProperty(Stack.prototype, name, {
      configurable: true,
      enumerable: false,
      get(this: Stack) {
        return make(this);
      },
    });
  }
}
