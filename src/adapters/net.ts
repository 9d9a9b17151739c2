// stack.net: the node:net module's shape, bound to one stack, so code written for
// node:net (http, ws, database drivers) runs over it. Node-only.
import netNode from 'node:net';
import type { SocketProvider } from './provider.js';
import { realClock } from '../index.js';
import { NetSocket, normalizeConnectArgs, type NetSocketOptions, type NetConnectOptions, type NetContext } from './net-socket.js';
import { NetServer, type NetServerOptions } from './net-server.js';
import { createDns } from './dns.js';
import { ipFamily } from './host.js';
import { validateBoolean, validateInt32 } from './validators.js';

type ConnectionListener = (socket: NetSocket) => void;

/** net.Socket for one stack: callable with or without `new`, as Node's. */
export interface NetSocketConstructor {
  new (options?: NetSocketOptions): NetSocket;
  (options?: NetSocketOptions): NetSocket;
  readonly prototype: NetSocket;
}

/** net.Server for one stack: callable with or without `new`, as Node's. */
export interface NetServerConstructor {
  new (options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener): NetServer;
  (options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener): NetServer;
  readonly prototype: NetServer;
}

/** node:net over one stack. */
export interface LwipNet {
  /** The stack every socket and server of this module lives on. */
  readonly stack: SocketProvider;
  /** net.Socket: `new stack.net.Socket(options).connect(port, host)`. */
  readonly Socket: NetSocketConstructor;
  /** The legacy name of Socket. */
  readonly Stream: NetSocketConstructor;
  /** net.Server: `new stack.net.Server(options, connectionListener)`. */
  readonly Server: NetServerConstructor;
  createServer(listener?: ConnectionListener): NetServer;
  createServer(options?: NetServerOptions, listener?: ConnectionListener): NetServer;
  connect(options: NetConnectOptions, listener?: () => void): NetSocket;
  connect(port: number | string, host?: string, listener?: () => void): NetSocket;
  connect(port: number | string, listener?: () => void): NetSocket;
  createConnection(options: NetConnectOptions, listener?: () => void): NetSocket;
  createConnection(port: number | string, host?: string, listener?: () => void): NetSocket;
  createConnection(port: number | string, listener?: () => void): NetSocket;
  isIP(input: unknown): 0 | 4 | 6;
  isIPv4(input: unknown): boolean;
  isIPv6(input: unknown): boolean;
  /** This module's default for connect's autoSelectFamily (starts as node:net's). */
  getDefaultAutoSelectFamily(): boolean;
  setDefaultAutoSelectFamily(value: boolean): void;
  getDefaultAutoSelectFamilyAttemptTimeout(): number;
  setDefaultAutoSelectFamilyAttemptTimeout(value: number): void;
  /** node:net's own: plain data, no sockets. */
  readonly BlockList: typeof netNode.BlockList;
  readonly SocketAddress: typeof netNode.SocketAddress;
}

const modules = new WeakMap<SocketProvider, LwipNet>();

/**
 * A constructor that works with or without `new` and can be extended, as Node's
 * function-style classes can: it builds Impl's instances with new.target's prototype.
 */
function callable<C extends abstract new (...args: never[]) => object>(Impl: new (...args: unknown[]) => object, name: string): C {
  const F = function (this: unknown, ...args: unknown[]): object {
    return Reflect.construct(Impl, args, new.target ?? F);
  };
  F.prototype = Impl.prototype;
  Object.defineProperty(Impl.prototype, 'constructor', { value: F, writable: true, configurable: true });
  Object.setPrototypeOf(F, Impl);
  Object.defineProperty(F, 'name', { value: name });
  return F as unknown as C;
}

/** The node:net module for a stack (one per stack; stack.net returns the same one). */
export function createNet(stack: SocketProvider): LwipNet {
  const known = modules.get(stack);
  if (known) return known;

  const ctx: NetContext = {
    stack,
    dns: createDns(stack),
    clock: stack.clock ?? realClock,
    autoSelectFamily: netNode.getDefaultAutoSelectFamily?.() ?? true,
    autoSelectFamilyAttemptTimeout: netNode.getDefaultAutoSelectFamilyAttemptTimeout?.() ?? 250,
  };

  class StackSocket extends NetSocket {
    constructor(options?: NetSocketOptions) {
      super(ctx, options);
    }
  }
  const Socket = callable<NetSocketConstructor>(StackSocket as unknown as new (...args: unknown[]) => object, 'Socket');
  const newSocket = (o: NetSocketOptions): NetSocket => new Socket(o);

  class StackServer extends NetServer {
    constructor(options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener) {
      super(ctx, newSocket, options, listener);
    }
  }
  const Server = callable<NetServerConstructor>(StackServer as unknown as new (...args: unknown[]) => object, 'Server');

  function connect(...args: unknown[]): NetSocket {
    const normalized = normalizeConnectArgs(args);
    const options = normalized[0];
    const socket = new Socket(options);
    if (options.timeout) socket.setTimeout(options.timeout);
    return socket.connect(normalized as unknown as NetConnectOptions);
  }

  const net: LwipNet = {
    stack,
    Socket,
    Stream: Socket,
    Server,
    createServer: ((options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener) =>
      new Server(options, listener)) as LwipNet['createServer'],
    connect: connect as LwipNet['connect'],
    createConnection: connect as LwipNet['createConnection'],
    isIP: (input) => ipFamily(input),
    isIPv4: (input) => ipFamily(input) === 4,
    isIPv6: (input) => ipFamily(input) === 6,
    getDefaultAutoSelectFamily: () => ctx.autoSelectFamily,
    setDefaultAutoSelectFamily(value) {
      validateBoolean(value, 'value');
      ctx.autoSelectFamily = value;
    },
    getDefaultAutoSelectFamilyAttemptTimeout: () => ctx.autoSelectFamilyAttemptTimeout,
    setDefaultAutoSelectFamilyAttemptTimeout(value) {
      validateInt32(value, 'value', 1);
      ctx.autoSelectFamilyAttemptTimeout = Math.max(10, value);
    },
    BlockList: netNode.BlockList,
    SocketAddress: netNode.SocketAddress,
  };
  modules.set(stack, net);
  return net;
}
