// UDP through the public API: datagram boundaries, truncation, empty datagrams, size
// limits with fragmentation, connected sockets, and the errors Linux gives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AF_INET, SOCK_DGRAM, POLLIN, MSG_PEEK, EAGAIN, EMSGSIZE, EDESTADDRREQ,
} from '../dist/index.js';
import {
  twoStacks, within, tick, sleep, patternBytes, equalBytes, throwsSocketError, rejectsSocketError,
} from './util-udp.mjs';

/** Waits (bounded) until sock is readable, then one more macrotask so a batch lands whole. */
async function readable(stack, sock, ms = 3000) {
  const [rev] = await within(stack.poll([{ socket: sock, events: POLLIN }], ms), ms + 1000, 'poll');
  assert.ok(rev & POLLIN, `socket never became readable (revents ${rev})`);
  await tick();
  await tick();
}

test('datagrams of 1, 2 and 3 bytes arrive as three datagrams with the sender', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const tx = a.socket(AF_INET, SOCK_DGRAM);
    tx.bind('0.0.0.0', 0);
    const rx = b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 5001);
    const txPort = tx.getsockname().port;

    assert.is(tx.sendtoSync(Uint8Array.of(0x11), '10.0.0.2', 5001), 1);
    assert.is(tx.sendtoSync(Uint8Array.of(0x21, 0x22), '10.0.0.2', 5001), 2);
    assert.is(tx.sendtoSync(Uint8Array.of(0x31, 0x32, 0x33), '10.0.0.2', 5001), 3);
    await readable(b, rx);
    // Give every datagram time to land before reading, so merging would be visible.
    await sleep(20);

    const expect = [[0x11], [0x21, 0x22], [0x31, 0x32, 0x33]];
    for (const bytes of expect) {
      assert.is(rx.pending, bytes.length, 'pending is the size of the next datagram');
      const d = rx.recvfromSync(65536);
      assert.equal([...d.data], bytes);
      assert.is(d.address, '10.0.0.1');
      assert.is(d.port, txPort);
      assert.is(d.family, 'IPv4');
    }
    throwsSocketError(() => rx.recvfromSync(65536), 'EAGAIN', { errno: EAGAIN, syscall: 'recvfrom' });
  } finally {
    net.dispose();
  }
});

test('recvfrom with a small buffer truncates and discards the rest of that datagram', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const tx = a.socket(AF_INET, SOCK_DGRAM);
    const rx = b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('10.0.0.2', 5002);
    tx.sendtoSync('ABCDEFGHIJ', '10.0.0.2', 5002);
    tx.sendtoSync('xyz', '10.0.0.2', 5002);
    await readable(b, rx);
    await sleep(20);

    const peek = rx.recvfromSync(3, MSG_PEEK);
    assert.is(new TextDecoder().decode(peek.data), 'ABC', 'MSG_PEEK truncates too');
    const first = rx.recvfromSync(4);
    assert.is(first.data.length, 4);
    assert.is(new TextDecoder().decode(first.data), 'ABCD', 'MSG_PEEK left the datagram queued');
    assert.is(first.address, '10.0.0.1');
    const second = rx.recvfromSync(100);
    assert.is(new TextDecoder().decode(second.data), 'xyz', 'the rest of the truncated datagram is gone');
    throwsSocketError(() => rx.recvfromSync(100), 'EAGAIN');
  } finally {
    net.dispose();
  }
});

test('a zero-length datagram arrives as length 0 with its sender', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const tx = a.socket(AF_INET, SOCK_DGRAM);
    tx.bind('10.0.0.1', 6100);
    const rx = b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 5003);
    assert.is(tx.sendtoSync(new Uint8Array(0), '10.0.0.2', 5003), 0);
    tx.sendtoSync('after', '10.0.0.2', 5003);
    const d = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(d.data.length, 0);
    assert.is(d.address, '10.0.0.1');
    assert.is(d.port, 6100);
    const next = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(next.data), 'after', 'the empty datagram was a datagram of its own');
  } finally {
    net.dispose();
  }
});

test('IPv4: 65508 bytes is EMSGSIZE; 65507 bytes is fragmented and reassembled intact', async () => {
  const net = await twoStacks();
  try {
    const { a, b, ia } = net;
    const tx = a.socket(AF_INET, SOCK_DGRAM);
    const rx = b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 5004);
    // Resolve ARP first with a small datagram.
    tx.sendtoSync('warm-up', '10.0.0.2', 5004);
    await rx.recvfrom(100, { timeout: 3000 });

    throwsSocketError(() => tx.sendtoSync(new Uint8Array(65508), '10.0.0.2', 5004), 'EMSGSIZE', {
      errno: EMSGSIZE, syscall: 'sendto',
    });
    const big = patternBytes(65507, 7);
    const framesBefore = ia.counters.txFrames;
    assert.is(tx.sendtoSync(big, '10.0.0.2', 5004), 65507);
    const d = await rx.recvfrom(70000, { timeout: 5000 });
    assert.is(d.data.length, 65507);
    assert.ok(equalBytes(d.data, big), 'reassembled datagram differs from what was sent');
    assert.is(d.address, '10.0.0.1');
    // 65515 bytes of UDP over 1480-byte fragment payloads: at least 45 frames.
    assert.ok(ia.counters.txFrames - framesBefore >= 45, `only ${ia.counters.txFrames - framesBefore} frames: not fragmented?`);
    throwsSocketError(() => rx.recvfromSync(70000), 'EAGAIN');
  } finally {
    net.dispose();
  }
});

test('connected UDP: send/recv with the peer; datagrams from others are filtered', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const u1 = a.socket(AF_INET, SOCK_DGRAM);
    u1.bind('0.0.0.0', 6001);
    const u2 = b.socket(AF_INET, SOCK_DGRAM);
    u2.bind('0.0.0.0', 6002);
    const other = b.socket(AF_INET, SOCK_DGRAM);
    other.bind('0.0.0.0', 6003);

    await u1.connect('10.0.0.2', 6002);
    u2.connectSync('10.0.0.1', 6001);
    assert.equal(u1.getpeername(), { address: '10.0.0.2', port: 6002, family: 'IPv4' });
    assert.equal(u2.getpeername(), { address: '10.0.0.1', port: 6001, family: 'IPv4' });

    assert.is(u1.sendSync('hello'), 5);
    const got = await u2.recv(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(got), 'hello');

    // A stranger writes first, then the connected peer: only the peer's datagram counts.
    other.sendtoSync('intruder', '10.0.0.1', 6001);
    await sleep(20);
    assert.is(await u2.send('reply'), 5);
    const back = await u1.recvfrom(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(back.data), 'reply');
    assert.is(back.address, '10.0.0.2');
    assert.is(back.port, 6002);
    await sleep(20);
    throwsSocketError(() => u1.recvfromSync(100), 'EAGAIN');
  } finally {
    net.dispose();
  }
});

test('send on an unconnected UDP socket is EDESTADDRREQ', async () => {
  const net = await twoStacks();
  try {
    const u = net.a.socket(AF_INET, SOCK_DGRAM);
    throwsSocketError(() => u.sendSync('x'), 'EDESTADDRREQ', { errno: EDESTADDRREQ, syscall: 'send' });
    u.bind('0.0.0.0', 0);
    throwsSocketError(() => u.sendSync('x'), 'EDESTADDRREQ', { errno: EDESTADDRREQ });
    await rejectsSocketError(u.send('x'), 'EDESTADDRREQ');
  } finally {
    net.dispose();
  }
});

test('recvfromSync on an empty socket is EAGAIN; recvfrom with a timeout rejects EAGAIN', async () => {
  const net = await twoStacks();
  try {
    const u = net.b.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 5005);
    throwsSocketError(() => u.recvfromSync(), 'EAGAIN', { errno: EAGAIN, syscall: 'recvfrom' });
    throwsSocketError(() => u.recvSync(), 'EAGAIN', { errno: EAGAIN });
    const t0 = performance.now();
    await rejectsSocketError(u.recvfrom(100, { timeout: 50 }), 'EAGAIN', { ms: 3000 });
    assert.ok(performance.now() - t0 >= 40, 'timed out too early');
    assert.is(u.events & POLLIN, 0);
  } finally {
    net.dispose();
  }
});

test('port 0 picks a distinct ephemeral port, visible through getsockname and to the peer', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const u1 = a.socket(AF_INET, SOCK_DGRAM);
    u1.bind('0.0.0.0', 0);
    const u2 = a.socket(AF_INET, SOCK_DGRAM);
    u2.bind('10.0.0.1', 0);
    const n1 = u1.getsockname();
    const n2 = u2.getsockname();
    assert.is(n1.address, '0.0.0.0');
    assert.is(n1.family, 'IPv4');
    assert.is(n2.address, '10.0.0.1');
    for (const n of [n1, n2]) assert.ok(n.port >= 1024 && n.port <= 65535, `ephemeral port ${n.port}`);
    assert.is.not(n1.port, n2.port);

    // An unbound socket gets a port on its first sendto; the peer sees that port.
    const u3 = a.socket(AF_INET, SOCK_DGRAM);
    assert.is(u3.getsockname().port, 0);
    const rx = b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 5006);
    u3.sendtoSync('hi', '10.0.0.2', 5006);
    const port3 = u3.getsockname().port;
    assert.ok(port3 > 0, 'sendto bound the socket');
    const d = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(d.port, port3);
    // And the reply to that port comes back.
    rx.sendtoSync('yo', d.address, d.port);
    const r = await u3.recvfrom(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(r.data), 'yo');
  } finally {
    net.dispose();
  }
});

test('binding a UDP port twice is EADDRINUSE', async () => {
  const net = await twoStacks();
  try {
    const u1 = net.a.socket(AF_INET, SOCK_DGRAM);
    u1.bind('0.0.0.0', 5007);
    const u2 = net.a.socket(AF_INET, SOCK_DGRAM);
    throwsSocketError(() => u2.bind('0.0.0.0', 5007), 'EADDRINUSE', { errno: 98, syscall: 'bind' });
    u1.close();
    u2.bind('0.0.0.0', 5007); // free again once closed
  } finally {
    net.dispose();
  }
});

test.run();
