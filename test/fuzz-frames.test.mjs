// Bad input never takes a stack down: seeded runs of generated and mutated frames
// (ARP, IPv4 options and fragments, IPv6 extension headers and fragments, TCP with every
// flag combination, UDP, ICMP, ICMPv6 ND/MLD, odd ethernet; and aimed at the live
// connections: ICMP errors quoting them, Packet Too Big at every MTU, ND naming the peer
// with another MAC, odd MSS options) into a stack with six live TCP connections carrying
// an echo. No failure, the connections keep every byte and still
// work afterwards, and every pool comes back. The million-frame run is
// scripts/fuzz-frames.mjs.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzFrames, poolDiff } from './fuzz-harness.mjs';
import { it, test, assert } from './helpers.mjs';

const DEBUG_WASM = fileURLToPath(new URL('../build/debug/lwip.wasm', import.meta.url));
const haveDebug = existsSync(DEBUG_WASM);
if (!haveDebug) console.log(`skipping the assertion-build run: no ${DEBUG_WASM} (make debug-wasm; make test builds it)`);

const LIVE_ATTACKS = { icmpLive4: 40, icmpLive6: 60, ndLive: 60, tcpOptions: 40 };

function check(r, label, count) {
  assert.equal(r.failures.map(([who, e]) => `${who}: ${e.message}`), [], `${label}: no stack failed`);
  assert.is(r.injected, count, `${label}: every frame went in`);
  for (const [i, l] of r.live.entries()) {
    assert.is(l.error, undefined, `${label}: live connection ${i} saw no error`);
    assert.ok(l.intact && l.bytes > 10_000, `${label}: live connection ${i} echoed ${l.bytes} bytes intact`);
    assert.ok(l.afterwards, `${label}: live connection ${i} still works after the storm`);
  }
  const { base, settled } = r.memory;
  assert.is(settled.sockets, base.sockets, `${label}: sockets back to ${base.sockets}`);
  assert.is(settled.poolsInUse, base.poolsInUse, `${label}: pools back to ${base.poolsInUse}; above: ${JSON.stringify(poolDiff(settled, base))}`);
  // the input and output buffers keep the size of the largest batch (giants included)
  assert.ok(settled.heapBytes - base.heapBytes < 4 * 1024 * 1024,
    `${label}: heap ${base.heapBytes} -> ${settled.heapBytes} bytes`);
  // the frames reached deep into the stack, not just the ethernet check
  const st = r.victimStats;
  for (const [proto, min] of [['tcp', 1000], ['udp', 100], ['icmp', 100], ['icmp6', 500], ['ipFrag', 500], ['ip6Frag', 100], ['nd6', 200], ['etharp', 200]]) {
    assert.ok(st[proto].recv >= min, `${label}: ${proto} saw ${st[proto].recv} packets (want >= ${min})`);
  }
  // the attacks on the live connections hit them: quotes inside the send window, and
  // handshakes finished with odd MSS options
  for (const c of Object.keys(LIVE_ATTACKS)) assert.ok(r.stats.classes[c] > 0, `${label}: made ${c} frames`);
  assert.ok(r.stats.quotes.inWindow >= 50, `${label}: ${r.stats.quotes.inWindow} ICMP quotes inside SND.UNA..SND.NXT`);
  assert.ok(r.stats.handshakes >= 5, `${label}: ${r.stats.handshakes} handshakes with odd MSS options finished`);
  console.log(`    ${label}: ${r.injected} frames in ${(r.fuzzMs / 1000).toFixed(1)} s, ${JSON.stringify(r.stats)}; ` +
    `pools ${base.poolsInUse} -> ${r.memory.tenMinutes.poolsInUse} (10 min) -> ${settled.poolsInUse}; heap ${base.heapBytes} -> ${settled.heapBytes}`);
}

it('25,000 frames (seed 1) into a stack with live connections', async () => {
  check(await fuzzFrames({ count: 25_000, seed: 1 }), 'seed 1', 25_000);
}, 90_000);

it('25,000 frames (seed 2) into a stack with live connections', async () => {
  check(await fuzzFrames({ count: 25_000, seed: 2 }), 'seed 2', 25_000);
}, 90_000);

it('25,000 frames (seed 4) weighted to the attacks on live connections', async () => {
  check(await fuzzFrames({ count: 25_000, seed: 4, mix: LIVE_ATTACKS }), 'seed 4, live attacks', 25_000);
}, 90_000);

(haveDebug ? it : (name) => test.skip(name))('15,000 frames into the DEBUG build: no lwIP assertion fires', async () => {
  const wasm = new WebAssembly.Module(readFileSync(DEBUG_WASM));
  check(await fuzzFrames({ count: 15_000, seed: 3, wasm }), 'DEBUG build, seed 3', 15_000);
}, 90_000);

test.run();
