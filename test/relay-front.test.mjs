// The relay's web front and rules, as a hostile page or a careless operator would meet
// them: the Origin is checked against a list (by default the relay's own URL), never
// against the Host header, so DNS rebinding gets nowhere; a relay beyond loopback will
// not start open by accident; /metrics takes a token or answers loopback only; one
// address cannot hold every client slot; "deny all" means both families.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import WebSocket from 'ws';
import { it } from './helpers.mjs';
import { startRelay, rawClient, refusal, until } from './relay-util.mjs';
import { ether, ipv4Packet, udpDatagram, tcpSegment, ip4, parseMac, Rng } from './frames.mjs';

function udpFrame(mac, src, port) {
  const s = ip4(src);
  const d = ip4('10.44.0.255');
  return ether(parseMac('ff:ff:ff:ff:ff:ff'), parseMac(mac), 0x0800, ipv4Packet({ src: s, dst: d, proto: 17, payload: udpDatagram({ src: s, dst: d, sport: 9, dport: 9 + port, payload: new Uint8Array(4) }) }));
}

function synFrame(mac, src, dst, sport) {
  const s = ip4(src);
  const d = ip4(dst);
  const seg = tcpSegment(new Rng(1), { src: s, dst: d, sport, dport: 80, seq: 1, ack: 0, flags: 0x02, options: new Uint8Array(0) });
  return ether(parseMac('02:00:00:00:44:99'), parseMac(mac), 0x0800, ipv4Packet({ src: s, dst: d, proto: 6, payload: seg }));
}

it('DNS rebinding: Host and Origin both say evil.example, and the page is refused (4403)', async () => {
  const relay = await startRelay({ mode: 'hub' });
  try {
    const host = `evil.example:${relay.port}`;
    const r = await refusal(rawClient(relay.url, { origin: `http://${host}`, headers: { host } }));
    assert.is(r.code, 4403);
    assert.is(relay.stats().refused.origin, 1);
    // The relay's own page origin still works; so does a client with no Origin at all.
    (await rawClient(relay.url, { origin: `http://127.0.0.1:${relay.port}` }).open()).close();
    (await rawClient(relay.url).open()).close();
  } finally {
    await relay.close();
  }
});

it('listening beyond loopback needs --token or --origin, or --insecure-open', async () => {
  const err = await startRelay({ mode: 'hub', host: '0.0.0.0' }).catch((e) => e);
  assert.instance(err, TypeError);
  assert.match(err.message, /beyond loopback\) with no token and no origins.*--insecure-open/);
  for (const extra of [{ token: 't' }, { origins: ['https://app.example'] }, { insecureOpen: true }]) {
    const relay = await startRelay({ mode: 'hub', host: '0.0.0.0', ...extra });
    await relay.close();
  }
});

/** GET /metrics over a chosen local address; resolves the status. */
function metrics(port, { token, localAddress } = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/metrics${token ? `?token=${token}` : ''}`, localAddress }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

it('/metrics: its own token when set; with no token, loopback clients only', async () => {
  const open = await startRelay({ mode: 'hub' });
  try {
    assert.is(await metrics(open.port), 200, 'loopback, no token configured');
    assert.is(await metrics(open.port, { localAddress: '127.0.0.2' }), 200, 'all of 127/8 is loopback');
  } finally {
    await open.close();
  }
  const locked = await startRelay({ mode: 'hub', token: 'client', metricsToken: 'stats' });
  try {
    assert.is(await metrics(locked.port), 401);
    assert.is(await metrics(locked.port, { token: 'client' }), 401, 'the client token is not the metrics token');
    assert.is(await metrics(locked.port, { token: 'stats' }), 200);
  } finally {
    await locked.close();
  }
});

it('one address may hold at most maxClientsPerAddress clients; others are unaffected', async () => {
  const relay = await startRelay({ mode: 'hub', maxClientsPerAddress: 3 });
  const held = [];
  try {
    for (let i = 0; i < 3; i++) held.push(await rawClient(relay.url).open());
    assert.equal(await refusal(rawClient(relay.url)), { status: 503 });
    const page = await refusal(rawClient(relay.url, { origin: `http://127.0.0.1:${relay.port}` }));
    assert.is(page.code, 4503);
    assert.match(page.reason, /too many clients from this address/);
    assert.is(relay.stats().refused.address, 2);
    // From another (loopback) source address there is room.
    const other = new WebSocket(relay.url, { localAddress: '127.0.0.9' });
    await new Promise((resolve, reject) => {
      other.once('open', resolve);
      other.once('error', reject);
    });
    held.push(other);
  } finally {
    for (const c of held) c.close();
    await relay.close();
  }
});

it('a client that sends nothing is closed (4408) after silentTimeout; one that talks stays', async () => {
  const relay = await startRelay({ mode: 'hub', silentTimeout: 200 });
  const quiet = rawClient(relay.url);
  const talker = rawClient(relay.url);
  try {
    await quiet.open();
    await talker.open();
    talker.send(udpFrame('02:00:00:00:44:01', '10.44.0.1', 0));
    await until(() => quiet.closed !== null, 3000, 'the silent client closed');
    assert.is(quiet.closed.code, 4408);
    assert.match(quiet.closed.reason, /sent nothing for 200 ms/);
    await new Promise((r) => setTimeout(r, 300));
    assert.is(talker.closed, null, 'the client that spoke is still there');
    assert.is(relay.stats().clients, 1);
  } finally {
    quiet.close();
    talker.close();
    await relay.close();
  }
});

it('connectionsPerSecond: SYNs beyond the rate are refused with RST and counted', async () => {
  const relay = await startRelay({ mode: 'hub', connectionsPerSecond: 3 });
  const c = rawClient(relay.url);
  try {
    await c.open();
    for (let i = 0; i < 6; i++) c.send(synFrame('02:00:00:00:44:02', '10.44.0.2', '10.44.0.9', 5000 + i));
    await until(() => relay.stats().dropped.connections === 3, 3000, 'three SYNs over the rate');
    await until(() => c.frames.filter((f) => f[12] === 0x08 && f[23] === 6 && (f[47] & 0x04)).length === 3, 3000, 'an RST for each');
  } finally {
    c.close();
    await relay.close();
  }
});

it('rules: "any" covers both families; a deny of one whole family alone is refused with the fix', async () => {
  for (const deny of [['0.0.0.0/0'], ['::/0'], ['tcp/0.0.0.0/0:25']]) {
    const err = await startRelay({ mode: 'hub', deny }).catch((e) => e);
    assert.instance(err, TypeError, deny.join());
    assert.match(err.message, /would leave IPv[46] open; write --deny (tcp\/)?any/, err.message);
  }
  for (const deny of [['any'], ['0.0.0.0/0', '::/0'], ['tcp/any:25'], ['tcp/0.0.0.0/0:25', 'tcp/[::/0]:25']]) {
    const relay = await startRelay({ mode: 'hub', deny });
    await relay.close();
  }
  const { parseRule } = await import('../dist/relay.js');
  assert.equal(parseRule('tcp/any:25').bytes.length, 0);
  assert.throws(() => parseRule('any/8'), /not an IP address/);
});

it('the default deny list, checked without sending anything: private, link-local, CGNAT, loopback, multicast, reserved', async () => {
  const { Policy, parseRule } = await import('../dist/relay.js');
  const policy = new Policy({ allow: ['tcp/203.0.113.7:443'] });
  const check = (addr, port = 80, proto = 6) => {
    const rule = parseRule(addr);
    return policy.check({ family: rule.bytes.length === 4 ? 4 : 6, src: new Uint8Array(rule.bytes.length), dst: rule.bytes, proto, l4: 34, sport: 1, dport: port, flags: 2, seq: 0, ack: 0, payloadLength: 0, icmpType: -1, fragment: null });
  };
  for (const [addr, why] of [['192.168.1.1', /private/], ['169.254.169.254', /link-local/], ['100.64.0.1', /carrier-grade/], ['172.20.0.1', /private/],
    ['10.1.2.3', /private/], ['127.0.0.2', /loopback/], ['224.0.0.1', /multicast/], ['240.0.0.1', /reserved/], ['::1', /loopback/], ['fd12::1', /unique local/],
    ['fe80::1', /link-local/], ['::ffff:127.0.0.1', /IPv4-mapped/], ['64:ff9b::7f00:1', /NAT64/], ['64:ff9b:1::a00:1', /NAT64/],
    ['2002:7f00:1::1', /6to4 address for 127\.0\.0\.1.*loopback/], ['2002:c0a8:101::1', /6to4 address for 192\.168\.1\.1/],
    ['2001:0:a9fe:a9fe::1', /Teredo address for 169\.254\.169\.254/], ['2001:0:cb00:7107::f5ff:fffe', /Teredo address for 10\.0\.0\.1/],
    ['::7f00:1', /IPv4-compatible address for 127\.0\.0\.1/]]) {
    const v = check(addr);
    assert.is(v.ok, false, addr);
    assert.match(v.reason, why, addr);
  }
  assert.equal(check('203.0.113.7', 443), { ok: true });
  // A later fragment has no port: the policy leaves it to the fragment gate (which lets
  // it through only behind a first fragment that passed), so a port-specific allow of a
  // private address still carries datagrams larger than the MTU.
  const udpAllowed = new Policy({ allow: ['udp/192.168.1.10:5000'] });
  const base = { family: 4, src: new Uint8Array(4), dst: Uint8Array.of(192, 168, 1, 10), proto: 17, sport: 1, dport: 5000, flags: 0, seq: 0, ack: 0, payloadLength: 0, icmpType: -1 };
  assert.equal(udpAllowed.check({ ...base, l4: 34, fragment: { id: 1, first: true, proto: 17 } }), { ok: true });
  assert.equal(udpAllowed.check({ ...base, l4: -1, dport: 0, fragment: { id: 1, first: false, proto: 17 } }), { ok: true });
  // An address the host gains after the start is denied within a few seconds.
  let host = [];
  const later = new Policy({ hostAddresses: () => host });
  const probe = (p) => p.check({ family: 4, src: new Uint8Array(4), dst: Uint8Array.of(192, 0, 2, 44), proto: 6, l4: 34, sport: 1, dport: 80, flags: 2, seq: 0, ack: 0, payloadLength: 0, icmpType: -1, fragment: null });
  assert.equal(probe(later), { ok: true });
  host = ['192.0.2.44'];
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal(probe(later), { ok: false, reason: "192.0.2.44 is the relay host's own address (denied by default)" });
  assert.equal(check('198.51.100.1', 443), { ok: true }, 'not in a denied range: allowed (the check sends nothing)');
});

test.run();
