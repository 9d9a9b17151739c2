// stack.net (lwip-wasm/node): node:net's Socket and Server over two stacks joined by an
// in-memory pair. Sockets are real stream.Duplex objects; errors carry Node's codes.
import { Duplex, pipeline } from 'node:stream';
import { once } from 'node:events';
import {
  Stack, SocketError, IPPROTO_TCP, TCP_NODELAY, SOL_SOCKET, SO_KEEPALIVE, TCP_KEEPIDLE, SO_LINGER,
} from '../dist/node.js';
import { it, test, assert, twoStacks as twoPlainStacks, randomBytes, sha256, withTimeout, sleep, waitUntil } from './helpers.mjs';

/** Two stacks of lwip-wasm/node's Stack, which has stack.net and stack.dgram. */
const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });

/** Resolves with [event args] when emitter emits name, rejecting after ms. */
const event = (emitter, name, ms = 5000) => withTimeout(once(emitter, name), ms, `waiting for '${name}'`);

/** Node's error fields, for one assertion that shows all of them. */
const fields = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port });

/** An echo server on stack b; resolves with it once listening. */
async function echoServer(stack, port = 0, options = {}) {
  const server = stack.net.createServer(options, (s) => s.pipe(s));
  server.listen(port);
  await event(server, 'listening');
  return server;
}

/** Reads a stream to its end; resolves with the bytes as one Buffer. */
async function collect(stream) {
  const parts = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** Waits (at most 5 s) until progress() stops changing for 300 ms; returns its value. */
async function stalled(progress) {
  const end = performance.now() + 5000;
  let last = progress();
  for (;;) {
    await sleep(300);
    const now = progress();
    if (now === last || performance.now() > end) return now;
    last = now;
  }
}

it('a connection is a stream.Duplex carrying 4 MiB intact both ways, with addresses and counters', async () => {
  const net = await twoStacks();
  try {
    const server = await echoServer(net.b, 7000);
    const data = randomBytes(4 * 1024 * 1024, 11);
    const c = net.a.net.connect(7000, '10.0.0.2');
    assert.ok(c instanceof Duplex, 'net.connect returns a stream.Duplex');
    assert.ok(c instanceof net.a.net.Socket);
    assert.is(c.connecting, true);
    assert.is(c.readyState, 'opening');
    assert.is(c.pending, true);
    await event(c, 'connect');
    assert.is(c.connecting, false);
    assert.is(c.readyState, 'open');
    assert.equal(
      { remoteAddress: c.remoteAddress, remotePort: c.remotePort, remoteFamily: c.remoteFamily, localAddress: c.localAddress, localFamily: c.localFamily },
      { remoteAddress: '10.0.0.2', remotePort: 7000, remoteFamily: 'IPv4', localAddress: '10.0.0.1', localFamily: 'IPv4' },
    );
    assert.ok(c.localPort >= 49152, `ephemeral local port ${c.localPort}`);
    assert.equal(c.address(), { address: '10.0.0.1', family: 'IPv4', port: c.localPort });
    const received = collect(c);
    c.end(data);
    const back = await withTimeout(received, 20000, 'echo of 4 MiB');
    assert.is(back.length, data.length);
    assert.is(sha256(back), sha256(data));
    assert.is(c.bytesRead, data.length);
    assert.is(c.bytesWritten, data.length);
    const [hadError] = await event(c, 'close');
    assert.is(hadError, false, "'close' carries hadError = false");
    assert.is(c.readyState, 'closed');
    server.close();
  } finally {
    net.dispose();
  }
});

it('server.listen(port) takes IPv6 and IPv4 clients and reports "::", as Node does', async () => {
  const net = await twoStacks();
  try {
    const server = net.b.net.createServer((s) => s.end(`${s.remoteFamily} ${s.remoteAddress}`));
    server.listen(8000);
    await event(server, 'listening');
    assert.equal(server.address(), { address: '::', family: 'IPv6', port: 8000 });
    assert.is(server.listening, true);
    const v4 = await collect(net.a.net.connect({ port: 8000, host: '10.0.0.2' }));
    const v6 = await collect(net.a.net.connect({ port: 8000, host: 'fd00::2' }));
    // one dual-stack socket: IPv4 peers appear IPv4-mapped, as on Linux and in Node
    assert.is(String(v4), 'IPv6 ::ffff:10.0.0.1');
    assert.is(String(v6), 'IPv6 fd00::1');
    // listen(0) picks an ephemeral port; a host binds just that address
    const s2 = net.b.net.createServer().listen(0, '10.0.0.2');
    await event(s2, 'listening');
    assert.is(s2.address().address, '10.0.0.2');
    assert.ok(s2.address().port > 0);
    server.close();
    s2.close();
  } finally {
    net.dispose();
  }
});

it('backpressure: a paused reader stops a fast writer (write() false, no drain) with bounded memory', async () => {
  const net = await twoStacks();
  try {
    const server = net.b.net.createServer({ pauseOnConnect: true });
    server.listen(7001);
    await event(server, 'listening');
    const accepted = event(server, 'connection');
    const c = net.a.net.connect(7001, '10.0.0.2');
    await event(c, 'connect');
    const [peer] = await accepted;
    assert.is(peer.isPaused(), true, 'pauseOnConnect');

    const chunk = Buffer.from(randomBytes(64 * 1024, 5));
    const total = 16 * 1024 * 1024;
    let written = 0;
    let refused = 0;
    // write until write() says stop, then wait for 'drain' as a well-behaved writer does
    const pump = async () => {
      while (written < total) {
        const more = c.write(chunk);
        written += chunk.length;
        if (!more) {
          refused++;
          await once(c, 'drain');
        }
      }
      c.end();
    };
    const writing = pump();
    // with nobody reading, the writer must stall well short of the total
    const stalledAt = await stalled(() => written);
    assert.ok(stalledAt < total, 'the writer stalled while nobody reads');
    assert.ok(refused >= 1, 'write() returned false');
    // bounded: writable buffer + send buffer + the peer's window + its readable buffer
    assert.ok(stalledAt <= 2 * 1024 * 1024, `the writer stalled after ${stalledAt} bytes`);
    assert.ok(c.writableLength <= 2 * 64 * 1024, `writableLength ${c.writableLength}`);

    // now read everything: the writer resumes and every byte arrives in order
    const got = collect(peer);
    await withTimeout(writing, 30000, 'writer finishing after resume');
    const all = await withTimeout(got, 30000, 'reader');
    assert.is(all.length, total);
    let expected = '';
    {
      const h = (await import('node:crypto')).createHash('sha256');
      for (let i = 0; i < total / chunk.length; i++) h.update(chunk);
      expected = h.digest('hex');
    }
    assert.is(sha256(all), expected);
    server.close();
  } finally {
    net.dispose();
  }
});

it('allowHalfOpen: false ends our side when the peer ends; true keeps it writable', async () => {
  const net = await twoStacks();
  try {
    // default (false): the server never calls end(), yet the client sees the end
    const closing = net.b.net.createServer((s) => s.resume());
    closing.listen(7002);
    await event(closing, 'listening');
    const c1 = net.a.net.connect(7002, '10.0.0.2');
    await event(c1, 'connect');
    c1.end('bye');
    await withTimeout(collect(c1), 5000, 'the server ending its side on our FIN');

    // true: the server answers after the client's FIN
    const half = net.b.net.createServer({ allowHalfOpen: true }, (s) => {
      const parts = [];
      s.on('data', (d) => parts.push(d));
      s.on('end', () => {
        assert.is(s.writable, true, 'still writable after end');
        setTimeout(() => s.end(`got ${Buffer.concat(parts)}`), 20);
      });
    });
    half.listen(7003);
    await event(half, 'listening');
    const c2 = net.a.net.connect({ port: 7003, host: '10.0.0.2', allowHalfOpen: true });
    await event(c2, 'connect');
    const reply = collect(c2);
    c2.end('question');
    assert.is(String(await withTimeout(reply, 5000, 'reply after FIN')), 'got question');
    closing.close();
    half.close();
  } finally {
    net.dispose();
  }
});

it("setTimeout emits 'timeout' after idleness, activity postpones it, and 0 turns it off", async () => {
  const net = await twoStacks();
  try {
    const server = await echoServer(net.b, 7004);
    const c = net.a.net.connect({ port: 7004, host: '10.0.0.2', timeout: 150 });
    await event(c, 'connect');
    assert.is(c.timeout, 150);
    const started = performance.now();
    // keep it busy for 300 ms: no timeout while echoing every 50 ms
    let timeouts = 0;
    c.on('timeout', () => timeouts++);
    c.resume();
    for (let i = 0; i < 6; i++) {
      c.write('x');
      await sleep(50);
    }
    assert.is(timeouts, 0, 'activity resets the idle timer');
    await event(c, 'timeout', 2000);
    assert.ok(performance.now() - started >= 300);
    assert.is(c.destroyed, false, "'timeout' does not close the socket");
    c.setTimeout(0);
    const before = timeouts;
    await sleep(300);
    assert.is(timeouts, before, 'setTimeout(0) disables it');
    c.destroy();
    server.close();
  } finally {
    net.dispose();
  }
});

it('setNoDelay and setKeepAlive (also as connect and server options) reach the socket', async () => {
  const net = await twoStacks();
  try {
    const server = net.b.net.createServer({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 45000 });
    server.listen(7005);
    await event(server, 'listening');
    const accepted = event(server, 'connection');
    // set before connecting: applied once the socket exists
    const c = new net.a.net.Socket();
    c.setNoDelay(true);
    c.setKeepAlive(true, 30000);
    c.connect(7005, '10.0.0.2');
    await event(c, 'connect');
    const s = c.lwipSocket;
    assert.is(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
    assert.is(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 1);
    assert.is(s.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 30);
    c.setNoDelay(false);
    c.setKeepAlive(false);
    assert.is(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
    assert.is(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0);
    const [peer] = await accepted;
    assert.is(peer.lwipSocket.getsockopt(IPPROTO_TCP, TCP_NODELAY), 1);
    assert.is(peer.lwipSocket.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 1);
    assert.is(peer.lwipSocket.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE), 45);
    c.destroy();
    server.close();
  } finally {
    net.dispose();
  }
});

it("maxConnections drops extra connections ('drop'); getConnections counts; close waits for them", async () => {
  const net = await twoStacks();
  try {
    let connections = 0;
    const server = net.b.net.createServer((s) => {
      connections++;
      s.resume();
    });
    server.maxConnections = 2;
    server.listen(7006);
    await event(server, 'listening');
    const drops = [];
    server.on('drop', (d) => drops.push(d));
    const c1 = net.a.net.connect(7006, '10.0.0.2');
    const c2 = net.a.net.connect(7006, '10.0.0.2');
    await Promise.all([event(c1, 'connect'), event(c2, 'connect')]);
    await waitUntil(() => connections === 2, 3000);
    const count = await new Promise((r) => server.getConnections((err, n) => r(n)));
    assert.is(count, 2);
    const c3 = net.a.net.connect(7006, '10.0.0.2');
    c3.resume();
    const c3closed = event(c3, 'close');
    await c3closed;
    assert.is(drops.length, 1);
    assert.is(drops[0].remoteAddress, '::ffff:10.0.0.1');
    assert.is(drops[0].localPort, 7006);
    // close: no new connections, 'close' only after the open ones end
    let closed = false;
    server.close(() => {
      closed = true;
    });
    assert.is(server.listening, false);
    await sleep(50);
    assert.is(closed, false, "'close' waits for open connections");
    c1.end();
    c2.end();
    await waitUntil(() => closed, 3000);
    assert.is(closed, true);
    // closing a server that is not listening: ERR_SERVER_NOT_RUNNING, as Node
    const err = await new Promise((r) => server.close(r));
    assert.is(err.code, 'ERR_SERVER_NOT_RUNNING');
  } finally {
    net.dispose();
  }
});

it('ECONNREFUSED: a closed port, with errno -111, syscall, address and port as Node reports', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.net.connect(9, '10.0.0.2');
    const [err] = await event(c, 'error');
    assert.equal(fields(err), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '10.0.0.2', port: 9 });
    assert.is(err.message, 'connect ECONNREFUSED 10.0.0.2:9');
    assert.ok(err.cause instanceof SocketError, 'the SocketError is kept as cause');
    const [hadError] = await event(c, 'close');
    assert.is(hadError, true);
    // the callback form of connect is not called on failure
    let called = false;
    const c2 = net.a.net.createConnection({ port: 9, host: 'fd00::2' }, () => {
      called = true;
    });
    const [e6] = await event(c2, 'error');
    assert.equal(fields(e6), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: 'fd00::2', port: 9 });
    assert.is(called, false);
  } finally {
    net.dispose();
  }
});

it('EADDRINUSE from listen, worded as Node words it', async () => {
  const net = await twoStacks();
  try {
    const s1 = net.b.net.createServer().listen(7007, '10.0.0.2');
    await event(s1, 'listening');
    const s2 = net.b.net.createServer().listen(7007, '10.0.0.2');
    const [err] = await event(s2, 'error');
    assert.equal(fields(err), { code: 'EADDRINUSE', errno: -98, syscall: 'listen', address: '10.0.0.2', port: 7007 });
    assert.is(err.message, 'listen EADDRINUSE: address already in use 10.0.0.2:7007');
    assert.is(s2.listening, false);
    assert.throws(() => s1.listen(7008), (e) => e.code === 'ERR_SERVER_ALREADY_LISTEN');
    assert.throws(() => s2.listen(70000), (e) => e.code === 'ERR_SOCKET_BAD_PORT' && e instanceof RangeError);
    s1.close();
  } finally {
    net.dispose();
  }
});

it('ECONNRESET on read when the peer resets (SO_LINGER 0), then close(hadError)', async () => {
  const net = await twoStacks();
  try {
    const server = net.b.net.createServer((s) => {
      s.lwipSocket.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
      s.destroy();
    });
    server.listen(7009);
    await event(server, 'listening');
    const c = net.a.net.connect(7009, '10.0.0.2');
    c.resume();
    const [err] = await event(c, 'error');
    assert.equal(fields(err), { code: 'ECONNRESET', errno: -104, syscall: 'read', address: undefined, port: undefined });
    assert.is(err.message, 'read ECONNRESET');
    const [hadError] = await event(c, 'close');
    assert.is(hadError, true);
    server.close();
  } finally {
    net.dispose();
  }
});

it('ETIMEDOUT after connectTimeout for a host that never answers; destroy() during connect is quiet', async () => {
  const net = await twoStacks();
  try {
    // 10.0.0.9 has a static neighbour entry, so frames leave, but nobody answers the SYN
    net.ifA.addNeighbor('10.0.0.9', '02:00:00:00:00:09');
    const c = net.a.net.connect({ port: 80, host: '10.0.0.9', connectTimeout: 300 });
    const [err] = await event(c, 'error', 5000);
    assert.equal(fields(err), { code: 'ETIMEDOUT', errno: -110, syscall: 'connect', address: '10.0.0.9', port: 80 });
    const c2 = net.a.net.connect({ port: 80, host: '10.0.0.9' });
    let errored = false;
    c2.on('error', () => {
      errored = true;
    });
    await sleep(20);
    c2.destroy();
    const [hadError] = await event(c2, 'close');
    assert.is(hadError, false);
    assert.is(errored, false);
    assert.is(net.a.memory().sockets, 0, 'the connecting socket was closed');
  } finally {
    net.dispose();
  }
});

it("names: 'localhost' is loopback, lookup() resolves others, and without it ENOTFOUND", async () => {
  const net = await twoStacks();
  try {
    // loopback on one stack
    const server = await echoServer(net.a, 7010);
    const c = net.a.net.connect(7010, 'localhost');
    const [, address, family, host] = await event(c, 'lookup');
    assert.equal([address, family, host], ['127.0.0.1', 4, 'localhost']);
    const got = collect(c);
    c.end('loop');
    assert.is(String(await got), 'loop');
    // a lookup function with dns.lookup's signature (net asks for every address, all: true,
    // as Node 20's autoSelectFamily does)
    const looked = [];
    const lookup = (name, opts, cb) => {
      looked.push(name);
      const address = name === 'b.test' ? '10.0.0.2' : '0.0.0.0';
      if (opts.all) cb(null, [{ address, family: 4 }]);
      else cb(null, address, 4);
    };
    const bServer = await echoServer(net.b, 7011);
    const c2 = net.a.net.connect({ port: 7011, host: 'b.test', lookup });
    await event(c2, 'connect');
    assert.is(c2.remoteAddress, '10.0.0.2');
    assert.equal(looked, ['b.test']);
    c2.destroy();
    // no lookup: ENOTFOUND with getaddrinfo, as Node reports an unknown name
    const c3 = net.a.net.connect(80, 'nowhere.test');
    const [err] = await event(c3, 'error');
    assert.equal({ code: err.code, errno: err.errno, syscall: err.syscall, hostname: err.hostname },
      { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'nowhere.test' });
    server.close();
    bServer.close();
  } finally {
    net.dispose();
  }
});

it('works with stream.pipeline and object identity is shared with the main entry', async () => {
  const net = await twoStacks();
  try {
    const main = await import('../dist/index.js');
    const node = await import('../dist/node.js');
    // lwip-wasm/node's Stack extends the main entry's; everything else is the same class.
    assert.ok(net.a instanceof main.Stack, 'a node Stack is a Stack');
    assert.is(Object.getPrototypeOf(node.Stack), main.Stack);
    for (const name of ['Socket', 'SocketError', 'StackError', 'createPair', 'NetInterface']) assert.is(node[name], main[name], name);
    assert.is(net.a.net, net.a.net, 'one module per stack');
    // createNet serves a stack from the main entry too, and gives the same module as stack.net.
    assert.is(node.createNet(net.a), net.a.net);
    const plain = await main.Stack.create();
    try {
      assert.is(plain.net, undefined, 'the main entry adds no node modules');
      assert.is(node.createNet(plain).isIP('10.0.0.1'), 4);
    } finally {
      plain.dispose();
    }
    assert.is(net.a.net.isIP('fd00::1'), 6);
    assert.is(net.a.net.isIPv4('10.0.0.1'), true);
    assert.is(net.a.net.isIP('host'), 0);
    // uppercase server via pipeline(socket, transform, socket)
    const { Transform } = await import('node:stream');
    const server = net.b.net.createServer((s) => {
      pipeline(s, new Transform({ transform: (c, _e, cb) => cb(null, String(c).toUpperCase()) }), s, () => {});
    });
    server.listen(7012);
    await event(server, 'listening');
    const c = net.a.net.connect(7012, '10.0.0.2');
    const got = collect(c);
    c.end('pipeline works');
    assert.is(String(await got), 'PIPELINE WORKS');
    server.close();
  } finally {
    net.dispose();
  }
});

it('disposing the stack closes its sockets quietly (no unhandled error)', async () => {
  const net = await twoStacks();
  const server = await echoServer(net.b, 7013);
  const c = net.a.net.connect(7013, '10.0.0.2');
  await event(c, 'connect');
  c.resume();
  let errors = 0;
  c.on('error', () => errors++);
  server.on('error', () => errors++);
  const closed = event(c, 'close');
  net.a.dispose();
  const [hadError] = await closed;
  assert.is(hadError, false);
  assert.is(errors, 0);
  net.b.dispose();
});

test.run();
