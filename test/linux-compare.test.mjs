// The same scenario twice: once against the Linux kernel (Node's net and dgram on
// 127.0.0.1), once between two of our stacks; the observable outcome (errno names,
// what each side reads) must be the same. Loopback only.
import net from 'node:net';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import {
  AF_INET, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_LINGER, IPPROTO_IP, IP_TTL,
  SHUT_WR, ECONNREFUSED,
} from '../dist/index.js';
import {
  it, test, assert, twoStacks, connectPair, sleep, readToEof, text, waitUntil, withTimeout,
} from './helpers.mjs';

const LO = '127.0.0.1';

/** Resolves when emitter emits `ok`, rejects on 'error' (bounded). */
function once(emitter, ok, ms = 3000) {
  return withTimeout(new Promise((resolve, reject) => {
    emitter.once(ok, resolve);
    emitter.once('error', reject);
  }), ms, `waiting for ${ok}`);
}

/** The code of the error fn's promise rejects with, or 'ok'. */
async function codeOf(p) {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err.code ?? String(err);
  }
}

/** A port nothing listens on: bind, read it, close. */
async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, LO, r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

it('connect to a closed port: ECONNREFUSED (errno 111) from both', async () => {
  const port = await freePort();
  const c = net.connect(port, LO);
  const err = await once(c, 'connect').then(() => null, (e) => e);
  const kernel = { code: err.code, errno: -err.errno, syscall: err.syscall };

  const n = await twoStacks();
  try {
    const s = n.a.socket(AF_INET, SOCK_STREAM);
    let ours;
    try {
      await s.connect('10.0.0.2', port);
    } catch (e) {
      ours = { code: e.code, errno: e.errno, syscall: e.syscall };
    }
    assert.equal(ours, kernel);
    assert.equal(kernel, { code: 'ECONNREFUSED', errno: ECONNREFUSED, syscall: 'connect' });
  } finally {
    n.dispose();
  }
});

it('bind to a port in use: EADDRINUSE from both, TCP and UDP', async () => {
  const a = net.createServer();
  await new Promise((r) => a.listen(0, LO, r));
  const port = a.address().port;
  const b = net.createServer();
  const kTcp = await codeOf(new Promise((res, rej) => {
    b.once('error', rej);
    b.listen(port, LO, res);
  }));
  a.close();
  const u1 = dgram.createSocket('udp4');
  await new Promise((r) => u1.bind(0, LO, r));
  const u2 = dgram.createSocket('udp4');
  const kUdp = await codeOf(new Promise((res, rej) => {
    u2.once('error', rej);
    u2.bind(u1.address().port, LO, res);
  }));
  u1.close();
  try {
    u2.close();
  } catch {
    // never bound
  }

  const n = await twoStacks();
  try {
    const t1 = n.a.socket(AF_INET, SOCK_STREAM);
    t1.bind('0.0.0.0', 7000);
    t1.listen();
    const t2 = n.a.socket(AF_INET, SOCK_STREAM);
    t2.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1); // Node's servers always set it; it does not help here
    const oTcp = await codeOf((async () => t2.bind('0.0.0.0', 7000))());
    const v1 = n.a.socket(AF_INET, SOCK_DGRAM);
    v1.bind('0.0.0.0', 7001);
    const v2 = n.a.socket(AF_INET, SOCK_DGRAM);
    const oUdp = await codeOf((async () => v2.bind('0.0.0.0', 7001))());
    assert.equal([oTcp, oUdp], [kTcp, kUdp]);
    assert.equal([kTcp, kUdp], ['EADDRINUSE', 'EADDRINUSE']);
  } finally {
    n.dispose();
  }
});

it('port 0 picks a free ephemeral port: non-zero, distinct, inside each system\'s range', async () => {
  const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const kernel = [];
  const servers = [];
  for (let i = 0; i < 3; i++) {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, LO, r));
    kernel.push(s.address().port);
    servers.push(s);
  }
  for (const s of servers) s.close();
  const n = await twoStacks();
  try {
    const ours = [];
    for (let i = 0; i < 3; i++) {
      const s = n.a.socket(AF_INET, SOCK_STREAM);
      s.bind('0.0.0.0', 0);
      ours.push(s.getsockname().port);
    }
    const shape = (ports, min, max) => ({
      distinct: new Set(ports).size === ports.length, inRange: ports.every((p) => p >= min && p <= max),
    });
    // the ranges differ (lwIP 49152-65535, Linux's ip_local_port_range), as the README says
    assert.equal(shape(ours, 49152, 65535), shape(kernel, lo, hi));
    assert.equal(shape(kernel, lo, hi), { distinct: true, inRange: true });
  } finally {
    n.dispose();
  }
});

it('the peer shuts down its side (SHUT_WR): we read end of stream and can still send; it reads our reply', async () => {
  // kernel: the client ends, the (half-open) server sees 'end' and replies
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    const got = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => s.end(`got ${Buffer.concat(got)}; eof`));
  });
  await new Promise((r) => srv.listen(0, LO, r));
  const c = net.connect({ port: srv.address().port, host: LO, allowHalfOpen: true });
  await once(c, 'connect');
  const chunks = [];
  c.on('data', (d) => chunks.push(d));
  c.end('hello');
  await once(c, 'end');
  const kernel = Buffer.concat(chunks).toString();
  c.destroy();
  srv.close();

  const n = await twoStacks();
  try {
    const [cl, sv] = await connectPair(n.a, n.b);
    await cl.send('hello');
    cl.shutdown(SHUT_WR);
    const got = text(await readToEof(sv)); // end of stream: recv returned 0
    await sv.send(`got ${got}; eof`); // still allowed after the peer's FIN
    sv.shutdown(SHUT_WR);
    const ours = text(await readToEof(cl));
    assert.is(ours, kernel);
    assert.is(kernel, 'got hello; eof');
  } finally {
    n.dispose();
  }
});

it('after the peer\'s RST: the first write fails with ECONNRESET (a read does too)', async () => {
  // kernel: stop reading (onread + pause really stops the handle), let the RST arrive, write
  const srv = net.createServer((s) => setTimeout(() => s.resetAndDestroy(), 30));
  await new Promise((r) => srv.listen(0, LO, r));
  const c = net.connect({ port: srv.address().port, host: LO, onread: { buffer: Buffer.alloc(1024), callback: () => true } });
  c.on('error', () => {});
  await once(c, 'connect');
  c.pause();
  await sleep(150);
  const kWrite = await new Promise((r) => c.write('x', (err) => r(err ? err.code : 'ok')));
  c.destroy();
  const c2 = net.connect(srv.address().port, LO);
  const kRead = await once(c2, 'data', 3000).then(() => 'data', (e) => e.code);
  srv.close();

  const n = await twoStacks();
  try {
    const reset = async () => {
      const [cl, sv] = await connectPair(n.a, n.b);
      sv.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
      sv.close();
      await waitUntil(() => cl.events !== 4 /* POLLOUT only */, 2000);
      return cl;
    };
    const c1 = await reset();
    const oWrite = await codeOf((async () => c1.sendSync('x'))());
    // Linux's tcp_sendmsg reports the pending error once, then EPIPE
    const oWrite2 = await codeOf((async () => c1.sendSync('x'))());
    const cr = await reset();
    const oRead = await codeOf(cr.recv(10, { timeout: 2000 }));
    assert.equal([oWrite, oRead], [kWrite, kRead]);
    assert.equal([kWrite, kRead], ['ECONNRESET', 'ECONNRESET']);
    assert.is(oWrite2, 'EPIPE');
  } finally {
    n.dispose();
  }
});

it('a server restarts on its port while old connections sit in TIME_WAIT (SO_REUSEADDR, as Node sets)', async () => {
  const port = await freePort();
  const start = async () => {
    const s = net.createServer((sock) => sock.end());
    await new Promise((res, rej) => {
      s.once('error', rej);
      s.listen(port, LO, res);
    });
    return s;
  };
  const s1 = await start();
  const c = net.connect(port, LO);
  await once(c, 'end');
  c.destroy();
  await new Promise((r) => s1.close(r));
  const kernel = await codeOf(start().then((s) => s.close()));

  const n = await twoStacks();
  try {
    const [cl, sv, l] = await connectPair(n.a, n.b, { port: 7100 });
    sv.close(); // the server closes first: its end holds 7100 in TIME_WAIT
    await readToEof(cl);
    cl.close();
    l.close();
    await waitUntil(() => n.b.sockstat().tcp.tw === 1, 2000);
    const l2 = n.b.socket(AF_INET, SOCK_STREAM);
    l2.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    const ours = await codeOf((async () => {
      l2.bind('0.0.0.0', 7100);
      l2.listen();
    })());
    const l3 = n.b.socket(AF_INET, SOCK_STREAM);
    const without = await codeOf((async () => l3.bind('0.0.0.0', 7100))());
    assert.is(ours, kernel);
    assert.is(kernel, 'ok');
    assert.is(without, 'EADDRINUSE', 'without SO_REUSEADDR the TIME_WAIT holds it, as on Linux');
  } finally {
    n.dispose();
  }
});

it('a connected UDP socket learns of ICMP port unreachable: ECONNREFUSED on a later call', async () => {
  const port = await freePort();
  const u = dgram.createSocket('udp4');
  const kErr = new Promise((r) => u.once('error', (e) => r(e.code)));
  await new Promise((r) => u.connect(port, LO, r));
  const kSend = await new Promise((r) => u.send('x', (err) => r(err ? err.code : 'ok')));
  const kernel = [kSend, await withTimeout(kErr, 3000, 'kernel ICMP error')];
  u.close();

  const n = await twoStacks();
  try {
    const s = n.a.socket(AF_INET, SOCK_DGRAM);
    await s.connect('10.0.0.2', port);
    const oSend = await codeOf((async () => s.sendSync('x'))());
    const oNext = await codeOf(s.recvfrom(10, { timeout: 2000 }));
    assert.equal([oSend, oNext], kernel);
    assert.equal(kernel, ['ok', 'ECONNREFUSED']);
  } finally {
    n.dispose();
  }
});

it('UDP SO_RCVBUF/SO_SNDBUF read back doubled; a TTL of 256 is EINVAL', async () => {
  const d = dgram.createSocket('udp4');
  await new Promise((r) => d.bind(0, LO, r));
  d.setRecvBufferSize(4096);
  d.setSendBufferSize(6000);
  let kTtl;
  try {
    d.setTTL(256);
    kTtl = 'ok';
  } catch (err) {
    kTtl = err.code;
  }
  const kernel = [d.getRecvBufferSize(), d.getSendBufferSize(), kTtl];
  d.close();

  const n = await twoStacks();
  try {
    const u = n.a.socket(AF_INET, SOCK_DGRAM);
    u.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    u.setsockopt(SOL_SOCKET, SO_SNDBUF, 6000);
    const oTtl = await codeOf((async () => u.setsockopt(IPPROTO_IP, IP_TTL, 256))());
    const ours = [u.getsockopt(SOL_SOCKET, SO_RCVBUF), u.getsockopt(SOL_SOCKET, SO_SNDBUF), oTtl];
    assert.equal(ours, kernel);
    assert.equal(kernel, [8192, 12000, 'EINVAL']);
  } finally {
    n.dispose();
  }
});

test.run();
