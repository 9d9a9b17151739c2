// MSG_* flags on send and receive, SO_PEEK_OFF with MSG_PEEK (the seed's example), and the
// non-blocking rules every socket follows (there is no O_NONBLOCK to clear: the sync
// forms never wait, the async forms wait on readiness).
import {
  AF_INET, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_PEEK_OFF, SO_LINGER, SHUT_WR, IPPROTO_TCP, TCP_NODELAY,
  MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC, MSG_NOSIGNAL, MSG_MORE, MSG_OOB,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, throwsCode, rejectsCode, text, waitUntil, sleep, pollFor,
} from './helpers.mjs';
import { POLLIN } from '../dist/index.js';

const enc = (s) => new TextEncoder().encode(s);

/** A UDP pair: tx on a, rx on b bound to port; resolves once `count` datagrams are queued. */
async function udpPair(net, port) {
  const rx = net.b.socket(AF_INET, SOCK_DGRAM);
  rx.bind('0.0.0.0', port);
  const tx = net.a.socket(AF_INET, SOCK_DGRAM);
  tx.bind('0.0.0.0', 0);
  return { rx, tx };
}

it('MSG_PEEK (TCP): data stays queued; SO_PEEK_OFF follows the seed\'s example exactly', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    c.sendSync('aabbccddeeff');
    assert.ok(await waitUntil(() => s.pending === 12, 2000));
    assert.is(text(s.recvSync(4, MSG_PEEK)), 'aabb', 'peek');
    assert.is(text(s.recvSync(4, MSG_PEEK)), 'aabb', 'peek again: the same bytes (SO_PEEK_OFF off)');
    assert.is(s.pending, 12, 'peeking consumed nothing');
    assert.is(s.getsockopt(SOL_SOCKET, SO_PEEK_OFF), -1, 'off by default');

    s.setsockopt(SOL_SOCKET, SO_PEEK_OFF, 4);
    assert.is(text(s.recvSync(2, MSG_PEEK)), 'cc', 'peek from offset 4');
    assert.is(text(s.recvSync(2, MSG_PEEK)), 'dd', 'the offset moved on by what was peeked');
    assert.is(s.getsockopt(SOL_SOCKET, SO_PEEK_OFF), 8);
    assert.is(text(s.recvSync(2)), 'aa', 'a read takes from the front');
    assert.is(s.getsockopt(SOL_SOCKET, SO_PEEK_OFF), 6, 'and moves the offset back by what it took');
    assert.is(text(s.recvSync(2, MSG_PEEK)), 'ee', 'then a peek returns "ee"');
    s.setsockopt(SOL_SOCKET, SO_PEEK_OFF, 100);
    throwsCode(() => s.recvSync(2, MSG_PEEK), 'EAGAIN', 'peeking past the queue: nothing to return yet');
    s.setsockopt(SOL_SOCKET, SO_PEEK_OFF, -1);
    assert.is(text(await s.recv(100, { flags: MSG_PEEK })), 'bbccddeeff', 'async peek');
    assert.is(text(s.recvSync()), 'bbccddeeff');
  } finally {
    net.dispose();
  }
});

it('MSG_PEEK (UDP): the datagram stays queued; SO_PEEK_OFF applies within it', async () => {
  const net = await twoStacks();
  try {
    const { rx, tx } = await udpPair(net, 7300);
    tx.sendtoSync('hello', '10.0.0.2', 7300);
    tx.sendtoSync('world', '10.0.0.2', 7300);
    assert.ok(await waitUntil(() => rx.pending === 5, 2000));
    await sleep(20);
    const p = rx.recvfromSync(100, MSG_PEEK);
    assert.is(text(p.data), 'hello');
    assert.is(p.port, tx.getsockname().port, 'the sender, even when peeking');
    rx.setsockopt(SOL_SOCKET, SO_PEEK_OFF, 2);
    assert.is(text(rx.recvfromSync(2, MSG_PEEK).data), 'll');
    assert.is(text(rx.recvfromSync(100).data), 'hello', 'peeks consumed nothing');
    rx.setsockopt(SOL_SOCKET, SO_PEEK_OFF, -1);
    assert.is(text((await rx.recvfrom(100, { flags: MSG_PEEK })).data), 'world');
    assert.is(text(rx.recvfromSync(100).data), 'world');
  } finally {
    net.dispose();
  }
});

it('MSG_DONTWAIT: the async forms fail with EAGAIN at once instead of waiting', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    await rejectsCode(s.recv(10, { flags: MSG_DONTWAIT }), 'EAGAIN', 'recv with nothing queued');
    const { rx } = await udpPair(net, 7301);
    await rejectsCode(rx.recvfrom(10, { flags: MSG_DONTWAIT }), 'EAGAIN', 'recvfrom with nothing queued');
    c.sendSync('now');
    assert.ok(await waitUntil(() => s.pending === 3, 2000));
    assert.is(text(await s.recv(10, { flags: MSG_DONTWAIT })), 'now', 'data there: returned');
    // and the plain async form does wait
    let done = false;
    const r = s.recv(10).then((d) => {
      done = true;
      return d;
    });
    await sleep(20);
    assert.is(done, false, 'recv without MSG_DONTWAIT waits');
    c.sendSync('x');
    assert.is(text(await r), 'x');
  } finally {
    net.dispose();
  }
});

it('MSG_WAITALL: waits for the whole amount, or returns what came before EOF, an error or a timeout', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1); // each small send leaves at once, however the ACKs go
    const all = s.recv(10, { flags: MSG_WAITALL });
    c.sendSync('abc');
    await sleep(10);
    c.sendSync('def');
    await sleep(10);
    c.sendSync('ghijkl');
    assert.is(text(await all), 'abcdefghij', 'exactly 10 bytes from three sends');
    assert.is(text(s.recvSync()), 'kl', 'the rest stays queued');
    const plain = s.recv(10);
    c.sendSync('mno');
    assert.is(text(await plain), 'mno', 'without MSG_WAITALL: what is there');

    const timed = s.recv(10, { flags: MSG_WAITALL, timeout: 50 });
    c.sendSync('pq');
    assert.is(text(await timed), 'pq', 'timeout with part of it: the part (as Linux with SO_RCVTIMEO)');

    const eof = s.recv(10, { flags: MSG_WAITALL });
    c.sendSync('rst');
    await sleep(10);
    c.shutdown(SHUT_WR);
    assert.is(text(await eof), 'rst', 'end of stream: what came before it');
    assert.is(s.recvSync().length, 0, 'then end of stream');

    const [c2, s2] = await connectPair(net.a, net.b);
    c2.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    const reset = s2.recv(10, { flags: MSG_WAITALL });
    c2.sendSync('uv');
    await sleep(10);
    c2.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
    c2.close();
    assert.is(text(await reset), 'uv', 'a reset: the data first');
    await rejectsCode(s2.recv(10), 'ECONNRESET', 'then the error');
  } finally {
    net.dispose();
  }
});

it('MSG_TRUNC (UDP): the real length of a datagram longer than the buffer; msg flags say it was cut', async () => {
  const net = await twoStacks();
  try {
    const { rx, tx } = await udpPair(net, 7302);
    for (const m of ['0123456789', 'abcdef', 'xy']) tx.sendtoSync(m, '10.0.0.2', 7302);
    assert.ok(await waitUntil(() => rx.pending === 10, 2000));
    await sleep(20);
    const t = rx.recvfromSync(4, MSG_TRUNC);
    assert.is(text(t.data), '0123', 'the buffer holds what fits');
    assert.is(t.size, 10, 'MSG_TRUNC: the real length, as recvfrom returns it');
    assert.is(t.flags & MSG_TRUNC, MSG_TRUNC, 'msg_flags: truncated');
    const u = rx.recvfromSync(4);
    assert.is(text(u.data), 'abcd');
    assert.is(u.flags & MSG_TRUNC, MSG_TRUNC, 'msg_flags report truncation without the flag too');
    assert.is(u.size, 4, 'without MSG_TRUNC the returned length is what was copied');
    const w = rx.recvfromSync(4, MSG_TRUNC);
    assert.is(text(w.data), 'xy');
    assert.is(w.size, 2);
    assert.is(w.flags, 0, 'a datagram that fit: no MSG_TRUNC (and never MSG_CTRUNC: no ancillary data)');
    tx.sendtoSync('peekme', '10.0.0.2', 7302);
    const pk = await rx.recvfrom(2, { flags: MSG_PEEK | MSG_TRUNC });
    assert.is(pk.size, 6, 'peek with MSG_TRUNC: the real length');
    assert.is(text(rx.recvfromSync(100).data), 'peekme', 'and still queued');
  } finally {
    net.dispose();
  }
});

it('MSG_MORE holds a small segment until the next send; MSG_NOSIGNAL is accepted, EPIPE still reported', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    await sleep(20); // let the handshake's last ACKs settle, so no arrival flushes the queue
    assert.is(c.sendSync('ab', MSG_MORE), 2);
    await sleep(50);
    assert.is(s.pending, 0, 'MSG_MORE: nothing sent yet');
    assert.is(c.sendSync('cd'), 2);
    assert.ok(await waitUntil(() => s.pending === 4, 2000), 'the next send pushes both');
    assert.is(text(s.recvSync()), 'abcd');

    assert.is(c.sendSync('ns', MSG_NOSIGNAL), 2, 'MSG_NOSIGNAL: an ordinary send');
    c.shutdown(SHUT_WR);
    throwsCode(() => c.sendSync('x', MSG_NOSIGNAL), 'EPIPE', 'EPIPE after SHUT_WR, as an error');
    throwsCode(() => c.sendSync('x'), 'EPIPE', 'and without the flag (there are no signals)');
  } finally {
    net.dispose();
  }
});

it('MSG_OOB: EOPNOTSUPP; unknown flag bits are ignored, as Linux ignores them', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    throwsCode(() => c.sendSync('x', MSG_OOB), 'EOPNOTSUPP', 'send');
    throwsCode(() => s.recvSync(10, MSG_OOB), 'EOPNOTSUPP', 'recv');
    assert.is(c.sendSync('y', 0x10000000), 1, 'an unknown bit');
    assert.ok((await pollFor(net.b, s, POLLIN)) & POLLIN);
    assert.is(text(s.recvSync(10, 0x10000000)), 'y');
    assert.throws(() => c.sendSync('x', -1), TypeError, 'negative flags are malformed');
    assert.throws(() => s.recvSync(10, 1.5), TypeError);
  } finally {
    net.dispose();
  }
});

it('every socket is non-blocking: sync forms give EAGAIN/EINPROGRESS, never wait', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    throwsCode(() => l.acceptSync(), 'EAGAIN', 'accept with nothing queued');
    throwsCode(() => l.recvSync(), 'ENOTCONN', 'recv on a listener');
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.recvSync(), 'ENOTCONN', 'recv on a socket never connected');
    throwsCode(() => c.connectSync('10.0.0.2', l.getsockname().port), 'EINPROGRESS', 'connect');
    throwsCode(() => c.connectSync('10.0.0.2', l.getsockname().port), 'EALREADY', 'connect again while connecting');
    throwsCode(() => c.sendSync('x'), 'EAGAIN', 'send while connecting');
    const s = await l.accept({ timeout: 2000 });
    throwsCode(() => s.recvSync(), 'EAGAIN', 'recv with nothing queued');
    // a send buffer that fills: sendSync takes what fits, then EAGAIN
    let total = 0;
    let last;
    for (let i = 0; i < 100; i++) {
      try {
        total += c.sendSync(new Uint8Array(256 * 1024));
      } catch (err) {
        last = err;
        break;
      }
    }
    assert.ok(last && last.code === 'EAGAIN', `a full send buffer gives EAGAIN (after ${total} bytes)`);
    assert.ok(total >= 256 * 1024, 'after taking what fit');
    const u = net.a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 0);
    throwsCode(() => u.recvfromSync(), 'EAGAIN', 'UDP with nothing queued');
  } finally {
    net.dispose();
  }
});

test.run();
