// DHCP: addInterface(link, { ip: 'dhcp' }) resolves once leased and reports the lease.
// The relay's nat gateway (its DHCP server, over the WebSocket link), and a small server
// written in test/util-dns-dhcp.mjs on an in-memory stack for what the relay's fixed
// lease cannot show: a short lease renewed on lwIP's schedule (virtual time), and expiry.
import WebSocket from 'ws';
import {
  createPair, connectWebSocket, VirtualClock, SocketError, AF_INET, SOCK_STREAM,
} from '../dist/index.js';
import { createRelay } from '../dist/relay.js';
import { it, test, assert, createStack, connectPair, readExactly, sleep } from './helpers.mjs';
import { dhcpServer } from './util-dns-dhcp.mjs';
import { createServer } from 'node:net';

/** Stack b (10.9.0.1/24) runs a DHCP server; stack a leases from it. */
async function lan(serverOpts = {}, stackOpts = {}) {
  const a = await createStack({ seed: 21, ...stackOpts });
  const b = await createStack({ seed: 22, ...stackOpts });
  const [linkA, linkB] = createPair();
  b.addInterface(linkB, { ip: '10.9.0.1/24' });
  const server = dhcpServer(b, { serverIp: '10.9.0.1', pool: ['10.9.0.50'], router: '10.9.0.1', dns: ['10.9.0.1', '10.9.0.2'], ...serverOpts });
  return { a, b, linkA, server, dispose: () => { a.dispose(); b.dispose(); } };
}

it('ip: dhcp resolves with the lease: address, netmask, gateway, DNS servers, times', async () => {
  const { a, b, linkA, server, dispose } = await lan({ lease: 7200, t1: 3000, t2: 6000 });
  try {
    const pending = a.addInterface(linkA, { ip: 'dhcp' });
    assert.instance(pending, Promise);
    const nif = await pending;
    assert.equal(nif.ipv4, { address: '10.9.0.50', netmask: '255.255.255.0', prefix: 24, gateway: '10.9.0.1' });
    const lease = nif.dhcp;
    assert.is(lease.state, 'bound');
    assert.is(lease.server, '10.9.0.1');
    assert.equal(lease.dns, ['10.9.0.1', '10.9.0.2']);
    assert.is(lease.leaseTime, 7200);
    assert.is(lease.renewalTime, 3000);
    assert.is(lease.rebindTime, 6000);
    assert.equal(a.dnsServers, ['10.9.0.1', '10.9.0.2']);
    assert.equal(server.log.map((m) => m.type), [1, 3]); // DISCOVER, REQUEST
    assert.is(server.log[1].requested, '10.9.0.50');
    assert.is(a.interfaces.find((i) => i.index === nif.index), nif);
    // the leased address works: b connects to it
    const [c, s] = await connectPair(b, a, { address: '10.9.0.50' });
    await c.send('over the lease');
    assert.is(new TextDecoder().decode(await readExactly(s, 14)), 'over the lease');
    c.close();
    s.close();
    await server.close();
  } finally {
    dispose();
  }
}, 15_000);

it('a short lease is renewed on schedule (T1) and kept; with the server gone it expires', async () => {
  const clock = new VirtualClock();
  // lwIP counts DHCP times in 60 s ticks: lease 150 s -> renew every 60 s, expire after 180 s
  const { a, linkA, server, dispose } = await lan({ lease: 150, t1: 60, t2: 120 }, { clock });
  try {
    const nif = await clock.runUntil(a.addInterface(linkA, { ip: 'dhcp' }), { timeLimit: 60_000 });
    assert.is(nif.ipv4.address, '10.9.0.50');
    const before = server.log.length;
    await clock.advanceAsync(400_000);
    const renewals = server.log.slice(before).filter((m) => m.type === 3 && m.ciaddr === '10.9.0.50');
    assert.ok(renewals.length >= 5, `renewals seen by the server: ${renewals.length}`);
    assert.is(nif.dhcp.state, 'bound');
    assert.is(nif.ipv4.address, '10.9.0.50');
    assert.ok(nif.dhcp.elapsed < 150, `lease age ${nif.dhcp.elapsed} s`);

    await server.close(); // nobody renews now: the lease must run out
    await clock.advanceAsync(400_000);
    assert.is(nif.ipv4, null, 'the address is dropped when the lease expires');
    assert.is(nif.dhcp, null);
  } finally {
    dispose();
  }
}, 30_000);

it('no DHCP server: rejects with ETIMEDOUT after dhcp.timeout and removes the interface', async () => {
  const a = await createStack();
  const [linkA] = createPair();
  try {
    const t0 = Date.now();
    const err = await a.addInterface(linkA, { ip: 'dhcp', dhcp: { timeout: 600 } }).then(() => null, (e) => e);
    assert.instance(err, SocketError);
    assert.is(err.code, 'ETIMEDOUT');
    assert.is(err.syscall, 'dhcp');
    assert.ok(Date.now() - t0 >= 550, 'waited for the timeout');
    assert.is(a.interfaces.length, 0);
  } finally {
    a.dispose();
  }
});

it('an aborted lease wait rejects with the reason and removes the interface; bad options throw', async () => {
  const a = await createStack();
  const [linkA] = createPair();
  try {
    const ac = new AbortController();
    const p = a.addInterface(linkA, { ip: 'dhcp', dhcp: { signal: ac.signal } });
    await sleep(50);
    ac.abort(new Error('user gave up'));
    await p.then(() => assert.unreachable('resolved'), (e) => assert.is(e.message, 'user gave up'));
    assert.is(a.interfaces.length, 0);
    const [l2] = createPair();
    assert.throws(() => a.addInterface(l2, { ip: 'dhcp', gateway: '10.0.0.1' }), /gateway comes from the lease/);
    assert.throws(() => a.addInterface(l2, { ip: '10.0.0.2/24', dhcp: { timeout: 5 } }), /dhcp options need ip: 'dhcp'/);
    assert.throws(() => a.addInterface(l2, { ip: 'dhcp', dhcp: { timeout: -1 } }), RangeError);
    assert.is(a.interfaces.length, 0, 'bad input adds nothing');
  } finally {
    a.dispose();
  }
});

it('the relay\'s gateway (its DHCP server, in nat mode over the WebSocket link): leased and usable', async () => {
  const web = createServer((s) => {
    s.on('error', () => {}); // the relay may reset it when the client goes
    s.end('hello via the relay\n');
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  const port = web.address().port;
  const relay = await createRelay({ port: 0, mode: 'nat', nat: { dns: false }, allow: [`tcp/127.0.0.1/32:${port}`], onLog: () => {} });
  const stack = await createStack();
  try {
    const link = connectWebSocket(relay.url, { WebSocket });
    await link.ready;
    const nif = await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10_000 } });
    assert.equal(nif.ipv4, { address: '10.0.2.15', netmask: '255.255.255.0', prefix: 24, gateway: '10.0.2.2' });
    assert.is(nif.dhcp.state, 'bound');
    assert.ok(nif.dhcp.leaseTime > 0);
    assert.equal(nif.dhcp.dns, [], 'the relay was told to give no DNS server');
    // the gateway stands for the relay host's loopback: the lease routes traffic
    const s = stack.socket(AF_INET, SOCK_STREAM);
    await s.connect('10.0.2.2', port, { timeout: 5000 });
    assert.is(new TextDecoder().decode(await readExactly(s, 20)), 'hello via the relay\n');
    s.close();
    link.close();
  } finally {
    stack.dispose();
    await relay.close();
    await new Promise((r) => web.close(r));
  }
}, 20_000);

test.run();
