// TCP data paths: echo, bulk transfer with hashes, many connections at once, byte-stream
// semantics, ephemeral ports, half-close, loopback, and the async forms' timeout/signal.
import {
  AF_INET, AF_INET6, SOCK_STREAM, SHUT_WR, POLLIN,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, randomBytes, sha256, drainToEof, readExactly,
  readToEof, text, rejectsCode, sleep,
} from './helpers.mjs';

// --- echo -------------------------------------------------------------------------------

async function echoOnce(net, family) {
  const [client, conn, listener] = await connectPair(net.a, net.b, { family });
  try {
    // the server echoes whatever it reads until EOF, then closes
    const server = (async () => {
      for (;;) {
        const c = await conn.recv();
        if (c.length === 0) break;
        await conn.send(c);
      }
      conn.close();
    })();
    const peer = client.getpeername();
    assert.is(peer.address, family === 6 ? 'fd00::2' : '10.0.0.2');
    assert.is(peer.port, listener.getsockname().port);
    assert.is(peer.family, family === 6 ? 'IPv6' : 'IPv4');
    const messages = ['hello', 'lwIP in wasm', 'x'.repeat(5000)];
    for (const m of messages) {
      await client.send(m);
      const back = await readExactly(client, new TextEncoder().encode(m).length);
      assert.is(text(back), m, `echo of ${m.length} chars over IPv${family}`);
    }
    client.shutdown(SHUT_WR);
    const tail = await client.recv();
    assert.is(tail.length, 0, 'EOF after the server closes');
    await server;
  } finally {
    client.close();
    listener.close();
  }
}

it('echo over a pair (IPv4)', async () => {
  const net = await twoStacks();
  try {
    await echoOnce(net, 4);
  } finally {
    net.dispose();
  }
});

it('echo over a pair (IPv6)', async () => {
  const net = await twoStacks();
  try {
    await echoOnce(net, 6);
  } finally {
    net.dispose();
  }
});

it('accepted socket knows both ends', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const local = client.getsockname();
    assert.is(local.address, '10.0.0.1');
    const peerOfConn = conn.getpeername();
    assert.equal(peerOfConn, local, 'server sees the client address and port');
    assert.equal(conn.getsockname(), { address: '10.0.0.2', port: listener.getsockname().port, family: 'IPv4' });
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

// --- bulk -------------------------------------------------------------------------------

it('16 MiB client->server, SHA-256 of sent and received bytes match', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const data = randomBytes(16 * 1024 * 1024, 0xc0ffee);
    const sentHash = sha256(data);
    const receiving = drainToEof(conn);
    const sent = await client.send(data);
    assert.is(sent, data.length, 'send() reports every byte');
    client.shutdown(SHUT_WR);
    const got = await receiving;
    assert.is(got.bytes, data.length, 'received byte count');
    assert.is(got.hash, sentHash, 'received SHA-256');
    assert.ok(got.chunks > 1, 'a transfer this size arrives in more than one read');
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
}, 30_000);

it('16 MiB in both directions at once over IPv6', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b, { family: 6 });
    const up = randomBytes(8 * 1024 * 1024, 11);
    const down = randomBytes(8 * 1024 * 1024, 12);
    const [, , gotUp, gotDown] = await Promise.all([
      client.send(up).then(() => client.shutdown(SHUT_WR)),
      conn.send(down).then(() => conn.shutdown(SHUT_WR)),
      drainToEof(conn),
      drainToEof(client),
    ]);
    assert.is(gotUp.bytes, up.length);
    assert.is(gotUp.hash, sha256(up));
    assert.is(gotDown.bytes, down.length);
    assert.is(gotDown.hash, sha256(down));
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
}, 30_000);

it('64 concurrent connections, 256 KiB each, every hash matches', async () => {
  const N = 64;
  const SIZE = 256 * 1024;
  const net = await twoStacks();
  try {
    const listener = net.b.socket(AF_INET, SOCK_STREAM);
    listener.bind('0.0.0.0', 7000);
    listener.listen(128);
    const clients = [];
    for (let i = 0; i < N; i++) clients.push(net.a.socket(AF_INET, SOCK_STREAM));
    // all connects are in flight before the server accepts any of them
    const connecting = clients.map((c) => c.connect('10.0.0.2', 7000));
    const conns = [];
    for (let i = 0; i < N; i++) conns.push(await listener.accept());
    await Promise.all(connecting);
    const clientPorts = clients.map((c) => c.getsockname().port);
    assert.is(new Set(clientPorts).size, N, 'every client has its own local port');

    // the server side hashes by client port, since accept order need not match
    const byPort = new Map();
    const serving = conns.map(async (conn) => {
      const port = conn.getpeername().port;
      const r = await drainToEof(conn, 64 * 1024);
      byPort.set(port, r);
      conn.close();
    });
    const payloads = clients.map((_, i) => randomBytes(SIZE, 1000 + i));
    let inFlight = 0;
    let maxInFlight = 0;
    const sending = clients.map(async (c, i) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await c.send(payloads[i]);
      c.shutdown(SHUT_WR);
      inFlight--;
    });
    await Promise.all([...sending, ...serving]);
    assert.ok(maxInFlight > 1, 'sends overlapped');
    for (let i = 0; i < N; i++) {
      const port = clientPorts[i];
      const r = byPort.get(port);
      assert.ok(r, `connection ${i} (port ${port}) reached the server`);
      assert.is(r.bytes, SIZE, `connection ${i}: byte count`);
      assert.is(r.hash, sha256(payloads[i]), `connection ${i}: SHA-256`);
    }
    for (const c of clients) c.close();
    listener.close();
  } finally {
    net.dispose();
  }
}, 30_000);

// --- byte stream ------------------------------------------------------------------------

it('three small sends (1, 2, 3 bytes) arrive as one 6-byte stream in order', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    assert.is(client.sendSync(Uint8Array.of(1)), 1);
    assert.is(client.sendSync(Uint8Array.of(2, 2)), 2);
    assert.is(client.sendSync(Uint8Array.of(3, 3, 3)), 3);
    client.shutdown(SHUT_WR);
    const all = await readToEof(conn);
    assert.equal([...all], [1, 2, 2, 3, 3, 3]);
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('recv(maxBytes) never returns more than asked, and the rest stays queued', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const data = randomBytes(1000, 5);
    await client.send(data);
    const [ev] = await net.b.poll([{ socket: conn, events: POLLIN }], 2000);
    assert.ok(ev & POLLIN, 'data arrived');
    await sleep(20); // let every segment of the 1000 bytes land
    assert.is(conn.pending, 1000, 'pending counts unread bytes');
    const first = conn.recvSync(10);
    assert.is(first.length, 10);
    assert.equal([...first], [...data.subarray(0, 10)]);
    assert.is(conn.pending, 990);
    const rest = await readExactly(conn, 990);
    assert.equal(sha256(rest), sha256(data.subarray(10)));
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

// --- ports ------------------------------------------------------------------------------

it('port 0 picks an ephemeral port in 49152-65535 and getsockname tells it', async () => {
  const net = await twoStacks();
  try {
    const s1 = net.a.socket(AF_INET, SOCK_STREAM);
    const s2 = net.a.socket(AF_INET, SOCK_STREAM);
    s1.bind('0.0.0.0', 0);
    s2.bind('10.0.0.1', 0);
    const n1 = s1.getsockname();
    const n2 = s2.getsockname();
    for (const [n, addr] of [[n1, '0.0.0.0'], [n2, '10.0.0.1']]) {
      assert.ok(n.port >= 49152 && n.port <= 65535, `ephemeral port ${n.port} in range`);
      assert.is(n.address, addr);
      assert.is(n.family, 'IPv4');
    }
    assert.is.not(n1.port, n2.port, 'two sockets get different ports');

    // listen() without bind() picks one too
    const l = net.b.socket(AF_INET6, SOCK_STREAM);
    l.listen();
    const ln = l.getsockname();
    assert.ok(ln.port >= 49152 && ln.port <= 65535, `listener's implicit port ${ln.port} in range`);
    assert.is(ln.address, '::');

    // a connecting client is given one, and the server sees the same one
    const c = net.a.socket(AF_INET6, SOCK_STREAM);
    const [conn] = await Promise.all([l.accept(), c.connect('fd00::2', ln.port)]);
    const cn = c.getsockname();
    assert.ok(cn.port >= 49152 && cn.port <= 65535, `client port ${cn.port} in range`);
    assert.is(cn.address, 'fd00::1');
    assert.is(conn.getpeername().port, cn.port);
    for (const s of [s1, s2, l, c, conn]) s.close();
  } finally {
    net.dispose();
  }
});

// --- half-close -------------------------------------------------------------------------

it('half-close: SHUT_WR delivers data then EOF, and the other direction still works', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    await client.send('request');
    client.shutdown(SHUT_WR);
    const req = await readExactly(conn, 7);
    assert.is(text(req), 'request');
    const eof = await conn.recv();
    assert.instance(eof, Uint8Array);
    assert.is(eof.length, 0, 'server reads EOF after the data');
    const eof2 = conn.recvSync();
    assert.is(eof2.length, 0, 'EOF is sticky');
    // the server can still send after the client's FIN
    const reply = randomBytes(300_000, 9);
    const n = await conn.send(reply);
    assert.is(n, reply.length);
    conn.shutdown(SHUT_WR);
    const got = await readToEof(client);
    assert.is(got.length, reply.length);
    assert.is(sha256(got), sha256(reply));
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

// --- loopback ---------------------------------------------------------------------------

async function loopbackEcho(stack, domain, bindAddr, dialAddr) {
  const listener = stack.socket(domain, SOCK_STREAM);
  listener.bind(bindAddr, 0);
  listener.listen();
  const port = listener.getsockname().port;
  const client = stack.socket(domain, SOCK_STREAM);
  try {
    const [conn] = await Promise.all([listener.accept(), client.connect(dialAddr, port)]);
    assert.is(client.getpeername().address, dialAddr, `client's peer is ${dialAddr}`);
    assert.is(client.getpeername().port, port);
    assert.is(conn.getpeername().address, dialAddr, `server's peer is ${dialAddr} too`);
    assert.is(conn.getpeername().port, client.getsockname().port);
    const data = randomBytes(1024 * 1024, 77);
    const [, got] = await Promise.all([
      client.send(data).then(() => client.shutdown(SHUT_WR)),
      drainToEof(conn),
    ]);
    assert.is(got.bytes, data.length, `loopback ${dialAddr}: byte count`);
    assert.is(got.hash, sha256(data), `loopback ${dialAddr}: SHA-256`);
    await conn.send('bye');
    conn.close();
    const back = await readToEof(client);
    assert.is(text(back), 'bye');
  } finally {
    client.close();
    listener.close();
  }
}

it('loopback inside one stack: 127.0.0.1', async () => {
  const net = await twoStacks();
  try {
    await loopbackEcho(net.a, AF_INET, '0.0.0.0', '127.0.0.1');
    await loopbackEcho(net.a, AF_INET, '127.0.0.1', '127.0.0.1');
  } finally {
    net.dispose();
  }
});

it('loopback inside one stack: ::1', async () => {
  const net = await twoStacks();
  try {
    await loopbackEcho(net.a, AF_INET6, '::', '::1');
    await loopbackEcho(net.a, AF_INET6, '::1', '::1');
  } finally {
    net.dispose();
  }
});

it("loopback to the stack's own interface address 10.0.0.1 (and fd00::1)", async () => {
  const net = await twoStacks();
  try {
    const before = net.ifA.counters.txFrames;
    await loopbackEcho(net.a, AF_INET, '0.0.0.0', '10.0.0.1');
    await loopbackEcho(net.a, AF_INET, '10.0.0.1', '10.0.0.1');
    await loopbackEcho(net.a, AF_INET6, '::', 'fd00::1');
    assert.is(net.ifA.counters.txFrames, before, 'traffic to our own address never goes out on the link');
  } finally {
    net.dispose();
  }
});

// --- async forms: timeout and signal ---------------------------------------------------

it('recv({ timeout }) rejects with EAGAIN after about that long', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const t0 = performance.now();
    await rejectsCode(conn.recv(1024, { timeout: 150 }), 'EAGAIN', 'recv with timeout');
    const dt = performance.now() - t0;
    assert.ok(dt >= 140 && dt < 1000, `recv timed out after ${dt.toFixed(0)} ms (want ~150)`);
    // the socket is still fine afterwards
    await client.send('late');
    assert.is(text(await readExactly(conn, 4)), 'late');
    // timeout 0 fails at once when nothing is there
    const t1 = performance.now();
    await rejectsCode(conn.recv(1024, { timeout: 0 }), 'EAGAIN', 'recv with timeout 0');
    assert.ok(performance.now() - t1 < 100, 'timeout 0 does not wait');
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('accept({ timeout }) rejects with EAGAIN', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const t0 = performance.now();
    await rejectsCode(l.accept({ timeout: 100 }), 'EAGAIN', 'accept with timeout');
    const dt = performance.now() - t0;
    assert.ok(dt >= 90 && dt < 1000, `accept timed out after ${dt.toFixed(0)} ms`);
    l.close();
  } finally {
    net.dispose();
  }
});

it('send({ timeout }) rejects with EAGAIN when the peer does not read', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const big = randomBytes(8 * 1024 * 1024, 3);
    const t0 = performance.now();
    await rejectsCode(client.send(big, { timeout: 300 }), 'EAGAIN', 'send into a full window');
    const dt = performance.now() - t0;
    assert.ok(dt >= 290 && dt < 2000, `send timed out after ${dt.toFixed(0)} ms`);
    assert.ok(conn.pending > 0, 'some of it arrived');
    assert.ok(conn.pending < big.length, 'but not all of it');
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('recv({ signal }) rejects with the abort reason, and the socket stays usable', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const ac = new AbortController();
    const reason = new Error('stop reading');
    const p = conn.recv(1024, { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 30);
    let caught;
    try {
      await p;
    } catch (err) {
      caught = err;
    }
    assert.is(caught, reason, 'rejects with exactly the signal reason');

    // an already-aborted signal rejects at once with its reason
    const ac2 = new AbortController();
    const reason2 = { why: 'already' };
    ac2.abort(reason2);
    let caught2;
    try {
      await conn.recv(1024, { signal: ac2.signal });
    } catch (err) {
      caught2 = err;
    }
    assert.is(caught2, reason2, 'already-aborted signal');

    await client.send('still here');
    assert.is(text(await readExactly(conn, 10)), 'still here');
    client.close();
    conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('accept({ signal }) and connect({ signal }) reject with the abort reason', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const ac = new AbortController();
    const reason = new Error('no more accepts');
    setTimeout(() => ac.abort(reason), 20);
    let caught;
    try {
      await l.accept({ signal: ac.signal });
    } catch (err) {
      caught = err;
    }
    assert.is(caught, reason, 'accept rejects with the reason');

    // a connect to a host that never answers, aborted
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    const ac2 = new AbortController();
    const reason2 = new Error('give up connecting');
    setTimeout(() => ac2.abort(reason2), 50);
    let caught2;
    try {
      await c.connect('10.0.0.99', 80, { signal: ac2.signal });
    } catch (err) {
      caught2 = err;
    }
    assert.is(caught2, reason2, 'connect rejects with the reason');
    c.close();
    l.close();
  } finally {
    net.dispose();
  }
});

test.run();
