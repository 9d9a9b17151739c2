// Poll readiness through a TCP connection's life, and poll()'s timeout and abort rules.
// Expected bits are what Linux's tcp_poll() reports in each state.
import {
  AF_INET, AF_INET6, SOCK_STREAM, SHUT_WR, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, throwsCode, readExactly, text, pollFor, assertEvents,
  pollNames, sleep, randomBytes,
} from './helpers.mjs';

const ALL = POLLIN | POLLOUT | POLLRDHUP;
const ev = (stack, socket, events = ALL) => stack.pollSync([{ socket, events }])[0];

it('readiness through a connection: fresh, connecting, connected, data, peer FIN, both shut, closed', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const port = l.getsockname().port;
    assertEvents(ev(net.b, l), 0, 'listener with nothing pending');

    const c = net.a.socket(AF_INET, SOCK_STREAM);
    // Linux: a fresh TCP socket is in CLOSE state: POLLOUT|POLLHUP
    assertEvents(ev(net.a, c), POLLOUT | POLLHUP, 'fresh socket');
    c.bind('0.0.0.0', 0);
    assertEvents(ev(net.a, c), POLLOUT | POLLHUP, 'bound socket');

    throwsCode(() => c.connectSync('10.0.0.2', port), 'EINPROGRESS', 'non-blocking connect');
    assertEvents(ev(net.a, c), 0, 'connecting (SYN_SENT): nothing, in particular no POLLOUT');

    const rev = await pollFor(net.a, c, POLLOUT, 2000);
    assertEvents(rev, POLLOUT, 'poll wakes with POLLOUT when the connect completes');
    assert.is(c.takeError(), null, 'connect succeeded');
    assertEvents(ev(net.a, c), POLLOUT, 'connected, nothing to read');

    const lrev = await pollFor(net.b, l, POLLIN, 2000);
    assertEvents(lrev, POLLIN, 'listener with a pending connection');
    const conn = l.acceptSync();
    assertEvents(ev(net.b, l), 0, 'listener after accept');
    assertEvents(ev(net.b, conn), POLLOUT, 'accepted connection');

    await conn.send('hi');
    const r1 = await pollFor(net.a, c, POLLIN, 2000);
    assertEvents(r1, POLLIN, 'poll wakes with POLLIN when data arrives');
    assertEvents(ev(net.a, c), POLLIN | POLLOUT, 'data waiting');
    assert.is(text(c.recvSync()), 'hi');
    assertEvents(ev(net.a, c), POLLOUT, 'data read');

    conn.shutdown(SHUT_WR);
    assertEvents(ev(net.b, conn), POLLOUT, 'server after its own SHUT_WR (Linux: POLLOUT, no HUP)');
    const r2 = await pollFor(net.a, c, POLLRDHUP, 2000);
    assertEvents(r2, POLLRDHUP, 'poll wakes with POLLRDHUP on the peer FIN');
    assertEvents(ev(net.a, c), POLLIN | POLLOUT | POLLRDHUP, 'peer shut its side');
    assert.is(c.recvSync().length, 0, 'EOF');
    assertEvents(ev(net.a, c), POLLIN | POLLOUT | POLLRDHUP, 'after reading EOF: still readable (EOF)');

    c.shutdown(SHUT_WR);
    assertEvents(ev(net.a, c), POLLIN | POLLOUT | POLLRDHUP | POLLHUP, 'both directions shut');
    const r3 = await pollFor(net.b, conn, POLLRDHUP, 2000);
    assert.ok(r3 & POLLRDHUP, 'server sees the client FIN');
    assertEvents(ev(net.b, conn), POLLIN | POLLOUT | POLLRDHUP | POLLHUP, 'server: both directions shut');

    c.close();
    assertEvents(ev(net.a, c), POLLNVAL, 'closed socket in pollSync');
    assertEvents(ev(net.a, c, 0), POLLNVAL, 'POLLNVAL even when not asked for');
    const [rc] = await net.a.poll([{ socket: c, events: POLLIN }], 1000);
    assertEvents(rc, POLLNVAL, 'closed socket in poll');
    assert.is(c.events, POLLNVAL, 'socket.events of a closed socket');
    conn.close();
    l.close();
  } finally {
    net.dispose();
  }
});

it('a refused connect polls POLLERR|POLLHUP and POLLOUT; takeError clears POLLERR', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.socket(AF_INET6, SOCK_STREAM);
    throwsCode(() => c.connectSync('fd00::2', 1), 'EINPROGRESS', 'connect to a closed port');
    const rev = await pollFor(net.a, c, POLLOUT, 2000);
    assert.ok(rev & POLLERR, `POLLERR after the RST, got ${pollNames(rev)}`);
    assertEvents(ev(net.a, c), POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, 'refused (Linux: CLOSE, all shut, sk_err)');
    assert.is(c.takeError().code, 'ECONNREFUSED');
    assertEvents(ev(net.a, c), POLLIN | POLLOUT | POLLRDHUP | POLLHUP, 'after SO_ERROR is read');
    c.close();
  } finally {
    net.dispose();
  }
});

it('poll reports each entry on its own', async () => {
  const net = await twoStacks();
  try {
    const [c1, s1, l] = await connectPair(net.a, net.b);
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    await c2.connect('10.0.0.2', l.getsockname().port);
    const s2 = await l.accept();
    await s2.send('two');
    await pollFor(net.a, c2, POLLIN, 2000);
    const revs = await net.a.poll([
      { socket: c1, events: POLLIN },
      { socket: c2, events: POLLIN },
      { socket: c1, events: POLLOUT },
    ], 1000);
    assert.equal(revs.map(pollNames), ['0', 'POLLIN', 'POLLOUT']);
    for (const s of [c1, c2, s1, s2, l]) s.close();
  } finally {
    net.dispose();
  }
});

it('poll timeout 0 returns at once', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.listen();
    const t0 = performance.now();
    const revs = await net.b.poll([{ socket: l, events: POLLIN }], 0);
    const dt = performance.now() - t0;
    assert.equal(revs, [0]);
    assert.ok(dt < 20, `timeout 0 took ${dt.toFixed(1)} ms`);
    l.close();
  } finally {
    net.dispose();
  }
});

it('poll with a positive timeout resolves all zeros after about that time', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b);
    const t0 = performance.now();
    const revs = await net.a.poll([{ socket: c, events: POLLIN }, { socket: c, events: POLLRDHUP }], 250);
    const dt = performance.now() - t0;
    assert.equal(revs, [0, 0]);
    assert.ok(dt >= 245 && dt < 750, `poll(250) returned after ${dt.toFixed(0)} ms`);
    for (const x of [c, s, l]) x.close();
  } finally {
    net.dispose();
  }
});

it('poll with -1 waits until an event', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    const t0 = performance.now();
    setTimeout(() => c.connect('10.0.0.2', l.getsockname().port).catch(() => {}), 300);
    const revs = await net.b.poll([{ socket: l, events: POLLIN }], -1);
    const dt = performance.now() - t0;
    assert.equal(revs, [POLLIN]);
    assert.ok(dt >= 295, `poll(-1) woke after ${dt.toFixed(0)} ms, before anything happened`);
    const conn = l.acceptSync();
    for (const s of [conn, c, l]) s.close();
  } finally {
    net.dispose();
  }
});

it('poll wakes when a waiting socket is closed (POLLNVAL)', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b);
    setTimeout(() => c.close(), 50);
    const revs = await net.a.poll([{ socket: c, events: POLLIN }], 2000);
    assert.equal(revs.map(pollNames), ['POLLNVAL']);
    s.close();
    l.close();
  } finally {
    net.dispose();
  }
});

it('an AbortSignal aborts a poll with its reason', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b);
    const ac = new AbortController();
    const reason = new Error('poll aborted');
    setTimeout(() => ac.abort(reason), 50);
    const t0 = performance.now();
    let caught;
    try {
      await net.a.poll([{ socket: c, events: POLLIN }], -1, { signal: ac.signal });
    } catch (err) {
      caught = err;
    }
    assert.is(caught, reason, 'rejects with the reason');
    assert.ok(performance.now() - t0 < 1000, 'promptly');
    // the socket is unaffected
    await s.send('after');
    assert.is(text(await readExactly(c, 5)), 'after');
    for (const x of [c, s, l]) x.close();
  } finally {
    net.dispose();
  }
});

it('an already-aborted AbortSignal rejects a poll at once', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b);
    const ac = new AbortController();
    const reason = new Error('aborted before the call');
    ac.abort(reason);
    const t0 = performance.now();
    let caught;
    let value;
    try {
      value = await net.a.poll([{ socket: c, events: POLLIN }], 500, { signal: ac.signal });
    } catch (err) {
      caught = err;
    }
    const dt = performance.now() - t0;
    assert.is(caught, reason,
      `want a rejection with the reason; got ${caught === undefined ? `resolved ${JSON.stringify(value)}` : String(caught)} after ${dt.toFixed(0)} ms`);
    assert.ok(dt < 100, `rejected after ${dt.toFixed(0)} ms`);
    for (const x of [c, s, l]) x.close();
  } finally {
    net.dispose();
  }
});

it('POLLOUT comes back once a full send buffer drains', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b);
    const chunk = randomBytes(64 * 1024, 4);
    let queued = 0;
    for (;;) {
      try {
        queued += c.sendSync(chunk);
      } catch (err) {
        if (err.code !== 'EAGAIN') throw err;
        break;
      }
      if (queued > 64 * 1024 * 1024) throw new Error('send never blocked');
    }
    assert.is(ev(net.a, c, POLLOUT), 0, 'no POLLOUT while the send buffer is full');
    const waiting = net.a.poll([{ socket: c, events: POLLOUT }], 5000);
    // the peer reads everything that was queued
    let read = 0;
    while (read < queued) read += (await s.recv(256 * 1024)).length;
    const [rev] = await waiting;
    assertEvents(rev, POLLOUT, 'POLLOUT after the peer read');
    assert.is(read, queued);
    for (const x of [c, s, l]) x.close();
  } finally {
    net.dispose();
  }
});

test.run();
