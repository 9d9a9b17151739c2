// Soak: opens and closes many TCP connections, then moves a large volume through one,
// between two stacks over an in-memory pair, sampling both stacks' lwIP pools, sockets
// and wasm heap, and the process's JS heap, as it goes. The curve must come back to its
// starting point once everything is closed and TIME_WAIT (1 s here) has passed.
// Usage: node bench/soak.mjs [--connections N] [--gib G] [--parallel P]
//   defaults: 100000 connections, 10 GiB, 64 connections at a time.
import { Stack, createPair, AF_INET, SOCK_STREAM, SHUT_WR } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const CONNECTIONS = arg('connections', 100_000);
const GIB = arg('gib', 10);
const PARALLEL = arg('parallel', 64);
const TIME_WAIT = 1000;

const a = await Stack.create({ timeWait: TIME_WAIT, seed: 1 });
const b = await Stack.create({ timeWait: TIME_WAIT, seed: 2 });
const [la, lb] = createPair();
a.addInterface(la, { ip: '10.0.0.1/24' });
b.addInterface(lb, { ip: '10.0.0.2/24' });
const t0 = performance.now();
const rows = [];

function sample(label) {
  const ma = a.memory();
  const mb = b.memory();
  const m = process.memoryUsage();
  const row = {
    label, s: ((performance.now() - t0) / 1000).toFixed(1),
    poolsA: ma.poolsInUse, poolsB: mb.poolsInUse, socketsA: ma.sockets, socketsB: mb.sockets,
    wasmHeapA: ma.heapBytes, wasmHeapB: mb.heapBytes, jsHeapMiB: (m.heapUsed / 2 ** 20).toFixed(1), rssMiB: (m.rss / 2 ** 20).toFixed(0),
  };
  rows.push(row);
  console.log(`${label.padEnd(24)} ${row.s.padStart(7)} s  pools ${String(row.poolsA).padStart(5)}/${String(row.poolsB).padEnd(5)} ` +
    `sockets ${String(row.socketsA).padStart(4)}/${String(row.socketsB).padEnd(4)} wasm heap ${(row.wasmHeapA / 1024).toFixed(0).padStart(6)}/${(row.wasmHeapB / 1024).toFixed(0).padEnd(6)} KiB  ` +
    `js heap ${row.jsHeapMiB.padStart(6)} MiB  rss ${row.rssMiB.padStart(5)} MiB`);
  return row;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Waits for TIME_WAIT to pass and the pools to settle back to base (at most 10 s). */
async function settle(base) {
  const end = performance.now() + 10_000;
  await sleep(TIME_WAIT + 200);
  while (performance.now() < end) {
    const ma = a.memory();
    const mb = b.memory();
    if (ma.poolsInUse === base.poolsA && mb.poolsInUse === base.poolsB && ma.sockets === 0 && mb.sockets === 0) return;
    await sleep(100);
  }
}

const base = sample('start');
const listener = b.socket(AF_INET, SOCK_STREAM);
listener.bind('0.0.0.0', 80);
listener.listen(255);

// --- phase 1: connections ---------------------------------------------------------------------
const server = (async () => {
  for (let served = 0; served < CONNECTIONS; served++) {
    const s = await listener.accept();
    (async () => {
      const req = await s.recv();
      await s.send(req); // echo, then close; the client closes too
      s.close();
    })().catch((e) => {
      console.error('server side:', e.message);
    });
  }
})();
let opened = 0;
const every = Math.max(1, Math.floor(CONNECTIONS / 20));
async function client() {
  while (opened < CONNECTIONS) {
    const n = opened++;
    const c = a.socket(AF_INET, SOCK_STREAM);
    await c.connect('10.0.0.2', 80);
    await c.send(`hello ${n}`);
    const back = await c.recv();
    if (new TextDecoder().decode(back) !== `hello ${n}`) throw new Error(`connection ${n}: bad echo`);
    c.close();
    if ((n + 1) % every === 0) sample(`${n + 1} connections`);
  }
}
await Promise.all(Array.from({ length: PARALLEL }, client));
await server;
listener.close();
const connSeconds = (performance.now() - t0) / 1000;
console.log(`${CONNECTIONS} connections opened, echoed and closed in ${connSeconds.toFixed(1)} s (${(CONNECTIONS / connSeconds).toFixed(0)}/s)`);
await settle(base);
const afterConnections = sample('connections settled');

// --- phase 2: volume ----------------------------------------------------------------------------
const TOTAL = GIB * 2 ** 30;
const chunk = new Uint8Array(256 * 1024);
for (let i = 0; i < chunk.length; i++) chunk[i] = i * 7;
const t1 = performance.now();
const l2 = b.socket(AF_INET, SOCK_STREAM);
l2.bind('0.0.0.0', 80);
l2.listen(1);
const c = a.socket(AF_INET, SOCK_STREAM);
const accepted = l2.accept();
await c.connect('10.0.0.2', 80);
const s = await accepted;
const sampleEvery = TOTAL / 20;
let nextSample = sampleEvery;
const reader = (async () => {
  let got = 0;
  for (;;) {
    const d = await s.recv(256 * 1024);
    if (d.length === 0) return got;
    got += d.length;
    if (got >= nextSample) {
      nextSample += sampleEvery;
      sample(`${(got / 2 ** 20).toFixed(0)} MiB moved`);
    }
  }
})();
for (let sent = 0; sent < TOTAL; sent += chunk.length) await c.send(chunk);
c.shutdown(SHUT_WR);
const moved = await reader;
const volSeconds = (performance.now() - t1) / 1000;
console.log(`${(moved / 2 ** 30).toFixed(2)} GiB moved in ${volSeconds.toFixed(1)} s (${(moved / 1e6 / volSeconds).toFixed(0)} MB/s)`);
s.close();
c.close();
l2.close();
await settle(base);
const end = sample('end (all closed)');

// Pools and sockets must be exactly back. The wasm heap keeps the I/O buffers that grew
// to the largest batch and write (a plateau reached early); it must not grow after that.
const peakHeap = Math.max(...rows.map((r) => r.wasmHeapA + r.wasmHeapB));
const back = end.poolsA === base.poolsA && end.poolsB === base.poolsB && end.socketsA === 0 && end.socketsB === 0 &&
  afterConnections.poolsA === base.poolsA && afterConnections.poolsB === base.poolsB &&
  afterConnections.socketsA === 0 && afterConnections.socketsB === 0 && end.wasmHeapA + end.wasmHeapB <= peakHeap;
console.log(`pools ${base.poolsA}/${base.poolsB} at start, ${afterConnections.poolsA}/${afterConnections.poolsB} after the connections, ` +
  `${end.poolsA}/${end.poolsB} at the end; wasm heap ${base.wasmHeapA}/${base.wasmHeapB} at start, ` +
  `${afterConnections.wasmHeapA}/${afterConnections.wasmHeapB} after the connections, ${end.wasmHeapA}/${end.wasmHeapB} at the end ` +
  `(peak ${peakHeap} for both)`);
console.log(back ? 'PASS: back to baseline' : 'FAIL: not back to baseline');
a.dispose();
b.dispose();
process.exit(back ? 0 : 1);
