// Names through the stack (lwip-wasm/node): stack.net, stack.dgram and stack.dns resolve
// host names with the stack's own resolver (stack.resolve), as node:net uses dns.lookup,
// honouring family, hints (ADDRCONFIG, V4MAPPED, ALL) and all; 'localhost' is the
// stack's own loopback. A DNS server on the other stack answers. And socket timeouts run
// on the stack's clock, so a VirtualClock drives them.
import { Stack, VirtualClock, createPair } from '../dist/node.js';
import { it, test, assert, twoStacks as twoPlainStacks, withTimeout, createStack } from './helpers.mjs';
import { dnsServer } from './util-dns-dhcp.mjs';

const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });
const event = (e, name, ms = 5000) => withTimeout(new Promise((r) => e.once(name, (...a) => r(a))), ms, `waiting for '${name}'`);
const lookup = (dns, name, opts) => new Promise((resolve) => dns.lookup(name, opts, (err, address, family) => resolve({ err, address, family })));

const ZONE = {
  'db.test': { A: ['10.0.0.2'] },
  'dual.test': { A: ['10.0.0.2'], AAAA: ['fd00::2'] },
  'six.test': { AAAA: ['fd00::2'] },
};

it('net.connect resolves a name through the stack, with lookup events; an unknown name is ENOTFOUND', async () => {
  const net = await twoStacks();
  const dns = dnsServer(net.b, ZONE);
  try {
    net.a.setDnsServers(['10.0.0.2']);
    const server = net.b.net.createServer((s) => s.end(`hello ${s.remoteFamily}`));
    server.listen(7100);
    await event(server, 'listening');
    const c = net.a.net.connect(7100, 'db.test');
    const looked = [];
    c.on('lookup', (err, address, family, host) => looked.push([err, address, family, host]));
    let got = '';
    c.on('data', (d) => (got += d));
    await event(c, 'close');
    assert.equal(looked, [[null, '10.0.0.2', 4, 'db.test']]);
    assert.is(got, 'hello IPv6'); // the server's '::' socket sees IPv4-mapped peers, as on Linux
    // family 6 asks for AAAA only
    const c6 = net.a.net.connect({ port: 7100, host: 'dual.test', family: 6 });
    await event(c6, 'connect');
    assert.is(c6.remoteAddress, 'fd00::2');
    c6.destroy();
    // an unknown name: getaddrinfo ENOTFOUND, as Node reports it
    const bad = net.a.net.connect(7100, 'nowhere.test');
    const [err] = await event(bad, 'error');
    assert.equal({ code: err.code, errno: err.errno, syscall: err.syscall, hostname: err.hostname, message: err.message },
      { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'nowhere.test', message: 'getaddrinfo ENOTFOUND nowhere.test' });
    // listen() takes a name too
    const named = net.b.net.createServer();
    net.b.setDnsServers(['10.0.0.2']);
    named.listen(7101, 'db.test');
    await event(named, 'listening');
    assert.equal(named.address(), { address: '10.0.0.2', family: 'IPv4', port: 7101 });
    named.close();
    server.close();
  } finally {
    await dns.close();
    net.dispose();
  }
});

it('stack.dns.lookup: all, family, V4MAPPED, ADDRCONFIG, order; promises.lookup; localhost is the stack loopback', async () => {
  const net = await twoStacks();
  const dns = dnsServer(net.b, ZONE);
  try {
    net.a.setDnsServers(['10.0.0.2']);
    const d = net.a.dns;
    assert.equal(await lookup(d, 'dual.test', { all: true }), { err: null, address: [{ address: '10.0.0.2', family: 4 }, { address: 'fd00::2', family: 6 }], family: undefined });
    assert.equal(await lookup(d, 'dual.test', { all: true, order: 'ipv6first' }), { err: null, address: [{ address: 'fd00::2', family: 6 }, { address: '10.0.0.2', family: 4 }], family: undefined });
    assert.equal(await lookup(d, 'dual.test', 6), { err: null, address: 'fd00::2', family: 6 });
    assert.equal(await lookup(d, 'six.test', {}), { err: null, address: 'fd00::2', family: 6 });
    // V4MAPPED: an IPv4-only name as ::ffff:a.b.c.d for family 6
    assert.equal(await lookup(d, 'db.test', { family: 6, hints: d.V4MAPPED }), { err: null, address: '::ffff:10.0.0.2', family: 6 });
    assert.equal((await lookup(d, 'dual.test', { family: 6, hints: d.V4MAPPED | d.ALL, all: true })).address,
      [{ address: 'fd00::2', family: 6 }, { address: '::ffff:10.0.0.2', family: 6 }]);
    assert.equal(await d.promises.lookup('dual.test', { family: 4 }), { address: '10.0.0.2', family: 4 });
    assert.equal(await d.promises.lookup('localhost', { all: true }), [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    // ADDRCONFIG: a stack with IPv4 only asks for A records only
    const v4only = await createStack({ Stack });
    const [la, lb] = createPair();
    v4only.addInterface(la, { ip: '10.0.0.3/24' });
    const ifB2 = net.b.addInterface(lb, { ip: '10.0.0.4/24' });
    try {
      v4only.setDnsServers(['10.0.0.4']);
      const before = dns.queries.length;
      assert.equal(await lookup(v4only.dns, 'dual.test', { all: true, hints: v4only.dns.ADDRCONFIG }),
        { err: null, address: [{ address: '10.0.0.2', family: 4 }], family: undefined });
      assert.equal(dns.queries.slice(before).map((q) => q.type), [1], 'only an A query');
    } finally {
      ifB2.remove();
      v4only.dispose();
    }
    // dgram sends to a name
    const r = net.b.dgram.createSocket('udp4');
    r.bind(5300);
    await event(r, 'listening');
    const s = net.a.dgram.createSocket('udp4');
    const m = event(r, 'message');
    s.send('to a name', 5300, 'db.test');
    assert.is(String((await m)[0]), 'to a name');
    r.close();
    s.close();
  } finally {
    await dns.close();
    net.dispose();
  }
});

it('socket timeouts run on the stack clock: a VirtualClock fires them without waiting', async () => {
  const clock = new VirtualClock();
  const net = await twoStacks({ clock });
  try {
    const server = net.b.net.createServer((s) => s.resume());
    server.listen(7200);
    await clock.runUntil(event(server, 'listening'));
    const c = net.a.net.connect({ port: 7200, host: '10.0.0.2', timeout: 600_000 });
    await clock.runUntil(event(c, 'connect'));
    let fired = 0;
    c.on('timeout', () => fired++);
    const started = performance.now();
    await clock.advanceAsync(599_000);
    assert.is(fired, 0, 'not before ten virtual minutes');
    c.write('activity postpones it');
    await clock.advanceAsync(2_000);
    assert.is(fired, 0, 'activity postponed it');
    await clock.advanceAsync(600_000);
    assert.is(fired, 1, "'timeout' after ten idle virtual minutes");
    assert.ok(performance.now() - started < 5000, 'in far less real time');
    c.destroy();
    server.close();
  } finally {
    net.dispose();
  }
});

test.run();
