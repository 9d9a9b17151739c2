// nat mode through a real relay: each client's traffic ends in a gateway stack of its
// own inside the relay, which opens real sockets only for flows the test's policy allows.
// Every server here is on the relay host's loopback (the gateway, 10.0.2.2 and
// fd00:2::2, stands for 127.0.0.1 and ::1); denials aim only at this host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { it } from './helpers.mjs';
import { startRelay, relayStack, loopbackServer, loopbackHttp, fetchText, until, lwip, sleep, blobServer } from './relay-util.mjs';

const { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, SHUT_WR, SOL_SOCKET, SO_LINGER, SocketError } = lwip;
const CLIENT = { ip: 'dhcp', batch: true };
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** A loopback TCP server running handler(socket) for each connection; counts connections. */
async function server(handler, host = '127.0.0.1') {
  const conns = [];
  const srv = createServer({ allowHalfOpen: true }, (s) => {
    conns.push(s);
    s.on('error', () => {});
    handler(s);
  });
  await new Promise((r) => srv.listen(0, host, r));
  return { port: srv.address().port, conns, close: () => new Promise((r) => { for (const c of conns) c.destroy(); srv.close(r); }) };
}

/** Reads s until end of stream; resolves with the bytes. */
async function readAll(s, ms = 30_000) {
  const parts = [];
  const end = Date.now() + ms;
  for (let i = 0; i < 1_000_000; i++) {
    const d = await s.recv(1 << 20, { timeout: Math.max(1, end - Date.now()) });
    if (d.length === 0) break;
    parts.push(d);
  }
  return Buffer.concat(parts);
}

const haveIPv6Loopback = () => Object.values(networkInterfaces()).flat().some((a) => a && a.address === '::1');

it('nat: a stack leases 10.0.2.15 by DHCP and an fd00:2::/64 address by SLAAC from its gateway', async () => {
  const relay = await startRelay({});
  const { stack, nif } = await relayStack(relay, CLIENT);
  try {
    assert.is(nif.dhcp.address, '10.0.2.15');
    assert.is(nif.dhcp.gateway, '10.0.2.2');
    assert.equal(nif.dhcp.dns, ['10.0.2.2']);
    await until(() => nif.ipv6.some((a) => a.startsWith('fd00:2::')), 5000, 'a SLAAC address');
    assert.is(relay.stats().sessions[0].framing, 'batch');
  } finally {
    stack.dispose();
    await relay.close();
  }
}, 20_000);

it('nat: half-close, the client first: it writes, shuts its side, and still gets the whole reply and the FIN', async () => {
  // The server reads to end of stream, then answers and closes (as many protocols do).
  const srv = await server((s) => {
    const got = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => s.end(`you sent ${Buffer.concat(got).length} bytes`));
  });
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    for (let round = 0; round < 5; round++) {
      const s = stack.socket(AF_INET, SOCK_STREAM);
      await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
      await s.send('x'.repeat(1000 + round));
      s.shutdown(SHUT_WR);
      const reply = await readAll(s, 5000);
      assert.is(reply.toString(), `you sent ${1000 + round} bytes`, `round ${round}`);
      s.close();
    }
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 30_000);

it('nat: half-close, the client first, and a large reply read slowly: every byte, then the FIN, no reset', async () => {
  // The reply outgrows what the gateway can queue towards a client that reads slowly,
  // so the last of it still waits for the client when the real FIN arrives; both
  // directions are then done on the real socket, and its close must not be taken for
  // a reset.
  const reply = randomBytes(4 * 1024 * 1024);
  const srv = await server((s) => s.on('data', () => {}).on('end', () => s.end(reply)));
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`], framesPerSecond: Infinity, bytesPerSecond: Infinity });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const s = stack.socket(AF_INET, SOCK_STREAM);
    await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
    await s.send('send me everything');
    s.shutdown(SHUT_WR);
    await sleep(500); // the server answers in full and closes while nobody reads
    const parts = [];
    for (let i = 0; i < 10_000; i++) {
      const d = await s.recv(32 * 1024, { timeout: 10_000 });
      if (d.length === 0) break;
      parts.push(d);
      if (i % 4 === 0) await sleep(2);
    }
    const got = Buffer.concat(parts);
    assert.is(got.length, reply.length);
    assert.is(sha(got), sha(reply));
    s.close();
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 60_000);

it('nat: half-close, the server first: its FIN arrives, and the client can still send after it', async () => {
  const received = [];
  const srv = await server((s) => {
    s.end('hello, then I stop talking');
    const got = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => received.push(Buffer.concat(got).toString()));
  });
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const s = stack.socket(AF_INET, SOCK_STREAM);
    await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
    assert.is((await readAll(s, 5000)).toString(), 'hello, then I stop talking');
    await s.send('still here');
    s.shutdown(SHUT_WR);
    await until(() => received.length === 1, 5000, 'the server to see the client\'s data and FIN');
    assert.is(received[0], 'still here');
    s.close();
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 20_000);

it('nat: 64 MiB each way through the relay arrive intact (SHA-256)', async () => {
  const size = 64 * 1024 * 1024;
  const blob = randomBytes(size);
  const srv = await blobServer(blob); // download: the blob; upload: hashed as it arrives
  const uploads = srv.got;
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`], framesPerSecond: Infinity, bytesPerSecond: Infinity });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const s = stack.socket(AF_INET, SOCK_STREAM);
    await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
    const t0 = Date.now();
    const [down] = await Promise.all([
      readAll(s, 120_000),
      (async () => {
        for (let off = 0; off < size; off += 1 << 20) await s.send(blob.subarray(off, off + (1 << 20)));
        s.shutdown(SHUT_WR);
      })(),
    ]);
    const secs = (Date.now() - t0) / 1000;
    assert.is(down.length, size);
    assert.is(sha(down), sha(blob), 'download intact');
    await until(() => uploads.length === 1, 30_000, 'the upload to finish');
    assert.is(uploads[0].n, size);
    assert.is(uploads[0].sha, sha(blob), 'upload intact');
    console.log(`    64 MiB each way at once in ${secs.toFixed(1)} s`);
    s.close();
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 180_000);

it('nat: resets cross both ways: the client\'s RST reaches the server, the server\'s reaches the client', async () => {
  const errors = [];
  const got = [];
  const srv = await server((s) => {
    s.on('error', (e) => errors.push(e.code));
    s.on('data', (d) => {
      got.push(d.toString());
      if (d.toString() === 'reset me') s.resetAndDestroy();
    });
  });
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    // client -> server
    const a = stack.socket(AF_INET, SOCK_STREAM);
    await a.connect('10.0.2.2', srv.port, { timeout: 5000 });
    await a.send('hi');
    // (A connection reset within a moment of the server's accept reads as data and EOF
    // on Linux; once the server has read, the reset is ECONNRESET.)
    await until(() => got.includes('hi'), 3000, 'the server to read');
    a.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
    a.close();
    await until(() => errors.includes('ECONNRESET'), 3000, 'the server to see the reset');
    // server -> client
    const b = stack.socket(AF_INET, SOCK_STREAM);
    await b.connect('10.0.2.2', srv.port, { timeout: 5000 });
    await b.send('reset me');
    const err = await b.recv(100, { timeout: 5000 }).catch((e) => e);
    assert.instance(err, SocketError);
    assert.is(err.code, 'ECONNRESET');
    b.close();
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 20_000);

it('nat: UDP request and response, and a closed UDP port answers ECONNREFUSED', async () => {
  const udp = createSocket('udp4');
  udp.on('message', (msg, r) => udp.send(Buffer.concat([Buffer.from('echo: '), msg]), r.port, r.address));
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const port = udp.address().port;
  const gone = createSocket('udp4');
  await new Promise((r) => gone.bind(0, '127.0.0.1', r));
  const closedPort = gone.address().port;
  gone.close();
  const relay = await startRelay({ allow: [`udp/127.0.0.1:${port}`, `udp/127.0.0.1:${closedPort}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const s = stack.socket(AF_INET, SOCK_DGRAM);
    s.connect('10.0.2.2', port);
    await s.send('ping');
    const got = await s.recvfrom(2048, { timeout: 3000 });
    assert.is(Buffer.from(got.data).toString(), 'echo: ping');
    assert.is(got.address, '10.0.2.2');
    assert.is(relay.stats().sessions[0].udpFlows, 1);
    const c = stack.socket(AF_INET, SOCK_DGRAM);
    c.connect('10.0.2.2', closedPort);
    await c.send('anyone?');
    const err = await c.recv(100, { timeout: 3000 }).catch((e) => e);
    assert.instance(err, SocketError);
    assert.is(err.code, 'ECONNREFUSED');
    s.close();
    c.close();
  } finally {
    stack.dispose();
    await relay.close();
    udp.close();
  }
}, 20_000);

it('nat: DNS through the gateway, and a rule naming a host allows what the client resolved for it', async () => {
  const srv = await loopbackServer('reached by name\n');
  // A split-horizon name for the relay host itself: the gateway's address.
  const names = { 'db.test': ['10.0.2.2'] };
  const relay = await startRelay({
    nat: { lookup: async (name, family) => {
      const all = names[name.toLowerCase()];
      if (!all) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      return family === 4 ? all : [];
    } },
    allow: [`tcp/db.test:${srv.port}`],
  });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const r = await stack.resolve('db.test', { family: 4, timeout: 3000 });
    assert.equal(r, { address: '10.0.2.2', family: 4 });
    const nx = await stack.resolve('nope.test', { family: 4, timeout: 3000 }).catch((e) => e);
    assert.is(nx.code, 'ENOTFOUND');
    // The rule names db.test: a connection to the address the client was given for it is allowed.
    assert.is(await fetchText(stack, r.address, srv.port), 'reached by name\n');
    // Another port of the same address is not what the rule names: denied (loopback).
    const other = await fetchText(stack, r.address, srv.port === 1 ? 2 : srv.port - 1, '', { timeout: 3000 }).catch((e) => e);
    assert.is(other.code, 'EHOSTUNREACH');
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 20_000);

(haveIPv6Loopback() ? it : (n) => test.skip(n))('nat: IPv6 through the gateway (fd00:2::2 stands for ::1), under the same policy', async () => {
  const srv = await server((s) => s.end('over IPv6\n'), '::1');
  const relay = await startRelay({ allow: [`tcp/[::1]:${srv.port}`] });
  const { stack, nif } = await relayStack(relay, CLIENT);
  try {
    await until(() => nif.ipv6.some((a) => a.startsWith('fd00:2::')), 5000, 'a SLAAC address');
    assert.is(await fetchText(stack, 'fd00:2::2', srv.port), 'over IPv6\n');
    assert.is(srv.conns.length, 1);
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 20_000);

/** The relay host's own non-loopback addresses (at most two of each family): denied by default. */
function ownAddresses() {
  return Object.values(networkInterfaces()).flat().filter((a) => a && !a.internal && !a.address.startsWith('fe80'))
    .map((a) => a.address).slice(0, 4);
}

it('nat: loopback in every encoding and the host\'s own addresses are refused at once, with nothing reaching the server', async () => {
  const srv = await server((s) => s.end('should not see this\n'));
  const relay = await startRelay({ deny: ['any'] });
  const { stack, nif } = await relayStack(relay, CLIENT);
  try {
    await until(() => nif.ipv6.some((a) => a.startsWith('fd00:2::')), 5000, 'a SLAAC address');
    const p = srv.port;
    const targets = [
      ['10.0.2.2', 'EHOSTUNREACH'],                  // the gateway: the host's 127.0.0.1
      ['fd00:2::2', 'EACCES'],                        // the gateway's IPv6: ::1
      // (IPv4-compatible ::127.0.0.1 is refused too, but lwIP picks no source address
      // for it, so a stack never sends it: Policy's own test covers it.)
      ['2002:7f00:1::1', 'EACCES'],                   // 6to4 for 127.0.0.1
      ['64:ff9b::7f00:1', 'EACCES'],                  // NAT64 for 127.0.0.1
      ['2001:0:7f00:1::1', 'EACCES'],                 // Teredo server 127.0.0.1
      ...ownAddresses().map((a) => [a, a.includes(':') ? 'EACCES' : 'EHOSTUNREACH']),
    ];
    for (const [address, code] of targets) {
      const t0 = Date.now();
      const err = await fetchText(stack, address, p, '', { timeout: 5000 }).catch((e) => e);
      assert.instance(err, Error, `${address} was reached`);
      assert.is(err.code, code, `${address}: ${err.code}`);
      assert.ok(Date.now() - t0 < 1000, `${address} refused after ${Date.now() - t0} ms`);
    }
    assert.is(srv.conns.length, 0, 'nothing reached the server');
    assert.is(relay.stats().sessions[0].dropped.denied, targets.length);
    assert.is(relay.lines.filter((l) => /client \d+: denied/.test(l)).length, 1, 'logged once');
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 40_000);

it('nat: a SYN in IPv4 fragments is reassembled and judged as a connection: denied, with nothing reaching the server', async () => {
  const srv = await server((s) => s.end('should not see this\n'));
  const relay = await startRelay({ allow: ['tcp/127.0.0.1'], deny: [`tcp/127.0.0.1:${srv.port}`] });
  const { rawClient } = await import('./relay-util.mjs');
  const { ether, ipv4Packet, ip4, parseMac, fixChecksums } = await import('./frames.mjs');
  const c = rawClient(relay.url);
  await c.open();
  try {
    const me = parseMac('02:00:00:00:00:15');
    const ipHdr = (payload, extra) => ipv4Packet({ src: ip4('10.0.2.15'), dst: ip4('10.0.2.2'), proto: 6, payload, id: 7, ...extra });
    // The gateway's MAC, from its answer to ARP.
    c.send(ether(parseMac('ff:ff:ff:ff:ff:ff'), me, 0x0806,
      Uint8Array.of(0, 1, 8, 0, 6, 4, 0, 1, ...me, 10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2)));
    const gw = (await c.next((f) => f[12] === 8 && f[13] === 6, 3000)).subarray(6, 12);
    // A lone later fragment shaped like a SYN to the denied port: nothing to reassemble,
    // nothing judged, nothing reached (passt used to read it as a TCP header).
    const syn = new Uint8Array(20 + 32);
    syn[0] = 0x9c; syn[1] = 0x40; // source port 40000
    syn[2] = srv.port >> 8; syn[3] = srv.port & 0xff;
    syn[7] = 1; // seq 1
    syn[12] = 0x50; syn[13] = 0x02; // header length 20, SYN
    syn[14] = 0xff; syn[15] = 0xff;
    const whole = ether(gw, me, 0x0800, ipHdr(syn));
    fixChecksums(whole);
    const seg = whole.subarray(34);
    c.send(ether(gw, me, 0x0800, ipHdr(seg, { id: 8, offset: 16 })));
    // The same SYN (with data) in two fragments, the later one first: reassembled and
    // judged as one connection to the denied port.
    c.send(ether(gw, me, 0x0800, ipHdr(seg.subarray(24), { offset: 24 })));
    c.send(ether(gw, me, 0x0800, ipHdr(seg.subarray(0, 24), { mf: true })));
    const icmp = await c.next((f) => f[12] === 8 && f[13] === 0 && f[23] === 1, 3000);
    assert.is(icmp[34], 3, 'destination unreachable');
    assert.is(icmp[35], 13, 'administratively prohibited');
    await sleep(200);
    assert.is(srv.conns.length, 0, 'nothing reached the server');
    assert.is(relay.stats().sessions[0].dropped.denied, 1, 'judged once, as a connection');
  } finally {
    c.close();
    await relay.close();
    await srv.close();
  }
}, 20_000);

it('nat: limits: connections over maxConnections are refused with RST (ECONNREFUSED), counted; the others carry on', async () => {
  const srv = await server((s) => s.on('end', () => s.end()));
  const relay = await startRelay({ allow: [`tcp/127.0.0.1:${srv.port}`], maxConnections: 4 });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const open = [];
    for (let i = 0; i < 4; i++) {
      const s = stack.socket(AF_INET, SOCK_STREAM);
      await s.connect('10.0.2.2', srv.port, { timeout: 5000 });
      open.push(s);
    }
    const s = stack.socket(AF_INET, SOCK_STREAM);
    const err = await s.connect('10.0.2.2', srv.port, { timeout: 5000 }).catch((e) => e);
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(relay.stats().sessions[0].dropped.connections, 1);
    assert.is(relay.stats().sessions[0].connections, 4);
    open[0].close();
    await until(() => relay.stats().sessions[0].connections === 3, 5000, 'a slot freed');
    const again = stack.socket(AF_INET, SOCK_STREAM);
    await again.connect('10.0.2.2', srv.port, { timeout: 5000 });
    for (const o of [...open.slice(1), again, s]) o.close();
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 30_000);

it('nat: a closed port is ECONNREFUSED (the real RST), not a denial; a second client is unaffected', async () => {
  const closed = await loopbackServer('gone\n');
  await closed.close();
  const other = await loopbackHttp('other client\n');
  const relay = await startRelay({ allow: ['tcp/127.0.0.1'] });
  const alice = await relayStack(relay, CLIENT);
  const bob = await relayStack(relay, CLIENT);
  try {
    const err = await fetchText(alice.stack, '10.0.2.2', closed.port, '', { timeout: 5000 }).catch((e) => e);
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(relay.stats().sessions[0].dropped.denied, 0);
    const reply = await fetchText(bob.stack, '10.0.2.2', other.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /other client/);
  } finally {
    alice.stack.dispose();
    bob.stack.dispose();
    await relay.close();
    await other.close();
  }
}, 20_000);

test.run();
