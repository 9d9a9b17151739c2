// The long frame-fuzz run: a million (by default) generated and mutated frames into a
// stack with six live TCP connections, as test/fuzz-frames.test.mjs does in miniature.
// Prints progress with the victim's pools and heap, then the verdict; exits 1 on any
// failure. Only in-memory links; nothing leaves the process.
// Usage: node scripts/fuzz-frames.mjs [--frames N] [--seed S] [--mix class=w,...] [--mutate P] [--debug]
//   --mix     reweights frame classes (MIX in test/frames.mjs; 0 turns one off), e.g.
//             --mix icmpLive6=40,ndLive=0
//   --mutate  the share of frames that are mutations (0.25)
//   --debug   uses build/debug/lwip.wasm (lwIP's assertions on; make debug-wasm)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzFrames, poolDiff } from '../test/fuzz-harness.mjs';
import { MIX } from '../test/frames.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const frames = arg('frames', 1_000_000);
const seed = arg('seed', 1);
const debug = process.argv.includes('--debug');
const mutate = arg('mutate', undefined);
const mixArg = process.argv.includes('--mix') ? process.argv[process.argv.indexOf('--mix') + 1] : '';
const mix = Object.fromEntries(mixArg.split(',').filter(Boolean).map((kv) => {
  const [k, v] = kv.split('=');
  if (!(k in MIX) || !(Number(v) >= 0)) {
    console.error(`--mix: want class=weight with a class of ${Object.keys(MIX).join(', ')}; got ${kv}`);
    process.exit(2);
  }
  return [k, Number(v)];
}));
const wasm = debug
  ? new WebAssembly.Module(readFileSync(fileURLToPath(new URL('../build/debug/lwip.wasm', import.meta.url))))
  : undefined;

console.log(`frame fuzz: ${frames} frames, seed ${seed}, ${debug ? 'DEBUG build (assertions on)' : 'release build'}` +
  `${mixArg ? `, mix ${mixArg}` : ''}${mutate !== undefined ? `, mutate ${mutate}` : ''}`);
let next = 0;
const r = await fuzzFrames({
  count: frames, seed, wasm, mix, mutate,
  onProgress: ({ injected, ms, memory }) => {
    if (injected < next) return;
    next += frames / 20;
    console.log(`  ${String(injected).padStart(8)} frames  ${(ms / 1000).toFixed(1).padStart(6)} s  ` +
      `pools ${String(memory.poolsInUse).padStart(6)}  heap ${(memory.heapBytes / 1024).toFixed(0).padStart(6)} KiB  drops ${memory.inputDrops}`);
  },
});
const { base, tenMinutes, settled } = r.memory;
const { classes, ...counts } = r.stats;
console.log(`fuzzed ${r.injected} frames in ${(r.fuzzMs / 1000).toFixed(1)} s (${(r.injected / (r.fuzzMs / 1000)).toFixed(0)} frames/s); ` +
  `${JSON.stringify(counts)}; ${r.accepted} forged connections accepted`);
const made = r.stats.generated + r.stats.mutated;
console.log(`classes: ${Object.entries(classes).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${(100 * n / made).toFixed(1)}%`).join(', ')}, ` +
  `mutated ${(100 * r.stats.mutated / made).toFixed(1)}%`);
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
