// A seeded generator and mutator of hostile ethernet frames, for fuzzing a stack that
// has live connections: ARP, IPv4 with options and fragments, IPv6 with extension
// headers and fragments, TCP with every flag combination and odd options, UDP, ICMP and
// ICMPv6 (echo, errors, neighbour discovery, MLD), unknown ethertypes, VLAN tags, runts
// and giants, plus mutations of earlier frames and of real traffic. Some classes aim at
// the live connections: ICMP errors quoting them with sequence numbers learned from the
// wire, ND that names the peer with another MAC, and odd MSS options (see MIX).
//
// Frames carry valid checksums unless a mutation breaks them (so they get past the
// checksum checks into the deeper code), and a final pass keeps them from doing what a
// real attacker on the wire could legitimately do to a live connection: a reset or data
// with an in-window sequence number, ARP answers that move the peer's address to another
// MAC, a redirect from the peer itself (the first hop, RFC 4861 8.1), or an ICMP error
// that ends the connection (hardIcmp). Everything else is fair game, ND answers naming
// the peer with another MAC included: a stack must check those before it believes them.

// --- randomness ----------------------------------------------------------------------------

export class Rng {
  constructor(seed) {
    this.x = (seed >>> 0) || 0x9e3779b9;
  }
  u32() {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.x = x;
    return x;
  }
  below(n) {
    return Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p) {
    return this.u32() / 4294967296 < p;
  }
  pick(arr) {
    return arr[this.below(arr.length)];
  }
  bytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** A size biased to the small and the edges. */
  size(max) {
    const r = this.below(8);
    if (r === 0) return 0;
    if (r === 1) return max;
    if (r < 5) return this.below(Math.min(64, max + 1));
    return this.below(max + 1);
  }
}

const INTERESTING16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0xfffe, 20, 40, 60, 576, 1280, 1500];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

/**
 * Weights of the generated classes (a quarter of all frames are mutations instead). The
 * last four aim at the live connections and the peer's neighbour entry, and make about
 * 15% of the frames.
 */
export const MIX = {
  arp: 8, ip4: 20, frag4: 8, ip6: 20, frag6: 7, nd: 17, icmpError4: 6, icmpError6: 6, oddEthernet: 8,
  icmpLive4: 6, icmpLive6: 8, ndLive: 8, tcpOptions: 5,
};

/**
 * Whether an ICMP error that quotes a live connection with an in-window sequence number
 * may legitimately end it. Linux treats every one as soft on an established connection
 * (tcp_v4_err, tcp_v6_err: only SYN_SENT/SYN_RECV die), so by default none is spared.
 */
const SOFT_ICMP = () => false;

// --- checksums and builders ------------------------------------------------------------------

function sum16(buf, start, end, acc = 0) {
  for (let i = start; i < end - 1; i += 2) acc += (buf[i] << 8) | buf[i + 1];
  if ((end - start) & 1) acc += buf[end - 1] << 8;
  return acc;
}

function fold(acc) {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

const put16 = (b, o, v) => {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
};
const put32 = (b, o, v) => {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
};
const get16 = (b, o) => (b[o] << 8) | b[o + 1];
const get32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

export function cat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function parseMac(text) {
  return Uint8Array.from(text.split(':'), (h) => parseInt(h, 16));
}

export function ip4(text) {
  return Uint8Array.from(text.split('.'), Number);
}

export function ip6(text) {
  const [head, tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = text.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => put16(out, i * 2, parseInt(g, 16)));
  return out;
}

const eq = (a, b, off = 0) => {
  for (let i = 0; i < b.length; i++) if (a[off + i] !== b[i]) return false;
  return true;
};

/** Pseudo-header sum for an L4 checksum. */
function pseudo(src, dst, proto, len) {
  let acc = sum16(src, 0, src.length) + sum16(dst, 0, dst.length);
  return acc + proto + len;
}

function l4checksum(seg, off, src, dst, proto) {
  seg[off] = 0;
  seg[off + 1] = 0;
  const c = fold(sum16(seg, 0, seg.length, pseudo(src, dst, proto, seg.length)));
  put16(seg, off, c);
}

export function ether(dst, src, type, payload) {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  put16(f, 12, type);
  f.set(payload, 14);
  return f;
}

export function ipv4Packet({ src, dst, proto, payload, ttl = 64, id = 0, df = false, mf = false, offset = 0, options = new Uint8Array(0), tos = 0, totalLength }) {
  const opt = options.length % 4 ? cat(options, new Uint8Array(4 - (options.length % 4))) : options;
  const hl = 20 + opt.length;
  const h = new Uint8Array(hl);
  h[0] = 0x40 | (hl / 4);
  h[1] = tos;
  put16(h, 2, totalLength ?? hl + payload.length);
  put16(h, 4, id);
  put16(h, 6, (df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | ((offset / 8) & 0x1fff));
  h[8] = ttl;
  h[9] = proto;
  h.set(src, 12);
  h.set(dst, 16);
  h.set(opt, 20);
  put16(h, 10, fold(sum16(h, 0, hl)));
  return cat(h, payload);
}

export function ipv6Packet({ src, dst, next, payload, hop = 64, flow = 0 }) {
  const h = new Uint8Array(40);
  put32(h, 0, (6 << 28) | (flow & 0xfffff));
  put16(h, 4, payload.length);
  h[6] = next;
  h[7] = hop;
  h.set(src, 8);
  h.set(dst, 24);
  return cat(h, payload);
}

const TCP_OPTIONS = [
  () => Uint8Array.from([2, 4, 0x05, 0xb4]), // MSS 1460
  (r) => Uint8Array.from([2, 4, r.u32() & 0xff, r.u32() & 0xff]), // any MSS, 0 included
  (r) => Uint8Array.from([3, 3, r.below(20)]), // window scale, shifts > 14 included
  () => Uint8Array.from([4, 2]), // SACK permitted
  (r) => cat(Uint8Array.from([5, 10]), r.bytes(8)), // SACK block
  (r) => cat(Uint8Array.from([8, 10]), r.bytes(8)), // timestamps
  () => Uint8Array.from([1]), // NOP
  () => Uint8Array.from([0]), // EOL
  (r) => Uint8Array.from([r.u32() & 0xff, r.below(4)]), // a bad length
  (r) => cat(Uint8Array.from([r.u32() & 0xff, 40]), r.bytes(6)), // a length past the end
];

export function tcpSegment(r, { src, dst, sport, dport, seq, ack, flags, win = 65535, payload = new Uint8Array(0), options }) {
  let opt = options;
  if (!opt) {
    const parts = [];
    const n = r.chance(0.5) ? 0 : r.below(5);
    for (let i = 0; i < n; i++) parts.push(r.pick(TCP_OPTIONS)(r));
    opt = cat(...parts);
  }
  if (opt.length > 40) opt = opt.subarray(0, 40);
  if (opt.length % 4) opt = cat(opt, new Uint8Array(4 - (opt.length % 4)));
  const hl = 20 + opt.length;
  const seg = new Uint8Array(hl + payload.length);
  put16(seg, 0, sport);
  put16(seg, 2, dport);
  put32(seg, 4, seq);
  put32(seg, 8, ack);
  seg[12] = ((hl / 4) << 4) | ((flags >>> 8) & 0x0f);
  seg[13] = flags & 0xff;
  put16(seg, 14, win);
  put16(seg, 18, r.chance(0.9) ? 0 : r.u32() & 0xffff); // urgent pointer
  seg.set(opt, 20);
  seg.set(payload, hl);
  l4checksum(seg, 16, src, dst, 6);
  return seg;
}

export function udpDatagram({ src, dst, sport, dport, payload, length, zeroChecksum = false }) {
  const d = new Uint8Array(8 + payload.length);
  put16(d, 0, sport);
  put16(d, 2, dport);
  put16(d, 4, length ?? d.length);
  d.set(payload, 8);
  if (!zeroChecksum) {
    l4checksum(d, 6, src, dst, 17);
    if (get16(d, 6) === 0) put16(d, 6, 0xffff);
  }
  return d;
}

function icmp4(type, code, rest, body) {
  const m = cat(Uint8Array.from([type, code, 0, 0]), rest, body);
  put16(m, 2, fold(sum16(m, 0, m.length)));
  return m;
}

function icmp6(src, dst, type, code, body) {
  const m = cat(Uint8Array.from([type, code, 0, 0]), body);
  l4checksum(m, 2, src, dst, 58);
  return m;
}

export function arpPacket({ op, sha, spa, tha, tpa, htype = 1, ptype = 0x0800, hlen = 6, plen = 4 }) {
  const a = new Uint8Array(28);
  put16(a, 0, htype);
  put16(a, 2, ptype);
  a[4] = hlen;
  a[5] = plen;
  put16(a, 6, op);
  a.set(sha, 8);
  a.set(spa, 14);
  a.set(tha, 18);
  a.set(tpa, 24);
  return a;
}

// --- the fuzzer ----------------------------------------------------------------------------

const BROADCAST = new Uint8Array(6).fill(0xff);

/**
 * Frames aimed at a victim stack. target: { mac, ipv4, ipv6: [global, linkLocal] };
 * peer: the same for the stack on the other end of the live connections; tcpPorts and
 * udpPorts: ports the victim listens on. Call watch(frame, fromVictim) on real traffic
 * so live connections can be spared, and next() for the next hostile frame. synPorts:
 * listeners (of both families) to finish handshakes on; mix: weights over MIX; mutate:
 * the share of mutated frames; hardIcmp(quote): whether an ICMP error may end a live
 * connection (then one quoting it in-window is not sent).
 */
export class FrameFuzzer {
  constructor({ seed, target, peer, tcpPorts = [], synPorts = tcpPorts, udpPorts = [], mix = {}, mutate = 0.25, hardIcmp = SOFT_ICMP }) {
    this.r = new Rng(seed);
    this.t = {
      mac: parseMac(target.mac), ip4: ip4(target.ipv4), ip6: target.ipv6.map(ip6),
    };
    this.p = {
      mac: parseMac(peer.mac), ip4: ip4(peer.ipv4), ip6: peer.ipv6.map(ip6),
    };
    this.tcpPorts = tcpPorts;
    this.synPorts = synPorts;
    this.udpPorts = udpPorts;
    this.flagCounter = 0;
    this.corpus = [];
    this.queue = [];
    /**
     * Live TCP connections: key -> what the wire showed of them: rcv, the victim's next
     * expected sequence number; una and nxt, its SND.UNA and SND.NXT.
     */
    this.live = new Map();
    /** Handshakes we started on a listener: key -> { isn, mac, born }, to answer the SYN-ACK. */
    this.pending = new Map();
    /** MTU sweeps, so a long run quotes every PTB MTU 0..1280 and every next-hop MTU 0..1500. */
    this.sweep = { ptb: 0, fragNeeded: 0 };
    this.mutateShare = mutate;
    this.hardIcmp = hardIcmp;
    this.mix = [];
    let total = 0;
    for (const [name, w] of Object.entries({ ...MIX, ...mix })) {
      if (!(name in MIX)) throw new RangeError(`FrameFuzzer: no frame class ${name}`);
      if (w > 0) this.mix.push([(total += w), name]);
    }
    this.mixTotal = total;
    // classes: frames made per class; quotes: ICMP quotes of a live connection whose
    // window was known, and how many of those fell inside it
    this.stats = { generated: 0, mutated: 0, sanitized: 0, classes: {}, quotes: { live: 0, inWindow: 0 }, handshakes: 0 };
  }

  // --- what the real traffic tells us --------------------------------------------------------

  /**
   * Declares a live TCP connection to spare (addresses as text, as getsockname gives them).
   * Its sequence numbers are then learned from the real traffic passed to watch().
   */
  addLive({ peer, peerPort, victim, victimPort }) {
    const norm = (a) => addrText(a.includes(':') ? ip6(a) : ip4(a));
    this.live.set(tupleKey(norm(peer), norm(victim), peerPort, victimPort), {});
  }

  /** Records a real frame (for the corpus, and to learn live sequence numbers). */
  watch(frame, fromVictim) {
    if (this.corpus.length < 256) this.corpus.push(frame);
    else if (this.r.chance(0.05)) this.corpus[this.r.below(256)] = frame;
    const seg = parseTcp(frame);
    if (!seg || !seg.valid) return;
    const key = fromVictim ? tupleKey(seg.dst, seg.src, seg.dport, seg.sport) : tupleKey(seg.src, seg.dst, seg.sport, seg.dport);
    if (fromVictim && this.pending.has(key) && (seg.flags & 0x12) === 0x12) this.#completeHandshake(key, seg);
    const l = this.live.get(key);
    if (!l) return;
    const end = (seg.seq + seg.len + (seg.flags & 0x02 ? 1 : 0) + (seg.flags & 0x01 ? 1 : 0)) >>> 0;
    if (fromVictim) {
      if (seg.flags & 0x10) l.rcv = later(l.rcv, seg.ack);
      l.nxt = later(l.nxt, end);
    } else {
      l.rcv = later(l.rcv, end);
      if (seg.flags & 0x10) l.una = later(l.una, seg.ack);
    }
  }

  // --- output --------------------------------------------------------------------------------

  /** The next frame to inject. */
  next() {
    while (this.queue.length === 0) {
      const r = this.r;
      if (this.corpus.length > 0 && r.chance(this.mutateShare)) {
        this.queue.push(this.#mutate(r.pick(this.corpus)));
        this.stats.mutated++;
      } else {
        const x = r.below(this.mixTotal);
        const name = this.mix.find(([upTo]) => x < upTo)[1];
        const made = this.#generate(name);
        for (const f of made) this.queue.push(f);
        this.stats.generated += made.length;
        this.stats.classes[name] = (this.stats.classes[name] ?? 0) + made.length;
      }
    }
    const f = this.#sanitize(this.queue.shift());
    if (this.corpus.length < 256) this.corpus.push(f);
    else if (this.r.chance(0.02)) this.corpus[this.r.below(256)] = f;
    return f;
  }

  // --- addresses and ports ---------------------------------------------------------------------

  #srcMac() {
    const r = this.r;
    const m = r.bytes(6);
    if (r.chance(0.9)) m[0] &= 0xfe; // mostly unicast sources
    return m;
  }

  #dstMac() {
    const r = this.r;
    const x = r.below(20);
    if (x < 15) return this.t.mac;
    if (x < 17) return BROADCAST;
    if (x < 18) return Uint8Array.from([0x33, 0x33, 0, 0, 0, r.pick([1, 0x16])]);
    if (x < 19) return Uint8Array.from([0x01, 0x00, 0x5e, 0, 0, r.below(256)]);
    return r.bytes(6);
  }

  #src4() {
    const r = this.r;
    const x = r.below(10);
    if (x < 3) return this.p.ip4; // the peer's address: only harmless traffic survives sanitize
    if (x < 6) return Uint8Array.from([this.t.ip4[0], this.t.ip4[1], this.t.ip4[2], r.below(256)]);
    if (x < 7) return this.t.ip4;
    return r.bytes(4);
  }

  #dst4() {
    const r = this.r;
    const x = r.below(10);
    if (x < 7) return this.t.ip4;
    if (x < 8) return Uint8Array.from([this.t.ip4[0], this.t.ip4[1], this.t.ip4[2], 255]);
    if (x < 9) return Uint8Array.from([224, 0, 0, r.below(256)]);
    return r.bytes(4);
  }

  #src6() {
    const r = this.r;
    const x = r.below(10);
    if (x < 3) return r.pick(this.p.ip6);
    if (x < 5) {
      const a = ip6('fe80::');
      a.set(r.bytes(8), 8);
      return a;
    }
    if (x < 7) {
      const a = Uint8Array.from(this.t.ip6[0]);
      a.set(r.bytes(8), 8);
      return a;
    }
    if (x < 8) return new Uint8Array(16); // ::
    return r.bytes(16);
  }

  #dst6() {
    const r = this.r;
    const x = r.below(10);
    if (x < 6) return r.pick(this.t.ip6);
    if (x < 7) return ip6('ff02::1');
    if (x < 8) {
      const a = ip6('ff02::1:ff00:0'); // solicited-node
      a.set(this.t.ip6[0].subarray(13), 13);
      return a;
    }
    if (x < 9) return ip6('ff02::16');
    return r.bytes(16);
  }

  #port(kind) {
    const r = this.r;
    const x = r.below(10);
    const ports = kind === 'tcp' ? this.tcpPorts : this.udpPorts;
    if (x < 5 && ports.length) return r.pick(ports);
    if (x < 7 && kind === 'tcp' && this.live.size) return Number(r.pick([...this.live.keys()]).split('|')[3]);
    if (x < 8) return r.pick([0, 1, 7, 53, 80, 65535]);
    return r.below(65536);
  }

  // --- generators ----------------------------------------------------------------------------

  #generate(name) {
    switch (name) {
      case 'arp': return [this.#arp()];
      case 'ip4': return [this.#eth4(this.#ip4Packet(this.#l4v4()))];
      case 'frag4': return this.#frag4();
      case 'ip6': return [this.#eth6(this.#ip6Packet())];
      case 'frag6': return this.#frag6();
      case 'nd': return [this.#nd()];
      case 'icmpError4': return [this.#icmpError4()];
      case 'icmpError6': return [this.#icmpError6()];
      case 'icmpLive4': return [this.#icmpLive4()];
      case 'icmpLive6': return [this.#icmpLive6()];
      case 'ndLive': return [this.#ndLive()];
      case 'tcpOptions': return this.#tcpOptions();
      default: return [this.#oddEthernet()];
    }
  }

  #eth4(packet) {
    return ether(this.#dstMac(), this.#srcMac(), 0x0800, packet);
  }

  #eth6(packet) {
    return ether(this.#dstMac(), this.#srcMac(), 0x86dd, packet);
  }

  #arp() {
    const r = this.r;
    const op = r.chance(0.8) ? r.pick([1, 2]) : r.below(65536);
    const spa = r.chance(0.7) ? Uint8Array.from([this.t.ip4[0], this.t.ip4[1], this.t.ip4[2], r.below(256)]) : r.bytes(4);
    const tpa = r.chance(0.7) ? this.t.ip4 : r.bytes(4);
    const arp = arpPacket({
      op, sha: this.#srcMac(), spa, tha: r.chance(0.5) ? new Uint8Array(6) : r.bytes(6), tpa,
      htype: r.chance(0.9) ? 1 : r.below(65536), ptype: r.chance(0.9) ? 0x0800 : r.below(65536),
      hlen: r.chance(0.9) ? 6 : r.below(256), plen: r.chance(0.9) ? 4 : r.below(256),
    });
    const tail = r.chance(0.2) ? r.bytes(r.below(40)) : new Uint8Array(0);
    return ether(r.chance(0.5) ? BROADCAST : this.#dstMac(), this.#srcMac(), 0x0806, cat(arp, tail));
  }

  /** A TCP, UDP, ICMP or other payload for IPv4: { proto, payload, src, dst }. */
  #l4v4() {
    const r = this.r;
    const src = this.#src4();
    const dst = this.#dst4();
    const x = r.below(10);
    if (x < 5) return { src, dst, proto: 6, payload: this.#tcp(src, dst) };
    if (x < 7) return { src, dst, proto: 17, payload: this.#udp(src, dst, false) };
    if (x < 9) {
      const type = r.chance(0.6) ? 8 : r.below(256);
      return { src, dst, proto: 1, payload: icmp4(type, r.chance(0.8) ? 0 : r.below(256), r.bytes(4), r.bytes(r.size(200))) };
    }
    return { src, dst, proto: r.pick([0, 2, 4, 41, 47, 50, 89, 132, 255, r.below(256)]), payload: r.bytes(r.size(100)) };
  }

  #tcp(src, dst) {
    const r = this.r;
    // every combination of the eight flags comes round in turn, with the reserved bits sometimes
    const flags = (this.flagCounter++ & 0xff) | (r.chance(0.1) ? r.below(16) << 8 : 0);
    const sport = r.chance(0.5) && this.live.size ? Number(r.pick([...this.live.keys()]).split('|')[2]) : r.below(65536);
    const dport = this.#port('tcp');
    const spared = this.#spare(addrText(src), addrText(dst), sport, dport, r.u32(), flags);
    return tcpSegment(r, {
      src, dst, sport, dport, seq: spared.seq, ack: r.u32(), flags: spared.flags, options: spared.options,
      win: r.chance(0.8) ? r.below(65536) : r.pick(INTERESTING16),
      payload: r.chance(0.5) ? new Uint8Array(0) : r.bytes(r.size(1400)),
    });
  }

  #udp(src, dst, v6) {
    const r = this.r;
    const payload = r.bytes(r.size(1200));
    const x = r.below(10);
    return udpDatagram({
      src, dst, sport: r.below(65536), dport: this.#port('udp'), payload,
      length: x === 0 ? r.pick(INTERESTING16) : undefined,
      zeroChecksum: !v6 && x === 1,
    });
  }

  #ip4Options() {
    const r = this.r;
    const parts = [];
    const n = r.below(4);
    for (let i = 0; i < n; i++) {
      const k = r.below(7);
      if (k === 0) parts.push(Uint8Array.from([1])); // NOP
      else if (k === 1) parts.push(Uint8Array.from([0])); // EOL
      else if (k === 2) parts.push(cat(Uint8Array.from([7, 11, 4]), new Uint8Array(8))); // record route
      else if (k === 3) parts.push(cat(Uint8Array.from([0x44, 12, 5, 0]), new Uint8Array(8))); // timestamp
      else if (k === 4) parts.push(Uint8Array.from([0x94, 4, 0, 0])); // router alert
      else if (k === 5) parts.push(cat(Uint8Array.from([0x83, 7, 4]), r.bytes(4))); // loose source route
      else parts.push(Uint8Array.from([r.u32() & 0xff, r.below(42)])); // any, any length
    }
    const o = cat(...parts);
    return o.length > 40 ? o.subarray(0, 40) : o;
  }

  #ip4Packet({ src, dst, proto, payload }) {
    const r = this.r;
    const options = r.chance(0.2) ? this.#ip4Options() : new Uint8Array(0);
    const odd = r.chance(0.05);
    return ipv4Packet({
      src, dst, proto, payload, options, id: r.below(65536), ttl: r.chance(0.9) ? 64 : r.below(3),
      df: r.chance(0.5), tos: r.chance(0.9) ? 0 : r.below(256),
      totalLength: odd ? r.pick(INTERESTING16) : undefined,
    });
  }

  /** An IPv4 datagram cut into fragments: shuffled, overlapping, duplicated, some missing. */
  #frag4() {
    const r = this.r;
    const { src, dst, proto, payload } = this.#l4v4();
    const body = r.chance(0.5) ? cat(payload, r.bytes(r.below(3000))) : payload;
    const id = r.chance(0.5) ? r.below(8) : r.below(65536); // small ids collide on purpose
    const pieces = [];
    for (let off = 0; off < body.length || off === 0;) {
      const len = Math.max(8, (r.below(Math.min(1472, body.length - off + 8) / 8 + 1) | 0) * 8);
      const end = Math.min(body.length, off + len);
      const overlap = r.chance(0.1) ? -8 * r.below(4) : 0;
      const start = Math.max(0, off + overlap);
      pieces.push(ipv4Packet({ src, dst, proto, payload: body.subarray(start, end), id, offset: start, mf: end < body.length || r.chance(0.05) }));
      off = end;
      if (end >= body.length) break;
    }
    if (r.chance(0.3)) pieces.reverse();
    if (r.chance(0.2)) pieces.splice(r.below(pieces.length), 1);
    if (r.chance(0.2)) pieces.push(pieces[r.below(pieces.length)]);
    if (r.chance(0.1)) pieces.push(ipv4Packet({ src, dst, proto, payload: r.bytes(64), id, offset: 8 * r.below(8192), mf: r.chance(0.5) }));
    return pieces.filter(Boolean).map((p) => this.#eth4(p));
  }

  /** An IPv6 extension header: [type, bytes]. */
  #ext6(next) {
    const r = this.r;
    const k = r.below(5);
    const type = [0, 60, 43, 44, 60][k];
    let body;
    if (type === 43) {
      // routing: type 0 (deprecated), 2, or any, with segments left
      body = cat(Uint8Array.from([r.pick([0, 2, 3, 4, r.below(256)]), r.below(4)]), new Uint8Array(4), r.chance(0.5) ? new Uint8Array(16) : new Uint8Array(0));
    } else if (type === 44) {
      body = cat(new Uint8Array(0), Uint8Array.from([r.below(256), r.below(256)]), r.bytes(4));
    } else {
      // hop-by-hop / destination options: Pad1, PadN, router alert, jumbo, unknown with action bits
      const opts = [];
      for (let i = r.below(4); i > 0; i--) {
        const o = r.below(6);
        if (o === 0) opts.push(Uint8Array.from([0]));
        else if (o === 1) opts.push(Uint8Array.from([1, 2, 0, 0]));
        else if (o === 2) opts.push(Uint8Array.from([5, 2, 0, 0]));
        else if (o === 3) opts.push(cat(Uint8Array.from([0xc2, 4]), r.bytes(4)));
        else opts.push(cat(Uint8Array.from([r.pick([0x3e, 0x7e, 0xbe, 0xfe, r.below(256)]), 2]), r.bytes(2)));
      }
      body = cat(...opts);
    }
    // pad to 8-byte units (the first two bytes are next header and length)
    const total = Math.ceil((body.length + 2) / 8) * 8;
    const h = new Uint8Array(total);
    h[0] = next;
    h[1] = total / 8 - 1;
    h.set(body.subarray(0, total - 2), 2);
    return [type, h];
  }

  #ip6Packet() {
    const r = this.r;
    const src = this.#src6();
    const dst = this.#dst6();
    const x = r.below(10);
    let next;
    let upper;
    if (x < 5) {
      next = 6;
      upper = this.#tcp(src, dst);
    } else if (x < 7) {
      next = 17;
      upper = this.#udp(src, dst, true);
    } else if (x < 9) {
      next = 58;
      upper = icmp6(src, dst, r.chance(0.6) ? 128 : r.below(256), r.chance(0.8) ? 0 : r.below(256), cat(r.bytes(4), r.bytes(r.size(200))));
    } else {
      next = r.pick([59, 0, 41, 50, 135, r.below(256)]);
      upper = r.bytes(r.size(100));
    }
    let chain = upper;
    for (let n = r.chance(0.3) ? r.below(4) : 0; n > 0; n--) {
      const [type, h] = this.#ext6(next);
      chain = cat(h, chain);
      next = type;
    }
    return ipv6Packet({ src, dst, next, payload: chain, hop: r.chance(0.9) ? 64 : r.pick([0, 1, 255]) });
  }

  #frag6() {
    const r = this.r;
    const src = this.#src6();
    const dst = r.pick(this.t.ip6);
    const next = r.pick([6, 17, 58, 59]);
    const upper = next === 6 ? this.#tcp(src, dst) : next === 17 ? this.#udp(src, dst, true)
      : next === 58 ? icmp6(src, dst, 128, 0, r.bytes(4 + r.below(3000))) : r.bytes(r.below(200));
    const id = r.chance(0.5) ? r.below(8) : r.u32();
    const frames = [];
    for (let off = 0; off < upper.length || off === 0;) {
      const len = Math.max(8, (r.below(1232 / 8) + 1) * 8);
      const end = Math.min(upper.length, off + len);
      const start = r.chance(0.1) ? Math.max(0, off - 8) : off;
      const more = end < upper.length || r.chance(0.05);
      const fh = new Uint8Array(8);
      fh[0] = next;
      put16(fh, 2, (start & 0xfff8) | (more ? 1 : 0));
      put32(fh, 4, id);
      frames.push(this.#eth6(ipv6Packet({ src, dst, next: 44, payload: cat(fh, upper.subarray(start, end)) })));
      off = end;
      if (end >= upper.length) break;
    }
    if (r.chance(0.3)) frames.reverse();
    if (r.chance(0.2)) frames.splice(r.below(frames.length), 1);
    if (r.chance(0.2) && frames.length) frames.push(frames[r.below(frames.length)]);
    return frames;
  }

  /** Neighbour discovery and MLD, hop limit 255 so lwIP looks at them. */
  #nd() {
    const r = this.r;
    const src = r.chance(0.5) ? (() => {
      const a = ip6('fe80::');
      a.set(r.bytes(8), 8);
      return a;
    })() : this.#src6();
    const dst = this.#dst6();
    const type = r.pick([130, 131, 132, 133, 134, 135, 136, 137, 143]);
    const opt = () => {
      const k = r.below(6);
      if (k === 0) return cat(Uint8Array.from([1, 1]), this.#srcMac()); // source link-layer
      if (k === 1) return cat(Uint8Array.from([2, 1]), this.#srcMac()); // target link-layer
      if (k === 2) { // prefix information
        const p = new Uint8Array(32);
        p[0] = 3;
        p[1] = 4;
        p[2] = r.pick([64, 48, 128, 0, r.below(256)]);
        p[3] = r.below(256);
        put32(p, 4, r.pick([0, 30, 0xffffffff, r.u32()]));
        put32(p, 8, r.pick([0, 30, 0xffffffff, r.u32()]));
        p.set(r.chance(0.5) ? this.t.ip6[0] : r.bytes(16), 16);
        return p;
      }
      if (k === 3) { // MTU
        const p = new Uint8Array(8);
        p[0] = 5;
        p[1] = 1;
        put32(p, 4, r.pick([0, 1279, 1280, 1500, 9000, 65535, r.u32()]));
        return p;
      }
      if (k === 4) return cat(Uint8Array.from([r.below(256), 0])); // zero length: invalid
      return cat(Uint8Array.from([r.below(256), 1 + r.below(3)]), r.bytes(6 + 8 * r.below(2)));
    };
    const opts = [];
    for (let n = r.below(4); n > 0; n--) opts.push(opt());
    let body;
    if (type === 135 || type === 136) {
      const target = r.chance(0.6) ? r.pick(this.t.ip6) : this.#src6();
      body = cat(Uint8Array.from([r.below(256), 0, 0, 0]), target, ...opts);
    } else if (type === 137) {
      body = cat(new Uint8Array(4), this.#src6(), this.#src6(), ...opts);
    } else if (type === 134) {
      body = cat(Uint8Array.from([r.below(256), r.below(256)]), r.bytes(2), r.bytes(8), ...opts);
    } else if (type === 130 || type === 131 || type === 132) {
      body = cat(r.bytes(4), r.chance(0.5) ? new Uint8Array(16) : ip6('ff02::1'));
    } else {
      body = cat(new Uint8Array(4), ...opts);
    }
    const m = icmp6(src, dst, type, r.chance(0.9) ? 0 : r.below(256), body);
    return this.#eth6(ipv6Packet({ src, dst, next: 58, payload: m, hop: r.chance(0.9) ? 255 : 64 }));
  }

  /** An embedded packet (as an ICMP error quotes one): often one of the live connections. */
  #quoted(v6) {
    const r = this.r;
    const keys = [...this.live.keys()].filter((k) => k.includes(':') === v6);
    let src;
    let dst;
    let sport;
    let dport;
    if (keys.length && r.chance(0.6)) {
      const [ps, ts, pp, tp] = r.pick(keys).split('|');
      // the quoted packet is one the victim sent: from it to the peer
      src = v6 ? ip6(ts) : ip4(ts);
      dst = v6 ? ip6(ps) : ip4(ps);
      sport = Number(tp);
      dport = Number(pp);
    } else {
      src = v6 ? this.t.ip6[0] : this.t.ip4;
      dst = v6 ? this.#src6() : this.#src4();
      sport = r.below(65536);
      dport = r.below(65536);
    }
    const proto = r.chance(0.7) ? 6 : 17;
    const l4 = new Uint8Array(8 + r.below(16));
    put16(l4, 0, sport);
    put16(l4, 2, dport);
    put32(l4, 4, r.u32());
    const inner = v6 ? ipv6Packet({ src, dst, next: proto, payload: l4 }) : ipv4Packet({ src, dst, proto, payload: l4 });
    const cut = r.chance(0.2) ? r.below(inner.length) : inner.length;
    return inner.subarray(0, cut);
  }

  #icmpError4() {
    const r = this.r;
    const type = r.pick([3, 3, 3, 4, 5, 11, 12]);
    const code = type === 3 ? r.pick([0, 1, 2, 3, 4, 13, r.below(256)]) : r.below(4);
    const rest = new Uint8Array(4);
    if (type === 3 && code === 4) put16(rest, 2, r.pick(INTERESTING16));
    const src = this.#src4();
    return this.#eth4(ipv4Packet({ src, dst: this.t.ip4, proto: 1, payload: icmp4(type, code, rest, this.#quoted(false)) }));
  }

  #icmpError6() {
    const r = this.r;
    const type = r.pick([1, 1, 2, 3, 4]);
    const rest = new Uint8Array(4);
    if (type === 2) put32(rest, 0, r.pick([0, 1279, 1280, 1400, 65535, r.u32()]));
    if (type === 4) put32(rest, 0, r.below(80));
    const src = this.#src6();
    const dst = r.pick(this.t.ip6);
    return this.#eth6(ipv6Packet({ src, dst, next: 58, payload: icmp6(src, dst, type, r.below(8), cat(rest, this.#quoted(true))) }));
  }

  // --- aimed at the live connections -----------------------------------------------------------

  /** A live connection's key, of one family (of either if none), or undefined. */
  #liveKey(v6) {
    const keys = [...this.live.keys()];
    const mine = keys.filter((k) => k.includes(':') === v6);
    return (mine.length || keys.length) ? this.r.pick(mine.length ? mine : keys) : undefined;
  }

  /**
   * A sequence number for a quote of what the victim sent: mostly inside SND.UNA..SND.NXT
   * as the wire showed it (an on-path attacker sees that too), else just outside it, 2^31
   * away, or anything.
   */
  #quotedSeq(l) {
    const r = this.r;
    if (l?.una === undefined || l.nxt === undefined) return r.u32();
    const k = r.below(10);
    if (k < 4) return (l.una + r.below(((l.nxt - l.una) >>> 0) + 1)) >>> 0;
    if (k < 5) return r.pick([l.una, l.nxt]);
    if (k < 6) return (l.una - 1 - r.below(65536)) >>> 0; // acknowledged already
    if (k < 7) return (l.nxt + 1 + r.below(65536)) >>> 0; // not sent yet
    if (k < 8) return (l.una + 0x80000000) >>> 0;
    return r.u32();
  }

  /**
   * The packet an ICMP error quotes (at most room bytes): mostly one the victim sent on a
   * live connection (from it to the peer), else a forged tuple (reversed, a port off by
   * one, or made up); sometimes cut anywhere, even inside the inner IP header.
   */
  #liveQuote(v6, room) {
    const r = this.r;
    const key = this.#liveKey(v6);
    let src;
    let dst;
    let sport;
    let dport;
    let l;
    const x = r.below(10);
    if (key && key.includes(':') === v6 && x < 8) {
      const [ps, ts, pp, tp] = key.split('|');
      l = this.live.get(key);
      src = v6 ? ip6(ts) : ip4(ts);
      dst = v6 ? ip6(ps) : ip4(ps);
      sport = Number(tp);
      dport = Number(pp);
      if (x === 7 && r.chance(0.5)) [src, dst, sport, dport] = [dst, src, dport, sport];
      else if (x === 7) sport = (sport + 1) & 0xffff;
    } else {
      src = v6 ? r.pick(this.t.ip6) : this.t.ip4;
      dst = r.chance(0.5) ? (v6 ? r.pick(this.p.ip6) : this.p.ip4) : v6 ? this.#src6() : this.#src4();
      sport = r.chance(0.3) ? r.pick(this.tcpPorts) ?? 80 : r.below(65536);
      dport = r.below(65536);
    }
    const tcp = new Uint8Array(20);
    const seq = this.#quotedSeq(l);
    if (l?.una !== undefined && l.nxt !== undefined && x < 7) {
      this.stats.quotes.live++;
      if (inWindow(seq, l.una, l.nxt)) this.stats.quotes.inWindow++;
    }
    put16(tcp, 0, sport);
    put16(tcp, 2, dport);
    put32(tcp, 4, seq);
    put32(tcp, 8, l?.rcv ?? r.u32());
    tcp[12] = 0x50;
    tcp[13] = r.pick([0x10, 0x18, 0x11, 0x02, 0x12, 0x04]);
    put16(tcp, 14, r.below(65536));
    put16(tcp, 16, r.below(65536));
    const hl = v6 ? 40 : 20;
    // RFC 792 asks for 8 bytes of the transport header; RFC 1812 and 4443 for as much as fits
    const data = r.chance(0.3) ? r.bytes(r.below(Math.max(1, room - hl - 20))) : new Uint8Array(0);
    const l4 = cat(tcp, data).subarray(0, r.pick([8, 8, 12, 20, 20 + data.length]));
    const claimed = hl + 20 + r.pick([data.length, 0, 1, 1220, 1440, r.below(65536)]);
    let inner;
    if (v6) {
      inner = ipv6Packet({ src, dst, next: 6, payload: l4, hop: r.pick([64, 1, 0, 255]), flow: r.u32() });
      put16(inner, 4, Math.min(0xffff, claimed - 40));
    } else {
      inner = ipv4Packet({ src, dst, proto: 6, payload: l4, ttl: r.pick([64, 1, 0, 255]), id: r.below(65536), df: r.chance(0.8), totalLength: Math.min(0xffff, claimed) });
    }
    inner = inner.subarray(0, Math.min(room, inner.length));
    return r.chance(0.15) ? inner.subarray(0, r.below(inner.length)) : inner;
  }

  /** A next-hop MTU for "fragmentation needed": 0..1500 in turn, or beyond. */
  #fragNeededMtu() {
    const r = this.r;
    if (r.chance(0.75)) return this.sweep.fragNeeded++ % 1501;
    return r.pick([1501, 1518, 2000, 9000, 65535, r.below(65536)]);
  }

  /** A Packet Too Big MTU: 0..1280 in turn, or above it, up to 2^32 - 1. */
  #ptbMtu() {
    const r = this.r;
    if (r.chance(0.75)) return this.sweep.ptb++ % 1281;
    return r.pick([1281, 1400, 1500, 1501, 9000, 65535, 65536, 0x7fffffff, 0xffffffff, 1280 + r.below(64256), r.u32()]);
  }

  /** Destination unreachable (every code, MTUs for code 4), time exceeded, parameter problem. */
  #icmpLive4() {
    const r = this.r;
    const type = r.pick([3, 3, 3, 3, 11, 12]);
    const rest = new Uint8Array(4);
    let code;
    if (type === 3) {
      code = r.chance(0.3) ? 4 : r.chance(0.95) ? r.below(16) : r.below(256);
      if (code === 4 || r.chance(0.05)) put16(rest, 2, this.#fragNeededMtu());
    } else if (type === 11) {
      code = r.chance(0.9) ? r.below(2) : r.below(256);
    } else {
      code = r.chance(0.9) ? r.below(3) : r.below(256);
      rest[0] = r.chance(0.7) ? r.below(60) : r.below(256); // the pointer
    }
    if (r.chance(0.1)) rest[1] = r.below(256); // unused bytes that are not zero
    const src = this.#src4();
    return this.#eth4(ipv4Packet({ src, dst: this.t.ip4, proto: 1, id: r.below(65536), payload: icmp4(type, code, rest, this.#liveQuote(false, 548)) }));
  }

  /** Destination unreachable (codes 0-6), Packet Too Big (every MTU), time exceeded, parameter problem. */
  #icmpLive6() {
    const r = this.r;
    const type = r.pick([1, 2, 2, 3, 4]);
    const rest = new Uint8Array(4);
    let code;
    if (type === 1) {
      code = r.chance(0.9) ? r.below(7) : r.below(256);
    } else if (type === 2) {
      code = r.chance(0.95) ? 0 : r.below(256);
      put32(rest, 0, this.#ptbMtu());
    } else if (type === 3) {
      code = r.chance(0.9) ? r.below(2) : r.below(256);
    } else {
      code = r.chance(0.9) ? r.below(3) : r.below(256);
      put32(rest, 0, r.chance(0.7) ? r.below(48) : r.pick(INTERESTING32)); // the pointer
    }
    const src = this.#src6();
    const dst = r.pick(this.t.ip6);
    // an error fits in the minimum MTU: 1280 - 40 - 8 bytes of quote
    const m = icmp6(src, dst, type, code, cat(rest, this.#liveQuote(true, 1232)));
    return this.#eth6(ipv6Packet({ src, dst, next: 58, payload: m, hop: r.chance(0.9) ? 64 : r.pick([255, 1]) }));
  }

  #linkLocal() {
    const a = ip6('fe80::');
    a.set(this.r.bytes(8), 8);
    return a;
  }

  /** An address in the victim's own /64 that is neither its nor the peer's. */
  #onLink6() {
    const a = Uint8Array.from(this.t.ip6[0]);
    a.set(this.r.bytes(8), 8);
    a[8] |= 0x02;
    return a;
  }

  /**
   * Neighbour discovery that names the peer or the victim: NAs and NSs moving the peer
   * to another MAC (a stack must check, by probing the MAC it has, before it believes
   * one), redirects for the peer's address, and router advertisements with extreme
   * timers, MTUs and prefixes, from sources they should and should not come from.
   */
  #ndLive() {
    const r = this.r;
    const other = this.#srcMac();
    other[0] &= 0xfe;
    const lladdr = (type, mac = r.chance(0.8) ? other : this.p.mac) => cat(Uint8Array.from([type, 1]), mac);
    const zeroLength = () => Uint8Array.from([r.pick([1, 2, 3, 5, 25, r.below(256)]), 0, 0, 0, 0, 0, 0, 0]);
    const peer = () => r.pick(this.p.ip6);
    const solicited = (a) => {
      const s = ip6('ff02::1:ff00:0');
      s.set(a.subarray(13), 13);
      return s;
    };
    const opts = [];
    let src;
    let dst;
    let type;
    let body;
    const k = r.below(10);
    if (k < 3) { // neighbour advertisement
      type = 136;
      const x = r.below(20);
      const target = x < 11 ? peer() : x < 15 ? r.pick(this.t.ip6) : x < 18 ? this.#linkLocal() : x < 19 ? ip6('ff02::1') : r.bytes(16);
      src = r.chance(0.5) ? target : r.chance(0.6) ? this.#linkLocal() : r.chance(0.5) ? peer() : new Uint8Array(16);
      const d = r.below(10);
      dst = d < 4 ? r.pick(this.t.ip6) : d < 8 ? ip6('ff02::1') : d < 9 ? solicited(this.t.ip6[0]) : r.bytes(16);
      // router, solicited, override in every combination
      const flags = (r.chance(0.2) ? 0x80 : 0) | (r.chance(0.5) ? 0x40 : 0) | (r.chance(0.5) ? 0x20 : 0);
      const o = r.below(20);
      if (o < 15) opts.push(lladdr(2));
      else if (o < 16) opts.push(zeroLength());
      else if (o < 17) opts.push(lladdr(2, other), lladdr(2, this.p.mac));
      else if (o < 18) opts.push(lladdr(1));
      body = cat(Uint8Array.from([flags, 0, 0, 0]), target);
    } else if (k < 5) { // neighbour solicitation
      type = 135;
      const x = r.below(20);
      src = x < 9 ? peer() : x < 13 ? new Uint8Array(16) : x < 18 ? this.#linkLocal() : r.pick(this.t.ip6);
      const t = r.below(10);
      const target = t < 6 ? r.pick(this.t.ip6) : t < 8 ? peer() : this.#src6();
      const d = r.below(10);
      dst = d < 5 ? solicited(target) : d < 8 ? r.pick(this.t.ip6) : d < 9 ? ip6('ff02::1') : r.bytes(16);
      const o = r.below(20);
      if (o < 14) opts.push(lladdr(1)); // with :: as the source too, which RFC 4861 forbids
      else if (o < 15) opts.push(zeroLength());
      else if (o < 16) opts.push(lladdr(1, other), lladdr(1, this.p.mac));
      else if (o < 17) opts.push(lladdr(2));
      body = cat(new Uint8Array(4), target);
      if (r.chance(0.3)) opts.push(r.bytes(1 + r.below(40))); // garbage after the options
    } else if (k < 7) { // redirect (the final pass spares those from the peer itself)
      type = 137;
      const x = r.below(20);
      src = x < 12 ? this.#linkLocal() : x < 14 ? this.p.ip6[1] : x < 15 ? this.p.ip6[0] : x < 17 ? this.t.ip6[1] : this.#onLink6();
      dst = r.pick(this.t.ip6);
      const d = r.below(20);
      const destination = d < 8 ? this.p.ip6[0] : d < 11 ? this.p.ip6[1] : d < 13 ? this.#onLink6() : d < 15 ? r.pick(this.t.ip6)
        : d < 16 ? ip6('ff02::1') : r.bytes(16);
      const t = r.below(20);
      const target = t < 5 ? destination : t < 12 ? this.#linkLocal() : t < 14 ? this.p.ip6[1] : t < 16 ? this.t.ip6[1]
        : t < 17 ? ip6('ff02::1') : t < 18 ? new Uint8Array(16) : r.bytes(16);
      const o = r.below(10);
      if (o < 5) opts.push(lladdr(2));
      else if (o < 6) opts.push(zeroLength());
      if (r.chance(0.3)) { // the redirected header: a packet the victim sent
        const q = this.#liveQuote(true, 1232 - 40 - 8);
        const h = new Uint8Array(8 + Math.ceil(q.length / 8) * 8);
        h[0] = 4;
        h[1] = h.length / 8;
        h.set(q, 8);
        opts.push(r.chance(0.1) ? h.subarray(0, r.below(h.length)) : h);
      }
      body = cat(new Uint8Array(4), target, destination);
    } else { // router advertisement
      type = 134;
      const x = r.below(20);
      src = x < 10 ? this.#linkLocal() : x < 12 ? this.p.ip6[1] : x < 14 ? this.#onLink6() : x < 15 ? this.p.ip6[0]
        : x < 16 ? this.t.ip6[1] : x < 17 ? new Uint8Array(16) : r.bytes(16);
      dst = r.chance(0.7) ? ip6('ff02::1') : r.pick(this.t.ip6);
      const ra = new Uint8Array(12);
      ra[0] = r.pick([0, 1, 64, 255]); // current hop limit
      ra[1] = r.pick([0, 0x80, 0x40, 0xc0, 0x08, 0x18, r.below(256)]); // M, O, preference
      put16(ra, 2, r.pick([0, 0, 1, 1800, 9000, 65535])); // router lifetime, s
      put32(ra, 4, r.pick([0, 1, 1000, 30000, 3600000, ...INTERESTING32, r.u32()])); // reachable time, ms
      put32(ra, 8, r.pick([0, 1, 1000, ...INTERESTING32, r.u32()])); // retrans timer, ms
      for (let n = r.below(5); n > 0; n--) {
        const o = r.below(10);
        if (o < 3) { // prefix information: the victim's own /64 or another
          const p = new Uint8Array(32);
          p[0] = 3;
          p[1] = 4;
          p[2] = r.pick([64, 64, 0, 48, 128, 255]);
          p[3] = r.pick([0xc0, 0x80, 0x40, 0, r.below(256)]); // on-link, autonomous
          put32(p, 4, r.pick([0, 1, 7200, 0xffffffff, r.u32()])); // valid
          put32(p, 8, r.pick([0, 1, 7200, 0xffffffff, r.u32()])); // preferred, more than valid too
          p.set(r.chance(0.6) ? this.t.ip6[0] : r.chance(0.5) ? ip6('fe80::') : r.bytes(16), 16);
          opts.push(p);
        } else if (o < 6) { // MTU
          const p = new Uint8Array(8);
          p[0] = 5;
          p[1] = 1;
          put32(p, 4, r.pick([0, 1, 48, 68, 1279, 1280, 1281, 1500, 1501, 9000, 65535, 65536, 0xffffffff, r.u32()]));
          opts.push(p);
        } else if (o < 7) {
          opts.push(lladdr(1));
        } else if (o < 8) {
          opts.push(zeroLength());
        } else if (o < 9) { // RDNSS
          opts.push(cat(Uint8Array.from([25, 3, 0, 0]), r.bytes(4), this.#src6()));
        } else {
          opts.push(cat(Uint8Array.from([r.below(256), 1]), r.bytes(6)));
        }
      }
      body = ra;
    }
    const m = icmp6(src, dst, type, r.chance(0.95) ? 0 : r.below(256), cat(body, ...opts));
    const packet = ipv6Packet({ src, dst, next: 58, payload: m, hop: r.chance(0.85) ? 255 : r.pick([254, 64, 1, 0]) });
    const mdst = dst[0] === 0xff ? Uint8Array.from([0x33, 0x33, ...dst.subarray(12)]) : r.chance(0.95) ? this.t.mac : this.#dstMac();
    return ether(mdst, r.chance(0.8) ? other : this.#srcMac(), 0x86dd, packet);
  }

  /** TCP options around the MSS: values 0, 1, 47 and 48, lengths of 0 or 1, and options running past the header. */
  #oddTcpOptions() {
    const r = this.r;
    const parts = [];
    for (let n = r.below(3); n > 0; n--) parts.push(r.pick(TCP_OPTIONS)(r));
    const k = r.below(10);
    if (k < 5) {
      const mss = r.chance(0.8) ? r.pick([0, 1, 47, 48]) : r.pick([2, 8, 49, 88, 535, 536, 1220, 1460, 8960, 65535]);
      parts.splice(r.below(parts.length + 1), 0, Uint8Array.from([2, 4, mss >> 8, mss & 0xff]));
    } else if (k < 7) {
      parts.splice(r.below(parts.length + 1), 0, Uint8Array.from([r.pick([2, 2, 3, 4, 5, 8, 30, 254, r.below(256)]), r.below(2)]));
    } else if (k < 8) {
      parts.push(cat(Uint8Array.from([2, r.pick([2, 3, 5, 6, 255])]), r.bytes(2))); // an MSS of the wrong length
    } else { // the last option runs past the header: kind only, no value, half a value, or a long length
      const tail = r.pick([[2], [2, 4], [2, 4, 0], [r.pick([3, 8, 5, r.below(256)]), 40], [8, 10, 0, 0]]);
      let head = cat(...parts);
      head = head.subarray(0, Math.min(head.length, 40 - tail.length));
      const pad = (4 - ((head.length + tail.length) % 4)) % 4;
      return cat(head, new Uint8Array(pad).fill(1), Uint8Array.from(tail)).subarray(0, 40);
    }
    return cat(...parts).subarray(0, 40);
  }

  /**
   * SYNs with odd MSS options to the victim's listeners, from on-link addresses that
   * introduce themselves first (ARP or NS), so the SYN-ACK goes out and watch() can finish
   * the handshake: the connection then lives with that MSS. And the same options on
   * segments of the live connections, which the final pass pushes out of the window.
   */
  #tcpOptions() {
    const r = this.r;
    const v6 = r.chance(0.5);
    const options = this.#oddTcpOptions();
    const frames = [];
    let src;
    let dst;
    let sport;
    let dport;
    let flags;
    let mac;
    let seq = r.u32();
    let ack = r.u32();
    const key = this.#liveKey(v6);
    if (key && r.chance(0.3)) {
      const [ps, ts, pp, tp] = key.split('|');
      const six = ps.includes(':');
      src = six ? ip6(ps) : ip4(ps);
      dst = six ? ip6(ts) : ip4(ts);
      sport = Number(pp);
      dport = Number(tp);
      flags = r.pick([0x10, 0x18, 0x02, 0x12, 0x11, 0x04, 0x00, 0x29]);
      ack = this.live.get(key).nxt ?? ack;
      mac = r.chance(0.5) ? this.p.mac : this.#srcMac();
    } else {
      mac = this.#srcMac();
      mac[0] &= 0xfe;
      dst = v6 ? this.t.ip6[0] : this.t.ip4;
      src = v6 ? this.#onLink6() : Uint8Array.from([this.t.ip4[0], this.t.ip4[1], this.t.ip4[2], 3 + r.below(250)]);
      sport = 1024 + r.below(64512);
      dport = r.pick(this.tcpPorts.length ? this.tcpPorts : [80]);
      flags = r.chance(0.8) ? 0x02 : r.pick([0xc2, 0x12, 0x03, 0x0a, 0x06]);
      if (flags === 0x02 && this.synPorts.length && r.chance(0.6)) {
        dport = r.pick(this.synPorts);
        frames.push(...this.#abandon(), v6 ? this.#introduce6(src, mac) : this.#introduce4(src, mac));
        this.pending.set(tupleKey(src, dst, sport, dport), { isn: seq, mac, born: this.stats.generated });
      }
    }
    const seg = tcpSegment(r, {
      src, dst, sport, dport, seq, ack, flags, options, win: r.chance(0.8) ? 65535 : r.pick(INTERESTING16),
      payload: flags & 0x02 || r.chance(0.5) ? new Uint8Array(0) : r.bytes(r.size(1400)),
    });
    if (r.chance(0.05)) { // a data offset below 5 or past the segment's end
      seg[12] = (r.pick([0, 1, 4, 15]) << 4) | (seg[12] & 0x0f);
      l4checksum(seg, 16, src, dst, 6);
    }
    const packet = src.length === 16 ? ipv6Packet({ src, dst, next: 6, payload: seg })
      : ipv4Packet({ src, dst, proto: 6, payload: seg, id: r.below(65536), df: r.chance(0.5) });
    frames.push(ether(this.t.mac, mac, src.length === 16 ? 0x86dd : 0x0800, packet));
    return frames;
  }

  /** "Who has the victim? Tell src at mac": lwIP then keeps src's MAC. */
  #introduce4(src, mac) {
    return ether(BROADCAST, mac, 0x0806, arpPacket({ op: 1, sha: mac, spa: src, tha: new Uint8Array(6), tpa: this.t.ip4 }));
  }

  /** A neighbour solicitation for the victim from src with mac as its link-layer address. */
  #introduce6(src, mac) {
    const dst = ip6('ff02::1:ff00:0');
    dst.set(this.t.ip6[0].subarray(13), 13);
    const m = icmp6(src, dst, 135, 0, cat(new Uint8Array(4), this.t.ip6[0], Uint8Array.from([1, 1]), mac));
    return ether(Uint8Array.from([0x33, 0x33, ...dst.subarray(12)]), mac, 0x86dd, ipv6Packet({ src, dst, next: 58, payload: m, hop: 255 }));
  }

  /**
   * Resets the handshakes the victim never answered (it could not resolve us, or the
   * backlog was full), as their half-open connections would hold the backlog for longer
   * than a run lasts.
   */
  #abandon() {
    const out = [];
    for (const [key, { isn, mac, born }] of this.pending) {
      if (this.stats.generated - born < 512) break;
      this.pending.delete(key);
      const [as, vs, ap, vp] = key.split('|');
      const v6 = as.includes(':');
      const src = v6 ? ip6(as) : ip4(as);
      const dst = v6 ? ip6(vs) : ip4(vs);
      const seg = tcpSegment(this.r, { src, dst, sport: Number(ap), dport: Number(vp), seq: (isn + 1) >>> 0, ack: 0, flags: 0x04, options: new Uint8Array(0) });
      const packet = v6 ? ipv6Packet({ src, dst, next: 6, payload: seg }) : ipv4Packet({ src, dst, proto: 6, payload: seg });
      out.push(ether(this.t.mac, mac, v6 ? 0x86dd : 0x0800, packet));
    }
    return out;
  }

  /** The victim answered a SYN of #tcpOptions: finish the handshake, with data sometimes. */
  #completeHandshake(key, synAck) {
    const { isn, mac } = this.pending.get(key);
    this.pending.delete(key);
    if (synAck.ack !== ((isn + 1) >>> 0)) return;
    const r = this.r;
    const [as, vs, ap, vp] = key.split('|');
    const v6 = as.includes(':');
    const src = v6 ? ip6(as) : ip4(as);
    const dst = v6 ? ip6(vs) : ip4(vs);
    const payload = r.chance(0.5) ? r.bytes(1 + r.below(2000)) : new Uint8Array(0);
    const seg = tcpSegment(r, {
      src, dst, sport: Number(ap), dport: Number(vp), seq: (isn + 1) >>> 0, ack: (synAck.seq + 1) >>> 0,
      flags: 0x10 | (payload.length ? 0x08 : 0) | (r.chance(0.1) ? 0x01 : 0),
      win: r.chance(0.8) ? 65535 : r.pick([0, 1, 48, r.below(65536)]), payload,
      options: r.chance(0.3) ? this.#oddTcpOptions() : new Uint8Array(0),
    });
    const packet = v6 ? ipv6Packet({ src, dst, next: 6, payload: seg }) : ipv4Packet({ src, dst, proto: 6, payload: seg, id: r.below(65536) });
    this.queue.push(ether(this.t.mac, mac, v6 ? 0x86dd : 0x0800, packet));
    this.stats.handshakes++;
  }

  #oddEthernet() {
    const r = this.r;
    const k = r.below(6);
    if (k === 0) return r.bytes(r.below(14)); // a runt
    if (k === 1) return ether(this.#dstMac(), this.#srcMac(), r.below(65536), r.bytes(r.size(1500)));
    if (k === 2) { // a VLAN tag in front of IPv4
      const inner = this.#ip4Packet(this.#l4v4());
      return ether(this.#dstMac(), this.#srcMac(), 0x8100, cat(Uint8Array.from([0, r.below(256), 0x08, 0x00]), inner));
    }
    if (k === 3) return ether(this.#dstMac(), this.#srcMac(), r.pick([0x0800, 0x86dd, 0x0806]), new Uint8Array(0));
    if (k === 4) return ether(this.#dstMac(), this.#srcMac(), r.pick([0x0800, 0x86dd]), r.bytes(r.below(60)));
    return this.#eth4(this.#ip4Packet({ ...this.#l4v4(), payload: r.bytes(1500 + r.below(9000)) })); // a giant
  }

  // --- mutation ----------------------------------------------------------------------------------

  #mutate(src) {
    const r = this.r;
    let f = Uint8Array.from(src);
    for (let n = 1 + r.below(4); n > 0; n--) {
      const k = r.below(8);
      if (f.length === 0) f = r.bytes(r.below(64));
      if (k === 0) f[r.below(f.length)] ^= 1 << r.below(8);
      else if (k === 1) f[r.below(f.length)] = r.pick([0, 0xff, 0x7f, 0x80, 1]);
      else if (k === 2 && f.length > 2) put16(f, r.below(f.length - 1), r.pick(INTERESTING16));
      else if (k === 3) f = f.subarray(0, r.below(f.length + 1));
      else if (k === 4) f = cat(f, r.bytes(r.below(64)));
      else if (k === 5 && this.corpus.length) {
        const other = r.pick(this.corpus);
        f = cat(f.subarray(0, r.below(f.length + 1)), other.subarray(r.below(other.length + 1)));
      } else if (k === 6 && f.length > 40) f[14 + r.below(26)] = r.u32() & 0xff; // in the IP header
      else f[r.below(f.length)] = r.u32() & 0xff;
    }
    if (r.chance(0.6)) fixChecksums(f);
    return f;
  }

  // --- keeping the live connections alive ----------------------------------------------------

  #sanitize(f) {
    if (f.length < 14) return f;
    const type = get16(f, 12);
    if (type === 0x0806 && f.length >= 42 && eq(f, this.p.ip4, 28)) {
      f = Uint8Array.from(f);
      f[31] ^= 0x80; // an ARP sender claiming the peer's address would move it to another MAC
      this.stats.sanitized++;
      return f;
    }
    if (type === 0x86dd && f.length >= 54) {
      const nd = parseNd(f);
      if (nd && nd.type === 137 && this.p.ip6.some((a) => eq(f, a, 22))) {
        // a redirect from the peer, the first hop to itself: RFC 4861 has it obeyed
        f = Uint8Array.from(f);
        f[37] ^= 0x80;
        if (nd.valid) fixChecksums(f);
        this.stats.sanitized++;
        return f;
      }
    }
    const q = parseQuote(f);
    if (q) {
      const l = this.live.get(tupleKey(q.dst, q.src, q.dport, q.sport));
      if (l && l.una !== undefined && l.nxt !== undefined && inWindow(q.seq, l.una, l.nxt) && this.hardIcmp(q)) {
        f = Uint8Array.from(f);
        put32(f, q.seqOff, (l.nxt + 0x40000000 + this.r.below(0x20000000)) >>> 0);
        if (q.valid) fixChecksums(f);
        this.stats.sanitized++;
      }
      return f;
    }
    const seg = parseTcp(f);
    if (seg && this.live.has(tupleKey(seg.src, seg.dst, seg.sport, seg.dport))) {
      const spared = this.#spare(seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.flags);
      f = Uint8Array.from(f);
      put32(f, seg.off + 4, spared.seq);
      f[seg.off + 13] = spared.flags;
      // a checksum that was valid stays valid; a first fragment's cannot be fixed here, so
      // the reassembled segment fails its checksum
      if (seg.valid && !seg.fragment) fixChecksums(f);
      this.stats.sanitized++;
    }
    return f;
  }

  /**
   * On a live connection only a segment that cannot be accepted may go through: its
   * sequence number far outside the window, and no ACK flag, because lwIP 2.1.3 applies
   * an ACK's window and acknowledgement before it checks the sequence number (so one
   * off-path ACK can zero the window for good, or acknowledge data the peer never got and
   * start an endless ACK exchange). See the issue-7 report. Its options stay: lwIP also
   * applies an MSS option from any segment (an off-path MSS of 391 stalled a live
   * connection for good), but tcp_guard.c now drops an out-of-window segment before
   * lwIP parses them, and lwIP returns before it for a SYN or RST.
   */
  #spare(src, dst, sport, dport, seq, flags) {
    const key = tupleKey(src, dst, sport, dport);
    if (!this.live.has(key)) return { seq, flags };
    // 2^30 to 1.5 * 2^30 ahead: far outside any window, and clear of the point 2^31 away,
    // where lwIP's wrapping comparisons can take a segment as in order
    const expect = this.live.get(key).rcv ?? 0;
    seq = (expect + 0x40000000 + this.r.below(0x20000000)) >>> 0;
    return { seq, flags: flags & ~0x10 };
  }
}

// --- parsing (for sanitizing and for learning from real traffic) -------------------------------

const text4 = (b, o) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
function text6(b, o) {
  const g = [];
  for (let i = 0; i < 8; i++) g.push(get16(b, o + i * 2).toString(16));
  return g.join(':');
}
const addrText = (a) => (a.length === 4 ? text4(a, 0) : text6(a, 0));

/** The later of two sequence numbers (either may be unknown yet). */
const later = (a, b) => (a === undefined || ((b - a) | 0) > 0 ? b : a);
/** seq in [una, nxt], as Linux's between() checks an ICMP error's quoted sequence. */
const inWindow = (seq, una, nxt) => ((seq - una) >>> 0) <= ((nxt - una) >>> 0);

/** "peerIP|victimIP|peerPort|victimPort" */
function tupleKey(src, dst, sport, dport) {
  return `${typeof src === 'string' ? src : addrText(src)}|${typeof dst === 'string' ? dst : addrText(dst)}|${sport}|${dport}`;
}

/** Walks IPv6 extension headers: { next, off, fragment } of the upper layer, or null. */
function walk6(f) {
  let next = f[20];
  let off = 54;
  let fragment = false;
  for (let i = 0; i < 8; i++) {
    if (next === 0 || next === 43 || next === 60) {
      if (off + 2 > f.length) return null;
      const n = f[off];
      off += (f[off + 1] + 1) * 8;
      next = n;
    } else if (next === 44) {
      if (off + 8 > f.length) return null;
      fragment = true;
      const n = f[off];
      if ((get16(f, off + 2) & 0xfff8) !== 0) return { next: n, off: -1, fragment };
      off += 8;
      next = n;
    } else {
      return off <= f.length ? { next, off, fragment } : null;
    }
  }
  return null;
}

/** The TCP segment in a frame: addresses, ports, seq, and whether its checksum is valid. */
export function parseTcp(f) {
  if (f.length < 14) return null;
  const type = get16(f, 12);
  let src;
  let dst;
  let off;
  let fragment = false;
  let end;
  if (type === 0x0800 && f.length >= 34 && f[14] >> 4 === 4 && f[23] === 6) {
    const ihl = (f[14] & 15) * 4;
    const fragField = get16(f, 20);
    if ((fragField & 0x1fff) !== 0) return null;
    fragment = (fragField & 0x2000) !== 0;
    src = f.subarray(26, 30);
    dst = f.subarray(30, 34);
    off = 14 + ihl;
    end = Math.min(f.length, 14 + get16(f, 16));
  } else if (type === 0x86dd && f.length >= 54 && f[14] >> 4 === 6) {
    const w = walk6(f);
    if (!w || w.next !== 6 || w.off < 0) return null;
    fragment = w.fragment;
    src = f.subarray(22, 38);
    dst = f.subarray(38, 54);
    off = w.off;
    end = Math.min(f.length, 54 + get16(f, 18));
  } else {
    return null;
  }
  if (off + 20 > end) return null;
  const hl = (f[off + 12] >> 4) * 4;
  const seg = f.subarray(off, end);
  const valid = fold(sum16(seg, 0, seg.length, pseudo(src, dst, 6, seg.length))) === 0;
  return {
    src: addrText(src), dst: addrText(dst), sport: get16(f, off), dport: get16(f, off + 2),
    seq: get32(f, off + 4), ack: get32(f, off + 8), flags: f[off + 13], len: Math.max(0, seg.length - hl),
    off, fragment, valid,
  };
}

/**
 * An ICMP or ICMPv6 error quoting a TCP header: the quoted addresses, ports and sequence
 * number, where that sits, and whether the message's checksum is valid; or null. The
 * inner version is not checked, as sock_icmp.c does not check it either.
 */
function parseQuote(f) {
  if (f.length < 14) return null;
  const type = get16(f, 12);
  let m;
  let end;
  let v6 = false;
  if (type === 0x0800 && f.length >= 34 && f[14] >> 4 === 4 && f[23] === 1 && (get16(f, 20) & 0x3fff) === 0) {
    m = 14 + (f[14] & 15) * 4;
    end = Math.min(f.length, 14 + get16(f, 16));
  } else if (type === 0x86dd && f.length >= 54 && f[14] >> 4 === 6) {
    const w = walk6(f);
    if (!w || w.next !== 58 || w.off < 0 || w.fragment) return null;
    v6 = true;
    m = w.off;
    end = Math.min(f.length, 54 + get16(f, 18));
  } else {
    return null;
  }
  if (m + 8 > end || !(v6 ? f[m] >= 1 && f[m] <= 4 : [3, 4, 5, 11, 12].includes(f[m]))) return null;
  const inner = m + 8;
  let src;
  let dst;
  let l4;
  if (v6) {
    if (inner + 40 > end || f[inner + 6] !== 6) return null;
    src = f.subarray(inner + 8, inner + 24);
    dst = f.subarray(inner + 24, inner + 40);
    l4 = inner + 40;
  } else {
    const ihl = (f[inner] & 15) * 4;
    if (ihl < 20 || inner + 20 > end || f[inner + 9] !== 6) return null;
    src = f.subarray(inner + 12, inner + 16);
    dst = f.subarray(inner + 16, inner + 20);
    l4 = inner + ihl;
  }
  if (l4 + 8 > end) return null;
  const msg = f.subarray(m, end);
  const acc = v6 ? pseudo(f.subarray(22, 38), f.subarray(38, 54), 58, msg.length) : 0;
  return {
    v6, type: f[m], code: f[m + 1], src: addrText(src), dst: addrText(dst), sport: get16(f, l4), dport: get16(f, l4 + 2),
    seq: get32(f, l4 + 4), seqOff: l4 + 4, valid: fold(sum16(msg, 0, msg.length, acc)) === 0,
  };
}

function parseNd(f) {
  const w = walk6(f);
  if (!w || w.next !== 58 || w.off < 0 || w.off + 4 > f.length) return null;
  const type = f[w.off];
  if (type < 133 || type > 137) return null;
  const end = Math.min(f.length, 54 + get16(f, 18));
  const m = f.subarray(w.off, end);
  const valid = fold(sum16(m, 0, m.length, pseudo(f.subarray(22, 38), f.subarray(38, 54), 58, m.length))) === 0;
  return { type, valid };
}

/** Recomputes the IPv4 header checksum and, for unfragmented packets, the L4 checksum. */
export function fixChecksums(f) {
  if (f.length < 14) return;
  const type = get16(f, 12);
  if (type === 0x0800 && f.length >= 34 && f[14] >> 4 === 4) {
    const ihl = (f[14] & 15) * 4;
    if (ihl < 20 || 14 + ihl > f.length) return;
    f[24] = 0;
    f[25] = 0;
    put16(f, 24, fold(sum16(f, 14, 14 + ihl)));
    if ((get16(f, 20) & 0x3fff) !== 0) return; // a fragment: the L4 sum covers the whole datagram
    const end = Math.min(f.length, 14 + Math.max(ihl, get16(f, 16)));
    const seg = f.subarray(14 + ihl, end);
    const src = f.subarray(26, 30);
    const dst = f.subarray(30, 34);
    const proto = f[23];
    if (proto === 6 && seg.length >= 20) l4checksum(seg, 16, src, dst, 6);
    else if (proto === 17 && seg.length >= 8 && get16(seg, 6) !== 0) l4checksum(seg, 6, src, dst, 17);
    else if (proto === 1 && seg.length >= 4) {
      seg[2] = 0;
      seg[3] = 0;
      put16(seg, 2, fold(sum16(seg, 0, seg.length)));
    }
  } else if (type === 0x86dd && f.length >= 54 && f[14] >> 4 === 6) {
    const w = walk6(f);
    if (!w || w.off < 0 || w.fragment) return;
    const end = Math.min(f.length, 54 + get16(f, 18));
    if (w.off >= end) return;
    const seg = f.subarray(w.off, end);
    const src = f.subarray(22, 38);
    const dst = f.subarray(38, 54);
    if (w.next === 6 && seg.length >= 20) l4checksum(seg, 16, src, dst, 6);
    else if (w.next === 17 && seg.length >= 8) l4checksum(seg, 6, src, dst, 17);
    else if (w.next === 58 && seg.length >= 4) l4checksum(seg, 2, src, dst, 58);
  }
}

/**
 * Wraps a link so a test can watch its real traffic and inject frames as if they came
 * off the wire (into the stack's receive path).
 */
export function tapLink(link, onFrame) {
  let receiver;
  return {
    get mtu() {
      return link.mtu;
    },
    attach(r) {
      receiver = r;
      link.attach({
        onFrames(frames) {
          for (const f of frames) onFrame(f, false);
          r.onFrames(frames);
        },
        onDrain: () => r.onDrain(),
        onClose: (e) => r.onClose(e),
      });
    },
    send(f) {
      onFrame(f, true);
      return link.send(f);
    },
    close: () => link.close(),
    inject(frames) {
      receiver.onFrames(frames);
    },
  };
}
