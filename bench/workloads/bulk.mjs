// Bulk TCP: 1 GiB (64 MiB with --quick) over one stream and over 8 streams at once,
// between two stacks on a pair, beside Node net and iperf3 over kernel loopback.
import net from 'node:net';
import { QUICK, arg, interleave, row, emit, twoStacks, within, lw } from '../lib.mjs';

const { AF_INET, SOCK_STREAM } = lw;
import { iperf3 } from './iperf3.mjs';

const TOTAL = arg('mib', QUICK ? 64 : 1024) * 1024 * 1024;
const REPS = arg('reps', QUICK ? 2 : 5);
const MTU = arg('mtu', 1500);
const WRITE = 64 * 1024;
const chunk = new Uint8Array(WRITE).fill(7);
const LIMIT_MS = 300_000;

async function ours(streams, mtu) {
  const { a, b, dispose } = await twoStacks({ mtu });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 5001);
  l.listen(streams);
  const pairs = [];
  for (let i = 0; i < streams; i++) {
    const c = a.socket(AF_INET, SOCK_STREAM);
    const acc = l.accept();
    await c.connect('10.0.0.2', 5001);
    pairs.push([c, await acc]);
  }
  const per = Math.floor(TOTAL / streams / WRITE) * WRITE;
  const t0 = performance.now();
  await within(LIMIT_MS, Promise.all(pairs.map(async ([c, s]) => {
    const reader = (async () => {
      let got = 0;
      while (got < per) {
        const d = await s.recv(256 * 1024);
        if (d.length === 0) throw new Error('early end of stream');
        got += d.length;
      }
    })();
    for (let sent = 0; sent < per; sent += WRITE) await c.send(chunk);
    await reader;
  })), 'lwip-wasm bulk');
  const ms = performance.now() - t0;
  dispose();
  return (per * streams) / 1e6 / (ms / 1000);
}

async function nodeNet(streams) {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const per = Math.floor(TOTAL / streams / WRITE) * WRITE;
  const done = [];
  server.on('connection', (sock) => {
    done.push(new Promise((resolve) => {
      let got = 0;
      sock.on('data', (d) => {
        got += d.length;
        if (got >= per) resolve();
      });
    }));
  });
  const clients = [];
  for (let i = 0; i < streams; i++) {
    const c = net.connect(server.address().port, '127.0.0.1');
    await new Promise((r) => c.on('connect', r));
    clients.push(c);
  }
  while (done.length < streams) await new Promise((r) => setImmediate(r));
  const t0 = performance.now();
  await within(LIMIT_MS, Promise.all(clients.map(async (c) => {
    for (let sent = 0; sent < per; sent += WRITE) {
      if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
    }
  }).concat(done)), 'node net bulk');
  const ms = performance.now() - t0;
  for (const c of clients) c.destroy();
  server.close();
  return (per * streams) / 1e6 / (ms / 1000);
}

const rows = [];
for (const streams of [1, 8]) {
  const s = await interleave(REPS, {
    'lwip-wasm': () => ours(streams, MTU),
    'node net': () => nodeNet(streams),
    iperf3: () => iperf3(TOTAL, streams),
  });
  rows.push(row(`bulk TCP, ${streams} stream${streams > 1 ? 's' : ''}, ${TOTAL >> 20} MiB`, 'throughput', 'MB/s',
    'higher', s, { vs: 'node net', ratio: 1.0 }, `pair MTU ${MTU}`));
}
// The same single stream over a jumbo pair (MTU 65517), so the MTU lever is visible.
const jumbo = await interleave(REPS, {
  'lwip-wasm': () => ours(1, 65517),
  'node net': () => nodeNet(1),
});
rows.push(row(`bulk TCP, 1 stream, ${TOTAL >> 20} MiB, jumbo pair`, 'throughput', 'MB/s', 'higher', jumbo,
  undefined, 'pair MTU 65517'));
emit(rows);
