// node:http over the stack, unchanged: the server takes connections from stack.net, the
// client's Agent creates them with stack.net.createConnection. Keep-alive, chunked
// bodies both ways, 100 concurrent requests, and Node's error codes.
import http from 'node:http';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { it, test, assert, twoStacks as twoPlainStacks, randomBytes, sha256, withTimeout, sleep } from './helpers.mjs';

/** Two stacks of lwip-wasm/node's Stack, which has stack.net and stack.dgram. */
const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });
import { Stack } from '../dist/node.js';

/** An http.Agent whose connections go over a stack. */
function stackAgent(stack, options) {
  const agent = new http.Agent(options);
  agent.createConnection = (opts, cb) => stack.net.createConnection(opts, cb);
  return agent;
}

/** An http.Server fed by a stack.net server on port; resolves { http, net, connections }. */
async function serve(stack, port, handler) {
  const server = http.createServer(handler);
  const state = { http: server, connections: 0 };
  state.net = stack.net.createServer((socket) => {
    state.connections++;
    server.emit('connection', socket);
  });
  state.net.listen(port);
  await once(state.net, 'listening');
  return state;
}

/** One request; resolves { status, headers, body (Buffer), reused, localPort }. */
function request(options, body) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(parts),
        reused: req.reusedSocket, localPort: res.socket?.localPort,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body);
  }), 20000, `${options.method ?? 'GET'} ${options.path}`);
}

it('GET: status, headers and body; the server sees the client address', async () => {
  const net = await twoStacks();
  const agent = stackAgent(net.a, { keepAlive: false });
  try {
    const srv = await serve(net.b, 80, (req, res) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${req.url} from ${req.socket.remoteAddress} host=${req.headers.host}`);
    });
    const r = await request({ host: '10.0.0.2', port: 80, path: '/hello?x=1', agent });
    assert.is(r.status, 200);
    assert.is(r.headers['content-type'], 'text/plain');
    assert.is(String(r.body), 'GET /hello?x=1 from ::ffff:10.0.0.1 host=10.0.0.2');
    srv.net.close();
  } finally {
    agent.destroy();
    net.dispose();
  }
});

it('keep-alive: sequential requests reuse one connection', async () => {
  const net = await twoStacks();
  const agent = stackAgent(net.a, { keepAlive: true, maxSockets: 1 });
  try {
    const srv = await serve(net.b, 80, (req, res) => res.end(`n=${req.url}`));
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await request({ host: '10.0.0.2', port: 80, path: `/${i}`, agent }));
    assert.equal(results.map((r) => String(r.body)), ['n=/0', 'n=/1', 'n=/2', 'n=/3', 'n=/4']);
    assert.equal(results.map((r) => r.reused), [false, true, true, true, true]);
    assert.is(new Set(results.map((r) => r.localPort)).size, 1, 'one local port: one connection');
    assert.is(srv.connections, 1);
    assert.is(results[0].headers.connection, 'keep-alive');
    srv.net.close();
  } finally {
    agent.destroy();
    net.dispose();
  }
});

it('chunked bodies both ways: a 1 MiB upload without content-length, echoed back in chunks', async () => {
  const net = await twoStacks();
  const agent = stackAgent(net.a, { keepAlive: true });
  try {
    let requestHeaders;
    const srv = await serve(net.b, 80, (req, res) => {
      requestHeaders = req.headers;
      const h = createHash('sha256');
      let n = 0;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.on('data', (d) => {
        h.update(d);
        n += d.length;
        res.write(d); // one chunk back per chunk in
      });
      req.on('end', () => res.end(`\n${n} ${h.digest('hex')}`));
    });
    const data = randomBytes(1024 * 1024, 21);
    const r = await request({ host: '10.0.0.2', port: 80, path: '/echo', method: 'POST', agent }, async (req) => {
      for (let off = 0; off < data.length; off += 50_000) {
        if (!req.write(data.subarray(off, off + 50_000))) await once(req, 'drain');
      }
      req.end();
    });
    assert.is(requestHeaders['transfer-encoding'], 'chunked');
    assert.is(requestHeaders['content-length'], undefined);
    assert.is(r.headers['transfer-encoding'], 'chunked');
    const echoed = r.body.subarray(0, data.length);
    assert.is(sha256(echoed), sha256(data));
    assert.is(String(r.body.subarray(data.length)), `\n${data.length} ${sha256(data)}`);
    srv.net.close();
  } finally {
    agent.destroy();
    net.dispose();
  }
});

it('100 concurrent requests over 100 connections, then again over the kept-alive ones', async () => {
  const net = await twoStacks();
  const agent = stackAgent(net.a, { keepAlive: true, maxSockets: Infinity });
  try {
    let inFlight = 0;
    let peak = 0;
    let barrier = 1; // the first round answers only once all 100 are in (or after 5 s)
    const srv = await serve(net.b, 8080, async (req, res) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      const parts = [];
      for await (const d of req) parts.push(d);
      const until = performance.now() + 5000;
      while (inFlight < barrier && performance.now() < until) await sleep(5);
      barrier = 0;
      inFlight--;
      res.end(`${req.url}:${Buffer.concat(parts)}`);
    });
    // One request first, so ARP has resolved: lwIP holds only ARP_QUEUE_LEN (64) packets
    // for an unresolved neighbour, and 100 SYNs at once to a cold one would lose 36 of
    // them to a 3 s retransmission (Linux holds 101).
    assert.is(String((await request({ host: '10.0.0.2', port: 8080, path: '/warm', method: 'POST', agent: stackAgent(net.a, {}) }, 'w')).body), '/warm:w');
    barrier = 100;
    const connectionsBefore = srv.connections;
    const round = () => Promise.all(Array.from({ length: 100 }, (_, i) =>
      request({ host: '10.0.0.2', port: 8080, path: `/r${i}`, method: 'POST', agent }, `body${i}`)));
    const first = await round();
    first.forEach((r, i) => {
      assert.is(r.status, 200);
      assert.is(String(r.body), `/r${i}:body${i}`);
    });
    assert.is(srv.connections - connectionsBefore, 100);
    assert.is(peak, 100, 'all 100 were in flight at once');
    const second = await round();
    second.forEach((r, i) => assert.is(String(r.body), `/r${i}:body${i}`));
    assert.ok(second.every((r) => r.reused), 'the second round reuses the kept-alive connections');
    assert.is(srv.connections - connectionsBefore, 100);
    srv.net.close();
  } finally {
    agent.destroy();
    net.dispose();
  }
});

it('errors reach http with Node codes: ECONNREFUSED, and ECONNRESET when the server drops the socket', async () => {
  const net = await twoStacks();
  const agent = stackAgent(net.a, { keepAlive: false });
  try {
    const refused = await request({ host: '10.0.0.2', port: 81, path: '/', agent }).catch((e) => e);
    assert.equal({ code: refused.code, errno: refused.errno, syscall: refused.syscall, port: refused.port },
      { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', port: 81 });
    const srv = await serve(net.b, 80, (req) => req.socket.destroy());
    const dropped = await request({ host: '10.0.0.2', port: 80, path: '/', agent }).catch((e) => e);
    assert.ok(['ECONNRESET'].includes(dropped.code), `got ${dropped.code}: ${dropped.message}`);
    srv.net.close();
  } finally {
    agent.destroy();
    net.dispose();
  }
});

test.run();
