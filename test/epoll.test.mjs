// epoll(7) and select(2) over a stack's sockets: the events Linux reports, level- and
// edge-triggered delivery, one-shot, the errors, and that a wait costs O(ready): with
// 10,000 idle sockets registered it returns just the ready one, as fast as with 10.
import {
  AF_INET, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_SNDBUF, SO_RCVBUF, SHUT_WR,
  EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP, EPOLLET, EPOLLONESHOT, EPOLLPRI,
} from '../dist/index.js';
import {
  it, test, assert, createStack, twoStacks, connectPair, throwsCode, rejectsCode, text, waitUntil, sleep,
  readExactly,
} from './helpers.mjs';

const NAMES = [[EPOLLIN, 'IN'], [EPOLLPRI, 'PRI'], [EPOLLOUT, 'OUT'], [EPOLLERR, 'ERR'], [EPOLLHUP, 'HUP'], [EPOLLRDHUP, 'RDHUP']];
const names = (bits) => NAMES.filter(([b]) => bits & b).map(([, n]) => n).join('|') || '0';
/** [fd-label, events] pairs of a wait's result, for exact comparisons. */
const summary = (evs, label = (e) => e.data) => evs.map((e) => `${label(e)}:${names(e.events)}`);

it('level-triggered: EPOLLIN while data is queued, EPOLLOUT when connected, user data per registration', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const ep = net.b.epoll();
    ep.add(s, EPOLLIN, 'server');
    assert.equal(ep.waitSync(), [], 'nothing to read');
    c.sendSync('hello');
    const evs = await ep.wait(8, 2000);
    assert.equal(summary(evs), ['server:IN'], 'wait wakes with EPOLLIN and the registration\'s data');
    assert.ok(evs[0].socket === s, 'and the socket itself');
    assert.equal(summary(ep.waitSync()), ['server:IN'], 'level-triggered: reported again while unread');
    assert.is(text(s.recvSync(2)), 'he');
    assert.equal(summary(ep.waitSync()), ['server:IN'], 'still data left');
    s.recvSync();
    assert.equal(ep.waitSync(), [], 'drained: gone from the ready list');

    ep.mod(s, EPOLLIN | EPOLLOUT, { n: 1 });
    assert.equal(summary(ep.waitSync(), (e) => JSON.stringify(e.data)), ['{"n":1}:OUT'], 'MOD changes events and data');
    ep.mod(s, EPOLLIN);
    assert.equal(ep.waitSync(), [], 'MOD back to EPOLLIN only');
    ep.del(s);
    c.sendSync('x');
    await waitUntil(() => s.pending === 1, 2000);
    assert.equal(ep.waitSync(), [], 'DEL: no longer reported');
    ep.close();
  } finally {
    net.dispose();
  }
});

it('EPOLLOUT on connect, EPOLLRDHUP on the peer\'s FIN, EPOLLERR|EPOLLHUP on refusal even when not asked', async () => {
  const net = await twoStacks();
  try {
    const ep = net.a.epoll();
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.connectSync('10.0.0.2', l.getsockname().port), 'EINPROGRESS');
    ep.add(c, EPOLLOUT | EPOLLRDHUP, 'c');
    assert.equal(ep.waitSync(), [], 'connecting: nothing');
    assert.equal(summary(await ep.wait(8, 2000)), ['c:OUT'], 'connected: EPOLLOUT');
    const s = await l.accept({ timeout: 2000 });
    s.shutdown(SHUT_WR);
    ep.mod(c, EPOLLIN | EPOLLRDHUP, 'c');
    assert.equal(summary(await ep.wait(8, 2000)), ['c:IN|RDHUP'], 'peer FIN: EPOLLIN|EPOLLRDHUP');

    const r = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => r.connectSync('10.0.0.2', 9), 'EINPROGRESS');
    const ep2 = net.a.epoll();
    ep2.add(r, 0, 'r'); // no events asked: ERR and HUP are reported anyway
    assert.equal(summary(await ep2.wait(8, 2000)), ['r:ERR|HUP'], 'refused');
    assert.is(r.takeError().code, 'ECONNREFUSED');
    assert.equal(summary(ep2.waitSync()), ['r:HUP'], 'error read: HUP stays');
  } finally {
    net.dispose();
  }
});

it('EPOLLET: one event per new arrival, none while data just sits; no EPOLLIN edge from a POLLOUT change', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const ep = net.b.epoll();
    ep.add(s, EPOLLIN | EPOLLET, 's');
    c.sendSync('one');
    assert.equal(summary(await ep.wait(8, 2000)), ['s:IN']);
    assert.equal(ep.waitSync(), [], 'edge-triggered: not again while the same data sits unread');
    c.sendSync('two');
    assert.equal(summary(await ep.wait(8, 2000)), ['s:IN'], 'a new arrival is a new edge, though still readable');
    assert.equal(ep.waitSync(), []);
    assert.is(text(s.recvSync()), 'onetwo');
    assert.equal(ep.waitSync(), [], 'reading makes no edge');

    // s fills its send buffer (the peer does not read), then the peer drains it: s's
    // POLLOUT goes off and on. An EPOLLIN|EPOLLET watcher with unread data must not wake.
    c.sendSync('unread');
    assert.equal(summary(await ep.wait(8, 2000)), ['s:IN']);
    s.setsockopt(SOL_SOCKET, SO_SNDBUF, 16384);
    const ep2 = net.b.epoll();
    ep2.add(s, EPOLLOUT | EPOLLET, 'out');
    assert.equal(summary(ep2.waitSync()), ['out:OUT'], 'writable at once');
    let sent = 0;
    for (let i = 0; i < 50; i++) {
      try {
        sent += s.sendSync(new Uint8Array(4096));
      } catch (err) {
        if (err.code !== 'EAGAIN') throw err;
        break;
      }
    }
    assert.is(s.events & EPOLLOUT, 0, 'send buffer full: not writable');
    await readExactly(c, sent);
    assert.equal(summary(await ep2.wait(8, 2000)), ['out:OUT'], 'writable again: an EPOLLOUT edge');
    assert.equal(ep.waitSync(), [], 'but no EPOLLIN edge for the reader');
  } finally {
    net.dispose();
  }
});

it('EPOLLONESHOT: one event, then silent until MOD re-arms it', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const ep = net.b.epoll();
    ep.add(s, EPOLLIN | EPOLLONESHOT, 'once');
    c.sendSync('a');
    assert.equal(summary(await ep.wait(8, 2000)), ['once:IN']);
    c.sendSync('b');
    await waitUntil(() => s.pending === 2, 2000);
    assert.equal(ep.waitSync(), [], 'disabled after one event, though readable');
    ep.mod(s, EPOLLIN | EPOLLONESHOT, 'again');
    assert.equal(summary(ep.waitSync()), ['again:IN'], 'MOD re-arms; still readable, so reported');
    assert.equal(ep.waitSync(), []);
  } finally {
    net.dispose();
  }
});

it('errors: EEXIST, ENOENT, EBADF (closed socket, closed epoll, another stack\'s socket); bad arguments throw', async () => {
  const net = await twoStacks();
  try {
    const ep = net.a.epoll();
    const u = net.a.socket(AF_INET, SOCK_DGRAM);
    const v = net.a.socket(AF_INET, SOCK_DGRAM);
    ep.add(u, EPOLLIN);
    throwsCode(() => ep.add(u, EPOLLIN), 'EEXIST', 'add twice');
    throwsCode(() => ep.mod(v, EPOLLIN), 'ENOENT', 'mod of a socket not added');
    throwsCode(() => ep.del(v), 'ENOENT', 'del of a socket not added');
    const other = net.b.socket(AF_INET, SOCK_DGRAM);
    throwsCode(() => ep.add(other, EPOLLIN), 'EBADF', 'a socket of another stack');
    v.close();
    throwsCode(() => ep.add(v, EPOLLIN), 'EBADF', 'a closed socket');
    assert.throws(() => ep.add({ fd: 3 }, EPOLLIN), TypeError, 'not a Socket');
    assert.throws(() => ep.add(u, 1.5), TypeError, 'events not an integer');
    assert.throws(() => ep.waitSync(0), RangeError, 'maxEvents 0 (Linux: EINVAL)');
    let threw = false;
    try {
      await ep.wait(8, -2);
    } catch (err) {
      threw = err instanceof RangeError;
    }
    assert.ok(threw, 'a negative timeout other than -1 is a RangeError');

    const pending = ep.wait(8, -1);
    ep.close();
    await rejectsCode(pending, 'EBADF', 'closing the epoll ends a wait with EBADF');
    throwsCode(() => ep.add(u, EPOLLIN), 'EBADF', 'add on a closed epoll');
    throwsCode(() => ep.waitSync(), 'EBADF', 'wait on a closed epoll');
    ep.close(); // closing twice is harmless

    const ep2 = net.a.epoll();
    const ac = new AbortController();
    const w = ep2.wait(8, -1, { signal: ac.signal });
    ac.abort(new Error('stop'));
    let reason;
    try {
      await w;
    } catch (err) {
      reason = err;
    }
    assert.is(reason?.message, 'stop', 'abort rejects with the signal\'s reason');
    const t0 = performance.now();
    assert.equal(await ep2.wait(8, 30), [], 'a timeout with nothing ready: []');
    assert.ok(performance.now() - t0 >= 25, 'after the timeout');
  } finally {
    net.dispose();
  }
});

it('closing a socket removes it from every epoll; maxEvents bounds a wait and the rest come next', async () => {
  const net = await twoStacks();
  try {
    const ep = net.b.epoll();
    const ep2 = net.b.epoll();
    const socks = [];
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    for (let i = 0; i < 5; i++) {
      const r = net.b.socket(AF_INET, SOCK_DGRAM);
      r.bind('0.0.0.0', 7400 + i);
      ep.add(r, EPOLLIN, i);
      ep2.add(r, EPOLLIN, i);
      socks.push(r);
      tx.sendtoSync('d', '10.0.0.2', 7400 + i);
    }
    await waitUntil(() => socks.every((r) => r.pending === 1), 2000);
    socks[2].close();
    socks[4].close();
    const first = ep.waitSync(2);
    const second = ep.waitSync(2);
    assert.is(first.length, 2, 'at most maxEvents');
    assert.is(second.length, 2, 'level-triggered: served round-robin, so the first ones come round again');
    assert.equal([...new Set([...first, ...second].map((e) => e.data))].sort(), [0, 1, 3], 'closed sockets left the set');
    assert.equal(first.map((e) => e.data), [0, 1], 'in order of readiness');
    assert.equal(second.map((e) => e.data), [3, 0], 'the rest first, then the requeued ones');
    assert.equal(ep2.waitSync(64).map((e) => e.data).sort(), [0, 1, 3], 'of every epoll');
    throwsCode(() => ep.del(socks[2]), 'EBADF', 'del of a closed socket (Linux: EBADF)');
    // a new socket that gets a closed one's descriptor is not registered
    const again = net.b.socket(AF_INET, SOCK_DGRAM);
    assert.is(again.fd, socks[2].fd, 'descriptor reused');
    again.bind('0.0.0.0', 7499);
    tx.sendtoSync('d', '10.0.0.2', 7499);
    await waitUntil(() => again.pending === 1, 2000);
    assert.ok(!ep.waitSync(64).some((e) => e.socket === again), 'the reused descriptor is not watched');
  } finally {
    net.dispose();
  }
});

it('select(): ready subsets for read, write and except', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const u = net.b.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 0);
    const r1 = await net.b.select([s, u], [s], [s], 0);
    assert.equal([r1.read.length, r1.write.length, r1.except.length], [0, 1, 0], 'only writable');
    const waiting = net.b.select([s, u], [], [], 2000);
    c.sendSync('x');
    const r2 = await waiting;
    assert.ok(r2.read.length === 1 && r2.read[0] === s, 'readable once data arrives');
    const r3 = await net.b.select([u], [], [], 30);
    assert.equal([r3.read, r3.write, r3.except], [[], [], []], 'a timeout: empty sets');
  } finally {
    net.dispose();
  }
});

/** Median ms per waitSync over `rounds` batches of `calls` calls. */
function timeWaits(ep, rounds = 15, calls = 400) {
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      const evs = ep.waitSync(64);
      if (evs.length !== 1) throw new Error(`expected 1 ready, got ${evs.length}`);
    }
    per.push((performance.now() - t0) / calls);
  }
  per.sort((x, y) => x - y);
  return per[per.length >> 1];
}

/** The same for pollSync over every entry: the O(registered) control. */
function timePolls(stack, entries, rounds = 15, calls = 40) {
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) stack.pollSync(entries);
    per.push((performance.now() - t0) / calls);
  }
  per.sort((x, y) => x - y);
  return per[per.length >> 1];
}

it('10,000 idle sockets and 1 ready: wait returns exactly that one, at the cost of 10 registered', async () => {
  const a = await createStack();
  try {
    const build = (n) => {
      const ep = a.epoll();
      const socks = [];
      for (let i = 0; i < n; i++) {
        const sock = a.socket(AF_INET, SOCK_DGRAM); // idle: writable, never readable
        ep.add(sock, EPOLLIN, i);
        socks.push(sock);
      }
      const ready = socks[n >> 1];
      ready.bind('127.0.0.1', 0);
      const tx = a.socket(AF_INET, SOCK_DGRAM);
      tx.sendtoSync('wake', '127.0.0.1', ready.getsockname().port);
      tx.close();
      return { ep, socks, ready };
    };
    const small = build(10);
    const big = build(10_000);
    await waitUntil(() => small.ready.pending === 4 && big.ready.pending === 4, 2000);
    const got = big.ep.waitSync(64);
    assert.is(got.length, 1, 'exactly one event among 10,000 registered');
    assert.ok(got[0].socket === big.ready && got[0].data === 5000 && got[0].events === EPOLLIN, 'the ready socket');
    assert.equal(await big.ep.wait(64, 0), got.map((e) => ({ ...e })), 'the async wait agrees');

    // Cost: epoll's wait time barely moves from 10 to 10,000 registered, while poll(),
    // which looks at every entry, grows with them. Ratios within one run, no thresholds in ms.
    // interleaved, after a warm-up, so JIT and machine noise fall on both alike
    const eS = [];
    const eB = [];
    for (let i = 0; i < 6; i++) {
      eS.push(timeWaits(small.ep, 5));
      eB.push(timeWaits(big.ep, 5));
    }
    const med = (xs) => xs.slice(1).sort((x, y) => x - y)[(xs.length - 1) >> 1];
    const eSmall = med(eS);
    const eBig = med(eB);
    const entries = (socks) => socks.map((socket) => ({ socket, events: EPOLLIN }));
    const pSmall = timePolls(a, entries(small.socks));
    const pBig = timePolls(a, entries(big.socks));
    const epollRatio = eBig / eSmall;
    const pollRatio = pBig / pSmall;
    console.log(`  epoll wait: ${(eSmall * 1e3).toFixed(2)} us (10) vs ${(eBig * 1e3).toFixed(2)} us (10,000): x${epollRatio.toFixed(2)};` +
      ` poll: x${pollRatio.toFixed(0)}`);
    assert.ok(epollRatio < 3, `epoll wait with 10,000 registered costs x${epollRatio.toFixed(2)} of 10 (O(ready))`);
    assert.ok(pollRatio > 30 * epollRatio, `the measurement can see O(n): poll grew x${pollRatio.toFixed(0)}`);
  } finally {
    a.dispose();
  }
}, 60_000);

test.run();
