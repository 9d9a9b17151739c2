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

export interface ConnectStreamOptions extends StreamOptions {
  /** Only 'off': the stack carries plain TCP; put TLS above it yourself. */
  secureTransport?: 'off';
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

/** Addresses of an open connection, "10.0.0.1:80" or "[fd00::1]:80". */
export interface SocketInfo {
  remoteAddress: string;
  localAddress: string;
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

function info(sock: Socket): SocketInfo {
  const peer = sock.getpeername();
  const local = sock.getsockname();
  return {
    remoteAddress: formatHostPort(peer.address, peer.port),
    localAddress: formatHostPort(local.address, local.port),
  };
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

  constructor(socket: Promise<Socket>, options: StreamOptions) {
    const { readHwm, writeHwm } = checkStreamOptions(options);
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
      return info(s);
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
      write: (chunk) => this.#write(chunk),
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
  if (options.secureTransport !== undefined && options.secureTransport !== 'off') {
    throw new TypeError(`lwip-wasm: secureTransport ${JSON.stringify(options.secureTransport)} is not supported; the stack carries plain TCP ('off')`);
  }
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
      return sock;
    } catch (err) {
      if (!sock.closed && !stack.disposed && !stack.failure) sock.close();
      throw err;
    }
  };
  return new TcpStream(open(), options);
}
