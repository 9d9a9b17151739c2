// DNS: stack.resolve(name, { family, timeout, signal }) with lwIP's resolver. Servers
// are a small DNS server in test/util-dns-dhcp.mjs on an in-memory stack, and a Node
// dgram server on the host's 127.0.0.1:53 reached through a real relay (its gateway, with
// its own DNS server off, forwards UDP to port 53 like any other allowed flow); never
// the host's own resolver.
import dgram from 'node:dgram';
import WebSocket from 'ws';
import { createPair, connectWebSocket, VirtualClock, DnsError, StackError } from '../dist/index.js';
import { createRelay } from '../dist/relay.js';
import { it, test, assert, createStack, sleep } from './helpers.mjs';
import { dnsServer, dhcpServer, parseQuery, answer } from './util-dns-dhcp.mjs';

const ZONE = {
  'www.example.test': { A: ['10.8.0.80'], AAAA: ['fd00:8::80'] },
  'v6only.example.test': { AAAA: ['fd00:8::66'] },
  'v4only.example.test': { A: ['10.8.0.44'] },
};

/** Stack b (10.8.0.1) serves DNS; stack a (10.8.0.2) asks it. */
async function lan({ silent = [], stackOpts = {}, aOpts = { dns: ['10.8.0.1'] } } = {}) {
  const a = await createStack({ seed: 31, ...stackOpts, ...aOpts });
  const b = await createStack({ seed: 32, ...stackOpts });
  const [la, lb] = createPair();
  a.addInterface(la, { ip: '10.8.0.2/24' });
  b.addInterface(lb, { ip: '10.8.0.1/24' });
  const server = dnsServer(b, ZONE, { silent });
  return { a, b, server, dispose: () => { a.dispose(); b.dispose(); } };
}

async function rejection(p) {
  return p.then((v) => assert.unreachable(`resolved with ${JSON.stringify(v)}`), (e) => e);
}

it('A, AAAA, and family 0 (A, then AAAA when there is none), from the configured server', async () => {
  const { a, server, dispose } = await lan();
  try {
    assert.equal(a.dnsServers, ['10.8.0.1']);
    assert.equal(await a.resolve('www.example.test'), { address: '10.8.0.80', family: 4 });
    assert.equal(await a.resolve('www.example.test', { family: 6 }), { address: 'fd00:8::80', family: 6 });
    assert.equal(await a.resolve('v6only.example.test'), { address: 'fd00:8::66', family: 6 });
    assert.equal(await a.resolve('V4ONLY.example.test.', { family: 4 }), { address: '10.8.0.44', family: 4 });
    assert.equal(server.queries.map((q) => `${q.name}/${q.type}`), [
      'www.example.test/1', 'www.example.test/28', 'v6only.example.test/1', 'v6only.example.test/28', 'v4only.example.test/1',
    ]);
    // lwIP caches by TTL: a second lookup asks nobody
    assert.equal(await a.resolve('www.example.test'), { address: '10.8.0.80', family: 4 });
    assert.is(server.queries.length, 5);
    // literals and localhost need no server
    assert.equal(await a.resolve('192.0.2.7'), { address: '192.0.2.7', family: 4 });
    assert.equal(await a.resolve('2001:db8::1', { family: 6 }), { address: '2001:db8::1', family: 6 });
    assert.equal(await a.resolve('localhost'), { address: '127.0.0.1', family: 4 });
    assert.is(server.queries.length, 5);
    await server.close();
  } finally {
    dispose();
  }
});

it('NXDOMAIN and a missing record give ENOTFOUND at once', async () => {
  const { a, server, dispose } = await lan();
  try {
    const t0 = Date.now();
    const e1 = await rejection(a.resolve('nope.example.test'));
    assert.instance(e1, DnsError);
    assert.is(e1.code, 'ENOTFOUND');
    assert.is(e1.hostname, 'nope.example.test');
    assert.is(e1.syscall, 'resolve');
    assert.match(e1.message, /nope\.example\.test not found/);
    const e2 = await rejection(a.resolve('v4only.example.test', { family: 6 }));
    assert.is(e2.code, 'ENOTFOUND');
    assert.match(e2.message, /no AAAA record/);
    assert.ok(Date.now() - t0 < 1000, 'answered, not timed out');
    const e3 = await rejection(a.resolve('192.0.2.7', { family: 6 }));
    assert.is(e3.code, 'ENOTFOUND');
    await server.close();
  } finally {
    dispose();
  }
});

it('a server that never answers: ETIMEDOUT after timeout, or after lwIP\'s own retries', async () => {
  const { a, server, dispose } = await lan({ silent: ['slow.example.test', 'slower.example.test'] });
  try {
    const t0 = Date.now();
    const e = await rejection(a.resolve('slow.example.test', { timeout: 300 }));
    assert.instance(e, DnsError);
    assert.is(e.code, 'ETIMEDOUT');
    assert.match(e.message, /timed out after 300 ms/);
    assert.ok(Date.now() - t0 >= 280);
    await server.close();
  } finally {
    dispose();
  }
  // lwIP's own schedule (4 tries: about 7 s) on a virtual clock
  const clock = new VirtualClock();
  const v = await lan({ silent: ['slower.example.test'], stackOpts: { clock } });
  try {
    const start = clock.now();
    const e = await clock.runUntil(rejection(v.a.resolve('slower.example.test')), { timeLimit: 60_000 });
    assert.is(e.code, 'ETIMEDOUT');
    assert.match(e.message, /no DNS server answered/);
    const took = clock.now() - start;
    assert.ok(took >= 6000 && took <= 9000, `lwIP gave up after ${took} virtual ms`);
    assert.is(v.server.queries.filter((q) => q.name === 'slower.example.test').length, 4, 'four tries');
    await v.server.close();
  } finally {
    v.dispose();
  }
});

it('bad names and options throw a clear error at once; no server gives ENOSERVER; abort and dispose reject', async () => {
  const { a, dispose } = await lan({ silent: ['hang.example.test'] });
  try {
    for (const [name, why] of [
      ['', /empty/], ['a..b', /empty label/], ['-x.test', /starts or ends with '-'/], [`${'x'.repeat(64)}.test`, /longer than 63/],
      [`${'abcdefghi.'.repeat(26)}test`, /longer than 253/], ['bad name.test', /characters other than/], ['münchen.test', /xn--/], [42, /must be a string/],
    ]) {
      assert.throws(() => a.resolve(name), (e) => e instanceof TypeError && why.test(e.message), `name ${JSON.stringify(name)}`);
    }
    assert.throws(() => a.resolve('x.test', { family: 5 }), TypeError);
    assert.throws(() => a.resolve('x.test', { timeout: 0 }), RangeError);
    assert.throws(() => a.setDnsServers(['not-an-ip']), TypeError);
    assert.throws(() => a.setDnsServers(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']), RangeError);

    const ac = new AbortController();
    const p = a.resolve('hang.example.test', { signal: ac.signal });
    await sleep(30);
    ac.abort(new Error('stop'));
    assert.is((await rejection(p)).message, 'stop');

    a.setDnsServers([]);
    assert.equal(a.dnsServers, []);
    const e = await rejection(a.resolve('www.example.test'));
    assert.is(e.code, 'ENOSERVER');
    assert.match(e.message, /no DNS server/);

    a.setDnsServers(['10.8.0.1']);
    const pending = a.resolve('hang.example.test');
    a.dispose();
    assert.instance(await rejection(pending), StackError);
  } finally {
    dispose();
  }
});

it('DHCP gives the server; configured servers win over it; [] goes back to DHCP\'s', async () => {
  const a = await createStack({ seed: 41 });
  const b = await createStack({ seed: 42 });
  const [la, lb] = createPair();
  b.addInterface(lb, { ip: '10.7.0.1/24' });
  const dhcp = dhcpServer(b, { serverIp: '10.7.0.1', pool: ['10.7.0.9'], router: '10.7.0.1', dns: ['10.7.0.1'] });
  const dns = dnsServer(b, { 'leased.test': { A: ['10.7.0.123'] } });
  try {
    await a.addInterface(la, { ip: 'dhcp' });
    assert.equal(a.dnsServers, ['10.7.0.1']);
    assert.equal(await a.resolve('leased.test'), { address: '10.7.0.123', family: 4 });
    a.setDnsServers(['10.7.0.200']); // nobody there
    assert.equal(a.dnsServers, ['10.7.0.200']);
    assert.is((await rejection(a.resolve('other.test', { timeout: 400 }))).code, 'ETIMEDOUT');
    a.setDnsServers([]);
    assert.equal(a.dnsServers, ['10.7.0.1']);
    assert.is((await rejection(a.resolve('other.test'))).code, 'ENOTFOUND');
    assert.equal(dns.queries.map((q) => q.name), ['leased.test', 'other.test']);
    await dns.close();
    await dhcp.close();
  } finally {
    a.dispose();
    b.dispose();
  }
});

it('through a real relay: a DNS server on the host\'s 127.0.0.1:53, reached via the gateway', async () => {
  const udp = dgram.createSocket('udp4');
  const asked = [];
  udp.on('message', (q, rinfo) => {
    const { name } = parseQuery(q);
    asked.push(name);
    const records = name === 'relay.example.test' ? { A: ['192.0.2.53'] } : null;
    udp.send(answer(q, records ? { records } : { rcode: 3 }), rinfo.port, rinfo.address);
  });
  await new Promise((r, j) => { udp.once('error', j); udp.bind(53, '127.0.0.1', r); });
  const relay = await createRelay({ port: 0, mode: 'nat', nat: { dns: false }, allow: ['udp/127.0.0.1/32:53'], onLog: () => {} });
  const stack = await createStack();
  try {
    const link = connectWebSocket(relay.url, { WebSocket });
    const nif = await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10_000 } });
    stack.setDnsServers([nif.ipv4.gateway]);
    assert.equal(await stack.resolve('relay.example.test', { timeout: 5000 }), { address: '192.0.2.53', family: 4 });
    assert.is((await rejection(stack.resolve('missing.example.test', { family: 4, timeout: 5000 }))).code, 'ENOTFOUND');
    assert.equal(asked, ['relay.example.test', 'missing.example.test']);
    link.close();
  } finally {
    stack.dispose();
    await relay.close();
    udp.close();
  }
}, 20_000);

test.run();
