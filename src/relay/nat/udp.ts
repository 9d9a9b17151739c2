// UDP for one client: each flow (the client's address and port, the destination and its
// port) is judged once, then carried by a connected node:dgram socket of its own, so
// only the destination's answers come back (as a NAT with address- and port-dependent
// filtering). A flow idle for udpIdleTimeout is forgotten. A denied flow, or one the real
// host refuses, gets the ICMP error a router or that host would send.
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import type { InterceptedDatagram, Interceptor } from '../../intercept.js';
import type { SocketAddress } from '../../address.js';
import type { NatContext } from './context.js';

/** Datagrams held for a flow while its socket connects. */
const EARLY_MAX = 16;
/** A denied flow is answered with ICMP at most this often (ms). */
const DENIED_ICMP_MS = 1000;

interface Flow {
  sock: DgramSocket;
  src: SocketAddress;
  dst: SocketAddress;
  lastSeen: number;
  early: Uint8Array[] | null;
}

const keyOf = (src: SocketAddress, dst: SocketAddress): string => `${src.address}|${src.port}|${dst.address}|${dst.port}`;

export class UdpForwarder {
  readonly #icept: Interceptor;
  readonly #ctx: NatContext;
  readonly #flows = new Map<string, Flow>();
  readonly #denied = new Map<string, number>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  /** Datagrams and bytes each way. */
  readonly counters = { up: 0, down: 0 };

  constructor(icept: Interceptor, ctx: NatContext) {
    this.#icept = icept;
    this.#ctx = ctx;
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(1000, ctx.udpIdleTimeout / 4));
    this.#sweeper.unref?.();
  }

  get size(): number {
    return this.#flows.size;
  }

  datagram(d: InterceptedDatagram): void {
    const key = keyOf(d.src, d.dst);
    const now = Date.now();
    const flow = this.#flows.get(key);
    if (flow) {
      flow.lastSeen = now;
      this.#send(flow, d.data);
      return;
    }
    const ctx = this.#ctx;
    const until = this.#denied.get(key);
    if (until !== undefined && until > now) return; // already answered lately
    if (this.#flows.size >= ctx.maxUdpFlows) {
      ctx.refuse('flows', `more than ${ctx.maxUdpFlows} UDP flows`);
      return;
    }
    const target = ctx.target(d.dst);
    const verdict = ctx.judge('udp', target, d.dst);
    if (!verdict.ok) {
      ctx.refuse('denied', verdict.reason);
      this.#denied.set(key, now + DENIED_ICMP_MS);
      this.#unreachable(d.src, d.dst, 'prohibited');
      return;
    }
    const sock = createSocket(target.family === 'IPv6' ? 'udp6' : 'udp4');
    const f: Flow = { sock, src: d.src, dst: d.dst, lastSeen: now, early: [d.data] };
    this.#flows.set(key, f);
    sock.on('message', (msg) => {
      f.lastSeen = Date.now();
      this.counters.down += msg.length;
      try {
        this.#icept.sendDatagram(f.dst, f.src, msg);
      } catch {
        // the gateway is gone, or the client's queue is full: a datagram lost
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      // A connected UDP socket hears the real host's ICMP errors (Linux: on the next call).
      if (err.code === 'ECONNREFUSED') this.#unreachable(f.src, f.dst, 'port-unreachable');
      else if (err.code === 'EHOSTUNREACH') this.#unreachable(f.src, f.dst, 'host-unreachable');
      else if (err.code === 'ENETUNREACH') this.#unreachable(f.src, f.dst, 'net-unreachable');
      else this.#drop(key, f);
    });
    sock.connect(target.port, target.address, () => {
      const early = f.early ?? [];
      f.early = null;
      for (const data of early) this.#send(f, data);
    });
  }

  #send(f: Flow, data: Uint8Array): void {
    if (f.early) {
      if (f.early.length < EARLY_MAX) f.early.push(data);
      return;
    }
    this.counters.up += data.length;
    f.sock.send(data, (err) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ECONNREFUSED') this.#unreachable(f.src, f.dst, 'port-unreachable');
    });
  }

  #unreachable(src: SocketAddress, dst: SocketAddress, v: 'prohibited' | 'port-unreachable' | 'host-unreachable' | 'net-unreachable'): void {
    try {
      this.#icept.unreachable(src, dst, v);
    } catch {
      // the gateway is gone
    }
  }

  #drop(key: string, f: Flow): void {
    if (this.#flows.get(key) === f) this.#flows.delete(key);
    try {
      f.sock.close();
    } catch {
      // already closed
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const [key, f] of this.#flows) if (now - f.lastSeen > this.#ctx.udpIdleTimeout) this.#drop(key, f);
    for (const [key, until] of this.#denied) if (until <= now) this.#denied.delete(key);
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const [key, f] of this.#flows) this.#drop(key, f);
    this.#denied.clear();
  }
}
