// A TCP listener whose connections come as web streams, as Deno's listeners do: an async
// iterable (or accept()) of StreamSockets. Browser-safe.
import type { SocketProvider } from './provider.js';
import type { Socket } from '../socket.js';
import { SocketError } from '../errors.js';
import { AF_INET, AF_INET6, SOCK_STREAM, EBADF } from '../gen/constants.js';
import { literalAddress, checkPortNumber } from './host.js';
import { TcpStream, checkStreamOptions, pickTls, secure, type StreamOptions, type StreamSocket, type StreamTlsOptions } from './stream-socket.js';
import type { SecureContext } from '../tls/context.js';
import type { TlsSocket } from '../tls/tls-socket.js';

export interface ListenOptions extends StreamOptions, StreamTlsOptions {
  /**
   * 'on': every connection is TLS (needs cert and key, or a server's secureContext, and a
   * stack made with { tls: true }); a connection's opened waits for its handshake, and
   * rejects with the TlsError (the connection closed) when it fails. Default 'off'.
   */
  secureTransport?: 'off' | 'on';
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
  readonly #stack: SocketProvider;
  /** The servers' TLS configuration ('on'), and whether the listener made it. */
  readonly #ctx: SecureContext | undefined;
  readonly #ownCtx: boolean;

  constructor(stack: SocketProvider, sock: Socket, options: ListenOptions, ctx: SecureContext | undefined, ownCtx: boolean) {
    this.#stack = stack;
    this.#sock = sock;
    this.#ctx = ctx;
    this.#ownCtx = ownCtx;
    const { signal: _listenerSignal, secureTransport: _t, ...rest } = options;
    const connOptions: StreamOptions = {};
    for (const k of ['allowHalfOpen', 'readableHighWaterMark', 'writableHighWaterMark'] as const) {
      if (rest[k] !== undefined) (connOptions as Record<string, unknown>)[k] = rest[k];
    }
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
    const ctx = this.#ctx;
    if (!ctx) return new TcpStream(Promise.resolve(conn), this.#connOptions);
    let session: TlsSocket | undefined;
    const handshake = secure(this.#stack, conn, { secureContext: ctx }).then((t) => {
      session = t;
      return conn;
    }, (err: unknown) => {
      if (!conn.closed) conn.close();
      throw err;
    });
    return new TcpStream(handshake, this.#connOptions, { session: () => session });
  }

  close(): void {
    if (this.#sock.closed) return;
    if (this.#ownCtx) this.#ctx?.close();
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
  const transport = options.secureTransport ?? 'off';
  if (transport !== 'off' && transport !== 'on') {
    throw new TypeError(`lwip-wasm: a listener's secureTransport must be 'off' or 'on', got ${JSON.stringify(transport)}`);
  }
  let ctx: SecureContext | undefined;
  let own = false;
  if (transport === 'on') {
    const { secureContext, ...tls } = pickTls(options);
    if (secureContext) ctx = secureContext;
    else {
      if (!stack.createSecureContext || stack.hasTls !== true) throw new TypeError('lwip-wasm: this stack has no TLS: create it with Stack.create({ tls: true })');
      ctx = stack.createSecureContext({ ...tls, isServer: true });
      own = true;
    }
  }
  const sock = stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
  try {
    sock.bind(address, port);
    sock.listen(options.backlog ?? 128);
  } catch (err) {
    sock.close();
    if (own) ctx?.close();
    throw err;
  }
  return new Listener(stack, sock, options, ctx, own);
}
