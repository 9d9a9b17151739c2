// setsockopt/getsockopt: every option docs/socket-options.md lists, read back with the
// values Linux reports, refused with the errno Linux gives, and each one shown to change
// what happens on the wire or at the peer (not merely stored).
import {
  createPair, impair, VirtualClock, SocketError,
  AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IP, IPPROTO_IPV6,
  SO_REUSEADDR, SO_REUSEPORT, SO_TYPE, SO_PROTOCOL, SO_DOMAIN, SO_ERROR, SO_ACCEPTCONN, SO_BROADCAST,
  SO_SNDBUF, SO_RCVBUF, SO_RCVLOWAT, SO_RCVTIMEO, SO_SNDTIMEO, SO_KEEPALIVE, SO_LINGER, SO_PEEK_OFF,
  TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT,
  IP_TTL, IP_TOS, IP_MULTICAST_TTL, IP_MULTICAST_LOOP, IP_MULTICAST_IF, IP_ADD_MEMBERSHIP, IP_DROP_MEMBERSHIP,
  IPV6_V6ONLY, IPV6_UNICAST_HOPS, IPV6_TCLASS, IPV6_JOIN_GROUP, IPV6_LEAVE_GROUP, IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF, IPV6_MULTICAST_LOOP, POLLIN, POLLOUT, ECONNREFUSED, SHUT_WR,
} from '../dist/index.js';
import {
  it, test, assert, createStack, twoStacks, connectPair, throwsCode, rejectsCode, readExactly, readToEof,
  text, pollFor, waitUntil, sleep, randomBytes, sha256,
} from './helpers.mjs';
import { tapLink, parseTcp } from './frames.mjs';

const TCP_FIN = 0x01;
const TCP_RST = 0x04;

/** Two stacks like twoStacks(), with every frame through a's link recorded ({ f, out }). */
async function watchedNet(opts = {}) {
  const { clock } = opts;
  const a = await createStack({ seed: 1, ...opts });
  const b = await createStack({ seed: 2, ...opts });
  const [la, lb] = createPair();
  const frames = [];
  const inner = opts.impair ? impair(la, { clock, seed: 3 }) : la;
  const link = tapLink(inner, (f, out) => frames.push({ f: f.slice(), out }));
  a.addInterface(link, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  return { a, b, frames, impaired: inner, dispose: () => { a.dispose(); b.dispose(); } };
}

/** IP header fields of a frame: version, ttl (hop limit), tos (traffic class), protocol. */
function ipOf(f) {
  const type = (f[12] << 8) | f[13];
  if (type === 0x0800) return { v: 4, tos: f[15], ttl: f[22], proto: f[23], dst: [...f.subarray(30, 34)].join('.') };
  if (type === 0x86dd) return { v: 6, tos: ((f[14] & 15) << 4) | (f[15] >> 4), ttl: f[21], proto: f[20] };
  return null;
}

/** a's outgoing TCP segments from index `from` on, parsed. */
const tcpOut = (frames, from = 0) => frames.slice(from).filter((x) => x.out).map((x) => parseTcp(x.f)).filter(Boolean);

/** Lets frames flow for a few macrotasks (the pair delivers one macrotask later). */
const settle = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

// --- defaults and round trips ------------------------------------------------------------

it('a TCP socket reads back Linux defaults; UDP ones too', async () => {
  const s = await createStack();
  try {
    const t = s.socket(AF_INET, SOCK_STREAM);
    const want = [
      [SOL_SOCKET, SO_TYPE, SOCK_STREAM], [SOL_SOCKET, SO_PROTOCOL, IPPROTO_TCP], [SOL_SOCKET, SO_DOMAIN, AF_INET],
      [SOL_SOCKET, SO_ERROR, 0], [SOL_SOCKET, SO_ACCEPTCONN, 0], [SOL_SOCKET, SO_REUSEADDR, 0],
      [SOL_SOCKET, SO_KEEPALIVE, 0], [SOL_SOCKET, SO_RCVLOWAT, 1], [SOL_SOCKET, SO_RCVTIMEO, 0],
      [SOL_SOCKET, SO_SNDTIMEO, 0], [SOL_SOCKET, SO_PEEK_OFF, -1], [SOL_SOCKET, SO_RCVBUF, 524288],
      [SOL_SOCKET, SO_SNDBUF, 524288], [IPPROTO_TCP, TCP_NODELAY, 0], [IPPROTO_TCP, TCP_MAXSEG, 536],
      [IPPROTO_TCP, TCP_KEEPIDLE, 7200], [IPPROTO_TCP, TCP_KEEPINTVL, 75], [IPPROTO_TCP, TCP_KEEPCNT, 9],
      [IPPROTO_IP, IP_TTL, 64], [IPPROTO_IP, IP_TOS, 0],
    ];
    for (const [level, name, v] of want) assert.is(t.getsockopt(level, name), v, `tcp ${level}/${name}`);
    assert.equal(t.getsockopt(SOL_SOCKET, SO_LINGER), { onoff: false, linger: 0 });

    const u = s.socket(AF_INET6, SOCK_DGRAM);
    const wantU = [
      [SOL_SOCKET, SO_TYPE, SOCK_DGRAM], [SOL_SOCKET, SO_PROTOCOL, IPPROTO_UDP], [SOL_SOCKET, SO_DOMAIN, AF_INET6],
      [SOL_SOCKET, SO_RCVBUF, 212992], [SOL_SOCKET, SO_SNDBUF, 212992], [IPPROTO_IPV6, IPV6_V6ONLY, 0],
      [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 64], [IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 1],
      [IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1], [IPPROTO_IPV6, IPV6_MULTICAST_IF, 0], [IPPROTO_IPV6, IPV6_TCLASS, 0],
    ];
    for (const [level, name, v] of wantU) assert.is(u.getsockopt(level, name), v, `udp6 ${level}/${name}`);
    const u4 = s.socket(AF_INET, SOCK_DGRAM);
    assert.is(u4.getsockopt(IPPROTO_IP, IP_MULTICAST_TTL), 1);
    assert.is(u4.getsockopt(IPPROTO_IP, IP_MULTICAST_LOOP), 1);
    assert.is(u4.getsockopt(IPPROTO_IP, IP_MULTICAST_IF), '0.0.0.0');
  } finally {
    s.dispose();
  }
});

it('set then get round-trips with the values Linux reads back', async () => {
  const s = await createStack();
  try {
    const t = s.socket(AF_INET, SOCK_STREAM);
    const cases = [
      // [level, name, set, read back]
      [SOL_SOCKET, SO_RCVBUF, 4096, 8192], [SOL_SOCKET, SO_SNDBUF, 4096, 8192],
      [SOL_SOCKET, SO_RCVBUF, 1, 2304], [SOL_SOCKET, SO_SNDBUF, 1, 4608], // SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF
      [SOL_SOCKET, SO_RCVBUF, 0, 2304], [SOL_SOCKET, SO_SNDBUF, 0, 4608],
      [SOL_SOCKET, SO_RCVBUF, 1 << 30, 524288], [SOL_SOCKET, SO_SNDBUF, 1 << 30, 2097152], // rmem_max and wmem_max, doubled
      [SOL_SOCKET, SO_RCVBUF, -1, 524288], [SOL_SOCKET, SO_SNDBUF, -1, 2097152], // Linux compares as u32
      [SOL_SOCKET, SO_RCVBUF, 100000, 200000],
      [SOL_SOCKET, SO_RCVLOWAT, 0, 1], [SOL_SOCKET, SO_RCVLOWAT, 5, 5],
      [SOL_SOCKET, SO_RCVLOWAT, -1, 100000], // Linux: INT_MAX, capped at half the receive buffer for TCP
      [SOL_SOCKET, SO_RCVLOWAT, 1 << 30, 100000],
      [SOL_SOCKET, SO_KEEPALIVE, 5, 1], [SOL_SOCKET, SO_KEEPALIVE, true, 1], [SOL_SOCKET, SO_KEEPALIVE, false, 0],
      [SOL_SOCKET, SO_REUSEADDR, 1, 1], [SOL_SOCKET, SO_REUSEPORT, 1, 1], [SOL_SOCKET, SO_BROADCAST, 1, 1],
      [SOL_SOCKET, SO_RCVTIMEO, 1500, 1500], [SOL_SOCKET, SO_SNDTIMEO, 250, 250],
      [SOL_SOCKET, SO_RCVTIMEO, -5, 0], // Linux: a negative time means no timeout
      [SOL_SOCKET, SO_PEEK_OFF, 3, 3], [SOL_SOCKET, SO_PEEK_OFF, -1, -1],
      [IPPROTO_TCP, TCP_NODELAY, 5, 1], [IPPROTO_TCP, TCP_MAXSEG, 1000, 1000], [IPPROTO_TCP, TCP_MAXSEG, 88, 88],
      [IPPROTO_TCP, TCP_KEEPIDLE, 32767, 32767], [IPPROTO_TCP, TCP_KEEPINTVL, 1, 1], [IPPROTO_TCP, TCP_KEEPCNT, 127, 127],
      [IPPROTO_IP, IP_TTL, 1, 1], [IPPROTO_IP, IP_TTL, 255, 255], [IPPROTO_IP, IP_TTL, -1, 64],
      // TCP: Linux keeps the ECN bits to itself, so they read back cleared; values wrap to 8 bits
      [IPPROTO_IP, IP_TOS, 0x1f, 0x1c], [IPPROTO_IP, IP_TOS, 256, 0], [IPPROTO_IP, IP_TOS, -1, 0xfc],
    ];
    for (const [level, name, v, back] of cases) {
      t.setsockopt(level, name, v);
      assert.is(t.getsockopt(level, name), back, `set ${level}/${name} = ${v}`);
    }
    t.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 7 });
    assert.equal(t.getsockopt(SOL_SOCKET, SO_LINGER), { onoff: true, linger: 7 });
    t.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: false, linger: 0 });
    assert.equal(t.getsockopt(SOL_SOCKET, SO_LINGER), { onoff: false, linger: 0 });

    const u = s.socket(AF_INET, SOCK_DGRAM);
    const casesU = [
      [IPPROTO_IP, IP_TOS, 0x1f, 0x1f], [IPPROTO_IP, IP_TOS, -1, 0xff], // UDP keeps the ECN bits
      [IPPROTO_IP, IP_MULTICAST_TTL, 9, 9], [IPPROTO_IP, IP_MULTICAST_TTL, -1, 1],
      [IPPROTO_IP, IP_MULTICAST_LOOP, 0, 0], [IPPROTO_IP, IP_MULTICAST_LOOP, 2, 1],
      [SOL_SOCKET, SO_RCVLOWAT, 1 << 30, 1 << 30], [SOL_SOCKET, SO_KEEPALIVE, 1, 1], // stored on UDP, as Linux
    ];
    for (const [level, name, v, back] of casesU) {
      u.setsockopt(level, name, v);
      assert.is(u.getsockopt(level, name), back, `udp set ${level}/${name} = ${v}`);
    }
    u.setsockopt(IPPROTO_IP, IP_MULTICAST_IF, '127.0.0.1');
    assert.is(u.getsockopt(IPPROTO_IP, IP_MULTICAST_IF), '127.0.0.1');

    const t6 = s.socket(AF_INET6, SOCK_STREAM);
    const cases6 = [
      [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 0, 0], [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 255],
      [IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1, 64], [IPPROTO_IPV6, IPV6_TCLASS, 0x1f, 0x1c],
      [IPPROTO_IPV6, IPV6_TCLASS, -1, 0], [IPPROTO_IPV6, IPV6_V6ONLY, 1, 1], [IPPROTO_IPV6, IPV6_V6ONLY, 0, 0],
      [IPPROTO_IP, IP_TTL, 5, 5], // an IPv6 socket takes IPv4 options too (for its mapped traffic)
    ];
    for (const [level, name, v, back] of cases6) {
      t6.setsockopt(level, name, v);
      assert.is(t6.getsockopt(level, name), back, `tcp6 set ${level}/${name} = ${v}`);
    }
  } finally {
    s.dispose();
  }
});

it('bad level, option or value: the errno Linux gives; a closed socket: EBADF', async () => {
  const s = await createStack();
  try {
    const t = s.socket(AF_INET, SOCK_STREAM);
    const u = s.socket(AF_INET, SOCK_DGRAM);
    const t6 = s.socket(AF_INET6, SOCK_STREAM);
    const set = (sock, level, name, v) => () => sock.setsockopt(level, name, v);
    const get = (sock, level, name) => () => sock.getsockopt(level, name);
    throwsCode(set(t, 999, 1, 1), 'ENOPROTOOPT', 'unknown level');
    throwsCode(get(t, 999, 1), 'ENOPROTOOPT', 'unknown level (get)');
    throwsCode(set(t, SOL_SOCKET, 9999, 1), 'ENOPROTOOPT', 'unknown SOL_SOCKET option');
    throwsCode(get(t, SOL_SOCKET, 9999), 'ENOPROTOOPT', 'unknown SOL_SOCKET option (get)');
    throwsCode(set(t, IPPROTO_TCP, 9999, 1), 'ENOPROTOOPT', 'unknown TCP option');
    for (const ro of [SO_TYPE, SO_ERROR, SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN]) {
      throwsCode(set(t, SOL_SOCKET, ro, 1), 'ENOPROTOOPT', `read-only ${ro}`);
    }
    throwsCode(set(t, SOL_SOCKET, 12 /* SO_PRIORITY */, 1), 'ENOPROTOOPT', 'SO_PRIORITY is not offered');
    throwsCode(set(t, IPPROTO_TCP, 3 /* TCP_CORK */, 1), 'ENOPROTOOPT', 'TCP_CORK is not offered');
    throwsCode(set(u, IPPROTO_TCP, TCP_NODELAY, 1), 'ENOPROTOOPT', 'a TCP option on UDP');
    throwsCode(get(u, IPPROTO_TCP, TCP_NODELAY), 'ENOPROTOOPT', 'a TCP option on UDP (get)');
    throwsCode(set(t, IPPROTO_IPV6, IPV6_V6ONLY, 1), 'ENOPROTOOPT', 'an IPv6 option on an IPv4 socket');
    // multicast options on TCP, as Linux answers each
    throwsCode(set(t, IPPROTO_IP, IP_MULTICAST_TTL, 1), 'EINVAL', 'IP_MULTICAST_TTL on TCP');
    throwsCode(set(t, IPPROTO_IP, IP_MULTICAST_IF, '127.0.0.1'), 'EINVAL', 'IP_MULTICAST_IF on TCP');
    t.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0); // Linux accepts it on TCP (no effect)
    throwsCode(set(t, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3' }), 'EPROTO', 'IP_ADD_MEMBERSHIP on TCP');
    throwsCode(set(t6, IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff15::1' }), 'EPROTO', 'IPV6_JOIN_GROUP on TCP');
    throwsCode(set(t6, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 3), 'ENOPROTOOPT', 'IPV6_MULTICAST_HOPS on TCP');
    // out-of-range values
    const bad = [
      [t, IPPROTO_TCP, TCP_KEEPIDLE, 0], [t, IPPROTO_TCP, TCP_KEEPIDLE, 32768], [t, IPPROTO_TCP, TCP_KEEPINTVL, 0],
      [t, IPPROTO_TCP, TCP_KEEPCNT, 0], [t, IPPROTO_TCP, TCP_KEEPCNT, 128], [t, IPPROTO_TCP, TCP_MAXSEG, 87],
      [t, IPPROTO_TCP, TCP_MAXSEG, 32768], [t, IPPROTO_IP, IP_TTL, 0], [t, IPPROTO_IP, IP_TTL, 256],
      [t6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256], [t6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -2],
      [t6, IPPROTO_IPV6, IPV6_TCLASS, 256], [t6, IPPROTO_IPV6, IPV6_TCLASS, -2], [u, IPPROTO_IP, IP_MULTICAST_TTL, 256],
      [u, IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '10.1.2.3' }],
    ];
    for (const [sock, level, name, v] of bad) throwsCode(set(sock, level, name, v), 'EINVAL', `${level}/${name} = ${JSON.stringify(v)}`);
    throwsCode(set(u, IPPROTO_IP, IP_DROP_MEMBERSHIP, { multiaddr: '239.1.2.3' }), 'EADDRNOTAVAIL', 'drop a group never joined');
    // values of the wrong shape never reach the wasm
    assert.throws(() => t.setsockopt(SOL_SOCKET, SO_LINGER, 1), TypeError);
    assert.throws(() => t.setsockopt(SOL_SOCKET, SO_RCVBUF, 1.5), TypeError);
    assert.throws(() => t.setsockopt(SOL_SOCKET, SO_RCVBUF, '4096'), TypeError);
    assert.throws(() => u.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: 'nope' }), TypeError);
    assert.throws(() => t.setsockopt('1', SO_RCVBUF, 1), TypeError);
    t.close();
    throwsCode(set(t, SOL_SOCKET, SO_RCVBUF, 1), 'EBADF', 'setsockopt on a closed socket');
    throwsCode(get(t, SOL_SOCKET, SO_TYPE), 'EBADF', 'getsockopt on a closed socket');
  } finally {
    s.dispose();
  }
});

// --- read-only options -------------------------------------------------------------------

it('SO_ERROR returns a refused connect once, then 0; SO_ACCEPTCONN follows listen()', async () => {
  const net = await twoStacks();
  try {
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => c.connectSync('10.0.0.2', 9), 'EINPROGRESS');
    assert.ok((await pollFor(net.a, c, POLLOUT, 3000)) & POLLOUT, 'the refused connect completes');
    assert.is(c.getsockopt(SOL_SOCKET, SO_ERROR), ECONNREFUSED, 'SO_ERROR is ECONNREFUSED');
    assert.is(c.getsockopt(SOL_SOCKET, SO_ERROR), 0, 'reading SO_ERROR cleared it');

    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    assert.is(l.getsockopt(SOL_SOCKET, SO_ACCEPTCONN), 0, 'bound, not listening');
    l.listen(4);
    assert.is(l.getsockopt(SOL_SOCKET, SO_ACCEPTCONN), 1, 'listening');
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    const [conn] = await Promise.all([l.accept(), c2.connect('10.0.0.2', l.getsockname().port)]);
    assert.is(conn.getsockopt(SOL_SOCKET, SO_ACCEPTCONN), 0, 'an accepted connection does not listen');
  } finally {
    net.dispose();
  }
});

// --- buffers -----------------------------------------------------------------------------

it('SO_RCVBUF caps the window: unread data stops at the requested size, and flows on as it is read', async () => {
  const net = await twoStacks();
  try {
    // The receiver is the connecting side, which sets SO_RCVBUF before its handshake.
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen(4);
    const c = net.a.socket(AF_INET, SOCK_STREAM);
    c.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    const [s] = await Promise.all([l.accept(), c.connect('10.0.0.2', l.getsockname().port)]);
    const data = randomBytes(64 * 1024, 7);
    const sending = s.send(data);
    await waitUntil(() => c.pending > 0, 2000);
    await sleep(100); // many round trips: enough for any window to fill
    const held = c.pending;
    assert.ok(held > 0 && held <= 4096, `unread bytes ${held} stay within the 4096-byte window`);
    const t0 = performance.now();
    const got = await readExactly(c, data.length);
    await sending;
    assert.is(sha256(got), sha256(data), 'everything arrives intact once read');
    // 16 windows of 4 KiB: window updates, not retransmission timeouts (1 s or more each)
    assert.ok(performance.now() - t0 < 3000, 'the transfer is paced by window updates');

    // An accepted socket inherits the listener's SO_RCVBUF. Its SYN-ACK already offered
    // 64 KiB (lwIP has no hook before it), so the cap holds from the second window on.
    const l2 = net.b.socket(AF_INET, SOCK_STREAM);
    l2.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    l2.bind('0.0.0.0', 0);
    l2.listen(4);
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    const [s2] = await Promise.all([l2.accept(), c2.connect('10.0.0.2', l2.getsockname().port)]);
    assert.is(s2.getsockopt(SOL_SOCKET, SO_RCVBUF), 8192, 'inherited from the listener');
    const sending2 = c2.send(data);
    await waitUntil(() => s2.pending > 0, 2000);
    await sleep(100);
    assert.ok(s2.pending <= 65535, `first window: at most what the SYN-ACK offered (${s2.pending})`);
    const first = (await readExactly(s2, s2.pending)).length;
    const more = c2.send(data);
    await sleep(100);
    assert.ok(s2.pending > 0 && s2.pending <= 4096, `then within 4096 (${s2.pending})`);
    await readExactly(s2, 2 * data.length - first);
    await Promise.all([sending2, more]);

    // the same without SO_RCVBUF: the default window takes the whole 64 KiB unread
    const [c3, s3] = await connectPair(net.a, net.b);
    const sending3 = c3.send(data);
    assert.ok(await waitUntil(() => s3.pending === data.length, 3000), `default window holds all 64 KiB (got ${s3.pending})`);
    await sending3;
  } finally {
    net.dispose();
  }
});

it('autotuning: a TCP receive buffer never sized grows to 2 x TCP_WND while its reader keeps up; a sized one stays; slow reads or none, no growth', async () => {
  const net = await twoStacks();
  try {
    const DEFAULT = 524288; // 256 KiB, doubled as Linux reports it
    const [c, s] = await connectPair(net.a, net.b);
    assert.equal([c.getsockopt(SOL_SOCKET, SO_SNDBUF), s.getsockopt(SOL_SOCKET, SO_RCVBUF)], [DEFAULT, DEFAULT]);
    const chunk = randomBytes(2 * 1024 * 1024, 11);

    /** Sends total bytes from `from` while `to` reads them as they come. */
    const bulk = async (from, to, total) => {
      const reading = (async () => {
        for (let got = 0; got < total; ) got += (await to.recv(1024 * 1024)).length;
      })();
      for (let sent = 0; sent < total; sent += chunk.length) await from.send(chunk);
      await reading;
    };
    /** Sends 2 MiB nobody reads; resolves the bytes queued at the receiver once they stop growing. */
    const stalled = async (from, to) => {
      const sending = from.send(chunk);
      sending.catch(() => {}); // awaited later; a failed assertion first must not leave it unhandled
      await waitUntil(() => to.pending > 0, 2000);
      let last = -1;
      while (to.pending !== last) {
        last = to.pending;
        await sleep(50);
      }
      return { held: to.pending, sending };
    };

    // A reader that has not read yet holds the peer to the first window.
    const first = await stalled(c, s);
    assert.ok(first.held > 0 && first.held <= 262144, `unread: within the first 256 KiB window (${first.held})`);
    assert.is(s.getsockopt(SOL_SOCKET, SO_RCVBUF), DEFAULT, 'no reads, no growth');
    // A slow reader of a full queue (a byte at a time) does not grow it either: only a
    // window's worth read quickly does.
    for (let i = 0; i < 40; i++) {
      assert.is((await s.recv(1)).length, 1);
      await sleep(5);
    }
    assert.is(s.getsockopt(SOL_SOCKET, SO_RCVBUF), DEFAULT, 'slow reads, no growth');
    assert.ok(s.pending <= 262144, `still within the first window (${s.pending})`);
    await readExactly(s, chunk.length - 40);
    await first.sending;

    await bulk(c, s, 32 * 1024 * 1024);
    assert.is(s.getsockopt(SOL_SOCKET, SO_RCVBUF), 2 * (1024 * 1024 - 16), 'a reader that keeps up: up to 2 x TCP_WND');
    assert.is(c.getsockopt(SOL_SOCKET, SO_SNDBUF), DEFAULT, 'the send buffer does not autotune');
    // The grown window is real: a reader that stops now lets the peer send past 256 KiB.
    const after = await stalled(c, s);
    assert.ok(after.held > 262144 && after.held <= 1024 * 1024, `unread after growth: ${after.held}`);
    await readExactly(s, chunk.length);
    await after.sending;

    // A buffer the application sized (here, to the default) never moves; an accepted
    // socket inherits the listener's lock.
    const l2 = net.b.socket(AF_INET, SOCK_STREAM);
    l2.setsockopt(SOL_SOCKET, SO_RCVBUF, DEFAULT / 2);
    l2.bind('0.0.0.0', 0);
    l2.listen(4);
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    const [s2] = await Promise.all([l2.accept(), c2.connect('10.0.0.2', l2.getsockname().port)]);
    await bulk(c2, s2, 32 * 1024 * 1024);
    assert.is(s2.getsockopt(SOL_SOCKET, SO_RCVBUF), DEFAULT);
    const locked = await stalled(c2, s2);
    assert.ok(locked.held <= 262144, `a sized buffer keeps its window (${locked.held})`);
    await readExactly(s2, chunk.length);
    await locked.sending;
  } finally {
    net.dispose();
  }
}, 30_000);

it('send autotuning: on a path with a 10 ms round trip an unsized send buffer grows to 1 MiB queued; one SO_SNDBUF sized stays', async () => {
  // Wall-clock time: the links' delay and the stacks' clock are both real.
  const a = await createStack({ seed: 1 });
  const b = await createStack({ seed: 2 });
  const [x, y] = createPair();
  a.addInterface(impair(x, { delay: 5, seed: 1 }), { ip: '10.0.0.1/24' });
  b.addInterface(impair(y, { delay: 5, seed: 2 }), { ip: '10.0.0.2/24' });
  try {
    const chunk = randomBytes(1024 * 1024, 5);
    const bulk = async (from, to, total) => {
      const reading = (async () => {
        for (let got = 0; got < total; ) got += (await to.recv(1024 * 1024)).length;
      })();
      for (let sent = 0; sent < total; sent += chunk.length) await from.send(chunk);
      await reading;
    };
    const [c, s] = await connectPair(a, b);
    assert.is(c.getsockopt(SOL_SOCKET, SO_SNDBUF), 524288);
    await bulk(c, s, 12 * 1024 * 1024);
    assert.is(c.getsockopt(SOL_SOCKET, SO_SNDBUF), 2097152, 'the round trip, not the network, held the sender: it grew to the ceiling');
    assert.is(s.getsockopt(SOL_SOCKET, SO_RCVBUF), 2097120, "the receiver's window grew too (it has to, for more to be in flight)");

    const [c2, s2] = await connectPair(a, b);
    c2.setsockopt(SOL_SOCKET, SO_SNDBUF, 256 * 1024);
    await bulk(c2, s2, 6 * 1024 * 1024);
    assert.is(c2.getsockopt(SOL_SOCKET, SO_SNDBUF), 524288, 'a size the application set is kept');
  } finally {
    a.dispose();
    b.dispose();
  }
}, 60_000);

it('SO_SNDBUF caps what one send takes; UDP SO_RCVBUF drops datagrams beyond it', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    const big = randomBytes(200 * 1024, 3);
    c.setsockopt(SOL_SOCKET, SO_SNDBUF, 8192);
    const took = c.sendSync(big);
    assert.ok(took > 0 && took <= 8192, `with SO_SNDBUF 8192 one send took ${took}`);
    const [c2] = await connectPair(net.a, net.b);
    const took2 = c2.sendSync(big);
    assert.is(took2, big.length, 'the default send buffer takes 200 KiB at once');
    assert.is((await readExactly(s, took)).length, took);
    // Half the value may queue: 256 KiB by default, up to 1 MiB at the ceiling (for paths
    // whose round trip holds more than 256 KiB).
    const huge = randomBytes(2 << 20, 4);
    const [c3] = await connectPair(net.a, net.b);
    assert.is(c3.sendSync(huge), 256 * 1024, 'the default send buffer queues 256 KiB');
    const [c4] = await connectPair(net.a, net.b);
    c4.setsockopt(SOL_SOCKET, SO_SNDBUF, 1 << 20);
    assert.is(c4.getsockopt(SOL_SOCKET, SO_SNDBUF), 2 << 20);
    assert.is(c4.sendSync(huge), 1 << 20, 'SO_SNDBUF 1 MiB queues 1 MiB');

    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096); // 8192 bytes of payload may queue
    rx.bind('0.0.0.0', 6000);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    for (let i = 0; i < 12; i++) tx.sendtoSync(new Uint8Array(1000).fill(i), '10.0.0.2', 6000);
    await waitUntil(() => rx.pending > 0, 2000);
    await sleep(50);
    let n = 0;
    for (;;) {
      try {
        const d = rx.recvfromSync();
        assert.is(d.data[0], n, 'datagrams kept in order');
        n++;
      } catch (err) {
        if (err instanceof SocketError && err.code === 'EAGAIN') break;
        throw err;
      }
    }
    assert.is(n, 8, '8 datagrams of 1000 bytes fit in 8192; the other 4 were dropped');
  } finally {
    net.dispose();
  }
});

it('SO_RCVLOWAT: POLLIN and recv() wait for that many bytes, or end of stream', async () => {
  const net = await twoStacks();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    s.setsockopt(SOL_SOCKET, SO_RCVLOWAT, 10);
    c.sendSync('12345');
    assert.ok(await waitUntil(() => s.pending === 5, 2000), '5 bytes arrived');
    assert.is(s.events & POLLIN, 0, 'below the low-water mark: not readable');
    let done = false;
    const reading = s.recv(100).then((d) => {
      done = true;
      return d;
    });
    await sleep(30);
    assert.is(done, false, 'recv() waits below the low-water mark');
    c.sendSync('67890');
    assert.is(text(await reading), '1234567890', 'recv() returns once 10 bytes are there');

    c.sendSync('abc');
    assert.ok(await waitUntil(() => s.pending === 3, 2000));
    assert.is(s.events & POLLIN, 0);
    c.shutdown(SHUT_WR);
    assert.ok((await pollFor(net.b, s, POLLIN, 2000)) & POLLIN, 'end of stream makes it readable below the mark');
    assert.is(text(s.recvSync()), 'abc');
  } finally {
    net.dispose();
  }
});

// --- timeouts ----------------------------------------------------------------------------

it('SO_RCVTIMEO / SO_SNDTIMEO bound the async forms with EAGAIN; a call\'s timeout overrides them', async () => {
  const clock = new VirtualClock();
  const net = await twoStacks({ clock });
  try {
    const [c, s, l] = await clock.runUntil(connectPair(net.a, net.b));
    s.setsockopt(SOL_SOCKET, SO_RCVTIMEO, 2000);
    const t0 = clock.now();
    await rejectsCode(clock.runUntil(s.recv()), 'EAGAIN', 'recv with SO_RCVTIMEO');
    assert.is(clock.now() - t0, 2000, 'gave up after exactly SO_RCVTIMEO');
    const t1 = clock.now();
    await rejectsCode(clock.runUntil(s.recv(10, { timeout: 500 })), 'EAGAIN', 'a call timeout');
    assert.is(clock.now() - t1, 500, 'the call\'s timeout wins');
    l.setsockopt(SOL_SOCKET, SO_RCVTIMEO, 300);
    await rejectsCode(clock.runUntil(l.accept()), 'EAGAIN', 'accept with SO_RCVTIMEO');
    const u = net.b.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 0);
    u.setsockopt(SOL_SOCKET, SO_RCVTIMEO, 100);
    await rejectsCode(clock.runUntil(u.recvfrom()), 'EAGAIN', 'recvfrom with SO_RCVTIMEO');

    // SO_SNDTIMEO: a peer that never reads and a small window fill the send buffer
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096);
    c.setsockopt(SOL_SOCKET, SO_SNDBUF, 8192);
    c.setsockopt(SOL_SOCKET, SO_SNDTIMEO, 1000);
    const t2 = clock.now();
    await rejectsCode(clock.runUntil(c.send(new Uint8Array(1 << 20))), 'EAGAIN', 'send with SO_SNDTIMEO');
    assert.ok(clock.now() - t2 >= 1000, 'send waited SO_SNDTIMEO before giving up');
    c.setsockopt(SOL_SOCKET, SO_SNDTIMEO, 0); // 0: wait without limit again
    assert.is(c.getsockopt(SOL_SOCKET, SO_SNDTIMEO), 0);
  } finally {
    net.dispose();
  }
});

// --- address reuse -----------------------------------------------------------------------

it('SO_REUSEADDR lets a listener bind a port held in TIME_WAIT; without it EADDRINUSE', async () => {
  const net = await twoStacks();
  try {
    const [c, s, l] = await connectPair(net.a, net.b, { port: 7100 });
    s.close(); // the server closes first, so its side goes to TIME_WAIT on port 7100
    l.close();
    assert.is((await readToEof(c)).length, 0);
    c.close();
    assert.ok(await waitUntil(() => net.b.sockstat().tcp.tw === 1, 2000), 'server side in TIME_WAIT');
    const plain = net.b.socket(AF_INET, SOCK_STREAM);
    throwsCode(() => plain.bind('0.0.0.0', 7100), 'EADDRINUSE', 'TIME_WAIT holds the port');
    const reuse = net.b.socket(AF_INET, SOCK_STREAM);
    reuse.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    reuse.bind('0.0.0.0', 7100);
    reuse.listen();
    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    const [s2] = await Promise.all([reuse.accept(), c2.connect('10.0.0.2', 7100)]);
    await c2.send('again');
    assert.is(text(await s2.recv()), 'again', 'the reused port serves a new connection');
  } finally {
    net.dispose();
  }
});

it('SO_REUSEPORT: UDP sockets share a port; without it the second bind fails', async () => {
  const net = await twoStacks();
  try {
    const a1 = net.b.socket(AF_INET, SOCK_DGRAM);
    a1.bind('0.0.0.0', 6100);
    const a2 = net.b.socket(AF_INET, SOCK_DGRAM);
    throwsCode(() => a2.bind('0.0.0.0', 6100), 'EADDRINUSE', 'no SO_REUSEPORT on either');
    const r1 = net.b.socket(AF_INET, SOCK_DGRAM);
    const r2 = net.b.socket(AF_INET, SOCK_DGRAM);
    r1.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    r2.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    r1.bind('0.0.0.0', 6101);
    r2.bind('0.0.0.0', 6101);
    // a broadcast reaches both
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    tx.sendtoSync('all', '10.0.0.255', 6101);
    for (const r of [r1, r2]) assert.is(text((await r.recvfrom(100, { timeout: 2000 })).data), 'all');
    tx.sendtoSync('one', '10.0.0.2', 6101);
    assert.is(text((await r2.recvfrom(100, { timeout: 2000 })).data), 'one', 'unicast: to one of them (the last bound)');
    await sleep(20);
    assert.is(r1.pending, 0, 'not to both');
  } finally {
    net.dispose();
  }
});

// --- keepalive, linger, Nagle, MSS --------------------------------------------------------

it('keepalive with TCP_KEEPIDLE/INTVL/CNT: probes while idle; a dead peer: 3 probes, then ETIMEDOUT at 10 + 3 x 2 s', async () => {
  const clock = new VirtualClock();
  const net = await watchedNet({ clock, impair: true });
  const keepalive = (sock) => {
    sock.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    sock.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, 10);
    sock.setsockopt(IPPROTO_TCP, TCP_KEEPINTVL, 2);
    sock.setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 3);
  };
  const probesSince = (mark) => tcpOut(net.frames, mark).filter((t) => t.len <= 1 && !(t.flags & (TCP_RST | TCP_FIN)));
  try {
    // an answering peer: a probe about every 10 s of idleness, each answered; the connection lives
    const [c, s, l] = await clock.runUntil(connectPair(net.a, net.b));
    keepalive(c);
    const mark = net.frames.length;
    await clock.advanceAsync(65_000);
    const n = probesSince(mark).length;
    assert.ok(n >= 5 && n <= 7, `about one probe per 10 s idle while answered (saw ${n})`);
    await c.send('alive');
    assert.is(text(await clock.runUntil(s.recv())), 'alive', 'still connected');

    // a peer that vanishes right after the handshake (the last thing heard)
    const [c2] = await clock.runUntil(connectPair(net.a, net.b));
    keepalive(c2);
    const port2 = c2.getsockname().port;
    net.impaired.set({ partition: true });
    const mark2 = net.frames.length;
    const start = clock.now();
    await rejectsCode(clock.runUntil(c2.recv(), { timeLimit: 3600_000 }), 'ETIMEDOUT', 'keepalive gives up');
    const after = clock.now() - start;
    // lwIP's timer ticks every 500 ms and fires once strictly past each mark
    assert.ok(after >= 16_000 && after <= 17_000, `gave up after ${after / 1000} s (Linux: 10 + 3 x 2 = 16 s)`);
    const lost = probesSince(mark2).filter((t) => t.sport === port2);
    assert.is(lost.length, 3, 'TCP_KEEPCNT unanswered probes');
    c.close();
    s.close();
    l.close();
  } finally {
    net.dispose();
  }
}, 20_000);

it('without SO_KEEPALIVE an idle connection sends nothing', async () => {
  const clock = new VirtualClock();
  const net = await watchedNet({ clock });
  try {
    const [c] = await clock.runUntil(connectPair(net.a, net.b));
    c.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, 10); // the timing alone does not turn it on
    await clock.advanceAsync(1000);
    const mark = net.frames.length;
    await clock.advanceAsync(120_000);
    assert.is(tcpOut(net.frames, mark).length, 0, 'no probes');
  } finally {
    net.dispose();
  }
});

it('SO_LINGER {on, 0}: close() sends RST and the peer sees ECONNRESET; default close sends FIN', async () => {
  const net = await watchedNet();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    await settle();
    const mark = net.frames.length;
    c.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 0 });
    c.close();
    await rejectsCode(s.recv(10, { timeout: 2000 }), 'ECONNRESET', 'the peer is reset');
    const segs = tcpOut(net.frames, mark);
    assert.ok(segs.some((t) => t.flags & TCP_RST), 'an RST went out');
    assert.ok(!segs.some((t) => t.flags & TCP_FIN), 'and no FIN');
    assert.is(net.a.sockstat().tcp.tw, 0, 'no TIME_WAIT after an abortive close');

    const [c2, s2] = await connectPair(net.a, net.b);
    c2.setsockopt(SOL_SOCKET, SO_LINGER, { onoff: true, linger: 5 }); // non-zero: an ordinary close
    await settle();
    const mark2 = net.frames.length;
    c2.close();
    assert.is((await s2.recv(10, { timeout: 2000 })).length, 0, 'the peer reads end of stream');
    const segs2 = tcpOut(net.frames, mark2);
    assert.ok(segs2.some((t) => t.flags & TCP_FIN) && !segs2.some((t) => t.flags & TCP_RST), 'FIN, not RST');
  } finally {
    net.dispose();
  }
});

it('TCP_NODELAY: ten small writes go out as ten segments; with Nagle they coalesce', async () => {
  const net = await watchedNet();
  try {
    const count = async (nodelay) => {
      const [c, s] = await connectPair(net.a, net.b);
      if (nodelay) c.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      await settle();
      const mark = net.frames.length;
      for (let i = 0; i < 10; i++) assert.is(c.sendSync(String(i)), 1);
      assert.is(text(await readExactly(s, 10)), '0123456789');
      return tcpOut(net.frames, mark).filter((t) => t.len > 0).length;
    };
    const nagle = await count(false);
    const nodelay = await count(true);
    assert.is(nodelay, 10, 'TCP_NODELAY: one segment per write');
    assert.is(nagle, 2, 'Nagle: the first write, then the other nine together after its ACK');
  } finally {
    net.dispose();
  }
});

it('TCP_MAXSEG reads the MSS once connected and caps the segments sent', async () => {
  const net = await watchedNet();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    assert.is(c.getsockopt(IPPROTO_TCP, TCP_MAXSEG), 1460, 'MTU 1500 - 40');
    await settle();
    let mark = net.frames.length;
    await c.send(randomBytes(20000, 1));
    await readExactly(s, 20000);
    const before = Math.max(...tcpOut(net.frames, mark).map((t) => t.len));
    // full-size segments: the MSS less the 12-byte timestamp option each carries, as on Linux
    assert.is(before, 1460 - 12, 'full-size segments by default');

    const c2 = net.a.socket(AF_INET, SOCK_STREAM);
    c2.setsockopt(IPPROTO_TCP, TCP_MAXSEG, 1000);
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 0);
    l.listen();
    const [s2] = await Promise.all([l.accept(), c2.connect('10.0.0.2', l.getsockname().port)]);
    assert.is(c2.getsockopt(IPPROTO_TCP, TCP_MAXSEG), 1000);
    await settle();
    mark = net.frames.length;
    await c2.send(randomBytes(20000, 2));
    await readExactly(s2, 20000);
    const lens = tcpOut(net.frames, mark).map((t) => t.len);
    assert.is(Math.max(...lens), 1000 - 12, `segments capped at 1000 with the timestamp option (saw ${Math.max(...lens)})`);
  } finally {
    net.dispose();
  }
});

// --- IP level ----------------------------------------------------------------------------

it('IP_TTL, IP_TOS, IPV6_UNICAST_HOPS and IPV6_TCLASS appear in the packets sent', async () => {
  const net = await watchedNet();
  try {
    const [c, s] = await connectPair(net.a, net.b);
    c.setsockopt(IPPROTO_IP, IP_TTL, 7);
    c.setsockopt(IPPROTO_IP, IP_TOS, 0x28);
    let mark = net.frames.length;
    await c.send('ttl');
    await readExactly(s, 3);
    const out4 = net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.proto === 6).map((x) => ipOf(x.f));
    assert.ok(out4.length > 0 && out4.every((h) => h.ttl === 7 && h.tos === 0x28), `TCP: ${JSON.stringify(out4)}`);
    c.setsockopt(IPPROTO_IP, IP_TTL, -1);
    mark = net.frames.length;
    await c.send('x');
    await readExactly(s, 1);
    const back = net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.proto === 6).map((x) => ipOf(x.f).ttl);
    assert.ok(back.length > 0 && back.every((t) => t === 64), `-1 restores 64 (${back})`);

    const u = net.a.socket(AF_INET, SOCK_DGRAM);
    u.setsockopt(IPPROTO_IP, IP_TTL, 3);
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 6200);
    mark = net.frames.length;
    u.sendtoSync('hi', '10.0.0.2', 6200);
    await rx.recvfrom(10, { timeout: 2000 });
    const udp = net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.proto === 17).map((x) => ipOf(x.f));
    assert.equal(udp.map((h) => h.ttl), [3], 'UDP TTL');

    const [c6, s6] = await connectPair(net.a, net.b, { family: 6 });
    c6.setsockopt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9);
    c6.setsockopt(IPPROTO_IPV6, IPV6_TCLASS, 0x20);
    mark = net.frames.length;
    await c6.send('six');
    await readExactly(s6, 3);
    const out6 = net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.v === 6 && ipOf(x.f).proto === 6).map((x) => ipOf(x.f));
    assert.ok(out6.length > 0 && out6.every((h) => h.ttl === 9 && h.tos === 0x20), `IPv6: ${JSON.stringify(out6)}`);
  } finally {
    net.dispose();
  }
});

it('IPV6_V6ONLY 0: a listener on :: accepts IPv4 clients (::ffff:); 1: IPv4 is refused; EINVAL once bound', async () => {
  const net = await twoStacks();
  try {
    const dual = net.b.socket(AF_INET6, SOCK_STREAM);
    dual.bind('::', 7200);
    dual.listen();
    throwsCode(() => dual.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1), 'EINVAL', 'too late after bind');
    const c4 = net.a.socket(AF_INET, SOCK_STREAM);
    const [s4] = await Promise.all([dual.accept(), c4.connect('10.0.0.2', 7200)]);
    assert.equal(s4.getpeername(), { address: '::ffff:10.0.0.1', port: c4.getsockname().port, family: 'IPv6' });

    const only = net.b.socket(AF_INET6, SOCK_STREAM);
    only.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    only.bind('::', 7201);
    only.listen();
    const c6 = net.a.socket(AF_INET6, SOCK_STREAM);
    const [s6] = await Promise.all([only.accept(), c6.connect('fd00::2', 7201)]);
    assert.is(s6.getpeername().address, 'fd00::1', 'IPv6 still accepted');
    const c4b = net.a.socket(AF_INET, SOCK_STREAM);
    await rejectsCode(c4b.connect('10.0.0.2', 7201), 'ECONNREFUSED', 'IPv4 to a v6-only listener');
    const m = net.a.socket(AF_INET6, SOCK_STREAM);
    m.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    throwsCode(() => m.connectSync('::ffff:10.0.0.2', 7200), 'ENETUNREACH', 'v4-mapped from a v6-only socket');
  } finally {
    net.dispose();
  }
});

it('SO_BROADCAST: EACCES without it, delivered with it', async () => {
  const net = await twoStacks();
  try {
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 6300);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    throwsCode(() => tx.sendtoSync('b', '10.0.0.255', 6300), 'EACCES', 'subnet broadcast without SO_BROADCAST');
    throwsCode(() => tx.sendtoSync('b', '255.255.255.255', 6300), 'EACCES', 'limited broadcast without SO_BROADCAST');
    tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
    tx.sendtoSync('sub', '10.0.0.255', 6300);
    assert.is(text((await rx.recvfrom(10, { timeout: 2000 })).data), 'sub');
    tx.setsockopt(SOL_SOCKET, SO_BROADCAST, 0);
    throwsCode(() => tx.sendtoSync('b', '10.0.0.255', 6300), 'EACCES', 'turned off again');
  } finally {
    net.dispose();
  }
});

it('IPv4 multicast: membership gates delivery, IGMP reports go out, IP_MULTICAST_TTL/LOOP apply', async () => {
  const net = await watchedNet();
  try {
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 6400);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    tx.bind('0.0.0.0', 6400);
    tx.sendtoSync('before', '239.1.2.3', 6400);
    await sleep(30);
    assert.is(rx.pending, 0, 'not a member: not delivered');

    let mark = net.frames.length;
    rx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3' });
    throwsCode(() => rx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3' }), 'EADDRINUSE', 'joined twice');
    await waitUntil(() => net.frames.slice(mark).some((x) => !x.out && ipOf(x.f)?.proto === 2), 2000);
    const igmp = net.frames.slice(mark).filter((x) => !x.out && ipOf(x.f)?.proto === 2).map((x) => ipOf(x.f));
    assert.ok(igmp.length >= 1 && igmp[0].dst === '239.1.2.3', 'an IGMP report for the group');

    mark = net.frames.length;
    tx.sendtoSync('member', '239.1.2.3', 6400);
    assert.is(text((await rx.recvfrom(10, { timeout: 2000 })).data), 'member');
    const ttl1 = net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.proto === 17).map((x) => ipOf(x.f).ttl);
    assert.equal(ttl1, [1], 'multicast TTL defaults to 1');
    tx.setsockopt(IPPROTO_IP, IP_MULTICAST_TTL, 5);
    mark = net.frames.length;
    tx.sendtoSync('ttl5', '239.1.2.3', 6400);
    await rx.recvfrom(10, { timeout: 2000 });
    assert.equal(net.frames.slice(mark).filter((x) => x.out && ipOf(x.f)?.proto === 17).map((x) => ipOf(x.f).ttl), [5]);

    // loopback of our own group traffic
    tx.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.1.2.3' });
    tx.sendtoSync('loop', '239.1.2.3', 6400);
    assert.is(text((await tx.recvfrom(10, { timeout: 2000 })).data), 'loop', 'IP_MULTICAST_LOOP 1: our own datagram comes back');
    await rx.recvfrom(10, { timeout: 2000 });
    tx.setsockopt(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
    tx.sendtoSync('noloop', '239.1.2.3', 6400);
    assert.is(text((await rx.recvfrom(10, { timeout: 2000 })).data), 'noloop');
    await sleep(20);
    assert.is(tx.pending, 0, 'IP_MULTICAST_LOOP 0: not looped back');

    rx.setsockopt(IPPROTO_IP, IP_DROP_MEMBERSHIP, { multiaddr: '239.1.2.3' });
    tx.sendtoSync('after', '239.1.2.3', 6400);
    await sleep(30);
    assert.is(rx.pending, 0, 'left the group: not delivered');

    const many = net.b.socket(AF_INET, SOCK_DGRAM);
    for (let i = 0; i < 20; i++) many.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: `239.2.0.${i}` });
    throwsCode(() => many.setsockopt(IPPROTO_IP, IP_ADD_MEMBERSHIP, { multiaddr: '239.2.0.99' }), 'ENOBUFS', '21st group');
  } finally {
    net.dispose();
  }
});

it('IPv6 multicast: IPV6_JOIN_GROUP / LEAVE_GROUP gate delivery; MLD reports go out', async () => {
  const net = await watchedNet();
  try {
    const rx = net.b.socket(AF_INET6, SOCK_DGRAM);
    rx.bind('::', 6500);
    const tx = net.a.socket(AF_INET6, SOCK_DGRAM);
    tx.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF, 2);
    assert.is(tx.getsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF), 2);
    throwsCode(() => tx.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_IF, 77), 'ENODEV', 'no such interface');
    tx.sendtoSync('before', 'ff15::1:2', 6500);
    await sleep(30);
    assert.is(rx.pending, 0, 'not a member');
    const mark = net.frames.length;
    rx.setsockopt(IPPROTO_IPV6, IPV6_JOIN_GROUP, { multiaddr: 'ff15::1:2', interface: 2 });
    await waitUntil(() => net.frames.slice(mark).some((x) => !x.out && ipOf(x.f)?.v === 6), 2000);
    assert.ok(net.frames.slice(mark).some((x) => !x.out && ipOf(x.f)?.v === 6), 'an MLD report went out');
    tx.setsockopt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 4);
    const m2 = net.frames.length;
    tx.sendtoSync('member', 'ff15::1:2', 6500);
    assert.is(text((await rx.recvfrom(10, { timeout: 2000 })).data), 'member');
    const hops = net.frames.slice(m2).filter((x) => x.out && ipOf(x.f)?.proto === 17).map((x) => ipOf(x.f).ttl);
    assert.equal(hops, [4], 'IPV6_MULTICAST_HOPS');
    rx.setsockopt(IPPROTO_IPV6, IPV6_LEAVE_GROUP, { multiaddr: 'ff15::1:2', interface: 2 });
    throwsCode(() => rx.setsockopt(IPPROTO_IPV6, IPV6_LEAVE_GROUP, { multiaddr: 'ff15::1:2', interface: 2 }), 'EADDRNOTAVAIL');
    tx.sendtoSync('after', 'ff15::1:2', 6500);
    await sleep(30);
    assert.is(rx.pending, 0, 'left: not delivered');
  } finally {
    net.dispose();
  }
});

test.run();
