// A TCP listener whose connections come as web streams, as Deno's listeners do: an async
// iterable (or accept()) of StreamSockets. Browser-safe.
import type { SocketProvider } from './provider.js';
import type { Socket } from '../socket.js';
import { SocketError } from '../errors.js';
import { AF_INET, AF_INET6, SOCK_STREAM, EBADF } from '../gen/constants.js';
import { literalAddress, checkPortNumber } from './host.js';
import { TcpStream, checkStreamOptions, type StreamOptions, type StreamSocket } from './stream-socket.js';

export interface ListenOptions extends StreamOptions {
  /** Port to listen on (default 0: an ephemeral port; read it from addr.port). */
  port?: number;
  /** Local address (default '0.0.0.0'; '::' for IPv6; 'localhost' is 127.0.0.1). */
  hostname?: string;
  /** Connections that may wait for accept (default 128, clamped to 1-255). */
  backlog?: number;
}

export interface ListenerAddress {
  transport: 'tcp';
  hostname: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

/** Incoming connections: `for await (const conn of listener)` or `await listener.accept()`. */
export interface StreamListener extends AsyncIterable<StreamSocket> {
  /** The bound address, with the chosen port when port was 0. */
  readonly addr: ListenerAddress;
  /** The next connection; rejects with EBADF once the listener is closed. */
  accept(): Promise<StreamSocket>;
  /** Stops listening; iteration ends and pending accepts reject with EBADF. Idempotent. */
  close(): void;
}

class Listener implements StreamListener {
  readonly addr: ListenerAddress;
  readonly #sock: Socket;
  /** Options for each connection: the listener's, less its signal (closing the listener leaves them open). */
  readonly #connOptions: StreamOptions;
  readonly #abort = new AbortController();

  constructor(sock: Socket, options: StreamOptions) {
    this.#sock = sock;
    const { signal: _listenerSignal, ...connOptions } = options;
    this.#connOptions = connOptions;
    const name = sock.getsockname();
    this.addr = { transport: 'tcp', hostname: name.address, port: name.port, family: name.family };
    const signal = options.signal;
    if (signal) signal.addEventListener('abort', () => this.close(), { once: true, signal: this.#abort.signal });
  }

  async accept(): Promise<StreamSocket> {
    if (this.#sock.closed) throw new SocketError(EBADF, 'accept');
    let conn: Socket;
    try {
      conn = await this.#sock.accept({ signal: this.#abort.signal });
    } catch (err) {
      if (this.#abort.signal.aborted) throw new SocketError(EBADF, 'accept');
      throw err;
    }
    return new TcpStream(Promise.resolve(conn), this.#connOptions);
  }

  close(): void {
    if (this.#sock.closed) return;
    this.#abort.abort();
    try {
      this.#sock.close();
    } catch {
      // the stack was disposed
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StreamSocket> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (err) {
        if (this.#sock.closed) return;
        throw err;
      }
    }
  }
}

/** stack.listen(): binds and listens now (EADDRINUSE throws here), accepting as iterated. */
export function listenStream(stack: SocketProvider, options: ListenOptions = {}): StreamListener {
  checkStreamOptions(options);
  const port = checkPortNumber(options.port ?? 0);
  const host = options.hostname ?? '0.0.0.0';
  if (typeof host !== 'string') throw new TypeError('lwip-wasm: hostname must be a string');
  const address = literalAddress(host);
  if (address === null) throw new TypeError(`lwip-wasm: listen needs an IP address or 'localhost', got ${JSON.stringify(host)}`);
  const sock = stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
  try {
    sock.bind(address, port);
    sock.listen(options.backlog ?? 128);
  } catch (err) {
    sock.close();
    throw err;
  }
  return new Listener(sock, options);
}
