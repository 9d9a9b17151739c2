// Single forged packets against a stack with a live connection, one case per process:
// `node test/hostile-cases.mjs <case>` prints one JSON line, { ok, detail, ... }.
// test/hostile.test.mjs runs each case in a child with a time limit, because the
// failure this suite exists for (a forged Packet Too Big sending lwIP into an endless
// loop) blocks the event loop for good, and only another process can notice that.
//
// Every case ends with the same three checks: the live connection still carries data
// both ways, the victim's memory pools are back at their baseline once it is closed,
// and a 20 ms timer set after the attack fires on time (the process is responsive).
import { performance } from 'node:perf_hooks';
import {
  Stack, createPair, SocketError, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_LINGER,
} from '../dist/index.js';
import {
  tapLink, parseTcp, fixChecksums, ether, ipv4Packet, ipv6Packet, ip4, ip6, parseMac, cat,
} from './frames.mjs';

const ATTACKER_MAC = parseMac('02:00:00:00:0b:ad');
const ATTACKER_LL = ip6('fe80::bad');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const be16 = (v) => Uint8Array.from([(v >>> 8) & 0xff, v & 0xff]);
const be32 = (v) => Uint8Array.from([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
const addr6 = (text) => ip6(text.split('%')[0]);
/** The solicited-node or all-nodes multicast MAC for an IPv6 multicast address. */
const mcastMac = (a) => Uint8Array.from([0x33, 0x33, a[12], a[13], a[14], a[15]]);

async function waitFor(pred, ms, label) {
  const end = performance.now() + ms;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${label}`);
    await sleep(2);
  }
}

/**
 * A victim stack A and its peer B on a pair, with a TCP connection from A to B
 * (family 4 or 6) and an echo on B. The pair end on A's side is tapped: the case sees
 * every frame and can inject frames into A as if they came off the wire, and may
 * rewrite B's frames on their way in (edit(frame) returns true when it changed one).
 */
async function setup({ family = 6, edit } = {}) {
  // LWIP_WASM runs the victim on another build (say, the one before a fix).
  const a = await Stack.create({ seed: 11, timeWait: 50, wasm: process.env.LWIP_WASM });
  const b = await Stack.create({ seed: 12, timeWait: 50 });
  const [la, lb] = createPair();
  const seen = { fromA: [], lastA: null, fragmentsFromA: 0 };
  const tap = tapLink(la, (f, fromVictim) => {
    if (fromVictim) {
      seen.fromA.push(f);
      if (seen.fromA.length > 4096) seen.fromA.splice(0, 2048);
      const t = parseTcp(f);
      if (t && t.sport !== 0) seen.lastA = t;
      if (f[12] === 0x86 && f[13] === 0xdd && f[20] === 44) seen.fragmentsFromA++;
    } else if (edit && edit(f)) {
      fixChecksums(f);
    }
  });
  const ia = a.addInterface(tap, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  const ib = b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  const baseline = a.memory().poolsInUse;
  const basePools = { ...a.memory().pools };
  const domain = family === 6 ? AF_INET6 : AF_INET;
  const listener = b.socket(domain, SOCK_STREAM);
  listener.bind(family === 6 ? '::' : '0.0.0.0', 80);
  listener.listen(8);
  const client = a.socket(domain, SOCK_STREAM);
  const [server] = await Promise.all([listener.accept(), client.connect(family === 6 ? 'fd00::2' : '10.0.0.2', 80)]);
  let echoed = 0;
  const echo = (async () => {
    for (;;) {
      const d = await server.recv(65536);
      if (d.length === 0) break;
      echoed += d.length;
      await server.send(d);
    }
    server.close();
  })();
  echo.catch(() => {});

  const k = {
    a, b, ia, ib, tap, seen, client, family, listener,
    aMac: parseMac(ia.mac), bMac: parseMac(ib.mac),
    aIp: family === 6 ? ip6('fd00::1') : ip4('10.0.0.1'),
    bIp: family === 6 ? ip6('fd00::2') : ip4('10.0.0.2'),
    aLL: addr6(ia.ipv6[0]), bLL: addr6(ib.ipv6[0]),
    /** Sends n bytes from A and reads them back from B's echo, within ms. */
    async moves(n = 64 * 1024, ms = 5000) {
      const want = new Uint8Array(n).map((_, i) => (i * 7) & 0xff);
      let got = 0;
      let okBytes = true;
      const send = client.send(want);
      const read = (async () => {
        while (got < n) {
          const d = await client.recv(65536);
          if (d.length === 0) break;
          for (let i = 0; i < d.length; i++) if (d[i] !== want[got + i]) okBytes = false;
          got += d.length;
        }
      })();
      const timer = sleep(ms).then(() => 'timeout');
      const r = await Promise.race([Promise.all([send, read]), timer]);
      return r !== 'timeout' && got === n && okBytes;
    },
    /** A's TCP segment sequence after its latest send: SND.NXT as the wire shows it. */
    sndNxt() {
      const t = seen.lastA;
      return (t.seq + t.len + ((t.flags & 0x03) ? 1 : 0)) >>> 0;
    },
    inject(frames) {
      tap.inject(frames.map((f) => {
        fixChecksums(f);
        return f;
      }));
    },
    /** The three closing checks; returns { ok, detail }. */
    async finish(extra = {}) {
      const t0 = performance.now();
      await sleep(20);
      const lateMs = performance.now() - t0 - 20;
      const moved = await k.moves();
      client.close();
      let leak = '';
      try {
        await waitFor(() => a.memory().poolsInUse === baseline && a.memory().sockets === 0, 5000, 'memory baseline');
      } catch {
        const m = a.memory();
        const held = Object.entries(m.pools).filter(([p, n]) => n !== (basePools[p] ?? 0)).map(([p, n]) => `${p} ${basePools[p] ?? 0} -> ${n}`);
        leak = `pools in use ${m.poolsInUse}, baseline ${baseline}, sockets ${m.sockets} (${held.join(', ')})`;
      }
      const problems = [];
      if (!moved) problems.push('the live connection no longer carries data');
      if (leak) problems.push(leak);
      if (lateMs > 500) problems.push(`a 20 ms timer fired ${lateMs.toFixed(0)} ms late`);
      for (const [what, good] of Object.entries(extra)) if (!good) problems.push(what);
      a.dispose();
      b.dispose();
      return { ok: problems.length === 0, detail: problems.join('; ') || 'ok', lateMs: Math.round(lateMs) };
    },
  };
  return k;
}

// --- frame builders ------------------------------------------------------------------------

/** An IPv6 frame from src to dst (addresses as bytes) with an ICMPv6 message (checksum filled in on inject). */
function icmp6Frame(k, { src, dst, dstMac = k.aMac, srcMac = ATTACKER_MAC, type, code = 0, body, hop = 255 }) {
  const msg = cat(Uint8Array.from([type, code, 0, 0]), body);
  return ether(dstMac, srcMac, 0x86dd, ipv6Packet({ src, dst, next: 58, hop, payload: msg }));
}

/** The start of a TCP packet A sent on the live connection, as a router would quote it. */
function quoteTcp6(k, { seq, sport = k.client.getsockname().port, dport = 80, dst = k.bIp }) {
  const tcp = cat(be16(sport), be16(dport), be32(seq), be32(0), Uint8Array.from([0x50, 0x10]), be16(65535), new Uint8Array(4));
  const ip = new Uint8Array(40);
  ip[0] = 0x60;
  ip.set(be16(1500 - 40), 4);
  ip[6] = 6;
  ip[7] = 64;
  ip.set(k.aIp, 8);
  ip.set(dst, 24);
  return cat(ip, tcp, new Uint8Array(1200 - 40 - 20));
}

function quoteTcp4(k, { seq, sport = k.client.getsockname().port, dport = 80, dst = k.bIp }) {
  const tcp = cat(be16(sport), be16(dport), be32(seq));
  return ipv4Packet({ src: k.aIp, dst, proto: 6, payload: tcp, totalLength: 1500 });
}

function ptb6(k, mtu, quote) {
  return icmp6Frame(k, { src: ip6('fd00::fe'), dst: k.aIp, dstMac: k.aMac, type: 2, body: cat(be32(mtu), quote), hop: 64 });
}

function unreach4(k, code, rest, quote) {
  const msg = cat(Uint8Array.from([3, code, 0, 0]), rest, quote);
  return ether(k.aMac, ATTACKER_MAC, 0x0800, ipv4Packet({ src: ip4('10.0.0.254'), dst: k.aIp, proto: 1, payload: msg }));
}

function lladdrOption(type, mac) {
  return cat(Uint8Array.from([type, 1]), mac);
}

function na(k, { target, mac, flags, dst = ip6('ff02::1'), hop = 255 }) {
  const body = cat(Uint8Array.from([flags, 0, 0, 0]), target, lladdrOption(2, mac));
  return icmp6Frame(k, { src: ATTACKER_LL, dst, dstMac: dst[0] === 0xff ? mcastMac(dst) : k.aMac, type: 136, body, hop });
}

function ra(k, { src = ATTACKER_LL, hop = 255, code = 0, lifetime = 1800, mac = ATTACKER_MAC }) {
  const body = cat(Uint8Array.from([64, 0]), be16(lifetime), be32(0), be32(0), lladdrOption(1, mac));
  return icmp6Frame(k, { src, dst: ip6('ff02::1'), dstMac: mcastMac(ip6('ff02::1')), srcMac: mac, type: 134, code, body, hop });
}

function redirect(k, { src = ATTACKER_LL, target, destination, mac = ATTACKER_MAC }) {
  const body = cat(new Uint8Array(4), target, destination, lladdrOption(2, mac));
  return icmp6Frame(k, { src, dst: k.aLL, type: 137, body });
}

const BROADCAST = new Uint8Array(6).fill(0xff);

function arpFrame({ op, sha, spa, tha, tpa, dst, src = ATTACKER_MAC }) {
  return ether(dst, src, 0x0806, cat(be16(1), be16(0x0800), Uint8Array.from([6, 4]), be16(op), sha, spa, tha, tpa));
}

/** How many of A's frames since mark went to mac. */
const framesTo = (k, mark, mac) => k.seen.fromA.slice(mark).filter((f) => f.subarray(0, 6).every((x, i) => x === mac[i])).length;

// --- the cases ------------------------------------------------------------------------------

const cases = {
  /** Packet Too Big with every MTU from 0 to 1280, each quoting the live connection. */
  async 'ptb6-every-mtu'() {
    const k = await setup({ family: 6 });
    let stalled = -1;
    for (let mtu = 0; mtu <= 1280; mtu++) {
      k.inject([ptb6(k, mtu, quoteTcp6(k, { seq: k.sndNxt() }))]);
      if (mtu % 64 === 0 || (mtu >= 40 && mtu <= 72)) {
        if (!(await k.moves(4096, 3000))) {
          stalled = mtu;
          break;
        }
      }
    }
    // Fragments A cut after the PTBs (all but each datagram's last) fill at least the
    // IPv6 minimum MTU of 1280 bytes.
    const small = k.seen.fromA.filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 44 &&
      (f[57] & 1) === 1 && f.length - 14 < 1280).length;
    return k.finish({
      [`the connection stalled after a PTB with MTU ${stalled}`]: stalled < 0,
      [`A cut ${small} fragments smaller than 1280 bytes`]: small === 0,
    });
  },

  /** IPv4 "fragmentation needed" with every next-hop MTU from 0 to 1280. lwIP 2.1.3 learns
   * no IPv4 path MTU (it sends without DF), so these must change nothing. */
  async 'frag-needed4-every-mtu'() {
    const k = await setup({ family: 4 });
    let stalled = -1;
    for (let mtu = 0; mtu <= 1280; mtu++) {
      k.inject([unreach4(k, 4, cat(be16(0), be16(mtu)), quoteTcp4(k, { seq: k.sndNxt() }))]);
      if (mtu % 64 === 0 && !(await k.moves(4096, 3000))) {
        stalled = mtu;
        break;
      }
    }
    return k.finish({ [`the connection stalled after frag-needed with MTU ${stalled}`]: stalled < 0 });
  },

  /** PTBs that quote no live connection: another port, a sequence number outside
   * SND.UNA..SND.NXT, a truncated quote. None may change the path MTU (A would then
   * fragment its segments to B); each is counted as an ICMPv6 drop. */
  async 'ptb6-forged-quote'() {
    const k = await setup({ family: 6 });
    const before = k.a.stats().icmp6.drop;
    const nxt = k.sndNxt();
    k.inject([
      ptb6(k, 1280, quoteTcp6(k, { seq: nxt, sport: 4444 })),
      ptb6(k, 1280, quoteTcp6(k, { seq: (nxt + 0x10000000) >>> 0 })),
      ptb6(k, 1280, quoteTcp6(k, { seq: (nxt - 0x10000000) >>> 0 })),
      ptb6(k, 1280, quoteTcp6(k, { seq: nxt }).subarray(0, 44)),
    ]);
    const dropped = k.a.stats().icmp6.drop - before;
    const frags0 = k.seen.fragmentsFromA;
    const moved = await k.moves(256 * 1024);
    const fragmented = k.seen.fragmentsFromA - frags0;
    // The genuine quote is still taken (clamped): A now fragments its 1500-byte packets.
    k.inject([ptb6(k, 1280, quoteTcp6(k, { seq: k.sndNxt() }))]);
    const frags1 = k.seen.fragmentsFromA;
    await k.moves(256 * 1024);
    const genuine = k.seen.fragmentsFromA - frags1;
    return k.finish({
      [`data moved after the forged PTBs`]: moved,
      [`4 forged PTBs counted as icmp6 drops (got ${dropped})`]: dropped === 4,
      [`A fragmented ${fragmented} packets after forged PTBs`]: fragmented === 0,
      [`a genuine PTB (MTU 1280) is still honoured (fragments: ${genuine})`]: genuine > 0,
    });
  },

  /** Forged PTBs behind extension headers (a destination option, an atomic fragment
   * header), which lwIP's raw input would not hand to the quote check: dropped, so A
   * still sends whole 1500-byte packets to B. */
  async 'ptb6-behind-extension-headers'() {
    const k = await setup({ family: 6 });
    const before = k.a.stats().icmp6.drop;
    const ptb = ptb6(k, 1280, quoteTcp6(k, { seq: k.sndNxt(), sport: 4444 }));
    fixChecksums(ptb); // the ICMPv6 checksum does not cover extension headers: reuse it
    const withExt = (ext) => {
      const ip = ptb.subarray(14);
      const icmp = ip.subarray(40);
      const f = ether(k.aMac, ATTACKER_MAC, 0x86dd, ipv6Packet({ src: ip.subarray(8, 24), dst: ip.subarray(24, 40), next: ext[0], hop: 64, payload: cat(ext.subarray(1), icmp) }));
      return f;
    };
    k.inject([
      withExt(Uint8Array.from([60, 58, 0, 1, 4, 0, 0, 0, 0])), // destination options, then ICMPv6
      withExt(Uint8Array.from([44, 58, 0, 0, 0, 0, 0, 0, 7])), // an atomic fragment header
      withExt(Uint8Array.from([60, 58, 31, ...new Uint8Array(254)])), // a 256-byte header
    ]);
    const dropped = k.a.stats().icmp6.drop - before;
    const frags0 = k.seen.fragmentsFromA;
    const moved = await k.moves(256 * 1024);
    return k.finish({
      [`data moved`]: moved,
      [`3 PTBs behind extension headers dropped (got ${dropped})`]: dropped === 3,
      [`A fragmented ${k.seen.fragmentsFromA - frags0} packets`]: k.seen.fragmentsFromA === frags0,
    });
  },

  /** A port unreachable quoting a connect in progress with the wrong sequence number is
   * dropped; the same error with the SYN's own sequence number fails the connect. */
  async 'unreach-forged-quote'() {
    const k = await setup({ family: 4 });
    k.ia.addNeighbor('10.0.0.9', '02:00:00:00:00:09');
    const results = {};
    for (const trial of ['forged', 'genuine']) {
      const s = k.a.socket(AF_INET, SOCK_STREAM);
      const mark = k.seen.fromA.length;
      const p = s.connect('10.0.0.9', 7, { timeout: 1500 }).then(() => 'connected', (e) => (e instanceof SocketError ? e.code : String(e)));
      await waitFor(() => k.seen.fromA.slice(mark).some((f) => parseTcp(f)?.flags === 0x02), 2000, 'SYN');
      const syn = k.seen.fromA.slice(mark).map(parseTcp).find((t) => t?.flags === 0x02);
      const seq = trial === 'forged' ? (syn.seq + 5000) >>> 0 : syn.seq;
      k.inject([unreach4(k, 3, new Uint8Array(4), quoteTcp4(k, { seq, sport: syn.sport, dport: 7, dst: ip4('10.0.0.9') }))]);
      results[trial] = await p;
      s.close();
    }
    return k.finish({
      [`a forged unreachable must not end the connect (got ${results.forged})`]: results.forged === 'ETIMEDOUT',
      [`a genuine unreachable ends it with ECONNREFUSED (got ${results.genuine})`]: results.genuine === 'ECONNREFUSED',
    });
  },

  /** A peer whose SYN-ACK offers a 2-byte window and no window scaling: lwIP would cut
   * writes into 1-byte segments, and a 64 KiB write needed more segments than the queue
   * holds, so it never fitted while POLLOUT said it would (the sender spun). */
  async 'window-tiny'() {
    const k = await setup({
      family: 4,
      edit(f) {
        const t = parseTcp(f);
        if (!t || (t.flags & 0x12) !== 0x12) return false;
        f[t.off + 14] = 0;
        f[t.off + 15] = 2;
        for (let o = t.off + 20; o < t.off + ((f[t.off + 12] >> 4) * 4) - 2; o++) {
          if (f[o] === 3 && f[o + 1] === 3) f.fill(1, o, o + 3); // window scale -> NOPs
        }
        return true;
      },
    });
    return k.finish();
  },

  /** Peer MSS options of 0, 1 and 47 (B's SYN-ACK rewritten on its way to A). */
  async 'mss-tiny'() {
    const out = [];
    for (const mss of [0, 1, 47]) {
      const k = await setup({
        family: 4,
        edit(f) {
          const t = parseTcp(f);
          if (!t || (t.flags & 0x12) !== 0x12) return false;
          for (let o = t.off + 20; o < t.off + ((f[t.off + 12] >> 4) * 4) - 3; o++) {
            if (f[o] === 2 && f[o + 1] === 4) {
              f[o + 2] = mss >> 8;
              f[o + 3] = mss & 0xff;
              return true;
            }
          }
          return false;
        },
      });
      const info = k.a.ss({ tcp: true, info: true }).find((r) => r.fd === k.client.fd)?.info;
      const r = await k.finish({
        [`MSS ${mss}: A's send MSS is ${info?.mss}, want ${mss === 0 ? 536 : 48}`]: info?.mss === (mss === 0 ? 536 : 48),
      });
      out.push(r);
    }
    const bad = out.filter((r) => !r.ok);
    return { ok: bad.length === 0, detail: bad.map((r) => r.detail).join(' | ') || 'ok' };
  },

  /** A redirect from a node that is not the destination's first hop (for an on-link
   * destination, the first hop is the destination itself). */
  async 'redirect-not-first-hop'() {
    const k = await setup({ family: 6 });
    const before = k.a.stats().nd6.drop;
    k.inject([
      redirect(k, { target: ATTACKER_LL, destination: k.bIp }),
      redirect(k, { src: k.bLL, target: ATTACKER_LL, destination: k.bIp }),
      redirect(k, { target: ip6('fd00::66'), destination: k.bIp }),
    ]);
    const mark = k.seen.fromA.length;
    const moved = await k.moves();
    const toAttacker = framesTo(k, mark, ATTACKER_MAC);
    return k.finish({
      [`data moved after the redirects`]: moved,
      [`A sent ${toAttacker} frames to the attacker's MAC`]: toAttacker === 0,
      [`the redirects were counted as ND drops`]: k.a.stats().nd6.drop - before >= 3,
    });
  },

  /** A redirect from the real first-hop router is still taken. A learns router R from an
   * RA, connects off-link through it, and R redirects that destination to router R2. */
  async 'redirect-from-router'() {
    const k = await setup({ family: 6 });
    const rMac = parseMac('02:00:00:00:00:a1');
    const r2Mac = parseMac('02:00:00:00:00:a2');
    const rLL = ip6('fe80::a1');
    k.inject([ra(k, { src: rLL, mac: rMac })]);
    const s = k.a.socket(AF_INET6, SOCK_STREAM);
    const mark = k.seen.fromA.length;
    const p = s.connect('2001:db8::5', 80, { timeout: 8000 }).catch(() => {});
    // R's MAC is learnt from the RA's source link-layer option; the SYN goes to it.
    await waitFor(() => framesTo(k, mark, rMac) > 0, 3000, 'a frame to the router');
    const mark2 = k.seen.fromA.length;
    k.inject([redirect(k, { src: rLL, target: ip6('fe80::a2'), destination: ip6('2001:db8::5'), mac: r2Mac })]);
    // The SYN's retransmission (lwIP: about 1.5 s later) now goes to R2.
    await waitFor(() => framesTo(k, mark2, r2Mac) > 0, 6000, 'a frame to the new first hop').catch(() => {});
    const toR2 = framesTo(k, mark2, r2Mac);
    s.close();
    await p;
    return k.finish({ [`A sent ${toR2} frames to the router it was redirected to`]: toR2 > 0 });
  },

  /** Unsolicited (multicast) and solicited-looking (unicast) NAs naming B's address with
   * the attacker's MAC and the Override flag, and one with hop limit 64: A keeps B's MAC
   * and, while no TCP progress confirms it, verifies it with a unicast probe that B
   * answers. */
  async 'na-override'() {
    const k = await setup({ family: 6 });
    const before = k.a.stats().nd6.drop;
    const mark = k.seen.fromA.length;
    k.inject([
      na(k, { target: k.bIp, mac: ATTACKER_MAC, flags: 0x20 }),
      na(k, { target: k.bIp, mac: ATTACKER_MAC, flags: 0x60, dst: k.aIp }),
      na(k, { target: k.bIp, mac: ATTACKER_MAC, flags: 0x20, hop: 64 }),
    ]);
    await sleep(1500); // lwIP's ND timer probes once a second
    const moved = await k.moves();
    const toAttacker = framesTo(k, mark, ATTACKER_MAC);
    const probes = k.seen.fromA.slice(mark).filter((f) =>
      f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === 135 && f.subarray(0, 6).every((x, i) => x === k.bMac[i])).length;
    const moved2 = await k.moves();
    return k.finish({
      [`data moved after the NAs`]: moved,
      [`data still moved after that`]: moved2,
      [`A sent ${toAttacker} frames to the attacker's MAC`]: toAttacker === 0,
      [`A probed B's held MAC with a unicast NS (${probes} probes)`]: probes > 0,
      [`the NAs were counted as ND drops`]: k.a.stats().nd6.drop - before >= 3,
    });
  },

  /** A router whose MAC really changes: its NAs with the new MAC are held back while A
   * probes the old one, and taken once every probe has gone unanswered (lwIP never frees
   * a router's entry, so without that it would stay on the dead MAC for good). */
  async 'na-router-moves'() {
    const k = await setup({ family: 6 });
    const oldMac = parseMac('02:00:00:00:00:a1');
    const newMac = parseMac('02:00:00:00:00:a3');
    const rLL = ip6('fe80::a1');
    k.inject([ra(k, { src: rLL, mac: oldMac })]);
    const s = k.a.socket(AF_INET6, SOCK_STREAM);
    const p = s.connect('2001:db8::5', 80, { timeout: 9000 }).catch(() => {});
    await waitFor(() => framesTo(k, 0, oldMac) > 0, 3000, 'a frame to the router');
    const move = () => k.inject([na(k, { target: rLL, mac: newMac, flags: 0xa0, dst: k.aIp }).map((b, i) => (i >= 6 && i < 12 ? newMac[i - 6] : b))]);
    move();
    const mark = k.seen.fromA.length;
    await sleep(400);
    const early = framesTo(k, mark, newMac);
    await sleep(4000); // three unanswered probes, a second apart
    move();
    const mark2 = k.seen.fromA.length;
    await waitFor(() => framesTo(k, mark2, newMac) > 0, 4000, 'a frame to the router at its new MAC').catch(() => {});
    const late = framesTo(k, mark2, newMac);
    s.close();
    await p;
    return k.finish({
      [`A sent ${early} frames to the new MAC before verifying the old one`]: early === 0,
      [`A sent ${late} frames to the new MAC once the old one stayed silent`]: late > 0,
    });
  },

  /** An unsolicited NA for an address A has no entry for creates none: A's first packet
   * to that address still goes out as a multicast solicitation, not to the attacker. */
  async 'na-no-entry'() {
    const k = await setup({ family: 6 });
    k.inject([na(k, { target: ip6('fd00::77'), mac: ATTACKER_MAC, flags: 0x20 })]);
    const mark = k.seen.fromA.length;
    const s = k.a.socket(AF_INET6, SOCK_STREAM);
    const p = s.connect('fd00::77', 80, { timeout: 1000 }).catch(() => {});
    await sleep(300);
    const toAttacker = framesTo(k, mark, ATTACKER_MAC);
    const solicited = k.seen.fromA.slice(mark).some((f) => f[0] === 0x33 && f[1] === 0x33 && f[54] === 135);
    s.close();
    await p;
    return k.finish({
      [`A sent ${toAttacker} frames to the attacker's MAC`]: toAttacker === 0,
      [`A solicited fd00::77 by multicast`]: solicited,
    });
  },

  /** A client that connects and resets, again and again, to a listener nobody accepts
   * from: the accept queue stays within the backlog (lwIP stops counting a reset
   * connection, but it stays queued for accept()), and a later client still gets in. */
  async 'accept-queue-resets'() {
    const k = await setup({ family: 4 });
    const l = k.a.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 81);
    l.listen(2);
    for (let i = 0; i < 40; i++) {
      const c = k.b.socket(AF_INET, SOCK_STREAM);
      await c.connect('10.0.0.1', 81, { timeout: 300 }).catch(() => {});
      c.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
      c.close();
    }
    await sleep(20);
    const queued = k.a.ss({ tcp: true, all: true }).find((r) => r.state === 'LISTEN' && r.local.port === 81)?.recvQ;
    const drained = [];
    for (;;) {
      try {
        drained.push(l.acceptSync());
      } catch {
        break;
      }
    }
    for (const c of drained) c.close();
    const late = k.b.socket(AF_INET, SOCK_STREAM);
    const accepted = l.accept();
    const joined = await late.connect('10.0.0.1', 81, { timeout: 2000 }).then(() => true, () => false);
    if (joined) (await accepted).close();
    late.close();
    l.close();
    return k.finish({
      [`the accept queue holds ${queued} connections, backlog 2`]: queued <= 2,
      [`a client after the resets got in`]: joined,
    });
  },

  /** 20000 empty UDP datagrams to a socket nobody reads: they are charged against its
   * receive buffer like any other (Linux charges each skb's truesize), so the queue
   * stops growing and memory is bounded; the excess is dropped. */
  async 'udp-empty-flood'() {
    const k = await setup({ family: 4 });
    const u = k.a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 5353);
    const heap0 = k.a.memory().heapBytes;
    const frames = [];
    for (let i = 0; i < 20000; i++) {
      const d = cat(be16(4000), be16(5353), be16(8), be16(0)); // length 8, no checksum
      frames.push(ether(k.aMac, k.bMac, 0x0800, ipv4Packet({ src: k.bIp, dst: k.aIp, proto: 17, payload: d })));
      if (frames.length === 500) k.inject(frames.splice(0));
    }
    await sleep(20);
    const grew = k.a.memory().heapBytes - heap0;
    let queued = 0;
    for (;;) {
      try {
        u.recvfromSync();
        queued++;
      } catch {
        break;
      }
    }
    u.close();
    const limit = 212992 / 128;
    return k.finish({
      [`${queued} empty datagrams were queued, at most ${limit} fit in the 212992-byte buffer`]: queued > 0 && queued <= limit,
      [`the heap grew ${grew} bytes`]: grew < 4 * 1024 * 1024,
    });
  },

  /** Gratuitous ARP and a forged ARP reply naming B's address with the attacker's MAC:
   * A keeps B's MAC, re-requests B, and B's answer keeps it. */
  async 'arp-move'() {
    const k = await setup({ family: 4 });
    const before = k.a.stats().etharp.drop;
    const mark = k.seen.fromA.length;
    k.inject([
      arpFrame({ op: 1, sha: ATTACKER_MAC, spa: k.bIp, tha: new Uint8Array(6), tpa: k.bIp, dst: BROADCAST }),
      arpFrame({ op: 2, sha: ATTACKER_MAC, spa: k.bIp, tha: k.aMac, tpa: k.aIp, dst: k.aMac }),
    ]);
    const moved = await k.moves();
    const toAttacker = framesTo(k, mark, ATTACKER_MAC);
    const rerequest = k.seen.fromA.slice(mark).some((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 &&
      f.subarray(38, 42).every((x, i) => x === k.bIp[i]));
    await sleep(6000); // past ETHARP_VERIFY_AGE: B answered, so nothing expired
    const moved2 = await k.moves();
    return k.finish({
      [`data moved after the forged ARP`]: moved,
      [`data still moved 6 s later`]: moved2,
      [`A sent ${toAttacker} frames to the attacker's MAC`]: toAttacker === 0,
      [`A re-requested B`]: rerequest,
      [`the forged ARP was counted as an etharp drop`]: k.a.stats().etharp.drop - before >= 2,
    });
  },

  /** ARP requests for A from 200 made-up senders, over 2.5 s (so B's entry is the
   * oldest), do not push B out of A's table: A sends to B without asking for it again. */
  async 'arp-eviction'() {
    const k = await setup({ family: 4 });
    const mark = k.seen.fromA.length;
    for (let i = 0; i < 200; i++) {
      const mac = Uint8Array.from([2, 0, 0, 1, 0, i]);
      k.inject([arpFrame({ op: 1, sha: mac, spa: Uint8Array.from([10, 0, 0, 20 + i]), tha: new Uint8Array(6), tpa: k.aIp, dst: BROADCAST, src: mac })]);
      if (i % 20 === 19) await sleep(250);
    }
    const moved = await k.moves();
    const asked = k.seen.fromA.slice(mark).some((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 &&
      f.subarray(38, 42).every((x, i) => x === k.bIp[i]));
    return k.finish({
      [`data moved after the requests`]: moved,
      [`A had to ask for B again`]: !asked,
    });
  },

  /** RAs that RFC 4861 6.1.2 says to drop: a global source, a hop limit below 255, a
   * non-zero code. A still has no router, so an off-link connect has no route. */
  async 'ra-invalid'() {
    const k = await setup({ family: 6 });
    k.inject([
      ra(k, { src: ip6('2001:db8::bad') }),
      ra(k, { hop: 64 }),
      ra(k, { code: 1 }),
    ]);
    await sleep(10);
    const s = k.a.socket(AF_INET6, SOCK_STREAM);
    let code = 'connected';
    try {
      s.connectSync('2001:db8::5', 80);
    } catch (e) {
      code = e.code;
    }
    s.close();
    return k.finish({ [`an off-link connect gave ${code}, want ENETUNREACH (no router taken)`]: code === 'ENETUNREACH' });
  },
};

const name = process.argv[2];
if (name === '--list') {
  console.log(JSON.stringify(Object.keys(cases)));
} else if (cases[name]) {
  const r = await cases[name]().catch((e) => ({ ok: false, detail: `threw: ${e?.stack ?? e}` }));
  console.log(JSON.stringify(r));
  process.exit(0);
} else {
  console.error(`usage: node test/hostile-cases.mjs <case> | --list\ncases: ${Object.keys(cases).join(', ')}`);
  process.exit(2);
}
