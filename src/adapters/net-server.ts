// node:net's Server over a stack. Each listening socket runs an accept loop on the
// sockets API's readiness; accepted connections become NetSockets. Node-only.
import { EventEmitter } from 'node:events';
import type { Socket } from '../index.js';
import type { SocketProvider } from './provider.js';
import {
  AF_INET, AF_INET6, SOCK_STREAM, EADDRINUSE, IPPROTO_IPV6, IPV6_V6ONLY, SocketError, StackError,
} from '../index.js';
import { literalAddress, checkPortNumber } from './host.js';
import { toNodeError, nodeCodeError, isDisposal } from './node-errors.js';
import type { NetSocket, NetSocketOptions } from './net-socket.js';

export interface NetServerOptions {
  /** Passed to each connection (default false: end our side when the peer ends). */
  allowHalfOpen?: boolean;
  /** Connections start paused: no reading until socket.resume(). */
  pauseOnConnect?: boolean;
  /** setNoDelay(true) on every connection. */
  noDelay?: boolean;
  /** setKeepAlive(true, keepAliveInitialDelay) on every connection. */
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** The connections' buffer high-water mark (default 16384). */
  highWaterMark?: number;
}

export interface NetListenOptions {
  port?: number;
  /** Default: '::' and '0.0.0.0' together (IPv6 and IPv4), as Node listens on both. */
  host?: string;
  /** Connections waiting for accept (default 511 as Node, clamped by the stack to 255). */
  backlog?: number;
  /** With host '::' (or none): IPv6 only. */
  ipv6Only?: boolean;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /** Accepted and ignored (one process owns the stack). */
  exclusive?: boolean;
}

export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

type ConnectionListener = (socket: NetSocket) => void;
type SocketFactory = (options: NetSocketOptions) => NetSocket;

const DUAL_STACK_TRIES = 16;

export class NetServer extends EventEmitter {
  /** Beyond this many open connections, new ones are closed at once and 'drop' is emitted. */
  maxConnections: number | undefined;
  readonly #stack: SocketProvider;
  readonly #options: NetServerOptions;
  readonly #newSocket: SocketFactory;
  #listeners: Socket[] = [];
  #address: AddressInfo | null = null;
  readonly #connections = new Set<NetSocket>();
  #abort: AbortController | undefined;
  #closing = false;

  /** @internal use stack.net.createServer() */
  constructor(stack: SocketProvider, newSocket: SocketFactory, options: NetServerOptions = {}, listener?: ConnectionListener) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    this.#stack = stack;
    this.#newSocket = newSocket;
    this.#options = options;
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.#listeners.length > 0;
  }

  /**
   * Starts listening, as net.Server#listen: (port[, host][, backlog][, cb]) or
   * (options[, cb]). 'listening' follows; failures (EADDRINUSE...) come as 'error'.
   */
  listen(options: NetListenOptions, callback?: () => void): this;
  listen(port?: number, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number, host?: string, callback?: () => void): this;
  listen(port?: number, callback?: () => void): this;
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const cb = typeof last === 'function' ? (last as () => void) : undefined;
    const rest = cb ? args.slice(0, -1) : args;
    let o: NetListenOptions;
    if (rest[0] !== null && typeof rest[0] === 'object') {
      o = rest[0] as NetListenOptions;
      if ((o as { path?: unknown }).path) throw new TypeError('lwip-wasm: IPC paths are not supported; listen on a port');
    } else {
      if (typeof rest[0] === 'string' && !/^\d+$/.test(rest[0])) {
        throw new TypeError('lwip-wasm: IPC paths are not supported; listen on a port');
      }
      o = {};
      if (rest[0] !== undefined && rest[0] !== null) o.port = Number(rest[0]);
      if (typeof rest[1] === 'string') o.host = rest[1];
      const backlog = typeof rest[1] === 'number' ? rest[1] : rest[2];
      if (typeof backlog === 'number') o.backlog = backlog;
    }
    if (this.listening) throw nodeCodeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    let port: number;
    try {
      port = checkPortNumber(o.port ?? 0);
    } catch (err) {
      throw nodeCodeError('ERR_SOCKET_BAD_PORT', (err as Error).message, RangeError);
    }
    const host = o.host === undefined || o.host === '' ? undefined : literalAddress(o.host);
    if (host === null) throw new TypeError(`lwip-wasm: listen needs an IP address or 'localhost' (the stack has no DNS), got ${JSON.stringify(o.host)}`);
    if (cb) this.once('listening', cb);
    this.#closing = false;
    try {
      this.#bind(host, port, o.backlog ?? 511, !!o.ipv6Only);
    } catch (err) {
      process.nextTick(() => this.emit('error', toNodeError(err, 'listen', host ?? '::', port)));
      return this;
    }
    this.#abort = new AbortController();
    const signal = o.signal;
    if (signal) {
      if (signal.aborted) process.nextTick(() => this.close());
      else signal.addEventListener('abort', () => this.close(), { once: true, signal: this.#abort.signal });
    }
    for (const l of this.#listeners) void this.#acceptLoop(l, this.#abort.signal);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /**
   * Binds one socket, or for no host (or '::') what Node gives: IPv6 and IPv4 on one port.
   * A stack whose '::' takes IPv4 itself (dual stack, as Linux) needs one socket; one
   * whose '::' is IPv6 only gets a second, IPv4 listener on the same port.
   */
  #bind(host: string | undefined, port: number, backlog: number, ipv6Only: boolean): void {
    const open = (address: string, p: number, v6only = false): Socket => {
      const s = this.#stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
      try {
        if (v6only) s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
        s.bind(address, p);
        s.listen(Math.max(1, Math.min(255, backlog)));
      } catch (err) {
        s.close();
        throw err;
      }
      return s;
    };
    if (host !== undefined && host !== '::') {
      this.#listeners = [open(host, port)];
    } else if (ipv6Only || isDualStack(this.#stack)) {
      this.#listeners = [open('::', port, ipv6Only)];
    } else {
      for (let attempt = 0; ; attempt++) {
        const v6 = open('::', port);
        try {
          this.#listeners = [v6, open('0.0.0.0', v6.getsockname().port)];
          break;
        } catch (err) {
          v6.close();
          // an ephemeral port free for IPv6 may be taken for IPv4: pick another
          if (port !== 0 || attempt >= DUAL_STACK_TRIES || !(err instanceof SocketError && err.errno === EADDRINUSE)) throw err;
        }
      }
    }
    this.#address = addressOf(this.#listeners[0]!);
  }

  async #acceptLoop(listener: Socket, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let conn: Socket;
      try {
        conn = await listener.accept({ signal });
      } catch (err) {
        if (signal.aborted || listener.closed) return;
        if (err instanceof StackError) {
          if (!isDisposal(err)) this.emit('error', err);
          this.close();
          return;
        }
        this.emit('error', toNodeError(err, 'accept'));
        // EMFILE and the like persist: pause instead of spinning on them
        await new Promise<void>((resolve) => setTimeout(resolve, 100).unref());
        continue;
      }
      this.#onConnection(conn);
    }
  }

  #onConnection(conn: Socket): void {
    if (this.maxConnections !== undefined && this.#connections.size >= this.maxConnections) {
      const peer = safeName(() => conn.getpeername());
      const local = safeName(() => conn.getsockname());
      conn.close();
      this.emit('drop', {
        localAddress: local?.address, localPort: local?.port, localFamily: local?.family,
        remoteAddress: peer?.address, remotePort: peer?.port, remoteFamily: peer?.family,
      });
      return;
    }
    const o = this.#options;
    const socketOptions: NetSocketOptions = { allowHalfOpen: o.allowHalfOpen ?? false };
    if (o.highWaterMark !== undefined) socketOptions.highWaterMark = o.highWaterMark;
    const socket = this.#newSocket(socketOptions);
    if (o.noDelay) socket.setNoDelay(true);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAliveInitialDelay ?? 0);
    socket._attach(conn, !!o.pauseOnConnect);
    (socket as NetSocket & { server?: NetServer }).server = this;
    this.#connections.add(socket);
    socket.once('close', () => {
      this.#connections.delete(socket);
      this.#emitCloseIfDrained();
    });
    this.emit('connection', socket);
  }

  /** { address, family, port } of the listening socket, or null when not listening. */
  address(): AddressInfo | null {
    return this.listening ? this.#address : null;
  }

  /**
   * Stops accepting. 'close' follows once every connection has closed; callback gets
   * ERR_SERVER_NOT_RUNNING when the server was not listening, as in Node.
   */
  close(callback?: (err?: Error) => void): this {
    if (callback) {
      if (!this.listening) {
        this.once('close', () => callback(nodeCodeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.')));
      } else {
        this.once('close', callback);
      }
    }
    this.#abort?.abort();
    for (const l of this.#listeners) {
      try {
        if (!l.closed) l.close();
      } catch {
        // the stack was disposed
      }
    }
    this.#listeners = [];
    this.#closing = true;
    this.#emitCloseIfDrained();
    return this;
  }

  #emitCloseIfDrained(): void {
    if (!this.#closing || this.listening || this.#connections.size > 0) return;
    this.#closing = false;
    process.nextTick(() => this.emit('close'));
  }

  getConnections(callback: (err: Error | null, count: number) => void): this {
    const n = this.#connections.size;
    process.nextTick(() => callback(null, n));
    return this;
  }

  /** Present for Node compatibility; the stack's own timers decide whether the process stays alive. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

const dualStack = new WeakMap<SocketProvider, boolean>();

/**
 * Whether this stack's '::' socket also takes IPv4. Probed once: a fresh ephemeral port
 * is free in both families, so an IPv4 bind to the port a '::' socket just got fails
 * only when that socket holds IPv4 too.
 */
function isDualStack(stack: SocketProvider): boolean {
  let known = dualStack.get(stack);
  if (known !== undefined) return known;
  const v6 = stack.socket(AF_INET6, SOCK_STREAM);
  const v4 = stack.socket(AF_INET, SOCK_STREAM);
  try {
    v6.bind('::', 0);
    try {
      v4.bind('0.0.0.0', v6.getsockname().port);
      known = false;
    } catch (err) {
      if (!(err instanceof SocketError && err.errno === EADDRINUSE)) throw err;
      known = true;
    }
  } finally {
    v6.close();
    v4.close();
  }
  dualStack.set(stack, known);
  return known;
}

function addressOf(s: Socket): AddressInfo {
  const n = s.getsockname();
  return { address: n.address, family: n.family, port: n.port };
}

function safeName<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
