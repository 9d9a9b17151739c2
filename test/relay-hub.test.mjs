// hub mode: Node stacks on one virtual LAN through a real relay (a learning switch
// between clients only), and anti-spoofing: a client may send only from its own MAC and
// addresses, while the others keep talking.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ether, ipv4Packet, udpDatagram, arpPacket, ip4, parseMac } from './frames.mjs';
import { it } from './helpers.mjs';
import { startRelay, relayStack, rawClient, until, lwip, sleep, echoOnce } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM, SOCK_DGRAM } = lwip;

function udpFrame({ srcMac, dstMac = 'ff:ff:ff:ff:ff:ff', srcIp, dstIp, payload = 'x' }) {
  const src = ip4(srcIp);
  const dst = ip4(dstIp);
  const data = new TextEncoder().encode(payload);
  return ether(parseMac(dstMac), parseMac(srcMac), 0x0800,
    ipv4Packet({ src, dst, proto: 17, payload: udpDatagram({ src, dst, sport: 5000, dport: 5001, payload: data }) }));
}

it('hub: three Node stacks reach each other over TCP through the relay, and nothing else is there', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const nodes = [];
  try {
    for (let i = 1; i <= 3; i++) nodes.push(await relayStack(relay, { ip: `10.9.0.${i}/24` }));
    const [a, b, c] = nodes.map((n) => n.stack);
    assert.is(await echoOnce(a, b, '10.9.0.2', 'a to b'), 'a to b');
    assert.is(await echoOnce(c, a, '10.9.0.1', 'c to a'), 'c to a');
    assert.is(await echoOnce(b, c, '10.9.0.3', 'b to c'), 'b to c');
    // An address no client owns: ARP goes unanswered, as on a LAN with no such host.
    const s = a.socket(AF_INET, SOCK_STREAM);
    const err = await s.connect('10.9.0.99', 80, { timeout: 8000 }).catch((e) => e);
    assert.is(err.code, 'EHOSTUNREACH');
    const st = relay.stats();
    assert.is(st.clients, 3);
    assert.equal(st.sessions.map((x) => x.ipv4).sort(), ['10.9.0.1', '10.9.0.2', '10.9.0.3']);
    assert.equal(new Set(st.sessions.map((x) => x.mac)).size, 3);
    assert.is(st.dropped.spoofed, 0);
  } finally {
    for (const n of nodes) n.stack.dispose();
    await relay.close();
  }
}, 30_000);

it('hub: a client cannot send from another MAC or IP, nor take one another client owns; the others keep working', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const nodes = [];
  const mallory = rawClient(relay.url);
  try {
    nodes.push(await relayStack(relay, { ip: '10.9.0.1/24' }));
    nodes.push(await relayStack(relay, { ip: '10.9.0.2/24' }));
    const [a, b] = nodes.map((n) => n.stack);
    assert.is(await echoOnce(a, b, '10.9.0.2', 'before'), 'before');
    const bMac = nodes[1].nif.mac;
    await mallory.open();
    // Mallory's first frame makes 02:00:00:00:00:66 and 10.9.0.66 hers.
    mallory.send(udpFrame({ srcMac: '02:00:00:00:00:66', srcIp: '10.9.0.66', dstIp: '10.9.0.255' }));
    await until(() => relay.stats().sessions.some((s) => s.ipv4 === '10.9.0.66'), 3000, 'mallory learned');
    const base = relay.stats().dropped.spoofed;
    // 1. Another MAC. 2. Her MAC but b's IP. 3. An ARP reply poisoning a's cache with b's IP.
    mallory.send(udpFrame({ srcMac: '02:00:00:00:00:67', srcIp: '10.9.0.66', dstIp: '10.9.0.1' }));
    mallory.send(udpFrame({ srcMac: '02:00:00:00:00:66', srcIp: '10.9.0.2', dstIp: '10.9.0.1' }));
    mallory.send(ether(parseMac(nodes[0].nif.mac), parseMac('02:00:00:00:00:66'), 0x0806, arpPacket({
      op: 2, sha: parseMac('02:00:00:00:00:66'), spa: ip4('10.9.0.2'), tha: parseMac(nodes[0].nif.mac), tpa: ip4('10.9.0.1'),
    })));
    await until(() => relay.stats().dropped.spoofed === base + 3, 3000, 'three spoofed drops');
    // A second raw client that opens with b's MAC is refused that MAC.
    const eve = rawClient(relay.url);
    await eve.open();
    eve.send(udpFrame({ srcMac: bMac, srcIp: '10.9.0.77', dstIp: '10.9.0.255' }));
    await until(() => relay.stats().dropped.spoofed === base + 4, 3000, 'the taken MAC refused');
    eve.close();
    // a still reaches b (its ARP entry was not poisoned) and b still reaches a.
    assert.is(await echoOnce(a, b, '10.9.0.2', 'after'), 'after');
    assert.is(await echoOnce(b, a, '10.9.0.1', 'and back'), 'and back');
    const m = relay.stats().sessions.find((s) => s.ipv4 === '10.9.0.66');
    assert.is(m.dropped.spoofed, 3);
    assert.ok(relay.lines.some((l) => /^client \d+: spoofed: .*02:00:00:00:00:67/.test(l)), relay.lines.join('\n'));
    // Logged once per client: three spoofed frames from mallory, one line.
    assert.is(relay.lines.filter((l) => l.startsWith(`client ${m.id}: spoofed`)).length, 1);
  } finally {
    mallory.close();
    for (const n of nodes) n.stack.dispose();
    await relay.close();
  }
}, 30_000);

it('hub: a spoofed UDP datagram never reaches its target', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const nodes = [];
  const mallory = rawClient(relay.url);
  try {
    nodes.push(await relayStack(relay, { ip: '10.9.0.1/24' }));
    nodes.push(await relayStack(relay, { ip: '10.9.0.2/24' }));
    const [a] = nodes.map((n) => n.stack);
    const u = a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 5001);
    await mallory.open();
    mallory.send(udpFrame({ srcMac: '02:00:00:00:00:66', srcIp: '10.9.0.66', dstIp: '10.9.0.1', dstMac: nodes[0].nif.mac, payload: 'genuine' }));
    const got = await u.recvfrom(2048, { timeout: 3000 });
    assert.is(Buffer.from(got.data).toString(), 'genuine');
    assert.is(got.address, '10.9.0.66');
    // The same datagram claiming to come from b: dropped at the relay.
    mallory.send(udpFrame({ srcMac: '02:00:00:00:00:66', srcIp: '10.9.0.2', dstIp: '10.9.0.1', dstMac: nodes[0].nif.mac, payload: 'forged' }));
    const err = await u.recvfrom(2048, { timeout: 500 }).catch((e) => e);
    assert.is(err.code, 'EAGAIN');
    u.close();
  } finally {
    mallory.close();
    for (const n of nodes) n.stack.dispose();
    await relay.close();
  }
}, 20_000);

test.run();
