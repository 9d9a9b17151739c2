// TCP for one client: each connection attempt its gateway holds is judged (policy,
// limits), then tried for real with node:net; the outcome becomes the client's: a real
// connection lets the SYN through and the two are spliced, a refusal is an RST, an
// unreachable host an ICMP error, silence is silence (the client's next SYN asks again).
import { connect as netConnect, type Socket as RealSocket } from 'node:net';
import type { Socket } from '../../socket.js';
import { plainAddress, type HeldConnect, type InterceptVerdict, type Interceptor } from '../../intercept.js';
import type { SocketAddress } from '../../address.js';
import { RealReader, splice, resetSocket, type SpliceCounters } from './splice.js';
import type { NatContext } from './context.js';
import { SOL_SOCKET, SO_SNDBUF } from '../../gen/constants.js';

/**
 * The send buffer of the gateway's side of each connection (SO_SNDBUF, so 1 MiB may be
 * in flight, the most a client's window takes). The default lets 256 KiB be in flight,
 * which a tunnel's round trip of a few milliseconds turns into a ceiling.
 */
const GATEWAY_SNDBUF = 1024 * 1024;

/** How long an allowed connection may take to reach the gateway's listener (ms). */
const ACCEPT_WAIT = 10_000;

interface Pending {
  ids: number[];
  real: RealSocket;
  reader: RealReader;
  allowed: boolean;
  timer: ReturnType<typeof setTimeout>;
}

const keyOf = (src: SocketAddress, dst: SocketAddress): string => `${src.address}|${src.port}|${dst.address}|${dst.port}`;

/** The verdict a failed real connect means for the client. */
export function verdictFor(code: string | undefined): InterceptVerdict {
  switch (code) {
    case 'ECONNREFUSED': return 'reset';
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL': // no source address of that family on the relay host
    case 'EAFNOSUPPORT': return 'net-unreachable';
    case 'EACCES':
    case 'EPERM': return 'prohibited'; // the relay host's own firewall
    case 'ETIMEDOUT': return 'drop';
    default: return 'host-unreachable';
  }
}

export class TcpForwarder {
  readonly #icept: Interceptor;
  readonly #ctx: NatContext;
  readonly #pending = new Map<string, Pending>();
  readonly #splices = new Set<Promise<void>>();
  readonly counters: SpliceCounters = { up: 0, down: 0 };
  #closed = false;

  constructor(icept: Interceptor, ctx: NatContext) {
    this.#icept = icept;
    this.#ctx = ctx;
    icept.listener.setsockopt(SOL_SOCKET, SO_SNDBUF, GATEWAY_SNDBUF); // accepted sockets inherit it
    void this.#acceptLoop();
  }

  /** Connections being tried or spliced: what maxConnections counts. */
  get size(): number {
    return this.#pending.size + this.#splices.size;
  }

  /** A connection attempt the gateway holds. */
  held(h: HeldConnect): void {
    if (this.#closed) return;
    const ctx = this.#ctx;
    const key = keyOf(h.src, h.dst);
    const known = this.#pending.get(key);
    if (known) {
      // The same attempt again (its SYN came back after a full backlog, say).
      known.ids.push(h.id);
      if (known.allowed) this.#verdict(h.id, 'allow');
      return;
    }
    if (this.size >= ctx.maxConnections) {
      ctx.refuse('connections', `more than ${ctx.maxConnections} TCP connections`);
      return this.#verdict(h.id, 'reset');
    }
    if (!ctx.newConnection()) {
      ctx.refuse('connections', `more than ${ctx.connectionsPerSecond} new TCP connections a second`);
      return this.#verdict(h.id, 'reset');
    }
    const target = ctx.target(h.dst);
    const verdict = ctx.judge('tcp', target, h.dst);
    if (!verdict.ok) {
      ctx.refuse('denied', verdict.reason);
      return this.#verdict(h.id, 'prohibited');
    }
    const reader = new RealReader();
    const real = netConnect({
      host: target.address, port: target.port, family: target.family === 'IPv6' ? 6 : 4, allowHalfOpen: true, noDelay: true,
      onread: reader.options,
    });
    real.pause(); // until the splice (RealReader)
    const p: Pending = {
      ids: [h.id], real, reader, allowed: false,
      // The real host is silent: the client hears nothing, and its next SYN asks again.
      timer: setTimeout(() => this.#fail(key, p, 'drop'), ctx.connectTimeout),
    };
    this.#pending.set(key, p);
    real.once('connect', () => {
      clearTimeout(p.timer);
      if (this.#closed) return;
      p.allowed = true;
      p.timer = setTimeout(() => this.#fail(key, p, null), ACCEPT_WAIT);
      for (const id of p.ids) this.#verdict(id, 'allow');
    });
    real.once('error', (err: NodeJS.ErrnoException) => {
      if (!p.allowed) this.#fail(key, p, verdictFor(err.code));
    });
  }

  #verdict(id: number, v: InterceptVerdict): void {
    try {
      this.#icept.verdict(id, v);
    } catch {
      // already decided, or the gateway is gone
    }
  }

  /** The attempt ended without a splice: tell the client (verdict), free the real socket. */
  #fail(key: string, p: Pending, verdict: InterceptVerdict | null): void {
    clearTimeout(p.timer);
    if (this.#pending.get(key) === p) this.#pending.delete(key);
    p.real.destroy();
    if (verdict !== null && !this.#closed) for (const id of p.ids) this.#verdict(id, verdict);
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let s: Socket;
      let key: string;
      try {
        const a = await this.#icept.listener.acceptFrom();
        s = a.socket;
        // Both ends are known even if the client reset it while it waited in the queue:
        // then the splice carries the reset to the real connection at once.
        key = keyOf(plainAddress(a.peer), plainAddress(s.getsockname()));
      } catch {
        return; // the gateway closed
      }
      const p = this.#pending.get(key);
      if (!p || !p.allowed) {
        resetSocket(s); // no real connection behind it
        continue;
      }
      clearTimeout(p.timer);
      this.#pending.delete(key);
      const joined = splice(s, p.real, p.reader, this.counters);
      this.#splices.add(joined);
      void joined.then(() => this.#splices.delete(joined));
    }
  }

  /** Ends every connection (the client left). */
  close(): void {
    this.#closed = true;
    for (const [key, p] of this.#pending) this.#fail(key, p, null);
  }
}
