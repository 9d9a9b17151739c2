// CPU used by idle stacks: N stacks with an interface each and no connections, for a
// fixed wall-clock time. Prints CPU time as a share of one core, and the wake-ups.
// Usage: node bench/idle.mjs [--stacks N] [--seconds S]
import { Stack, createPair } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const N = arg('stacks', 10);
const SECONDS = arg('seconds', 10);

const stacks = [];
for (let i = 0; i < N; i++) {
  const [l] = createPair();
  const s = await Stack.create();
  s.addInterface(l, { ip: `10.0.${i >> 8}.${(i & 255) + 1}/16` });
  stacks.push(s);
}
// Count timer wake-ups by wrapping setTimeout for the measurement window only.
let wakeups = 0;
const orig = globalThis.setTimeout;
globalThis.setTimeout = (fn, ms, ...rest) => orig(() => { wakeups++; fn(); }, ms, ...rest);
await new Promise((r) => orig(r, 200));
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await new Promise((r) => orig(r, SECONDS * 1000));
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - t0;
const share = ((cpu.user + cpu.system) / 1000 / wall) * 100;
console.log(`idle: ${N} stacks, no connections, ${SECONDS} s`);
console.log(`  CPU ${(share).toFixed(3)}% of one core in all (${(share / N).toFixed(4)}% per stack)`);
console.log(`  ${wakeups} timer wake-ups (${(wakeups / N / (wall / 1000)).toFixed(2)} per stack per second)`);
for (const s of stacks) s.dispose();
