// node:net's Socket over a stack: a real stream.Duplex on top of the sockets API.
// Reading pulls with recv() only while the readable buffer is under its high-water mark,
// and a write's callback runs once the stack has taken every byte into its send buffer,
// so a slow reader stops a fast writer end to end (write() returns false, 'drain' follows).
// Node-only. Run-time values come from the package entry, so Stack, Socket and
// SocketError are the very classes the main entry exports.
import { Duplex } from 'node:stream';
import { Buffer } from 'node:buffer';
import type { Socket } from '../index.js';
import type { SocketProvider } from './provider.js';
import {
  AF_INET, AF_INET6, SOCK_STREAM, SHUT_WR, ENOTCONN, SOL_SOCKET, SO_KEEPALIVE, IPPROTO_TCP, TCP_NODELAY, TCP_KEEPIDLE,
  SocketError,
} from '../index.js';
import { ipFamily, literalAddress, checkPortNumber } from './host.js';
import { toNodeError, notFound, nodeCodeError, isDisposal } from './node-errors.js';
import { IdleTimer } from './idle-timer.js';

/** dns.lookup's shape, which net.connect's `lookup` option takes. */
export type LookupFunction = (
  hostname: string,
  options: { family?: number; all?: boolean },
  callback: (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void,
) => void;

export interface NetSocketOptions {
  /** false (default): end our side when the peer ends its side, as Node's default. */
  allowHalfOpen?: boolean;
  /** Both buffers' high-water mark in bytes (default 16384, Node's default). */
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  /** Aborting destroys the socket with an AbortError. */
  signal?: AbortSignal;
}

export interface NetConnectOptions extends NetSocketOptions {
  port: number;
  /** IP address, 'localhost', or a name for `lookup` (default 'localhost'). */
  host?: string;
  /** 4 or 6: which address 'localhost' and lookup give (default 0: either). */
  family?: number;
  localAddress?: string;
  localPort?: number;
  /** Resolves names other than IP literals and 'localhost' (dns.lookup's signature). */
  lookup?: LookupFunction;
  /** Idle time in ms before 'timeout' is emitted (as socket.setTimeout). */
  timeout?: number;
  /** Limit in ms for the TCP handshake; then the socket fails with ETIMEDOUT (default: the stack's connectTimeout). */
  connectTimeout?: number;
  noDelay?: boolean;
  keepAlive?: boolean;
  /** ms of idleness before the first keepalive probe (default: the stack's, 7200 s). */
  keepAliveInitialDelay?: number;
}

const READ_CHUNK = 262144;

type Callback = (err?: Error | null) => void;

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

function checkTimeoutMs(ms: unknown): number {
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw nodeCodeError('ERR_OUT_OF_RANGE', `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${String(ms)}`, RangeError);
  }
  return ms;
}

export class NetSocket extends Duplex {
  /** True from connect() until the handshake completes or fails. */
  connecting = false;
  /** Idle timeout set by setTimeout (ms), or undefined. */
  timeout: number | undefined;
  readonly #stack: SocketProvider;
  #sock: Socket | undefined;
  #ready: Promise<Socket> | undefined;
  #abort = new AbortController();
  #reading = false;
  #wantRead = false;
  #bytesRead = 0;
  #dispatched = 0;
  #peer: { address: string; port: number; family: string } | undefined;
  #local: { address: string; port: number; family: string } | undefined;
  #timer: IdleTimer | undefined;
  #noDelay: boolean | undefined;
  #keepAlive: { enable: boolean; delay: number } | undefined;

  constructor(stack: SocketProvider, options: NetSocketOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    super({
      allowHalfOpen: options.allowHalfOpen ?? false,
      emitClose: false, // 'close' carries hadError, as net.Socket's does
      autoDestroy: true,
      decodeStrings: true,
      ...(options.highWaterMark !== undefined ? { highWaterMark: options.highWaterMark } : {}),
      ...(options.readableHighWaterMark !== undefined ? { readableHighWaterMark: options.readableHighWaterMark } : {}),
      ...(options.writableHighWaterMark !== undefined ? { writableHighWaterMark: options.writableHighWaterMark } : {}),
    });
    this.#stack = stack;
    const signal = options.signal;
    if (signal) {
      const onAbort = (): void => {
        this.destroy(Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' }));
      };
      if (signal.aborted) process.nextTick(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true, signal: this.#abort.signal });
    }
  }

  // --- connect ----------------------------------------------------------------------

  /**
   * Connects as net.Socket#connect: (port[, host][, listener]) or (options[, listener]).
   * Failures are emitted as 'error' with Node's code (ECONNREFUSED...), then 'close'.
   */
  connect(options: NetConnectOptions, listener?: () => void): this;
  connect(port: number, host?: string, listener?: () => void): this;
  connect(port: number, listener?: () => void): this;
  connect(...args: unknown[]): this {
    const [options, listener] = normalizeConnectArgs(args);
    if (this.connecting || this.#sock) {
      throw nodeCodeError('ERR_SOCKET_CONNECTING', 'lwip-wasm: this socket is already connected or connecting');
    }
    if (this.destroyed) throw nodeCodeError('ERR_SOCKET_CLOSED', 'lwip-wasm: the socket is closed');
    const port = checkPortNumber(options.port);
    const host = options.host ?? 'localhost';
    if (typeof host !== 'string') throw new TypeError('lwip-wasm: host must be a string');
    const family = options.family ?? 0;
    if (family !== 0 && family !== 4 && family !== 6) throw new TypeError('lwip-wasm: family must be 0, 4 or 6');
    if (options.lookup !== undefined && typeof options.lookup !== 'function') throw new TypeError('lwip-wasm: lookup must be a function');
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (options.noDelay) this.setNoDelay(true);
    if (options.keepAlive) this.setKeepAlive(true, options.keepAliveInitialDelay ?? 0);
    if (listener) this.once('connect', listener);
    this.connecting = true;
    this.#ready = this.#connect(host, port, family, options);
    this.#ready.catch(() => {}); // failures are reported through destroy(err)
    return this;
  }

  async #connect(host: string, port: number, family: 0 | 4 | 6, o: NetConnectOptions): Promise<Socket> {
    let address: string;
    try {
      address = await this.#lookup(host, family, o.lookup);
    } catch (err) {
      this.destroy(err as Error);
      throw err;
    }
    if (this.destroyed) throw nodeCodeError('ERR_SOCKET_CLOSED', 'lwip-wasm: the socket is closed');
    let sock: Socket;
    try {
      sock = this.#stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
    } catch (err) {
      this.destroy(toNodeError(err, 'connect', address, port) as Error);
      throw err;
    }
    this.#sock = sock;
    try {
      if (o.localAddress !== undefined || o.localPort !== undefined) {
        const la = o.localAddress ?? (address.includes(':') ? '::' : '0.0.0.0');
        const lp = checkPortNumber(o.localPort ?? 0, 'localPort');
        try {
          sock.bind(la, lp);
        } catch (err) {
          throw toNodeError(err, 'bind', la, lp);
        }
      }
      this.#applyOptions(sock);
      const opts: { signal: AbortSignal; timeout?: number } = { signal: this.#abort.signal };
      if (o.connectTimeout !== undefined) opts.timeout = o.connectTimeout;
      try {
        await sock.connect(address, port, opts);
      } catch (err) {
        throw toNodeError(err, 'connect', address, port);
      }
    } catch (err) {
      this.#fail(err);
      throw err;
    }
    if (this.destroyed) throw nodeCodeError('ERR_SOCKET_CLOSED', 'lwip-wasm: the socket is closed');
    this.#opened(sock);
    this.emit('connect');
    this.emit('ready');
    // As net.Socket does: start reading (into the buffer, up to its high-water mark) so
    // the peer's FIN or RST is seen even before anyone consumes the data.
    if (!this.isPaused()) this.read(0);
    return sock;
  }

  async #lookup(host: string, family: 0 | 4 | 6, lookup: LookupFunction | undefined): Promise<string> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    if (ipFamily(bare) !== 0) return bare;
    // a name is looked up asynchronously, as dns.lookup is, so 'lookup' comes after connect() returns
    await new Promise<void>((resolve) => process.nextTick(resolve));
    let address = literalAddress(bare, family);
    if (address === null && lookup) {
      address = await new Promise<string>((resolve, reject) => {
        lookup(bare, { family, all: false }, (err, addr) => {
          if (err) return reject(err);
          const first = Array.isArray(addr) ? addr[0]?.address : addr;
          if (typeof first !== 'string' || ipFamily(first) === 0) return reject(notFound(bare));
          resolve(first);
        });
      });
    }
    if (address === null) {
      const err = notFound(bare);
      this.emit('lookup', err, undefined, undefined, bare);
      throw err;
    }
    this.emit('lookup', null, address, ipFamily(address), bare);
    return address;
  }

  /** @internal The server hands over an accepted connection. */
  _attach(sock: Socket, pauseOnConnect: boolean): void {
    this.#sock = sock;
    this.#ready = Promise.resolve(sock);
    this.#applyOptions(sock);
    this.#opened(sock);
    if (pauseOnConnect) this.pause();
    else this.read(0);
  }

  #opened(sock: Socket): void {
    this.connecting = false;
    try {
      this.#peer = sock.getpeername();
      this.#local = sock.getsockname();
    } catch {
      // reset before we looked: the first read reports it
    }
    this.#touch();
    if (this.#wantRead) void this.#pump();
  }

  // --- reading ----------------------------------------------------------------------

  override _read(): void {
    this.#wantRead = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const sock = this.#sock;
    if (this.#reading || !sock || this.connecting) return;
    this.#reading = true;
    try {
      while (this.#wantRead && !this.destroyed) {
        const chunk = await sock.recv(READ_CHUNK);
        if (this.destroyed) return;
        if (chunk.byteLength === 0) {
          this.#wantRead = false;
          this.push(null);
          return;
        }
        this.#bytesRead += chunk.byteLength;
        this.#touch();
        if (!this.push(toBuffer(chunk))) this.#wantRead = false; // _read asks again
      }
    } catch (err) {
      this.#fail(toNodeError(err, 'read'));
    } finally {
      this.#reading = false;
    }
  }

  // --- writing ----------------------------------------------------------------------

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: Callback): void {
    this.#send(chunk, cb);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: Callback): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  #send(data: Buffer, cb: Callback): void {
    const ready = this.#ready;
    if (!ready) {
      cb(nodeCodeError('ERR_SOCKET_CLOSED', 'lwip-wasm: write before connect()'));
      return;
    }
    ready
      .then((sock) => sock.send(data))
      .then(() => {
        this.#dispatched += data.byteLength;
        this.#touch();
        cb();
      }, (err: unknown) => {
        if (isDisposal(err)) this.#fail(err);
        cb(toNodeError(err, 'write') as Error);
      });
  }

  /** Destroys with err, or quietly when the stack was disposed. */
  #fail(err: unknown): void {
    if (this.destroyed) return;
    if (isDisposal(err)) this.destroy();
    else this.destroy(err as Error);
  }

  override _final(cb: Callback): void {
    const ready = this.#ready;
    if (!ready) {
      cb();
      return;
    }
    ready.then((sock) => {
      if (!sock.closed) {
        try {
          sock.shutdown(SHUT_WR);
        } catch (err) {
          // ENOTCONN: the peer already reset; the read side reports that
          if (!(err instanceof SocketError && err.errno === ENOTCONN)) throw err;
        }
      }
      cb();
    }).catch((err: unknown) => cb(toNodeError(err, 'shutdown') as Error));
  }

  // --- teardown ---------------------------------------------------------------------

  override _destroy(err: Error | null, cb: Callback): void {
    this.connecting = false;
    this.#clearTimer();
    this.#abort.abort();
    const sock = this.#sock;
    if (sock && !sock.closed) {
      try {
        sock.close();
      } catch {
        // the stack is gone already
      }
    }
    cb(err);
    // a turn later, as net.Socket's handle closes: after 'error', and after code that
    // awaited 'error' has attached its 'close' listener
    setImmediate(() => this.emit('close', !!err));
  }

  /** Ends our side, then destroys the socket once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  // --- options ----------------------------------------------------------------------

  /**
   * Emits 'timeout' after ms without reading or writing (0 disables). The socket stays
   * open, as in Node: the listener decides whether to end or destroy it.
   */
  setTimeout(ms: number, callback?: () => void): this {
    this.timeout = checkTimeoutMs(ms);
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.#clearTimer();
    if (ms > 0 && !this.destroyed) {
      this.#timer = new IdleTimer(this.#stack.clock, ms, () => this.emit('timeout'));
    }
    return this;
  }

  #touch(): void {
    this.#timer?.touch();
  }

  #clearTimer(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  /** TCP_NODELAY: true sends small writes at once instead of coalescing them (Nagle). */
  setNoDelay(noDelay = true): this {
    this.#noDelay = !!noDelay;
    if (this.#sock && !this.#sock.closed) this.#applyOptions(this.#sock);
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE from initialDelay (ms) when it is above 0. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = { enable: !!enable, delay: Math.max(0, Math.floor(Number(initialDelay) || 0)) };
    if (this.#sock && !this.#sock.closed) this.#applyOptions(this.#sock);
    return this;
  }

  #applyOptions(sock: Socket): void {
    try {
      if (this.#noDelay !== undefined) sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, this.#noDelay);
      const ka = this.#keepAlive;
      if (ka) {
        sock.setsockopt(SOL_SOCKET, SO_KEEPALIVE, ka.enable);
        // Node's initialDelay is ms; TCP_KEEPIDLE is whole seconds (1-32767), as Node rounds
        if (ka.enable && ka.delay >= 1000) sock.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, Math.min(32767, Math.floor(ka.delay / 1000)));
      }
    } catch {
      // as Node: options on a socket that just failed are not an error of their own
    }
  }

  /** Present for Node compatibility; the stack's own timers decide whether the process stays alive. */
  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  // --- addresses and counters ---------------------------------------------------------

  /** The local address, as net.Socket#address(): { address, family, port }, or {} before connecting. */
  address(): { address: string; family: string; port: number } | Record<string, never> {
    const l = this.#local;
    return l ? { address: l.address, family: l.family, port: l.port } : {};
  }

  get remoteAddress(): string | undefined {
    return this.#peer?.address;
  }

  get remotePort(): number | undefined {
    return this.#peer?.port;
  }

  get remoteFamily(): string | undefined {
    return this.#peer?.family;
  }

  get localAddress(): string | undefined {
    return this.#local?.address;
  }

  get localPort(): number | undefined {
    return this.#local?.port;
  }

  get localFamily(): string | undefined {
    return this.#local?.family;
  }

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes written so far, counting those still buffered (as Node counts them). */
  get bytesWritten(): number {
    return this.#dispatched + this.writableLength;
  }

  /** True until connected. */
  get pending(): boolean {
    return !this.#sock || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The stack's socket underneath, once connected (for poll or options the adapter lacks). */
  get lwipSocket(): Socket | undefined {
    return this.#sock;
  }
}

/** (port[, host][, cb]) or (options[, cb]), as net.connect takes them. */
export function normalizeConnectArgs(args: unknown[]): [NetConnectOptions, (() => void) | undefined] {
  const last = args[args.length - 1];
  const cb = typeof last === 'function' ? (last as () => void) : undefined;
  const rest = cb ? args.slice(0, -1) : args;
  const first = rest[0];
  if (first !== null && typeof first === 'object') {
    const o = first as NetConnectOptions & { path?: unknown };
    if (o.path) throw new TypeError('lwip-wasm: IPC paths are not supported; connect to a port');
    return [o, cb];
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) {
    throw new TypeError('lwip-wasm: IPC paths are not supported; connect to a port');
  }
  const options: NetConnectOptions = { port: Number(first) };
  if (typeof rest[1] === 'string') options.host = rest[1];
  return [options, cb];
}
