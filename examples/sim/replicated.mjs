// A three-node replicated log under a partition, tested with node:test.
// Run: node --test examples/sim/replicated.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetwork } from 'lwip-wasm/sim';

const NODES = ['n1', 'n2', 'n3'];
const PORT = 7000;

// The service under test. Each node keeps a log; a write to any node is sent to the
// others and answered once a majority (2 of 3) has it. Every 500 ms each node asks its
// peers for their logs and takes what it lacks, so a node that was away catches up.
// It is ordinary node:net code with setTimeout and setInterval: on a host's stack, and
// on the network's virtual clock while net.run() runs.
async function replica(host) {
  const log = new Map(); // id -> value
  let seq = 0;
  const peers = NODES.filter((n) => n !== host.name);
  const handle = async (msg) => {
    if (msg.op === 'read') return { log: [...log].map(([id, value]) => ({ id, value })) };
    if (msg.op === 'replicate') {
      log.set(msg.id, msg.value);
      return { ok: true };
    }
    // append: a majority or nothing
    const id = `${host.name}-${++seq}`;
    const acks = await Promise.allSettled(peers.map((p) => call(host, p, { op: 'replicate', id, value: msg.value }, 1000)));
    if (1 + acks.filter((a) => a.status === 'fulfilled').length < 2) return { ok: false, error: 'no quorum' };
    log.set(id, msg.value);
    return { ok: true, id };
  };
  host.stack.net.createServer((sock) => {
    let buf = '';
    sock.on('data', async (d) => {
      buf += d;
      if (!buf.endsWith('\n')) return;
      sock.end(`${JSON.stringify(await handle(JSON.parse(buf)))}\n`);
    });
    sock.on('error', () => {});
  }).listen(PORT);
  const sync = setInterval(async () => {
    for (const p of peers) {
      const theirs = await call(host, p, { op: 'read' }, 400).catch(() => ({ log: [] }));
      for (const e of theirs.log) if (!log.has(e.id)) log.set(e.id, e.value);
    }
  }, 500);
  host.signal.addEventListener('abort', () => clearInterval(sync));
}

// One request over node:net: a JSON line out, a JSON line back, or an error after ms.
function call(host, to, msg, ms) {
  return new Promise((resolve, reject) => {
    const sock = host.stack.net.connect({ host: to, port: PORT }); // the name through the host's DNS
    let buf = '';
    sock.setTimeout(ms, () => sock.destroy(new Error(`${to} timed out`)));
    sock.on('connect', () => sock.write(`${JSON.stringify(msg)}\n`));
    sock.on('data', (d) => (buf += d));
    sock.on('end', () => resolve(JSON.parse(buf)));
    sock.on('error', reject);
  });
}

test('a write needs a majority; the node cut off cannot write, and catches up after the repair', async () => {
  const net = await createNetwork({
    seed: 1,
    hosts: { n1: 'lan', n2: 'lan', n3: 'lan', client: 'lan' },
    software: { n1: replica, n2: replica, n3: replica },
  });
  try {
    await net.run(async () => {
      const client = net.host('client');
      assert.equal((await call(client, 'n1', { op: 'append', value: 'a' }, 5000)).ok, true);

      net.partition('n3', ['n1', 'n2']); // n3 alone; the client still reaches everyone
      assert.equal((await call(client, 'n2', { op: 'append', value: 'b' }, 5000)).ok, true);
      assert.deepEqual(await call(client, 'n3', { op: 'append', value: 'c' }, 5000), { ok: false, error: 'no quorum' });
      const behind = await call(client, 'n3', { op: 'read' }, 5000);
      assert.deepEqual(behind.log.map((e) => e.value), ['a']);

      net.repair();
      await new Promise((r) => setTimeout(r, 2000)); // a few rounds of catching up
      for (const n of NODES) {
        const { log } = await call(client, n, { op: 'read' }, 5000);
        assert.deepEqual(log.map((e) => e.value).sort(), ['a', 'b'], `${n}'s log`);
      }
    });
    assert.deepEqual(net.errors, []);
  } finally {
    net.close();
  }
});
