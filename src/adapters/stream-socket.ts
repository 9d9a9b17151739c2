// A TCP connection as web-standard streams, in the WinterTC Sockets API shape
// (readable, writable, opened, closed, close()). Browser-safe: no Node built-ins.
// Both streams sit on the socket's readiness: the readable pulls with recv() only while
// its queue has room, and the writable's send() waits for send-buffer space, so a slow
// reader stops a fast writer end to end.
import type { SocketProvider } from './provider.js';
import type { Socket, Data } from '../socket.js';
import { SocketError } from '../errors.js';
import { AF_INET, AF_INET6, SOCK_STREAM, SHUT_RD, SHUT_WR, ENOTCONN, EBADF, EPIPE } from '../gen/constants.js';
import { literalAddress, formatHostPort, splitHostPort, checkPortNumber } from './host.js';
import type { TlsSocket, TlsSocketOptions, TlsInfo } from '../tls/tls-socket.js';
import type { SecureContextOptions } from '../tls/options.js';
import type { SecureContext } from '../tls/context.js';

/**
 * TLS options of the streams, with node:tls's names (WinterTC names only the switch):
 * ca, servername, rejectUnauthorized, ALPNProtocols, ciphers, minVersion, maxVersion,
 * or a secureContext made with stack.createSecureContext.
 */
export interface StreamTlsOptions extends SecureContextOptions {
  /** The server's name (SNI and the certificate check); default: the hostname connected to. */
  servername?: string;
  secureContext?: SecureContext;
}

/** Where to connect: "host:port", "[ipv6]:port", or { hostname, port }. */
export type StreamAddress = string | { hostname: string; port: number };

/** Resolves a host name to an IP address (the stack has no DNS of its own). */
export type HostLookup = (hostname: string) => string | Promise<string>;

export interface StreamOptions {
  /**
   * false (default): when the peer ends its side (EOF on readable), the writable side is
   * shut as well once its queued writes have gone out. true: it stays open.
   */
  allowHalfOpen?: boolean;
  /** Bytes the readable reads ahead of its consumer (default 65536). */
  readableHighWaterMark?: number;
  /** Bytes the writable queues before writer.ready waits (default 16384). */
  writableHighWaterMark?: number;
  /** Aborting closes the socket; opened and closed reject with the signal's reason. */
  signal?: AbortSignal;
}

export interface ConnectStreamOptions extends StreamOptions, StreamTlsOptions {
  /**
   * 'off' (default): plain TCP. 'on': TLS from the start (the stack must be made with
   * { tls: true }); opened resolves after the handshake. 'starttls': plain until
   * socket.startTls() is called.
   */
  secureTransport?: 'off' | 'on' | 'starttls';
  /** Milliseconds before the connect fails with ETIMEDOUT (default: the stack's connectTimeout). */
  timeout?: number;
  /** Prefer this family when resolving 'localhost' (default 4). */
  family?: 4 | 6;
  /** Local address to bind before connecting (default: any). */
  localAddress?: string;
  /** Local port to bind before connecting (default: ephemeral). */
  localPort?: number;
  /** Resolves names that are not IP literals or 'localhost'; without it they fail with ENOTFOUND. */
  lookup?: HostLookup;
}

/** Addresses of an open connection, "10.0.0.1:80" or "[fd00::1]:80"; and TLS's outcome. */
export interface SocketInfo {
  remoteAddress: string;
  localAddress: string;
  /** TLS only: the ALPN protocol agreed (null for none). */
  alpn?: string | null;
  /** TLS only: 'TLSv1.2'. */
  protocol?: string;
  /** TLS only: the cipher suite's standard (IANA) name. */
  cipher?: string;
  /** TLS only: everything the handshake agreed (TlsSocket's info). */
  tls?: TlsInfo;
}

/** A TCP connection as a pair of web streams (the WinterTC Sockets API shape). */
export interface StreamSocket {
  /** Bytes from the peer; ends at the peer's FIN, errors with SocketError (ECONNRESET...). */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer (Uint8Array, any BufferSource, or a string sent as UTF-8); close() sends FIN. */
  readonly writable: WritableStream<Data>;
  /** Resolves once connected; rejects with the connect error (ECONNREFUSED, ETIMEDOUT...). */
  readonly opened: Promise<SocketInfo>;
  /** Resolves when the socket is closed; rejects with the error that closed it. */
  readonly closed: Promise<void>;
  /** Closes both directions at once and resolves as closed does. */
  close(): Promise<void>;
  /**
   * With secureTransport 'starttls': hands the connection to TLS and returns the TLS
   * socket (whose opened waits for the handshake). This socket's streams end; read what
   * the plain exchange left on them first. Throws TypeError otherwise.
   */
  startTls(options?: StreamTlsOptions): StreamSocket;
}

/** @internal What a TcpStream knows of TLS: the handshake's outcome, and how to start it. */
export interface StreamTls {
  /** The connection's TLS, once its handshake is over (for opened's info). */
  session?: () => TlsSocket | undefined;
  /** For 'starttls': the stack and the options startTls falls back on. */
  starttls?: { stack: SocketProvider; defaults: StreamTlsOptions & { hostname: string } };
}

const TLS_KEYS = ['ca', 'cert', 'key', 'ALPNProtocols', 'ciphers', 'minVersion', 'maxVersion', 'rejectUnauthorized',
  'servername', 'secureContext'] as const;

/** The TLS options among o's. */
export function pickTls(o: object): StreamTlsOptions {
  const out: Record<string, unknown> = {};
  for (const k of TLS_KEYS) if ((o as Record<string, unknown>)[k] !== undefined) out[k] = (o as Record<string, unknown>)[k];
  return out as StreamTlsOptions;
}

/** Starts TLS on a connected socket and waits for the handshake; closes it on failure. */
export async function secure(stack: SocketProvider, sock: Socket, options: TlsSocketOptions, signal?: AbortSignal): Promise<TlsSocket> {
  if (!stack.startTls || stack.hasTls !== true) throw new TypeError('lwip-wasm: this stack has no TLS: create it with Stack.create({ tls: true })');
  const t = stack.startTls(sock, options);
  await t.handshake(signal ? { signal } : undefined);
  return t;
}

const DEFAULT_READ_HWM = 65536;
const DEFAULT_WRITE_HWM = 16384;
const READ_CHUNK = 262144;

const hasByteStreams = typeof (globalThis as { ReadableByteStreamController?: unknown }).ReadableByteStreamController === 'function';

function checkHwm(v: unknown, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`lwip-wasm: ${name} must be an integer >= 0, got ${String(v)}`);
  }
  return v;
}

function byteLength(chunk: Data): number {
  if (typeof chunk === 'string') return chunk.length; // an estimate; the exact size is not worth an encode
  return chunk.byteLength;
}

/** Validates the options shared by connect and listen; returns the resolved numbers. */
export function checkStreamOptions(o: StreamOptions): { readHwm: number; writeHwm: number } {
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: options must be an object');
  if (o.allowHalfOpen !== undefined && typeof o.allowHalfOpen !== 'boolean') {
    throw new TypeError('lwip-wasm: allowHalfOpen must be a boolean');
  }
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && 'aborted' in o.signal)) {
    throw new TypeError('lwip-wasm: signal must be an AbortSignal');
  }
  return {
    readHwm: checkHwm(o.readableHighWaterMark, 'readableHighWaterMark', DEFAULT_READ_HWM),
    writeHwm: checkHwm(o.writableHighWaterMark, 'writableHighWaterMark', DEFAULT_WRITE_HWM),
  };
}

function info(sock: Socket, tls: TlsSocket | undefined): SocketInfo {
  const peer = sock.getpeername();
  const local = sock.getsockname();
  const out: SocketInfo = {
    remoteAddress: formatHostPort(peer.address, peer.port),
    localAddress: formatHostPort(local.address, local.port),
  };
  const t = tls?.info;
  if (t) {
    out.alpn = t.alpnProtocol === false ? null : t.alpnProtocol;
    out.protocol = t.protocol;
    out.cipher = t.cipher.standardName;
    out.tls = t;
  }
  return out;
}

/** @internal One TCP connection behind the streams; also used for accepted connections. */
export class TcpStream implements StreamSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Data>;
  readonly opened: Promise<SocketInfo>;
  readonly closed: Promise<void>;
  readonly #allowHalfOpen: boolean;
  readonly #abort = new AbortController();
  #sock: Socket | undefined;
  #readDone = false;
  #writeDone = false;
  #writing = false;
  #peerEnded = false;
  #state: 'open' | 'closed' | 'failed' = 'open';
  #readCtl: ReadableStreamController<Uint8Array> | undefined;
  #writeCtl: WritableStreamDefaultController | undefined;
  #resolveClosed!: () => void;
  #rejectClosed!: (err: unknown) => void;
  readonly #options: StreamOptions;
  readonly #tls: StreamTls;
  #writeP: Promise<void> | undefined;
  #handedOff = false;

  constructor(socket: Promise<Socket>, options: StreamOptions, tls: StreamTls = {}) {
    const { readHwm, writeHwm } = checkStreamOptions(options);
    this.#options = options;
    this.#tls = tls;
    this.#allowHalfOpen = options.allowHalfOpen ?? false;
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {}); // an ignored failure is not an unhandled rejection
    this.opened = socket.then((s) => {
      if (this.#state !== 'open') {
        if (!s.closed) s.close();
        throw new SocketError(EBADF, 'connect');
      }
      this.#sock = s;
      return info(s, this.#tls.session?.());
    });
    this.opened.catch((err: unknown) => this.#fail(err));
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.#fail(signal.reason));
      else signal.addEventListener('abort', () => this.#fail(signal.reason), { once: true, signal: this.#abort.signal });
    }
    this.readable = this.#makeReadable(readHwm);
    this.writable = new WritableStream<Data>({
      start: (c) => {
        this.#writeCtl = c;
      },
      write: (chunk) => (this.#writeP = this.#write(chunk)),
      close: async () => {
        const s = await this.#ready();
        this.#shutWrite(s);
      },
      abort: () => {
        void this.close();
      },
    }, { highWaterMark: writeHwm, size: byteLength });
  }

  #makeReadable(hwm: number): ReadableStream<Uint8Array> {
    const pull = async (c: ReadableStreamController<Uint8Array>): Promise<void> => {
      const s = await this.#ready();
      const req = 'byobRequest' in c ? c.byobRequest : null;
      const view = req?.view;
      let chunk: Uint8Array;
      try {
        chunk = await s.recv(view ? view.byteLength : READ_CHUNK, { signal: this.#abort.signal });
      } catch (err) {
        if (this.#state !== 'open') return;
        this.#fail(err);
        throw err;
      }
      if (chunk.byteLength === 0) {
        c.close();
        req?.respond(0);
        this.#readDone = true;
        this.#peerEnded = true;
        this.#afterPeerEnd();
        this.#maybeFinish();
        return;
      }
      if (req && view) {
        new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(chunk);
        req.respond(chunk.byteLength);
      } else {
        c.enqueue(chunk as Uint8Array<ArrayBuffer>); // recv copies out of wasm memory into its own buffer
      }
    };
    const cancel = (): void => {
      this.#readDone = true;
      const s = this.#sock;
      if (s && !s.closed && this.#state === 'open') ignoreNotConn(() => s.shutdown(SHUT_RD));
      this.#maybeFinish();
    };
    if (hasByteStreams) {
      return new ReadableStream({
        type: 'bytes',
        start: (c) => {
          this.#readCtl = c;
        },
        pull,
        cancel,
      }, { highWaterMark: hwm });
    }
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#readCtl = c;
      },
      pull,
      cancel,
    }, { highWaterMark: hwm, size: (c) => c.byteLength });
  }

  async #ready(): Promise<Socket> {
    await this.opened;
    if (this.#state !== 'open' || !this.#sock) throw new SocketError(EBADF, 'recv');
    return this.#sock;
  }

  async #write(chunk: Data): Promise<void> {
    const s = await this.#ready();
    if (this.#writeDone) throw new SocketError(EPIPE, 'send');
    this.#writing = true;
    try {
      await s.send(chunk, { signal: this.#abort.signal });
    } catch (err) {
      if (this.#state === 'open') this.#fail(err);
      throw err;
    } finally {
      this.#writing = false;
    }
    if (this.#peerEnded) this.#afterPeerEnd();
  }

  /**
   * Without allowHalfOpen, the peer's FIN shuts our side too, once no write is in flight.
   * The check runs a macrotask later: a queued chunk is dispatched to write() in a
   * microtask, so by then an idle writable really has nothing left to send.
   */
  #afterPeerEnd(): void {
    if (this.#allowHalfOpen || this.#writeDone) return;
    setTimeout(() => {
      const s = this.#sock;
      if (this.#writing || this.#writeDone || this.#state !== 'open' || !s) return;
      this.#shutWrite(s);
    }, 0);
  }

  #shutWrite(s: Socket): void {
    if (this.#writeDone) return;
    this.#writeDone = true;
    if (this.#state === 'open' && !s.closed) ignoreNotConn(() => s.shutdown(SHUT_WR));
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (!this.#readDone || !this.#writeDone || this.#state !== 'open') return;
    this.#state = 'closed';
    this.#release();
    this.#resolveClosed();
  }

  #release(): void {
    this.#abort.abort();
    const s = this.#sock;
    if (s && !s.closed) {
      try {
        s.close();
      } catch {
        // the stack was disposed: nothing left to close
      }
    }
  }

  #fail(err: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#release();
    try {
      this.#readCtl?.error(err);
    } catch {
      // already closed
    }
    try {
      this.#writeCtl?.error(err);
    } catch {
      // already closed
    }
    this.#rejectClosed(err);
  }

  startTls(options: StreamTlsOptions = {}): StreamSocket {
    const st = this.#tls.starttls;
    if (!st) throw new TypeError("lwip-wasm: startTls needs a socket connected with secureTransport: 'starttls'");
    if (this.#handedOff) throw new TypeError('lwip-wasm: startTls was already called on this socket');
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    this.#handedOff = true;
    let session: TlsSocket | undefined;
    const { hostname, ...defaults } = st.defaults;
    const opts = { ...defaults, ...options };
    const tlsOpts: TlsSocketOptions = { ...opts, servername: opts.servername ?? hostname };
    const { signal } = this.#options;
    const handed = this.#handOff().then(async (s) => {
      session = await secure(st.stack, s, tlsOpts, signal).catch((err: unknown) => {
        if (!s.closed) s.close();
        throw err;
      });
      return s;
    });
    return new TcpStream(handed, this.#options, { session: () => session });
  }

  /**
   * Ends this socket's streams but keeps the connection, for startTls: waits for the
   * write in flight, stops the reader (a wait not yet answered takes no bytes), then
   * gives the socket away.
   */
  async #handOff(): Promise<Socket> {
    const s = await this.#ready();
    await this.#writeP?.catch(() => {});
    if (this.#state !== 'open') throw new SocketError(EBADF, 'starttls');
    this.#state = 'closed';
    this.#abort.abort();
    try {
      this.#readCtl?.close();
      if (this.#readCtl && 'byobRequest' in this.#readCtl) this.#readCtl.byobRequest?.respond(0);
    } catch {
      // already closed
    }
    try {
      this.#writeCtl?.error(new SocketError(EBADF, 'write'));
    } catch {
      // already closed
    }
    this.#resolveClosed();
    return s;
  }

  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.#release();
      const closedErr = new SocketError(EBADF, 'close');
      try {
        const c = this.#readCtl;
        if (c && !this.#readDone) {
          c.close();
          if ('byobRequest' in c) c.byobRequest?.respond(0);
        }
      } catch {
        // already closed or errored
      }
      try {
        if (!this.#writeDone) this.#writeCtl?.error(closedErr);
      } catch {
        // already closed
      }
      this.#resolveClosed();
    }
    return this.closed;
  }
}

function ignoreNotConn(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SocketError && err.errno === ENOTCONN)) throw err;
  }
}

/** Resolves a host for the adapters: a literal, 'localhost', or lookup(). ENOTFOUND otherwise. */
export async function resolveHost(host: string, family: 0 | 4 | 6, lookup: HostLookup | undefined): Promise<string> {
  const lit = literalAddress(host, family);
  if (lit !== null) return lit;
  if (lookup) {
    const addr = await lookup(host);
    const resolved = typeof addr === 'string' ? literalAddress(addr, family) : null;
    if (resolved === null) throw new TypeError(`lwip-wasm: lookup(${JSON.stringify(host)}) must give an IP address, got ${String(addr)}`);
    return resolved;
  }
  const err = new Error(`getaddrinfo ENOTFOUND ${host} (the stack has no DNS: pass an IP address or a lookup function)`);
  return Promise.reject(Object.assign(err, { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host }));
}

/** stack.connect(): opens a TCP connection and returns it as streams at once. */
export function connectStream(stack: SocketProvider, address: StreamAddress, options: ConnectStreamOptions = {}): StreamSocket {
  checkStreamOptions(options);
  let target: { hostname: string; port: number };
  if (typeof address === 'string') target = splitHostPort(address);
  else if (address && typeof address === 'object' && typeof address.hostname === 'string') {
    target = { hostname: address.hostname, port: checkPortNumber(address.port) };
  } else {
    throw new TypeError('lwip-wasm: connect needs "host:port" or { hostname, port }');
  }
  const transport = options.secureTransport ?? 'off';
  if (transport !== 'off' && transport !== 'on' && transport !== 'starttls') {
    throw new TypeError(`lwip-wasm: secureTransport must be 'off', 'on' or 'starttls', got ${JSON.stringify(options.secureTransport)}`);
  }
  if (transport !== 'off' && stack.hasTls !== true) {
    throw new TypeError('lwip-wasm: this stack has no TLS: create it with Stack.create({ tls: true })');
  }
  const tlsOptions = pickTls(options);
  let session: TlsSocket | undefined;
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) {
    throw new TypeError('lwip-wasm: family must be 4 or 6');
  }
  if (options.lookup !== undefined && typeof options.lookup !== 'function') {
    throw new TypeError('lwip-wasm: lookup must be a function (hostname) => address');
  }
  const localPort = options.localPort === undefined ? undefined : checkPortNumber(options.localPort, 'localPort');
  const open = async (): Promise<Socket> => {
    const addr = await resolveHost(target.hostname, options.family ?? 0, options.lookup);
    const sock = stack.socket(addr.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
    try {
      if (options.localAddress !== undefined || localPort !== undefined) {
        sock.bind(options.localAddress ?? (addr.includes(':') ? '::' : '0.0.0.0'), localPort ?? 0);
      }
      const opts: { timeout?: number; signal?: AbortSignal } = {};
      if (options.timeout !== undefined) opts.timeout = options.timeout;
      if (options.signal !== undefined) opts.signal = options.signal;
      await sock.connect(addr, target.port, opts);
      if (transport === 'on') {
        session = await secure(stack, sock, { ...tlsOptions, servername: tlsOptions.servername ?? target.hostname.replace(/^\[|\]$/g, '') }, options.signal);
      }
      return sock;
    } catch (err) {
      if (!sock.closed && !stack.disposed && !stack.failure) sock.close();
      throw err;
    }
  };
  return new TcpStream(open(), options, {
    session: () => session,
    ...(transport === 'starttls' ? { starttls: { stack, defaults: { ...tlsOptions, hostname: target.hostname.replace(/^\[|\]$/g, '') } } } : {}),
  });
}
