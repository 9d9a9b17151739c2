// The code under test on a VirtualClock: installVirtualTimers puts setTimeout,
// setInterval, their clears and Date on the clock, and takes them off again; runOnClock
// drives the clock for a function; node:net's socket timeouts follow the stack's clock.
import { VirtualClock, installVirtualTimers, runOnClock, createPair } from '../dist/index.js';
import { Stack as NodeStack } from '../dist/node.js';
import { it, test, assert } from './helpers.mjs';

const realSetTimeout = globalThis.setTimeout;
const RealDate = globalThis.Date;

test('timers fire in virtual time only, in order, and uninstall puts the real ones back', async () => {
  const clock = new VirtualClock();
  const t = installVirtualTimers(clock);
  const fired = [];
  try {
    assert.is.not(globalThis.setTimeout, realSetTimeout);
    setTimeout(() => fired.push(['b', Date.now()]), 200);
    setTimeout((x) => fired.push([x, Date.now()]), 100, 'a');
    const gone = setTimeout(() => fired.push('cleared'), 150);
    clearTimeout(gone);
    let n = 0;
    const iv = setInterval(() => {
      fired.push(['tick', clock.now()]);
      if (++n === 3) clearInterval(iv);
    }, 70);
    assert.is(t.pending, 3);
    await new Promise((r) => realSetTimeout(r, 30)); // real time passes: nothing fires
    assert.equal(fired, []);
    clock.advance(1000);
    const epoch = 946_684_800_000;
    assert.equal(fired, [
      ['tick', 70], ['a', epoch + 100], ['tick', 140], ['b', epoch + 200], ['tick', 210],
    ]);
    assert.is(t.pending, 0);
  } finally {
    t.uninstall();
  }
  assert.is(globalThis.setTimeout, realSetTimeout);
  assert.is(globalThis.Date, RealDate);
  t.uninstall(); // twice is harmless
});

test('Date: now, new Date() and Date() on the clock; other forms as ever; the epoch is an option', () => {
  const clock = new VirtualClock({ start: 1500 });
  const t = installVirtualTimers(clock, { epoch: Date.UTC(2030, 0, 1) });
  try {
    assert.is(Date.now(), Date.UTC(2030, 0, 1) + 1500);
    assert.is(new Date().toISOString(), '2030-01-01T00:00:01.500Z');
    assert.is(new Date(0).toISOString(), '1970-01-01T00:00:00.000Z');
    assert.is(new Date('2001-02-03T04:05:06Z').getTime(), 981173106000);
    assert.ok(new Date() instanceof RealDate, 'still a Date');
    assert.is(typeof Date(), 'string');
    assert.match(Date(), /2030/);
    assert.is(Date.UTC(1999, 0, 1), RealDate.UTC(1999, 0, 1));
    clock.advance(60_000);
    assert.is(new Date().getUTCMinutes(), 1);
  } finally {
    t.uninstall();
  }
  const without = installVirtualTimers(new VirtualClock(), { date: false });
  try {
    assert.is(globalThis.Date, RealDate, 'date: false leaves Date alone');
  } finally {
    without.uninstall();
  }
});

test('handles: refresh, unref, numeric ids; real handles still clear; one installation at a time', async () => {
  let realFired = false;
  const real = realSetTimeout(() => (realFired = true), 20);
  const clock = new VirtualClock();
  const t = installVirtualTimers(clock);
  try {
    assert.throws(() => installVirtualTimers(clock), /already installed/);
    clearTimeout(real); // a timer from before: the real clearTimeout takes it
    const log = [];
    const h = setTimeout(() => log.push(clock.now()), 100);
    assert.is(h.hasRef(), true);
    assert.is(h.unref().hasRef(), false);
    h.ref();
    clock.advance(60);
    h.refresh(); // starts the 100 ms again from 60
    clock.advance(60);
    assert.equal(log, []);
    clock.advance(50);
    assert.equal(log, [160]);
    const id = +setTimeout(() => log.push('by id'), 10);
    assert.type(id, 'number');
    clearTimeout(id);
    clock.advance(20);
    assert.equal(log, [160]);
    assert.throws(() => setTimeout('not a function', 1), TypeError);
  } finally {
    t.uninstall();
  }
  await new Promise((r) => realSetTimeout(r, 40));
  assert.is(realFired, false, 'the real timer was cleared');
});

it('runOnClock drives the clock until the function settles, and uninstalls either way', async () => {
  const clock = new VirtualClock();
  const t0 = performance.now();
  const out = await runOnClock(clock, async () => {
    const start = Date.now();
    await new Promise((r) => setTimeout(r, 3_600_000)); // an hour of retries and waits
    return Date.now() - start;
  });
  assert.is(out, 3_600_000);
  assert.is(clock.now(), 3_600_000);
  assert.ok(performance.now() - t0 < 2000, 'an hour of virtual time in well under 2 s');
  assert.is(globalThis.setTimeout, realSetTimeout);
  const err = await runOnClock(clock, async () => {
    await new Promise((r) => setTimeout(r, 10));
    throw new Error('boom');
  }).catch((e) => e);
  assert.is(err.message, 'boom');
  assert.is(globalThis.setTimeout, realSetTimeout);
});

it("node:net's socket.setTimeout runs on the stack's clock", async () => {
  const clock = new VirtualClock();
  const a = await NodeStack.create({ clock, seed: 1 });
  const b = await NodeStack.create({ clock, seed: 2 });
  try {
    assert.is(a.clock, clock);
    const [la, lb] = createPair();
    a.addInterface(la, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    const server = b.net.createServer((s) => s.on('data', () => {}));
    await clock.runUntil(new Promise((r) => server.listen(80, r)));
    const sock = a.net.connect(80, '10.0.0.2');
    await clock.runUntil(new Promise((r) => sock.once('connect', r)));
    const t0 = clock.now();
    sock.setTimeout(30_000);
    clock.advance(20_000);
    sock.write('activity'); // the idle time counts from here
    const idle = new Promise((r) => sock.once('timeout', () => r(clock.now())));
    const firedAt = await clock.runUntil(idle, { timeLimit: 120_000 });
    assert.is(firedAt - t0, 50_000, 'idle 30 s after the write at 20 s');
    sock.destroy();
    server.close();
  } finally {
    a.dispose();
    b.dispose();
  }
});

test.run();
