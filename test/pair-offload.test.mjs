// Segmentation offload on an in-memory pair between two stacks (TSO and GRO in one, as
// a veth has them): TCP segments of several MSS cross whole, with every checksum still
// right in a capture; a stack that forwards cuts them to the MSS before passing them on;
// offload: false and a fault wrapper keep MTU-sized frames. Transfers are checked with
// SHA-256.
import { createPair, capture, impair, AF_INET, AF_INET6, SHUT_WR, SOCK_STREAM } from '../dist/index.js';
import { it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof } from './helpers.mjs';
import { fixChecksums, parseTcp } from './frames.mjs';

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

it('between two stacks, TCP segments of several MSS cross whole both ways, checksums right, data intact (IPv4, IPv6)', async () => {
  const a = await createStack({ seed: 1 });
  const b = await createStack({ seed: 2 });
  try {
    const [la, lb] = createPair();
    const log = frameLog();
    a.addInterface(capture(la, log.sink), { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    assert.is(la.segmentOffload, false, 'nothing on the far end yet');
    b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
    assert.is(la.segmentOffload, true, 'a stack on each end');
    assert.is(lb.segmentOffload, true);
    const A = host(a, '10.0.0.1', 'fd00::1');
    const B = host(b, '10.0.0.2', 'fd00::2');
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
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

it('offload: false: every frame within the MTU', async () => {
  const a = await createStack({ seed: 1 });
  const b = await createStack({ seed: 2 });
  try {
    const [la, lb] = createPair({ offload: false });
    const log = frameLog();
    a.addInterface(capture(la, log.sink), { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
    assert.is(la.segmentOffload, false);
    await transfer(host(a, '10.0.0.1', 'fd00::1'), host(b, '10.0.0.2', 'fd00::2'), 4, 5);
    const data = dataFrames(log.frames());
    assert.ok(data.length > SIZE / 1500, 'one frame per MSS');
    assert.is(Math.max(...data.map((f) => f.length)), 1514);
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

it('a fault wrapper on one end turns segmentation offload off in both directions', async () => {
  const a = await createStack({ seed: 1 });
  const b = await createStack({ seed: 2 });
  try {
    const [la, lb] = createPair();
    const log = frameLog();
    a.addInterface(impair(la, {}), { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    b.addInterface(capture(lb, log.sink), { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
    assert.is(lb.segmentOffload, false, "the far end's receiver is not a stack's");
    const A = host(a, '10.0.0.1', 'fd00::1');
    const B = host(b, '10.0.0.2', 'fd00::2');
    await transfer(A, B, 4, 6);
    await transfer(B, A, 4, 7);
    const data = dataFrames(log.frames());
    assert.ok(data.length > (2 * SIZE) / 1500);
    assert.is(Math.max(...data.map((f) => f.length)), 1514);
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

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

test.run();
