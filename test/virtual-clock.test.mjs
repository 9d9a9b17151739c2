// The test clock: timers fire in order on virtual time, and stacks on it run TCP's long
// timeouts (connect limit, TIME_WAIT, retransmission, async timeouts) in milliseconds of
// real time, deterministically.
import {
  VirtualClock, createPair, impair, capture, AF_INET, SOCK_STREAM, SHUT_WR, POLLIN,
} from '../dist/index.js';
import {
  it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof, rejectsCode, throwsCode,
} from './helpers.mjs';

/** Awaits p and asserts it rejects with an error of this type whose message matches re. */
async function rejects(p, type, re) {
  try {
    await p;
  } catch (err) {
    assert.instance(err, type);
    if (re) assert.match(err.message, re);
    return;
  }
  assert.unreachable('expected a rejection');
}

/** Two stacks on one virtual clock, joined by a pair (a's end optionally impaired). */
async function virtualNet(clock, opts = {}) {
  const { impairment, ...stackOpts } = opts;
  const a = await createStack({ clock, seed: 1, ...stackOpts });
  const b = await createStack({ clock, seed: 2, ...stackOpts });
  const [la, lb] = createPair();
  const linkA = impairment ? impair(la, { clock, seed: 3, ...impairment }) : la;
  a.addInterface(linkA, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  return { a, b, linkA, dispose: () => { a.dispose(); b.dispose(); } };
}

test('advance() fires due timers in time order, then in the order they were set', () => {
  const clock = new VirtualClock({ start: 1000 });
  assert.is(clock.now(), 1000);
  const fired = [];
  clock.setTimer(() => fired.push(['b', clock.now()]), 20);
  clock.setTimer(() => fired.push(['a', clock.now()]), 10);
  clock.setTimer(() => fired.push(['b2', clock.now()]), 20);
  const gone = clock.setTimer(() => fired.push(['never']), 15);
  clock.setTimer(() => clock.setTimer(() => fired.push(['nested', clock.now()]), 5), 12);
  assert.is(clock.pendingTimers, 5);
  assert.is(clock.nextTimerAt, 1010);
  gone.clear();
  gone.clear();
  assert.is(clock.pendingTimers, 4);
  clock.advance(9);
  assert.equal(fired, []);
  assert.is(clock.now(), 1009);
  clock.advance(100);
  assert.equal(fired, [['a', 1010], ['nested', 1017], ['b', 1020], ['b2', 1020]]);
  assert.is(clock.now(), 1109);
  assert.is(clock.pendingTimers, 0);
  assert.is(clock.nextTimerAt, undefined);
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => new VirtualClock({ start: NaN }), RangeError);
  assert.throws(() => clock.setTimer('x', 1), TypeError);
});

it('runUntil resolves with the promise, and rejects at its time limit or when nothing can happen', async () => {
  const clock = new VirtualClock();
  const p = new Promise((resolve) => clock.setTimer(() => resolve('done'), 5000));
  assert.is(await clock.runUntil(p), 'done');
  assert.is(clock.now(), 5000);
  clock.setTimer(() => {}, 10_000);
  const never = new Promise(() => {});
  await rejects(clock.runUntil(never, { timeLimit: 2000 }), RangeError, /still pending after 2000 ms/);
  await rejects(clock.runUntil(never, { timeLimit: 60_000 }), RangeError, /nothing is scheduled/);
  let flag = false;
  clock.setTimer(() => (flag = true), 7);
  assert.is(await clock.runUntil(() => flag), undefined);
  await rejects(clock.runUntil(42), TypeError);
});

// The default limit (75 s) and a longer one (100 s) both govern: lwIP's own SYN retry
// count must not end the connect first.
it('a connect to a silent host gives ETIMEDOUT at connectTimeout (default 75 s, and 100 s) in well under a second', async () => {
  const clock = new VirtualClock();
  const net = await virtualNet(clock);
  const longer = await createStack({ clock, seed: 4, connectTimeout: 100_000 });
  try {
    net.a.interfaces[0].addNeighbor('10.0.0.98', '02:00:00:00:00:98'); // nobody owns this MAC
    const t0 = performance.now();
    const start = clock.now();
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(clock.runUntil(c.connect('10.0.0.98', 80)), 'ETIMEDOUT');
    const virtual = clock.now() - start;
    assert.ok(virtual >= 75_000 && virtual < 75_600, `gave up after ${virtual} virtual ms, want 75000`);
    assert.ok(performance.now() - t0 < 2000, `took ${(performance.now() - t0).toFixed(0)} ms of real time`);
    // SYNs back off as Linux's do (1, 2, 4 ... s): 7 in 100 s, not one every 3 s.
    const [l1, l2] = createPair();
    let syns = 0;
    l2.attach({
      onFrames: (frames) => {
        for (const f of frames) if (f[12] === 0x08 && f[13] === 0x00 && f[23] === 6 && (f[47] & 0x12) === 0x02) syns++;
      },
      onDrain: () => {},
      onClose: () => {},
    });
    const ifL = longer.addInterface(l1, { ip: '10.0.1.1/24' });
    ifL.addNeighbor('10.0.1.98', '02:00:00:00:00:98');
    const t1 = clock.now();
    await rejectsCode(clock.runUntil(longer.socket(AF_INET, SOCK_STREAM).connect('10.0.1.98', 80), { timeLimit: 600_000 }), 'ETIMEDOUT');
    assert.ok(clock.now() - t1 >= 100_000 && clock.now() - t1 < 100_600, `100 s limit: gave up after ${clock.now() - t1} ms`);
    assert.is(syns, 7, 'SYNs at 0, 1, 3, 7, 15, 31 and 63 s');
    // a per-call limit too
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    const t = clock.now();
    await rejectsCode(clock.runUntil(c2.connect('10.0.0.98', 80, { timeout: 4000 })), 'ETIMEDOUT');
    assert.ok(clock.now() - t >= 4000 && clock.now() - t < 4600, `per-call limit: ${clock.now() - t} ms`);
  } finally {
    net.dispose();
    longer.dispose();
  }
});

it('TIME_WAIT holds the port for the default 60 s of virtual time, then everything is released', async () => {
  const clock = new VirtualClock();
  const net = await virtualNet(clock);
  try {
    const base = net.a.memory();
    const [c, s, l] = await clock.runUntil(connectPair(net.a, net.b));
    const port = c.getsockname().port;
    await clock.runUntil(c.send('bye'));
    c.close(); // the client closes first, so its side ends in TIME_WAIT
    assert.is((await clock.runUntil(s.recv())).length, 3);
    assert.is((await clock.runUntil(s.recv())).length, 0);
    s.close();
    l.close();
    await clock.advanceAsync(1000);
    const closedAt = clock.now();
    const probe = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => probe.bind('10.0.0.1', port), 'EADDRINUSE', 'bind during TIME_WAIT');
    assert.ok(net.a.memory().poolsInUse > base.poolsInUse, 'the TIME_WAIT pcb is counted');
    await clock.advanceAsync(55_000);
    throwsCode(() => probe.bind('10.0.0.1', port), 'EADDRINUSE', 'still in TIME_WAIT after 56 s');
    await clock.advanceAsync(6_000);
    probe.bind('10.0.0.1', port); // 62 s after the FIN exchange: the port is free
    probe.close();
    const m = net.a.memory();
    assert.is(m.poolsInUse, base.poolsInUse, `pools back at ${base.poolsInUse} after ${clock.now() - closedAt} ms`);
    assert.is(m.sockets, 0);
  } finally {
    net.dispose();
  }
});

it('async timeouts (recv, poll) run on the stack\'s clock, not the wall clock', async () => {
  const clock = new VirtualClock();
  const net = await virtualNet(clock);
  try {
    const [c, s] = await clock.runUntil(connectPair(net.a, net.b));
    const t0 = performance.now();
    const start = clock.now();
    await rejectsCode(clock.runUntil(s.recv(100, { timeout: 30_000 })), 'EAGAIN', 'recv with a 30 s timeout');
    assert.ok(clock.now() - start >= 30_000, 'it waited 30 virtual seconds');
    const polled = await clock.runUntil(net.b.poll([{ socket: s, events: POLLIN }], 10_000));
    assert.equal(polled, [0], 'poll times out with nothing ready');
    assert.ok(performance.now() - t0 < 2000, 'and all of it in little real time');
    // the timers do not fire on their own: nothing moves without the driver
    const pending = s.recv(100, { timeout: 50 });
    let settled = false;
    pending.catch(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.is(settled, false, '100 real ms later the 50 ms virtual timeout has not fired');
    await rejectsCode(clock.runUntil(pending), 'EAGAIN');
    c.close();
  } finally {
    net.dispose();
  }
});

it('a lost segment is retransmitted on lwIP\'s timer, in virtual time', async () => {
  const clock = new VirtualClock();
  const net = await virtualNet(clock, { impairment: { direction: 'out' } });
  try {
    const [c, s] = await clock.runUntil(connectPair(net.a, net.b));
    net.linkA.set({ loss: 1 });
    c.sendSync('hello');
    await clock.advanceAsync(100);
    throwsCode(() => s.recvSync(), 'EAGAIN', 'the first copy was lost');
    net.linkA.set({ loss: 0 });
    const t = clock.now();
    const got = await clock.runUntil(s.recv());
    assert.is(new TextDecoder().decode(got), 'hello');
    assert.ok(clock.now() - t > 0, 'it took a retransmission timeout to arrive');
    assert.ok(net.linkA.counters.out.lost >= 1);
  } finally {
    net.dispose();
  }
});

it('runUntilIdle stops once only unreferenced housekeeping timers are left', async () => {
  const clock = new VirtualClock();
  const net = await virtualNet(clock);
  try {
    assert.ok(clock.pendingTimers > 0, "lwIP's periodic timers are set");
    const idle = await clock.runUntilIdle({ timeLimit: 10_000 });
    assert.ok(idle < 10_000, `an idle pair of stacks is idle at once (ran ${idle} virtual ms)`);
    const [c, s, l] = await clock.runUntil(connectPair(net.a, net.b));
    const busy = await clock.runUntilIdle({ timeLimit: 5000 });
    assert.is(busy, 5000, 'open sockets keep the timers referenced, so it runs to the limit');
    for (const x of [c, s, l]) x.close();
  } finally {
    net.dispose();
  }
});

/** One seeded lossy transfer with a capture; returns what a replay must reproduce. */
async function lossyRun() {
  const clock = new VirtualClock();
  const parts = [];
  const a = await createStack({ clock, seed: 10 });
  const b = await createStack({ clock, seed: 20 });
  try {
    const [la, lb] = createPair();
    const lossy = impair(la, { clock, seed: 30, loss: 0.05, reorder: 0.05, duplicate: 0.02 });
    a.addInterface(capture(lossy, (chunk) => parts.push(chunk), { clock, epoch: 0 }), { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    const data = randomBytes(1 << 20, 5);
    const got = await clock.runUntil((async () => {
      const [c, s] = await connectPair(a, b);
      const reader = drainToEof(s);
      await c.send(data);
      c.shutdown(SHUT_WR);
      return reader;
    })());
    assert.is(got.hash, sha256(data));
    return { end: clock.now(), counters: lossy.counters, capture: sha256(...parts) };
  } finally {
    a.dispose();
    b.dispose();
  }
}

it('the same seeds and the same virtual clock replay a lossy transfer exactly, frame for frame', async () => {
  const first = await lossyRun();
  const second = await lossyRun();
  assert.ok(first.counters.out.lost > 0 && first.end > 0);
  assert.equal(second, first);
}, 30_000);

test.run();
