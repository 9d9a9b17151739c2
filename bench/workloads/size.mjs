// Size and start: the .wasm's bytes raw and gzipped, the time to compile it, and the
// time from a compiled module to Stack.create resolving. Also the rate of a plain
// memcpy inside the same module (wasm/bench.c), the unit for "copies per byte".
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { QUICK, arg, row, emit, lw, DIST } from '../lib.mjs';

const { Stack } = lw;

const REPS = arg('reps', QUICK ? 5 : 15);
const bytes = readFileSync(new URL('lwip.wasm', DIST));
// The TLS build (Stack.create({ tls: true })): only stacks that ask for TLS load it.
const tlsBytes = readFileSync(new URL('lwip-tls.wasm', DIST));
// stack.fetch's HTTP parser, fetched on the first fetch (no bundle carries it otherwise).
const llhttpBytes = readFileSync(new URL('llhttp.wasm', DIST));
const samples = (n, f) => Promise.all([]).then(async () => {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
});

const compile = await samples(REPS, async () => {
  const t = performance.now();
  await WebAssembly.compile(bytes);
  return performance.now() - t;
});
const module = await WebAssembly.compile(bytes);
const create = await samples(REPS, async () => {
  const t = performance.now();
  const s = await Stack.create({ wasm: module });
  const ms = performance.now() - t;
  s.dispose();
  return ms;
});

/** MB/s of memcpy between two 8 MiB buffers in the module's own memory. */
async function memcpyRate() {
  const noop = () => 0;
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { js_now: noop, js_rand: noop, js_diag: noop, js_assert: noop, emscripten_notify_memory_growth: noop },
  });
  const ex = instance.exports;
  if (typeof ex.bench_memcpy !== 'function') return NaN;
  ex._initialize();
  const len = 8 * 1024 * 1024;
  const src = ex.malloc(len);
  const dst = ex.malloc(len);
  ex.bench_memcpy(dst, src, len, 2); // warm up
  const reps = QUICK ? 32 : 128;
  const t = performance.now();
  ex.bench_memcpy(dst, src, len, reps);
  return (len * reps) / 1e6 / ((performance.now() - t) / 1000);
}
const memcpy = [];
for (let i = 0; i < (QUICK ? 3 : 5); i++) memcpy.push(await memcpyRate());

const one = (v) => ({ 'lwip-wasm': [v] });
emit([
  row('size: lwip.wasm', 'raw', 'B', 'lower', one(bytes.length), { max: 150_000 }),
  row('size: lwip.wasm', 'gzip -9', 'B', 'lower', one(gzipSync(bytes, { level: 9 }).length)),
  row('size: lwip-tls.wasm (with TLS)', 'raw', 'B', 'lower', one(tlsBytes.length)),
  row('size: lwip-tls.wasm (with TLS)', 'gzip -9', 'B', 'lower', one(gzipSync(tlsBytes, { level: 9 }).length)),
  row('size: llhttp.wasm (stack.fetch)', 'raw', 'B', 'lower', one(llhttpBytes.length)),
  row('size: llhttp.wasm (stack.fetch)', 'gzip -9', 'B', 'lower', one(gzipSync(llhttpBytes, { level: 9 }).length)),
  row('start', 'compile', 'ms', 'lower', { 'lwip-wasm': compile }),
  row('start', 'compiled module to Stack.create', 'ms', 'lower', { 'lwip-wasm': create }),
  row('memcpy in wasm, 8 MiB blocks', 'copy rate', 'MB/s', 'higher', { 'lwip-wasm': memcpy }, undefined,
    'wasm/bench.c bench_memcpy'),
]);
