// stack.intercept(iface): a stack as its peer's transparent gateway. A client stack and a
// gateway stack on an in-memory pair; the client talks to documentation addresses
// (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32) that exist only inside this process,
// and the gateway holds each connection attempt until the test gives a verdict.
import {
  createPair, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SocketError,
} from '../dist/index.js';
import { it, test, assert, createStack, withTimeout } from './helpers.mjs';
import { cat, ether, ipv6Packet, ip6, parseMac, fixChecksums } from './frames.mjs';

/** A router advertisement from the gateway (no prefix: the client's address is static). */
function routerAdvertisement(gif) {
  const mac = parseMac(gif.mac);
  const ra = cat(
    Uint8Array.of(134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0), // lifetime 1800 s
    Uint8Array.of(1, 1), mac, // source link-layer address
  );
  const f = ether(parseMac('33:33:00:00:00:01'), mac, 0x86dd,
    ipv6Packet({ src: ip6(gif.ipv6[0]), dst: ip6('ff02::1'), next: 58, hop: 255, payload: ra }));
  fixChecksums(f);
  return f;
}

/** client 10.0.2.15/24 (+ fd00:2::15/64) behind gateway 10.0.2.2 (+ fd00:2::2/64), which intercepts. */
async function gatewayPair() {
  const client = await createStack({ seed: 11 });
  const gateway = await createStack({ seed: 12 });
  const [lc, lg] = createPair();
  const gif = gateway.addInterface(lg, { ip: '10.0.2.2/24', ipv6: 'fd00:2::2/64' });
  const cif = client.addInterface(lc, { ip: '10.0.2.15/24', gateway: '10.0.2.2', ipv6: 'fd00:2::15/64' });
  const icept = gateway.intercept(gif);
  // IPv6 routes off-link through a router the client learns of from an advertisement.
  lg.send(routerAdvertisement(gif));
  await new Promise((r) => setTimeout(r, 10));
  return {
    client, gateway, cif, gif, icept,
    dispose() {
      icept.close();
      client.dispose();
      gateway.dispose();
    },
  };
}

/** The next held connection attempt. */
async function nextConnect(icept, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const [held] = icept.takeConnects();
    if (held) return held;
    if (Date.now() > deadline) throw new Error('no connection attempt was held');
    await withTimeout(icept.wait(), ms, 'intercept wait');
  }
}

async function nextDatagram(icept, ms = 3000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = icept.takeDatagram();
    if (d) return d;
    if (Date.now() > deadline) throw new Error('no datagram was queued');
    await withTimeout(icept.wait(), ms, 'intercept wait');
  }
}

it('a gateway takes connections for any address; allowed ones are accepted with their destination', async () => {
  const net = await gatewayPair();
  try {
    const c = net.client.socket(AF_INET, SOCK_STREAM);
    const connecting = c.connect('192.0.2.80', 8080);
    const held = await nextConnect(net.icept);
    assert.equal(held.dst, { address: '192.0.2.80', port: 8080, family: 'IPv4' });
    assert.is(held.src.address, '10.0.2.15');
    assert.is(held.src.port, c.getsockname().port);
    // Nothing answers until the verdict: the client is still connecting.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(net.icept.takeConnects(), [], 'a retransmitted SYN is not held twice');
    net.icept.verdict(held.id, 'allow');
    const s = await withTimeout(net.icept.listener.accept(), 3000, 'accept');
    await withTimeout(connecting, 3000, 'connect');
    const local = s.getsockname();
    assert.is(local.port, 8080);
    assert.match(local.address, /192\.0\.2\.80$/);
    assert.is(c.getpeername().address, '192.0.2.80', 'the client sees the real destination as its peer');
    await c.send('ping');
    assert.is(new TextDecoder().decode(await s.recv()), 'ping');
    await s.send('pong');
    assert.is(new TextDecoder().decode(await c.recv()), 'pong');
    // Half-close both ways.
    c.shutdown(1);
    assert.is((await s.recv()).length, 0, 'the client FIN reaches the gateway');
    await s.send('after');
    assert.is(new TextDecoder().decode(await c.recv()), 'after');
    s.shutdown(1);
    assert.is((await c.recv()).length, 0, 'the gateway FIN reaches the client');
    c.close();
    s.close();
  } finally {
    net.dispose();
  }
});

it('verdicts become what a real network says: RST is ECONNREFUSED, ICMP errors EHOSTUNREACH and ENETUNREACH', async () => {
  const net = await gatewayPair();
  try {
    const cases = [
      ['reset', 'ECONNREFUSED', AF_INET, '192.0.2.1'],
      ['prohibited', 'EHOSTUNREACH', AF_INET, '192.0.2.2'],
      ['host-unreachable', 'EHOSTUNREACH', AF_INET, '192.0.2.3'],
      ['net-unreachable', 'ENETUNREACH', AF_INET, '192.0.2.4'],
      ['reset', 'ECONNREFUSED', AF_INET6, '2001:db8::1'],
      ['prohibited', 'EACCES', AF_INET6, '2001:db8::2'],
    ];
    for (const [verdict, code, family, address] of cases) {
      const c = net.client.socket(family, SOCK_STREAM);
      const connecting = c.connect(address, 443).then(() => 'connected', (e) => e);
      const held = await nextConnect(net.icept);
      assert.is(held.dst.address, address);
      net.icept.verdict(held.id, verdict);
      const outcome = await withTimeout(connecting, 3000, `connect after ${verdict}`);
      assert.instance(outcome, SocketError, `${verdict} on ${address}`);
      assert.is(outcome.code, code, `${verdict} on ${address}`);
      c.close();
    }
  } finally {
    net.dispose();
  }
});

it('a dropped attempt is asked again by the client\'s next SYN', async () => {
  const net = await gatewayPair();
  try {
    const c = net.client.socket(AF_INET, SOCK_STREAM);
    const connecting = c.connect('198.51.100.7', 22);
    const first = await nextConnect(net.icept);
    net.icept.verdict(first.id, 'drop');
    const again = await nextConnect(net.icept, 5000); // the retransmission, about 1 s later
    assert.not.equal(again.id, first.id);
    assert.equal(again.dst, first.dst);
    net.icept.verdict(again.id, 'allow');
    const s = await withTimeout(net.icept.listener.accept(), 3000, 'accept');
    await withTimeout(connecting, 3000, 'connect');
    s.close();
    c.close();
  } finally {
    net.dispose();
  }
});

it('UDP to any address is handed over, replies come from the remote, and unreachable becomes ECONNREFUSED', async () => {
  const net = await gatewayPair();
  try {
    for (const [family, remote] of [[AF_INET, '198.51.100.53'], [AF_INET6, '2001:db8::53']]) {
      const u = net.client.socket(family, SOCK_DGRAM);
      u.connect(remote, 53);
      await u.send('query');
      const d = await nextDatagram(net.icept);
      assert.is(new TextDecoder().decode(d.data), 'query');
      assert.equal(d.dst, { address: remote, port: 53, family: family === AF_INET ? 'IPv4' : 'IPv6' });
      net.icept.sendDatagram(d.dst, d.src, new TextEncoder().encode('answer'));
      const got = await withTimeout(u.recvfrom(100), 3000, 'reply');
      assert.is(new TextDecoder().decode(got.data), 'answer');
      assert.is(got.address, remote);
      assert.is(got.port, 53);
      net.icept.unreachable(d.src, d.dst, 'port-unreachable');
      await new Promise((r) => setTimeout(r, 50));
      try {
        u.sendSync('again');
        await u.recv(100, { timeout: 200 });
        assert.unreachable('the connected socket heard no error');
      } catch (e) {
        assert.instance(e, SocketError);
        assert.is(e.code, 'ECONNREFUSED');
      }
      u.close();
    }
  } finally {
    net.dispose();
  }
});

it('the gateway answers pings only for its own address, and its own UDP servers still get their datagrams', async () => {
  const net = await gatewayPair();
  try {
    const dns = net.gateway.socket(AF_INET, SOCK_DGRAM);
    dns.bind('0.0.0.0', 53);
    const u = net.client.socket(AF_INET, SOCK_DGRAM);
    u.sendtoSync('to the gateway', '10.0.2.2', 53);
    const got = await withTimeout(dns.recvfrom(100), 3000, 'gateway socket');
    assert.is(new TextDecoder().decode(got.data), 'to the gateway');
    assert.is(net.icept.takeDatagram(), null, 'not intercepted');
    // the same port on another address is intercepted
    u.sendtoSync('elsewhere', '192.0.2.53', 53);
    const d = await nextDatagram(net.icept);
    assert.is(d.dst.address, '192.0.2.53');
    const before = net.gateway.stats().icmp.xmit;
    assert.is(before, 0);
    dns.close();
    u.close();
  } finally {
    net.dispose();
  }
});

it('held attempts are bounded: a SYN flood costs at most 256 entries, and memory returns', async () => {
  const net = await gatewayPair();
  try {
    // one exchange first, so the client's ARP for the gateway is resolved and no SYN waits
    const warm = net.client.socket(AF_INET, SOCK_STREAM);
    warm.connect('192.0.2.99', 999).catch(() => {});
    net.icept.verdict((await nextConnect(net.icept)).id, 'reset');
    warm.close();
    /** 400 connects at once: 256 held, the rest dropped. */
    const flood = async (port) => {
      const socks = [];
      for (let i = 0; i < 400; i++) {
        const c = net.client.socket(AF_INET, SOCK_STREAM);
        c.connect('192.0.2.99', port + i).catch(() => {});
        socks.push(c);
      }
      await new Promise((r) => setTimeout(r, 100));
      return socks;
    };
    // A first flood grows the stacks' frame batch buffers to a flood's size once (a SYN
    // with timestamps and SACK-permitted is 16 bytes longer: 400 no longer fit 32 KiB);
    // what the second one leaves behind is what held SYNs cost.
    const first = await flood(20000);
    for (const h of net.icept.takeConnects()) net.icept.verdict(h.id, 'reset');
    for (const c of first) c.close();
    await new Promise((r) => setTimeout(r, 50));
    const base = net.gateway.memory().heapBytes;
    const drops = net.gateway.stats().tcp.drop;
    const socks = await flood(1000);
    const held = net.icept.takeConnects();
    assert.is(held.length, 256, 'at most 256 held at once');
    assert.ok(net.gateway.stats().tcp.drop >= drops + 400 - 256, 'the rest were dropped and counted');
    for (const h of held) net.icept.verdict(h.id, 'reset');
    for (const c of socks) c.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(net.gateway.memory().heapBytes < base + 64 * 1024, 'held SYNs were freed');
  } finally {
    net.dispose();
  }
});

test.run();
