// tap mode: the relay opens a TAP device and bridges its clients onto it. The device's
// kernel side is moved into a network namespace this test creates, with a server there;
// Node stacks reach it through the relay when the policy allows, are refused (RST) when
// it does not, and cannot use another client's addresses. Needs root (CI runs as root).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ether, ipv4Packet, udpDatagram, ip4, parseMac } from './frames.mjs';
import { tapTest, uniqueNames, ip, sweepStale, nsServer, deleteNamespace } from './util-tap.mjs';
import { startRelay, relayStack, fetchText, rawClient, until } from './relay-util.mjs';

sweepStale();

tapTest('tap: stacks reach an allowed server behind the TAP device, are refused the rest, and cannot spoof', async () => {
  const { ns, dev } = uniqueNames();
  ip('netns', 'add', ns);
  let relay;
  const servers = [];
  const stacks = [];
  try {
    relay = await startRelay({ mode: 'tap', tap: { name: dev, subnet: '10.77.0.0/24' }, allow: ['tcp/10.77.0.1:8077'] });
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    servers.push(nsServer(ns, '10.77.0.1', 8077, 'from the namespace\n'), nsServer(ns, '10.77.0.1', 8078, 'private\n'));
    await Promise.all(servers.map((s) => s.ready));
    const a = await relayStack(relay, { ip: '10.77.0.2/24', gateway: '10.77.0.1' });
    const b = await relayStack(relay, { ip: '10.77.0.3/24', gateway: '10.77.0.1' });
    stacks.push(a.stack, b.stack);
    assert.is(await fetchText(a.stack, '10.77.0.1', 8077), 'from the namespace\n');
    assert.is(await fetchText(b.stack, '10.77.0.1', 8077), 'from the namespace\n');
    const t0 = Date.now();
    const err = await fetchText(a.stack, '10.77.0.1', 8078).catch((e) => e);
    assert.is(err.code, 'EHOSTUNREACH', 'a denial says so: ICMP administratively prohibited');
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(relay.lines.some((l) => /denied: 10\.77\.0\.1 is private/.test(l)), relay.lines.join('\n'));
    // A raw client that claims b's address is dropped; b keeps working.
    const m = rawClient(relay.url);
    await m.open();
    const src = ip4('10.77.0.3');
    const dst = ip4('10.77.0.1');
    m.send(ether(parseMac('ff:ff:ff:ff:ff:ff'), parseMac('02:00:00:00:00:66'), 0x0800,
      ipv4Packet({ src, dst, proto: 17, payload: udpDatagram({ src, dst, sport: 1, dport: 9, payload: new Uint8Array(4) }) })));
    await until(() => relay.stats().dropped.spoofed === 1, 3000, 'the spoofed frame dropped');
    m.close();
    // Nor may a client take an address outside the device's subnet (a forged source the
    // kernel would route).
    const n = rawClient(relay.url);
    await n.open();
    const far = ip4('192.0.2.99');
    n.send(ether(parseMac('ff:ff:ff:ff:ff:ff'), parseMac('02:00:00:00:00:67'), 0x0800,
      ipv4Packet({ src: far, dst, proto: 17, payload: udpDatagram({ src: far, dst, sport: 1, dport: 9, payload: new Uint8Array(4) }) })));
    await until(() => relay.stats().dropped.spoofed === 2, 3000, 'the outside address refused');
    assert.ok(relay.lines.some((l) => /source IP 192\.0\.2\.99 is outside 10\.77\.0\.0\/24/.test(l)), relay.lines.join('\n'));
    n.close();
    assert.is(await fetchText(b.stack, '10.77.0.1', 8077), 'from the namespace\n');
  } finally {
    for (const s of stacks) s.dispose();
    for (const s of servers) s.child.kill('SIGKILL');
    await relay?.close();
    deleteNamespace(ns);
  }
}, { ms: 40_000 });

test.run();
