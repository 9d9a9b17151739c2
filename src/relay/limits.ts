// Per-client limits: token buckets for frames and bytes per second, and a table of the
// client's TCP connections (opened by its SYN, closed by a reset, by FINs both ways, or
// no longer counted when idle) so a client cannot hold more than its share, and so a
// segment of a connection from before a reconnect can be told apart.
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
  /** Counted against the limit: not closed, not idle past the timeout. */
  counted: boolean;
}

/** What outbound() makes of a segment. */
export type FlowVerdict = 'ok' | 'limit' | 'rate' | 'unknown';

// Closed connections stay known this long (their last ACKs and retransmitted FINs are
// still theirs), and at most this many known connections are kept per client.
const CLOSED_GRACE_MS = 120_000;
const MAX_KNOWN = 8192;

export class ConnectionTable {
  readonly #limit: number;
  readonly #idleMs: number;
  readonly #flows = new Map<string, Flow>();
  readonly #opens: TokenBucket;
  #counted = 0;

  /** limit: open at once; idleMs: when an idle one stops counting; perSecond: new ones a second (with a one-second burst). */
  constructor(limit: number, idleMs: number, perSecond = Infinity) {
    this.#limit = limit;
    this.#idleMs = idleMs;
    this.#opens = new TokenBucket(perSecond);
  }

  /** Connections counted against the limit now. */
  get size(): number {
    return this.#counted;
  }

  /**
   * A segment from the client: 'limit' when it opens one connection too many, 'unknown'
   * when it belongs to no connection this client opened through this relay (one from
   * before a reconnect), 'ok' otherwise.
   */
  outbound(ip: IpInfo, now: number = Date.now()): FlowVerdict {
    if (ip.proto !== PROTO_TCP || ip.l4 < 0) return 'ok';
    const key = flowKey(ip.src, ip.sport, ip.dst, ip.dport);
    const flow = this.#flows.get(key);
    const opening = (ip.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    if (!flow || (opening && !flow.counted)) {
      if (!opening) return ip.flags & TCP_RST ? 'ok' : 'unknown';
      if (this.#counted >= this.#limit && (this.#sweep(now), this.#counted >= this.#limit)) return 'limit';
      if (!this.#opens.take(1, now)) return 'rate';
      if (flow) this.#flows.delete(key); // a new connection on an old 4-tuple
      this.#flows.set(key, { lastSeen: now, clientFin: false, peerFin: false, counted: true });
      this.#counted++;
      if (this.#flows.size > MAX_KNOWN) this.#sweep(now);
      return 'ok';
    }
    flow.lastSeen = now;
    if (ip.flags & TCP_RST) this.#close(flow);
    else if (ip.flags & TCP_FIN) {
      flow.clientFin = true;
      if (flow.peerFin) this.#close(flow);
    }
    return 'ok';
  }

  /** A segment towards the client: its peer's resets and FINs close connections too. */
  inbound(ip: IpInfo, now: number = Date.now()): void {
    if (ip.proto !== PROTO_TCP || ip.l4 < 0) return;
    const flow = this.#flows.get(flowKey(ip.dst, ip.dport, ip.src, ip.sport));
    if (!flow) return;
    flow.lastSeen = now;
    if (ip.flags & TCP_RST) this.#close(flow);
    else if (ip.flags & TCP_FIN) {
      flow.peerFin = true;
      if (flow.clientFin) this.#close(flow);
    }
  }

  #close(flow: Flow): void {
    if (flow.counted) this.#counted--;
    flow.counted = false;
  }

  #sweep(now: number): void {
    for (const [key, flow] of this.#flows) {
      if (flow.counted && now - flow.lastSeen > this.#idleMs) this.#close(flow);
      else if (!flow.counted && now - flow.lastSeen > CLOSED_GRACE_MS) this.#flows.delete(key);
    }
    // Still too many: forget the oldest uncounted ones (Map keeps insertion order).
    for (const [key, flow] of this.#flows) {
      if (this.#flows.size <= MAX_KNOWN) break;
      if (!flow.counted) this.#flows.delete(key);
    }
  }
}

function flowKey(src: Uint8Array, sport: number, dst: Uint8Array, dport: number): string {
  return `${ipText(src)}|${sport}|${ipText(dst)}|${dport}`;
}

// A datagram's fragments are let through for this long after its first one passed, and
// at most this many datagrams are followed per client (the oldest is forgotten first).
const FRAGMENT_MS = 60_000;
const MAX_FRAGMENTED = 256;

/**
 * The fragmented datagrams a client is sending: a first fragment that passed every check
 * opens its datagram (addresses, id, protocol); later fragments pass only while theirs
 * is open. Nothing about a later fragment can be judged on its own.
 */
export class FragmentTable {
  readonly #open = new Map<string, number>();

  /** Records a first fragment (true), or says whether a later one's datagram is open. */
  pass(ip: IpInfo, now: number): boolean {
    const f = ip.fragment;
    if (!f) return true;
    const key = `${ipText(ip.src)}|${ipText(ip.dst)}|${f.proto}|${f.id}`;
    if (f.first) {
      this.#open.delete(key); // re-insert: Map order is age order
      this.#open.set(key, now + FRAGMENT_MS);
      if (this.#open.size > MAX_FRAGMENTED) this.#open.delete(this.#open.keys().next().value as string);
      return true;
    }
    const until = this.#open.get(key);
    if (until === undefined) return false;
    if (until < now) {
      this.#open.delete(key);
      return false;
    }
    return true;
  }
}
