// lwip-wasm.batch.v2: batched framing in which TCP segments over the MTU cross the
// WebSocket whole (segmentation offload). Selected only by a nat relay, whose gateway
// stack takes them; refused cleanly when malformed; turned off when a reconnect lands
// on a server that does not speak it. Servers are on loopback only.
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { it } from './helpers.mjs';
import { ether, ipv4Packet, ip4, parseMac, tcpSegment, udpDatagram } from './frames.mjs';
import { startRelay, relayStack, rawClient, until, lwip, blobServer } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM, SHUT_WR, BATCH_PROTOCOL, BATCH_OFFLOAD_PROTOCOL, connectWebSocket } = lwip;
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** A v2 record: 4-byte length, 2-byte segment size, the frame. */
function record(frame, seg = 0) {
  const out = new Uint8Array(6 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  new DataView(out.buffer).setUint16(4, seg);
  out.set(frame, 6);
  return out;
}

const MAC_A = parseMac('02:00:00:00:0a:01');
const MAC_B = parseMac('02:00:0a:00:02:02');
/** An IPv4 frame from the client to the gateway: TCP (with payload bytes) or UDP. */
function frameOf(proto, bytes) {
  const src = ip4('10.0.2.15');
  const dst = ip4('10.0.2.2');
  const payload = new Uint8Array(bytes).fill(7);
  const l4 = proto === 6
    ? tcpSegment({ chance: () => true }, { src, dst, sport: 40000, dport: 9, seq: 1, ack: 1, flags: 0x10, payload, options: new Uint8Array(0) })
    : udpDatagram({ src, dst, sport: 40000, dport: 9, payload });
  return ether(MAC_B, MAC_A, 0x0800, ipv4Packet({ src, dst, proto, payload: l4 }));
}

/** Reads s to end of stream. */
async function readAll(s) {
  const parts = [];
  for (let i = 0; i < 1_000_000; i++) {
    const d = await s.recv(1 << 20, { timeout: 60_000 });
    if (d.length === 0) break;
    parts.push(d);
  }
  return Buffer.concat(parts);
}

/** 16 MiB each way through a nat relay with the given batch offer; returns the link's counters. */
async function transfer(batch) {
  const size = 16 << 20;
  const blob = randomBytes(size);
  const srv = await blobServer(blob);
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`], framesPerSecond: Infinity, bytesPerSecond: Infinity });
  const { stack, link } = await relayStack(relay, { ip: 'dhcp', batch });
  try {
    const s = stack.socket(AF_INET, SOCK_STREAM);
    await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
    const down = await readAll(s);
    assert.is(down.length, size);
    assert.is(sha(down), sha(blob), 'download intact');
    const afterDown = { ...link.counters };
    for (let off = 0; off < size; off += 1 << 20) await s.send(blob.subarray(off, off + (1 << 20)));
    s.shutdown(SHUT_WR);
    await until(() => srv.got.length === 1, 30_000, 'the upload to finish');
    assert.is(srv.got[0].n, size);
    assert.is(srv.got[0].sha, sha(blob), 'upload intact');
    s.close();
    const c = link.counters;
    return {
      offload: link.segmentOffload,
      session: relay.stats().sessions[0],
      // bytes per frame: of the download as received, of the upload as sent
      downFrame: afterDown.bytesReceived / afterDown.framesReceived,
      upFrame: (c.bytesSent - afterDown.bytesSent) / (c.framesSent - afterDown.framesSent),
      bad: c.badMessages,
    };
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}

it('nat: a link that offers v2 gets it; 16 MiB each way arrive intact, in segments of many MSS', async () => {
  const r = await transfer(true);
  assert.ok(r.offload, 'the link carries segments whole');
  assert.is(r.session.framing, 'batch');
  assert.is(r.session.offload, true);
  // With offload a download arrives mostly as 64 KiB segments (ACKs make up the rest of
  // what is sent, so the upload's average is lower than the download's).
  assert.ok(r.downFrame > 8000, `download: ${r.downFrame.toFixed(0)} bytes a frame`);
  assert.ok(r.upFrame > 4000, `upload: ${r.upFrame.toFixed(0)} bytes a frame`);
  assert.is(r.bad, 0);
  assert.is(r.session.dropped.oversize + r.session.dropped.malformed, 0);
}, 120_000);

it('nat: a link that offers v1 only gets v1 and MTU-sized frames, and the same bytes', async () => {
  const r = await transfer('v1');
  assert.not.ok(r.offload);
  assert.is(r.session.framing, 'batch');
  assert.is(r.session.offload, false);
  assert.ok(r.downFrame <= 1514 && r.upFrame <= 1514, `frames no larger than the MTU: ${r.downFrame.toFixed(0)}, ${r.upFrame.toFixed(0)}`);
}, 120_000);

it('hub: v2 is offered but v1 selected (frames go on to other clients as they are); offload: false offers v1 alone', async () => {
  const hub = await startRelay({ mode: 'hub' });
  const nat = await startRelay({});
  const links = [];
  try {
    const h = connectWebSocket(hub.url, { WebSocket, framing: 'batch' });
    const n = connectWebSocket(nat.url, { WebSocket, framing: 'batch', offload: false });
    links.push(h, n);
    await Promise.all([h.ready, n.ready]);
    assert.is(h.framing, 'batch');
    assert.is(h.segmentOffload, false);
    assert.is(n.framing, 'batch');
    assert.is(n.segmentOffload, false, 'offload: false offered only v1, so even nat selects v1');
    assert.is(nat.stats().sessions[0].offload, false);
    assert.throws(() => connectWebSocket(nat.url, { WebSocket, offload: 'yes' }), (e) => e instanceof TypeError && /offload/.test(e.message));
    const raw = rawClient(nat.url, { protocols: [BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL] });
    await raw.open();
    assert.is(raw.ws.protocol, BATCH_OFFLOAD_PROTOCOL, 'a nat relay selects v2 when offered');
    raw.close();
  } finally {
    for (const l of links) l.close();
    await hub.close();
    await nat.close();
  }
});

it('relay: a v2 record over 65535 bytes ends the session with 1002; a segment cut wider than the MTU, or one that is not TCP, is dropped and counted', async () => {
  const relay = await startRelay({});
  const clients = [];
  try {
    const frame = new Uint8Array(60).fill(1);
    frame.set([0x08, 0x00], 12);
    const huge = rawClient(relay.url, { protocols: [BATCH_OFFLOAD_PROTOCOL] });
    clients.push(huge);
    await huge.open();
    const big = new Uint8Array(6 + 65536);
    new DataView(big.buffer).setUint32(0, 65536);
    new DataView(big.buffer).setUint16(4, 1500);
    huge.send(big);
    await until(() => huge.closed !== null, 3000, 'the relay to close on a record over the limit');
    assert.is(huge.closed.code, 1002);
    assert.match(huge.closed.reason, /malformed batch: a 65536-byte frame at byte 0 is over the 65535-byte limit/);

    const wide = rawClient(relay.url, { protocols: [BATCH_OFFLOAD_PROTOCOL] });
    clients.push(wide);
    await wide.open();
    const seg = new Uint8Array(9000).fill(2);
    seg.set([0x08, 0x00], 12);
    wide.send(Uint8Array.from([...record(seg, 8000), ...record(frame)]));
    await until(() => relay.stats().sessions.some((s) => s.dropped.oversize === 1), 3000, 'the wide segment to be counted');
    assert.is(wide.closed, null, 'the session goes on');
    assert.match(relay.lines.join('\n'), /oversize: a segment cut into 8000-byte packets/);

    // Only TCP is carried whole: a 9000-byte UDP datagram marked as a segment is refused.
    wide.send(record(frameOf(17, 9000), 1500));
    await until(() => relay.stats().sessions.some((s) => s.dropped.oversize === 2), 3000, 'the UDP "segment" to be counted');
    assert.is(wide.closed, null, 'the session goes on');
  } finally {
    for (const c of clients) c.close();
    await relay.close();
  }
});

it('relay: malformed v2 messages each end only their session, with 1002 and a reason; seeded random records never take the relay down', async () => {
  const relay = await startRelay({});
  const clients = [];
  const frame = frameOf(6, 100);
  const header = (len, seg) => {
    const h = new Uint8Array(6);
    new DataView(h.buffer).setUint32(0, len);
    new DataView(h.buffer).setUint16(4, seg);
    return h;
  };
  const cat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]));
  const cases = [
    ['a zero length', cat(record(frame), header(0, 0))],
    ['runs past', cat(header(frame.length + 10, 0), frame)],
    ['runs past', cat(header(0xffffffff, 1500), frame)],
    ['shorter than an ethernet header', record(new Uint8Array(10))],
    ['cut short', cat(record(frame), Uint8Array.from([0, 0, 0]))],
    ['over the', record(new Uint8Array(3000))],
  ];
  try {
    const bystander = await relayStack(relay, { ip: 'dhcp', batch: true });
    clients.push({ close: () => bystander.stack.dispose() });
    for (const [why, bad] of cases) {
      const c = rawClient(relay.url, { protocols: [BATCH_OFFLOAD_PROTOCOL] });
      clients.push(c);
      await c.open();
      c.send(bad);
      await until(() => c.closed !== null, 3000, `the relay to close on ${why}`);
      assert.is(c.closed.code, 1002, why);
      assert.ok(c.closed.reason.includes(why), `${why}: reason "${c.closed.reason}"`);
    }
    // Seeded random records: lengths, segment sizes and bytes all arbitrary, some valid.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 20; k++) {
      const c = rawClient(relay.url, { protocols: [BATCH_OFFLOAD_PROTOCOL] });
      clients.push(c);
      await c.open();
      const parts = [];
      for (let i = 0, n = 1 + Math.floor(rnd() * 6); i < n; i++) {
        const len = rnd() < 0.8 ? 14 + Math.floor(rnd() * 2000) : Math.floor(rnd() * 70000);
        const body = Uint8Array.from({ length: Math.min(len, 2000) }, () => Math.floor(rnd() * 256));
        parts.push(header(len, rnd() < 0.5 ? 0 : Math.floor(rnd() * 65536)), body);
      }
      c.send(cat(...parts));
    }
    await new Promise((r) => setTimeout(r, 300));
    // The relay is still up and still answers a well-behaved client at once: a
    // connection to a port its policy denies is refused, not left to time out.
    const s = bystander.stack.socket(AF_INET, SOCK_STREAM);
    let code = null;
    try {
      await s.connect('10.0.2.2', 9, { timeout: 5000 });
    } catch (e) {
      code = e.code;
    }
    s.close();
    assert.ok(code !== null && code !== 'ETIMEDOUT', `the gateway answered (${code})`);
    assert.ok(relay.stats().sessions.some((x) => x.offload && x.dropped.malformed === 0), 'the bystander\'s session is untouched');
  } finally {
    for (const c of clients) c.close();
    await relay.close();
  }
});

it('relay: a small bytesPerSecond still lets a whole segment through (its burst holds one)', async () => {
  const relay = await startRelay({ bytesPerSecond: 16384 });
  const c = rawClient(relay.url, { protocols: [BATCH_OFFLOAD_PROTOCOL] });
  try {
    await c.open();
    c.send(record(frameOf(6, 40000), 1500));
    await until(() => relay.stats().sessions[0]?.framesIn === 1, 3000, 'the segment');
    const st = relay.stats().sessions[0];
    assert.is(st.dropped.rate, 0, 'not refused by the byte limit');
    assert.is(st.dropped.oversize + st.dropped.malformed, 0);
    c.send(record(frameOf(6, 40000), 1500));
    await until(() => relay.stats().sessions[0].dropped.rate === 1, 3000, 'the second, over the limit');
  } finally {
    c.close();
    await relay.close();
  }
});

it('link: a reconnect to a server without v2 turns offload off; segments then are dropped, not sent', async () => {
  let n = 0;
  const wss = new WebSocketServer({
    host: '127.0.0.1', port: 0,
    // the first connection speaks v2, the next only v1
    handleProtocols: (p) => (n++ === 0 && p.has(BATCH_OFFLOAD_PROTOCOL) ? BATCH_OFFLOAD_PROTOCOL : p.has(BATCH_PROTOCOL) ? BATCH_PROTOCOL : false),
  });
  await new Promise((r) => wss.once('listening', r));
  const received = [];
  const sockets = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    ws.on('message', (m) => received.push({ protocol: ws.protocol, bytes: new Uint8Array(m) }));
  });
  const changes = [];
  const frames = [];
  const link = connectWebSocket(`ws://127.0.0.1:${wss.address().port}/`, { WebSocket, framing: 'batch', reconnect: { minDelay: 10, maxDelay: 10 } });
  link.attach({
    offload: true,
    onFrames: (f, flags) => frames.push({ f, flags }),
    segmentOffloadChanged: () => changes.push(link.segmentOffload),
    onDrain: () => {},
    onClose: () => {},
  });
  try {
    await link.ready;
    assert.is(link.segmentOffload, true);
    assert.equal(changes, [true]);
    const seg = new Uint8Array(20000).fill(3);
    seg.set([0x08, 0x00], 12);
    assert.throws(() => link.send(new Uint8Array(65536), 1500), (e) => e instanceof RangeError && /65536-byte frame is over the 65535-byte limit of a segment/.test(e.message));
    link.send(seg, 1500);
    await until(() => received.length === 1, 3000, 'the segment');
    const dv = new DataView(received[0].bytes.buffer, received[0].bytes.byteOffset);
    assert.is(received[0].protocol, BATCH_OFFLOAD_PROTOCOL);
    assert.equal([dv.getUint32(0), dv.getUint16(4)], [20000, 1500], 'a v2 record: length, then the segment size');

    // A v2 record from the server whose pieces the link's MTU could not carry is refused.
    sockets[0].send(Uint8Array.from([...record(seg, 1600), ...record(seg.subarray(0, 1000))]));
    await until(() => frames.length === 1, 3000, 'the frame after the refused segment');
    assert.is(frames[0].f[0].length, 1000);
    assert.is(link.counters.badMessages, 1);

    sockets[0].terminate();
    await until(() => link.state === 'open' && sockets.length === 2, 3000, 'the reconnect');
    assert.is(link.framing, 'batch');
    assert.is(link.segmentOffload, false);
    assert.equal(changes, [true, false], 'the stack was told');
    const dropped = link.counters.dropped;
    link.send(seg, 1500);
    link.send(seg.subarray(0, 1000));
    await until(() => received.length === 2, 3000, 'the MTU-sized frame');
    assert.is(received[1].protocol, BATCH_PROTOCOL);
    assert.is(received[1].bytes.length, 2 + 1000, 'only the frame, in a v1 record');
    assert.is(link.counters.dropped, dropped + 1, 'the segment was dropped');
  } finally {
    link.close();
    wss.close();
  }
});

test.run();
