// Batched WebSocket framing (lwip-wasm.batch.v1): negotiated in the upgrade, many frames
// per message both ways between the package's link and its relay, today's one frame per
// message for clients that ask for nothing, and a clean close (1002 and a reason) for a
// malformed batch, whichever end sends it.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { ether, ipv4Packet, udpDatagram, ip4, parseMac } from './frames.mjs';
import { it } from './helpers.mjs';
import { startRelay, relayStack, rawClient, until, lwip } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM, BATCH_PROTOCOL, connectWebSocket } = lwip;

function udpFrame(srcMac, srcIp, payload) {
  const src = ip4(srcIp);
  const dst = ip4('10.9.0.255');
  return ether(parseMac('ff:ff:ff:ff:ff:ff'), parseMac(srcMac), 0x0800,
    ipv4Packet({ src, dst, proto: 17, payload: udpDatagram({ src, dst, sport: 5000, dport: 5001, payload: new TextEncoder().encode(payload) }) }));
}

/** A batch message: each Uint8Array becomes a record (length, frame); plain arrays go in as raw bytes. */
function batch(...parts) {
  return Uint8Array.from(parts.flatMap((p) => (p instanceof Uint8Array ? [p.length >> 8, p.length & 0xff, ...p] : p)));
}

it('hub: stacks that offer batching get it; 8 MiB arrives intact in far fewer messages than frames', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const nodes = [];
  try {
    nodes.push(await relayStack(relay, { ip: '10.9.0.1/24', batch: true }));
    nodes.push(await relayStack(relay, { ip: '10.9.0.2/24', batch: true }));
    const [a, b] = nodes;
    assert.is(a.link.framing, 'batch');
    assert.equal(relay.stats().sessions.map((s) => s.framing), ['batch', 'batch']);
    const l = b.stack.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 80);
    l.listen(4);
    const c = a.stack.socket(AF_INET, SOCK_STREAM);
    const [s] = await Promise.all([l.accept(), c.connect('10.9.0.2', 80, { timeout: 5000 })]);
    const data = new Uint8Array(8 << 20).map((_, i) => (i * 31) & 0xff);
    const got = createHash('sha256');
    let n = 0;
    const reader = (async () => {
      while (n < data.length) {
        const d = await s.recv(1 << 20);
        if (d.length === 0) break;
        got.update(d);
        n += d.length;
      }
    })();
    await c.send(data);
    await reader;
    assert.is(n, data.length);
    assert.is(got.digest('hex'), createHash('sha256').update(data).digest('hex'));
    const out = a.link.counters;
    const inB = b.link.counters;
    assert.ok(out.framesSent >= 4 * out.messagesSent, `sender: ${out.framesSent} frames in ${out.messagesSent} messages`);
    assert.ok(inB.framesReceived >= 4 * inB.messagesReceived, `receiver: ${inB.framesReceived} frames in ${inB.messagesReceived} messages`);
    assert.is(out.badMessages + inB.badMessages, 0);
    c.close();
    s.close();
    l.close();
  } finally {
    for (const x of nodes) x.stack.dispose();
    await relay.close();
  }
}, 60_000);

it('framing: "batch" offers it to the relay and gets it; "auto" with ws passed in, and "single", offer nothing', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const links = [];
  try {
    const batched = connectWebSocket(relay.url, { WebSocket, framing: 'batch' });
    const auto = connectWebSocket(relay.url, { WebSocket });
    const single = connectWebSocket(relay.url, { WebSocket, framing: 'single' });
    links.push(batched, auto, single);
    await Promise.all([batched.ready, auto.ready, single.ready]);
    assert.is(batched.framing, 'batch');
    assert.is(auto.framing, 'single', 'ws fails a connection whose server ignores an offer, so auto offers only with the platform WebSocket');
    assert.is(single.framing, 'single');
    assert.equal(relay.stats().sessions.map((s) => s.framing).sort(), ['batch', 'single', 'single']);
    assert.throws(() => connectWebSocket(relay.url, { WebSocket, framing: 'many' }), (e) => e instanceof RangeError && /framing/.test(e.message));
  } finally {
    for (const l of links) l.close();
    await relay.close();
  }
});

it('clients that offer no subprotocol (v86 wsproxy) get one frame per message, as before', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const one = rawClient(relay.url);
  const two = rawClient(relay.url);
  try {
    await one.open();
    await two.open();
    assert.is(one.ws.protocol, '');
    const frame = udpFrame('02:00:00:00:09:05', '10.9.0.5', 'one frame, one message');
    one.send(frame);
    const got = await two.next((f) => f.length === frame.length);
    assert.equal([...got], [...frame], 'the frame arrived alone, with no length header');
  } finally {
    one.close();
    two.close();
    await relay.close();
  }
});

it('a malformed batch from a client ends its session with 1002 and a reason; a good one goes through', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const opts = { protocols: [BATCH_PROTOCOL] };
  const frame = udpFrame('02:00:00:00:09:06', '10.9.0.6', 'batched');
  const cases = [
    ['a zero length', batch([0, 0])],
    ['runs past', batch(frame, [0x05, 0xdc, 1, 2, 3])],
    ['shorter than an ethernet header', batch(new Uint8Array(5))],
    ['over the', batch(new Uint8Array(4000))],
    ['cut short', batch(frame, [0x01])],
  ];
  const clients = [];
  try {
    const listener = rawClient(relay.url, opts);
    clients.push(listener);
    await listener.open();
    assert.is(listener.ws.protocol, BATCH_PROTOCOL);
    const good = rawClient(relay.url, opts);
    clients.push(good);
    await good.open();
    good.send(batch(frame, frame));
    // the listener receives both frames, batched: one message with two records
    const msg = await listener.next((m) => m.length === 2 * (2 + frame.length));
    assert.is((msg[0] << 8) | msg[1], frame.length);
    for (const [why, bad] of cases) {
      const c = rawClient(relay.url, opts);
      clients.push(c);
      await c.open();
      c.send(bad);
      await until(() => c.closed !== null, 3000, `the relay to close on ${why}`);
      assert.is(c.closed.code, 1002, why);
      assert.match(c.closed.reason, /malformed batch/, why);
      assert.ok(c.closed.reason.includes(why), `${why}: reason "${c.closed.reason}"`);
    }
    assert.is(relay.stats().dropped.malformed, cases.length);
    assert.is(good.closed, null, 'the well-behaved client is still connected');
  } finally {
    for (const c of clients) c.close();
    await relay.close();
  }
});

it('the link closes the socket with 1002 and reports EPROTO when the server sends a malformed batch', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has(BATCH_PROTOCOL) ? BATCH_PROTOCOL : false) });
  await new Promise((r) => wss.once('listening', r));
  const serverSaw = new Promise((resolve) => {
    wss.on('connection', (ws) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
      ws.send(Uint8Array.from([0x00, 0x20, 1, 2, 3])); // says 32 bytes, carries 3
    });
  });
  const errors = [];
  const closed = new Promise((resolve) => {
    const link = connectWebSocket(`ws://127.0.0.1:${wss.address().port}/`, { WebSocket, framing: 'batch', onError: (e) => errors.push(e), onClose: resolve });
    link.attach({ onFrames: () => {}, onDrain: () => {}, onClose: () => {} });
  });
  try {
    const err = await closed;
    assert.is(err?.code, 'EPROTO');
    assert.is(err.closeCode, 1002);
    assert.match(err.reason, /runs past/);
    assert.is(errors[0]?.code, 'EPROTO', 'reported through onError first');
    const saw = await serverSaw;
    assert.is(saw.code, 1002);
    assert.match(saw.reason, /malformed batch/);
  } finally {
    wss.close();
  }
});

test.run();
