// nat mode through a real relay and real passt (one per client): Node stacks reach
// servers on the relay host's loopback that the test's policy allows (passt maps the
// gateway, 10.0.2.2, to the host's 127.0.0.1), and are refused, at once, everything the
// default policy or a --deny rule forbids, while other clients keep working.
import { networkInterfaces } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { it } from './helpers.mjs';
import {
  startRelay, relayStack, loopbackServer, loopbackHttp, fetchText, havePasst, until, lwip, rawClient,
} from './relay-util.mjs';

const { AF_INET, SOCK_DGRAM, SOCK_STREAM } = lwip;
const CLIENT = { ip: '10.0.2.15/24', gateway: '10.0.2.2' };
// DNS is not exercised through passt: it would reach the host's real resolver.
const NAT = { dns: false };

const natTest = (name, fn, ms) => {
  if (!havePasst()) {
    console.log(`skipping "${name}": passt is not installed (apt-get install passt; make test-deps installs it)`);
    test.skip(name);
  } else it(name, fn, ms);
};

const sha = (s) => createHash('sha256').update(s).digest('hex');

/** passt processes that are children of this test process (the relay runs in it). */
function passtChildren() {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
      if (m && m[1].startsWith('passt') && Number(m[2]) === process.pid) n++; // 'passt.avx2' on x86-64
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

natTest('nat: a Node stack fetches 256 KiB over HTTP from an allowed server on the relay host\'s loopback', async () => {
  const body = 'lwip-wasm via passt\n'.repeat(13_108);
  const http = await loopbackHttp(body);
  const relay = await startRelay({ nat: NAT, allow: [`tcp/127.0.0.1:${http.port}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const reply = await fetchText(stack, '10.0.2.2', http.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 200 OK\r\n/);
    const got = reply.slice(reply.indexOf('\r\n\r\n') + 4);
    assert.is(got.length, body.length);
    assert.is(sha(got), sha(body));
    const st = relay.stats();
    assert.is(st.mode, 'nat');
    assert.is(st.dropped.denied, 0);
    assert.ok(st.sessions[0].bytesOut > body.length, 'the reply crossed the relay');
  } finally {
    stack.dispose();
    await relay.close();
    await http.close();
  }
}, 30_000);

natTest('nat: a stack leases its address from passt by DHCP through the relay, as the nat options say', async () => {
  const srv = await loopbackServer('leased\n');
  const relay = await startRelay({
    nat: { ...NAT, address: '10.0.5.20', prefix: 24, gateway: '10.0.5.1' },
    allow: [`tcp/127.0.0.1:${srv.port}`],
  });
  const { stack, nif } = await relayStack(relay, { ip: 'dhcp' });
  try {
    assert.is(nif.dhcp.address, '10.0.5.20');
    assert.is(nif.dhcp.prefix, 24);
    assert.is(nif.dhcp.gateway, '10.0.5.1');
    assert.equal(nif.dhcp.dns, []); // dns: false
    // The gateway DHCP gave reaches the host's loopback, as allowed.
    assert.is(await fetchText(stack, '10.0.5.1', srv.port), 'leased\n');
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 30_000);

natTest('nat: UDP to an allowed loopback port goes out and its answer comes back', async () => {
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => udp.send(Buffer.concat([Buffer.from('echo: '), msg]), rinfo.port, rinfo.address));
  await new Promise((r) => udp.bind(0, '127.0.0.1', r));
  const port = udp.address().port;
  const relay = await startRelay({ nat: NAT, allow: [`udp/127.0.0.1:${port}`] });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const s = stack.socket(AF_INET, SOCK_DGRAM);
    s.bind('0.0.0.0', 0);
    let got;
    // The first datagram may wait for ARP; retry a few times, bounded.
    for (let i = 0; i < 5 && !got; i++) {
      await s.sendto('ping', '10.0.2.2', port);
      got = await s.recvfrom(2048, { timeout: 1000 }).catch(() => undefined);
    }
    assert.ok(got, 'an answer');
    assert.is(Buffer.from(got.data).toString(), 'echo: ping');
    assert.is(got.address, '10.0.2.2');
    s.close();
  } finally {
    stack.dispose();
    await relay.close();
    udp.close();
  }
}, 30_000);

/** The relay host's own non-loopback IPv4 addresses (at most two): denied by default. */
function ownAddresses() {
  return Object.values(networkInterfaces()).flat().filter((a) => a && a.family === 'IPv4' && !a.internal).map((a) => a.address).slice(0, 2);
}

natTest('nat: a denied destination is refused at once (ICMP prohibited: EHOSTUNREACH), a closed port is ECONNREFUSED; counted and logged once; the other client keeps fetching', async () => {
  const allowed = await loopbackServer('allowed\n');
  const secret = await loopbackServer('secret\n');
  const other = await loopbackServer('other\n');
  const relay = await startRelay({
    nat: NAT,
    // All of the host's loopback on TCP, except the one port a --deny rule takes back.
    allow: ['tcp/127.0.0.0/8'],
    deny: [`127.0.0.1:${secret.port}`],
  });
  const alice = await relayStack(relay, CLIENT);
  const bob = await relayStack(relay, CLIENT);
  try {
    assert.is(await fetchText(alice.stack, '10.0.2.2', allowed.port), 'allowed\n');
    const refused = async (address, port) => {
      const t0 = Date.now();
      const err = await fetchText(alice.stack, address, port, '', { timeout: 5000 }).catch((e) => e);
      assert.instance(err, Error, `${address}:${port} was reached`);
      assert.is(err.code, 'EHOSTUNREACH', `${address}:${port}: ${err.code}`);
      assert.ok(Date.now() - t0 < 1000, `${address}:${port} refused after ${Date.now() - t0} ms`);
    };
    // Denials aim only at this host (its loopback through the gateway, its own
    // addresses): were the policy to fail open, nothing else would be reached. The
    // default ranges themselves (private, link-local, CGNAT...) are checked without
    // traffic in test/relay-front.test.mjs.
    await refused('10.0.2.2', secret.port);      // --deny
    const own = ownAddresses();
    for (const address of own) await refused(address, secret.port); // the relay host's own addresses
    const a = relay.stats().sessions[0];
    assert.is(a.dropped.denied, 1 + own.length);
    // An allowed port nobody listens on: the RST comes from the host, through passt.
    const closed = await loopbackServer('gone\n');
    await closed.close();
    const shut = await fetchText(alice.stack, '10.0.2.2', closed.port, '', { timeout: 5000 }).catch((e) => e);
    assert.is(shut.code, 'ECONNREFUSED', 'a closed port, not a denial');
    assert.is(relay.stats().sessions[0].dropped.denied, 1 + own.length, 'not counted as denied');
    assert.is(relay.lines.filter((l) => /client \d+: denied/.test(l)).length, 1);
    assert.ok(relay.lines.some((l) => l.includes(`denied by --deny 127.0.0.1:${secret.port}`)), relay.lines.join('\n'));
    // UDP to a loopback port nobody allowed: dropped (no answer), counted.
    const u = alice.stack.socket(AF_INET, SOCK_DGRAM);
    await u.sendto('x', '10.0.2.2', 53);
    await until(() => relay.stats().sessions[0].dropped.denied === 2 + own.length, 3000, 'the UDP datagram denied');
    u.close();
    // Bob, on his own passt, is untouched and still fetches; Alice too.
    assert.is(await fetchText(bob.stack, '10.0.2.2', other.port), 'other\n');
    assert.is(await fetchText(alice.stack, '10.0.2.2', allowed.port), 'allowed\n');
    assert.is(relay.stats().sessions[1].dropped.denied, 0);
  } finally {
    alice.stack.dispose();
    bob.stack.dispose();
    await relay.close();
    await Promise.all([allowed.close(), secret.close(), other.close()]);
  }
}, 40_000);

natTest('nat: without an --allow the host\'s loopback is denied by default', async () => {
  const srv = await loopbackServer('should not see this\n');
  const relay = await startRelay({ nat: NAT });
  const { stack } = await relayStack(relay, CLIENT);
  try {
    const err = await fetchText(stack, '10.0.2.2', srv.port).catch((e) => e);
    assert.is(err.code, 'EHOSTUNREACH');
    assert.ok(relay.lines.some((l) => /denied: 127\.0\.0\.1 is loopback \(denied by default\)/.test(l)), relay.lines.join('\n'));
  } finally {
    stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 20_000);

natTest('nat: each client has its own passt, which goes when the client does', async () => {
  const srv = await loopbackServer('hi\n');
  const relay = await startRelay({ nat: NAT, allow: [`tcp/127.0.0.1:${srv.port}`] });
  const nodes = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await relayStack(relay, CLIENT));
    // The same address for all three: each is alone behind its own NAT.
    const replies = await Promise.all(nodes.map((n) => fetchText(n.stack, '10.0.2.2', srv.port)));
    assert.equal(replies, ['hi\n', 'hi\n', 'hi\n']);
    assert.is(passtChildren(), 3);
    nodes[0].stack.dispose();
    nodes[0].link.close();
    await until(() => relay.stats().clients === 2, 3000, 'one client gone');
    await until(() => passtChildren() === 2, 3000, 'its passt gone');
    assert.is(await fetchText(nodes[1].stack, '10.0.2.2', srv.port), 'hi\n');
    await relay.close();
    await until(() => passtChildren() === 0, 3000, 'every passt gone with the relay');
  } finally {
    for (const n of nodes) n.stack.dispose();
    await relay.close();
    await srv.close();
  }
}, 30_000);

natTest('nat: when passt cannot start, the client is told (close 1011) and the relay goes on', async () => {
  const relay = await startRelay({ nat: { ...NAT, passt: 'lwip-wasm-no-such-passt' }, mode: 'nat' });
  try {
    const c = rawClient(relay.url);
    await c.open();
    await until(() => c.closed !== null, 5000, 'the client closed');
    assert.is(c.closed.code, 1011);
    assert.match(c.closed.reason, /cannot run lwip-wasm-no-such-passt/);
    assert.is(relay.stats().clients, 0);
    assert.is(relay.stats().refused.backend, 1);
    const res = await fetch(relay.url.replace(/^ws/, 'http') + 'metrics');
    assert.is(res.status, 200);
  } finally {
    await relay.close();
  }
}, 20_000);

test.run();
