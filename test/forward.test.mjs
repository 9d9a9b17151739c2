// Routing on a stack: forwarding between interfaces (off on a host, on for a router),
// static routes with a gateway other than the default one, both families; the hop limit
// counted down on the way; the API's errors. Everything on a VirtualClock.
import {
  VirtualClock, createPair, impair, MAX_ROUTES, SocketError, AF_INET, AF_INET6, SOCK_STREAM,
} from '../dist/index.js';
import { it, test, assert, createStack, rejectsCode } from './helpers.mjs';
import { tapLink } from './frames.mjs';

/** TTL (IPv4) or hop limit (IPv6) of the first TCP SYN in a frame list, or undefined. */
function synHopLimit(frames) {
  for (const f of frames) {
    const type = (f[12] << 8) | f[13];
    if (type === 0x0800 && f[23] === 6 && (f[14 + (f[14] & 15) * 4 + 13] & 0x12) === 0x02) return f[22];
    if (type === 0x86dd && f[20] === 6 && (f[54 + 13] & 0x12) === 0x02) return f[21];
  }
  return undefined;
}

/**
 * a — r — b: a on 10.0.1.0/24 and fd00:1::/64, b on 10.0.2.0/24 and fd00:2::/64, r on
 * both. Each host's default gateway is r. Frames arriving at b are recorded.
 */
async function line(clock) {
  const a = await createStack({ clock, seed: 1, connectTimeout: 5000 });
  const r = await createStack({ clock, seed: 2 });
  const b = await createStack({ clock, seed: 3 });
  const [a1, r1] = createPair();
  const [r2, b2] = createPair();
  const atB = [];
  a.addInterface(a1, { ip: '10.0.1.2/24', gateway: '10.0.1.1', ipv6: 'fd00:1::2/64' });
  r.addInterface(r1, { ip: '10.0.1.1/24', ipv6: 'fd00:1::1/64' });
  r.addInterface(r2, { ip: '10.0.2.1/24', ipv6: 'fd00:2::1/64' });
  b.addInterface(tapLink(b2, (f, out) => !out && atB.push(f)), { ip: '10.0.2.2/24', gateway: '10.0.2.1', ipv6: 'fd00:2::2/64' });
  a.addRoute({ to: '::/0', via: 'fd00:1::1' });
  b.addRoute({ to: '::/0', via: 'fd00:2::1' });
  return { a, r, b, atB, dispose: () => [a, r, b].forEach((s) => s.dispose()) };
}

let nextPort = 7000;

async function connectThrough(clock, from, to, address, family = 4) {
  const domain = family === 6 ? AF_INET6 : AF_INET;
  const port = nextPort++;
  const l = to.socket(domain, SOCK_STREAM);
  l.bind(family === 6 ? '::' : '0.0.0.0', port);
  l.listen(4);
  const c = from.socket(domain, SOCK_STREAM);
  try {
    await clock.runUntil(c.connect(address, port));
    const s = await clock.runUntil(l.accept());
    await clock.runUntil(c.send('over the router'));
    const got = new TextDecoder().decode(await clock.runUntil(s.recv()));
    s.close();
    return got;
  } finally {
    c.close();
    l.close();
  }
}

it('a host does not forward; a router does, both families', async () => {
  const clock = new VirtualClock();
  const net = await line(clock);
  try {
    assert.is(net.r.forwarding, false, 'off by default, as on a Linux host');
    // r drops what is not for it, so a's SYNs go unanswered until the connect limit
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(clock.runUntil(c.connect('10.0.2.2', 7000)), 'ETIMEDOUT', 'through a host');
    c.close();
    const c6 = net.a.socket(AF_INET6, SOCK_STREAM);
    await rejectsCode(clock.runUntil(c6.connect('fd00:2::2', 7000)), 'ETIMEDOUT', 'IPv6 through a host (patch 0030)');
    c6.close();
    assert.is(synHopLimit(net.atB), undefined, 'no SYN reached b');

    net.r.setForwarding(true);
    assert.is(net.r.forwarding, true);
    assert.is(await connectThrough(clock, net.a, net.b, '10.0.2.2'), 'over the router');
    assert.is(synHopLimit(net.atB), 63, 'IPv4: TTL 64 less one hop');
    assert.ok(net.r.stats().ip.fw > 0, 'counted as forwarded');
    net.atB.length = 0;
    assert.is(await connectThrough(clock, net.a, net.b, 'fd00:2::2', 6), 'over the router');
    assert.is(synHopLimit(net.atB), 63, 'IPv6: hop limit 64 less one hop');
    assert.ok(net.r.stats().ip6.fw > 0, 'counted as forwarded');

    net.r.setForwarding(false);
    const again = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(clock.runUntil(again.connect('10.0.2.2', 7000)), 'ETIMEDOUT', 'forwarding off again');
    again.close();
  } finally {
    net.dispose();
  }
}, 20_000);

it('routes reach networks behind a second router, and the connect watches the right next hop', async () => {
  // a — r1 — r2 — b: r1 knows b's network only through r2, r2 knows a's only through r1.
  // a's default gateway is a host that is not there: its route to b goes by r1.
  const clock = new VirtualClock();
  const a = await createStack({ clock, seed: 1 });
  const r1 = await createStack({ clock, seed: 2 });
  const r2 = await createStack({ clock, seed: 3 });
  const b = await createStack({ clock, seed: 4 });
  try {
    const [x1, x2] = createPair();
    const [y1, y2] = createPair();
    const [z1, z2] = createPair();
    // the last hop is slow, so a's connect is still in progress when its next-hop check runs (3 s)
    const slow = impair(z2, { clock, seed: 9, delay: 2500 });
    a.addInterface(x1, { ip: '10.0.1.2/24', gateway: '10.0.1.254', ipv6: 'fd00:1::2/64' });
    r1.addInterface(x2, { ip: '10.0.1.1/24', ipv6: 'fd00:1::1/64' });
    r1.addInterface(y1, { ip: '10.0.9.1/30', ipv6: 'fd00:9::1/64' });
    r2.addInterface(y2, { ip: '10.0.9.2/30', ipv6: 'fd00:9::2/64' });
    r2.addInterface(z1, { ip: '10.0.2.1/24', ipv6: 'fd00:2::1/64' });
    b.addInterface(slow, { ip: '10.0.2.2/24', gateway: '10.0.2.1', ipv6: 'fd00:2::2/64' });
    r1.setForwarding(true);
    r2.setForwarding(true);
    a.addRoute({ to: '10.0.2.0/24', via: '10.0.1.1' });
    a.addRoute({ to: 'fd00:2::/64', via: 'fd00:1::1' });
    r1.addRoute({ to: '10.0.2.0/24', via: '10.0.9.2' });
    r1.addRoute({ to: 'fd00:2::/64', via: 'fd00:9::2' });
    r2.addRoute({ to: '10.0.1.0/24', via: '10.0.9.1' });
    r2.addRoute({ to: 'fd00:1::/64', via: 'fd00:9::1' });
    b.addRoute({ to: '::/0', via: 'fd00:2::1' });
    assert.equal(r1.routes, [
      { to: '10.0.2.0/24', via: '10.0.9.2', ifindex: 0 },
      { to: 'fd00:2::/64', via: 'fd00:9::2', ifindex: 0 },
    ]);
    const t0 = clock.now();
    assert.is(await connectThrough(clock, a, b, '10.0.2.2'), 'over the router');
    assert.ok(clock.now() - t0 > 5000, `the handshake took ${clock.now() - t0} ms: past the 3 s next-hop check`);
    assert.is(await connectThrough(clock, a, b, 'fd00:2::2', 6), 'over the router');

    // without r1's route, b's network is unreachable from a again
    assert.is(r1.removeRoute('10.0.2.0/24'), true);
    assert.is(r1.removeRoute('10.0.2.0/24'), false, 'already gone');
    const c = a.socket(AF_INET, SOCK_STREAM);
    const err = await clock.runUntil(c.connect('10.0.2.2', 7000, { timeout: 4000 }).catch((e) => e));
    assert.instance(err, SocketError);
    assert.is(err.code, 'ETIMEDOUT');
    c.close();
  } finally {
    for (const s of [a, r1, r2, b]) s.dispose();
  }
}, 20_000);

it('a longer prefix wins; an on-link route names its interface', async () => {
  const clock = new VirtualClock();
  const s = await createStack({ clock, seed: 5 });
  try {
    const [l1] = createPair();
    const [l2] = createPair();
    const i1 = s.addInterface(l1, { ip: '10.0.1.2/24' });
    const i2 = s.addInterface(l2, { ip: '10.0.2.2/24' });
    s.addRoute({ to: '0.0.0.0/0', via: '10.0.1.1' });
    s.addRoute({ to: '192.0.2.0/24', via: '10.0.2.1' });
    s.addRoute({ to: '198.51.100.7/32', ifindex: i2.index });
    assert.equal(s.routes.map((r) => [r.to, r.via, r.ifindex]), [
      ['0.0.0.0/0', '10.0.1.1', 0], ['192.0.2.0/24', '10.0.2.1', 0], ['198.51.100.7/32', undefined, i2.index],
    ]);
    // which link a SYN leaves by shows the choice
    const sent = [];
    for (const [addr, want] of [['203.0.113.9', i1], ['192.0.2.50', i2], ['198.51.100.7', i2]]) {
      const before = [i1.counters.txFrames, i2.counters.txFrames];
      const c = s.socket(AF_INET, SOCK_STREAM);
      c.connect(addr, 80).catch(() => {});
      await clock.advanceAsync(10);
      const after = [i1.counters.txFrames, i2.counters.txFrames];
      sent.push([addr, after[0] > before[0] ? i1.index : after[1] > before[1] ? i2.index : 0]);
      assert.is(sent.at(-1)[1], want.index, `${addr} leaves by interface ${want.index}`);
      c.close();
    }
  } finally {
    s.dispose();
  }
});

test('route errors: bad input, duplicates, a full table', async () => {
  const s = await createStack({ seed: 6 });
  try {
    const [l] = createPair();
    s.addInterface(l, { ip: '10.0.1.2/24' });
    assert.throws(() => s.addRoute({ to: '10.0.2.0/24' }), /needs via .* or ifindex/);
    assert.throws(() => s.addRoute({ to: 'nonsense', via: '10.0.1.1' }), TypeError);
    assert.throws(() => s.addRoute({ to: '10.0.2.0/24', via: 'fd00::1' }), /IPv4 address/);
    assert.throws(() => s.addRoute({ to: '10.0.2.0/24', via: '10.0.1.1', metric: 3 }), /unknown route option "metric"/);
    assert.throws(() => s.addRoute({ to: '10.0.2.0/24', ifindex: 77 }), (e) => e instanceof SocketError && e.code === 'ENODEV');
    assert.throws(() => s.setForwarding('yes'), TypeError);
    s.addRoute({ to: '10.0.2.7/24', via: '10.0.1.1' });
    assert.equal(s.routes, [{ to: '10.0.2.0/24', via: '10.0.1.1', ifindex: 0 }], 'host bits cleared');
    assert.throws(() => s.addRoute({ to: '10.0.2.0/24', via: '10.0.1.9' }), /already there/);
    for (let i = 1; i < MAX_ROUTES; i++) s.addRoute({ to: `172.16.${i}.0/24`, via: '10.0.1.1' });
    assert.is(s.routes.length, MAX_ROUTES);
    assert.throws(() => s.addRoute({ to: '172.17.0.0/16', via: '10.0.1.1' }), (e) => e instanceof SocketError && e.code === 'ENOBUFS');
  } finally {
    s.dispose();
  }
  assert.throws(() => s.addRoute({ to: '10.9.0.0/16', via: '10.0.1.1' }), /disposed/i);
});

test.run();
