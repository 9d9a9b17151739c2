// Admission and limits, each shown refusing one client while the other clients keep
// working: the token, the Origin allowlist, the client limit, connections per client,
// frames and bytes per second, and frame size. hub mode: no real sockets are opened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ether, parseMac, ip4, ipv4Packet, udpDatagram } from './frames.mjs';
import { it } from './helpers.mjs';
import { refusal, startRelay, relayStack, rawClient, until, lwip, echoOnce } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM } = lwip;

/** Two stacks (10.9.0.1, 10.9.0.2) on the relay, to show the others keep working. */
async function bystanders(relay, opts = {}) {
  const a = await relayStack(relay, { ip: '10.9.0.1/24', ...opts });
  const b = await relayStack(relay, { ip: '10.9.0.2/24', ...opts });
  return {
    a: a.stack, b: b.stack,
    check: async (msg) => assert.is(await echoOnce(a.stack, b.stack, '10.9.0.2', msg), msg),
    dispose: () => { a.stack.dispose(); b.stack.dispose(); },
  };
}

/** A UDP frame of `size` bytes from mac/10.9.0.66 to a MAC nobody owns (so the hub floods it to the others). */
function junk(mac, size) {
  const src = ip4('10.9.0.66');
  const dst = ip4('10.9.0.99');
  const payload = new Uint8Array(size - 14 - 20 - 8);
  return ether(parseMac('02:00:00:00:00:99'), parseMac(mac), 0x0800,
    ipv4Packet({ src, dst, proto: 17, payload: udpDatagram({ src, dst, sport: 9, dport: 9, payload }) }));
}

it('token: no token or a wrong one gets 401 (and no session); the right one, in the URL or as Bearer, connects', async () => {
  const relay = await startRelay({ mode: 'hub', token: 's3cret' });
  const others = await bystanders(relay, { token: 's3cret' });
  try {
    for (const token of [undefined, 'wrong', 's3cre', 's3cret!']) {
      const err = await rawClient(relay.url, { token }).open().catch((e) => e);
      assert.is(err.status, 401, `token ${token}`);
    }
    assert.is(relay.stats().refused.token, 4);
    assert.is(relay.stats().clients, 2);
    const ok = await rawClient(relay.url, { token: 's3cret' }).open();
    ok.close();
    const bearer = await rawClient(relay.url, { headers: { authorization: 'Bearer s3cret' } }).open();
    bearer.close();
    // /metrics needs it too.
    const base = relay.url.replace(/^ws/, 'http');
    assert.is((await fetch(`${base}metrics`)).status, 401);
    const m = await (await fetch(`${base}metrics?token=s3cret`)).json();
    assert.is(m.refused.token, 4);
    assert.ok(relay.lines.some((l) => /refused .*Unauthorized/.test(l)));
    await others.check('still here');
  } finally {
    others.dispose();
    await relay.close();
  }
}, 20_000);

it('Origin: by default only the relay\'s own origin (or none); with an allowlist only those; refused pages are told why (4403)', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const others = await bystanders(relay);
  try {
    const evil = await refusal(rawClient(relay.url, { origin: 'http://evil.example' }));
    assert.is(evil.code, 4403);
    assert.match(evil.reason, /origin is not allowed/);
    assert.is(relay.stats().clients, 2, 'the refused page got no session');
    const own = new URL(relay.url.replace(/^ws/, 'http')).origin;
    (await rawClient(relay.url, { origin: own }).open()).close();
    assert.is(relay.stats().refused.origin, 1);
    await others.check('unaffected');
  } finally {
    others.dispose();
    await relay.close();
  }
  const listed = await startRelay({ mode: 'hub', origins: ['https://app.example'] });
  try {
    (await rawClient(listed.url, { origin: 'https://app.example' }).open()).close();
    for (const origin of ['https://app.example.evil', 'http://app.example', 'null']) {
      const r = await refusal(rawClient(listed.url, { origin }));
      assert.is(r.code, 4403, origin);
    }
    assert.is(listed.stats().refused.origin, 3);
  } finally {
    await listed.close();
  }
}, 20_000);

it('maxClients: the client over the limit gets 503; a place frees when one leaves', async () => {
  const relay = await startRelay({ mode: 'hub', maxClients: 2 });
  const others = await bystanders(relay);
  try {
    const err = await rawClient(relay.url).open().catch((e) => e);
    assert.is(err.status, 503);
    assert.is(relay.stats().refused.clients, 1);
    await others.check('two is enough');
    others.b.dispose();
    await until(() => relay.stats().clients === 1, 3000, 'b gone');
    const late = await rawClient(relay.url).open();
    late.close();
  } finally {
    others.dispose();
    await relay.close();
  }
}, 20_000);

it('maxConnections: the connection over the limit is refused at once (RST: ECONNREFUSED); closing one frees a place', async () => {
  const relay = await startRelay({ mode: 'hub', maxConnections: 2 });
  const nodes = [];
  try {
    for (let i = 1; i <= 3; i++) nodes.push(await relayStack(relay, { ip: `10.9.0.${i}/24` }));
    const [a, b, c] = nodes.map((n) => n.stack);
    const l = b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 80);
    l.listen(16);
    const open = [];
    for (let i = 0; i < 2; i++) {
      const s = a.socket(AF_INET, SOCK_STREAM);
      await s.connect('10.9.0.2', 80, { timeout: 5000 });
      open.push(s, await l.accept());
    }
    const third = a.socket(AF_INET, SOCK_STREAM);
    const t0 = Date.now();
    const err = await third.connect('10.9.0.2', 80, { timeout: 5000 }).catch((e) => e);
    assert.is(err.code, 'ECONNREFUSED');
    assert.ok(Date.now() - t0 < 1000, `refused after ${Date.now() - t0} ms`);
    const sa = relay.stats().sessions.find((s) => s.ipv4 === '10.9.0.1');
    assert.is(sa.connections, 2);
    assert.is(sa.dropped.connections, 1);
    // Another client is not limited by a's count.
    for (let i = 0; i < 2; i++) {
      const s = c.socket(AF_INET, SOCK_STREAM);
      await s.connect('10.9.0.2', 80, { timeout: 5000 });
      s.close();
    }
    // a closes one (FIN both ways), and can open another.
    open[0].close();
    open[1].close();
    await until(() => relay.stats().sessions.find((s) => s.ipv4 === '10.9.0.1').connections === 1, 5000, 'a connection closed');
    const again = a.socket(AF_INET, SOCK_STREAM);
    await again.connect('10.9.0.2', 80, { timeout: 5000 });
    assert.ok(relay.lines.some((l) => /client \d+: connections: more than 2 TCP connections/.test(l)));
  } finally {
    for (const n of nodes) n.stack.dispose();
    await relay.close();
  }
}, 30_000);

it('framesPerSecond: a flooding client loses the excess (counted); the others keep working', async () => {
  const relay = await startRelay({ mode: 'hub', framesPerSecond: 50 });
  const others = await bystanders(relay);
  const flood = rawClient(relay.url);
  try {
    await flood.open();
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) flood.send(junk('02:00:00:00:00:66', 60));
    await until(() => relay.stats().sessions.some((s) => s.framesIn === 300), 5000, 'the flood to arrive');
    const elapsed = (Date.now() - t0) / 1000;
    const s = relay.stats().sessions.find((x) => x.mac === '02:00:00:00:00:66');
    // At most the one-second burst plus what the rate refilled meanwhile got through.
    const passedMax = 50 + Math.ceil(50 * elapsed);
    assert.ok(s.dropped.rate >= 300 - passedMax && s.dropped.rate <= 250, `rate drops ${s.dropped.rate} in ${elapsed} s`);
    await others.check('through the flood');
    assert.is(relay.lines.filter((l) => l.startsWith(`client ${s.id}: rate`)).length, 1);
  } finally {
    flood.close();
    others.dispose();
    await relay.close();
  }
}, 20_000);

it('bytesPerSecond: a client over its byte rate loses the excess (counted); the others keep working', async () => {
  const relay = await startRelay({ mode: 'hub', bytesPerSecond: 20_000 });
  const others = await bystanders(relay);
  const flood = rawClient(relay.url);
  try {
    await flood.open();
    const t0 = Date.now();
    for (let i = 0; i < 100; i++) flood.send(junk('02:00:00:00:00:66', 1000));
    await until(() => relay.stats().sessions.some((s) => s.framesIn === 100), 5000, 'the flood to arrive');
    const elapsed = (Date.now() - t0) / 1000;
    const s = relay.stats().sessions.find((x) => x.mac === '02:00:00:00:00:66');
    // 20 frames of 1000 bytes make the burst; the rate refills 20 a second.
    const passedMax = 20 + Math.ceil(20 * elapsed);
    assert.ok(s.dropped.rate >= 100 - passedMax && s.dropped.rate <= 80, `rate drops ${s.dropped.rate} in ${elapsed} s`);
    await others.check('bytes fine');
  } finally {
    flood.close();
    others.dispose();
    await relay.close();
  }
}, 20_000);

it('maxFrameSize: an oversized frame is dropped and counted, the session goes on; a giant message closes only that client (1009)', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const others = await bystanders(relay);
  const big = rawClient(relay.url);
  const watcher = rawClient(relay.url);
  try {
    await big.open();
    await watcher.open();
    big.send(junk('02:00:00:00:00:66', 100)); // learned: 02:..:66
    big.send(junk('02:00:00:00:00:66', 1519));
    big.send(junk('02:00:00:00:00:66', 9000));
    big.send(junk('02:00:00:00:00:66', 1518)); // at the limit: carried
    await until(() => relay.stats().dropped.oversize === 2, 3000, 'two oversize drops');
    // The frames under the limit were flooded to the watcher; the oversized ones were not.
    await until(() => watcher.frames.length >= 2, 3000, 'the watcher to get the small frames');
    assert.equal(watcher.frames.filter((f) => f[0] === 0x02 && f[5] === 0x99).map((f) => f.length), [100, 1518]);
    // Above 256 KiB, ws refuses the message before buffering it, and closes that connection.
    big.send(new Uint8Array(300 * 1024));
    await until(() => big.closed !== null, 3000, 'the giant sender closed');
    assert.is(big.closed.code, 1009);
    await others.check('after the giant');
    assert.ok(relay.lines.some((l) => /oversize: a 1519-byte frame \(limit 1518\)/.test(l)));
  } finally {
    watcher.close();
    others.dispose();
    await relay.close();
  }
}, 20_000);

it('batched framing: a message of exactly 256 KiB (the most a sender makes) is taken whole; one byte more closes only that client (1009)', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const others = await bystanders(relay);
  const big = rawClient(relay.url, { protocols: [lwip.BATCH_PROTOCOL] });
  const watcher = rawClient(relay.url);
  try {
    await big.open();
    await watcher.open();
    assert.is(big.ws.protocol, lwip.BATCH_PROTOCOL);
    // 172 records of 1514-byte frames and one of 1390: 262144 bytes, lengths included.
    const frames = [...Array.from({ length: 172 }, () => junk('02:00:00:00:00:67', 1514)), junk('02:00:00:00:00:67', 1390)];
    const msg = new Uint8Array(256 * 1024);
    let o = 0;
    for (const f of frames) {
      msg[o] = f.length >> 8;
      msg[o + 1] = f.length & 0xff;
      msg.set(f, o + 2);
      o += 2 + f.length;
    }
    assert.is(o, msg.length);
    big.send(msg);
    await until(() => watcher.frames.length >= frames.length, 5000, 'every frame of the batch flooded to the watcher');
    assert.is(watcher.frames.length, frames.length);
    assert.is(big.closed, null);
    const over = new Uint8Array(256 * 1024 + 1);
    over.set(msg);
    big.send(over);
    await until(() => big.closed !== null, 3000, 'the sender of 256 KiB + 1 closed');
    assert.is(big.closed.code, 1009);
    await others.check('after the oversized batch');
  } finally {
    watcher.close();
    others.dispose();
    await relay.close();
  }
}, 20_000);

test.run();
