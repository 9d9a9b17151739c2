// IPv6 through the public API: TCP and UDP over fd00::/64, bulk transfer, link-local
// addresses with zones, RFC 5952 text, and family mismatches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import {
  Stack, createPair, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_WR, EAFNOSUPPORT, EMSGSIZE,
} from '../dist/index.js';
import {
  twoStacks, within, sleep, patternBytes, equalBytes, throwsSocketError, rejectsSocketError, readAll,
} from './util-udp.mjs';

const sha = (b) => createHash('sha256').update(b).digest('hex');
const text = (b) => new TextDecoder().decode(b);

/** Listener on `to` ([::]:port), client on `from`; returns both ends once connected. */
async function connect6(from, to, address, port) {
  const listener = to.socket(AF_INET6, SOCK_STREAM);
  listener.bind('::', port);
  listener.listen(4);
  const client = from.socket(AF_INET6, SOCK_STREAM);
  const accepted = listener.accept({ timeout: 5000 });
  await within(client.connect(address, port, { timeout: 5000 }), 6000, `connect [${address}]:${port}`);
  const server = await accepted;
  return { listener, client, server };
}

test('TCP echo over fd00::/64 with IPv6 names on both ends', async () => {
  const net = await twoStacks();
  try {
    const { client, server } = await connect6(net.a, net.b, 'fd00::2', 7);
    await client.send('hello over v6');
    assert.is(text(await server.recv(100, { timeout: 3000 })), 'hello over v6');
    await server.send('and back');
    assert.is(text(await client.recv(100, { timeout: 3000 })), 'and back');

    const local = client.getsockname();
    assert.is(local.address, 'fd00::1');
    assert.is(local.family, 'IPv6');
    assert.ok(local.port > 0);
    assert.equal(client.getpeername(), { address: 'fd00::2', port: 7, family: 'IPv6' });
    assert.equal(server.getsockname(), { address: 'fd00::2', port: 7, family: 'IPv6' });
    assert.equal(server.getpeername(), { address: 'fd00::1', port: local.port, family: 'IPv6' });
  } finally {
    net.dispose();
  }
});

test('1 MiB over IPv6 TCP arrives intact', async () => {
  const net = await twoStacks();
  try {
    const { client, server } = await connect6(net.a, net.b, 'fd00::2', 8080);
    const payload = patternBytes(1024 * 1024, 99);
    const reading = readAll(server, { ms: 20000 });
    const sent = await within(client.send(payload), 20000, 'send 1 MiB');
    assert.is(sent, payload.length);
    client.shutdown(SHUT_WR);
    const got = await within(reading, 21000, 'read 1 MiB');
    assert.is(got.length, payload.length);
    assert.is(sha(got), sha(payload));
  } finally {
    net.dispose();
  }
});

test('UDP over IPv6 keeps boundaries and the sender; 65487 fits, 65488 is EMSGSIZE', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    const tx = a.socket(AF_INET6, SOCK_DGRAM);
    tx.bind('::', 0);
    const rx = b.socket(AF_INET6, SOCK_DGRAM);
    rx.bind('::', 5353);
    const txPort = tx.getsockname().port;
    tx.sendtoSync('one', 'fd00::2', 5353);
    tx.sendtoSync('two!', 'fd00::2', 5353);
    for (const want of ['one', 'two!']) {
      const d = await rx.recvfrom(100, { timeout: 3000 });
      assert.is(text(d.data), want);
      assert.is(d.address, 'fd00::1');
      assert.is(d.port, txPort);
      assert.is(d.family, 'IPv6');
    }
    throwsSocketError(() => tx.sendtoSync(new Uint8Array(65488), 'fd00::2', 5353), 'EMSGSIZE', { errno: EMSGSIZE });
    const big = patternBytes(65487, 3);
    assert.is(tx.sendtoSync(big, 'fd00::2', 5353), 65487);
    const d = await rx.recvfrom(70000, { timeout: 5000 });
    assert.ok(equalBytes(d.data, big), 'IPv6 fragmented datagram corrupted');
  } finally {
    net.dispose();
  }
});

test('each interface has a link-local fe80:: address (EUI-64 from the MAC), listed first', async () => {
  const net = await twoStacks({
    a: { mac: '02:00:00:00:00:01' },
    b: { mac: '02:00:5e:10:20:30' },
  });
  try {
    const { ia, ib } = net;
    assert.is(ia.ipv6[0], 'fe80::ff:fe00:1');
    assert.is(ib.ipv6[0], 'fe80::5eff:fe10:2030');
    assert.equal(ia.ipv6, ['fe80::ff:fe00:1', 'fd00::1']);
    assert.equal(ib.ipv6, ['fe80::5eff:fe10:2030', 'fd00::2']);
    // Without an explicit MAC there is still one, and it differs between stacks.
    const c = await Stack.create({ seed: 5 });
    try {
      const [l1] = createPair();
      const ic = c.addInterface(l1, {});
      assert.ok(/^fe80::[0-9a-f:]+$/.test(ic.ipv6[0]), `link-local ${ic.ipv6[0]}`);
      assert.is(ic.ipv6.length, 1);
      assert.is.not(ic.ipv6[0], ia.ipv6[0]);
    } finally {
      c.dispose();
    }
  } finally {
    net.dispose();
  }
});

test('TCP to the peer\'s link-local address with a zone (%index) works; names carry the zone', async () => {
  const net = await twoStacks();
  try {
    const { a, b, ia, ib } = net;
    const peerLL = ib.ipv6[0];
    const ownLL = ia.ipv6[0];
    assert.ok(peerLL.startsWith('fe80::'));
    const { client, server } = await connect6(a, b, `${peerLL}%${ia.index}`, 9000);
    await client.send('link-local');
    assert.is(text(await server.recv(100, { timeout: 3000 })), 'link-local');
    await server.send('ok');
    assert.is(text(await client.recv(100, { timeout: 3000 })), 'ok');

    const peer = client.getpeername();
    assert.is(peer.address, peerLL);
    assert.is(peer.port, 9000);
    assert.is(peer.family, 'IPv6');
    assert.is(peer.scopeId, ia.index);
    const local = client.getsockname();
    assert.is(local.address, ownLL);
    assert.is(local.scopeId, ia.index);
    const seen = server.getpeername();
    assert.is(seen.address, ownLL);
    assert.is(seen.port, local.port);
    assert.is(seen.scopeId, ib.index);
  } finally {
    net.dispose();
  }
});

test('UDP to a link-local address with a zone works', async () => {
  const net = await twoStacks();
  try {
    const { a, b, ia, ib } = net;
    const rx = b.socket(AF_INET6, SOCK_DGRAM);
    rx.bind('::', 5454);
    const tx = a.socket(AF_INET6, SOCK_DGRAM);
    tx.sendtoSync('ll-dgram', `${ib.ipv6[0]}%${ia.index}`, 5454);
    const d = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(text(d.data), 'll-dgram');
    assert.is(d.address, ia.ipv6[0]);
    assert.is(d.scopeId, ib.index);
  } finally {
    net.dispose();
  }
});

test('connect to a link-local address without a zone fails with EINVAL (as Linux)', async () => {
  const net = await twoStacks();
  try {
    const { a, ib } = net;
    const s = a.socket(AF_INET6, SOCK_STREAM);
    // Linux: tcp_v6_connect returns EINVAL for a link-local peer with no scope id.
    await rejectsSocketError(s.connect(ib.ipv6[0], 7, { timeout: 2000 }), 'EINVAL', { syscall: 'connect', ms: 4000 });
  } finally {
    net.dispose();
  }
});

test('addresses come back as RFC 5952 text (lowercase, longest/first zero run, no lone ::)', async () => {
  const net = await twoStacks({
    a: { ipv6: ['fd00::1/64', 'FD00:0:0:1:1:0:1:1/64'] },
    b: { ipv6: ['fd00::2/64', 'fd00:0000:0000:0001:0000:0000:0001:0002/64', 'fd00:0:0:1:0:0:0:3/64'] },
  });
  try {
    const { a, b, ia, ib } = net;
    assert.equal(ia.ipv6.slice(1), ['fd00::1', 'fd00::1:1:0:1:1']);
    assert.equal(ib.ipv6.slice(1), ['fd00::2', 'fd00::1:0:0:1:2', 'fd00:0:0:1::3']);

    const rx = b.socket(AF_INET6, SOCK_DGRAM);
    rx.bind('FD00:0:0:1:0:0:1:2', 5555);
    assert.equal(rx.getsockname(), { address: 'fd00::1:0:0:1:2', port: 5555, family: 'IPv6' });
    const rx3 = b.socket(AF_INET6, SOCK_DGRAM);
    rx3.bind('fd00:0:0:1::3', 5556);
    assert.is(rx3.getsockname().address, 'fd00:0:0:1::3');

    const tx = a.socket(AF_INET6, SOCK_DGRAM);
    tx.bind('fd00:0000:0000:0001:0001:0000:0001:0001', 0);
    assert.is(tx.getsockname().address, 'fd00::1:1:0:1:1');
    tx.sendtoSync('rfc5952', 'fd00:0:0:1:0:0:1:2', 5555);
    const d = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(d.address, 'fd00::1:1:0:1:1');

    await tx.connect('FD00:0:0:1:0:0:0:3', 5556);
    assert.equal(tx.getpeername(), { address: 'fd00:0:0:1::3', port: 5556, family: 'IPv6' });

    const any = a.socket(AF_INET6, SOCK_DGRAM);
    any.bind('::', 0);
    assert.is(any.getsockname().address, '::');
    assert.is(any.getsockname().family, 'IPv6');

    // TCP through a long-hand peer address reports the short form.
    const { client } = await connect6(a, b, 'fd00:0:0:0:0:0:0:2', 7100);
    assert.equal(client.getpeername(), { address: 'fd00::2', port: 7100, family: 'IPv6' });
  } finally {
    net.dispose();
  }
});

test('family mismatches are EAFNOSUPPORT', async () => {
  const net = await twoStacks();
  try {
    const { a } = net;
    const t4 = a.socket(AF_INET, SOCK_STREAM);
    throwsSocketError(() => t4.connectSync('fd00::2', 7), 'EAFNOSUPPORT', { errno: EAFNOSUPPORT, syscall: 'connect' });
    await rejectsSocketError(t4.connect('fd00::2', 7), 'EAFNOSUPPORT');
    throwsSocketError(() => t4.bind('::', 7), 'EAFNOSUPPORT', { errno: EAFNOSUPPORT, syscall: 'bind' });
    const u4 = a.socket(AF_INET, SOCK_DGRAM);
    throwsSocketError(() => u4.sendtoSync('x', 'fd00::2', 7), 'EAFNOSUPPORT', { syscall: 'sendto' });
    throwsSocketError(() => u4.bind('fd00::1', 7), 'EAFNOSUPPORT');
    // And the reverse: IPv4 on an AF_INET6 socket.
    const t6 = a.socket(AF_INET6, SOCK_STREAM);
    throwsSocketError(() => t6.connectSync('10.0.0.2', 7), 'EAFNOSUPPORT');
    throwsSocketError(() => t6.bind('0.0.0.0', 7), 'EAFNOSUPPORT');
    const u6 = a.socket(AF_INET6, SOCK_DGRAM);
    throwsSocketError(() => u6.sendtoSync('x', '10.0.0.2', 7), 'EAFNOSUPPORT');
    // The sockets are still usable afterwards.
    t4.bind('0.0.0.0', 0);
    assert.ok(t4.getsockname().port > 0);
    u6.bind('::', 0);
    assert.ok(u6.getsockname().port > 0);
    await sleep(1);
  } finally {
    net.dispose();
  }
});

test('packets for a neighbour that never answers queue at most 64 deep, as ARP\'s do (oldest dropped)', async () => {
  const { a, dispose } = await twoStacks();
  try {
    const tx6 = a.socket(AF_INET6, SOCK_DGRAM);
    const tx4 = a.socket(AF_INET, SOCK_DGRAM);
    const drops0 = a.stats().nd6.drop;
    for (let i = 0; i < 500; i++) {
      tx6.sendtoSync(patternBytes(200, i), 'fd00::99', 9); // on-link, but nobody has it
      tx4.sendtoSync(patternBytes(200, i), '10.0.0.99', 9);
    }
    await sleep(20);
    const pools = a.memory().pools;
    assert.ok(pools.ND6_QUEUE > 0 && pools.ND6_QUEUE <= 64, `ND6_QUEUE holds ${pools.ND6_QUEUE}`);
    assert.ok(pools.ARP_QUEUE > 0 && pools.ARP_QUEUE <= 64, `ARP_QUEUE holds ${pools.ARP_QUEUE}`);
    assert.ok(a.stats().nd6.drop - drops0 >= 500 - 64, 'the excess is counted as nd6 drops');
  } finally {
    dispose();
  }
});

test.run();
