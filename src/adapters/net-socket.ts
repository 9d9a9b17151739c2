// node:net's Socket over a stack: a real stream.Duplex whose steps follow Node's own
// (lib/net.js) so that events come in Node's order, with Node's errors: names resolve
// through the stack's dns.lookup (or the `lookup` option), IP literals connect a tick
// later, reading runs while the readable buffer has room (so a FIN is seen even when
// nobody reads, as libuv's read does), writes complete at once when the stack takes
// every byte and otherwise wait for room, and 'close' follows a turn after destroy(), as
// a handle's close does. User callbacks run outside the adapter's promises, so what they
// throw reaches 'uncaughtException'. Node-only.
import { Duplex, type DuplexOptions } from 'node:stream';
import { Buffer } from 'node:buffer';
import type { Socket, Clock, ClockTimer } from '../index.js';
import {
  AF_INET, AF_INET6, SOCK_STREAM, SHUT_WR, ENOTCONN, EAGAIN, ENOENT, ETIMEDOUT, SOL_SOCKET, SO_KEEPALIVE, SO_LINGER,
  IPPROTO_TCP, TCP_NODELAY, TCP_KEEPIDLE, SocketError, realClock,
} from '../index.js';
import type { SocketProvider } from './provider.js';
import { ipFamily } from './host.js';
import { Lifetime, whenSettled } from './lifetime.js';
import { ADDRCONFIG, type LwipDns, type LookupFunction, type LookupAddress } from './dns.js';
import {
  toNodeError, errnoException, exceptionWithHostPort, isDisposal, nodeError, errInvalidArgValue, errInvalidArgType,
  errInvalidIpAddress, errInvalidAddressFamily, errMissingArgs, errSocketClosed, aggregateError, uvErrno,
  type NodeSystemError,
} from './node-errors.js';
import {
  validateNumber, validatePort, validateBoolean, validateInt32, validateFunction, validateTimeout,
} from './validators.js';

export type { LookupFunction } from './dns.js';

/** Per-module state a socket needs: its stack, its dns, its defaults. */
export interface NetContext {
  readonly stack: SocketProvider;
  readonly dns: LwipDns;
  readonly clock: Clock;
  autoSelectFamily: boolean;
  autoSelectFamilyAttemptTimeout: number;
}

export interface NetSocketOptions {
  /** false (default): end our side when the peer ends its side, as Node's default. */
  allowHalfOpen?: boolean;
  /** Both buffers' high-water mark in bytes (default 16384, Node's default). */
  highWaterMark?: number;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  /** Aborting destroys the socket with an AbortError. */
  signal?: AbortSignal;
  /** Incoming data goes into one buffer and to callback instead of the stream. */
  onread?: { buffer: Uint8Array | (() => Uint8Array); callback: (bytes: number, buffer: Uint8Array) => boolean | void };
  /** Applied once connected (net.connect's options, or new Socket(options)). */
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  /** EventEmitter's captureRejections. */
  captureRejections?: boolean;
}

export interface NetConnectOptions extends NetSocketOptions {
  port: number | string;
  /** IP address or host name (default 'localhost': the stack's own loopback). */
  host?: string;
  /** 4, 6 or 0 (either); 'IPv4' and 'IPv6' too, as server.address() reports them. */
  family?: number | 'IPv4' | 'IPv6';
  /** dns.lookup hints (dns.ADDRCONFIG, dns.V4MAPPED). */
  hints?: number;
  localAddress?: string;
  localPort?: number;
  /** Resolves host (dns.lookup's signature; default: the stack's dns.lookup). */
  lookup?: LookupFunction;
  /** Try each address the lookup gives, as RFC 8305 (default: net.getDefaultAutoSelectFamily()). */
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
  /** Idle time in ms before 'timeout' is emitted (as socket.setTimeout; net.connect only). */
  timeout?: number;
  /** Limit in ms for the TCP handshake, then ETIMEDOUT (an addition; default: the stack's connectTimeout). */
  connectTimeout?: number;
  /** IPC: not provided (the stack has no file system); the connect fails with ENOENT. */
  path?: string;
}

/** What a socket needs of the server that accepted it (Node's _server). */
export interface ServerLink {
  _connections: number;
  _emitCloseIfDrained(): void;
}

interface Peer {
  address: string;
  family: string;
  port: number;
}

type Callback = (err?: Error | null) => void;
type WriteChunk = { chunk: Buffer | string; encoding: BufferEncoding };

const READ_CHUNK = 262144;
const NORMALIZED = Symbol('normalizedArgs');

function socketToDnsFamily(family: unknown): unknown {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family;
}

function toBuffer(u8: Uint8Array): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** A system error for a failed call on the stack; other errors pass unchanged. */
function errnoOf(err: unknown, syscall: string): Error {
  return err instanceof SocketError ? errnoException(uvErrno(err.errno), syscall) : err as Error;
}

interface MultiConnect {
  addresses: LookupAddress[];
  current: number;
  port: number;
  localPort: number | undefined;
  timeout: number;
  timer: ClockTimer | undefined;
  errors: Error[];
}

export class NetSocket extends Duplex {
  /** True from connect() until the handshake completes or fails. */
  connecting = false;
  /** What setTimeout was last given. */
  timeout: number | undefined;
  /** The server that accepted this socket, or null. */
  server: unknown = null;
  _server: ServerLink | null = null;
  /** The host name connect() looked up, or null. */
  _host: string | null = null;
  /** The addresses tried with autoSelectFamily ("addr:port"). */
  autoSelectFamilyAttemptedAddresses: string[] | undefined;

  readonly #ctx: NetContext;
  #life = new Lifetime();
  /** Node's _handle exists: from connect() (or accept) until destroy. */
  #open = false;
  #sock: Socket | undefined;
  #reading = false;
  /** The peer's FIN was read: reading again would only read it again. */
  #eof = false;
  #readAbort: AbortController | undefined;
  #connectAbort: AbortController | undefined;
  #peername: Peer | undefined;
  #sockname: Peer | undefined;
  #bytesRead = 0;
  #bytesWritten = 0;
  #pendingData: Buffer | string | WriteChunk[] | null = null;
  #pendingEncoding: BufferEncoding | '' = '';
  #timer: ClockTimer | undefined;
  #timeoutMs = 0;
  #lastActive = 0;
  #noDelay: boolean;
  #keepAlive: boolean;
  #keepAliveDelay: number;
  #onreadBuf: Uint8Array | undefined;
  #onreadGen: (() => Uint8Array) | undefined;
  #onreadCb: ((n: number, buf: Uint8Array) => boolean | void) | undefined;
  #resetAndClosing = false;

  /** @internal use stack.net.Socket or stack.net.connect() */
  constructor(ctx: NetContext, options?: NetSocketOptions) {
    const o = options as (NetSocketOptions & { objectMode?: unknown; readableObjectMode?: unknown; writableObjectMode?: unknown; fd?: unknown }) | undefined;
    if (o?.objectMode) throw errInvalidArgValue('options.objectMode', o.objectMode, 'is not supported');
    if (o?.readableObjectMode || o?.writableObjectMode) {
      const which = o.readableObjectMode ? 'readableObjectMode' : 'writableObjectMode';
      throw errInvalidArgValue(`options.${which}`, o.readableObjectMode || o.writableObjectMode, 'is not supported');
    }
    if (typeof o?.keepAliveInitialDelay !== 'undefined') validateNumber(o.keepAliveInitialDelay, 'options.keepAliveInitialDelay');
    if (typeof options === 'number' || o?.fd !== undefined) {
      throw new TypeError('lwip-wasm: a stack socket cannot wrap a file descriptor (options.fd)');
    }
    const opts = { ...o } as DuplexOptions & NetSocketOptions;
    if (typeof opts.keepAliveInitialDelay === 'number' && opts.keepAliveInitialDelay < 0) opts.keepAliveInitialDelay = 0;
    opts.allowHalfOpen = Boolean(opts.allowHalfOpen);
    opts.emitClose = false; // 'close' carries hadError, as net.Socket's does
    opts.autoDestroy = true;
    opts.decodeStrings = false;
    super(opts);
    this.#ctx = ctx;
    const onread = opts.onread;
    if (onread !== null && typeof onread === 'object' &&
        (onread.buffer instanceof Uint8Array || typeof onread.buffer === 'function') && typeof onread.callback === 'function') {
      if (typeof onread.buffer === 'function') this.#onreadGen = onread.buffer;
      else this.#onreadBuf = onread.buffer;
      this.#onreadCb = onread.callback;
    }
    this.#noDelay = Boolean(opts.noDelay);
    this.#keepAlive = Boolean(opts.keepAlive);
    this.#keepAliveDelay = ~~((opts.keepAliveInitialDelay ?? 0) / 1000);
    this.on('end', onReadableStreamEnd);
  }

  // --- connect ----------------------------------------------------------------------

  /**
   * Connects as net.Socket#connect: (port[, host][, listener]) or (options[, listener]).
   * Failures are emitted as 'error' with Node's code (ECONNREFUSED...), then 'close'.
   * A closed socket may connect again.
   */
  connect(options: NetConnectOptions, listener?: () => void): this;
  connect(port: number | string, host?: string, listener?: () => void): this;
  connect(port: number | string, listener?: () => void): this;
  connect(...args: unknown[]): this {
    const normalized = Array.isArray(args[0]) && (args[0] as { [NORMALIZED]?: boolean })[NORMALIZED]
      ? args[0] as NormalizedArgs : normalizeConnectArgs(args);
    const [options, cb] = normalized;
    if (cb !== null) this.once('connect', cb);
    if (options.port === undefined && options.path == null) throw errMissingArgs(['options', 'port', 'path']);
    if (this.write !== NetSocket.prototype.write) this.write = NetSocket.prototype.write;
    if (this.destroyed) {
      this.#open = false;
      this.#sock = undefined;
      this.#peername = undefined;
      this.#sockname = undefined;
    }
    if (!this.#open) this.#initHandle();
    this.#touch();
    this.connecting = true;
    if (options.path) {
      // no file system on the stack, so no socket file exists at any path
      const path = String(options.path);
      process.nextTick(() => {
        if (this.connecting) this.destroy(exceptionWithHostPort(uvErrno(ENOENT), 'connect', path));
      });
    } else {
      this.#lookupAndConnect(options);
    }
    return this;
  }

  /** Node's initSocketHandle: a fresh handle for a new or reused socket. */
  #initHandle(): void {
    (this as unknown as { _undestroy(): void })._undestroy();
    this.#open = true;
    this.#eof = false;
    this.#sockname = undefined;
    this.#bytesRead = 0;
    this.#bytesWritten = 0;
    const ref = this.#life.referenced;
    this.#life.close();
    this.#life = new Lifetime();
    this.#life.ref(ref);
  }

  #lookupAndConnect(o: NetConnectOptions): void {
    const { localAddress, localPort } = o;
    const host = o.host || 'localhost';
    let autoSelectFamily = o.autoSelectFamily;
    let attemptTimeout = o.autoSelectFamilyAttemptTimeout;
    if (localAddress && !ipFamily(localAddress)) throw errInvalidIpAddress(localAddress);
    if (localPort) validateNumber(localPort, 'options.localPort');
    let port: unknown = o.port;
    if (typeof port !== 'undefined') {
      if (typeof port !== 'number' && typeof port !== 'string') throw errInvalidArgType('options.port', ['number', 'string'], port);
      validatePort(port);
    }
    port = Number(port) | 0;
    if (autoSelectFamily != null) validateBoolean(autoSelectFamily, 'options.autoSelectFamily');
    else autoSelectFamily = this.#ctx.autoSelectFamily;
    if (attemptTimeout != null) {
      validateInt32(attemptTimeout, 'options.autoSelectFamilyAttemptTimeout', 1);
      if (attemptTimeout < 10) attemptTimeout = 10;
    } else {
      attemptTimeout = this.#ctx.autoSelectFamilyAttemptTimeout;
    }
    const addressType = ipFamily(host);
    if (addressType) {
      process.nextTick(() => {
        if (this.connecting) this.#internalConnect(host, port as number, addressType, localAddress, localPort, o);
      });
      return;
    }
    if (o.lookup != null) validateFunction(o.lookup, 'options.lookup');
    const dnsopts: { family: unknown; hints: number; all?: boolean } = { family: socketToDnsFamily(o.family), hints: o.hints || 0 };
    if (dnsopts.family !== 4 && dnsopts.family !== 6 && dnsopts.hints === 0) dnsopts.hints = ADDRCONFIG;
    this._host = host;
    const lookup = (o.lookup || this.#ctx.dns.lookup) as (h: string, opts: object, cb: (...a: never[]) => void) => void;
    if (dnsopts.family !== 4 && dnsopts.family !== 6 && !localAddress && autoSelectFamily) {
      dnsopts.all = true;
      lookup(host, dnsopts, ((err: Error | null, addresses: LookupAddress[]) =>
        this.#afterLookupAll(err, addresses, host, port as number, localPort, attemptTimeout as number, o)) as never);
      return;
    }
    lookup(host, dnsopts, ((err: Error | null, ip: string, type: number) => {
      this.emit('lookup', err, ip, type, host);
      if (!this.connecting) return;
      if (err) process.nextTick(() => this.destroy(err));
      else if (!ipFamily(ip)) process.nextTick(() => this.destroy(errInvalidIpAddress(ip)));
      else if (type !== 4 && type !== 6) process.nextTick(() => this.destroy(errInvalidAddressFamily(type, o.host, o.port)));
      else {
        this.#touch();
        this.#internalConnect(ip, port as number, type, localAddress, localPort, o);
      }
    }) as never);
  }

  /** A socket of the stack for one attempt, unref'd: this object decides the process's lifetime. */
  #newHandle(addressType: number): Socket {
    this.#closeSock();
    const sock = this.#ctx.stack.socket(addressType === 6 ? AF_INET6 : AF_INET, SOCK_STREAM);
    sock.unref();
    this.#sock = sock;
    return sock;
  }

  #closeSock(): void {
    const old = this.#sock;
    this.#sock = undefined;
    try {
      if (old && !old.closed) old.close();
    } catch {
      // the stack is gone already
    }
  }

  /**
   * Starts the handshake on sock; calls done from the event loop with null once
   * connected, or the error. A superseded or aborted attempt calls nothing.
   */
  #handshake(sock: Socket, address: string, port: number, o: NetConnectOptions, done: (err: unknown) => void): void {
    this.#connectAbort?.abort();
    const ac = new AbortController();
    this.#connectAbort = ac;
    const opts: { signal: AbortSignal; timeout?: number } = { signal: ac.signal };
    if (o.connectTimeout !== undefined) opts.timeout = o.connectTimeout;
    // a connect in flight keeps the process alive, as Node's connect request does
    const settle = (err: unknown): void => {
      if (!ac.signal.aborted && !this.destroyed && this.#sock === sock) done(err);
    };
    // Connected: a turn later still, so that on the stack's own loopback the server has
    // taken the connection first, as it has on the OS's by the time the client hears of it.
    whenSettled(this.#life.track(sock.connect(address, port, opts)), () => setImmediate(settle, null), settle);
  }

  #internalConnect(address: string, port: number, addressType: number, localAddress: string | undefined,
    localPort: number | undefined, o: NetConnectOptions): void {
    let sock: Socket;
    try {
      sock = this.#newHandle(addressType);
    } catch (err) {
      this.#failQuietlyOr(err, () => toNodeError(err, 'connect', address, port));
      return;
    }
    if (localAddress || localPort) {
      const la = localAddress || (addressType === 4 ? '0.0.0.0' : '::');
      try {
        sock.bind(la, localPort ?? 0);
      } catch (err) {
        this.#failQuietlyOr(err, () => toNodeError(err, 'bind', la, localPort));
        return;
      }
    }
    this.emit('connectionAttempt', address, port, addressType);
    this.#handshake(sock, address, port, o, (result) => {
      if (result === null) {
        this.#afterConnect();
        return;
      }
      if (isDisposal(result)) {
        this.destroy();
        return;
      }
      const details = localAddress && localPort ? `${localAddress}:${localPort}` : undefined;
      const ex = toNodeError(result, 'connect', address, port, details) as NodeSystemError;
      if (details) {
        ex.localAddress = localAddress;
        ex.localPort = localPort;
      }
      this.emit('connectionAttemptFailed', address, port, addressType, ex);
      this.destroy(ex);
    });
  }

  #failQuietlyOr(err: unknown, make: () => unknown): void {
    if (isDisposal(err)) this.destroy();
    else this.destroy(make() as Error);
  }

  #afterLookupAll(err: Error | null, addresses: LookupAddress[], host: string, port: number, localPort: number | undefined,
    timeout: number, o: NetConnectOptions): void {
    if (!this.connecting) return;
    if (err) {
      this.emit('lookup', err, undefined, undefined, host);
      process.nextTick(() => this.destroy(err));
      return;
    }
    // the first valid address's family goes first; the families then alternate
    const valid: [LookupAddress[], LookupAddress[]] = [[], []];
    let order: Record<number, 0 | 1> | undefined;
    for (const a of addresses) {
      this.emit('lookup', err, a.address, a.family, host);
      if (!this.connecting) return;
      if (ipFamily(a.address) && (a.family === 4 || a.family === 6)) {
        order ??= a.family === 6 ? { 6: 0, 4: 1 } : { 4: 0, 6: 1 };
        const list = valid[order[a.family]!];
        if (!list.some((x) => x.address === a.address)) list.push(a);
      }
    }
    if (!valid[0].length && !valid[1].length) {
      const first = addresses[0];
      if (!first || !ipFamily(first.address)) process.nextTick(() => this.destroy(errInvalidIpAddress(first?.address)));
      else process.nextTick(() => this.destroy(errInvalidAddressFamily(first.family, o.host, o.port)));
      return;
    }
    const toAttempt: LookupAddress[] = [];
    for (let i = 0; i < Math.max(valid[0].length, valid[1].length); i++) {
      if (i in valid[0]) toAttempt.push(valid[0][i]!);
      if (i in valid[1]) toAttempt.push(valid[1][i]!);
    }
    this.#touch();
    if (toAttempt.length === 1) {
      this.#internalConnect(toAttempt[0]!.address, port, toAttempt[0]!.family, undefined, localPort, o);
      return;
    }
    this.autoSelectFamilyAttemptedAddresses = [];
    this.#connectMultiple({ addresses: toAttempt, current: 0, port, localPort, timeout, timer: undefined, errors: [] }, o);
  }

  /** One attempt of several (autoSelectFamily); each later one after the previous failed or timed out. */
  #connectMultiple(ctx: MultiConnect, o: NetConnectOptions): void {
    ctx.timer?.clear();
    if (ctx.current === ctx.addresses.length) {
      this.destroy(ctx.errors.length === 0
        ? nodeError('ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout') : aggregateError(ctx.errors));
      return;
    }
    const current = ctx.current++;
    const { address, family } = ctx.addresses[current]!;
    const { port, localPort } = ctx;
    let sock: Socket;
    try {
      sock = this.#newHandle(family);
    } catch (err) {
      this.#failQuietlyOr(err, () => toNodeError(err, 'connect', address, port));
      return;
    }
    if (localPort) {
      const la = family === 4 ? '0.0.0.0' : '::';
      try {
        sock.bind(la, localPort);
      } catch (err) {
        ctx.errors.push(toNodeError(err, 'bind', la, localPort) as Error);
        this.#connectMultiple(ctx, o);
        return;
      }
    }
    this.emit('connectionAttempt', address, port, family);
    this.autoSelectFamilyAttemptedAddresses!.push(`${address}:${port}`);
    this.#handshake(sock, address, port, o, (result) => {
      ctx.timer?.clear();
      if (result === null) {
        this.#afterConnect();
        return;
      }
      if (isDisposal(result)) {
        this.destroy();
        return;
      }
      const ex = toNodeError(result, 'connect', address, port) as Error;
      ctx.errors.push(ex);
      this.emit('connectionAttemptFailed', address, port, family, ex);
      if (this.connecting) this.#connectMultiple(ctx, o);
    });
    if (current < ctx.addresses.length - 1) {
      ctx.timer = this.#ctx.clock.setTimer(() => {
        ctx.timer = undefined;
        this.emit('connectionAttemptTimeout', address, port, family);
        ctx.errors.push(exceptionWithHostPort(uvErrno(ETIMEDOUT), 'connect', address, port));
        this.#connectAbort?.abort();
        this.#closeSock();
        if (this.connecting) this.#connectMultiple(ctx, o);
      }, ctx.timeout);
    }
  }

  #afterConnect(): void {
    if (this.destroyed) return;
    this.connecting = false;
    this.#sockname = undefined;
    this.#touch();
    const sock = this.#sock!;
    if (this.#noDelay) this.#option(sock, IPPROTO_TCP, TCP_NODELAY, 1);
    if (this.#keepAlive) this.#applyKeepAlive(sock);
    this.emit('connect');
    this.emit('ready');
    // start reading (into the buffer, up to its high-water mark) so the peer's FIN or
    // RST is seen even before anyone consumes the data
    if (!this.isPaused()) this.read(0);
  }

  /** @internal The server hands over an accepted connection (Node's new Socket({ handle })). */
  _attach(sock: Socket, pauseOnCreate: boolean): void {
    sock.unref();
    this.#initHandle();
    this.#sock = sock;
    if (pauseOnCreate) (this as { readableFlowing: boolean | null }).readableFlowing = false;
    else this.read(0);
  }

  // --- reading ----------------------------------------------------------------------

  override _read(n: number): void {
    if (this.connecting || !this.#sock) this.once('connect', () => this._read(n));
    else if (!this.#reading) this.#readStart();
  }

  #readStart(): void {
    const sock = this.#sock;
    if (!sock || this.#reading || this.#eof) return;
    this.#reading = true;
    this.#life.active(true);
    this.#readNext(sock);
  }

  #readStop(): void {
    if (!this.#reading) return;
    this.#reading = false;
    this.#life.active(false);
    this.#readAbort?.abort();
    this.#readAbort = undefined;
  }

  /**
   * libuv's read loop, one read at a time: waits for data, then delivers it from the
   * event loop; goes on while reading (the readable buffer has room).
   */
  #readNext(sock: Socket): void {
    if (!this.#reading || this.#sock !== sock || this.destroyed) return;
    const ac = new AbortController();
    this.#readAbort = ac;
    const userBuf = this.#onreadCb ? this.#userBuffer() : undefined;
    const read: Promise<Uint8Array | number> = userBuf ? sock.recvInto(userBuf, { signal: ac.signal })
      : sock.recv(READ_CHUNK, { signal: ac.signal });
    whenSettled(read, (got) => this.#onRead(sock, got, userBuf), (err) => {
      if (ac.signal.aborted || this.#sock !== sock || this.destroyed) return;
      this.#readStop();
      if (isDisposal(err)) this.destroy();
      else this.destroy(errnoOf(err, 'read'));
    });
  }

  /** One read's result: what was read is delivered even if reading stopped meanwhile. */
  #onRead(sock: Socket, got: Uint8Array | number, userBuf: Uint8Array | undefined): void {
    if (this.destroyed || this.#sock !== sock) return; // what was read is dropped with the socket
    this.#touch();
    const n = typeof got === 'number' ? got : got.byteLength;
    if (n === 0) {
      this.#eof = true;
      this.#readStop(); // EOF: libuv stops reading
      if ((this as unknown as { _readableState: { endEmitted: boolean } })._readableState.endEmitted) return;
      this.push(null);
      this.read(0);
      return;
    }
    this.#bytesRead += n;
    let more = true;
    try {
      if (userBuf) {
        more = this.#onreadCb!(n, userBuf) !== false;
        if (this.#onreadGen) this.#onreadBuf = undefined;
      } else {
        more = this.push(toBuffer(got as Uint8Array));
      }
    } finally {
      // a listener that throws does not stop the reading, as in Node
      if (!more) this.#readStop();
      else this.#readNext(sock);
    }
  }

  #userBuffer(): Uint8Array | undefined {
    if (!this.#onreadBuf && this.#onreadGen) {
      const b = this.#onreadGen();
      if (b instanceof Uint8Array) this.#onreadBuf = b;
    }
    return this.#onreadBuf;
  }

  override pause(): this {
    if (this.#onreadCb && !this.connecting && this.#open && this.#reading && !this.destroyed) this.#readStop();
    return super.pause();
  }

  override resume(): this {
    if (this.#onreadCb && !this.connecting && this.#open && !this.#reading) this.#readStart();
    return super.resume();
  }

  override read(n?: number): unknown {
    if (this.#onreadCb && !this.connecting && this.#open && !this.#reading) this.#readStart();
    return super.read(n);
  }

  // --- writing ----------------------------------------------------------------------

  override _write(data: Buffer | string, encoding: BufferEncoding, cb: Callback): void {
    this.#writeGeneric(false, data, encoding, cb);
  }

  override _writev(chunks: WriteChunk[], cb: Callback): void {
    this.#writeGeneric(true, chunks, '', cb);
  }

  #writeGeneric(writev: boolean, data: Buffer | string | WriteChunk[], encoding: BufferEncoding | '', cb: Callback): void {
    if (this.connecting) {
      // as Node: the first write waits for the connection; the Writable queues the rest
      this.#pendingData = data;
      this.#pendingEncoding = encoding;
      const onClose = (): void => cb(nodeError('ERR_SOCKET_CLOSED_BEFORE_CONNECTION', 'Socket closed before the connection was established'));
      this.once('connect', () => {
        this.off('close', onClose);
        this.#writeGeneric(writev, data, encoding, cb);
      });
      this.once('close', onClose);
      return;
    }
    this.#pendingData = null;
    this.#pendingEncoding = '';
    const sock = this.#sock;
    if (!sock || !this.#open) {
      cb(errSocketClosed());
      return;
    }
    this.#touch();
    const bytes = writev
      ? Buffer.concat((data as WriteChunk[]).map((c) => (typeof c.chunk === 'string' ? Buffer.from(c.chunk, c.encoding) : c.chunk)))
      : typeof data === 'string' ? Buffer.from(data, (encoding || 'utf8') as BufferEncoding) : data as Buffer;
    let off = 0;
    try {
      while (off < bytes.byteLength) off += sock.sendSync(off === 0 ? bytes : bytes.subarray(off));
    } catch (err) {
      if (!(err instanceof SocketError && err.errno === EAGAIN)) {
        if (isDisposal(err)) {
          this.destroy();
          cb(null);
        } else {
          cb(errnoOf(err, 'write'));
        }
        return;
      }
    }
    this.#bytesWritten += bytes.byteLength;
    if (off === bytes.byteLength) {
      cb(); // a synchronous write, as libuv's when the kernel takes it all
      return;
    }
    // the rest waits for room; a write in flight keeps the process alive
    whenSettled(this.#life.track(sock.send(bytes.subarray(off))), () => {
      this.#touch();
      cb(null);
    }, (err: unknown) => {
      if (this.destroyed || isDisposal(err)) {
        if (!this.destroyed) this.destroy();
        cb(null);
        return;
      }
      cb(errnoOf(err, 'write'));
    });
  }

  override _final(cb: Callback): void {
    if (this.pending) {
      this.once('connect', () => this._final(cb));
      return;
    }
    const sock = this.#sock;
    if (!sock) {
      cb();
      return;
    }
    try {
      sock.shutdown(SHUT_WR);
    } catch (err) {
      if (err instanceof SocketError && err.errno === ENOTCONN) {
        cb();
        return;
      }
      if (isDisposal(err)) {
        cb();
        return;
      }
      cb(errnoOf(err, 'shutdown'));
      return;
    }
    // the FIN is queued behind the data; the shutdown request completes a turn later, as libuv's
    setImmediate(cb);
  }

  // --- teardown ---------------------------------------------------------------------

  override _destroy(exception: Error | null, cb: Callback): void {
    this.connecting = false;
    this.#clearTimer();
    this.#connectAbort?.abort();
    this.#connectAbort = undefined;
    this.#readStop();
    if (this.#open) {
      const isException = !!exception;
      const sock = this.#sock;
      if (sock && !sock.closed && this.#resetAndClosing) {
        this.#resetAndClosing = false;
        this.#option(sock, SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
      }
      this.#closeSock();
      this.#open = false;
      this.#sockname = undefined;
      this.#life.close();
      cb(exception);
      // a turn later, as a handle's close callback: after 'error', and after code that
      // awaited 'error' has attached its 'close' listener
      setImmediate(() => this.emit('close', isException));
    } else {
      cb(exception);
      process.nextTick(() => this.emit('close'));
    }
    const server = this._server;
    if (server) {
      server._connections--;
      server._emitCloseIfDrained();
    }
  }

  /** Sends a RST instead of a FIN, then destroys (once connected, if connecting). */
  resetAndDestroy(): this {
    if (this.#open) {
      if (this.connecting) this.once('connect', () => this.#reset());
      else this.#reset();
    } else {
      this.destroy(errSocketClosed());
    }
    return this;
  }

  #reset(): void {
    this.#resetAndClosing = true;
    this.destroy();
  }

  /** Ends our side, then destroys the socket once everything is written. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', this.destroy);
  }

  // --- timeout (on the stack's clock) -------------------------------------------------

  /**
   * Emits 'timeout' after msecs without reading or writing (0 disables), on the stack's
   * clock, so a VirtualClock drives it. The socket stays open, as in Node.
   */
  setTimeout(msecs: number, callback?: () => void): this {
    if (this.destroyed) return this;
    this.timeout = msecs;
    const ms = validateTimeout(msecs, 'msecs');
    this.#clearTimer();
    if (ms === 0) {
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.removeListener('timeout', callback);
      }
    } else {
      this.#timeoutMs = ms;
      this.#lastActive = this.#ctx.clock.now();
      this.#arm(ms);
      if (callback !== undefined) {
        validateFunction(callback, 'callback');
        this.once('timeout', callback);
      }
    }
    return this;
  }

  #arm(ms: number): void {
    const t = this.#ctx.clock.setTimer(() => this.#onTimer(t), ms);
    t.unref?.(); // a socket's timeout does not keep the process alive, as in Node
    this.#timer = t;
  }

  #onTimer(t: ClockTimer): void {
    if (this.#timer !== t) return;
    this.#timer = undefined;
    const idle = this.#ctx.clock.now() - this.#lastActive;
    if (idle < this.#timeoutMs) {
      this.#arm(this.#timeoutMs - idle);
      return;
    }
    this.emit('timeout');
  }

  /** Activity: the timeout counts from now (and re-arms after it fired, as refresh() does). */
  #touch(): void {
    if (this.#timeoutMs === 0) return;
    this.#lastActive = this.#ctx.clock.now();
    if (!this.#timer && !this.destroyed) this.#arm(this.#timeoutMs);
  }

  #clearTimer(): void {
    this.#timer?.clear();
    this.#timer = undefined;
    this.#timeoutMs = 0;
  }

  // --- options ----------------------------------------------------------------------

  /** TCP_NODELAY: true (the default argument) sends small writes at once (no Nagle). */
  setNoDelay(enable?: boolean): this {
    const on = Boolean(enable === undefined ? true : enable);
    if (!this.#sock || this.connecting) {
      this.#noDelay = on;
      return this;
    }
    if (on !== this.#noDelay) {
      this.#noDelay = on;
      this.#option(this.#sock, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
    }
    return this;
  }

  /** SO_KEEPALIVE, and TCP_KEEPIDLE in whole seconds from initialDelay (ms) when that is 1 s or more. */
  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    const on = Boolean(enable);
    const delay = ~~((initialDelay as number) / 1000);
    if (!this.#sock || this.connecting) {
      this.#keepAlive = on;
      this.#keepAliveDelay = delay;
      return this;
    }
    if (on !== this.#keepAlive || (on && this.#keepAliveDelay !== delay)) {
      this.#keepAlive = on;
      this.#keepAliveDelay = delay;
      this.#applyKeepAlive(this.#sock);
    }
    return this;
  }

  #applyKeepAlive(sock: Socket): void {
    this.#option(sock, SOL_SOCKET, SO_KEEPALIVE, this.#keepAlive ? 1 : 0);
    if (this.#keepAlive && this.#keepAliveDelay >= 1) {
      this.#option(sock, IPPROTO_TCP, TCP_KEEPIDLE, Math.min(32767, this.#keepAliveDelay));
    }
  }

  #option(sock: Socket, level: number, name: number, value: number | { onoff: boolean; linger: number }): void {
    try {
      sock.setsockopt(level, name, value);
    } catch {
      // as Node: an option on a socket that just failed is not an error of its own
    }
  }

  /** Keeps the process alive while this socket is active (the default). */
  ref(): this {
    if (!this.#open) {
      this.once('connect', this.ref);
      return this;
    }
    this.#life.ref(true);
    return this;
  }

  /** Lets the process exit even while this socket is open (requests in flight still hold it). */
  unref(): this {
    if (!this.#open) {
      this.once('connect', this.unref);
      return this;
    }
    this.#life.ref(false);
    return this;
  }

  // --- addresses and counters ---------------------------------------------------------

  #getpeername(): Partial<Peer> {
    const sock = this.#sock;
    if (!sock || !this.#open || this.connecting) return this.#peername ?? {};
    if (!this.#peername) {
      try {
        this.#peername = sock.getpeername();
      } catch {
        return {};
      }
    }
    return this.#peername;
  }

  #getsockname(): Partial<Peer> {
    const sock = this.#sock;
    if (!sock || !this.#open) return {};
    if (!this.#sockname) {
      try {
        const n = sock.getsockname();
        this.#sockname = { address: n.address, family: n.family, port: n.port };
      } catch {
        return {};
      }
    }
    return this.#sockname;
  }

  /** The local { address, family, port }, or {} before connecting and after closing. */
  address(): Partial<Peer> {
    const n = this.#getsockname();
    return n.address === undefined ? {} : { address: n.address, family: n.family!, port: n.port! };
  }

  get remoteAddress(): string | undefined {
    return this.#getpeername().address;
  }

  get remoteFamily(): string | undefined {
    return this.#getpeername().family;
  }

  get remotePort(): number | undefined {
    return this.#getpeername().port;
  }

  get localAddress(): string | undefined {
    return this.#getsockname().address;
  }

  get localPort(): number | undefined {
    return this.#getsockname().port;
  }

  get localFamily(): string | undefined {
    return this.#getsockname().family;
  }

  /** Bytes received so far. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** Bytes written so far, counting those still buffered (as Node counts them). */
  get bytesWritten(): number {
    let bytes = this.#bytesWritten;
    const buffered = (this as unknown as { writableBuffer?: WriteChunk[] }).writableBuffer ?? [];
    for (const el of buffered) bytes += Buffer.isBuffer(el.chunk) ? el.chunk.length : Buffer.byteLength(el.chunk, el.encoding);
    const data = this.#pendingData;
    if (Array.isArray(data)) {
      for (const c of data) bytes += Buffer.isBuffer(c.chunk) ? c.chunk.length : Buffer.byteLength(c.chunk, c.encoding);
    } else if (data) {
      bytes += typeof data === 'string' ? Buffer.byteLength(data, (this.#pendingEncoding || 'utf8') as BufferEncoding) : data.length;
    }
    return bytes;
  }

  /** Deprecated in Node: writableLength, while the socket has a handle. */
  get bufferSize(): number | undefined {
    return this.#open ? this.writableLength : undefined;
  }

  /** True until connected. */
  get pending(): boolean {
    return !this.#open || this.connecting;
  }

  get _connecting(): boolean {
    return this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** The stack's socket underneath, once connecting (for poll or options the adapter lacks). */
  get lwipSocket(): Socket | undefined {
    return this.#sock;
  }
}

/** After the peer's FIN with allowHalfOpen false, writes fail as Node's do (EPIPE). */
function onReadableStreamEnd(this: NetSocket): void {
  if (!this.allowHalfOpen) this.write = writeAfterFIN as NetSocket['write'];
}

function writeAfterFIN(this: NetSocket, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  if (!this.writableEnded) return (Duplex.prototype.write as (...a: unknown[]) => boolean).call(this, chunk, encoding, cb);
  if (typeof encoding === 'function') cb = encoding;
  const er = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
  if (typeof cb === 'function') process.nextTick(cb as (e: Error) => void, er);
  this.destroy(er);
  return false;
}

type NormalizedArgs = [NetConnectOptions, ((...a: unknown[]) => void) | null] & { [NORMALIZED]?: boolean };

/** (port[, host][, cb]), (path[, cb]) or (options[, cb]), as Node's normalizeArgs. */
export function normalizeConnectArgs(args: unknown[]): NormalizedArgs {
  let arr: NormalizedArgs;
  if (args.length === 0) {
    arr = [{} as NetConnectOptions, null];
    arr[NORMALIZED] = true;
    return arr;
  }
  const arg0 = args[0];
  let options = {} as NetConnectOptions;
  if (typeof arg0 === 'object' && arg0 !== null) {
    options = arg0 as NetConnectOptions;
  } else if (isPipeName(arg0)) {
    options.path = arg0 as string;
  } else {
    options.port = arg0 as number;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const cb = args[args.length - 1];
  arr = [options, typeof cb === 'function' ? cb as (...a: unknown[]) => void : null];
  arr[NORMALIZED] = true;
  return arr;
}

function isPipeName(s: unknown): boolean {
  return typeof s === 'string' && !(Number(s) >= 0);
}
