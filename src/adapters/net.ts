// stack.net: the node:net module's shape, bound to one stack, so code written for
// node:net (http, ws, database drivers) runs over it. Node-only.
import type { SocketProvider } from './provider.js';
import { NetSocket, normalizeConnectArgs, type NetSocketOptions, type NetConnectOptions } from './net-socket.js';
import { NetServer, type NetServerOptions } from './net-server.js';
import { ipFamily } from './host.js';

type ConnectionListener = (socket: NetSocket) => void;

/** node:net over one stack. */
export interface LwipNet {
  /** The stack every socket and server of this module lives on. */
  readonly stack: SocketProvider;
  /** net.Socket: `new stack.net.Socket(options).connect(port, host)`. */
  readonly Socket: new (options?: NetSocketOptions) => NetSocket;
  /** net.Server: `new stack.net.Server(options, connectionListener)`. */
  readonly Server: new (options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener) => NetServer;
  createServer(listener?: ConnectionListener): NetServer;
  createServer(options?: NetServerOptions, listener?: ConnectionListener): NetServer;
  connect(options: NetConnectOptions, listener?: () => void): NetSocket;
  connect(port: number, host?: string, listener?: () => void): NetSocket;
  connect(port: number, listener?: () => void): NetSocket;
  createConnection(options: NetConnectOptions, listener?: () => void): NetSocket;
  createConnection(port: number, host?: string, listener?: () => void): NetSocket;
  createConnection(port: number, listener?: () => void): NetSocket;
  isIP(input: string): 0 | 4 | 6;
  isIPv4(input: string): boolean;
  isIPv6(input: string): boolean;
}

const modules = new WeakMap<SocketProvider, LwipNet>();

/** The node:net module for a stack (one per stack; stack.net returns the same one). */
export function createNet(stack: SocketProvider): LwipNet {
  const known = modules.get(stack);
  if (known) return known;

  class Socket extends NetSocket {
    constructor(options?: NetSocketOptions) {
      super(stack, options);
    }
  }
  const newSocket = (o: NetSocketOptions): NetSocket => new Socket(o);

  class Server extends NetServer {
    constructor(options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener) {
      if (typeof options === 'function') super(stack, newSocket, {}, options);
      else super(stack, newSocket, options ?? {}, listener);
    }
  }

  function createServer(options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener): NetServer {
    return new Server(options, listener);
  }

  function connect(...args: unknown[]): NetSocket {
    const [options, listener] = normalizeConnectArgs(args);
    const socketOptions: NetSocketOptions = {};
    if (options.allowHalfOpen !== undefined) socketOptions.allowHalfOpen = options.allowHalfOpen;
    if (options.highWaterMark !== undefined) socketOptions.highWaterMark = options.highWaterMark;
    if (options.readableHighWaterMark !== undefined) socketOptions.readableHighWaterMark = options.readableHighWaterMark;
    if (options.writableHighWaterMark !== undefined) socketOptions.writableHighWaterMark = options.writableHighWaterMark;
    if (options.signal !== undefined) socketOptions.signal = options.signal;
    return new Socket(socketOptions).connect(options, listener);
  }

  const net: LwipNet = {
    stack,
    Socket,
    Server,
    createServer: createServer as LwipNet['createServer'],
    connect: connect as LwipNet['connect'],
    createConnection: connect as LwipNet['createConnection'],
    isIP: (input) => ipFamily(input),
    isIPv4: (input) => ipFamily(input) === 4,
    isIPv6: (input) => ipFamily(input) === 6,
  };
  modules.set(stack, net);
  return net;
}
