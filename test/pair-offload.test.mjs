// Segmentation offload on an in-memory pair between two stacks (TSO and GRO in one, as
// a veth has them): TCP segments of several MSS cross whole, with every checksum still
// right in a capture, also after waiting for ARP; a stack that forwards cuts them to the
// MSS before passing them on, and checks first those nobody vouched for; offload: false
// and a fault wrapper keep MTU-sized frames. Transfers are checked with SHA-256.
import { createPair, capture, impair, VirtualClock, AF_INET, AF_INET6, SHUT_WR, SOCK_STREAM } from '../dist/index.js';
import { it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof, waitUntil } from './helpers.mjs';
import { ether, fixChecksums, ip4, ipv4Packet, parseMac, parseTcp, tcpSegment } from './frames.mjs';

const SIZE = 4 * 1024 * 1024;

/** A capture sink that keeps every frame (pcap records parsed back). */
function frameLog() {
  const chunks = [];
  return {
    sink: (c) => chunks.push(c.slice()),
    frames() {
      const all = Buffer.concat(chunks);
      const out = [];
      for (let off = 24; off + 16 <= all.length; ) {
        const kept = all.readUInt32LE(off + 8);
        out.push(new Uint8Array(all.subarray(off + 16, off + 16 + kept)));
        off += 16 + kept;
      }
      return out;
    },
  };
}

/** The TCP frames in a capture that carry data. */
function dataFrames(frames) {
  return frames.filter((f) => (parseTcp(f)?.len ?? 0) > 0);
}

/** Whether a frame's IP and TCP checksums are right: recomputing them changes nothing. */
function checksumsRight(f) {
  const copy = f.slice();
  fixChecksums(copy);
  return parseTcp(f).valid && Buffer.compare(Buffer.from(copy), Buffer.from(f)) === 0;
}

/** Sends SIZE seeded bytes from `from` to `to` over TCP; asserts they arrive intact. */
async function transfer(from, to, family, seed) {
  const [c, s, l] = await connectPair(from.stack, to.stack, { family, address: to.addr(family) });
  const data = randomBytes(SIZE, seed);
  const reader = drainToEof(s, 1024 * 1024);
  for (let off = 0; off < SIZE; off += 256 * 1024) await c.send(data.subarray(off, off + 256 * 1024));
  c.shutdown(SHUT_WR);
  const got = await reader;
  assert.is(got.bytes, SIZE);
  assert.is(got.hash, sha256(data), `IPv${family}: the same ${SIZE} bytes`);
  c.close();
  s.close();
  l.close();
}

const host = (stack, v4, v6) => ({ stack, addr: (family) => (family === 6 ? v6 : v4) });
const IF_A = { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' };
const IF_B = { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' };

/** Runs fn(a, b, A, B) with two fresh stacks (A and B: them with their addresses), then disposes both. */
async function withTwoStacks(fn) {
  const a = await createStack({ seed: 1 });
  const b = await createStack({ seed: 2 });
  try {
    await fn(a, b, host(a, '10.0.0.1', 'fd00::1'), host(b, '10.0.0.2', 'fd00::2'));
  } finally {
    a.dispose();
    b.dispose();
  }
}

it('between two stacks, TCP segments of several MSS cross whole both ways, checksums right, data intact (IPv4, IPv6)', () => withTwoStacks(async (a, b, A, B) => {
  const [la, lb] = createPair();
  const log = frameLog();
  a.addInterface(capture(la, log.sink), IF_A);
  assert.is(la.segmentOffload, false, 'nothing on the far end yet');
  b.addInterface(lb, IF_B);
  assert.is(la.segmentOffload, true, 'a stack on each end');
  assert.is(lb.segmentOffload, true);
  for (const family of [4, 6]) {
    await transfer(A, B, family, family);
    await transfer(B, A, family, family + 10);
  }
  const data = dataFrames(log.frames());
  const big = data.filter((f) => f.length > 1514);
  assert.ok(big.length > 0, 'some frames are over the MTU');
  assert.ok(Math.max(...data.map((f) => f.length)) > 32 * 1024, 'up to tens of KiB');
  for (const v of [0x0800, 0x86dd]) {
    assert.ok(big.some((f) => ((f[12] << 8) | f[13]) === v), `large frames for ethertype 0x${v.toString(16)}`);
  }
  // The capture on a's end sees both directions: a's segments and b's.
  const v4From = (f, last) => ((f[12] << 8) | f[13]) === 0x0800 && f[29] === last;
  assert.ok(big.some((f) => v4From(f, 1)), 'a sent segments over the MTU');
  assert.ok(big.some((f) => v4From(f, 2)), 'b sent segments over the MTU');
  const wrong = data.filter((f) => !checksumsRight(f));
  assert.is(wrong.length, 0, 'every checksum in the capture is right');
  assert.ok(lb.counters.bytesReceived / lb.counters.framesReceived > 1500, 'frames average over one MTU');
  for (const s of [a, b]) {
    const st = s.stats();
    assert.is(st.tcp.chkerr + st.ip.chkerr, 0);
  }
}), 60_000);

it('offload: false: every frame within the MTU', () => withTwoStacks(async (a, b, A, B) => {
  const [la, lb] = createPair({ offload: false });
  const log = frameLog();
  a.addInterface(capture(la, log.sink), IF_A);
  b.addInterface(lb, IF_B);
  assert.is(la.segmentOffload, false);
  await transfer(A, B, 4, 5);
  const data = dataFrames(log.frames());
  assert.ok(data.length > SIZE / 1500, 'one frame per MSS');
  assert.is(Math.max(...data.map((f) => f.length)), 1514);
}), 60_000);

it('an interface whose txQueueLimit could not hold one 64 KiB segment sends none over the MTU', () => withTwoStacks(async (a, b, A, B) => {
  const [la, lb] = createPair();
  const log = frameLog();
  a.addInterface(capture(la, log.sink), { ...IF_A, txQueueLimit: 32 * 1024 });
  b.addInterface(lb, IF_B);
  assert.is(la.segmentOffload, true, 'the link could take them');
  await transfer(A, B, 4, 8);
  const sent = dataFrames(log.frames()).filter((f) => parseTcp(f).src === '10.0.0.1');
  assert.ok(sent.length > SIZE / 1500);
  assert.is(Math.max(...sent.map((f) => f.length)), 1514);
}), 60_000);

it('a fault wrapper on one end turns segmentation offload off in both directions', () => withTwoStacks(async (a, b, A, B) => {
  const [la, lb] = createPair();
  const log = frameLog();
  a.addInterface(impair(la, {}), IF_A);
  b.addInterface(capture(lb, log.sink), IF_B);
  assert.is(lb.segmentOffload, false, "the far end's receiver is not a stack's");
  await transfer(A, B, 4, 6);
  await transfer(B, A, 4, 7);
  const data = dataFrames(log.frames());
  assert.ok(data.length > (2 * SIZE) / 1500);
  assert.is(Math.max(...data.map((f) => f.length)), 1514);
}), 60_000);

it('a router cuts segments of several MSS to MTU-sized packets, checksums completed, before passing them on', async () => {
  const a = await createStack({ seed: 1 });
  const r = await createStack({ seed: 2 });
  const b = await createStack({ seed: 3 });
  try {
    const [a1, r1] = createPair();
    const [r2, b2] = createPair();
    const toR = frameLog();
    const atB = frameLog();
    a.addInterface(capture(a1, toR.sink), { ip: '10.0.1.2/24', gateway: '10.0.1.1', ipv6: 'fd00:1::2/64' });
    r.addInterface(r1, { ip: '10.0.1.1/24', ipv6: 'fd00:1::1/64' });
    r.addInterface(r2, { ip: '10.0.2.1/24', ipv6: 'fd00:2::1/64' });
    b.addInterface(capture(b2, atB.sink), { ip: '10.0.2.2/24', gateway: '10.0.2.1', ipv6: 'fd00:2::2/64' });
    a.addRoute({ to: '::/0', via: 'fd00:1::1' });
    b.addRoute({ to: '::/0', via: 'fd00:2::1' });
    r.setForwarding(true);
    const A = host(a, '10.0.1.2', 'fd00:1::2');
    const B = host(b, '10.0.2.2', 'fd00:2::2');
    for (const family of [4, 6]) {
      await transfer(A, B, family, family + 20);
      await transfer(B, A, family, family + 30);
    }
    // Each capture sees its host's own segments (over the MTU) and the router's (cut).
    // parseTcp writes IPv6 addresses uncompressed.
    const from = (frames, srcs) => dataFrames(frames).filter((f) => srcs.includes(parseTcp(f).src));
    const [aV4, aV6, bV4, bV6] = ['10.0.1.2', 'fd00:1:0:0:0:0:0:2', '10.0.2.2', 'fd00:2:0:0:0:0:0:2'];
    const sent = from(toR.frames(), [aV4, aV6]).concat(from(atB.frames(), [bV4, bV6]));
    assert.ok(sent.some((f) => f.length > 1514), 'the hosts send the router segments over the MTU');
    const passed = from(atB.frames(), [aV4, aV6]).concat(from(toR.frames(), [bV4, bV6]));
    assert.ok(passed.length > (4 * SIZE) / 1500, 'the router passes on one frame per MSS');
    assert.is(Math.max(...passed.map((f) => f.length)), 1514, 'nothing over the MTU passed on');
    assert.is(passed.filter((f) => !checksumsRight(f)).length, 0, 'every checksum right');
    for (const s of [a, r, b]) {
      const st = s.stats();
      assert.is(st.tcp.chkerr + st.ip.chkerr, 0);
    }
  } finally {
    a.dispose();
    r.dispose();
    b.dispose();
  }
}, 90_000);

it('segments over the MTU that waited for ARP (the peer forgotten after an idle spell) still cross whole, none dropped', async () => {
  const clock = new VirtualClock();
  const a = await createStack({ seed: 1, clock });
  const b = await createStack({ seed: 2, clock });
  try {
    const [la, lb] = createPair();
    const log = frameLog();
    a.addInterface(capture(la, log.sink, { clock }), { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    const [c, s] = await clock.runUntil(connectPair(a, b));
    const moveIntact = async (seed) => {
      const data = randomBytes(1024 * 1024, seed);
      const reading = drainToEofN(s, data.length);
      await clock.runUntil(c.send(data));
      const got = await clock.runUntil(reading);
      assert.is(got, sha256(data));
    };
    await moveIntact(31);
    await clock.advanceAsync(6 * 60 * 1000); // lwIP forgets an ARP entry after 5 minutes
    const before = log.frames().length;
    await moveIntact(32);
    const arp = log.frames().slice(before).filter((f) => f[12] === 0x08 && f[13] === 0x06);
    assert.ok(arp.length > 0, 'a asked for b again');
    // Before the fix the segments ARP held went out unmarked and b dropped them as over
    // its MTU; TCP then sent them again.
    assert.is(b.stats().link.drop, 0, 'b dropped no frame');
    c.close();
    s.close();
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

it('segMax on a pair end is checked; a router checks a segment nobody vouched for before cutting it: corrupted, dropped; intact, passed on in pieces', async () => {
  const [x, y] = createPair();
  for (const bad of [1.5, -1, 70000, NaN]) {
    assert.throws(() => x.send(new Uint8Array(60), bad), (e) => e instanceof RangeError, `segMax ${bad}`);
  }
  x.close();
  y.close();
  const r = await createStack({ seed: 2 });
  const b = await createStack({ seed: 3 });
  try {
    const [raw, r1] = createPair();
    const [r2, b2] = createPair();
    raw.attach({ onFrames() {}, onDrain() {}, onClose() {} });
    const ir1 = r.addInterface(r1, { ip: '10.0.1.1/24' });
    r.addInterface(r2, { ip: '10.0.2.1/24' });
    const atB = frameLog();
    b.addInterface(capture(b2, atB.sink), { ip: '10.0.2.2/24', gateway: '10.0.2.1' });
    r.setForwarding(true);
    const fixed = { chance: () => true, u32: () => 0 }; // tcpSegment's random source: no urgent pointer
    const segment = (corrupt) => {
      const t = tcpSegment(fixed, {
        src: ip4('10.0.1.9'), dst: ip4('10.0.2.2'), sport: 4000, dport: 5000, seq: 1, ack: 0, flags: 0x18,
        payload: randomBytes(4000, 9), options: new Uint8Array(0),
      });
      if (corrupt) t[t.length - 1] ^= 1;
      const ip = ipv4Packet({ src: ip4('10.0.1.9'), dst: ip4('10.0.2.2'), proto: 6, payload: t });
      return ether(parseMac(ir1.mac), Uint8Array.from([2, 0, 0, 0, 0, 0x99]), 0x0800, ip);
    };
    const fromX = () => dataFrames(atB.frames()).filter((f) => parseTcp(f).src === '10.0.1.9');
    raw.send(segment(true), 1500);
    assert.ok(await waitUntil(() => r.stats().link.chkerr > 0, 2000), 'the router counted a bad checksum');
    raw.send(segment(false), 1500);
    assert.ok(await waitUntil(() => fromX().length >= 3, 2000), 'the intact one arrives, cut');
    const pieces = fromX();
    assert.is(pieces.length, 3, 'only the intact segment, in 3 pieces of at most 1460 bytes');
    assert.is(pieces.reduce((n, f) => n + parseTcp(f).len, 0), 4000);
    assert.ok(pieces.every((f) => f.length <= 1514 && checksumsRight(f)));
  } finally {
    r.dispose();
    b.dispose();
  }
}, 30_000);

/** Reads n bytes; resolves their SHA-256. */
async function drainToEofN(sock, n) {
  const parts = [];
  let got = 0;
  while (got < n) {
    const d = await sock.recv(n - got);
    if (d.length === 0) throw new Error(`end of stream after ${got} of ${n} bytes`);
    parts.push(d);
    got += d.length;
  }
  return sha256(...parts);
}

test.run();
