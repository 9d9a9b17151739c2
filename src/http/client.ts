// stack.fetch: WHATWG fetch over the stack's own TCP (and TLS, for https:), in any
// runtime. HTTP/1.1 with a keep-alive pool per origin, request bodies sent with their
// length or chunked (a stream), responses parsed by llhttp (src/http/llhttp.ts), bodies
// streamed with backpressure (the next bytes are read from the socket only when the
// body's reader asks), redirects, AbortSignal, names resolved with stack.resolve. The
// Response is the platform's own. Network failures reject with TypeError('fetch failed')
// whose cause carries the code (SocketError, TlsError, DnsError, HttpParserError), as
// undici's fetch does.
import type { Socket } from '../socket.js';
import type { TlsSocket, TlsSocketOptions } from '../tls/tls-socket.js';
import type { ResolvedAddress } from '../resolve.js';
import { AF_INET, AF_INET6, SOCK_STREAM, POLLIN, POLLERR, POLLHUP, POLLRDHUP } from '../gen/constants.js';
import { literalAddress } from '../adapters/host.js';
import { ResponseParser } from './llhttp.js';
import { HttpParserError } from './errors.js';

/** What fetch needs of a stack. */
export interface HttpStack {
  socket(domain: number, type: number): Socket;
  startTls(socket: Socket, options?: TlsSocketOptions): TlsSocket;
  resolve(name: string): Promise<ResolvedAddress>;
  readonly hasTls: boolean;
}

/** fetch's init, with one extension: TLS options for https: (node:tls's names). */
export interface FetchInit extends RequestInit {
  /** For https: (ca, rejectUnauthorized, servername, ciphers, ...). Connections are pooled per distinct object. */
  tls?: TlsSocketOptions;
}

const MAX_PER_ORIGIN = 6;
const IDLE_MS = 4000;
const MAX_REDIRECTS = 20;
const READ = 65536;
const NULL_BODY = new Set([101, 204, 205, 304]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const encoder = new TextEncoder();

/** Thrown inside: a kept-alive connection the server had closed; the request is tried again. */
class Stale extends Error {}

class Conn {
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  reused = false;
  constructor(readonly key: string, readonly sock: Socket, readonly tls: TlsSocket | undefined, readonly parser: ResponseParser) {}

  /** Still good to send a request on: open, and nothing (no EOF, no error) arrived while idle. */
  usable(): boolean {
    return !this.sock.closed && (this.sock.events & (POLLIN | POLLERR | POLLHUP | POLLRDHUP)) === 0;
  }

  #dead = false;

  destroy(): void {
    if (this.#dead) return;
    this.#dead = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.parser.free();
    try {
      if (!this.sock.closed) this.sock.close();
    } catch {
      // the stack was disposed
    }
  }
}

interface Pool {
  idle: Conn[];
  active: number;
  waiting: (() => void)[];
}

interface Head {
  status: number;
  statusText: string;
  headers: [string, string][];
  keepAlive: boolean;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

export class HttpClient {
  readonly #stack: HttpStack;
  readonly #pools = new Map<string, Pool>();
  readonly #tlsIds = new WeakMap<object, number>();
  #nextTlsId = 1;
  #closed = false;

  constructor(stack: HttpStack) {
    this.#stack = stack;
  }

  /** Drops every pooled connection (stack.dispose calls this). */
  close(): void {
    this.#closed = true;
    for (const pool of this.#pools.values()) {
      for (const c of pool.idle) c.destroy();
      pool.idle = [];
    }
  }

  async fetch(input: string | URL | Request, init: FetchInit = {}): Promise<Response> {
    const hasRequest = typeof Request !== 'undefined' && input instanceof Request;
    const req = hasRequest ? (input as Request) : undefined;
    let url = new URL(req ? req.url : String(input));
    let method = (init.method ?? req?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers ?? req?.headers);
    const signal = init.signal ?? req?.signal ?? undefined;
    const redirect = init.redirect ?? req?.redirect ?? 'follow';
    let body: BodyInit | null = init.body !== undefined ? init.body : (req?.body ?? null);
    if (signal?.aborted) throw abortError(signal);
    if ((method === 'GET' || method === 'HEAD') && body !== null) throw new TypeError('fetch: a GET or HEAD request cannot have a body');
    let redirected = false;
    for (let hops = 0; ; hops++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new TypeError(`fetch: only http: and https: are supported, not ${url.protocol}`);
      }
      const res = await this.#once(url, method, headers, body, signal, init.tls);
      const location = res.headers.get('location');
      if (!REDIRECTS.has(res.status) || location === null || redirect === 'manual') {
        return finish(res, url, redirected);
      }
      await res.body?.cancel().catch(() => {});
      if (redirect === 'error') throw new TypeError(`fetch: redirected (${res.status}) with redirect: 'error'`);
      if (hops >= MAX_REDIRECTS) throw new TypeError('fetch: too many redirects');
      const next = new URL(location, url);
      if (res.status === 303 ? method !== 'HEAD' : (res.status === 301 || res.status === 302) && method === 'POST') {
        method = 'GET';
        body = null;
        for (const h of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(h);
      } else if (body instanceof ReadableStream) {
        throw new TypeError('fetch: cannot follow a redirect that resends a streamed body');
      }
      if (next.origin !== url.origin) headers.delete('authorization');
      url = next;
      redirected = true;
    }
  }

  /** One request and its response, on a pooled connection (tried once more if it was stale). */
  async #once(url: URL, method: string, headers: Headers, body: BodyInit | null, signal: AbortSignal | undefined,
    tls: TlsSocketOptions | undefined): Promise<Response> {
    const prepared = await prepareBody(body);
    for (let attempt = 0; ; attempt++) {
      let conn: Conn | undefined;
      try {
        conn = await this.#acquire(url, tls, signal);
        return await this.#exchange(conn, url, method, headers, prepared, signal);
      } catch (err) {
        if (err instanceof Stale && attempt === 0 && !(prepared.stream)) continue;
        if (signal?.aborted) throw abortError(signal);
        if (err instanceof TypeError && err.message.startsWith('fetch')) throw err;
        throw new TypeError('fetch failed', { cause: err instanceof Stale ? err.cause : err });
      }
    }
  }

  #key(url: URL, tls: TlsSocketOptions | undefined): string {
    if (url.protocol !== 'https:' || !tls) return url.origin;
    let id = this.#tlsIds.get(tls);
    if (id === undefined) this.#tlsIds.set(tls, (id = this.#nextTlsId++));
    return `${url.origin}|${id}`;
  }

  async #acquire(url: URL, tls: TlsSocketOptions | undefined, signal: AbortSignal | undefined): Promise<Conn> {
    if (this.#closed) throw new TypeError('fetch: the stack was disposed');
    const key = this.#key(url, tls);
    let pool = this.#pools.get(key);
    if (!pool) this.#pools.set(key, (pool = { idle: [], active: 0, waiting: [] }));
    // bounded: each pass takes an idle connection or waits for one to come back
    for (;;) {
      const idle = pool.idle.pop();
      if (idle) {
        clearTimeout(idle.idleTimer);
        if (idle.usable()) {
          pool.active++;
          idle.reused = true;
          return idle;
        }
        idle.destroy();
        continue;
      }
      if (pool.active < MAX_PER_ORIGIN) break;
      await new Promise<void>((resolve, reject) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          pool!.waiting = pool!.waiting.filter((w) => w !== wake);
          reject(abortError(signal!));
        };
        pool!.waiting.push(wake);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    pool.active++;
    try {
      return await this.#connect(key, url, tls, signal);
    } catch (err) {
      this.#done(key, undefined);
      throw err;
    }
  }

  /** A connection is finished with: back to the pool when it may carry another request. */
  #done(key: string, conn: Conn | undefined): void {
    const pool = this.#pools.get(key);
    if (!pool) return;
    pool.active--;
    if (conn) {
      if (this.#closed || !conn.usable()) conn.destroy();
      else {
        pool.idle.push(conn);
        conn.idleTimer = setTimeout(() => {
          pool.idle = pool.idle.filter((c) => c !== conn);
          conn.destroy();
        }, IDLE_MS);
        (conn.idleTimer as { unref?: () => void }).unref?.();
      }
    }
    pool.waiting.shift()?.();
  }

  async #connect(key: string, url: URL, tls: TlsSocketOptions | undefined, signal: AbortSignal | undefined): Promise<Conn> {
    const stack = this.#stack;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    if (url.protocol === 'https:' && !stack.hasTls) {
      throw new TypeError('fetch: https: needs a stack made with Stack.create({ tls: true })');
    }
    ResponseParser.preload(); // the first fetch loads the parser's wasm while it connects
    const address = literalAddress(host) ?? (await stack.resolve(host)).address;
    const sock = stack.socket(address.includes(':') ? AF_INET6 : AF_INET, SOCK_STREAM);
    try {
      await sock.connect(address, port, signal ? { signal } : undefined);
      let t: TlsSocket | undefined;
      if (url.protocol === 'https:') {
        t = stack.startTls(sock, { servername: host, ALPNProtocols: ['http/1.1'], ...tls });
        await t.handshake(signal ? { signal } : undefined);
      }
      return new Conn(key, sock, t, await ResponseParser.create());
    } catch (err) {
      if (!sock.closed) sock.close();
      throw err;
    }
  }

  async #exchange(conn: Conn, url: URL, method: string, headers: Headers, body: Prepared,
    signal: AbortSignal | undefined): Promise<Response> {
    const sock = conn.sock;
    const wait = signal ? { signal } : undefined;
    let head: Head | undefined;
    let complete = false;
    let pending: Uint8Array[] = [];
    let gotBytes = false;
    conn.parser.expect({
      onHead: (status, statusText, h, keepAlive) => {
        head = { status, statusText, headers: h, keepAlive };
        return method === 'HEAD' ? 1 : 0; // 1: no body follows
      },
      onBody: (chunk) => {
        pending.push(chunk);
      },
      onComplete: () => {
        complete = true;
      },
    });
    const fail = (err: unknown): never => {
      conn.destroy();
      this.#done(conn.key, undefined);
      if (conn.reused && !gotBytes && !(err instanceof HttpParserError) && !signal?.aborted) {
        throw new Stale('stale connection', { cause: err });
      }
      throw err;
    };
    try {
      await sock.send(requestHead(url, method, headers, body), wait);
      if (body.bytes) await sock.send(body.bytes, wait);
      else if (body.stream) await sendChunked(sock, body.stream, wait);
      while (!head) {
        const chunk = await sock.recv(READ, wait);
        if (chunk.length === 0) {
          conn.parser.finish();
          if (!head) throw new Error('the connection closed before a response');
          break;
        }
        gotBytes = true;
        conn.parser.execute(chunk);
      }
    } catch (err) {
      fail(err);
    }
    const h = head!;
    let released = false;
    const release = (reuse: boolean): void => {
      if (released) return;
      released = true;
      signal?.removeEventListener('abort', onAbort);
      if (reuse && h.keepAlive) this.#done(conn.key, conn);
      else {
        conn.destroy();
        this.#done(conn.key, undefined);
      }
    };
    let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
    const onAbort = (): void => {
      release(false);
      try {
        ctl?.error(abortError(signal!));
      } catch {
        // already closed
      }
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const flush = (c: ReadableStreamDefaultController<Uint8Array>): void => {
      for (const chunk of pending) c.enqueue(chunk);
      pending = [];
      if (complete) {
        c.close();
        release(true);
      }
    };
    const noBody = method === 'HEAD' || NULL_BODY.has(h.status);
    if (noBody) {
      if (!complete) release(false);
      else release(true);
    }
    const stream = noBody ? null : new ReadableStream<Uint8Array>({
      start: (c) => {
        ctl = c;
        flush(c);
      },
      pull: async (c) => {
        // bounded: each pass reads from the socket, which ends or errors eventually
        while (!complete && pending.length === 0) {
          let chunk: Uint8Array;
          try {
            chunk = await sock.recv(READ, wait);
            if (chunk.length === 0) {
              if (!conn.parser.finish()) throw new TypeError('fetch: the connection closed before the body ended');
              break;
            }
            conn.parser.execute(chunk);
          } catch (err) {
            release(false);
            throw signal?.aborted ? abortError(signal) : err instanceof TypeError ? err : new TypeError('fetch: body failed', { cause: err });
          }
        }
        flush(c);
      },
      cancel: () => release(false),
    }, { highWaterMark: 0 });
    if (h.status < 200 || h.status > 599) {
      release(false);
      throw new TypeError(`fetch: the server answered with status ${h.status}`);
    }
    const resHeaders = new Headers();
    for (const [k, v] of h.headers) {
      try {
        resHeaders.append(k, v);
      } catch {
        // a name or value the platform's Headers refuses is left out
      }
    }
    return new Response(stream, { status: h.status, statusText: h.statusText, headers: resHeaders });
  }
}

interface Prepared {
  bytes?: Uint8Array;
  stream?: ReadableStream<Uint8Array>;
  type?: string;
}

/** A body as bytes with its type (the platform encodes strings, forms, blobs), or a stream. */
async function prepareBody(body: BodyInit | null): Promise<Prepared> {
  if (body === null || body === undefined) return {};
  if (body instanceof ReadableStream) return { stream: body as ReadableStream<Uint8Array> };
  const r = new Response(body);
  const type = r.headers.get('content-type');
  const bytes = new Uint8Array(await r.arrayBuffer());
  return type ? { bytes, type } : { bytes };
}

function requestHead(url: URL, method: string, headers: Headers, body: Prepared): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`];
  if (!headers.has('host')) lines.push(`host: ${url.host}`);
  if (!headers.has('accept')) lines.push('accept: */*');
  if (body.type && !headers.has('content-type')) lines.push(`content-type: ${body.type}`);
  headers.forEach((v, k) => {
    if (k === 'content-length' || k === 'transfer-encoding' || k === 'connection') return;
    lines.push(`${k}: ${v}`); // Headers refuses line breaks in values
  });
  if (body.stream) lines.push('transfer-encoding: chunked');
  else if (body.bytes) lines.push(`content-length: ${body.bytes.length}`);
  else if (method === 'POST' || method === 'PUT' || method === 'PATCH') lines.push('content-length: 0');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Sends a stream chunked: each chunk waits for the socket to take it (backpressure). */
async function sendChunked(sock: Socket, stream: ReadableStream<Uint8Array>, wait: { signal: AbortSignal } | undefined): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const bytes = typeof value === 'string' ? encoder.encode(value) : value;
      if (bytes.length === 0) continue;
      await sock.send(`${bytes.length.toString(16)}\r\n`, wait);
      await sock.send(bytes, wait);
      await sock.send('\r\n', wait);
    }
    await sock.send('0\r\n\r\n', wait);
  } finally {
    reader.releaseLock();
  }
}

/** Sets what the Response constructor cannot: its url and whether it was redirected. */
function finish(res: Response, url: URL, redirected: boolean): Response {
  Object.defineProperty(res, 'url', { value: url.href, enumerable: true });
  Object.defineProperty(res, 'redirected', { value: redirected, enumerable: true });
  return res;
}
