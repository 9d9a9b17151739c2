// The relay: an HTTP server whose WebSocket upgrades become sessions (after the token,
// Origin and client-count checks), plus GET /metrics and, with demo, the demo page.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL } from '../transports/batch.js';
import { hasToken, originAllowed } from './auth.js';
import { Demo } from './demo.js';
import { Registry } from './identity.js';
import { HubMode } from './modes/hub.js';
import type { Mode } from './modes/mode.js';
import { NatMode } from './modes/nat.js';
import { TapMode } from './modes/tap.js';
import { isLoopbackHost, resolveOptions, type RelayOptions, type Resolved } from './options.js';
import { Policy } from './policy.js';
import { Session } from './session.js';
import { REFUSAL_REASONS, zeroDrops, zeroTraffic, type RefusalReason, type RelayStats } from './stats.js';

export interface Relay {
  /** ws://host:port/ for clients. */
  readonly url: string;
  /** The port it listens on (useful with port 0). */
  readonly port: number;
  /** With demo: the page's URL. */
  readonly demoUrl: string | null;
  stats(): RelayStats;
  /** Ends every session, stops listening, and releases the gateways and the TAP device. */
  close(): Promise<void>;
}

/** Close reasons for refused browser clients (close codes 4401, 4403, 4503). */
const REFUSAL_TEXT: Record<RefusalReason, string> = {
  token: 'lwip-wasm relay: a valid token is required (?token=)',
  origin: 'lwip-wasm relay: this page\'s origin is not allowed (--origin)',
  clients: 'lwip-wasm relay: too many clients (--max-clients)',
  address: 'lwip-wasm relay: too many clients from this address (--max-clients-per-address)',
  backend: 'lwip-wasm relay: no backend',
};

// A message larger than this closes the connection (ws's own check, before buffering it
// whole); frames between maxFrameSize and this are dropped and counted instead.
const MAX_MESSAGE = 256 * 1024;

export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const o = resolveOptions(options);
  const demo = o.demo ? await Demo.start(o.demo) : null;
  const allow = demo ? [...o.allow, demo.allowRule] : o.allow;
  let mode: Mode;
  try {
    const lookup = o.nat.lookup;
    const policy = new Policy({
      allow, deny: o.deny,
      // Host rules resolve as the gateways' DNS does.
      ...(lookup ? { lookup: async (host: string) => (await Promise.allSettled([lookup(host, 4), lookup(host, 6)])).flatMap((r) => (r.status === 'fulfilled' ? r.value : [])) } : {}),
    });
    mode = o.mode === 'nat' ? new NatMode(o, policy) : o.mode === 'hub' ? new HubMode() : new TapMode(o.tap, policy, undefined, o.subnet6);
  } catch (err) {
    await demo?.close();
    throw err;
  }
  const server = new RelayServer(o, mode, demo);
  try {
    await server.listen();
  } catch (err) {
    await mode.close();
    await demo?.close();
    throw err;
  }
  return server;
}

class RelayServer implements Relay {
  readonly #o: Resolved;
  readonly #mode: Mode;
  readonly #demo: Demo | null;
  readonly #http = createServer((req, res) => this.#request(req, res));
  // A client that offers batched framing gets it; one that offers nothing (v86's
  // wsproxy clients) gets one frame per message. v2 (segments over the MTU cross whole)
  // only where the client's frames end in a stack of the relay's own (nat): hub and tap
  // pass frames on to links that take MTU-sized frames only.
  readonly #wss = new WebSocketServer({
    noServer: true, maxPayload: MAX_MESSAGE, perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) =>
      this.#mode.terminates && offered.has(BATCH_OFFLOAD_PROTOCOL) ? BATCH_OFFLOAD_PROTOCOL
      : offered.has(BATCH_PROTOCOL) ? BATCH_PROTOCOL : false,
  });
  readonly #sessions = new Set<Session>();
  readonly #registry = new Registry();
  readonly #totals = zeroTraffic();
  readonly #drops = zeroDrops();
  readonly #refused = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  readonly #refusalsLogged = new Set<string>();
  #accepted = 0;
  #nextId = 1;
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(o: Resolved, mode: Mode, demo: Demo | null) {
    this.#o = o;
    this.#mode = mode;
    this.#demo = demo;
    this.#http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#o.port, this.#o.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    const addr = this.#http.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : this.#o.port;
    this.#o.log(`relay: ${this.#o.mode} mode on ${this.url}${this.#demo ? `, demo at ${this.demoUrl}` : ''}`);
  }

  get port(): number {
    return this.#port;
  }

  /** The origin of the relay's own URL: what pages may connect from when no origins are configured. */
  get #ownOrigin(): string {
    return new URL(this.url.replace(/^ws/, 'http')).origin;
  }

  /** Sessions open from the request's source address. */
  #fromAddress(req: IncomingMessage): number {
    const addr = req.socket.remoteAddress;
    let n = 0;
    for (const s of this.#sessions) if (s.address === addr) n++;
    return n;
  }

  get url(): string {
    const h = this.#o.host;
    const host = h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h.includes(':') ? `[${h}]` : h;
    return `ws://${host}:${this.#port}/`;
  }

  get demoUrl(): string | null {
    return this.#demo ? this.url.replace(/^ws/, 'http') : null;
  }

  /** Counts and logs a refusal; with a socket, answers it with the HTTP status. */
  #refuse(socket: Socket | null, reason: RefusalReason, status: number, text: string, req: IncomingMessage): void {
    this.#refused[reason]++;
    // Once per address and reason, so a stream of bad attempts is counted, not logged.
    const key = `${reason} ${req.socket.remoteAddress ?? '?'}`;
    if (!this.#refusalsLogged.has(key) && this.#refusalsLogged.size < 1024) {
      this.#refusalsLogged.add(key);
      this.#o.log(`relay: refused ${req.socket.remoteAddress ?? '?'}: ${text} (${reason}; further refusals from there are counted, not logged)`);
    }
    socket?.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.#closing) return void socket.destroy();
    try {
      this.#admit(req, socket, head);
    } catch {
      socket.destroy(); // a request URL or header that cannot be parsed
    }
  }

  #admit(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const refusal: [RefusalReason, number, string] | null =
      !hasToken(req, this.#o.token) ? ['token', 401, 'Unauthorized']
        : !originAllowed(req, this.#o.origins ?? [this.#ownOrigin]) ? ['origin', 403, 'Forbidden']
          : this.#sessions.size >= this.#o.maxClients ? ['clients', 503, 'Service Unavailable']
            : this.#fromAddress(req) >= this.#o.maxClientsPerAddress ? ['address', 503, 'Service Unavailable']
              : null;
    if (!refusal) return this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#open(ws, req));
    const [reason, status, text] = refusal;
    if (req.headers.origin === undefined) return this.#refuse(socket, reason, status, text, req);
    // A browser (it always sends Origin) shows its page a refused upgrade only as a bare
    // failure, so a page is told why in the one way it can read: the upgrade completes,
    // and the socket closes at once with 4000 + the HTTP status and a reason. Nothing
    // the client sends is read.
    this.#refuse(null, reason, status, text, req);
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => ws.close(4000 + status, REFUSAL_TEXT[reason]));
  }

  #open(ws: WebSocket, req: IncomingMessage): void {
    const id = this.#nextId++;
    this.#accepted++;
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    const session = new Session(id, ws, {
      options: this.#o,
      mode: this.#mode,
      registry: this.#registry,
      totals: this.#totals,
      drops: this.#drops,
      onBackendFailure: () => this.#refused.backend++,
      onEnd: (s) => this.#sessions.delete(s),
    }, remote, req.headers.origin ?? null, req.socket.remoteAddress ?? '?');
    this.#sessions.add(session);
    this.#o.log(`client ${id}: connected from ${remote}`);
  }

  #request(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.#route(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(400).end();
    }
  }

  #route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://relay');
    if (url.pathname === '/metrics' && this.#o.metrics) {
      // Metrics list every client's address and MAC: they take a token, and with none
      // set they answer only this machine.
      if (this.#o.metricsToken === null ? !isLoopbackHost(req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '') : !hasToken(req, this.#o.metricsToken)) {
        return void res.writeHead(this.#o.metricsToken === null ? 403 : 401).end();
      }
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(this.stats()));
      return;
    }
    if (this.#demo && this.#demo.serve(url.pathname, res, { ws: url.pathname, mode: this.#o })) return;
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('lwip-wasm relay: connect with a WebSocket\n');
  }

  stats(): RelayStats {
    return {
      mode: this.#o.mode,
      clients: this.#sessions.size,
      accepted: this.#accepted,
      refused: { ...this.#refused },
      ...this.#totals,
      dropped: { ...this.#drops },
      sessions: [...this.#sessions].map((s) => s.stats()),
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const s of [...this.#sessions]) s.end('relay closing');
      this.#wss.close();
      this.#http.closeAllConnections?.();
      await new Promise<void>((resolve) => this.#http.close(() => resolve()));
      await this.#mode.close();
      await this.#demo?.close();
    })();
    return this.#closing;
  }
}
