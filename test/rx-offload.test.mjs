// Frames carrying a TAP's offload hints (checksums partial, a segment over the MTU and
// the size to cut it to), as a kernel on a bridge with GRO could pass along whatever a
// peer sent. A host takes them as they are; a router cuts and completes them
// (wasm/rx_gso.c). Whatever the bytes and the hints, nothing crashes, nothing leaks,
// and a router passes on nothing over the next link's MTU; what it cuts and completes
// arrives with every checksum right.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AF_INET6, SOCK_DGRAM, createPair } from '../dist/index.js';
import { createStack, sleep } from './helpers.mjs';
import { Rng, cat, ether, ip4, ip6, ipv4Packet, ipv6Packet, parseMac, tcpSegment, udpDatagram, tapLink } from './frames.mjs';
import { poolDiff } from './fuzz-harness.mjs';

const PARTIAL = 2; // lw_rx flags (wasm/lw_const.h): checksums vouched for, perhaps partial
const GSO_SHIFT = 16;

/** A link the test feeds by hand, with per-frame hints, as a TAP with offload does. */
function handLink(mtu = 1500) {
  const link = {
    mtu,
    receiver: undefined,
    attach(r) {
      link.receiver = r;
    },
    send: () => true,
    close() {},
  };
  return link;
}

/** A frame of the kinds the kernel offloads (TCP and UDP over IPv4 and IPv6), or junk, then maybe mangled. */
function hostileFrame(r, dstMac) {
  const src = ip4('10.77.0.9');
  const dst = ip4('10.88.0.2');
  const src6 = ip6('fd77::9');
  const dst6 = ip6('fd88::2');
  const mac = parseMac('02:00:00:00:77:09');
  const payload = r.bytes(r.chance(0.5) ? r.below(60000) : r.below(3000));
  const kind = r.below(10);
  let f;
  if (kind < 6) {
    const seg = tcpSegment(r, { src, dst, sport: 40000 + r.below(100), dport: 7000, seq: r.u32(), ack: r.u32(), flags: r.pick([0x10, 0x18, 0x19, 0x02, 0x11, 0x98]), payload });
    f = ether(dstMac, mac, 0x0800, ipv4Packet({ src, dst, proto: 6, payload: seg, df: true, id: r.below(65536) }));
  } else if (kind < 7) {
    const seg = tcpSegment(r, { src: src6, dst: dst6, sport: 40000, dport: 7000, seq: r.u32(), ack: r.u32(), flags: 0x18, payload: payload.subarray(0, 60000) });
    f = ether(dstMac, mac, 0x86dd, ipv6Packet({ src: src6, dst: dst6, next: 6, payload: seg }));
  } else if (kind < 9) {
    const u = udpDatagram({ src, dst, sport: 5000, dport: 9999, payload: payload.subarray(0, 1400) });
    f = ether(dstMac, mac, 0x0800, ipv4Packet({ src, dst, proto: 17, payload: u }));
  } else {
    f = cat(dstMac, mac, r.bytes(2 + r.below(200)));
  }
  if (f.length > 65535) f = f.subarray(0, 65535);
  if (r.chance(0.5)) {
    f = Uint8Array.from(f);
    const n = 1 + r.below(4);
    for (let i = 0; i < n; i++) f[12 + r.below(Math.min(f.length - 12, 100))] = r.u32() & 0xff; // headers and lengths
  }
  if (r.chance(0.15)) f = f.subarray(0, r.below(f.length + 1)); // cut short
  return f;
}

for (const forwarding of [true, false]) {
  test(`${forwarding ? 'a router' : 'a host'}: 3,000 hostile frames with offload hints crash nothing and leak nothing`, async () => {
    const router = await createStack({ seed: 21 });
    const host = await createStack({ seed: 22 });
    try {
      router.setForwarding(forwarding);
      const hand = handLink();
      const a = router.addInterface(hand, { ip: '10.77.0.1/24', ipv6: 'fd77::1/64' });
      const [ra, rb] = createPair({ offload: false });
      let largest = 0;
      router.addInterface(ra, { ip: '10.88.0.1/24', ipv6: 'fd88::1/64' });
      const h = host.addInterface(tapLink(rb, (f, sent) => {
        if (!sent) largest = Math.max(largest, f.length);
      }), { ip: '10.88.0.2/24', ipv6: 'fd88::2/64', gateway: '10.88.0.1' });
      router.interfaces.find((i) => i.index !== a.index)?.addNeighbor('10.88.0.2', h.mac);
      const before = router.memory();
      const r = new Rng(forwarding ? 7 : 8);
      const dstMac = parseMac(a.mac);
      for (let batch = 0; batch < 100; batch++) {
        const frames = [];
        const flags = [];
        for (let i = 0; i < 30; i++) {
          frames.push(hostileFrame(r, dstMac));
          const gso = r.pick([0, 0, 1, 8, 536, 1448, 1460, 2000, 65535, r.below(65536)]);
          flags.push(r.chance(0.8) ? PARTIAL | (gso << GSO_SHIFT) : 0);
        }
        hand.receiver.onFrames(frames, flags);
        if (batch % 10 === 9) await sleep(5);
      }
      await sleep(50);
      const st = router.stats();
      assert.ok(st.link.recv > 0, 'the router took frames');
      assert.ok(largest <= 1514, `the host was sent nothing over its MTU (largest ${largest})`);
      const hs = host.stats();
      if (forwarding) assert.ok(hs.link.recv > 0, 'the router passed frames on');
      // Packets for neighbours not yet resolved wait in ARP's and ND's queues (bounded,
      // freed when resolution gives up); nothing else may stay.
      const held = poolDiff(router.memory(), before);
      delete held.ARP_QUEUE;
      delete held.ND6_QUEUE;
      assert.equal(held, {}, 'the router holds nothing more than before');
    } finally {
      router.dispose();
      host.dispose();
    }
  });
}

test('a router cuts well-formed segments with partial checksums to the hinted size, and completes every checksum', async () => {
  const router = await createStack({ seed: 31 });
  const host = await createStack({ seed: 32 });
  try {
    router.setForwarding(true);
    const hand = handLink();
    const a = router.addInterface(hand, { ip: '10.77.0.1/24', ipv6: 'fd77::1/64' });
    const [ra, rb] = createPair({ offload: false });
    let largest = 0;
    const b = router.addInterface(ra, { ip: '10.88.0.1/24', ipv6: 'fd88::1/64' });
    const h = host.addInterface(tapLink(rb, (f, sent) => {
      if (!sent) largest = Math.max(largest, f.length);
    }), { ip: '10.88.0.2/24', ipv6: 'fd88::2/64' });
    b.addNeighbor('10.88.0.2', h.mac);
    // resolve the host's IPv6 address first, so nothing waits in ND's (bounded) queue
    const probe = router.socket(AF_INET6, SOCK_DGRAM);
    probe.sendto(new Uint8Array(1), 'fd88::2', 9);
    await sleep(50);
    probe.close();
    const r = new Rng(33);
    const mac = parseMac('02:00:00:00:77:09');
    const dstMac = parseMac(a.mac);
    let pieces = 0;
    let datagrams = 1; // the probe
    const frames = [];
    const flags = [];
    for (let i = 0; i < 200; i++) {
      const v6 = r.chance(0.3);
      const [src, dst] = v6 ? [ip6('fd77::9'), ip6('fd88::2')] : [ip4('10.77.0.9'), ip4('10.88.0.2')];
      let l4;
      let gso = 0;
      if (r.chance(0.8)) {
        gso = r.pick([536, 1000, 1220, v6 ? 1440 : 1460]); // what fits the MTU, as the kernel's MSS does
        const payload = r.bytes(1 + r.below(60000));
        l4 = tcpSegment(r, { src, dst, sport: 40000, dport: 7000, seq: r.u32(), ack: r.u32(), flags: 0x18, payload, options: new Uint8Array(0) });
        l4[16] = r.u32() & 0xff; // what the kernel leaves: a partial sum, not the checksum
        pieces += Math.ceil(payload.length / gso);
      } else {
        l4 = udpDatagram({ src, dst, sport: 5000, dport: 9999, payload: r.bytes(1 + r.below(1400)) });
        l4[6] ^= 0x5a;
        datagrams++;
      }
      const ip = v6 ? ipv6Packet({ src, dst, next: l4.length > 20 && gso ? 6 : 17, payload: l4 })
        : ipv4Packet({ src, dst, proto: gso ? 6 : 17, payload: l4, df: true, id: i });
      frames.push(ether(dstMac, mac, v6 ? 0x86dd : 0x0800, ip));
      flags.push(PARTIAL | (gso << GSO_SHIFT));
    }
    for (let i = 0; i < frames.length; i += 20) hand.receiver.onFrames(frames.slice(i, i + 20), flags.slice(i, i + 20));
    await sleep(100);
    const hs = host.stats();
    assert.ok(largest <= 1514, `nothing over the MTU (largest ${largest})`);
    assert.is(hs.tcp.chkerr + hs.udp.chkerr + hs.ip.chkerr, 0, 'every checksum right');
    assert.is(hs.tcp.recv, pieces, `every segment arrived, cut to its hinted size (router: ${JSON.stringify(b.counters)})`);
    assert.is(hs.udp.recv, datagrams, 'every datagram arrived');
  } finally {
    router.dispose();
    host.dispose();
  }
});

test.run();
