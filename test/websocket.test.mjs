// The WebSocket link: two stacks talk TCP through a real `ws` server that forwards each
// binary message (one ethernet frame) to the other clients; backpressure against a
// server that stops reading; close and error reporting; reconnect across a forced drop.
import WebSocket, { WebSocketServer } from 'ws';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import {
  WebSocketLink, WebSocketLinkError, connectWebSocket, AF_INET, SOCK_STREAM,
} from '../dist/index.js';
import { it, test, assert, createStack, randomBytes, sha256, readExactly, waitUntil, sleep } from './helpers.mjs';

/** A ws server on 127.0.0.1 that forwards every message to every other client (a hub). */
async function forwarder() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const clients = new Set();
  wss.on('connection', (ws, req) => {
    const c = { ws, socket: req.socket };
    clients.add(c);
    ws.on('message', (data, isBinary) => {
      for (const o of clients) if (o !== c && o.ws.readyState === WebSocket.OPEN) o.ws.send(data, { binary: isBinary });
    });
    ws.on('close', () => clients.delete(c));
    ws.on('error', () => {});
  });
  return {
    wss,
    clients,
    url: `ws://127.0.0.1:${wss.address().port}`,
    close: () => new Promise((r) => {
      for (const c of clients) c.ws.terminate();
      wss.close(() => r());
    }),
  };
}

/** Two stacks on one forwarder: a is 10.0.0.1, b is 10.0.0.2. */
async function twoOverWs(hub, linkOpts = {}) {
  const linkA = new WebSocketLink(hub.url, { WebSocket, ...linkOpts });
  const linkB = connectWebSocket(hub.url, { WebSocket, ...linkOpts });
  await Promise.all([linkA.ready, linkB.ready]);
  const a = await createStack({ seed: 11 });
  const b = await createStack({ seed: 12 });
  a.addInterface(linkA, { ip: '10.0.0.1/24' });
  b.addInterface(linkB, { ip: '10.0.0.2/24' });
  return { a, b, linkA, linkB };
}

async function tcpPair(a, b) {
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 0);
  l.listen(4);
  const accepted = l.accept({ timeout: 5000 });
  const c = a.socket(AF_INET, SOCK_STREAM);
  await c.connect('10.0.0.2', l.getsockname().port, { timeout: 5000 });
  const s = await accepted;
  return { l, c, s };
}

it('two stacks move 2 MiB over TCP through a real ws server, one frame per binary message', async () => {
  const hub = await forwarder();
  const { a, b, linkA, linkB } = await twoOverWs(hub);
  try {
    assert.is(linkA.state, 'open');
    const { c, s, l } = await tcpPair(a, b);
    const data = randomBytes(2 * 1024 * 1024, 7);
    const sent = c.send(data);
    const got = await readExactly(s, data.byteLength);
    await sent;
    assert.is(sha256(got), sha256(data));
    assert.ok(linkA.counters.framesSent > 1400, `frames sent ${linkA.counters.framesSent}`);
    assert.ok(linkB.counters.framesReceived > 1400);
    // each message is a whole ethernet frame: no message exceeds mtu + 14
    assert.ok(linkB.counters.bytesReceived / linkB.counters.framesReceived <= 1514);
    assert.is(linkA.counters.badMessages + linkB.counters.badMessages, 0);
    c.close(); s.close(); l.close();
  } finally {
    a.dispose();
    b.dispose();
    await hub.close();
  }
}, 20_000);

it('frames from a raw ws peer arrive as-is, with no header; text and runt messages are counted and dropped', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const peer = new Promise((r) => wss.once('connection', r));
  const link = new WebSocketLink(`ws://127.0.0.1:${wss.address().port}`, { WebSocket });
  const frames = [];
  link.attach({ onFrames: (f) => frames.push(...f), onDrain() {}, onClose() {} });
  const ws = await peer;
  const fromLink = new Promise((r) => ws.once('message', (d, isBinary) => r({ d: new Uint8Array(d), isBinary })));
  await link.ready;
  const frame = Uint8Array.from({ length: 60 }, (_, i) => i);
  assert.ok(link.send(frame));
  const out = await fromLink;
  assert.ok(out.isBinary);
  assert.equal([...out.d], [...frame]);
  ws.send('not a frame');
  ws.send(new Uint8Array(10)); // shorter than an ethernet header
  ws.send(new Uint8Array(1600)); // longer than mtu 1500 + 18
  ws.send(frame);
  await waitUntil(() => frames.length === 1 && link.counters.badMessages === 3, 3000);
  assert.equal([...frames[0]], [...frame]);
  link.close();
  await new Promise((r) => wss.close(r));
});

it('backpressure: send() returns false above highWaterMark, drops past maxBuffered (counted), onDrain once the peer reads', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let serverSocket;
  let received = 0;
  wss.on('connection', (ws, req) => {
    serverSocket = req.socket;
    req.socket.pause(); // stop reading: the kernel buffers fill, then bufferedAmount grows
    ws.on('message', () => received++);
  });
  const link = new WebSocketLink(`ws://127.0.0.1:${wss.address().port}`, {
    WebSocket, highWaterMark: 256 * 1024, maxBuffered: 1024 * 1024,
  });
  let drains = 0;
  link.attach({ onFrames() {}, onDrain: () => drains++, onClose() {} });
  await link.ready;
  await waitUntil(() => serverSocket !== undefined, 2000);
  const frame = new Uint8Array(1500);
  let firstFalse = -1;
  let i = 0;
  for (; i < 40_000 && link.counters.dropped === 0; i++) {
    if (!link.send(frame) && firstFalse < 0) firstFalse = i;
    if (i % 500 === 0) await sleep(1); // let the socket write what the kernel takes
  }
  assert.ok(firstFalse >= 0, 'send() never pushed back');
  assert.ok(link.counters.dropped > 0, `nothing dropped after ${i} frames`);
  assert.ok(link.buffered <= 1024 * 1024, `buffered ${link.buffered} exceeds maxBuffered`);
  assert.is(drains, 0, 'no drain while the peer is not reading');
  const accepted = link.counters.framesSent;
  serverSocket.resume();
  await waitUntil(() => drains > 0, 5000);
  assert.ok(link.buffered <= 128 * 1024, 'drain below half the high-water mark');
  await waitUntil(() => received === accepted, 10_000);
  link.close();
  await new Promise((r) => wss.close(r));
}, 20_000);

it('a server-side close is reported on the link and to the stack, with its code and reason', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => setTimeout(() => ws.close(4001, 'session over'), 50));
  let closeErr;
  const link = new WebSocketLink(`ws://127.0.0.1:${wss.address().port}`, { WebSocket, onClose: (e) => { closeErr = e; } });
  let stackSaw = null;
  link.attach({ onFrames() {}, onDrain() {}, onClose: (e) => { stackSaw = e ?? 'none'; } });
  await link.ready;
  await waitUntil(() => closeErr !== undefined, 3000);
  assert.instance(closeErr, WebSocketLinkError);
  assert.is(closeErr.code, 'ECONNCLOSED');
  assert.is(closeErr.closeCode, 4001);
  assert.is(closeErr.reason, 'session over');
  assert.match(closeErr.message, /closed.*4001.*session over/);
  assert.is(stackSaw, closeErr);
  assert.is(link.state, 'closed');
  assert.not.ok(link.send(new Uint8Array(60)));
  assert.is(link.counters.dropped, 1);
  await new Promise((r) => wss.close(r));
});

it('connecting to a port nobody serves rejects ready with ECONNFAILED; close() reports no error', async () => {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r)); // the port is now closed
  const errors = [];
  const link = new WebSocketLink(`ws://127.0.0.1:${port}`, { WebSocket, onError: (e) => errors.push(e) });
  const err = await link.ready.then(() => null, (e) => e);
  assert.instance(err, WebSocketLinkError);
  assert.is(err.code, 'ECONNFAILED');
  assert.match(err.message, /could not connect.*ECONNREFUSED/);
  assert.ok(errors.length >= 1);
  assert.is(link.state, 'closed');

  // an HTTP server that refuses the upgrade
  const refuse = createHttpServer((_req, res) => res.writeHead(403).end());
  refuse.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n'));
  await new Promise((r) => refuse.listen(0, '127.0.0.1', r));
  const denied = new WebSocketLink(`ws://127.0.0.1:${refuse.address().port}`, { WebSocket });
  const e403 = await denied.ready.then(() => null, (e) => e);
  assert.is(e403.code, 'ECONNFAILED');
  assert.match(e403.message, /403/);
  await new Promise((r) => refuse.close(r));

  const hub = await forwarder();
  let closed;
  const ok = new WebSocketLink(hub.url, { WebSocket, onClose: (e) => { closed = { e }; } });
  await ok.ready;
  const serverClose = new Promise((r) => [...hub.clients][0].ws.once('close', (code) => r(code)));
  ok.close();
  assert.equal(closed, { e: undefined });
  assert.is(await serverClose, 1000);
  await hub.close();
});

it('bad arguments throw at once with a message that says what to do', () => {
  const had = globalThis.WebSocket;
  delete globalThis.WebSocket;
  try {
    assert.throws(() => new WebSocketLink('ws://127.0.0.1:1'), /pass \{ WebSocket \}/);
  } finally {
    if (had) globalThis.WebSocket = had;
  }
  assert.throws(() => new WebSocketLink('ws://127.0.0.1:1', { WebSocket, mtu: 100 }), RangeError);
  assert.throws(() => new WebSocketLink(42, { WebSocket }), TypeError);
  assert.throws(() => new WebSocketLink('ws://127.0.0.1:1', { WebSocket, highWaterMark: 0 }), RangeError);
  assert.throws(() => new WebSocketLink('ws://127.0.0.1:1', { WebSocket, highWaterMark: 10, maxBuffered: 5 }), /maxBuffered/);
  assert.throws(() => new WebSocketLink('ws://127.0.0.1:1', { WebSocket, drainInterval: 0 }), /drainInterval/);
  assert.throws(() => new WebSocketLink('ws://127.0.0.1:1', { WebSocket, reconnect: { minDelay: 10, maxDelay: 5 } }), RangeError);
  const ws = new WebSocket('ws://127.0.0.1:1');
  ws.on('error', () => {});
  assert.throws(() => new WebSocketLink(ws, { reconnect: true }), /reconnect needs a URL or a factory/);
  ws.terminate();
});

it('reconnect: a TCP connection survives the server dropping the link, with backoff and events', async () => {
  const hub = await forwarder();
  const reconnecting = [];
  let opens = 0;
  const { a, b, linkA, linkB } = await twoOverWs(hub, {
    reconnect: { minDelay: 50, maxDelay: 400, retries: 5 },
    onReconnecting: (info) => reconnecting.push(info),
    onOpen: () => opens++,
  });
  try {
    const { c, s, l } = await tcpPair(a, b);
    await c.send('before');
    assert.is(new TextDecoder().decode(await readExactly(s, 6)), 'before');
    // force a drop of both clients' sockets on the server side
    for (const cl of hub.clients) cl.ws.terminate();
    await waitUntil(() => reconnecting.length >= 2, 3000);
    assert.is(reconnecting[0].attempt, 1);
    assert.is(reconnecting[0].delay, 50);
    assert.is(reconnecting[0].error.code, 'ECONNCLOSED');
    // data sent during the drop is held or retransmitted by TCP
    const during = c.send('during');
    await waitUntil(() => linkA.counters.reconnects === 1 && linkB.counters.reconnects === 1, 5000);
    assert.is(linkA.state, 'open');
    await during;
    assert.is(new TextDecoder().decode(await readExactly(s, 6)), 'during');
    await s.send('after');
    assert.is(new TextDecoder().decode(await readExactly(c, 5)), 'after');
    assert.ok(opens >= 4, `opens ${opens}`);
    c.close(); s.close(); l.close();
  } finally {
    a.dispose();
    b.dispose();
    await hub.close();
  }
}, 20_000);

it('reconnect gives up after its retries and closes the link with ERETRIES', async () => {
  const hub = await forwarder();
  const reconnecting = [];
  let closeErr;
  const link = new WebSocketLink(hub.url, {
    WebSocket, reconnect: { minDelay: 20, maxDelay: 40, retries: 3 },
    onReconnecting: (i) => reconnecting.push(i.delay), onClose: (e) => { closeErr = e; },
  });
  await link.ready;
  await hub.close(); // terminate the client and stop listening: every retry is refused
  await waitUntil(() => closeErr !== undefined, 5000);
  assert.equal(reconnecting, [20, 40, 40]);
  assert.is(closeErr.code, 'ERETRIES');
  assert.match(closeErr.message, /gave up after 3 reconnect attempts/);
  assert.is(closeErr.cause.code, 'ECONNFAILED', 'the last attempt was refused');
  assert.is(link.state, 'closed');
});

test.run();
