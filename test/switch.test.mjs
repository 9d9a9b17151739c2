// The virtual switch: many stacks in one process on one ethernet segment. It learns
// MACs, sends unicast only where it belongs, floods the rest, and takes per-port faults
// by wrapping a port with impair().
import {
  createSwitch, Switch, SwitchPort, impair, VirtualClock, AF_INET, SOCK_STREAM, SOCK_DGRAM, SHUT_WR,
  SOL_SOCKET, SO_BROADCAST,
} from '../dist/index.js';
import {
  it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof, readExactly, rejectsCode, text,
} from './helpers.mjs';

const N = 4;

/** Wraps a link and records every frame that arrives through it. */
function spy(link) {
  const seen = [];
  return {
    seen,
    link: {
      get mtu() {
        return link.mtu;
      },
      attach(r) {
        link.attach({
          onFrames(frames) {
            seen.push(...frames);
            r.onFrames(frames);
          },
          onDrain: () => r.onDrain(),
          onClose: (e) => r.onClose(e),
        });
      },
      send: (f) => link.send(f),
      close: () => link.close(),
    },
  };
}

const macOf = (f, off) => [...f.subarray(off, off + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
const isGroup = (f) => (f[0] & 1) === 1;

/** N stacks on one switch: host i is 10.1.0.(i+1)/24 and fd01::(i+1)/64. */
async function lan(options = {}) {
  const { clock, impairments = {} } = options;
  const sw = createSwitch();
  const hosts = [];
  for (let i = 0; i < N; i++) {
    const stack = await createStack({ seed: 100 + i, clock });
    const port = sw.port();
    const link = impairments[i] ? impair(port, { clock, seed: i, ...impairments[i] }) : port;
    const watched = spy(link);
    const iface = stack.addInterface(watched.link, { ip: `10.1.0.${i + 1}/24`, ipv6: `fd01::${i + 1}/64` });
    hosts.push({ stack, port, link, seen: watched.seen, iface, ip: `10.1.0.${i + 1}`, ip6: `fd01::${i + 1}` });
  }
  return { sw, hosts, dispose: () => hosts.forEach((h) => h.stack.dispose()) };
}

it('every host reaches every other over TCP (IPv4 and IPv6) through one switch', async () => {
  const net = await lan();
  try {
    assert.instance(net.sw, Switch);
    assert.instance(net.hosts[0].port, SwitchPort);
    assert.equal(net.hosts.map((h) => h.port.id), [1, 2, 3, 4]);
    const jobs = [];
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        if (i === j) continue;
        const family = (i + j) % 2 ? 6 : 4;
        jobs.push((async () => {
          const [c, s, l] = await connectPair(net.hosts[i].stack, net.hosts[j].stack, {
            family, address: family === 6 ? net.hosts[j].ip6 : net.hosts[j].ip,
          });
          await c.send(`from ${i} to ${j}`);
          c.shutdown(SHUT_WR);
          assert.is(text(await readExactly(s, `from ${i} to ${j}`.length)), `from ${i} to ${j}`);
          for (const x of [c, s, l]) x.close();
        })());
      }
    }
    await Promise.all(jobs);
    const table = net.sw.macTable();
    for (const h of net.hosts) assert.is(table.get(h.iface.mac), h.port.id, `learned ${h.iface.mac} on port ${h.port.id}`);
  } finally {
    net.dispose();
  }
});

it('once MACs are learned, unicast between two hosts reaches no other port', async () => {
  const net = await lan();
  try {
    const [a, b, c] = net.hosts;
    const [x, y, l] = await connectPair(a.stack, b.stack, { address: b.ip });
    const from = c.seen.length;
    const payload = randomBytes(2 * 1024 * 1024, 8);
    const [, got] = await Promise.all([x.send(payload).then(() => x.shutdown(SHUT_WR)), drainToEof(y)]);
    assert.is(got.hash, sha256(payload));
    assert.ok(b.port.counters.framesOut > 1000, 'b received the transfer');
    const strays = c.seen.slice(from).filter((f) => !isGroup(f));
    assert.is(strays.length, 0, `c got ${strays.length} unicast frames meant for others`);
    for (const s of [x, y, l]) s.close();
  } finally {
    net.dispose();
  }
});

it('broadcast and multicast are flooded to every other port', async () => {
  const net = await lan();
  try {
    const [a, b, c, d] = net.hosts;
    const rx = [b, c, d].map((h) => {
      const s = h.stack.socket(AF_INET, SOCK_DGRAM);
      s.bind('0.0.0.0', 9999);
      return s;
    });
    const tx = a.stack.socket(AF_INET, SOCK_DGRAM);
    tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    await tx.sendto('to all', '10.1.0.255', 9999);
    for (const s of rx) assert.is(text((await s.recvfrom()).data), 'to all');
    const echoes = a.seen.filter((f) => macOf(f, 6) === a.iface.mac);
    assert.is(echoes.length, 0, 'the sender never gets its own frames back');
    for (const h of [b, c, d]) {
      assert.ok(h.seen.some((f) => macOf(f, 0) === 'ff:ff:ff:ff:ff:ff' && macOf(f, 6) === a.iface.mac), 'the broadcast frame reached every port');
    }
    // IPv6 neighbour discovery is multicast: a first contact works through the flood
    const [x, y, l] = await connectPair(c.stack, d.stack, { family: 6, address: d.ip6 });
    for (const s of [x, y, l, tx, ...rx]) s.close();
  } finally {
    net.dispose();
  }
});

it('per-port faults: a partitioned port cuts off one host only, and healing brings it back', async () => {
  const clock = new VirtualClock();
  const net = await lan({ clock, impairments: { 2: {} } });
  try {
    const [a, b, c] = net.hosts;
    c.link.set({ partition: true });
    const s = a.stack.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(clock.runUntil(s.connect(c.ip, 80, { timeout: 5000 })), 'EHOSTUNREACH', 'connect to the cut host');
    s.close();
    const [x, y, l] = await clock.runUntil(connectPair(a.stack, b.stack, { address: b.ip }));
    await clock.runUntil(x.send('still fine'));
    assert.is(text(await clock.runUntil(readExactly(y, 10))), 'still fine');
    c.link.set({ partition: false });
    const [x2, y2, l2] = await clock.runUntil(connectPair(a.stack, c.stack, { address: c.ip }));
    await clock.runUntil(x2.send('back'));
    assert.is(text(await clock.runUntil(readExactly(y2, 4))), 'back');
    assert.ok(c.link.counters.in.partitionDrops + c.link.counters.out.partitionDrops > 0);
    for (const z of [x, y, l, x2, y2, l2]) z.close();
  } finally {
    net.dispose();
  }
});

it('a lossy port still carries a transfer intact, and other ports stay clean', async () => {
  const clock = new VirtualClock();
  const net = await lan({ clock, impairments: { 1: { loss: 0.05, duplicate: 0.01, reorder: 0.05 } } });
  try {
    const [a, b] = net.hosts;
    const payload = randomBytes(4 * 1024 * 1024, 9);
    const got = await clock.runUntil((async () => {
      const [x, y] = await connectPair(a.stack, b.stack, { address: b.ip });
      const reader = drainToEof(y);
      for (let off = 0; off < payload.length; off += 65536) await x.send(payload.subarray(off, off + 65536));
      x.shutdown(SHUT_WR);
      return reader;
    })(), { timeLimit: 24 * 3600_000 });
    assert.is(got.hash, sha256(payload));
    assert.ok(b.link.counters.in.lost > 0, 'the lossy port lost frames');
  } finally {
    net.dispose();
  }
}, 30_000);

it('closing a port unplugs its host: the switch forgets its MACs, the others carry on', async () => {
  const net = await lan();
  try {
    const [a, b, , d] = net.hosts;
    const [x, y, l] = await connectPair(a.stack, d.stack, { address: d.ip });
    assert.ok(net.sw.macTable().has(d.iface.mac));
    d.port.close();
    assert.ok(d.port.closed);
    assert.not.ok(net.sw.macTable().has(d.iface.mac), 'its MAC is forgotten');
    assert.is(net.sw.ports.length, N - 1);
    assert.is(d.port.send(new Uint8Array(60)), false, 'a closed port takes no frames');
    const [x2, y2, l2] = await connectPair(a.stack, b.stack, { address: b.ip });
    await x2.send('ok');
    assert.is(text(await readExactly(y2, 2)), 'ok');
    for (const z of [x, y, l, x2, y2, l2]) z.close();
  } finally {
    net.dispose();
  }
});

test('frames shorter than an ethernet header are dropped and counted; bad options throw', () => {
  const sw = createSwitch({ mtu: 9000 });
  const p = sw.port();
  const q = sw.port();
  assert.is(p.mtu, 9000);
  assert.ok(p.send(new Uint8Array(5)));
  assert.is(p.counters.dropped, 1);
  assert.is(q.counters.flooded, 0);
  assert.throws(() => p.send('frame'), TypeError);
  assert.throws(() => createSwitch({ mtu: 100 }), RangeError);
  assert.throws(() => createSwitch({ highWaterMark: 0 }), RangeError);
  assert.throws(() => createSwitch(null), TypeError);
  p.attach({ onFrames() {}, onDrain() {}, onClose() {} });
  assert.throws(() => p.attach({ onFrames() {}, onDrain() {}, onClose() {} }), /already attached/);
  sw.close();
  assert.is(sw.ports.length, 0);
  assert.throws(() => sw.port(), /closed/);
});

test.run();
