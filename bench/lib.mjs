// Shared pieces of the benchmark workloads: arguments, statistics, two stacks on a
// pair, and the JSON line each workload process prints for bench/run.mjs.
import { pathToFileURL } from 'node:url';

/** The build under test: dist/, or LWIP_WASM_DIST (bench/ab.mjs compares two builds). */
export const DIST = process.env.LWIP_WASM_DIST
  ? pathToFileURL(`${process.env.LWIP_WASM_DIST.replace(/\/$/, '')}/`)
  : new URL('../dist/', import.meta.url);
export const lw = await import(new URL('index.js', DIST).href);
const { Stack, createPair } = lw;

export const argv = process.argv.slice(2);
export const QUICK = argv.includes('--quick');

/** A numeric --name value, or dflt. */
export function arg(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
}

export const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The p-th percentile (0..100) of xs, nearest rank. */
export const percentile = (xs, p) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};

export const tick = () => new Promise((r) => setImmediate(r));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Two stacks joined by an in-memory pair: a is 10.0.0.1, b is 10.0.0.2. */
export async function twoStacks(pairOptions = {}, stackOptions = {}) {
  const [la, lb] = createPair(pairOptions);
  const a = await Stack.create(stackOptions);
  const b = await Stack.create(stackOptions);
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  return { a, b, dispose: () => { a.dispose(); b.dispose(); } };
}

/**
 * Runs each contender reps times, interleaved (A B C, A B C, ...), so drift in the
 * machine's load hits all of them alike, after one warm-up round that is not counted
 * (JIT, caches, the kernel's socket buffers). Returns { name: [sample, ...] }.
 */
export async function interleave(reps, contenders) {
  // bench/ab.mjs compares two builds of ours and leaves the baselines out.
  if (process.env.BENCH_OURS_ONLY) contenders = { 'lwip-wasm': contenders['lwip-wasm'] };
  const out = {};
  for (const name of Object.keys(contenders)) out[name] = [];
  for (const fn of Object.values(contenders)) await fn(-1);
  if (global.gc) global.gc();
  for (let i = 0; i < reps; i++) {
    for (const [name, fn] of Object.entries(contenders)) {
      out[name].push(await fn(i));
      if (global.gc) global.gc();
    }
  }
  return out;
}

/** Rejects if p does not settle within ms: no benchmark may hang the suite. */
export function within(ms, p, what) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, reject) => { t = setTimeout(() => reject(new Error(`${what}: over ${ms} ms`)), ms); }),
  ]);
}

/**
 * A result row. samples: { contender: number[] } with 'lwip-wasm' first; better:
 * 'higher' or 'lower'; target: { vs, ratio } (ratio of lwip-wasm to a baseline) or
 * { max } / { min } (an absolute bound on lwip-wasm's median).
 */
export function row(workload, metric, unit, better, samples, target, note) {
  const medians = {};
  for (const [k, v] of Object.entries(samples)) medians[k] = median(v);
  return { workload, metric, unit, better, medians, samples, target, note };
}

/** Prints the rows as the one JSON line bench/run.mjs reads. */
export function emit(rows) {
  process.stdout.write(`BENCH_JSON ${JSON.stringify(rows)}\n`);
}
