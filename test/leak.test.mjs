// Leak checks: after a workload every lwIP pool element and socket structure must come
// back once TIME_WAIT (shortened to 200 ms here) has passed.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_WR, POLLIN, Stack,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, randomBytes, readExactly, readToEof, drainToEof, text,
  rejectsCode, throwsCode, pollFor, sleep, sha256,
} from './helpers.mjs';

const TIME_WAIT = 200;

function snapshot(net) {
  return { a: net.a.memory(), b: net.b.memory() };
}

function settled(now, base) {
  return ['a', 'b'].every((k) => now[k].poolsInUse === base[k].poolsInUse && now[k].sockets === base[k].sockets);
}

/** Polls memory() until it is back at base, for at most ms; returns the last snapshot. */
async function settle(net, base, ms) {
  const end = performance.now() + ms;
  for (;;) {
    const now = snapshot(net);
    if (settled(now, base) || performance.now() >= end) return now;
    await sleep(25);
  }
}

function poolDiff(now, base) {
  const out = {};
  for (const name of new Set([...Object.keys(now.pools), ...Object.keys(base.pools)])) {
    const d = (now.pools[name] ?? 0) - (base.pools[name] ?? 0);
    if (d !== 0) out[name] = d;
  }
  return out;
}

function assertBack(now, base, what) {
  for (const k of ['a', 'b']) {
    const n = now[k];
    const b = base[k];
    const detail = `stack ${k} after ${what}: poolsInUse ${n.poolsInUse} (start ${b.poolsInUse}), ` +
      `sockets ${n.sockets} (start ${b.sockets}); pools above start ${JSON.stringify(poolDiff(n, b))}; ` +
      `pools now ${JSON.stringify(n.pools)}`;
    assert.is(n.poolsInUse, b.poolsInUse, detail);
    assert.is(n.sockets, b.sockets, detail);
  }
}

// --- workloads -------------------------------------------------------------------------

async function echo(net, family, whoClosesFirst) {
  const [c, s, l] = await connectPair(net.a, net.b, { family });
  const msg = randomBytes(20_000, 21);
  await c.send(msg);
  const got = await readExactly(s, msg.length);
  await s.send(got);
  const back = await readExactly(c, msg.length);
  assert.is(sha256(back), sha256(msg), `echo IPv${family}`);
  l.close();
  if (whoClosesFirst === 'client') {
    c.close();
    assert.is((await s.recv()).length, 0, 'server sees EOF');
    s.close();
  } else if (whoClosesFirst === 'server') {
    s.close();
    assert.is((await c.recv()).length, 0, 'client sees EOF');
    c.close();
  } else {
    c.close();
    s.close(); // simultaneous close
  }
}

async function halfClose(net) {
  const [c, s, l] = await connectPair(net.a, net.b, { family: 6 });
  await c.send('question');
  c.shutdown(SHUT_WR);
  assert.is(text(await readToEof(s)), 'question');
  await s.send('answer');
  s.shutdown(SHUT_WR);
  assert.is(text(await readToEof(c)), 'answer');
  c.close();
  s.close();
  l.close();
}

async function bulk(net) {
  const [c, s, l] = await connectPair(net.a, net.b);
  const data = randomBytes(2 * 1024 * 1024, 31);
  const [, got] = await Promise.all([c.send(data).then(() => c.shutdown(SHUT_WR)), drainToEof(s)]);
  assert.is(got.hash, sha256(data));
  s.close();
  c.close();
  l.close();
}

async function resetByServer(net) {
  const [c, s, l] = await connectPair(net.a, net.b);
  await c.send('you will not read this');
  await pollFor(net.b, s, POLLIN, 2000);
  s.close(); // unread data: RST
  await pollFor(net.a, c, 0, 2000);
  throwsCode(() => c.recvSync(), 'ECONNRESET', 'client after the RST');
  c.close();
  l.close();
}

async function resetByClient(net) {
  const [c, s, l] = await connectPair(net.a, net.b, { family: 6 });
  await s.send('unread by the client');
  await pollFor(net.a, c, POLLIN, 2000);
  c.close();
  await pollFor(net.b, s, 0, 2000);
  throwsCode(() => s.sendSync('x'), 'ECONNRESET', 'server after the RST');
  s.close();
  l.close();
}

async function closeWithUnsentData(net) {
  // the client closes with lots still queued; the server never reads and closes too
  const [c, s, l] = await connectPair(net.a, net.b);
  const chunk = randomBytes(256 * 1024, 41);
  let queued = 0;
  for (let i = 0; i < 64; i++) {
    try {
      queued += c.sendSync(chunk);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      break;
    }
  }
  assert.ok(queued > 0);
  c.close();
  await sleep(20);
  s.close();
  l.close();
}

async function refused(net) {
  for (const [domain, addr] of [[AF_INET, '10.0.0.2'], [AF_INET6, 'fd00::2'], [AF_INET, '127.0.0.1']]) {
    const c = net.a.socket(domain, SOCK_STREAM);
    await rejectsCode(c.connect(addr, 1), 'ECONNREFUSED', `connect ${addr}:1`);
    c.close();
  }
}

async function unacceptedQueue(net) {
  const l = net.b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 0);
  l.listen(8);
  const port = l.getsockname().port;
  const clients = [0, 1, 2].map(() => net.a.socket(AF_INET, SOCK_STREAM));
  await Promise.all(clients.map((c) => c.connect('10.0.0.2', port)));
  await clients[0].send('queued data');
  await sleep(20);
  l.close(); // the three queued connections are reset
  for (const c of clients) {
    await pollFor(net.a, c, 0, 2000);
    c.close();
  }
}

async function closedWhileConnecting(net) {
  const l = net.b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 0);
  l.listen();
  const c = net.a.socket(AF_INET, SOCK_STREAM);
  throwsCode(() => c.connectSync('10.0.0.2', l.getsockname().port), 'EINPROGRESS', 'connect');
  c.close(); // before the SYN-ACK comes back
  await sleep(50);
  // whatever the server got is reset or was never completed; drain its queue
  for (;;) {
    try {
      l.acceptSync().close();
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
      break;
    }
  }
  l.close();
}

async function loopback(net) {
  const [c, s, l] = await connectPair(net.a, net.a, { address: '127.0.0.1' });
  await c.send('loop');
  assert.is(text(await readExactly(s, 4)), 'loop');
  c.close();
  s.close();
  l.close();
  const [c6, s6, l6] = await connectPair(net.a, net.a, { family: 6, address: '::1' });
  s6.close();
  assert.is((await c6.recv()).length, 0);
  c6.close();
  l6.close();
}

async function udp(net) {
  const rx = net.b.socket(AF_INET, SOCK_DGRAM);
  rx.bind('0.0.0.0', 5353);
  const tx = net.a.socket(AF_INET, SOCK_DGRAM);
  for (let i = 0; i < 10; i++) await tx.sendto(`datagram ${i}`, '10.0.0.2', 5353);
  const first = await rx.recvfrom();
  assert.is(text(first.data), 'datagram 0');
  assert.is(first.address, '10.0.0.1');
  // to a port nobody listens on (ICMP port unreachable comes back)
  await tx.sendto('nobody home', '10.0.0.2', 5354);
  // connected UDP over IPv6
  const rx6 = net.b.socket(AF_INET6, SOCK_DGRAM);
  rx6.bind('::', 5355);
  const tx6 = net.a.socket(AF_INET6, SOCK_DGRAM);
  await tx6.connect('fd00::2', 5355);
  await tx6.send('six');
  assert.is(text((await rx6.recvfrom()).data), 'six');
  await sleep(20);
  // close with unread datagrams still queued on rx
  for (const s of [rx, tx, rx6, tx6]) s.close();
}

// --- tests -----------------------------------------------------------------------------

it('every pool and socket comes back after a mixed TCP/UDP workload', async () => {
  const net = await twoStacks({ timeWait: TIME_WAIT });
  try {
    const base = snapshot(net);
    await echo(net, 4, 'client');
    await echo(net, 6, 'server');
    await echo(net, 4, 'both');
    await halfClose(net);
    await bulk(net);
    await resetByServer(net);
    await resetByClient(net);
    await closeWithUnsentData(net);
    await refused(net);
    await unacceptedQueue(net);
    await closedWhileConnecting(net);
    await loopback(net);
    await udp(net);
    const now = await settle(net, base, 4000);
    assertBack(now, base, 'the mixed workload');
  } finally {
    net.dispose();
  }
}, 30_000);

it('32 connections at once, closed from alternating sides, leave nothing behind', async () => {
  const net = await twoStacks({ timeWait: TIME_WAIT });
  try {
    const base = snapshot(net);
    await Promise.all(Array.from({ length: 32 }, (_, i) => echo(net, i % 2 ? 6 : 4, i % 3 === 0 ? 'client' : i % 3 === 1 ? 'server' : 'both')));
    const during = snapshot(net);
    assert.ok(during.a.poolsInUse + during.b.poolsInUse > base.a.poolsInUse + base.b.poolsInUse,
      'TIME_WAIT holds pcbs right after the closes (the check can see them)');
    const now = await settle(net, base, 4000);
    assertBack(now, base, '32 concurrent echo connections');
  } finally {
    net.dispose();
  }
}, 30_000);

it('a connect that times out (no ARP answer) releases everything once ARP gives up', async () => {
  const net = await twoStacks({ timeWait: TIME_WAIT });
  try {
    const base = snapshot(net);
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(c.connect('10.0.0.99', 80, { timeout: 300 }), 'ETIMEDOUT', 'connect to a silent address');
    c.close();
    const c6 = net.a.socket(AF_INET6, SOCK_STREAM);
    await rejectsCode(c6.connect('fd00::99', 80, { timeout: 300 }), 'ETIMEDOUT', 'IPv6 connect to a silent address');
    c6.close();
    // ARP and ND hold the queued SYN until they give up (about 5 s in lwIP)
    const now = await settle(net, base, 9000);
    assertBack(now, base, 'timed-out connects');
  } finally {
    net.dispose();
  }
}, 15_000);

it('aborted waits and a closed-while-waiting socket leave nothing behind', async () => {
  const net = await twoStacks({ timeWait: TIME_WAIT });
  try {
    const base = snapshot(net);
    const [c, s, l] = await connectPair(net.a, net.b);
    const ac = new AbortController();
    const p = c.recv(100, { signal: ac.signal });
    ac.abort(new Error('x'));
    await p.catch(() => {});
    await rejectsCode(s.recv(100, { timeout: 30 }), 'EAGAIN', 'recv timeout');
    const pending = c.recv();
    c.close();
    await rejectsCode(pending, 'EBADF', 'recv across close');
    assert.is((await s.recv()).length, 0);
    s.close();
    l.close();
    const now = await settle(net, base, 4000);
    assertBack(now, base, 'aborted and interrupted waits');
  } finally {
    net.dispose();
  }
});

// A disposed stack stays reachable only until the next stack is made, or for 2 s
// (src/shapes.ts): after that a collection frees it, wasm memory and all.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
/** Collects garbage once the current job is over (a WeakRef holds its target until then). */
async function collect() {
  await new Promise((r) => setImmediate(r));
  gc();
}
/** A stack that ran a connection, disposed, and only weakly referred to. */
async function disposedStack() {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    await c.send(new Uint8Array([1]));
    await readExactly(s, 1);
    return new WeakRef(net.b);
  } finally {
    net.dispose();
  }
}

it('a disposed stack is freed once the next stack is made', async () => {
  const ref = await disposedStack();
  await collect();
  assert.ok(ref.deref() !== undefined, 'the last disposed stack is held until the next is made');
  const next = await Stack.create();
  try {
    await collect();
    assert.is(ref.deref(), undefined, 'nothing holds a disposed stack once another exists');
  } finally {
    next.dispose();
  }
});

it('a disposed stack is freed within 2 s when no other is made', async () => {
  const ref = await disposedStack();
  await sleep(2100);
  await collect();
  assert.is(ref.deref(), undefined, 'the hold ends after 2 s');
});

test.run();
