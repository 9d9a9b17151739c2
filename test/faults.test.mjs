// Proof that TCP survives a bad network: a 64 MiB transfer arrives intact (SHA-256)
// through loss, reordering, duplication, bit corruption, delay with jitter, and a 2 s
// partition that heals; a partition longer than the retransmission limit ends in
// ETIMEDOUT with nothing leaked; keepalive finds a dead peer. Everything runs on the
// test clock, so lwIP's retransmission timeouts (which dominate recovery under loss)
// cost no real time; each case takes a second or two.
import {
  VirtualClock, createPair, impair, SOL_SOCKET, SO_KEEPALIVE, SHUT_WR, POLLERR,
} from '../dist/index.js';
import {
  it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof, rejectsCode, throwsCode,
} from './helpers.mjs';

const MIB = 1024 * 1024;
const SIZE = 64 * MIB;
const CHUNK = 256 * 1024;
const data = randomBytes(SIZE, 77);
const want = sha256(data);

/** Two stacks on one virtual clock; a's end of the pair is impaired both ways. */
async function lossyNet(conditions, seed = 1) {
  const clock = new VirtualClock();
  const a = await createStack({ clock, seed: 1 });
  const b = await createStack({ clock, seed: 2 });
  const [la, lb] = createPair();
  const link = impair(la, { clock, seed, ...conditions });
  a.addInterface(link, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  return { clock, a, b, link, dispose: () => { a.dispose(); b.dispose(); } };
}

/** Sends bytes from a to b in 256 KiB writes, then FIN; resolves the receiver's digest. */
async function send(a, b, bytes) {
  const [c, s, l] = await connectPair(a, b);
  const reader = drainToEof(s);
  for (let off = 0; off < bytes.length; off += CHUNK) await c.send(bytes.subarray(off, off + CHUNK));
  c.shutdown(SHUT_WR);
  const got = await reader;
  return { got, c, s, l };
}

/** Closes everything and checks both stacks give back every pool element and socket. */
async function closeAndCheck(net, base, what) {
  await net.clock.advanceAsync(61_000); // past TIME_WAIT's 60 s
  for (const k of ['a', 'b']) {
    const m = net[k].memory();
    assert.is(m.sockets, 0, `${what}: stack ${k} sockets`);
    assert.is(m.poolsInUse, base[k].poolsInUse, `${what}: stack ${k} pools ${JSON.stringify(m.pools)}`);
  }
}

async function intactThrough(name, conditions, check) {
  const net = await lossyNet(conditions);
  try {
    const base = { a: net.a.memory(), b: net.b.memory() };
    const t0 = performance.now();
    const { got, c, s, l } = await net.clock.runUntil(send(net.a, net.b, data), { timeLimit: 24 * 3600_000 });
    const real = performance.now() - t0;
    assert.is(got.bytes, SIZE, `${name}: byte count`);
    assert.is(got.hash, want, `${name}: SHA-256 of what arrived`);
    check(net.link.counters, net);
    console.log(`    ${name}: 64 MiB intact in ${(real / 1000).toFixed(1)} s real, ` +
      `${(net.clock.now() / 1000).toFixed(1)} s virtual; out ${JSON.stringify(net.link.counters.out)}`);
    for (const x of [c, s, l]) x.close();
    await closeAndCheck(net, base, name);
  } finally {
    net.dispose();
  }
}

it('64 MiB arrives intact through 5% loss', async () => {
  await intactThrough('5% loss', { loss: 0.05 }, (k) => {
    assert.ok(k.out.lost > 1000 && k.in.lost > 500, `frames were lost: ${k.out.lost} out, ${k.in.lost} in`);
  });
}, 60_000);

it('64 MiB arrives intact through 10% reordering', async () => {
  await intactThrough('10% reordering', { reorder: 0.1 }, (k) => {
    assert.ok(k.out.reordered > 3000, `frames were reordered: ${k.out.reordered}`);
  });
}, 60_000);

it('64 MiB arrives intact through 2% duplication', async () => {
  await intactThrough('2% duplication', { duplicate: 0.02 }, (k) => {
    assert.ok(k.out.duplicated > 500, `frames were duplicated: ${k.out.duplicated}`);
  });
}, 60_000);

it('64 MiB arrives intact through 0.1% bit corruption: checksums catch every flipped bit', async () => {
  await intactThrough('0.1% corruption', { corrupt: 0.001 }, (k, net) => {
    assert.ok(k.out.corrupted > 20, `frames were corrupted: ${k.out.corrupted}`);
    const st = net.b.stats();
    const caught = st.ip.chkerr + st.tcp.chkerr + st.ip.drop + st.tcp.drop + st.link.drop + st.etharp.drop;
    assert.ok(st.tcp.chkerr + st.ip.chkerr > 0, `the receiver counted checksum errors: ${JSON.stringify(st.tcp)}`);
    assert.ok(caught > 0);
  });
}, 60_000);

it('64 MiB arrives intact through 100 ms delay with 20 ms jitter', async () => {
  await intactThrough('100 ms ± 20 ms delay', { delay: 100, jitter: 20 }, (k, net) => {
    // at most 1 MiB in flight (the most the window and the send buffer grow to) over a
    // 200 ms round trip: about 5.2 MB/s of virtual time, so 64 MiB takes 12.8 s or more
    assert.ok(net.clock.now() > 12_800, `the delay held the transfer back (${net.clock.now()} virtual ms)`);
  });
}, 60_000);

it('64 MiB arrives intact across a 2 s partition mid-transfer that then heals', async () => {
  const net = await lossyNet({});
  try {
    const base = { a: net.a.memory(), b: net.b.memory() };
    let cutAt = 0;
    let healedAt = 0;
    const { got, c, s, l } = await net.clock.runUntil((async () => {
      const [c, s, l] = await connectPair(net.a, net.b);
      let received = 0;
      const h = (await import('node:crypto')).createHash('sha256');
      const reader = (async () => {
        for (;;) {
          const d = await s.recv(CHUNK);
          if (d.length === 0) break;
          h.update(d);
          received += d.length;
          if (!cutAt && received >= SIZE / 2) {
            cutAt = net.clock.now();
            net.link.set({ partition: true });
            net.clock.setTimer(() => {
              healedAt = net.clock.now();
              net.link.set({ partition: false });
            }, 2000);
          }
        }
      })();
      for (let off = 0; off < SIZE; off += CHUNK) await c.send(data.subarray(off, off + CHUNK));
      c.shutdown(SHUT_WR);
      await reader;
      return { got: { bytes: received, hash: h.digest('hex') }, c, s, l };
    })(), { timeLimit: 3600_000 });
    assert.is(got.bytes, SIZE);
    assert.is(got.hash, want);
    assert.is(healedAt - cutAt, 2000, 'the cut lasted 2 s of virtual time');
    assert.ok(net.link.counters.out.partitionDrops > 0, 'frames were dropped by the cut');
    for (const x of [c, s, l]) x.close();
    await closeAndCheck(net, base, 'partition that heals');
  } finally {
    net.dispose();
  }
}, 60_000);

it('a partition longer than the retransmission limit ends in ETIMEDOUT, with nothing leaked', async () => {
  const net = await lossyNet({});
  try {
    const base = { a: net.a.memory(), b: net.b.memory() };
    const [c, s, l] = await net.clock.runUntil(connectPair(net.a, net.b));
    await net.clock.runUntil(c.send(randomBytes(100_000, 3)));
    net.link.set({ partition: true });
    const cut = net.clock.now();
    const pending = c.send(randomBytes(500_000, 4)); // more than the window: some waits
    await rejectsCode(net.clock.runUntil(pending, { timeLimit: 3600_000 }), 'ETIMEDOUT', 'send across the cut');
    const gaveUp = net.clock.now() - cut;
    console.log(`    retransmissions gave up ${(gaveUp / 1000).toFixed(0)} virtual s after the cut`);
    // TCP_MAXRTX = 12 retransmissions with exponential backoff: minutes, not hours
    assert.ok(gaveUp > 60_000 && gaveUp < 3600_000, `gave up after ${(gaveUp / 1000).toFixed(0)} virtual s`);
    // as on Linux, the error is reported once; then the connection reads as ended
    assert.is(c.recvSync().length, 0, 'recv after the error: end of stream');
    throwsCode(() => c.sendSync('x'), 'EPIPE', 'send after the error');
    c.close();
    // the other side never heard anything; it gives up once it next sends
    net.link.set({ partition: false });
    s.close();
    l.close();
    await net.clock.advanceAsync(600_000);
    for (const k of ['a', 'b']) {
      const m = net[k].memory();
      assert.is(m.sockets, 0, `stack ${k} sockets`);
      assert.is(m.poolsInUse, base[k].poolsInUse, `stack ${k} pools ${JSON.stringify(m.pools)}`);
    }
  } finally {
    net.dispose();
  }
}, 30_000);

it('keepalive (default 7200 s idle, 9 probes 75 s apart) detects a dead peer', async () => {
  const net = await lossyNet({});
  try {
    const [c, s, l] = await net.clock.runUntil(connectPair(net.a, net.b));
    c.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    net.link.set({ partition: true }); // the peer is gone without a word
    const start = net.clock.now();
    const err = await rejectsCode(net.clock.runUntil(c.recv(), { timeLimit: 24 * 3600_000 }), 'ETIMEDOUT', 'recv on a dead connection');
    const after = net.clock.now() - start;
    // Linux: idle 7200 s, then 9 unanswered probes 75 s apart: 7875 s
    assert.ok(after >= 7200_000 + 8 * 75_000 && after <= 7200_000 + 10 * 75_000, `keepalive gave up after ${after / 1000} s`);
    assert.ok(err.syscall === 'recv');
    // the other end, without keepalive and with nothing to send, notices nothing
    assert.is(s.events & POLLERR, 0, 'no error on the side without keepalive');
    c.close();
    s.close();
    l.close();
  } finally {
    net.dispose();
  }
}, 30_000);

test.run();
