// The long frame-fuzz run: a million (by default) generated and mutated frames into a
// stack with six live TCP connections, as test/fuzz-frames.test.mjs does in miniature.
// Prints progress with the victim's pools and heap, then the verdict; exits 1 on any
// failure. Only in-memory links; nothing leaves the process.
// Usage: node scripts/fuzz-frames.mjs [--frames N] [--seed S] [--debug]
//   --debug  uses build/debug/lwip.wasm (lwIP's assertions on; make debug-wasm)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzFrames, poolDiff } from '../test/fuzz-harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const frames = arg('frames', 1_000_000);
const seed = arg('seed', 1);
const debug = process.argv.includes('--debug');
const wasm = debug
  ? new WebAssembly.Module(readFileSync(fileURLToPath(new URL('../build/debug/lwip.wasm', import.meta.url))))
  : undefined;

console.log(`frame fuzz: ${frames} frames, seed ${seed}, ${debug ? 'DEBUG build (assertions on)' : 'release build'}`);
let next = 0;
const r = await fuzzFrames({
  count: frames, seed, wasm,
  onProgress: ({ injected, ms, memory }) => {
    if (injected < next) return;
    next += frames / 20;
    console.log(`  ${String(injected).padStart(8)} frames  ${(ms / 1000).toFixed(1).padStart(6)} s  ` +
      `pools ${String(memory.poolsInUse).padStart(6)}  heap ${(memory.heapBytes / 1024).toFixed(0).padStart(6)} KiB  drops ${memory.inputDrops}`);
  },
});
const { base, tenMinutes, settled } = r.memory;
console.log(`fuzzed ${r.injected} frames in ${(r.fuzzMs / 1000).toFixed(1)} s (${(r.injected / (r.fuzzMs / 1000)).toFixed(0)} frames/s); ${JSON.stringify(r.stats)}`);
console.log(`stack failures: ${r.failures.length ? r.failures.map(([w, e]) => `${w}: ${e.message}`).join('; ') : 'none'}`);
for (const [i, l] of r.live.entries()) {
  console.log(`live connection ${i}: ${l.bytes} bytes echoed, intact ${l.intact}, works afterwards ${l.afterwards}${l.error ? `, error ${l.error}` : ''}`);
}
console.log(`pools: ${base.poolsInUse} before, ${tenMinutes.poolsInUse} ten virtual minutes after (${JSON.stringify(poolDiff(tenMinutes, base))}), ` +
  `${settled.poolsInUse} once forged routers expired (${JSON.stringify(poolDiff(settled, base))})`);
console.log(`sockets: ${base.sockets} -> ${settled.sockets}; heap: ${base.heapBytes} -> ${settled.heapBytes} bytes; input drops ${settled.inputDrops}`);
console.log(`victim counters: ${Object.entries(r.victimStats).map(([k, v]) => `${k} rx ${v.recv} drop ${v.drop}`).join(', ')}`);
const ok = r.failures.length === 0 && r.injected === frames && r.live.every((l) => l.intact && l.afterwards && !l.error) &&
  settled.poolsInUse === base.poolsInUse && settled.sockets === base.sockets;
console.log(ok ? 'PASS' : 'FAIL');
process.exit(ok ? 0 : 1);
