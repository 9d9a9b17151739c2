// Faults of the simulated network addressed by host pair or by flow: partition and repair
// (one way, a split, a host cut from everyone), hold and release, loss and delay for
// matching frames only, an attachment's and a segment's conditions.
import { createNetwork, Fault } from '../dist/sim.js';
import { AF_INET, SOCK_STREAM, SOCK_DGRAM } from '../dist/index.js';
import { it, test, assert, rejectsCode } from './helpers.mjs';

const text = (b) => new TextDecoder().decode(b);

/** a, b and c on one segment; b and c run a TCP echo on 7. */
async function trio(seed) {
  const net = await createNetwork({ seed, hosts: { a: 'lan', b: 'lan', c: 'lan' } });
  const echo = async (host) => {
    const l = host.stack.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 7);
    l.listen(8);
    for (;;) {
      const s = await l.accept();
      (async () => {
        for (let d = await s.recv(); d.length > 0; d = await s.recv()) await s.send(d);
        s.close();
      })().catch(() => !s.closed && !host.stack.disposed && s.close());
    }
  };
  for (const n of ['b', 'c']) net.host(n).run(echo);
  return net;
}

async function roundTrip(stack, address, msg = 'hi', timeout = 5000) {
  const c = stack.socket(AF_INET, SOCK_STREAM);
  try {
    await c.connect(address, 7, { timeout });
    await c.send(msg);
    return text(await c.recv(65536, { timeout }));
  } finally {
    c.close();
  }
}

/** UDP datagrams from `from` to `to`'s port, and what arrives there; resolves a counter. */
function udpSink(stack, port) {
  const s = stack.socket(AF_INET, SOCK_DGRAM);
  s.bind('0.0.0.0', port);
  const got = [];
  (async () => {
    for (;;) {
      try {
        const d = await s.recvfrom();
        got.push([text(d.data), d.address]);
      } catch {
        return;
      }
    }
  })();
  return { got, close: () => s.close() };
}

it('partition(a, b) cuts a from b only; repair heals; a live connection survives it', async () => {
  const net = await trio(11);
  try {
    await net.run(async () => {
      const a = net.host('a').stack;
      const live = a.socket(AF_INET, SOCK_STREAM);
      await live.connect(net.lookup('c'), 7);
      const cut = net.partition('a', 'b');
      assert.instance(cut, Fault);
      assert.is(cut.kind, 'partition');
      // ARP still works (b's address is on the link), but nothing of IP goes between them
      await rejectsCode(roundTrip(a, net.lookup('b'), 'hi', 3000), 'ETIMEDOUT', 'a to b while cut');
      assert.is(await roundTrip(a, net.lookup('c')), 'hi', 'a to c is not cut');
      assert.ok(cut.counters.dropped > 0);
      // a connection between a and c, then one between a and b made while cut: the
      // partition with c comes and goes while a write is on its way
      const split = net.partition('a', 'c');
      const reply = live.send('during').then(() => live.recv());
      await new Promise((r) => setTimeout(r, 20_000));
      assert.is(net.repair('a', 'c'), 1, 'one partition made with those arguments');
      assert.is(split.active, false);
      assert.is(text(await reply), 'during', 'TCP resent it after the repair');
      live.close();
      assert.is(net.repair(), 1, 'the rest');
      assert.is(await roundTrip(a, net.lookup('b')), 'hi', 'healed');
      assert.equal(net.faults, []);
    });
  } finally {
    net.close();
  }
}, 20_000);

it('one way, a split, and a host cut from everyone (the name service too)', async () => {
  const net = await trio(12);
  try {
    await net.run(async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => net.host(n).stack);
      const atA = udpSink(a, 9000);
      const atB = udpSink(b, 9000);
      const oneWay = net.partition('a', 'b', { oneWay: true });
      const ua = a.socket(AF_INET, SOCK_DGRAM);
      const ub = b.socket(AF_INET, SOCK_DGRAM);
      await new Promise((r) => setTimeout(r, 10));
      ua.sendtoSync('a to b', net.lookup('b'), 9000);
      ub.sendtoSync('b to a', net.lookup('a'), 9000);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(atB.got, [], 'a to b is cut');
      assert.equal(atA.got, [['b to a', net.lookup('b')]], 'b to a is not');
      oneWay.remove();
      // [a, b] | [c]
      net.partition(['a', 'b'], 'c');
      await rejectsCode(roundTrip(a, net.lookup('c'), 'x', 2000), 'ETIMEDOUT');
      assert.is(await roundTrip(a, net.lookup('b')), 'hi');
      assert.is(await roundTrip(c, net.lookup('c')), 'hi', 'c still talks to itself');
      net.repair();
      // c alone, cut from every other address: its name lookups fail too
      net.partition('c');
      const err = await c.resolve('a', { timeout: 2000 }).catch((e) => e);
      assert.is(err.code, 'ETIMEDOUT');
      assert.equal(await b.resolve('a'), { address: net.lookup('a'), family: 4 });
      net.repair('c');
      assert.equal(await c.resolve('a'), { address: net.lookup('a'), family: 4 });
      for (const s of [ua, ub]) s.close();
      atA.close();
      atB.close();
    });
  } finally {
    net.close();
  }
}, 20_000);

it('hold keeps frames until release, which delivers them in order, losing none', async () => {
  const net = await trio(13);
  try {
    await net.run(async () => {
      const [a, b] = ['a', 'b'].map((n) => net.host(n).stack);
      const sink = udpSink(b, 9001);
      const u = a.socket(AF_INET, SOCK_DGRAM);
      u.sendtoSync('warm-up', net.lookup('b'), 9001); // ARP settled before the hold
      await new Promise((r) => setTimeout(r, 10));
      const h = net.hold('a', 'b');
      for (let i = 0; i < 20; i++) u.sendtoSync(`m${i}`, net.lookup('b'), 9001);
      const conn = a.socket(AF_INET, SOCK_STREAM);
      const connecting = conn.connect(net.lookup('b'), 7);
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(sink.got.map(([m]) => m), ['warm-up'], 'nothing while held');
      assert.ok(h.counters.held >= 20, `held ${h.counters.held}`);
      assert.is(net.release('a', 'b'), 1);
      await connecting;
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(sink.got.map(([m]) => m), ['warm-up', ...Array.from({ length: 20 }, (_, i) => `m${i}`)]);
      await conn.send('after');
      assert.is(text(await conn.recv()), 'after');
      conn.close();
      u.close();
      sink.close();
    });
  } finally {
    net.close();
  }
});

it('loss and delay for the frames a flow filter names, and no others', async () => {
  const net = await trio(14);
  try {
    await net.run(async () => {
      const [a, b] = ['a', 'b'].map((n) => net.host(n).stack);
      const lossy = udpSink(b, 5000);
      const clean = udpSink(b, 5001);
      const slow = udpSink(b, 5002);
      const u = a.socket(AF_INET, SOCK_DGRAM);
      u.sendtoSync('arp', net.lookup('b'), 5001);
      await new Promise((r) => setTimeout(r, 10));
      const drop = net.impair({ from: 'a', to: 'b', protocol: 'udp', toPort: 5000 }, { loss: 0.5 });
      const late = net.impair({ from: 'a', toPort: 5002 }, { delay: 250 });
      for (let i = 0; i < 400; i++) {
        u.sendtoSync(`${i}`, net.lookup('b'), 5000);
        u.sendtoSync(`${i}`, net.lookup('b'), 5001);
      }
      const t0 = Date.now();
      u.sendtoSync('late', net.lookup('b'), 5002);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(slow.got, [], 'not yet');
      await new Promise((r) => setTimeout(r, 200));
      assert.is(slow.got.length, 1);
      assert.ok(Date.now() - t0 >= 250);
      assert.is(clean.got.length, 401, 'port 5001: every datagram');
      const lost = 400 - lossy.got.length;
      assert.ok(lost > 150 && lost < 250, `port 5000 lost ${lost} of 400 at 50%`);
      assert.is(drop.counters.matched, 400);
      assert.is(drop.counters.dropped, lost);
      assert.is(late.counters.matched, 1);
      drop.set({ loss: 0 });
      u.sendtoSync('now', net.lookup('b'), 5000);
      await new Promise((r) => setTimeout(r, 10));
      assert.is(lossy.got.at(-1)[0], 'now');
      assert.equal(drop.portCounters.map((p) => [p.host, p.segment, p.counters.frames]), [['a', 'lan', 401]]);
      for (const s of [lossy, clean, slow]) s.close();
      u.close();
    });
  } finally {
    net.close();
  }
});

it("an attachment's conditions (both ways) and a segment's, changed at run time", async () => {
  const net = await trio(15);
  try {
    await net.run(async () => {
      const a = net.host('a').stack;
      const link = net.host('b').link('lan');
      link.set({ delay: 100 });
      const t0 = Date.now();
      assert.is(await roundTrip(a, net.lookup('b')), 'hi');
      const withDelay = Date.now() - t0;
      // ARP, the handshake and the echo: three round trips, each crossing b's link twice
      assert.is(withDelay, 600);
      assert.ok(link.counters.in.frames > 0 && link.counters.out.frames > 0);
      link.set({ partition: true });
      await rejectsCode(roundTrip(a, net.lookup('b'), 'x', 2000), 'ETIMEDOUT');
      link.reset();
      assert.equal(link.conditions.partition, false);
      net.segment('lan').set({ delay: 30 });
      const t1 = Date.now();
      assert.is(await roundTrip(a, net.lookup('c')), 'hi');
      assert.is(Date.now() - t1, 180, 'ARP, the handshake and the echo, 30 ms each way');
      net.segment('lan').set({ delay: 0 });
    });
  } finally {
    net.close();
  }
});

test('filters and faults are checked', async () => {
  const net = await createNetwork({ seed: 16, hosts: { a: 'lan', b: 'lan' } });
  try {
    assert.throws(() => net.impair({ from: 'a', colour: 1 }, {}), /unknown filter field "colour"/);
    assert.throws(() => net.impair({ from: 'a', between: ['a', 'b'] }, {}), /between, or from and to/);
    assert.throws(() => net.impair({ from: 'nobody' }, {}), /no host of this network/);
    assert.throws(() => net.impair({ protocol: 'sctp' }, {}), /protocol must be/);
    assert.throws(() => net.impair({ port: 70000 }, {}), /port must be a port number/);
    assert.throws(() => net.impair({}, { loss: 3 }), /loss must be a probability/);
    assert.throws(() => net.impair({}, { partition: true }), /unknown impairment option "partition"/);
    assert.throws(() => net.partition('a', 'b').set({ loss: 1 }), /set\(\) is for impairments/);
    assert.throws(() => net.segment('lan').set({ partition: true }), /partition\(\)/);
    assert.throws(() => net.host('zed'), /no host "zed"/);
    assert.throws(() => net.host('a').link('wan'), /not on segment "wan"/);
    net.impair({ from: '10.0.1.0/24', to: ['b', '10.0.1.1'] }, { delay: 1 }); // networks and addresses are fine
  } finally {
    net.close();
  }
  assert.throws(() => net.partition('a', 'b'), /closed/);
});

test.run();
