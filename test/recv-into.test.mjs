// recvInto / recvIntoSync: recv(2) into the caller's buffer. The bytes land at the
// start of the given view and nowhere else, the return value is what recv(2) returns,
// and the waiting form honours the same flags, timeout and signal as recv().
import { AF_INET, SOCK_DGRAM, SHUT_WR, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_DONTWAIT } from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, throwsCode, rejectsCode, text, waitUntil, randomBytes, sha256,
} from './helpers.mjs';


it('TCP, sync: fills the view from its start, returns the count, EAGAIN when empty, 0 at end of stream', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const backing = new Uint8Array(12).fill(0xee);
    const view = backing.subarray(4, 8);
    throwsCode(() => s.recvIntoSync(view), 'EAGAIN', 'nothing there yet');
    c.sendSync('aabbccddeeff');
    assert.ok(await waitUntil(() => s.pending === 12, 2000));
    assert.is(s.recvIntoSync(view, MSG_PEEK), 4);
    assert.is(s.pending, 12, 'MSG_PEEK leaves the data queued');
    assert.is(s.recvIntoSync(view), 4);
    assert.is(text(view), 'aabb');
    assert.equal([...backing.subarray(0, 4), ...backing.subarray(8)], Array(8).fill(0xee), 'nothing outside the view is touched');
    const rest = new Uint8Array(64);
    assert.is(s.recvIntoSync(rest), 8);
    assert.is(text(rest.subarray(0, 8)), 'ccddeeff');
    c.shutdown(SHUT_WR);
    assert.ok(await waitUntil(() => { try { return s.recvIntoSync(rest) === 0; } catch { return false; } }, 2000),
      'end of stream reads as 0');
  } finally {
    net.dispose();
  }
});

it('TCP, async: waits for data, MSG_WAITALL fills the buffer, a timeout is EAGAIN, an abort rejects', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const buf = new Uint8Array(10);
    const waiting = s.recvInto(buf);
    setTimeout(() => c.sendSync('hello'), 20);
    assert.is(await waiting, 5);
    assert.is(text(buf.subarray(0, 5)), 'hello');

    const all = s.recvInto(buf, { flags: MSG_WAITALL });
    c.sendSync('12345');
    setTimeout(() => c.sendSync('67890'), 20);
    assert.is(await all, 10);
    assert.is(text(buf), '1234567890');

    await rejectsCode(s.recvInto(buf, { timeout: 30 }), 'EAGAIN');
    throwsCode(() => { s.recvIntoSync(buf, MSG_DONTWAIT); }, 'EAGAIN');
    const ac = new AbortController();
    const aborted = s.recvInto(buf, { signal: ac.signal });
    ac.abort(new Error('stop'));
    try {
      await aborted;
      assert.unreachable('the abort should reject');
    } catch (err) {
      assert.is(err.message, 'stop');
    }
  } finally {
    net.dispose();
  }
});

it('UDP: a longer datagram is cut to the buffer; with MSG_TRUNC the full length comes back', async () => {
  const net = await twoStacks();
  try {
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 7100);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    tx.sendtoSync('0123456789', '10.0.0.2', 7100);
    tx.sendtoSync('abcdefghij', '10.0.0.2', 7100);
    tx.sendtoSync('xy', '10.0.0.2', 7100);
    const buf = new Uint8Array(4);
    assert.is(await rx.recvInto(buf), 4);
    assert.is(text(buf), '0123', 'cut, and the rest of that datagram is gone');
    assert.is(await rx.recvInto(buf, { flags: MSG_TRUNC }), 10, 'MSG_TRUNC: the real length');
    assert.is(text(buf), 'abcd');
    assert.is(await rx.recvInto(buf), 2, 'the next datagram, whole');
    assert.is(text(buf.subarray(0, 2)), 'xy');
  } finally {
    net.dispose();
  }
});

it('a 4 MiB transfer read through one reused 16 KiB buffer arrives intact', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const data = randomBytes(4 << 20, 9);
    const sending = c.send(data).then(() => c.shutdown(SHUT_WR));
    const buf = new Uint8Array(16384);
    const out = new Uint8Array(data.length);
    let got = 0;
    for (;;) {
      const n = await s.recvInto(buf);
      if (n === 0) break;
      out.set(buf.subarray(0, n), got);
      got += n;
    }
    await sending;
    assert.is(got, data.length);
    assert.is(sha256(out), sha256(data));
  } finally {
    net.dispose();
  }
});

it('bad input is refused with a clear error; a closed socket is EBADF', async () => {
  const net = await twoStacks();
  try {
    const [, s] = await connectPair(net.a, net.b);
    for (const bad of [undefined, 'text', [1, 2], new ArrayBuffer(4), new Uint16Array(2)]) {
      assert.throws(() => s.recvIntoSync(bad), (e) => e instanceof TypeError && /Uint8Array/.test(e.message));
      try {
        await s.recvInto(bad);
        assert.unreachable('recvInto should reject');
      } catch (e) {
        assert.ok(e instanceof TypeError, String(e));
      }
    }
    assert.throws(() => s.recvIntoSync(new Uint8Array(4), -1), TypeError);
    s.close();
    throwsCode(() => s.recvIntoSync(new Uint8Array(4)), 'EBADF');
    await rejectsCode(s.recvInto(new Uint8Array(4)), 'EBADF');
  } finally {
    net.dispose();
  }
});

test.run();
