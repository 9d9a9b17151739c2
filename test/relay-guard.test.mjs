// A hostile client on a shared segment (hub and tap modes): router advertisements,
// redirects, neighbour advertisements and solicitations naming others, DHCP servers,
// forged IPv6 sources, and transport headers hidden behind extension headers or in
// fragments. Each is dropped and counted; the victims' traffic keeps reaching the right
// host; in tap mode the host kernel's routes and neighbour table (read in the namespace
// this test creates, which has no route out) are unchanged.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { ether, ipv4Packet, ipv6Packet, udpDatagram, tcpSegment, ip4, ip6, parseMac, fixChecksums, Rng, cat } from './frames.mjs';
import { it } from './helpers.mjs';
import { tapTest, uniqueNames, ip, sweepStale, nsServer, deleteNamespace } from './util-tap.mjs';
import { startRelay, relayStack, rawClient, until, echoOnce, fetchText, lwip } from './relay-util.mjs';

sweepStale();

const MALLORY_MAC = '02:00:00:00:0b:ad';
const M = parseMac(MALLORY_MAC);
const M_LL = ip6('fe80::ff:fe00:bad'); // EUI-64 of 02:00:00:00:0b:ad
const ALL_NODES = ip6('ff02::1');
const ALL_NODES_MAC = parseMac('33:33:00:00:00:01');
const BCAST = parseMac('ff:ff:ff:ff:ff:ff');

const be16 = (v) => [v >> 8, v & 0xff];

/**
 * An upper-layer payload behind extension headers: ext is [[header type, bytes], ...] in
 * wire order; each header's first byte is set to the type of what follows it.
 */
function chain(ext, upper, payload) {
  let next = upper;
  for (let i = ext.length - 1; i >= 0; i--) {
    const [kind, bytes] = ext[i];
    const h = Uint8Array.from(bytes);
    h[0] = next;
    payload = cat(h, payload);
    next = kind;
  }
  return { next, payload };
}

function icmp6(src, dst, type, body, { hop = 255, dstMac = ALL_NODES_MAC, ext = [] } = {}) {
  const f = ether(dstMac, M, 0x86dd, ipv6Packet({ src, dst, hop, ...chain(ext, 58, cat([type, 0, 0, 0], body)) }));
  fixChecksums(f);
  return f;
}
const lla = (type, mac) => [type, 1, ...mac];
const destOpts = () => [60, [0, 0, 1, 4, 0, 0, 0, 0]]; // a PadN of 4: 8 bytes
const fragHeader = (offset, more, id) => [44, [0, 0, (offset >> 5) & 0xff, ((offset << 3) & 0xf8) | (more ? 1 : 0), (id >>> 24) & 0xff, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]];

/** A TCP SYN from Mallory's link-local to dst:port, behind the given extension headers. */
function hiddenSyn(dst, dstMac, port, ext) {
  const seg = tcpSegment(new Rng(7), { src: M_LL, dst, sport: 40000 + ext.length, dport: port, seq: 1, ack: 0, flags: 0x02, options: new Uint8Array(0) });
  return ether(dstMac, M, 0x86dd, ipv6Packet({ src: M_LL, dst, ...chain(ext, 6, seg) }));
}

/**
 * A UDP datagram of n bytes from Mallory's link-local to dst:port, in two fragments whose
 * fragment header is followed by a destination-options header in the first.
 */
function fragmentedUdp(dst, dstMac, port, n) {
  const data = new Uint8Array(n).fill(0x42);
  const udp = udpDatagram({ src: M_LL, dst, sport: 7000, dport: port, payload: data });
  const unfrag = cat([17, 0, 1, 4, 0, 0, 0, 0], udp); // destination options, then UDP
  const cut = 8 + 8 * 50; // a multiple of 8: the first fragment's fragmentable part
  const id = [0, 0, 0x12, 0x34];
  const first = cat([60, 0, 0, 1], id, unfrag.subarray(0, cut));
  const later = cat([60, 0, cut >> 8, cut & 0xf8], id, unfrag.subarray(cut)); // offset in bytes, M = 0
  return [first, later].map((payload) => ether(dstMac, M, 0x86dd, ipv6Packet({ src: M_LL, dst, next: 44, payload })));
}

/** A later fragment (offset 8) of an ICMPv6 datagram whose first fragment never came. */
function laterIcmpFragment(dst, dstMac) {
  const frag = [58, 0, 0, 8 << 3, 0, 0, 0, 9];
  return ether(dstMac, M, 0x86dd, ipv6Packet({ src: M_LL, dst, next: 44, payload: cat(frag, new Uint8Array(16).fill(0xee)) }));
}

function dhcpOffer(from) {
  const src = ip4(from);
  const dst = ip4('255.255.255.255');
  const body = new Uint8Array(240);
  body[0] = 2; // BOOTREPLY
  body.set([99, 130, 83, 99], 236);
  return ether(BCAST, M, 0x0800, ipv4Packet({ src, dst, proto: 17, payload: udpDatagram({ src, dst, sport: 67, dport: 68, payload: body }) }));
}

/**
 * Mallory's attacks on victims a (owning aIp6, MAC aMac) and b, through relay. Each goes
 * as its own message; returns after the relay has counted them all.
 */
async function attack(relay, { aIp6, aMac, gw6, gwMac, deniedPort, v4, expectDrops }) {
  const m = rawClient(relay.url);
  await m.open();
  const before = relay.stats().dropped;
  const frames = {
    // An RA with Mallory as a router and a prefix fd00:bad::/64 to autoconfigure from.
    ra: icmp6(M_LL, ALL_NODES, 134, cat([64, 0, 0x07, 0x08], [0, 0, 0, 0, 0, 0, 0, 0], lla(1, M),
      [3, 4, 64, 0xc0, 0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10, 0, 0, 0, 0], ip6('fd00:bad::'))),
    redirect: icmp6(M_LL, aIp6, 137, cat([0, 0, 0, 0], M_LL, gw6, lla(2, M)), { dstMac: aMac }),
    naForA: icmp6(M_LL, ALL_NODES, 136, cat([0x20, 0, 0, 0], aIp6, lla(2, M))),
    naWithAsMac: icmp6(M_LL, ALL_NODES, 136, cat([0x20, 0, 0, 0], M_LL, lla(2, aMac))),
    nsWithAsMac: icmp6(M_LL, gw6, 135, cat([0, 0, 0, 0], gw6, lla(1, aMac)), { dstMac: gwMac }),
    nsHop64: icmp6(M_LL, gw6, 135, cat([0, 0, 0, 0], gw6, lla(1, M)), { dstMac: gwMac, hop: 64 }),
    fragmentedNs: icmp6(M_LL, gw6, 135, cat([0, 0, 0, 0], gw6, lla(1, M)), { dstMac: gwMac, ext: [fragHeader(0, true, 77)] }),
    dhcpOffer: dhcpOffer(v4),
    spoof6: icmp6(ip6('2001:4860:4860::8888'), gw6, 128, [0, 1, 0, 1], { dstMac: gwMac }),
    foreignLinkLocal: icmp6(ip6('fe80::aa'), gw6, 128, [0, 1, 0, 1], { dstMac: gwMac }),
    synBehindFragAndDestOpts: hiddenSyn(gw6, gwMac, deniedPort, [fragHeader(0, false, 5), destOpts()]),
    synBehindNineDestOpts: hiddenSyn(gw6, gwMac, deniedPort, Array.from({ length: 9 }, destOpts)),
    synBehindSeventeen: hiddenSyn(gw6, gwMac, deniedPort, Array.from({ length: 17 }, destOpts)),
    laterFragmentAlone: laterIcmpFragment(gw6, gwMac),
  };
  const only = process.env.GUARD_ONLY;
  for (const [k, f] of Object.entries(frames)) if (!only || only === k) m.send(f);
  const want = expectDrops;
  const dropped = () => {
    const now = relay.stats().dropped;
    return Object.keys(now).reduce((n, k) => n + now[k] - before[k], 0);
  };
  await until(() => dropped() >= want, 5000, `${want} attack frames dropped (${dropped()} so far)`).catch(() => {});
  const now = relay.stats().dropped;
  const delta = Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]).filter(([, v]) => v > 0));
  m.close();
  return { delta, total: dropped(), want };
}

it('hub: RA, redirect, NA/NS naming others, a DHCP server, forged sources and hidden SYNs are dropped; the victims still talk', async () => {
  const relay = await startRelay({ mode: 'hub', maxConnections: 1, subnet: ['10.9.0.0/24', 'fd00:9::/64'] });
  const nodes = [];
  try {
    nodes.push(await relayStack(relay, { ip: '10.9.0.1/24', ipv6: 'fd00:9::1/64' }));
    nodes.push(await relayStack(relay, { ip: '10.9.0.2/24', ipv6: 'fd00:9::2/64' }));
    const [a, b] = nodes;
    assert.is(await echoOnce(a.stack, b.stack, '10.9.0.2', 'before'), 'before');
    const r = await attack(relay, {
      aIp6: ip6('fd00:9::1'), aMac: parseMac(a.nif.mac), gw6: ip6('fd00:9::2'), gwMac: parseMac(b.nif.mac), deniedPort: 25,
      v4: '10.9.0.66', expectDrops: 13,
    });
    // In a hub the SYNs behind extension headers are read for what they are, TCP to port
    // 25: the first is Mallory's one connection (--max-connections 1), the second is over
    // it. The chain that is too long, the lone later fragment and the rest are dropped.
    assert.equal(r.delta, { guard: 8, spoofed: 2, malformed: 1, fragment: 1, connections: 1 }, relay.lines.join('\n'));
    // The victims never heard a router, and reach each other on both families.
    const s = a.stack.socket(lwip.AF_INET6, lwip.SOCK_STREAM);
    assert.throws(() => s.connectSync('2001:db8::5', 80), (e) => e.code === 'ENETUNREACH', 'no router was learnt');
    s.close();
    assert.is(await echoOnce(a.stack, b.stack, '10.9.0.2', 'after'), 'after');
    // A genuinely fragmented datagram still arrives: fragment header, then a
    // destination-options header, then UDP; the later fragment follows the first.
    const u = b.stack.socket(lwip.AF_INET6, lwip.SOCK_DGRAM);
    u.bind('::', 7777);
    const m = rawClient(relay.url);
    await m.open();
    for (const f of fragmentedUdp(ip6('fd00:9::2'), parseMac(b.nif.mac), 7777, 1200)) m.send(f);
    const got = await u.recvfrom(4096, { timeout: 3000 });
    assert.is(got.data.length, 1200, 'both fragments arrived and were reassembled');
    u.close();
    m.close();
    const l = b.stack.socket(lwip.AF_INET6, lwip.SOCK_STREAM);
    l.bind('::', 7);
    l.listen(2);
    const c = a.stack.socket(lwip.AF_INET6, lwip.SOCK_STREAM);
    const [srv] = await Promise.all([l.accept(), c.connect('fd00:9::2', 7, { timeout: 5000 })]);
    await c.send('v6 after');
    assert.is(Buffer.from(await srv.recv()).toString(), 'v6 after');
    c.close();
    srv.close();
    l.close();
  } finally {
    for (const n of nodes) n.stack.dispose();
    await relay.close();
  }
}, 30_000);

tapTest('tap: the same attacks leave the host kernel\'s IPv6 routes and neighbours as they were', async () => {
  const { ns, dev } = uniqueNames();
  ip('netns', 'add', ns);
  let relay;
  const servers = [];
  const nodes = [];
  try {
    relay = await startRelay({
      mode: 'tap', tap: { name: dev, subnet: ['10.78.0.0/24', 'fd00:78::/64'] },
      allow: ['tcp/10.78.0.1:8078', 'tcp/[fd00:78::1]:8078', 'icmp/[fd00:78::1]'], deny: ['tcp/any:25'],
    });
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=0', `net.ipv6.conf.${dev}.accept_ra=1`, `net.ipv6.conf.${dev}.accept_redirects=1`]);
    ip('-n', ns, 'addr', 'add', '10.78.0.1/24', 'dev', dev);
    ip('-n', ns, '-6', 'addr', 'add', 'fd00:78::1/64', 'dev', dev, 'nodad');
    ip('-n', ns, '-6', 'addr', 'add', 'fd00:99::1/128', 'dev', 'lo');
    ip('-n', ns, 'link', 'set', dev, 'up');
    servers.push(nsServer(ns, '::', 8078, 'from the namespace\n'), nsServer(ns, '::', 25, 'smtp\n'));
    await Promise.all(servers.map((s) => s.ready));
    const a = await relayStack(relay, { ip: '10.78.0.2/24', ipv6: 'fd00:78::2/64', gateway: '10.78.0.1' });
    nodes.push(a);
    assert.is(await fetchText(a.stack, 'fd00:78::1', 8078).catch((e) => e.code ?? String(e)), 'from the namespace\n');
    const kernelMac = /link\/ether (\S+)/.exec(ip('-n', ns, 'link', 'show', dev))[1];
    const routes0 = ip('-n', ns, '-6', 'route', 'show');
    const neigh0 = ip('-n', ns, '-6', 'neigh', 'show', 'fd00:78::2');
    assert.match(neigh0, new RegExp(`lladdr ${a.nif.mac}`), `the kernel knows a: ${neigh0}`);
    const r = await attack(relay, {
      aIp6: ip6('fd00:78::2'), aMac: parseMac(a.nif.mac), gw6: ip6('fd00:78::1'), gwMac: parseMac(kernelMac), deniedPort: 25,
      v4: '10.78.0.66', expectDrops: 14,
    });
    // Every frame dropped; the SYNs behind extension headers judged as TCP to port 25.
    assert.equal(r.delta, { guard: 8, spoofed: 2, denied: 2, malformed: 1, fragment: 1 });
    // The control-traffic exemptions reach only where that traffic goes: a DHCP request
    // sent to the host rather than broadcast, and an NS with a payload to an address off
    // the segment (fd00:99::1, the namespace's loopback) are judged, and denied.
    const m = rawClient(relay.url);
    await m.open();
    const src4 = ip4('10.78.0.66');
    const dst4 = ip4('10.78.0.1');
    const before = relay.stats().dropped.denied;
    m.send(ether(parseMac(kernelMac), M, 0x0800, ipv4Packet({ src: src4, dst: dst4, proto: 17, payload: udpDatagram({ src: src4, dst: dst4, sport: 68, dport: 67, payload: new Uint8Array(300) }) })));
    m.send(icmp6(M_LL, ip6('fd00:99::1'), 135, cat([0, 0, 0, 0], ip6('fd00:99::1'), lla(1, M), [253, 4, ...new Uint8Array(30).fill(0x41)]), { dstMac: parseMac(kernelMac) }));
    await until(() => relay.stats().dropped.denied === before + 2, 3000, 'both judged and denied');
    m.close();
    await new Promise((res) => setTimeout(res, 300));
    assert.is(ip('-n', ns, '-6', 'route', 'show'), routes0, 'no route from the RA or the redirect');
    assert.not.match(ip('-n', ns, '-6', 'route', 'show'), /default/);
    assert.match(ip('-n', ns, '-6', 'neigh', 'show', 'fd00:78::2'), new RegExp(`lladdr ${a.nif.mac}`), 'the kernel still has a at its own MAC');
    assert.not.match(ip('-n', ns, '-6', 'addr', 'show'), /fd00:bad:/, 'no address in the RA\'s prefix');
    assert.is(servers[1].hits, 0, 'nothing reached port 25');
    assert.is(await fetchText(a.stack, 'fd00:78::1', 8078), 'from the namespace\n');
    assert.is(await fetchText(a.stack, '10.78.0.1', 8078), 'from the namespace\n');
  } finally {
    for (const n of nodes) n.stack.dispose();
    for (const s of servers) s.child.kill('SIGKILL');
    await relay?.close();
    deleteNamespace(ns);
  }
}, { ms: 40_000 });

test.run();
