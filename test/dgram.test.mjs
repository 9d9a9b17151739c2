// stack.dgram (lwip-wasm/node): node:dgram's Socket over two stacks joined by an
// in-memory pair: bind, send, 'message', connect, membership, broadcast and errors.
import { once } from 'node:events';
import { Stack, IPPROTO_IP, IP_TTL, SOL_SOCKET, SO_RCVBUF } from '../dist/node.js';
import { it, test, assert, twoStacks as twoPlainStacks, withTimeout, sleep } from './helpers.mjs';

/** Two stacks of lwip-wasm/node's Stack, which has stack.net and stack.dgram. */
const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });

const event = (emitter, name, ms = 5000) => withTimeout(once(emitter, name), ms, `waiting for '${name}'`);
const fields = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port });

/** Collects 'message' events of a socket. */
function inbox(sock) {
  const list = [];
  sock.on('message', (msg, rinfo) => list.push({ text: String(msg), ...rinfo }));
  return list;
}

/** Sends and resolves with the callback's (err, bytes). */
const send = (sock, ...args) => new Promise((resolve) => sock.send(...args, (err, n) => resolve({ err, n })));

async function bound(sock, ...args) {
  sock.bind(...args);
  await event(sock, 'listening');
  return sock;
}

it("bind, send and 'message' with rinfo, between two stacks (udp4 and udp6)", async () => {
  const net = await twoStacks();
  try {
    const r = await bound(net.b.dgram.createSocket('udp4'), 5000);
    assert.equal(r.address(), { address: '0.0.0.0', family: 'IPv4', port: 5000 });
    const got = inbox(r);
    const s = net.a.dgram.createSocket('udp4');
    // not bound yet: the first send binds it to an ephemeral port, as Node does
    const { err, n } = await send(s, 'hello', 5000, '10.0.0.2');
    assert.is(err, null);
    assert.is(n, 5);
    const sport = s.address().port;
    assert.ok(sport >= 49152);
    // offset/length and a list of buffers
    await send(s, Buffer.from('xxabcxx'), 2, 3, 5000, '10.0.0.2');
    await send(s, [Buffer.from('one '), 'two ', new Uint8Array([51])], 5000, '10.0.0.2');
    await withTimeout((async () => {
      while (got.length < 3) await sleep(5);
    })(), 3000, 'three datagrams');
    assert.equal(got, [
      { text: 'hello', address: '10.0.0.1', family: 'IPv4', port: sport, size: 5 },
      { text: 'abc', address: '10.0.0.1', family: 'IPv4', port: sport, size: 3 },
      { text: 'one two 3', address: '10.0.0.1', family: 'IPv4', port: sport, size: 9 },
    ]);

    const r6 = await bound(net.b.dgram.createSocket({ type: 'udp6' }), { port: 5001, address: 'fd00::2' });
    const s6 = net.a.dgram.createSocket('udp6');
    const m = event(r6, 'message');
    await send(s6, 'six', 5001, 'fd00::2');
    const [msg, rinfo] = await m;
    assert.is(String(msg), 'six');
    assert.equal({ address: rinfo.address, family: rinfo.family }, { address: 'fd00::1', family: 'IPv6' });
    for (const x of [r, s, r6, s6]) x.close();
  } finally {
    net.dispose();
  }
});

it('connect: sends without an address, only the peer is heard; disconnect forgets it', async () => {
  const net = await twoStacks();
  try {
    const r = await bound(net.b.dgram.createSocket('udp4'), 5002);
    const other = await bound(net.b.dgram.createSocket('udp4'), 5003);
    // bound to a port of its own: disconnect keeps it (an ephemeral one would go, as on Linux;
    // test/conformance/dgram.mjs compares that with Node)
    const c = await bound(net.a.dgram.createSocket('udp4'), 5009);
    c.connect(5002, '10.0.0.2');
    await event(c, 'connect');
    assert.equal(c.remoteAddress(), { address: '10.0.0.2', family: 'IPv4', port: 5002 });
    const got = inbox(c);
    const m = event(r, 'message');
    const { err } = await send(c, 'ping');
    assert.is(err, null);
    const [msg, rinfo] = await m;
    assert.is(String(msg), 'ping');
    // the connected peer is heard, another sender on the same host is not
    r.send('pong', rinfo.port, rinfo.address);
    other.send('noise', rinfo.port, rinfo.address);
    await sleep(100);
    assert.equal(got.map((g) => g.text), ['pong']);
    assert.throws(() => c.send('x', 0, 1, 5003, '10.0.0.2'), (e) => e.code === 'ERR_SOCKET_DGRAM_IS_CONNECTED');
    const port = c.address().port;
    c.disconnect();
    assert.throws(() => c.remoteAddress(), (e) => e.code === 'ERR_SOCKET_DGRAM_NOT_CONNECTED');
    assert.is(c.address().port, port, 'disconnect keeps the local port');
    other.send('now heard', port, '10.0.0.1');
    await withTimeout((async () => {
      while (got.length < 2) await sleep(5);
    })(), 3000, 'datagram after disconnect');
    assert.is(got[1].text, 'now heard');
    for (const x of [r, other, c]) x.close();
  } finally {
    net.dispose();
  }
});

it('addMembership receives a group; dropMembership stops it; a non-group is EINVAL', async () => {
  const net = await twoStacks();
  try {
    const r = await bound(net.b.dgram.createSocket('udp4'), 5004);
    const got = inbox(r);
    const s = net.a.dgram.createSocket('udp4');
    // not a member yet: the stack drops the group's datagrams
    await send(s, 'before', 5004, '239.1.2.3');
    await sleep(100);
    assert.equal(got, []);
    r.addMembership('239.1.2.3');
    await send(s, 'member', 5004, '239.1.2.3');
    await withTimeout((async () => {
      while (got.length < 1) await sleep(5);
    })(), 3000, 'group datagram');
    assert.is(got[0].text, 'member');
    // disconnect() replaces the socket underneath: the membership comes along
    r.connect(6000, '10.0.0.1');
    await event(r, 'connect');
    r.disconnect();
    await send(s, 'still member', 5004, '239.1.2.3');
    await withTimeout((async () => {
      while (got.length < 2) await sleep(5);
    })(), 3000, 'group datagram after disconnect');
    assert.is(got[1].text, 'still member');
    r.dropMembership('239.1.2.3');
    await send(s, 'after', 5004, '239.1.2.3');
    await sleep(100);
    assert.equal(got.map((g) => g.text), ['member', 'still member']);
    assert.throws(() => r.addMembership('10.0.0.7'), (e) => e.code === 'EINVAL' && e.errno === -22 && e.syscall === 'addMembership');
    assert.throws(() => r.dropMembership('239.9.9.9'), (e) => e.code === 'EADDRNOTAVAIL', 'dropping a group never joined');

    // IPv6: a site-local group
    const r6 = await bound(net.b.dgram.createSocket('udp6'), 5005);
    r6.addMembership('ff05::1:3');
    const m6 = event(r6, 'message');
    const s6 = net.a.dgram.createSocket('udp6');
    await send(s6, 'six', 5005, 'ff05::1:3');
    assert.is(String((await m6)[0]), 'six');
    for (const x of [r, s, r6, s6]) x.close();
  } finally {
    net.dispose();
  }
});

it('broadcast needs setBroadcast(true): EACCES before, delivered after', async () => {
  const net = await twoStacks();
  try {
    const r = await bound(net.b.dgram.createSocket('udp4'), 5006);
    const got = inbox(r);
    const s = await bound(net.a.dgram.createSocket('udp4'), 0);
    const { err } = await send(s, 'no', 5006, '10.0.0.255');
    assert.equal(fields(err), { code: 'EACCES', errno: -13, syscall: 'send', address: '10.0.0.255', port: 5006 });
    s.setBroadcast(true);
    const ok = await send(s, 'yes', 5006, '10.0.0.255');
    assert.is(ok.err, null);
    await withTimeout((async () => {
      while (got.length < 1) await sleep(5);
    })(), 3000, 'broadcast datagram');
    assert.is(got[0].text, 'yes');
    for (const x of [r, s]) x.close();
  } finally {
    net.dispose();
  }
});

it('options reach the socket: setTTL, setRecvBufferSize; out of range is EINVAL', async () => {
  const net = await twoStacks();
  try {
    const s = await bound(net.a.dgram.createSocket({ type: 'udp4', recvBufferSize: 65536 }), 0);
    assert.is(s.getRecvBufferSize(), 131072, 'Linux reports SO_RCVBUF doubled');
    assert.is(s.lwipSocket.getsockopt(SOL_SOCKET, SO_RCVBUF), 131072);
    assert.is(s.setTTL(7), 7);
    assert.is(s.lwipSocket.getsockopt(IPPROTO_IP, IP_TTL), 7);
    assert.throws(() => s.setTTL(0), (e) => e.code === 'EINVAL' && e.syscall === 'setTTL');
    assert.throws(() => s.setMulticastTTL(256), (e) => e.code === 'EINVAL');
    assert.is(s.setMulticastLoopback(false), false);
    s.setMulticastInterface('10.0.0.1');
    s.close();
  } finally {
    net.dispose();
  }
});

it("errors: EADDRINUSE on bind, EMSGSIZE on send, ECONNREFUSED on a connected socket, Node's own codes", async () => {
  const net = await twoStacks();
  try {
    const a = await bound(net.b.dgram.createSocket('udp4'), 5007);
    const b = net.b.dgram.createSocket('udp4');
    b.bind(5007);
    const [e1] = await event(b, 'error');
    assert.equal(fields(e1), { code: 'EADDRINUSE', errno: -98, syscall: 'bind', address: '0.0.0.0', port: 5007 });
    assert.is(e1.message, 'bind EADDRINUSE 0.0.0.0:5007');

    const big = Buffer.alloc(65508);
    const { err: e2 } = await send(a, big, 5000, '10.0.0.1');
    assert.equal(fields(e2), { code: 'EMSGSIZE', errno: -90, syscall: 'send', address: '10.0.0.1', port: 5000 });
    // without a callback the error is dropped, as Node drops it (no 'error' by the time
    // a later send's callback runs)
    let emitted = 0;
    a.on('error', () => emitted++);
    a.send(big, 5000, '10.0.0.1');
    const { err: e2b } = await send(a, big, 5000, '10.0.0.1');
    assert.is(e2b.code, 'EMSGSIZE');
    assert.is(emitted, 0);

    // a connected socket learns of ICMP port unreachable: ECONNREFUSED as 'error' (recvmsg)
    const c = net.a.dgram.createSocket('udp4');
    c.connect(5999, '10.0.0.2');
    await event(c, 'connect');
    c.send('anyone?');
    const [e3] = await event(c, 'error');
    assert.is(e3.code, 'ECONNREFUSED');
    assert.is(e3.errno, -111);
    assert.ok(e3.syscall === 'recvmsg' || e3.syscall === 'send', `syscall ${e3.syscall}`);

    assert.throws(() => a.send('x', 0, '10.0.0.1'), (e) => e.code === 'ERR_SOCKET_BAD_PORT' && e instanceof RangeError);
    assert.throws(() => a.bind(1), (e) => e.code === 'ERR_SOCKET_ALREADY_BOUND');
    assert.throws(() => net.a.dgram.createSocket('udp5'), (e) => e.code === 'ERR_SOCKET_BAD_TYPE');
    const closed = event(a, 'close');
    a.close();
    await closed;
    assert.throws(() => a.send('x', 5000, '10.0.0.1'), (e) => e.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING');
    assert.throws(() => a.close(), (e) => e.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING');
    const n = net.a.dgram.createSocket('udp4');
    const { err: e4 } = await send(n, 'x', 5000, 'nowhere.test');
    assert.is(e4.code, 'ENOTFOUND');
    for (const x of [b, c, n]) x.close();
  } finally {
    net.dispose();
  }
});

test.run();
