// A UDP socket as web streams of datagrams, with the message shape of the Direct Sockets
// API's UDPSocket ({ data, remoteAddress, remotePort }). Browser-safe.
import type { SocketProvider } from './provider.js';
import type { Socket, Data } from '../socket.js';
import { SocketError } from '../errors.js';
import { AF_INET, AF_INET6, SOCK_DGRAM, EBADF, EDESTADDRREQ } from '../gen/constants.js';
import { literalAddress, checkPortNumber } from './host.js';

/** A received datagram. */
export interface UdpMessage {
  data: Uint8Array;
  remoteAddress: string;
  remotePort: number;
}

/** A datagram to send; the address may be left out on a socket opened with a remote. */
export interface UdpOutgoing {
  data: Data;
  remoteAddress?: string;
  remotePort?: number;
}

export interface UdpOptions {
  /** Local address (default '0.0.0.0', or '::' when remoteAddress is IPv6). */
  localAddress?: string;
  /** Local port (default 0: an ephemeral port). */
  localPort?: number;
  /** Connects the socket: sends go here by default and only its datagrams are received. */
  remoteAddress?: string;
  remotePort?: number;
  /** Datagrams the readable reads ahead of its consumer (default 16). */
  readableHighWaterMark?: number;
  /** Datagrams the writable queues before writer.ready waits (default 16). */
  writableHighWaterMark?: number;
  /** Aborting closes the socket. */
  signal?: AbortSignal;
}

export interface UdpOpenInfo {
  localAddress: string;
  localPort: number;
  remoteAddress?: string;
  remotePort?: number;
}

/** A UDP socket as streams of datagrams. */
export interface UdpStreamSocket {
  readonly readable: ReadableStream<UdpMessage>;
  readonly writable: WritableStream<UdpOutgoing>;
  /** Resolves at once with the bound (and connected) addresses. */
  readonly opened: Promise<UdpOpenInfo>;
  /** Resolves when closed; rejects with the error that closed it (EMSGSIZE, ECONNREFUSED...). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

const MAX_DATAGRAM = 65536;

function count(v: unknown, name: string): number {
  if (v === undefined) return 16;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`lwip-wasm: ${name} must be an integer >= 0, got ${String(v)}`);
  }
  return v;
}

function ipOrThrow(text: unknown, what: string): string {
  const addr = typeof text === 'string' ? literalAddress(text) : null;
  if (addr === null) throw new TypeError(`lwip-wasm: ${what} must be an IP address or 'localhost', got ${String(text)}`);
  return addr;
}

class UdpStream implements UdpStreamSocket {
  readonly readable: ReadableStream<UdpMessage>;
  readonly writable: WritableStream<UdpOutgoing>;
  readonly opened: Promise<UdpOpenInfo>;
  readonly closed: Promise<void>;
  readonly #sock: Socket;
  readonly #abort = new AbortController();
  readonly #connected: boolean;
  #readCtl: ReadableStreamDefaultController<UdpMessage> | undefined;
  #writeCtl: WritableStreamDefaultController | undefined;
  #done = false;
  #resolveClosed!: () => void;
  #rejectClosed!: (err: unknown) => void;

  constructor(sock: Socket, openInfo: UdpOpenInfo, options: UdpOptions) {
    this.#sock = sock;
    this.#connected = openInfo.remoteAddress !== undefined;
    this.opened = Promise.resolve(openInfo);
    this.closed = new Promise<void>((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.closed.catch(() => {});
    this.readable = new ReadableStream<UdpMessage>({
      start: (c) => {
        this.#readCtl = c;
      },
      pull: async (c) => {
        try {
          const d = await sock.recvfrom(MAX_DATAGRAM, { signal: this.#abort.signal });
          c.enqueue({ data: d.data, remoteAddress: d.address, remotePort: d.port });
        } catch (err) {
          if (this.#done) return;
          this.#fail(err);
          throw err;
        }
      },
      cancel: () => void this.close(),
    }, { highWaterMark: count(options.readableHighWaterMark, 'readableHighWaterMark') });
    this.writable = new WritableStream<UdpOutgoing>({
      start: (c) => {
        this.#writeCtl = c;
      },
      write: async (msg) => {
        if (this.#done) throw new SocketError(EBADF, 'sendto');
        if (!msg || typeof msg !== 'object' || !('data' in msg)) {
          throw new TypeError('lwip-wasm: write { data, remoteAddress?, remotePort? } to a UDP writable');
        }
        // A malformed message errors the writable only; a failed send fails the socket.
        const addressed = msg.remoteAddress !== undefined || msg.remotePort !== undefined;
        const to = addressed ? ipOrThrow(msg.remoteAddress, 'remoteAddress') : undefined;
        const port = addressed ? checkPortNumber(msg.remotePort, 'remotePort') : 0;
        if (to === undefined && !this.#connected) throw new SocketError(EDESTADDRREQ, 'sendto');
        try {
          if (to !== undefined) await sock.sendto(msg.data, to, port, { signal: this.#abort.signal });
          else await sock.send(msg.data, { signal: this.#abort.signal });
        } catch (err) {
          if (!this.#done) this.#fail(err);
          throw err;
        }
      },
      close: () => void this.close(),
      abort: () => void this.close(),
    }, { highWaterMark: count(options.writableHighWaterMark, 'writableHighWaterMark') });
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => this.#fail(signal.reason));
      else signal.addEventListener('abort', () => this.#fail(signal.reason), { once: true, signal: this.#abort.signal });
    }
  }

  #release(): void {
    this.#done = true;
    this.#abort.abort();
    if (!this.#sock.closed) {
      try {
        this.#sock.close();
      } catch {
        // the stack was disposed
      }
    }
  }

  #fail(err: unknown): void {
    if (this.#done) return;
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
    if (!this.#done) {
      this.#release();
      try {
        this.#readCtl?.close();
      } catch {
        // already closed
      }
      try {
        this.#writeCtl?.error(new SocketError(EBADF, 'close'));
      } catch {
        // already closed
      }
      this.#resolveClosed();
    }
    return this.closed;
  }
}

/** stack.udp(): binds (and optionally connects) a UDP socket now; errors throw here. */
export function udpStream(stack: SocketProvider, options: UdpOptions = {}): UdpStreamSocket {
  if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
  const remote = options.remoteAddress === undefined ? undefined : ipOrThrow(options.remoteAddress, 'remoteAddress');
  if ((remote === undefined) !== (options.remotePort === undefined)) {
    throw new TypeError('lwip-wasm: remoteAddress and remotePort go together');
  }
  const remotePort = options.remotePort === undefined ? undefined : checkPortNumber(options.remotePort, 'remotePort');
  const v6 = options.localAddress !== undefined ? ipOrThrow(options.localAddress, 'localAddress').includes(':') : !!remote?.includes(':');
  const local = options.localAddress === undefined ? (v6 ? '::' : '0.0.0.0') : ipOrThrow(options.localAddress, 'localAddress');
  const localPort = checkPortNumber(options.localPort ?? 0, 'localPort');
  count(options.readableHighWaterMark, 'readableHighWaterMark');
  count(options.writableHighWaterMark, 'writableHighWaterMark');
  const sock = stack.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM);
  try {
    sock.bind(local, localPort);
    if (remote !== undefined && remotePort !== undefined) sock.connectSync(remote, remotePort);
  } catch (err) {
    sock.close();
    throw err;
  }
  const name = sock.getsockname();
  const openInfo: UdpOpenInfo = { localAddress: name.address, localPort: name.port };
  if (remote !== undefined && remotePort !== undefined) {
    openInfo.remoteAddress = remote;
    openInfo.remotePort = remotePort;
  }
  return new UdpStream(sock, openInfo, options);
}
