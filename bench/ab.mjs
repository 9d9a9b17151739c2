// Before/after: runs workloads against two builds (two dist/ folders), alternating
// A B A B ... in one run, and prints lwip-wasm's medians side by side with B/A.
// Usage: node bench/ab.mjs --a <dist> --b <dist> [--only bulk,pingpong] [--reps 3] [--quick]
//   Extra workload arguments go after --, e.g. -- --mib 256
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const dash = args.indexOf('--');
const passOn = dash >= 0 ? args.slice(dash + 1) : [];
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && (dash < 0 || i < dash) ? args[i + 1] : dflt;
};
const A = resolve(opt('a', join(here, '..', 'dist')));
const B = resolve(opt('b', join(here, '..', 'dist')));
const REPS = Number(opt('reps', 3));
const quick = args.includes('--quick');
const workloads = opt('only', 'bulk,pingpong,churn,udp').split(',');

function once(name, dist) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, 'workloads', `${name}.mjs`),
      ...(quick ? ['--quick'] : []), '--reps', '1', ...passOn],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LWIP_WASM_DIST: dist, BENCH_OURS_ONLY: '1' } });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 900_000);
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code === 0 && line) done(JSON.parse(line.slice('BENCH_JSON '.length)));
      else fail(new Error(`${name} on ${dist} failed (exit ${code})`));
    });
  });
}

console.log(`A = ${A}\nB = ${B}\n${REPS} alternating runs per build; load average ${loadavg()[0].toFixed(2)} at the start\n`);
console.log('| workload | metric | A | B | B/A (better >1) |');
console.log('|---|---|---:|---:|---:|');
for (const name of workloads) {
  const got = { A: [], B: [] };
  for (let i = 0; i < REPS; i++) {
    got.A.push(await once(name, A));
    got.B.push(await once(name, B));
  }
  got.A[0].forEach((r, k) => {
    const a = median(got.A.map((rows) => rows[k].medians['lwip-wasm']));
    const b = median(got.B.map((rows) => rows[k].medians['lwip-wasm']));
    const x = r.better === 'lower' ? a / b : b / a;
    console.log(`| ${r.workload} | ${r.metric} (${r.unit}) | ${a.toFixed(1)} | ${b.toFixed(1)} | ${x.toFixed(2)}× |`);
  });
}
console.log(`\nload average ${loadavg()[0].toFixed(2)} at the end`);
