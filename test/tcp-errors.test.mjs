// TCP error paths, each checked against what Linux reports for the same sequence of calls.
import {
  AF_INET, AF_INET6, SOCK_STREAM, SHUT_WR, SHUT_RD, SHUT_RDWR, POLLIN, POLLOUT, POLLERR, POLLHUP,
  POLLRDHUP, SocketError,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, throwsCode, rejectsCode, readExactly, text,
  pollFor, assertEvents, outcome, createStack, sleep, waitUntil,
} from './helpers.mjs';

const ALL = POLLIN | POLLOUT | POLLRDHUP;

// --- EADDRINUSE -------------------------------------------------------------------------

it('EADDRINUSE: binding a port another socket has bound', async () => {
  const net = await twoStacks();
  try {
    const s1 = net.a.socket(AF_INET, SOCK_STREAM);
    s1.bind('0.0.0.0', 8080);
    const s2 = net.a.socket(AF_INET, SOCK_STREAM);
    const e = throwsCode(() => s2.bind('0.0.0.0', 8080), 'EADDRINUSE', 'second bind to 0.0.0.0:8080');
    assert.is(e.syscall, 'bind');
    // a specific address overlaps the wildcard one
    const s3 = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => s3.bind('10.0.0.1', 8080), 'EADDRINUSE', 'bind 10.0.0.1:8080 under 0.0.0.0:8080');
    // and an ephemeral port, once taken, is taken
    const s4 = net.a.socket(AF_INET, SOCK_STREAM);
    s4.bind('0.0.0.0', 0);
    const p = s4.getsockname().port;
    const s5 = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => s5.bind('0.0.0.0', p), 'EADDRINUSE', `bind to the ephemeral port ${p} s4 holds`);
    // the failed socket is still usable: it can bind elsewhere
    s2.bind('0.0.0.0', 8081);
    assert.is(s2.getsockname().port, 8081);
    // closing the first frees the port
    s1.close();
    s3.bind('0.0.0.0', 8080);
    assert.is(s3.getsockname().port, 8080);
    for (const s of [s2, s3, s4, s5]) s.close();
  } finally {
    net.dispose();
  }
});

it('EADDRINUSE: a second listener on the same port', async () => {
  const net = await twoStacks();
  try {
    const l1 = net.b.socket(AF_INET, SOCK_STREAM);
    l1.bind('0.0.0.0', 9000);
    l1.listen();
    const l2 = net.b.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => l2.bind('0.0.0.0', 9000), 'EADDRINUSE', 'bind to a listening port');
    throwsCode(() => l2.bind('10.0.0.2', 9000), 'EADDRINUSE', 'bind a specific address to a listening port');
    // IPv6 listeners conflict with each other the same way
    const l3 = net.b.socket(AF_INET6, SOCK_STREAM);
    l3.bind('::', 9001);
    l3.listen();
    const l4 = net.b.socket(AF_INET6, SOCK_STREAM);
    throwsCode(() => l4.bind('::', 9001), 'EADDRINUSE', 'second IPv6 bind to a listening port');
    // calling listen() again on the same socket is allowed (it changes the backlog)
    l1.listen(4);
    // and the first listener still works
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    const [conn] = await Promise.all([l1.accept(), c.connect('10.0.0.2', 9000)]);
    assert.is(conn.getpeername().port, c.getsockname().port);
    for (const s of [l1, l2, l3, l4, c, conn]) s.close();
  } finally {
    net.dispose();
  }
});

// --- ECONNREFUSED -----------------------------------------------------------------------

it('ECONNREFUSED: connect to a closed port on the other stack (IPv4 and IPv6)', async () => {
  const net = await twoStacks();
  try {
    for (const [domain, addr] of [[AF_INET, '10.0.0.2'], [AF_INET6, 'fd00::2']]) {
      const c = net.a.socket(domain, SOCK_STREAM);
      const t0 = performance.now();
      const e = await rejectsCode(c.connect(addr, 4444), 'ECONNREFUSED', `connect ${addr}:4444`);
      assert.is(e.syscall, 'connect');
      assert.is(e.address, addr);
      assert.is(e.port, 4444);
      assert.ok(performance.now() - t0 < 1000, 'a reset answers at once, no retries');
      c.close();
    }
  } finally {
    net.dispose();
  }
});

it('ECONNREFUSED through connectSync + poll + takeError', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.connectSync('10.0.0.2', 5555), 'EINPROGRESS', 'non-blocking connect');
    const rev = await pollFor(net.a, c, POLLOUT, 2000);
    assert.ok(rev & POLLERR, `POLLERR after the RST (got ${rev})`);
    const err = c.takeError();
    assert.instance(err, SocketError);
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(c.takeError(), null, 'SO_ERROR is cleared by reading it');
    c.close();
  } finally {
    net.dispose();
  }
});

it('ECONNREFUSED over loopback', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(c.connect('127.0.0.1', 4321), 'ECONNREFUSED', 'connect 127.0.0.1:4321');
    c.close();
    const c6 = net.a.socket(AF_INET6, SOCK_STREAM);
    await rejectsCode(c6.connect('::1', 4321), 'ECONNREFUSED', 'connect [::1]:4321');
    c6.close();
  } finally {
    net.dispose();
  }
});

// --- ETIMEDOUT --------------------------------------------------------------------------

it('ETIMEDOUT: connect to an empty address on the subnet, stack connectTimeout 500', async () => {
  const net = await twoStacks({ connectTimeout: 500 });
  try {
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    const t0 = performance.now();
    const e = await rejectsCode(c.connect('10.0.0.99', 80), 'ETIMEDOUT', 'connect 10.0.0.99:80');
    const dt = performance.now() - t0;
    assert.ok(dt >= 450 && dt < 2000, `timed out after ${dt.toFixed(0)} ms (want ~500)`);
    assert.is(e.address, '10.0.0.99');
    c.close();
  } finally {
    net.dispose();
  }
});

it('ETIMEDOUT: connect(addr, port, { timeout: 500 }) on IPv4 and IPv6', async () => {
  const net = await twoStacks();
  try {
    for (const [domain, addr] of [[AF_INET, '10.0.0.99'], [AF_INET6, 'fd00::99']]) {
      const c = net.a.socket(domain, SOCK_STREAM);
      const t0 = performance.now();
      await rejectsCode(c.connect(addr, 80, { timeout: 500 }), 'ETIMEDOUT', `connect ${addr}:80`);
      const dt = performance.now() - t0;
      assert.ok(dt >= 450 && dt < 2000, `${addr}: timed out after ${dt.toFixed(0)} ms (want ~500)`);
      c.close();
    }
  } finally {
    net.dispose();
  }
});

// --- half-close and EPIPE ---------------------------------------------------------------

it('EPIPE: send after our own SHUT_WR', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    client.shutdown(SHUT_WR);
    throwsCode(() => client.sendSync('x'), 'EPIPE', 'sendSync after SHUT_WR');
    await rejectsCode(client.send('y'), 'EPIPE', 'send after SHUT_WR');
    throwsCode(() => client.sendSync('z'), 'EPIPE', 'EPIPE again');
    // the peer saw EOF, and nothing of x/y/z
    const eof = await conn.recv();
    assert.is(eof.length, 0);
    // reading on our side still works
    await conn.send('ok');
    assert.is(text(await readExactly(client, 2)), 'ok');
    for (const s of [client, conn, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('peer closed, then reset our data: first send succeeds, recv gives EOF, later sends EPIPE (Linux CLOSE_WAIT)', async () => {
  // Linux: the peer's FIN puts us in CLOSE_WAIT; a send there succeeds and draws an RST
  // from the closed peer; tcp_reset() in CLOSE_WAIT sets sk_err = EPIPE (not
  // ECONNRESET). recv() keeps returning 0 because the FIN (SOCK_DONE) came first.
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    conn.close(); // nothing unread: a FIN
    const rev = await pollFor(net.a, client, POLLRDHUP, 2000);
    assert.is(rev, POLLRDHUP, 'the FIN arrived');
    assertEvents(net.a.pollSync([{ socket: client, events: ALL }])[0], POLLIN | POLLOUT | POLLRDHUP,
      'client in CLOSE_WAIT');
    assert.is(client.recvSync().length, 0, 'EOF');
    assert.is(client.sendSync('first'), 5, 'the first send after the FIN succeeds');
    // wait for the peer's RST to land
    const rev2 = await pollFor(net.a, client, 0, 2000);
    assert.ok(rev2 & (POLLERR | POLLHUP), `RST arrived (POLLERR/POLLHUP), got ${rev2}`);
    assertEvents(net.a.pollSync([{ socket: client, events: ALL }])[0],
      POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, 'client after the RST');
    const r = outcome(() => client.recvSync());
    assert.equal(r, { value: 'Uint8Array(0)' }, `recv after FIN then RST: want EOF, got ${JSON.stringify(r)}`);
    throwsCode(() => client.sendSync('second'), 'EPIPE', 'send after the RST in CLOSE_WAIT');
    throwsCode(() => client.sendSync('third'), 'EPIPE', 'and every send after');
    for (const s of [client, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('peer closed, then reset our data: send-first order gives EPIPE, EPIPE', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    conn.close();
    await pollFor(net.a, client, POLLRDHUP, 2000);
    assert.is(client.sendSync('first'), 5, 'the first send after the FIN succeeds');
    await pollFor(net.a, client, 0, 2000);
    const seq = [outcome(() => client.sendSync('2')), outcome(() => client.sendSync('3')), outcome(() => client.recvSync())];
    assert.equal(seq, [{ code: 'EPIPE' }, { code: 'EPIPE' }, { value: 'Uint8Array(0)' }],
      `send, send, recv after FIN+RST: ${JSON.stringify(seq)}`);
    for (const s of [client, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('ECONNRESET: peer closes with unread data (RST); recv then reports ECONNRESET, then EOF, sends EPIPE', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    await client.send('unread');
    const rev = await pollFor(net.b, conn, POLLIN, 2000);
    assert.ok(rev & POLLIN, 'data reached the server');
    conn.close(); // with 6 unread bytes: Linux sends RST, not FIN
    const rev2 = await pollFor(net.a, client, 0, 2000);
    assertEvents(rev2, POLLERR | POLLHUP, 'client after the RST (asked for nothing)');
    assertEvents(net.a.pollSync([{ socket: client, events: ALL }])[0],
      POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP, 'client after the RST (asked for everything)');
    throwsCode(() => client.recvSync(), 'ECONNRESET', 'first recv after the RST');
    assert.is(client.recvSync().length, 0, 'then EOF');
    throwsCode(() => client.sendSync('x'), 'EPIPE', 'send after the reset was reported');
    throwsCode(() => client.sendSync('x'), 'EPIPE', 'and again');
    for (const s of [client, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('ECONNRESET: send-first order after an RST gives ECONNRESET, then EPIPE', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    await client.send('unread');
    await pollFor(net.b, conn, POLLIN, 2000);
    conn.close();
    await pollFor(net.a, client, 0, 2000);
    throwsCode(() => client.sendSync('x'), 'ECONNRESET', 'first send after the RST');
    throwsCode(() => client.sendSync('x'), 'EPIPE', 'second send');
    assert.is(client.recvSync().length, 0, 'recv: the error was taken, so EOF');
    for (const s of [client, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('ECONNRESET reaches an async recv that is waiting', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const waiting = client.recv();
    await client.send('unread');
    await pollFor(net.b, conn, POLLIN, 2000);
    // the client got nothing yet, so its recv is still pending; now the server resets
    conn.close();
    await rejectsCode(waiting, 'ECONNRESET', 'pending recv');
    for (const s of [client, listener]) s.close();
  } finally {
    net.dispose();
  }
});

// --- state errors -----------------------------------------------------------------------

it('ENOTCONN: recv, getpeername and shutdown on an unconnected socket', async () => {
  const net = await twoStacks();
  try {
    const s = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => s.recvSync(), 'ENOTCONN', 'recv on a fresh socket');
    throwsCode(() => s.getpeername(), 'ENOTCONN', 'getpeername on a fresh socket');
    throwsCode(() => s.shutdown(SHUT_WR), 'ENOTCONN', 'shutdown on a fresh socket');
    await rejectsCode(s.recv(100, { timeout: 200 }), 'ENOTCONN', 'async recv on a fresh socket');
    s.bind('0.0.0.0', 0);
    throwsCode(() => s.recvSync(), 'ENOTCONN', 'recv on a bound socket');
    throwsCode(() => s.getpeername(), 'ENOTCONN', 'getpeername on a bound socket');
    const l = net.a.socket(AF_INET6, SOCK_STREAM);
    l.listen();
    throwsCode(() => l.recvSync(), 'ENOTCONN', 'recv on a listener');
    throwsCode(() => l.getpeername(), 'ENOTCONN', 'getpeername on a listener');
    s.close();
    l.close();
  } finally {
    net.dispose();
  }
});

it('EISCONN: connect on a connected socket', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const port = listener.getsockname().port;
    throwsCode(() => client.connectSync('10.0.0.2', port), 'EISCONN', 'connectSync again');
    await rejectsCode(client.connect('10.0.0.2', port), 'EISCONN', 'connect again');
    throwsCode(() => conn.connectSync('10.0.0.1', 1234), 'EISCONN', 'connect on an accepted socket');
    for (const s of [client, conn, listener]) s.close();
  } finally {
    net.dispose();
  }
});

it('EALREADY: a second connectSync while the first is in progress', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.connectSync('10.0.0.99', 80), 'EINPROGRESS', 'first connectSync');
    throwsCode(() => c.connectSync('10.0.0.99', 80), 'EALREADY', 'second connectSync');
    await sleep(20);
    throwsCode(() => c.connectSync('10.0.0.99', 80), 'EALREADY', 'still connecting later');
    c.close();
  } finally {
    net.dispose();
  }
});

it('EINVAL: listen on a bound-then-connected socket; accept on a non-listening socket', async () => {
  const net = await twoStacks();
  try {
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const port = l.getsockname().port;
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.acceptSync(), 'EINVAL', 'accept on a fresh socket');
    c.bind('10.0.0.1', 0);
    throwsCode(() => c.acceptSync(), 'EINVAL', 'accept on a bound socket');
    const [conn] = await Promise.all([l.accept(), c.connect('10.0.0.2', port)]);
    throwsCode(() => c.listen(), 'EINVAL', 'listen on a connected socket');
    throwsCode(() => conn.listen(), 'EINVAL', 'listen on an accepted socket');
    throwsCode(() => c.acceptSync(), 'EINVAL', 'accept on a connected socket');
    await rejectsCode(c.accept({ timeout: 200 }), 'EINVAL', 'async accept on a connected socket');
    // bind twice is EINVAL too
    throwsCode(() => c.bind('10.0.0.1', 0), 'EINVAL', 'bind on a connected socket');
    const d = net.a.socket(AF_INET, SOCK_STREAM);
    d.bind('0.0.0.0', 0);
    throwsCode(() => d.bind('0.0.0.0', 0), 'EINVAL', 'second bind');
    // the connection is unharmed by all that
    await c.send('fine');
    assert.is(text(await readExactly(conn, 4)), 'fine');
    for (const s of [l, c, conn, d]) s.close();
  } finally {
    net.dispose();
  }
});

it('EBADF: every call after close', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const fresh = net.a.socket(AF_INET, SOCK_STREAM);
    for (const [name, s] of [['connected', client], ['listener', listener], ['fresh', fresh]]) {
      s.close();
      assert.ok(s.closed, `${name}: closed is true`);
      throwsCode(() => s.close(), 'EBADF', `${name}: close twice`);
      throwsCode(() => s.bind('0.0.0.0', 0), 'EBADF', `${name}: bind`);
      throwsCode(() => s.listen(), 'EBADF', `${name}: listen`);
      throwsCode(() => s.acceptSync(), 'EBADF', `${name}: acceptSync`);
      throwsCode(() => s.connectSync('10.0.0.2', 1), 'EBADF', `${name}: connectSync`);
      throwsCode(() => s.sendSync('x'), 'EBADF', `${name}: sendSync`);
      throwsCode(() => s.recvSync(), 'EBADF', `${name}: recvSync`);
      throwsCode(() => s.shutdown(SHUT_RDWR), 'EBADF', `${name}: shutdown`);
      throwsCode(() => s.getsockname(), 'EBADF', `${name}: getsockname`);
      throwsCode(() => s.getpeername(), 'EBADF', `${name}: getpeername`);
      throwsCode(() => s.takeError(), 'EBADF', `${name}: takeError`);
      throwsCode(() => s.pending, 'EBADF', `${name}: pending`);
      await rejectsCode(s.accept(), 'EBADF', `${name}: accept`);
      await rejectsCode(s.connect('10.0.0.2', 1), 'EBADF', `${name}: connect`);
      await rejectsCode(s.send('x'), 'EBADF', `${name}: send`);
      await rejectsCode(s.recv(), 'EBADF', `${name}: recv`);
    }
    conn.close();
  } finally {
    net.dispose();
  }
});

it('EBADF: a recv waiting when its socket is closed rejects with EBADF', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    const waiting = client.recv();
    await sleep(10);
    client.close();
    await rejectsCode(waiting, 'EBADF', 'recv pending across close');
    const waitingAccept = listener.accept();
    await sleep(10);
    listener.close();
    await rejectsCode(waitingAccept, 'EBADF', 'accept pending across close');
    conn.close();
  } finally {
    net.dispose();
  }
});

it('shutdown(SHUT_RD) makes recv return EOF at once', async () => {
  const net = await twoStacks();
  try {
    const [client, conn, listener] = await connectPair(net.a, net.b);
    client.shutdown(SHUT_RD);
    assert.is(client.recvSync().length, 0, 'recv after SHUT_RD is EOF');
    // writing is unaffected
    await client.send('still writing');
    assert.is(text(await readExactly(conn, 13)), 'still writing');
    for (const s of [client, conn, listener]) s.close();
  } finally {
    net.dispose();
  }
});

test.run();
