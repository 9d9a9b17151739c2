// Per-client limits: token buckets for frames and bytes per second, and a table of the
// client's open TCP connections (opened by its SYN, closed by a reset, by FINs both
// ways, or by idleness) so a client cannot hold more than its share.
import { PROTO_TCP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type IpInfo } from './frame.js';
import { ipText } from './rules.js';

/** A token bucket: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, burst: number = rate, now: number = Date.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes n tokens if there are that many; false (and nothing taken) otherwise. */
  take(n: number, now: number = Date.now()): boolean {
    if (!Number.isFinite(this.#rate)) return true;
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}

interface Flow {
  lastSeen: number;
  clientFin: boolean;
  peerFin: boolean;
}

export class ConnectionTable {
  readonly #limit: number;
  readonly #idleMs: number;
  readonly #flows = new Map<string, Flow>();

  constructor(limit: number, idleMs: number) {
    this.#limit = limit;
    this.#idleMs = idleMs;
  }

  get size(): number {
    return this.#flows.size;
  }

  /** A segment from the client. Returns false when it opens one connection too many. */
  outbound(ip: IpInfo, now: number = Date.now()): boolean {
    if (ip.proto !== PROTO_TCP || ip.l4 < 0) return true;
    const key = flowKey(ip.src, ip.sport, ip.dst, ip.dport);
    const flow = this.#flows.get(key);
    if (!flow) {
      if ((ip.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) return true; // not an opening
      if (this.#flows.size >= this.#limit && (this.#sweep(now), this.#flows.size >= this.#limit)) return false;
      this.#flows.set(key, { lastSeen: now, clientFin: false, peerFin: false });
      return true;
    }
    flow.lastSeen = now;
    if (ip.flags & TCP_RST) this.#flows.delete(key);
    else if (ip.flags & TCP_FIN) {
      flow.clientFin = true;
      if (flow.peerFin) this.#flows.delete(key);
    }
    return true;
  }

  /** A segment towards the client: its peer's resets and FINs close connections too. */
  inbound(ip: IpInfo, now: number = Date.now()): void {
    if (ip.proto !== PROTO_TCP || ip.l4 < 0) return;
    const key = flowKey(ip.dst, ip.dport, ip.src, ip.sport);
    const flow = this.#flows.get(key);
    if (!flow) return;
    flow.lastSeen = now;
    if (ip.flags & TCP_RST) this.#flows.delete(key);
    else if (ip.flags & TCP_FIN) {
      flow.peerFin = true;
      if (flow.clientFin) this.#flows.delete(key);
    }
  }

  #sweep(now: number): void {
    for (const [key, flow] of this.#flows) if (now - flow.lastSeen > this.#idleMs) this.#flows.delete(key);
  }
}

function flowKey(src: Uint8Array, sport: number, dst: Uint8Array, dport: number): string {
  return `${ipText(src)}|${sport}|${ipText(dst)}|${dport}`;
}
