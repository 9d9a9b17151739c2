// Request/response: 1-byte ping-pong over one TCP connection. Round trips per second
// and per-round-trip latency (p50/p99), beside Node net over kernel loopback.
import net from 'node:net';
import { QUICK, arg, interleave, row, emit, twoStacks, within, percentile, lw } from '../lib.mjs';

const { AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_NODELAY } = lw;

const ROUNDS = arg('rounds', QUICK ? 3000 : 20000);
const REPS = arg('reps', QUICK ? 2 : 5);
const one = new Uint8Array([1]);

async function ours() {
  const { a, b, dispose } = await twoStacks();
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 7);
  l.listen(1);
  const c = a.socket(AF_INET, SOCK_STREAM);
  const acc = l.accept();
  await c.connect('10.0.0.2', 7);
  const s = await acc;
  c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
  const server = (async () => {
    for (let i = 0; i < ROUNDS; i++) {
      await s.recv(1);
      s.sendSync(one);
    }
  })();
  const lat = new Float64Array(ROUNDS);
  const t0 = performance.now();
  await within(120_000, (async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      c.sendSync(one);
      await c.recv(1);
      lat[i] = performance.now() - t;
    }
  })(), 'lwip-wasm ping-pong');
  const ms = performance.now() - t0;
  await server;
  dispose();
  return { rate: ROUNDS / (ms / 1000), lat };
}

async function nodeNet() {
  const server = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('data', (d) => { for (let i = 0; i < d.length; i++) sock.write(one); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect(server.address().port, '127.0.0.1');
  c.setNoDelay(true);
  await new Promise((r) => c.on('connect', r));
  let wake;
  c.on('data', () => wake());
  const lat = new Float64Array(ROUNDS);
  const t0 = performance.now();
  await within(120_000, (async () => {
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now();
      const got = new Promise((r) => { wake = r; });
      c.write(one);
      await got;
      lat[i] = performance.now() - t;
    }
  })(), 'node net ping-pong');
  const ms = performance.now() - t0;
  c.destroy();
  server.close();
  return { rate: ROUNDS / (ms / 1000), lat };
}

const runs = await interleave(REPS, { 'lwip-wasm': ours, 'node net': nodeNet });
const pick = (f) => Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map(f)]));
emit([
  row('ping-pong, 1 byte', 'round trips', 'rt/s', 'higher', pick((r) => r.rate), { vs: 'node net', ratio: 1.0 }),
  row('ping-pong, 1 byte', 'latency p50', 'µs', 'lower', pick((r) => percentile(r.lat, 50) * 1000)),
  row('ping-pong, 1 byte', 'latency p99', 'µs', 'lower', pick((r) => percentile(r.lat, 99) * 1000)),
]);
