// Helpers for the relay suites: a relay on 127.0.0.1 with a free port, raw WebSocket
// clients that send frames built here and collect what comes back, Node stacks attached
// to the relay with the package's WebSocket link, and loopback servers the tests' relay policies allow explicitly.
import { createHash } from 'node:crypto';
import { createServer as createTcpServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import WebSocket from 'ws';
import { createRelay } from '../dist/relay.js';
import * as lwip from '../dist/index.js';
import { createStack, sleep } from './helpers.mjs';

export { sleep };

/** A relay on 127.0.0.1, any free port; its log lines are collected in relay.lines. */
export async function startRelay(options = {}) {
  const lines = [];
  const relay = await createRelay({ port: 0, ...options, onLog: (l) => lines.push(l) });
  relay.lines = lines;
  return relay;
}

/** Resolves when predicate() is true, polling; rejects after ms. */
export async function until(predicate, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  for (let i = 0; Date.now() < end && i < 100_000; i++) {
    if (await predicate()) return;
    await sleep(10);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * A raw WebSocket client: open() resolves once connected (or rejects with the HTTP status
 * of a refused upgrade); frames received are kept in client.frames.
 */
export function rawClient(url, { token, origin, headers, protocols = [] } = {}) {
  const u = new URL(url);
  if (token !== undefined) u.searchParams.set('token', token);
  const ws = new WebSocket(u, protocols, { origin, headers });
  const opened = new Promise((resolve, reject) => {
    ws.once('open', () => resolve(client));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`refused: HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
  opened.catch(() => {});
  const client = {
    ws,
    frames: [],
    closed: null,
    open: () => opened,
    send: (frame) => ws.send(frame),
    /** Waits for a received frame that satisfies predicate. */
    async next(predicate = () => true, ms = 3000) {
      let found;
      await until(() => (found = client.frames.find(predicate)) !== undefined, ms, 'a frame from the relay');
      client.frames.splice(client.frames.indexOf(found), 1);
      return found;
    },
    close: () => ws.close(),
  };
  ws.on('message', (data) => client.frames.push(new Uint8Array(data)));
  ws.on('close', (code, reason) => {
    client.closed = { code, reason: reason.toString() };
  });
  ws.on('error', () => {});
  return client;
}

/**
 * How the relay turned a client away: { status } for a refused upgrade (clients that send
 * no Origin), or { code, reason } for a browser-style client, whose upgrade completes and
 * closes at once with 4000 + the status.
 */
export async function refusal(client, ms = 3000) {
  try {
    await client.open();
  } catch (err) {
    return { status: err.status };
  }
  await until(() => client.closed !== null, ms, 'the relay to close the refused client');
  return client.closed;
}

/**
 * A stack attached to the relay through the package's WebSocket link. ip: 'a.b.c.d/len'
 * or 'dhcp' (resolves once leased);
 * gateway optional; reconnect goes to the link; url overrides the relay's; batch offers
 * batched framing as the link does by default (lwip-wasm.batch.v2, then v1: a nat relay
 * selects v2, the others v1), or 'v1' alone.
 */
export async function relayStack(relay, { ip, ipv6, gateway, token, origin, mac, reconnect, url = relay.url, batch = false } = {}) {
  const stack = await createStack();
  const u = new URL(url);
  if (token !== undefined) u.searchParams.set('token', token);
  const protocols = batch === 'v1' ? [lwip.BATCH_PROTOCOL] : batch ? [lwip.BATCH_OFFLOAD_PROTOCOL, lwip.BATCH_PROTOCOL] : [];
  const link = lwip.connectWebSocket(() => new WebSocket(u, protocols, { origin }), reconnect ? { reconnect } : {});
  try {
    await link.ready;
  } catch (err) {
    stack.dispose();
    throw err;
  }
  const opts = { ip };
  if (ipv6) opts.ipv6 = ipv6;
  if (gateway) opts.gateway = gateway;
  if (mac) opts.mac = mac;
  if (ip === 'dhcp') opts.dhcp = { timeout: 10_000 };
  const nif = await stack.addInterface(link, opts); // a promise with ip: 'dhcp'
  return { stack, link, nif };
}

/** A TCP server on 127.0.0.1 that answers each connection with `reply` and closes. */
export async function loopbackServer(reply = 'hello from loopback\n') {
  const server = createTcpServer((s) => {
    s.on('error', () => {});
    s.end(reply);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

/**
 * A TCP server on 127.0.0.1 that sends `down` to each connection, then its FIN, and
 * hashes what it receives: `got` holds { n, sha } (SHA-256, hex) per connection whose
 * client finished sending.
 */
export async function blobServer(down) {
  const got = [];
  const conns = [];
  const server = createTcpServer({ allowHalfOpen: true }, (s) => {
    conns.push(s);
    s.on('error', () => {});
    const h = createHash('sha256');
    let n = 0;
    s.on('data', (d) => {
      h.update(d);
      n += d.length;
    });
    s.on('end', () => got.push({ n, sha: h.digest('hex') }));
    s.end(down);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, got, close: () => new Promise((r) => { for (const c of conns) c.destroy(); server.close(r); }) };
}

/** An HTTP server on 127.0.0.1 with a fixed body. */
export async function loopbackHttp(body) {
  const server = createHttpServer((_req, res) => res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: server.address().port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

/** Connects from a stack and reads until the peer closes; resolves with the text. */
export async function fetchText(stack, address, port, request = '', { timeout = 10000 } = {}) {
  const s = stack.socket(address.includes(':') ? lwip.AF_INET6 : lwip.AF_INET, lwip.SOCK_STREAM);
  try {
    await s.connect(address, port, { timeout });
    if (request) await s.send(request);
    let out = '';
    const end = Date.now() + timeout;
    for (let i = 0; i < 100_000 && Date.now() < end; i++) {
      const d = await s.recv(65536, { timeout: Math.max(1, end - Date.now()) });
      if (d.length === 0) break;
      out += Buffer.from(d).toString();
    }
    return out;
  } finally {
    s.close();
  }
}

/** A listener on stack b and one round trip of `msg` from stack a; resolves with the echo. */
export async function echoOnce(a, b, bAddr, msg) {
  const { AF_INET, SOCK_STREAM } = lwip;
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 0);
  l.listen(4);
  const served = l.accept().then(async (c) => {
    await c.send(await c.recv());
    c.close();
  });
  const s = a.socket(AF_INET, SOCK_STREAM);
  await s.connect(bAddr, l.getsockname().port, { timeout: 5000 });
  await s.send(msg);
  const got = Buffer.from(await s.recv(65536, { timeout: 5000 })).toString();
  await served;
  s.close();
  l.close();
  return got;
}

export { lwip };
