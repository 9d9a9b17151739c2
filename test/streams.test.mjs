// stack.connect / stack.listen / stack.udp: TCP and UDP as web-standard streams (the
// WinterTC Sockets API shape), run here in Node; test/browser-streams runs them in Chromium.
import { SocketError, SOL_SOCKET, SO_LINGER, AF_INET, SOCK_STREAM } from '../dist/index.js';
import { it, test, assert, twoStacks, randomBytes, sha256, withTimeout, sleep, rejectsCode, concat, text } from './helpers.mjs';

/** Reads a ReadableStream to its end; resolves with the bytes. */
async function readAll(readable) {
  const parts = [];
  for await (const c of readable) parts.push(c);
  return concat(parts);
}

/** An echo server on stack's listener: every connection pipes readable into writable. */
function echo(listener) {
  return (async () => {
    for await (const conn of listener) conn.readable.pipeTo(conn.writable).catch(() => {});
  })();
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

it('connect and listen: opened info, 2 MiB echoed intact, closed resolves', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ port: 8000 });
    assert.equal(listener.addr, { transport: 'tcp', hostname: '0.0.0.0', port: 8000, family: 'IPv4' });
    const serving = echo(listener);
    const sock = net.a.connect('10.0.0.2:8000');
    const info = await sock.opened;
    assert.is(info.remoteAddress, '10.0.0.2:8000');
    assert.match(info.localAddress, /^10\.0\.0\.1:\d+$/);
    const data = randomBytes(2 * 1024 * 1024, 3);
    const reading = readAll(sock.readable);
    const w = sock.writable.getWriter();
    for (let off = 0; off < data.length; off += 100_000) await w.write(data.subarray(off, off + 100_000));
    await w.close();
    const back = await withTimeout(reading, 20000, 'echo');
    assert.is(sha256(back), sha256(data));
    await withTimeout(sock.closed, 3000, 'closed');
    listener.close();
    await withTimeout(serving, 3000, 'iteration ends when the listener closes');
  } finally {
    net.dispose();
  }
});

it('strings are sent as UTF-8; { hostname, port } and IPv6 "[addr]:port" both work', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ hostname: '::', port: 8001 });
    const serving = echo(listener);
    const s1 = net.a.connect({ hostname: 'fd00::2', port: 8001 });
    const w1 = s1.writable.getWriter();
    await w1.write('héllo ');
    await w1.write(new TextEncoder().encode('wörld'));
    await w1.close();
    assert.is(text(await readAll(s1.readable)), 'héllo wörld');
    const s2 = net.a.connect('[fd00::2]:8001');
    assert.is((await s2.opened).remoteAddress, '[fd00::2]:8001');
    await s2.close();
    listener.close();
    await serving;
  } finally {
    net.dispose();
  }
});

it('a BYOB reader reads into its own buffer', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ port: 8002 });
    const accepted = listener.accept();
    const sock = net.a.connect('10.0.0.2:8002');
    const conn = await accepted;
    const w = conn.writable.getWriter();
    await w.write(new TextEncoder().encode('0123456789'));
    await w.close();
    const reader = sock.readable.getReader({ mode: 'byob' });
    let got = '';
    for (;;) {
      const { value, done } = await reader.read(new Uint8Array(4));
      if (done) break;
      assert.ok(value.byteLength <= 4);
      got += text(value);
    }
    assert.is(got, '0123456789');
    await sock.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('backpressure: an unread readable stops the writer (writer.ready pends) with bounded buffering', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ port: 8003 });
    const accepted = listener.accept();
    const sock = net.a.connect('10.0.0.2:8003');
    const conn = await accepted; // never read until later
    const w = sock.writable.getWriter();
    const chunk = randomBytes(64 * 1024, 9);
    let written = 0;
    const total = 8 * 1024 * 1024;
    const writing = (async () => {
      while (written < total) {
        await w.ready;
        w.write(chunk).catch(() => {});
        written += chunk.length;
      }
      await w.close();
    })();
    // with nobody reading, the writer must stall well short of the total
    const stalledAt = await stalled(() => written);
    assert.ok(stalledAt < total, 'the writer stalled while nobody reads');
    assert.ok(stalledAt <= 2 * 1024 * 1024, `stalled after ${stalledAt} bytes`);
    assert.ok(w.desiredSize <= 0, `desiredSize ${w.desiredSize}`);
    const all = await withTimeout(readAll(conn.readable), 30000, 'reading 8 MiB');
    await writing;
    assert.is(all.length, total);
    await conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('allowHalfOpen: false shuts our side at the peer\'s EOF; true keeps writing', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ port: 8004, allowHalfOpen: true });
    const served = (async () => {
      const c1 = await listener.accept();
      await c1.writable.close(); // EOF to the client at once
      const rest = text(await readAll(c1.readable)); // the client's side ends by itself
      const c2 = await listener.accept();
      await c2.writable.close();
      const late = text(await readAll(c2.readable));
      return [rest, late];
    })();
    // default: our writable is shut after the peer's EOF, so the server's read ends
    const a1 = net.a.connect('10.0.0.2:8004');
    assert.is((await readAll(a1.readable)).length, 0);
    await withTimeout(a1.closed, 3000, 'closed after both sides ended');
    // allowHalfOpen: true: still writable after EOF
    const a2 = net.a.connect('10.0.0.2:8004', { allowHalfOpen: true });
    assert.is((await readAll(a2.readable)).length, 0);
    const w = a2.writable.getWriter();
    await w.write('after eof');
    await w.close();
    assert.equal(await withTimeout(served, 5000, 'server'), ['', 'after eof']);
    await a2.closed;
    listener.close();
  } finally {
    net.dispose();
  }
});

it('close() ends both streams and resolves closed; the peer sees EOF', async () => {
  const net = await twoStacks();
  try {
    const listener = net.b.listen({ port: 8005 });
    const accepted = listener.accept();
    const sock = net.a.connect('10.0.0.2:8005');
    const conn = await accepted;
    await sock.opened;
    const pendingRead = sock.readable.getReader().read();
    await sock.close();
    assert.equal(await pendingRead, { value: undefined, done: true });
    assert.is((await readAll(conn.readable)).length, 0);
    await conn.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('errors: ECONNREFUSED rejects opened and closed; ECONNRESET errors the readable; EADDRINUSE throws', async () => {
  const net = await twoStacks();
  try {
    const s = net.a.connect('10.0.0.2:9');
    const e = await rejectsCode(s.opened, 'ECONNREFUSED', 'opened');
    assert.is(e.errno, 111, 'the streams API keeps SocketError with Linux errno');
    assert.is(e.address, '10.0.0.2');
    await rejectsCode(s.closed, 'ECONNREFUSED', 'closed');
    await rejectsCode(s.readable.getReader().read(), 'ECONNREFUSED', 'read');

    // the peer resets (a raw socket with SO_LINGER 0): the readable errors with ECONNRESET
    const raw = net.b.socket(AF_INET, SOCK_STREAM);
    raw.bind('0.0.0.0', 8006);
    raw.listen();
    const accepted = raw.accept();
    const c = net.a.connect('10.0.0.2:8006');
    await c.opened;
    const peer = await accepted;
    peer.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
    peer.close();
    await rejectsCode(readAll(c.readable), 'ECONNRESET', 'read after RST');
    await rejectsCode(c.closed, 'ECONNRESET', 'closed after RST');
    await rejectsCode(c.writable.getWriter().write('late'), 'ECONNRESET', 'write after RST');

    assert.throws(() => net.b.listen({ port: 8006 }), (err) => err instanceof SocketError && err.code === 'EADDRINUSE');
    raw.close();
  } finally {
    net.dispose();
  }
});

it('input errors: bad addresses, TLS, names without lookup (ENOTFOUND) and with one', async () => {
  const net = await twoStacks();
  try {
    assert.throws(() => net.a.connect('10.0.0.2'), TypeError);
    assert.throws(() => net.a.connect('10.0.0.2:70000'), TypeError);
    assert.throws(() => net.a.connect('10.0.0.2:80', { secureTransport: 'on' }), TypeError);
    assert.throws(() => net.a.listen({ hostname: 'example.test' }), TypeError);
    const s = net.a.connect('b.test:80');
    const err = await s.opened.catch((e) => e);
    assert.is(err.code, 'ENOTFOUND');
    const listener = net.b.listen({ port: 8007 });
    const accepted = listener.accept();
    const s2 = net.a.connect('b.test:8007', { lookup: async (name) => (name === 'b.test' ? '10.0.0.2' : '') });
    assert.is((await s2.opened).remoteAddress, '10.0.0.2:8007');
    await (await accepted).close();
    await s2.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('udp(): datagrams as streams, addressed and connected; EMSGSIZE errors the writable', async () => {
  const net = await twoStacks();
  try {
    const server = net.b.udp({ localPort: 5353 });
    assert.equal(await server.opened, { localAddress: '0.0.0.0', localPort: 5353 });
    const client = net.a.udp({ remoteAddress: '10.0.0.2', remotePort: 5353 });
    const info = await client.opened;
    assert.is(info.remoteAddress, '10.0.0.2');
    const cw = client.writable.getWriter();
    await cw.write({ data: new TextEncoder().encode('question') });
    const sr = server.readable.getReader();
    const { value: msg } = await withTimeout(sr.read(), 3000, 'server read');
    assert.equal({ text: text(msg.data), remoteAddress: msg.remoteAddress, remotePort: msg.remotePort },
      { text: 'question', remoteAddress: '10.0.0.1', remotePort: info.localPort });
    const sw = server.writable.getWriter();
    await sw.write({ data: 'answer', remoteAddress: msg.remoteAddress, remotePort: msg.remotePort });
    const { value: reply } = await withTimeout(client.readable.getReader().read(), 3000, 'client read');
    assert.is(text(reply.data), 'answer');
    // unconnected and no address: EDESTADDRREQ; oversize: EMSGSIZE, and the writable errors
    await rejectsCode(sw.write({ data: 'x' }), 'EDESTADDRREQ', 'write without an address');
    // that errors the writable only: the socket still receives
    await cw.write({ data: 'still there' });
    assert.is(text((await withTimeout(sr.read(), 3000, 'server read')).value.data), 'still there');
    const other = net.a.udp();
    const ow = other.writable.getWriter();
    await rejectsCode(ow.write({ data: new Uint8Array(65508), remoteAddress: '10.0.0.2', remotePort: 5353 }), 'EMSGSIZE', 'oversize');
    await rejectsCode(other.closed, 'EMSGSIZE', 'closed');
    await client.close();
    await server.close();
    assert.throws(() => net.a.udp({ remoteAddress: '10.0.0.2' }), TypeError);
  } finally {
    net.dispose();
  }
});

it('an AbortSignal closes a connection and a listener', async () => {
  const net = await twoStacks();
  try {
    const ac = new AbortController();
    const listener = net.b.listen({ port: 8008, signal: ac.signal });
    const accepted = listener.accept();
    const conn = net.a.connect('10.0.0.2:8008', { signal: ac.signal });
    await conn.opened;
    await accepted;
    ac.abort(new Error('stop'));
    const err = await conn.closed.catch((e) => e);
    assert.is(err.message, 'stop');
    await rejectsCode(listener.accept(), 'EBADF', 'accept after abort');
  } finally {
    net.dispose();
  }
});

test.run();
