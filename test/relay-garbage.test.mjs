// Garbage into the relay: random bytes, runts, truncated and lying headers, oversized
// frames and text messages are dropped and counted, never forwarded, and neither the
// relay nor the other clients notice. Both a switching mode (hub) and nat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Rng, ether, ipv4Packet, tcpSegment, udpDatagram, ip4, parseMac } from './frames.mjs';
import { it } from './helpers.mjs';
import { startRelay, relayStack, rawClient, until, lwip, loopbackServer, fetchText, echoOnce } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM } = lwip;
const MAC = parseMac('02:00:00:00:00:66');

/** Every kind of bad message, from a seeded generator; returns [messages, expected drops by reason]. */
function garbage(seed) {
  const r = new Rng(seed);
  const out = [];
  const expect = { malformed: 0, oversize: 0 };
  const src = ip4('10.9.0.66');
  const dst = ip4('10.9.0.1');
  // Random bytes from 0 to 13 bytes: runts.
  for (let i = 0; i < 50; i++) {
    out.push(r.bytes(r.below(14)));
    expect.malformed++;
  }
  // IPv4 with the version, the header length or the total length lying, and cut short.
  for (let i = 0; i < 100; i++) {
    const seg = tcpSegment(r, { src, dst, sport: 1000 + i, dport: 80, seq: r.u32(), ack: 0, flags: 0x02 });
    const f = ether(parseMac('02:00:00:00:00:01'), MAC, 0x0800, ipv4Packet({ src, dst, proto: 6, payload: seg }));
    const kind = i % 4;
    if (kind === 0) f[14] = 0x35; // version 3
    if (kind === 1) f[14] = 0x44; // IHL 16 bytes
    if (kind === 2) { f[16] = 0xff; f[17] = 0xff; } // total length past the frame
    out.push(kind === 3 ? f.subarray(0, 14 + 20 + r.below(20)) : f); // kind 3: TCP header cut
    expect.malformed++;
  }
  // UDP whose header is cut, ARP cut short.
  for (let i = 0; i < 20; i++) {
    const u = udpDatagram({ src, dst, sport: 1, dport: 2, payload: new Uint8Array(4) });
    const pkt = ipv4Packet({ src, dst, proto: 17, payload: u.subarray(0, 4) });
    out.push(ether(parseMac('02:00:00:00:00:01'), MAC, 0x0800, pkt));
    out.push(ether(parseMac('ff:ff:ff:ff:ff:ff'), MAC, 0x0806, new Uint8Array(10)));
    expect.malformed += 2;
  }
  // Oversized, random content.
  for (let i = 0; i < 20; i++) {
    out.push(r.bytes(1519 + r.below(60_000)));
    expect.oversize++;
  }
  return { messages: out, expect };
}

it('hub: garbage is dropped and counted, nothing of it reaches the other clients, who keep working', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const a = await relayStack(relay, { ip: '10.9.0.1/24' });
  const b = await relayStack(relay, { ip: '10.9.0.2/24' });
  const watcher = rawClient(relay.url);
  const junk = rawClient(relay.url);
  try {
    await watcher.open();
    await junk.open();
    assert.is(await echoOnce(a.stack, b.stack, '10.9.0.2', 'before'), 'before');
    const aDrops = a.stack.memory().inputDrops;
    watcher.frames.length = 0;
    const { messages, expect } = garbage(42);
    for (const m of messages) junk.send(m);
    junk.ws.send('not a frame'); // a text message
    expect.malformed++;
    await until(() => relay.stats().sessions.find((s) => s.framesIn > 0 && s.dropped.malformed > 0)?.framesIn === messages.length, 5000, 'all garbage in');
    const s = relay.stats().sessions.find((x) => x.dropped.malformed > 0);
    assert.is(s.dropped.malformed, expect.malformed);
    assert.is(s.dropped.oversize, expect.oversize);
    assert.is(s.dropped.spoofed + s.dropped.unsupported + s.dropped.rate, 0);
    assert.is(junk.closed, null, 'the sender is still connected');
    assert.is(await echoOnce(b.stack, a.stack, '10.9.0.1', 'after'), 'after');
    // None of it was forwarded: the watcher saw only the stacks' own traffic (from their MACs).
    const macs = new Set([a.nif.mac, b.nif.mac].map((m) => m.toLowerCase()));
    const foreign = watcher.frames.filter((f) => !macs.has(Array.from(f.subarray(6, 12), (x) => x.toString(16).padStart(2, '0')).join(':')));
    assert.is(foreign.length, 0);
    assert.is(a.stack.memory().inputDrops, aDrops);
  } finally {
    watcher.close();
    junk.close();
    a.stack.dispose();
    b.stack.dispose();
    await relay.close();
  }
}, 30_000);

it('nat: garbage never reaches the gateway; the client that sent it and the others keep working', async () => {
  const srv = await loopbackServer('still fine\n');
  const relay = await startRelay({ nat: { dns: false }, allow: [`tcp/127.0.0.1:${srv.port}`] });
  const good = await relayStack(relay, { ip: '10.0.2.15/24', gateway: '10.0.2.2' });
  const junk = rawClient(relay.url);
  try {
    await junk.open();
    const { messages, expect } = garbage(7);
    for (const m of messages) junk.send(m);
    await until(() => relay.stats().sessions.some((x) => x.framesIn === messages.length), 5000, 'all garbage in');
    assert.is(relay.stats().dropped.malformed, expect.malformed);
    assert.is(relay.stats().dropped.oversize, expect.oversize);
    assert.is(relay.stats().clients, 2);
    assert.is(await fetchText(good.stack, '10.0.2.2', srv.port), 'still fine\n');
  } finally {
    junk.close();
    good.stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 30_000);

it('HTTP garbage: bad escapes, traversal out of dist/, bad upgrade URLs get 4xx or a closed socket, and the relay goes on', async () => {
  const { connect } = await import('node:net');
  const relay = await startRelay({ demo: true, nat: { dns: false }, token: 't' });
  const raw = (text) => new Promise((resolve) => {
    const s = connect(relay.port, '127.0.0.1', () => s.end(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('close', () => resolve(out.split('\r\n')[0]));
    s.on('error', () => resolve('error'));
  });
  try {
    assert.is(await raw('GET /dist/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n'), 'HTTP/1.1 400 Bad Request');
    // URL parsing resolves this one to /package.json, which is not a file the relay serves.
    assert.is(await raw('GET /dist/../package.json HTTP/1.1\r\nHost: x\r\n\r\n'), 'HTTP/1.1 426 Upgrade Required');
    assert.is(await raw('GET /dist/..%2f..%2fpackage.json HTTP/1.1\r\nHost: x\r\n\r\n'), 'HTTP/1.1 404 Not Found');
    assert.is(await raw('GET http://[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'), '');
    const ok = await fetch(`${relay.demoUrl}dist/index.js`);
    assert.is(ok.status, 200);
    assert.is((await fetch(`${relay.demoUrl}metrics?token=t`)).status, 200);
  } finally {
    await relay.close();
  }
}, 20_000);

test.run();
