// node:net's Server over a stack, following Node's steps (lib/net.js): listen() without a
// host binds at once (listening and address() are true at once) and says 'listening' a
// tick later; with a host it looks the host up first (the stack's dns.lookup). Each
// listening socket runs an accept loop on the sockets API's readiness; accepted
// connections become NetSockets, counted until they are destroyed. Node-only.
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import type { Socket } from '../index.js';
import {
  AF_INET, AF_INET6, SOCK_STREAM, EADDRINUSE, IPPROTO_IPV6, IPV6_V6ONLY, SocketError, StackError,
} from '../index.js';
import type { SocketProvider } from './provider.js';
import { Lifetime, whenSettled } from './lifetime.js';
import {
  uvExceptionWithHostPort, errnoException, uvErrno, isDisposal, nodeError, errInvalidArgType, errInvalidArgValue,
  errServerNotRunning,
} from './node-errors.js';
import { validateNumber, validatePort, validateAbortSignal } from './validators.js';
import { normalizeConnectArgs, type NetSocket, type NetSocketOptions, type NetContext } from './net-socket.js';

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
  port?: number | string | null;
  /** Default: '::' and '0.0.0.0' together (IPv6 and IPv4), as Node listens on both. */
  host?: string;
  /** Connections waiting for accept (default 511 as Node, clamped by the stack to 255). */
  backlog?: number;
  /** With host '::' (or none): IPv6 only. */
  ipv6Only?: boolean;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /** Accepted and ignored (one process owns the stack; there is no cluster). */
  exclusive?: boolean;
  /** IPC: not provided (the stack has no file system). */
  path?: string;
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
  /** Beyond this many open connections (when set and not 0), new ones are closed at once and 'drop' is emitted. */
  maxConnections: number | undefined;
  /** Open connections (Node's counter: a connection leaves it when destroyed). */
  _connections = 0;
  readonly allowHalfOpen: boolean;
  readonly pauseOnConnect: boolean;
  readonly noDelay: boolean;
  readonly keepAlive: boolean;
  /** In whole seconds, as Node keeps it. */
  readonly keepAliveInitialDelay: number;
  readonly highWaterMark: number;
  readonly #ctx: NetContext;
  readonly #newSocket: SocketFactory;
  readonly #life = new Lifetime();
  /** Node's _handle: the listening sockets, or null. */
  #listeners: Socket[] | null = null;
  #abort: AbortController | undefined;
  #unref = false;
  #listeningId = 1;

  /** @internal use stack.net.createServer() */
  constructor(ctx: NetContext, newSocket: SocketFactory, options?: NetServerOptions | ConnectionListener, listener?: ConnectionListener) {
    let o: NetServerOptions;
    if (typeof options === 'function') {
      super();
      o = {};
      this.on('connection', options);
    } else if (options == null || typeof options === 'object') {
      super(); // as Node's: events.captureRejections decides, not an option
      o = { ...options };
      if (typeof listener === 'function') this.on('connection', listener);
    } else {
      throw errInvalidArgType('options', 'Object', options);
    }
    if (typeof o.keepAliveInitialDelay !== 'undefined') {
      validateNumber(o.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
      if (o.keepAliveInitialDelay < 0) o.keepAliveInitialDelay = 0;
    }
    if (typeof o.highWaterMark !== 'undefined') {
      validateNumber(o.highWaterMark, 'options.highWaterMark');
      if (o.highWaterMark < 0) o.highWaterMark = undefined;
    }
    this.#ctx = ctx;
    this.#newSocket = newSocket;
    this.allowHalfOpen = o.allowHalfOpen || false;
    this.pauseOnConnect = !!o.pauseOnConnect;
    this.noDelay = Boolean(o.noDelay);
    this.keepAlive = Boolean(o.keepAlive);
    this.keepAliveInitialDelay = ~~((o.keepAliveInitialDelay ?? 0) / 1000);
    this.highWaterMark = o.highWaterMark ?? 16384;
  }

  get listening(): boolean {
    return this.#listeners !== null;
  }

  /**
   * Starts listening, as net.Server#listen: (port[, host][, backlog][, cb]) or
   * (options[, cb]). 'listening' follows; failures (EADDRINUSE...) come as 'error'.
   */
  listen(options: NetListenOptions, callback?: () => void): this;
  listen(port?: number | string | null, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number | string | null, host?: string, callback?: () => void): this;
  listen(port?: number | string | null, backlog?: number, callback?: () => void): this;
  listen(port?: number | string | null, callback?: () => void): this;
  listen(callback?: () => void): this;
  listen(...args: unknown[]): this {
    const [options0, cb] = normalizeConnectArgs(args);
    let options = options0 as NetListenOptions & { handle?: unknown; _handle?: unknown; fd?: unknown };
    if (this.#listeners) throw nodeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if (cb !== null) this.once('listening', cb);
    const toNumber = (x: unknown): number | false => ((x = Number(x)) as number) >= 0 ? x as number : false;
    const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
    options = (options._handle || options.handle || options) as typeof options;
    this.#listeningId++;
    if (options !== options0 || typeof options.fd === 'number') {
      throw new TypeError('lwip-wasm: listening on a handle or file descriptor is not supported; listen on a port');
    }
    this.#abortOn(options.signal);
    if (args.length === 0 || typeof args[0] === 'function' ||
        (typeof options.port === 'undefined' && 'port' in options) || options.port === null) {
      options.port = 0;
    }
    if (typeof options.port === 'number' || typeof options.port === 'string') {
      validatePort(options.port, 'options.port');
      const backlog = options.backlog || backlogFromArgs || 511;
      const port = Number(options.port) | 0;
      if (options.host) this.#lookupAndListen(port, options.host, backlog, !!options.ipv6Only);
      else this.#setupListen(undefined, port, backlog, !!options.ipv6Only);
      return this;
    }
    if (options.path) throw new TypeError('lwip-wasm: IPC paths are not supported (the stack has no file system); listen on a port');
    if (!('port' in options) && !('path' in options)) {
      throw errInvalidArgValue('options', options, 'must have the property "port" or "path"');
    }
    throw errInvalidArgValue('options', options);
  }

  #abortOn(signal: AbortSignal | undefined): void {
    if (signal === undefined) return;
    validateAbortSignal(signal, 'options.signal');
    const onAborted = (): void => {
      this.close();
    };
    if (signal.aborted) {
      process.nextTick(onAborted);
    } else {
      signal.addEventListener('abort', onAborted, { once: true });
      this.once('close', () => signal.removeEventListener('abort', onAborted));
    }
  }

  #lookupAndListen(port: number, host: string, backlog: number, ipv6Only: boolean): void {
    const id = this.#listeningId;
    this.#ctx.dns.lookup(host, (err, ip) => {
      if (id !== this.#listeningId) return;
      if (err) {
        this.emit('error', err);
        return;
      }
      this.#setupListen(ip as string, port, backlog, ipv6Only);
    });
  }

  /** Node's setupListenHandle: bind and listen now; 'listening' or 'error' a tick later. */
  #setupListen(address: string | undefined, port: number, backlog: number, ipv6Only: boolean): void {
    try {
      this.#listeners = this.#bind(address, port, backlog, ipv6Only);
    } catch (err) {
      if (isDisposal(err)) return;
      const e = err instanceof SocketError ? uvExceptionWithHostPort(uvErrno(err.errno), 'listen', address ?? '::', port) : err;
      process.nextTick(() => this.emit('error', e));
      return;
    }
    this.#abort = new AbortController();
    for (const l of this.#listeners) this.#acceptNext(l, this.#abort.signal);
    this.#life.active(true);
    this.#life.ref(!this.#unref);
    process.nextTick(() => {
      if (this.#listeners) this.emit('listening');
    });
  }

  /**
   * Binds one socket, or for no host (or '::') what Node gives: IPv6 and IPv4 on one port.
   * A stack whose '::' takes IPv4 itself (dual stack, as Linux) needs one socket; one
   * whose '::' is IPv6 only gets a second, IPv4 listener on the same port.
   */
  #bind(host: string | undefined, port: number, backlog: number, ipv6Only: boolean): Socket[] {
    const stack = this.#ctx.stack;
    const open = (address: string, p: number, v6only = false): Socket => {
      const s = stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
      s.unref();
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
    if (host !== undefined && host !== '::') return [open(host, port)];
    if (ipv6Only || isDualStack(stack)) return [open('::', port, ipv6Only)];
    for (let attempt = 0; ; attempt++) {
      const v6 = open('::', port);
      try {
        return [v6, open('0.0.0.0', v6.getsockname().port)];
      } catch (err) {
        v6.close();
        // an ephemeral port free for IPv6 may be taken for IPv4: pick another
        if (port !== 0 || attempt >= DUAL_STACK_TRIES || !(err instanceof SocketError && err.errno === EADDRINUSE)) throw err;
      }
    }
  }

  /** Waits for a connection, takes it from the event loop (as libuv's callback), and waits again. */
  #acceptNext(listener: Socket, signal: AbortSignal): void {
    if (signal.aborted) return;
    whenSettled(listener.accept({ signal }), (conn) => {
      if (signal.aborted) {
        closeQuietly(conn);
        return;
      }
      try {
        this.#onConnection(conn);
      } finally {
        // one connection a turn: what a 'connection' listener awaits runs in between
        this.#acceptNext(listener, signal);
      }
    }, (err) => {
      if (signal.aborted) return;
      if (err instanceof StackError || listener.closed) {
        if (!isDisposal(err) && err instanceof Error) this.emit('error', err);
        this.close();
        return;
      }
      // EMFILE and the like persist: pause instead of spinning on them
      setTimeout(() => this.#acceptNext(listener, signal), 100).unref();
      this.emit('error', err instanceof SocketError ? errnoException(uvErrno(err.errno), 'accept') : err);
    });
  }

  /** Node's onconnection. */
  #onConnection(conn: Socket): void {
    if (this.maxConnections && this._connections >= this.maxConnections) {
      const data: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      try {
        const l = conn.getsockname();
        data['localAddress'] = l.address;
        data['localPort'] = l.port;
        data['localFamily'] = l.family;
      } catch {
        // reset while queued
      }
      try {
        const r = conn.getpeername();
        data['remoteAddress'] = r.address;
        data['remotePort'] = r.port;
        data['remoteFamily'] = r.family;
      } catch {
        // reset while queued
      }
      this.emit('drop', data);
      closeQuietly(conn);
      return;
    }
    const socket = this.#newSocket({
      allowHalfOpen: this.allowHalfOpen,
      readableHighWaterMark: this.highWaterMark,
      writableHighWaterMark: this.highWaterMark,
    } as NetSocketOptions);
    socket._attach(conn, this.pauseOnConnect);
    if (this.noDelay) socket.setNoDelay(true);
    if (this.keepAlive) socket.setKeepAlive(true, this.keepAliveInitialDelay * 1000);
    this._connections++;
    socket.server = this;
    socket._server = this;
    this.emit('connection', socket);
  }

  /** { address, family, port } of the listening socket, or null when not listening. */
  address(): AddressInfo | null {
    const l = this.#listeners?.[0];
    if (!l) return null;
    try {
      const n = l.getsockname();
      return { address: n.address, family: n.family, port: n.port };
    } catch (err) {
      throw err instanceof SocketError ? errnoException(uvErrno(err.errno), 'address') : err;
    }
  }

  /**
   * Stops accepting. 'close' follows once every connection has been destroyed; callback
   * gets ERR_SERVER_NOT_RUNNING if the server was not listening, as in Node.
   */
  close(callback?: (err?: Error) => void): this {
    this.#listeningId++;
    if (typeof callback === 'function') {
      if (!this.#listeners) this.once('close', () => callback(errServerNotRunning()));
      else this.once('close', callback);
    }
    if (this.#listeners) {
      this.#abort?.abort();
      for (const l of this.#listeners) {
        try {
          if (!l.closed) l.close();
        } catch {
          // the stack was disposed
        }
      }
      this.#listeners = null;
      this.#life.active(false);
    }
    this._emitCloseIfDrained();
    return this;
  }

  /** @internal Node's: 'close' once nothing listens and no connection is left. */
  _emitCloseIfDrained(): void {
    if (this.#listeners || this._connections) return;
    process.nextTick(() => this.emit('close'));
  }

  getConnections(callback: (err: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this._connections);
    return this;
  }

  /** Closes the server; resolves once it has closed (at once if it was not listening). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#listeners) return;
    await promisify((cb: (err?: Error) => void) => this.close(cb))();
  }

  /** captureRejections: a rejected 'connection' listener destroys that connection. */
  override [EventEmitter.captureRejectionSymbol](err: Error, event: string, sock: NetSocket): void {
    if (event === 'connection') sock.destroy(err);
    else this.emit('error', err);
  }

  /** Keeps the process alive while listening (the default). */
  ref(): this {
    this.#unref = false;
    this.#life.ref(true);
    return this;
  }

  /** Lets the process exit while this server listens. */
  unref(): this {
    this.#unref = true;
    this.#life.ref(false);
    return this;
  }
}

function closeQuietly(s: Socket): void {
  try {
    if (!s.closed) s.close();
  } catch {
    // the stack was disposed
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
