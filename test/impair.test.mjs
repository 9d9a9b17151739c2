// The impairment layer on its own: each fault does what it says, reproducibly from its
// seed, can change at run time, and rejects bad settings. Frames here are numbered
// 4-byte arrays sent through a pair; a recorder on the far end sees what arrived.
import { createPair, impair, ImpairedLink, VirtualClock } from '../dist/index.js';
import { it, test, assert, sleep } from './helpers.mjs';

function recorder() {
  const r = {
    frames: [],
    drains: 0,
    closes: 0,
    onFrames(frames) {
      for (const f of frames) r.frames.push(f);
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

const frame = (i, size = 4) => {
  const f = new Uint8Array(size);
  new DataView(f.buffer).setUint32(0, i);
  return f;
};
const num = (f) => new DataView(f.buffer, f.byteOffset).getUint32(0);
const macrotask = () => new Promise((r) => setImmediate(r));

/** An impaired end (wrapping one end of a pair) and a recorder on the other end. */
function rig(options) {
  const [x, y] = createPair({ highWaterMark: 1 << 30 });
  const link = impair(x, options);
  const local = recorder();
  link.attach(local);
  const far = recorder();
  y.attach(far);
  return { link, far, local, y };
}

/** Sends n numbered frames, a batch of `batch` per macrotask, then lets them arrive. */
async function sendNumbered(link, n, batch = 100, size = 4) {
  for (let i = 0; i < n; i++) {
    link.send(frame(i, size));
    if (i % batch === batch - 1) await macrotask();
  }
  await macrotask();
  await macrotask();
}

it('with no conditions every frame passes at once, in order, unchanged', async () => {
  const { link, far } = rig({ seed: 1 });
  assert.instance(link, ImpairedLink);
  assert.is(link.mtu, 1500);
  const sent = [frame(1), frame(2), frame(3)];
  for (const f of sent) assert.ok(link.send(f));
  await macrotask();
  assert.equal(far.frames, sent);
  assert.is(far.frames[0], sent[0], 'the very same frame object: no copy on the fast path');
  assert.is(link.counters.out.delivered, 3);
  assert.is(link.inFlight, 0);
});

it('loss drops about the given share, and the same seed drops the same frames', async () => {
  const run = async (seed) => {
    const { link, far } = rig({ seed, loss: 0.3 });
    await sendNumbered(link, 10_000);
    const got = far.frames.map(num);
    assert.is(got.length + link.counters.out.lost, 10_000);
    assert.is(link.counters.out.delivered, got.length);
    return got;
  };
  const a = await run(42);
  const lost = 10_000 - a.length;
  // binomial(10000, 0.3): sd 46; allow 5 sd
  assert.ok(Math.abs(lost - 3000) < 230, `lost ${lost} of 10000 at 30%`);
  assert.equal(a, [...a].sort((x, y) => x - y), 'loss alone keeps order');
  assert.equal(await run(42), a, 'seed 42 again: the same frames lost');
  assert.not.equal(await run(43), a, 'another seed: other frames lost');
});

it('Gilbert–Elliott loss comes in bursts of mean length 1/r', async () => {
  const { link, far } = rig({ seed: 5, loss: { p: 0.01, r: 0.2 } });
  await sendNumbered(link, 50_000, 500);
  const got = new Set(far.frames.map(num));
  const runs = [];
  let run = 0;
  for (let i = 0; i < 50_000; i++) {
    if (!got.has(i)) run++;
    else if (run > 0) {
      runs.push(run);
      run = 0;
    }
  }
  const lostShare = (50_000 - got.size) / 50_000;
  const meanBurst = runs.reduce((s, x) => s + x, 0) / runs.length;
  // stationary bad share p/(p+r) = 4.8%; bursts average 1/r = 5 frames
  assert.ok(lostShare > 0.03 && lostShare < 0.07, `lost share ${lostShare}`);
  assert.ok(meanBurst > 3.5 && meanBurst < 7, `mean burst ${meanBurst} frames (independent loss would give about 1.05)`);
});

it('duplication delivers some frames twice, byte for byte', async () => {
  const { link, far } = rig({ seed: 3, duplicate: 0.2 });
  await sendNumbered(link, 5000);
  const c = link.counters.out;
  assert.ok(Math.abs(c.duplicated - 1000) < 150, `duplicated ${c.duplicated} of 5000 at 20%`);
  assert.is(far.frames.length, 5000 + c.duplicated);
  const seen = new Map();
  for (const f of far.frames) seen.set(num(f), (seen.get(num(f)) ?? 0) + 1);
  assert.is(seen.size, 5000, 'every frame arrived');
  assert.is([...seen.values()].filter((n) => n === 2).length, c.duplicated);
});

it('reordering holds frames back behind the next reorderGap frames, losing none', async () => {
  const { link, far } = rig({ seed: 9, reorder: 0.1, reorderGap: 2 });
  await sendNumbered(link, 5000);
  await sleep(5); // a reordered frame near the end waits at most 1 ms for followers
  await macrotask();
  const got = far.frames.map(num);
  assert.is(got.length, 5000);
  assert.equal([...got].sort((x, y) => x - y), Array.from({ length: 5000 }, (_, i) => i), 'nothing lost or doubled');
  const late = got.filter((v, i) => i > 0 && v < got[i - 1]).length;
  assert.ok(late > 300, `${late} frames arrived after a later one`);
  assert.is(link.counters.out.reordered > 400 && link.counters.out.reordered < 600, true,
    `reordered ${link.counters.out.reordered} of 5000 at 10%`);
  // a held frame arrives right after the two frames that overtook it (when not held too)
  const at = new Map(got.map((v, i) => [v, i]));
  const i = got.findIndex((v, k) => k > 2 && v < got[k - 1] && got[k - 1] === got[k - 2] + 1 && v === got[k - 2] - 1);
  assert.ok(i > 0, 'found a frame that was overtaken by exactly two');
  assert.is(at.get(got[i]), i);
});

it('delay and jitter hold frames on the clock, in order, within delay ± jitter', async () => {
  const clock = new VirtualClock();
  const { link, far } = rig({ seed: 11, clock, delay: 100, jitter: 20 });
  for (let i = 0; i < 200; i++) link.send(frame(i));
  await macrotask();
  assert.is(far.frames.length, 0, 'nothing before the delay');
  assert.is(link.inFlight, 200);
  await clock.advanceAsync(79);
  assert.is(far.frames.length, 0, 'nothing before delay - jitter');
  await clock.advanceAsync(30); // t = 109
  const mid = far.frames.length;
  assert.ok(mid > 0 && mid < 200, `some but not all by 109 ms (${mid})`);
  await clock.advanceAsync(12); // t = 121
  assert.is(far.frames.length, 200, 'all by delay + jitter');
  assert.equal(far.frames.map(num), Array.from({ length: 200 }, (_, i) => i), 'jitter keeps order');
});

it('a bandwidth limit paces frames, and a full queue drops the rest', async () => {
  const clock = new VirtualClock();
  // 1 MB/s, 10 kB queue: a 1000-byte frame takes 1 ms on the wire
  const { link, far } = rig({ seed: 1, clock, rate: 1_000_000, queueLimit: 10_000 });
  for (let i = 0; i < 30; i++) link.send(frame(i, 1000));
  const c = link.counters.out;
  assert.is(c.queueDrops, 20, '10 frames fit in a 10 kB queue, 20 are dropped');
  await clock.advanceAsync(4.5);
  assert.is(far.frames.length, 4, '4 frames in 4.5 ms at 1 MB/s');
  await clock.advanceAsync(10);
  assert.equal(far.frames.map(num), Array.from({ length: 10 }, (_, i) => i));
  // the queue has drained: a new burst is accepted again
  for (let i = 30; i < 35; i++) link.send(frame(i, 1000));
  assert.is(c.queueDrops, 20);
  await clock.advanceAsync(10);
  assert.is(far.frames.length, 15);
});

it('corruption flips exactly one bit of a copy, never the sender\'s bytes', async () => {
  const { link, far } = rig({ seed: 2, corrupt: 1 });
  const sent = Array.from({ length: 500 }, (_, i) => frame(i, 64).fill(0xa5, 4));
  for (const f of sent) link.send(f);
  await macrotask();
  assert.is(far.frames.length, 500);
  assert.is(link.counters.out.corrupted, 500);
  for (let i = 0; i < 500; i++) {
    assert.ok(sent[i].subarray(4).every((b) => b === 0xa5), 'sender bytes untouched');
    let bits = 0;
    for (let k = 0; k < 64; k++) {
      let x = far.frames[i][k] ^ sent[i][k];
      while (x) {
        bits += x & 1;
        x >>= 1;
      }
    }
    assert.is(bits, 1, `frame ${i} differs in exactly one bit`);
  }
});

it('a partition drops everything, including frames in flight, until it heals', async () => {
  const clock = new VirtualClock();
  const { link, far } = rig({ seed: 1, clock, delay: 50 });
  for (let i = 0; i < 10; i++) link.send(frame(i));
  await clock.advanceAsync(10);
  link.set({ partition: true });
  assert.is(link.inFlight, 0, 'frames on the wire are lost with the cut');
  for (let i = 10; i < 20; i++) link.send(frame(i));
  await clock.advanceAsync(200);
  assert.is(far.frames.length, 0);
  assert.is(link.counters.out.partitionDrops, 20);
  link.set({ partition: false });
  assert.is(link.conditions.delay, 50, 'other conditions survive the cut');
  for (let i = 20; i < 25; i++) link.send(frame(i));
  await clock.advanceAsync(60);
  assert.equal(far.frames.map(num), [20, 21, 22, 23, 24]);
});

it('conditions change at run time, and reset() restores a perfect link', async () => {
  const { link, far } = rig({ seed: 4 });
  await sendNumbered(link, 1000);
  assert.is(far.frames.length, 1000);
  link.set({ loss: 1 });
  await sendNumbered(link, 1000);
  assert.is(far.frames.length, 1000, 'loss 1 drops everything');
  link.reset();
  assert.equal(link.conditions.loss, 0);
  await sendNumbered(link, 1000);
  assert.is(far.frames.length, 2000);
});

it('direction picks which way the faults apply', async () => {
  const [x, y] = createPair();
  const link = impair(x, { seed: 1, loss: 1, direction: 'in' });
  const local = recorder();
  const far = recorder();
  link.attach(local);
  y.attach(far);
  link.send(frame(1));
  y.send(frame(2));
  await macrotask();
  await macrotask();
  assert.is(far.frames.length, 1, "'in' leaves sent frames alone");
  assert.is(local.frames.length, 0, "'in' drops arriving frames");
  assert.is(link.counters.in.lost, 1);
  assert.is(link.counters.out.frames, 0);
});

it('close() closes the wrapped link, and both ends hear it', async () => {
  const { link, local, far, y } = rig({ seed: 1, delay: 5 });
  link.send(frame(1));
  link.close();
  assert.ok(y.closed);
  assert.is(local.closes, 1);
  assert.is(far.closes, 1);
  await sleep(10);
  assert.is(far.frames.length, 0, 'a delayed frame does not outlive the link');
});

test('bad settings throw TypeError or RangeError and name the field', () => {
  const [x] = createPair();
  const cases = [
    [{ loss: 1.5 }, RangeError, /loss/],
    [{ loss: -0.1 }, RangeError, /loss/],
    [{ loss: 'much' }, TypeError, /loss/],
    [{ loss: { p: 0.1 } }, RangeError, /loss\.r/],
    [{ duplicate: NaN }, RangeError, /duplicate/],
    [{ delay: -1 }, RangeError, /delay/],
    [{ jitter: Infinity }, RangeError, /jitter/],
    [{ rate: -5 }, RangeError, /rate/],
    [{ queueLimit: 0 }, RangeError, /queueLimit/],
    [{ reorderGap: 1.5 }, RangeError, /reorderGap/],
    [{ partition: 'yes' }, TypeError, /partition/],
    [{ direction: 'up' }, TypeError, /direction/],
    [{ seed: -1 }, RangeError, /seed/],
    [{ los: 0.1 }, TypeError, /unknown impairment option "los"/],
  ];
  for (const [opts, type, re] of cases) {
    assert.throws(() => impair(x, opts), (e) => e instanceof type && re.test(e.message), JSON.stringify(opts));
  }
  assert.throws(() => impair({}, {}), TypeError);
  const link = impair(x, { seed: 1 });
  assert.throws(() => link.set({ seed: 3 }), /unknown impairment option "seed"/);
  assert.throws(() => link.set({ corrupt: 2 }), RangeError);
  assert.throws(() => link.send('frame'), TypeError);
  assert.is(link.seed, 1);
  assert.ok(Number.isInteger(impair(createPair()[0]).seed), 'a random seed is chosen and readable');
});

test.run();
