// Connection churn: connect, one 100-byte request and reply, close; one connection at
// a time. Connections per second, beside Node net over kernel loopback.
import net from 'node:net';
import { QUICK, arg, interleave, row, emit, twoStacks, within, lw } from '../lib.mjs';

const { AF_INET, SOCK_STREAM, MSG_WAITALL } = lw;

const CONNS = arg('conns', QUICK ? 500 : 3000);
const REPS = arg('reps', QUICK ? 2 : 5);
const msg = new Uint8Array(100).fill(0x61);

async function ours() {
  const { a, b, dispose } = await twoStacks();
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 80);
  l.listen(128);
  const server = (async () => {
    for (let i = 0; i < CONNS; i++) {
      const s = await l.accept();
      await s.recv(100, { flags: MSG_WAITALL });
      await s.send(msg);
      s.close();
    }
  })();
  const t0 = performance.now();
  await within(120_000, (async () => {
    for (let i = 0; i < CONNS; i++) {
      const c = a.socket(AF_INET, SOCK_STREAM);
      await c.connect('10.0.0.2', 80);
      await c.send(msg);
      await c.recv(100, { flags: MSG_WAITALL });
      c.close();
    }
  })(), 'lwip-wasm churn');
  const ms = performance.now() - t0;
  await server;
  dispose();
  return CONNS / (ms / 1000);
}

async function nodeNet() {
  const server = net.createServer((sock) => {
    let got = 0;
    sock.on('data', (d) => {
      got += d.length;
      if (got >= 100) sock.end(msg);
    });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const port = server.address().port;
  const t0 = performance.now();
  await within(120_000, (async () => {
    for (let i = 0; i < CONNS; i++) {
      await new Promise((resolve, reject) => {
        const c = net.connect(port, '127.0.0.1', () => c.write(msg));
        let got = 0;
        c.on('data', (d) => {
          got += d.length;
          if (got >= 100) {
            c.destroy();
            resolve();
          }
        });
        c.on('error', reject);
      });
    }
  })(), 'node net churn');
  const ms = performance.now() - t0;
  server.close();
  return CONNS / (ms / 1000);
}

const s = await interleave(REPS, { 'lwip-wasm': ours, 'node net': nodeNet });
emit([row('churn: connect, 100 B each way, close', 'connections', 'conn/s', 'higher', s, { vs: 'node net', ratio: 2 },
  `${CONNS} sequential connections`)]);
