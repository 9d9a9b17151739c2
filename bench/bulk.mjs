// Bulk TCP throughput between two stacks over an in-memory pair, beside Node's own
// `net` over kernel loopback in the same run. Prints MB/s and the ratio.
// Usage: node bench/bulk.mjs [--mib N] [--mtu M] [--runs R]
import net from 'node:net';
import { Stack, createPair, AF_INET, SOCK_STREAM } from '../dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = arg('mib', 64);
const MTU = arg('mtu', 1500);
const RUNS = arg('runs', 3);
const TOTAL = MIB * 1024 * 1024;
const chunk = new Uint8Array(64 * 1024).fill(7);

async function stackRun() {
  const [la, lb] = createPair({ mtu: MTU });
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 5001);
  l.listen(1);
  const c = a.socket(AF_INET, SOCK_STREAM);
  const acc = l.accept();
  await c.connect('10.0.0.2', 5001);
  const s = await acc;
  const t0 = performance.now();
  const reader = (async () => {
    let got = 0;
    while (got < TOTAL) got += (await s.recv(256 * 1024)).length;
  })();
  for (let sent = 0; sent < TOTAL; sent += chunk.length) await c.send(chunk);
  await reader;
  const ms = performance.now() - t0;
  a.dispose();
  b.dispose();
  return TOTAL / 1e6 / (ms / 1000);
}

async function nodeRun() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const done = new Promise((resolve) => {
    server.on('connection', (sock) => {
      let got = 0;
      sock.on('data', (d) => {
        got += d.length;
        if (got >= TOTAL) resolve();
      });
    });
  });
  const c = net.connect(server.address().port, '127.0.0.1');
  await new Promise((r) => c.on('connect', r));
  const t0 = performance.now();
  for (let sent = 0; sent < TOTAL; sent += chunk.length) {
    if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
  }
  await done;
  const ms = performance.now() - t0;
  c.destroy();
  server.close();
  return TOTAL / 1e6 / (ms / 1000);
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const ours = [];
const theirs = [];
for (let i = 0; i < RUNS; i++) {
  ours.push(await stackRun());
  theirs.push(await nodeRun());
}
const o = median(ours);
const n = median(theirs);
console.log(`bulk TCP, ${MIB} MiB, MTU ${MTU}, ${RUNS} runs interleaved`);
console.log(`  lwip-wasm pair : ${o.toFixed(0)} MB/s (median)`);
console.log(`  node net lo    : ${n.toFixed(0)} MB/s (median)`);
console.log(`  ratio          : ${(o / n).toFixed(2)}x`);
