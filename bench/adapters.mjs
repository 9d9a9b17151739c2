// What the adapters cost: bulk TCP between two stacks over an in-memory pair, moved
// three ways in one run: the sockets API (send/recv), stack.net (write/'data', as
// node:net code does) and web streams (stack.connect/stack.listen). Prints MB/s each and
// the ratio to the sockets API; the figures are noisy, so compare the ratios.
// Usage: node bench/adapters.mjs [--mib N] [--runs R]
import { once } from 'node:events';
import { Stack, createPair, AF_INET, SOCK_STREAM } from '../dist/node.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = arg('mib', 64);
const RUNS = arg('runs', 3);
const TOTAL = MIB * 1024 * 1024;
const chunk = new Uint8Array(64 * 1024).fill(7);

async function stacks() {
  const [la, lb] = createPair();
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  return { a, b, dispose: () => (a.dispose(), b.dispose()) };
}

/** Runs fn(a, b) -> Promise of elapsed ms; returns MB/s. */
async function measure(fn) {
  const s = await stacks();
  try {
    const ms = await fn(s.a, s.b);
    return TOTAL / 1e6 / (ms / 1000);
  } finally {
    s.dispose();
  }
}

const ways = {
  async sockets(a, b) {
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
    return performance.now() - t0;
  },

  async 'stack.net'(a, b) {
    const server = b.net.createServer();
    server.listen(5001);
    await once(server, 'listening');
    const accepted = once(server, 'connection');
    const c = a.net.connect(5001, '10.0.0.2');
    await once(c, 'connect');
    const [s] = await accepted;
    const t0 = performance.now();
    const done = new Promise((resolve) => {
      let got = 0;
      s.on('data', (d) => {
        got += d.length;
        if (got >= TOTAL) resolve();
      });
    });
    for (let sent = 0; sent < TOTAL; sent += chunk.length) {
      if (!c.write(chunk)) await once(c, 'drain');
    }
    await done;
    const ms = performance.now() - t0;
    c.destroy();
    server.close();
    return ms;
  },

  async 'web streams'(a, b) {
    const listener = b.listen({ port: 5001 });
    const accepted = listener.accept();
    const c = a.connect('10.0.0.2:5001');
    await c.opened;
    const s = await accepted;
    const t0 = performance.now();
    const reader = (async () => {
      let got = 0;
      for await (const d of s.readable) {
        got += d.length;
        if (got >= TOTAL) break;
      }
    })();
    const w = c.writable.getWriter();
    for (let sent = 0; sent < TOTAL; sent += chunk.length) {
      await w.ready;
      w.write(chunk);
    }
    await reader;
    const ms = performance.now() - t0;
    await c.close();
    listener.close();
    return ms;
  },
};

console.log(`${MIB} MiB, 64 KiB writes, MTU 1500, best of ${RUNS}`);
const best = {};
for (let r = 0; r < RUNS; r++) {
  for (const [name, fn] of Object.entries(ways)) best[name] = Math.max(best[name] ?? 0, await measure(fn));
}
const base = best.sockets;
for (const [name, mbs] of Object.entries(best)) {
  console.log(`${name.padEnd(12)} ${mbs.toFixed(0).padStart(5)} MB/s   ${(mbs / base).toFixed(2)}x the sockets API`);
}
