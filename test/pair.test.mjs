// The in-memory pair link: batching, back-pressure and drain, close; and stacks fed
// malformed frames through a raw end, which must drop them and keep working.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Stack, createPair, PairLink, AF_INET, SOCK_STREAM, SOCK_DGRAM } from '../dist/index.js';
import { within, tick, sleep, tcpEcho, patternBytes, equalBytes, readAll, throwsSocketError, SHUT_WR } from './util-udp.mjs';

/** A LinkReceiver that records everything it is told. */
function recorder() {
  const r = {
    batches: [],
    drains: 0,
    closes: 0,
    get frames() {
      return r.batches.flat();
    },
    onFrames(frames) {
      r.batches.push([...frames]);
    },
    onDrain() {
      r.drains++;
    },
    onClose() {
      r.closes++;
    },
  };
  return r;
}

const bytes = (...b) => Uint8Array.from(b);

test('frames sent in one turn arrive at the other end together, in order, one macrotask later', async () => {
  const [x, y] = createPair();
  assert.instance(x, PairLink);
  assert.is(x.mtu, 1500);
  const rx = recorder();
  const ry = recorder();
  x.attach(rx);
  y.attach(ry);
  const f1 = bytes(1);
  const f2 = bytes(2, 2);
  const f3 = bytes(3, 3, 3);
  assert.ok(x.send(f1));
  assert.ok(x.send(f2));
  assert.ok(x.send(f3));
  assert.is(ry.batches.length, 0, 'delivery must not be synchronous');
  await Promise.resolve();
  assert.is(ry.batches.length, 0, 'delivery must not be a microtask');
  await within(new Promise((r) => setImmediate(r)), 1000, 'macrotask');
  await tick();
  assert.is(ry.batches.length, 1, 'one batch');
  assert.equal(ry.batches[0].map((f) => [...f]), [[1], [2, 2], [3, 3, 3]]);
  assert.is(rx.batches.length, 0, 'nothing echoes back to the sender');
  assert.is(x.counters.framesSent, 3);
  assert.is(x.counters.bytesSent, 6);
  assert.is(y.counters.framesReceived, 3);
  assert.is(y.counters.bytesReceived, 6);

  // A later turn makes a new batch; the other direction works the same way.
  x.send(bytes(4));
  y.send(bytes(9, 9));
  await tick();
  await tick();
  assert.is(ry.batches.length, 2);
  assert.equal([...ry.batches[1][0]], [4]);
  assert.is(rx.batches.length, 1);
  assert.equal([...rx.batches[0][0]], [9, 9]);
  assert.is(rx.drains + ry.drains, 0, 'no drain without back-pressure');
});

test('send returns false above highWaterMark, still delivers, and onDrain follows once', async () => {
  const [x, y] = createPair({ highWaterMark: 1000 });
  const rx = recorder();
  const ry = recorder();
  x.attach(rx);
  y.attach(ry);
  assert.ok(x.send(new Uint8Array(600)), '600 bytes queued: under the mark');
  assert.ok(x.send(new Uint8Array(400)), '1000 bytes queued: at the mark, not above');
  assert.is(x.send(new Uint8Array(10)), false, '1010 bytes queued: above the mark');
  assert.is(x.send(new Uint8Array(10)), false, 'still above the mark');
  assert.is(rx.drains, 0, 'no drain before the queue empties');
  await within(new Promise((r) => setImmediate(r)), 1000, 'macrotask');
  await tick();
  assert.is(ry.frames.length, 4, 'frames sent while above the mark are still delivered');
  assert.equal(ry.frames.map((f) => f.length), [600, 400, 10, 10]);
  assert.is(rx.drains, 1, 'onDrain once the queue was delivered');
  assert.is(ry.drains, 0, 'the receiving end is not drained');
  assert.ok(x.send(new Uint8Array(10)), 'room again after the drain');
  await tick();
  await tick();
  assert.is(rx.drains, 1, 'no second drain without new back-pressure');
});

test('close reaches both ends once; later sends are refused and counted', async () => {
  const [x, y] = createPair();
  const rx = recorder();
  const ry = recorder();
  x.attach(rx);
  y.attach(ry);
  x.send(bytes(1, 2, 3));
  await tick();
  await tick();
  assert.is(ry.frames.length, 1);
  x.close();
  assert.ok(x.closed);
  assert.ok(y.closed);
  assert.is(rx.closes, 1);
  assert.is(ry.closes, 1);
  x.close();
  y.close();
  assert.is(rx.closes + ry.closes, 2, 'closing again is a no-op');
  assert.is(y.send(bytes(4)), false);
  assert.is(x.send(bytes(5)), false);
  await tick();
  await tick();
  assert.is(rx.frames.length, 0, 'nothing travels on a closed pair');
  assert.is(ry.frames.length, 1);
  assert.ok(x.counters.dropped >= 1 && y.counters.dropped >= 1);
});

test('createPair and PairLink reject bad input', () => {
  for (const mtu of [100, 575, 65518, 1.5, '1500']) {
    assert.throws(() => createPair({ mtu }), (e) => e instanceof RangeError, `mtu ${mtu}`);
  }
  for (const highWaterMark of [0, -1, NaN]) {
    assert.throws(() => createPair({ highWaterMark }), (e) => e instanceof RangeError, `hwm ${highWaterMark}`);
  }
  for (const offload of [1, 'true', 0]) {
    assert.throws(() => createPair({ offload }), (e) => e instanceof TypeError && /offload/.test(e.message), `offload ${offload}`);
  }
  const [x] = createPair({ mtu: 9000 });
  assert.is(x.mtu, 9000);
  assert.throws(() => x.send('not a frame'), (e) => e instanceof TypeError);
  assert.throws(() => x.send([1, 2, 3]), (e) => e instanceof TypeError);
  x.attach(recorder());
  assert.throws(() => x.attach(recorder()), (e) => e instanceof Error, 'a second attach is refused');
});

for (const [offload, least] of [[false, 100], [true, 8]]) test(`two stacks over a pair with a tiny highWaterMark move 512 KiB intact (back-pressure + drain), offload ${offload}`, async () => {
  // With offload, a frame may be a segment of up to 64 KiB: one per send above the mark.
  const [la, lb] = createPair({ highWaterMark: 4096, offload });
  const a = await Stack.create({ seed: 1 });
  const b = await Stack.create({ seed: 2 });
  try {
    const ia = a.addInterface(la, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    const l = b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 9);
    l.listen();
    const c = a.socket(AF_INET, SOCK_STREAM);
    const acc = l.accept({ timeout: 5000 });
    await c.connect('10.0.0.2', 9, { timeout: 5000 });
    const s = await acc;
    const payload = patternBytes(512 * 1024, 5);
    const reading = readAll(s, { ms: 20000 });
    await within(c.send(payload), 20000, 'send 512 KiB');
    c.shutdown(SHUT_WR);
    const got = await within(reading, 21000, 'read 512 KiB');
    assert.is(got.length, payload.length);
    assert.ok(equalBytes(got, payload), 'data corrupted under back-pressure');
    assert.is(ia.counters.txDropped, 0, 'frames were dropped instead of held');
    assert.ok(la.counters.framesSent > least, `only ${la.counters.framesSent} frames`);
    assert.is(la.segmentOffload, offload);
  } finally {
    a.dispose();
    b.dispose();
  }
});

// --- malformed input through a raw end --------------------------------------------------

const RAW_MAC = [0x02, 0, 0, 0, 0, 0x99];
const RAW_IP = [10, 1, 0, 99];
const OWN_IP = [10, 1, 0, 1];

function sum16(b, init = 0) {
  let s = init;
  for (let k = 0; k + 1 < b.length; k += 2) s += (b[k] << 8) | b[k + 1];
  if (b.length & 1) s += b[b.length - 1] << 8;
  while (s >>> 16) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function eth(dst, type, payload) {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(RAW_MAC, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** An IPv4 packet with a correct header checksum (so it reaches the protocol above). */
function ip4(proto, payload, { totalLength, flagsFrag = 0, ihl = 5 } = {}) {
  const hl = ihl * 4;
  const p = new Uint8Array(Math.max(20, hl) + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x40 | ihl;
  dv.setUint16(2, totalLength ?? hl + payload.length);
  dv.setUint16(4, 0x1234);
  dv.setUint16(6, flagsFrag);
  p[8] = 64;
  p[9] = proto;
  p.set(RAW_IP, 12);
  p.set(OWN_IP, 16);
  dv.setUint16(10, ~sum16(p.subarray(0, Math.max(20, hl))) & 0xffff);
  p.set(payload, Math.max(20, hl));
  return p;
}

/** A UDP header + data with the given length field and no checksum (allowed over IPv4). */
function udp(srcPort, dstPort, data, lengthField = 8 + data.length) {
  const u = new Uint8Array(8 + data.length);
  const dv = new DataView(u.buffer);
  dv.setUint16(0, srcPort);
  dv.setUint16(2, dstPort);
  dv.setUint16(4, lengthField);
  u.set(data, 8);
  return u;
}

function arpRequest(targetIp) {
  const a = new Uint8Array(28);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  dv.setUint16(6, 1);
  a.set(RAW_MAC, 8);
  a.set(RAW_IP, 14);
  a.set(targetIp, 24);
  return eth([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x0806, a);
}

/**
 * Stack a has en0 to stack b (10.0.0.0/24) and en1 (10.1.0.1/24) to a raw end we drive.
 */
async function rawSetup() {
  const errors = [];
  const [la, lb] = createPair();
  const [lr, raw] = createPair();
  const a = await Stack.create({ seed: 31, onError: (e) => errors.push(e) });
  const b = await Stack.create({ seed: 32 });
  const ia = a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const ir = a.addInterface(lr, { ip: '10.1.0.1/24', ipv6: 'fd01::1/64' });
  const seen = recorder();
  raw.attach(seen);
  const ifMac = ir.mac.split(':').map((h) => parseInt(h, 16));
  return { a, b, ia, ir, raw, seen, ifMac, errors, dispose: () => { a.dispose(); b.dispose(); } };
}

/** Asks for 10.1.0.1's MAC on the raw end; returns the ARP reply frame, or undefined. */
async function arpReply(env) {
  env.raw.send(arpRequest(OWN_IP));
  for (let i = 0; i < 50; i++) {
    await sleep(2);
    const reply = env.seen.frames.find((f) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 &&
      f[20] === 0 && f[21] === 2 && f[28] === 10 && f[29] === 1 && f[30] === 0 && f[31] === 1);
    if (reply) return reply;
  }
  return undefined;
}

test('a 5-byte frame, a garbage ethertype and an oversized frame are dropped and counted', async () => {
  const env = await rawSetup();
  try {
    const { a, b, raw, ir, ifMac } = env;
    const drops0 = a.memory().inputDrops;
    const rx0 = ir.counters.rxFrames;
    raw.send(Uint8Array.from([0x13, 0x37, 0xde, 0xad, 0x42]));
    await sleep(10);
    assert.is(a.memory().inputDrops, drops0 + 1, 'a 5-byte frame is counted as an input drop');

    const garbage = eth(ifMac, 0x1234, patternBytes(46, 9));
    raw.send(garbage);
    await sleep(10);
    const drops1 = a.memory().inputDrops;
    assert.ok(drops1 === drops0 + 1 || drops1 === drops0 + 2, `unexpected inputDrops ${drops1}`);

    raw.send(eth(ifMac, 0x0800, new Uint8Array(3000))); // bigger than the interface MTU
    raw.send(new Uint8Array(0));
    await sleep(10);
    assert.is(a.memory().inputDrops, drops1 + 2, 'an oversized and an empty frame are counted');
    assert.is(ir.counters.rxFrames, rx0 + 4, 'every frame reached the interface');
    assert.is(a.failure, undefined);
    assert.equal(env.errors, []);

    const reply = await arpReply(env);
    assert.ok(reply, 'the interface no longer answers ARP after malformed frames');
    assert.equal([...reply.subarray(22, 28)], ifMac, 'ARP reply carries the interface MAC');
    assert.equal([...reply.subarray(0, 6)], RAW_MAC, 'ARP reply is addressed to the asker');
    assert.is(await tcpEcho(a, b, { text: 'survived' }), 'survived');
  } finally {
    env.dispose();
  }
});

test('hundreds of malformed and random frames never crash the stack; connections still work', async () => {
  const env = await rawSetup();
  try {
    const { a, b, raw, ifMac } = env;
    const u = a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 7);
    const listener = a.socket(AF_INET, SOCK_STREAM);
    listener.bind('0.0.0.0', 80);
    listener.listen(4);
    const drops0 = a.memory().inputDrops;
    let mustDrop = 0;

    // Crafted: headers that lie about lengths, bad versions, bogus fragments, truncation.
    const crafted = [
      eth(ifMac, 0x0800, ip4(17, udp(1, 7, patternBytes(4)), { totalLength: 1000 })), // IP longer than frame
      eth(ifMac, 0x0800, ip4(17, udp(1, 7, patternBytes(4)), { totalLength: 10 })), // IP shorter than its header
      eth(ifMac, 0x0800, ip4(17, patternBytes(8), { ihl: 15 }).subarray(0, 30)), // header cut short
      eth(ifMac, 0x0800, ip4(17, patternBytes(8), { ihl: 3 })), // IHL below 5
      eth(ifMac, 0x0800, Uint8Array.of(0x65, ...patternBytes(40, 2))), // version 6 in an IPv4 frame
      eth(ifMac, 0x0800, ip4(17, patternBytes(200, 3), { flagsFrag: 0x2000 | 0x1fff })), // fragment past 64 KiB
      eth(ifMac, 0x0800, ip4(17, patternBytes(16, 4), { flagsFrag: 0x2000 | 0x0010 })), // lone middle fragment
      eth(ifMac, 0x0800, ip4(6, patternBytes(4, 5))), // TCP shorter than its header
      eth(ifMac, 0x0800, ip4(6, Uint8Array.of(0, 1, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0xf0, 0x02, 0xff, 0xff, 0, 0, 0, 0))), // SYN, data offset 60
      eth(ifMac, 0x0800, ip4(1, Uint8Array.of(8, 0))), // truncated ICMP echo
      eth(ifMac, 0x0800, ip4(17, Uint8Array.of(0, 1, 0))), // UDP shorter than its header
      eth(ifMac, 0x86dd, Uint8Array.of(0x60, 0, 0, 0, 0xff, 0xff, 17, 64, ...new Uint8Array(32))), // IPv6 payload length lies
      eth(ifMac, 0x86dd, Uint8Array.of(0x60, 0, 0, 0, 0, 16, 0, 64, ...new Uint8Array(32), 17, 200, ...new Uint8Array(14))), // hop-by-hop with a huge length
      eth(ifMac, 0x86dd, Uint8Array.of(0x60, 0, 0, 0, 0, 8, 44, 64, ...new Uint8Array(32), 17, 0, 0xff, 0xf9, 0, 0, 0, 1)), // fragment header, offset at the end
      eth(ifMac, 0x86dd, Uint8Array.of(0x40, 1, 2)), // IPv6 cut after 3 bytes
      eth(ifMac, 0x0806, Uint8Array.of(0, 1, 8, 0, 0xff, 0xff, 0, 1)), // ARP with absurd address lengths
      eth(ifMac, 0x8100, Uint8Array.of(0, 5)), // VLAN tag with nothing after it
      eth(ifMac, 0x8100, Uint8Array.of(0, 5, 0x08, 0x00, 0x45)), // VLAN tag, truncated IPv4
    ];
    for (const f of crafted) raw.send(f);
    await sleep(10);

    // Random: a seeded mix of lengths and ethertypes, some aimed at us, some broadcast.
    const rnd = patternBytes(4096, 77);
    let r = 0;
    const next = () => rnd[r++ % rnd.length];
    const types = [0x0800, 0x86dd, 0x0806, 0x8100, 0x88cc, 0xffff];
    for (let i = 0; i < 400; i++) {
      const kind = next() % 8;
      let len;
      if (kind === 0) len = next() % 14; // too short for ethernet
      else if (kind === 1) len = 1519 + next() * 4; // beyond MTU + 18
      else len = 14 + ((next() << 3) | (next() & 7)) % 1500;
      if (len < 14 || len > 1518) mustDrop++;
      const f = patternBytes(len, 1000 + i);
      if (len >= 14) {
        f.set(next() & 1 ? ifMac : [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
        const t = types[next() % types.length];
        f[12] = t >> 8;
        f[13] = t & 0xff;
        if (t === 0x0800 && len >= 34) f[14] = 0x45;
        if (t === 0x86dd && len >= 54) f[14] = 0x60;
      }
      raw.send(f);
      if (i % 50 === 49) await tick();
    }
    await sleep(50);

    assert.is(a.failure, undefined, `the stack failed: ${a.failure}`);
    assert.equal(env.errors, []);
    assert.ok(a.memory().inputDrops - drops0 >= mustDrop, `inputDrops grew by ${a.memory().inputDrops - drops0}, at least ${mustDrop} expected`);
    throwsSocketError(() => u.recvfromSync(), 'EAGAIN'); // no garbage became a datagram
    throwsSocketError(() => listener.acceptSync(), 'EAGAIN'); // nor a connection

    // A well-formed datagram on the same interface still arrives.
    raw.send(eth(ifMac, 0x0800, ip4(17, udp(4321, 7, Uint8Array.of(7, 7, 7)))));
    const d = await u.recvfrom(100, { timeout: 3000 });
    assert.equal([...d.data], [7, 7, 7]);
    assert.is(d.address, '10.1.0.99');
    assert.is(d.port, 4321);
    assert.ok(await arpReply(env), 'no ARP reply after the fuzzing');
    assert.is(await tcpEcho(a, b, { text: 'after fuzz' }), 'after fuzz');
    assert.is(await tcpEcho(b, a, { connectAddr: '10.0.0.1', port: 7008, text: 'reverse' }), 'reverse');
  } finally {
    env.dispose();
  }
});

test('a UDP datagram whose length field exceeds the packet is dropped (Linux: short packet)', async () => {
  const env = await rawSetup();
  try {
    const { a, raw, ifMac } = env;
    const u = a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 7);
    raw.send(eth(ifMac, 0x0800, ip4(17, udp(1234, 7, Uint8Array.of(1, 2, 3, 4), 500))));
    raw.send(eth(ifMac, 0x0800, ip4(17, udp(1234, 7, Uint8Array.of(5, 6, 7, 8)))));
    const d = await u.recvfrom(100, { timeout: 3000 });
    assert.equal([...d.data], [5, 6, 7, 8], 'the datagram with a lying length field was delivered');
    await sleep(10);
    throwsSocketError(() => u.recvfromSync(), 'EAGAIN');
  } finally {
    env.dispose();
  }
});

test('a UDP datagram is cut to its length field when the packet carries more (Linux trims)', async () => {
  const env = await rawSetup();
  try {
    const { a, raw, ifMac } = env;
    const u = a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 7);
    // Length field 10: 2 bytes of payload, followed by 4 bytes that are not part of it.
    raw.send(eth(ifMac, 0x0800, ip4(17, udp(1234, 7, Uint8Array.of(1, 2, 3, 4, 5, 6), 10))));
    const d = await u.recvfrom(100, { timeout: 3000 });
    assert.equal([...d.data], [1, 2]);
  } finally {
    env.dispose();
  }
});

test('closing the link under a stack does not break the other stack or the process', async () => {
  const [la, lb] = createPair();
  const a = await Stack.create({ seed: 41 });
  const b = await Stack.create({ seed: 42 });
  try {
    a.addInterface(la, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    assert.is(await tcpEcho(a, b, { text: 'before close' }), 'before close');
    la.close();
    assert.ok(lb.closed);
    // Traffic over the dead cable fails in bounded time instead of hanging forever.
    const c = a.socket(AF_INET, SOCK_STREAM);
    let err;
    try {
      await within(c.connect('10.0.0.2', 7007, { timeout: 500 }), 3000, 'connect over a closed link');
    } catch (e) {
      err = e;
    }
    assert.ok(err, 'connect over a closed link succeeded');
    assert.is(a.failure, undefined);
    assert.is(b.failure, undefined);
    // Loopback in each stack is unaffected.
    const u = b.socket(AF_INET, SOCK_DGRAM);
    u.bind('127.0.0.1', 99);
    u.sendtoSync('lo', '127.0.0.1', 99);
    assert.equal([...(await u.recvfrom(10, { timeout: 2000 })).data], [108, 111]);
  } finally {
    a.dispose();
    b.dispose();
  }
});

// --- frames copied into the receiving stack as they are sent ------------------------------

test('frames in flight when the cable is cut, or the far interface goes, are freed: memory back to where it was', async () => {
  const a = await Stack.create({ seed: 51 });
  const b = await Stack.create({ seed: 52 });
  try {
    for (const cut of ['close', 'remove']) {
      const [la, lb] = createPair();
      a.addInterface(la, { ip: '10.0.0.1/24' });
      const ib = b.addInterface(lb, { ip: '10.0.0.2/24' });
      ib.addNeighbor('10.0.0.1', a.interfaces.at(-1).mac);
      a.interfaces.at(-1).addNeighbor('10.0.0.2', ib.mac);
      const rx = b.socket(AF_INET, SOCK_DGRAM);
      rx.bind('0.0.0.0', 9);
      const tx = a.socket(AF_INET, SOCK_DGRAM);
      // 64 datagrams of 8 KiB (six frames each) leave a in one turn. Once delivered (so
      // b's tables and buffers have grown to what the burst needs), then again with the
      // cable cut before they arrive, their pbufs already allocated in b.
      const burst = () => {
        for (let i = 0; i < 64; i++) tx.sendtoSync(new Uint8Array(8192).fill(i), '10.0.0.2', 9);
      };
      burst();
      await sleep(20);
      let got = 0;
      for (;;) {
        try {
          got += rx.recvSync(65536).length;
        } catch {
          break;
        }
      }
      assert.ok(got >= 8192, `the first burst arrived (${got} bytes)`);
      const before = b.memory();
      burst();
      await Promise.resolve(); // a's flush (a microtask) sends them
      assert.ok(la.counters.framesSent >= 2 * 64 * 6, `${la.counters.framesSent} frames sent`);
      assert.ok(b.memory().heapBytes > before.heapBytes + 64 * 8192, 'the frames are already in b');
      if (cut === 'close') la.close();
      else ib.remove();
      await sleep(20);
      const after = b.memory();
      // (removing the interface also frees the interface itself, and its ARP entries)
      if (cut === 'close') {
        assert.is(after.heapBytes, before.heapBytes, 'close: heap back to where it was');
        assert.is(after.poolsInUse, before.poolsInUse, 'close: pools back to where they were');
      } else {
        assert.ok(after.heapBytes <= before.heapBytes, `remove: heap ${after.heapBytes} back to ${before.heapBytes} or less`);
        assert.ok(after.poolsInUse <= before.poolsInUse, `remove: pools ${after.poolsInUse} back to ${before.poolsInUse} or less`);
      }
      throwsSocketError(() => rx.recvSync(65536), 'EAGAIN');
      rx.close();
      tx.close();
      if (cut === 'close') ib.remove();
      a.interfaces.at(-1).remove();
    }
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('with offload off, two stacks still talk: every checksum is checked and passes', async () => {
  const [la, lb] = createPair({ offload: false });
  const a = await Stack.create({ seed: 61 });
  const b = await Stack.create({ seed: 62 });
  try {
    a.addInterface(la, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    assert.is(await tcpEcho(a, b, { text: 'checked' }), 'checked');
    assert.is(b.stats().tcp.chkerr, 0);
    assert.ok(b.stats().tcp.recv > 0);
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('both ends of one pair on one stack: a broadcast crosses from one interface to the other', async () => {
  const [l1, l2] = createPair();
  const s = await Stack.create({ seed: 53 });
  try {
    s.addInterface(l1, { ip: '10.7.0.1/24' });
    s.addInterface(l2, { ip: '10.8.0.1/24' });
    const rx = s.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 4000);
    const tx = s.socket(AF_INET, SOCK_DGRAM);
    tx.setsockopt(1, 6, 1); // SOL_SOCKET, SO_BROADCAST
    tx.bind('10.7.0.1', 0);
    const big = patternBytes(20_000, 3); // fragments: several frames in one batch
    tx.sendtoSync(big, '255.255.255.255', 4000);
    const { data } = await rx.recvfrom(65536, { timeout: 2000 });
    assert.ok(equalBytes(data, big), 'the datagram arrived whole');
    assert.ok(l2.counters.framesReceived >= 14, `${l2.counters.framesReceived} frames crossed`);
    assert.is(s.failure, undefined);
  } finally {
    s.dispose();
  }
});

test.run();
