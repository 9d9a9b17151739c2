// A seeded generator and mutator of hostile ethernet frames, for fuzzing a stack that
// has live connections: ARP, IPv4 with options and fragments, IPv6 with extension
// headers and fragments, TCP with every flag combination and odd options, UDP, ICMP and
// ICMPv6 (echo, errors, neighbour discovery, MLD), unknown ethertypes, VLAN tags, runts
// and giants, plus mutations of earlier frames and of real traffic.
//
// Frames carry valid checksums unless a mutation breaks them (so they get past the
// checksum checks into the deeper code), and a final pass keeps them from doing what a
// real attacker on the wire could legitimately do to a live connection: a reset or data
// with an in-window sequence number, or ARP/ND answers that move the peer's address to
// another MAC. Everything else is fair game.

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

function cat(...parts) {
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
 * so live connections can be spared, and next() for the next hostile frame.
 */
export class FrameFuzzer {
  constructor({ seed, target, peer, tcpPorts = [], udpPorts = [] }) {
    this.r = new Rng(seed);
    this.t = {
      mac: parseMac(target.mac), ip4: ip4(target.ipv4), ip6: target.ipv6.map(ip6),
    };
    this.p = {
      mac: parseMac(peer.mac), ip4: ip4(peer.ipv4), ip6: peer.ipv6.map(ip6),
    };
    this.tcpPorts = tcpPorts;
    this.udpPorts = udpPorts;
    this.flagCounter = 0;
    this.corpus = [];
    this.queue = [];
    /** Live TCP connections seen on the wire: key -> the victim's next expected sequence number. */
    this.live = new Map();
    this.stats = { generated: 0, mutated: 0, sanitized: 0 };
  }

  // --- what the real traffic tells us --------------------------------------------------------

  /**
   * Declares a live TCP connection to spare (addresses as text, as getsockname gives them).
   * Its sequence numbers are then learned from the real traffic passed to watch().
   */
  addLive({ peer, peerPort, victim, victimPort }) {
    const norm = (a) => addrText(a.includes(':') ? ip6(a) : ip4(a));
    this.live.set(tupleKey(norm(peer), norm(victim), peerPort, victimPort), undefined);
  }

  /** Records a real frame (for the corpus, and to learn live sequence numbers). */
  watch(frame, fromVictim) {
    if (this.corpus.length < 256) this.corpus.push(frame);
    else if (this.r.chance(0.05)) this.corpus[this.r.below(256)] = frame;
    if (this.live.size === 0) return;
    const seg = parseTcp(frame);
    if (!seg || !seg.valid) return;
    const key = fromVictim ? tupleKey(seg.dst, seg.src, seg.dport, seg.sport) : tupleKey(seg.src, seg.dst, seg.sport, seg.dport);
    if (!this.live.has(key)) return;
    const prev = this.live.get(key);
    if (fromVictim) {
      if (seg.flags & 0x10 && (prev === undefined || ((seg.ack - prev) | 0) > 0)) this.live.set(key, seg.ack);
    } else {
      const end = (seg.seq + seg.len + (seg.flags & 0x02 ? 1 : 0) + (seg.flags & 0x01 ? 1 : 0)) >>> 0;
      if (prev === undefined || ((end - prev) | 0) > 0) this.live.set(key, end);
    }
  }

  // --- output --------------------------------------------------------------------------------

  /** The next frame to inject. */
  next() {
    while (this.queue.length === 0) {
      const r = this.r;
      if (this.corpus.length > 0 && r.chance(0.25)) {
        this.queue.push(this.#mutate(r.pick(this.corpus)));
        this.stats.mutated++;
      } else {
        const made = this.#generate();
        for (const f of made) this.queue.push(f);
        this.stats.generated += made.length;
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

  #generate() {
    const r = this.r;
    const x = r.below(100);
    if (x < 8) return [this.#arp()];
    if (x < 28) return [this.#eth4(this.#ip4Packet(this.#l4v4()))];
    if (x < 36) return this.#frag4();
    if (x < 56) return [this.#eth6(this.#ip6Packet())];
    if (x < 63) return this.#frag6();
    if (x < 80) return [this.#nd()];
    if (x < 86) return [this.#icmpError4()];
    if (x < 92) return [this.#icmpError6()];
    return [this.#oddEthernet()];
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
      if (nd && this.#touchesPeer6(f, nd)) {
        f = Uint8Array.from(f);
        // rewrite the peer's address wherever it appears in the ND message, then fix the sum
        for (const a of this.p.ip6) {
          for (let o = 22; o + 16 <= f.length; o++) if (eq(f, a, o)) f[o + 15] ^= 0x80;
        }
        if (nd.valid) fixChecksums(f);
        this.stats.sanitized++;
        return f;
      }
    }
    const seg = parseTcp(f);
    if (seg && this.live.has(tupleKey(seg.src, seg.dst, seg.sport, seg.dport))) {
      const spared = this.#spare(seg.src, seg.dst, seg.sport, seg.dport, seg.seq, seg.flags);
      f = Uint8Array.from(f);
      put32(f, seg.off + 4, spared.seq);
      f[seg.off + 13] = spared.flags;
      const hl = (f[seg.off + 12] >> 4) * 4;
      f.fill(1, seg.off + 20, Math.min(f.length, seg.off + Math.max(20, hl))); // options become NOPs
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
   * start an endless ACK exchange), and no TCP options, because it also applies an MSS
   * option from any segment in any state (an off-path MSS of 391 stalled a live
   * connection for good). See the issue-7 report.
   */
  #spare(src, dst, sport, dport, seq, flags) {
    const key = tupleKey(src, dst, sport, dport);
    if (!this.live.has(key)) return { seq, flags, options: undefined };
    // 2^30 to 1.5 * 2^30 ahead: far outside any window, and clear of the point 2^31 away,
    // where lwIP's wrapping comparisons can take a segment as in order
    const expect = this.live.get(key) ?? 0;
    seq = (expect + 0x40000000 + this.r.below(0x20000000)) >>> 0;
    return { seq, flags: flags & ~0x10, options: new Uint8Array(0) };
  }

  #touchesPeer6(f, nd) {
    for (const a of this.p.ip6) {
      for (let o = 22; o + 16 <= f.length; o++) if (eq(f, a, o)) return true;
    }
    return nd.type === 137;
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
