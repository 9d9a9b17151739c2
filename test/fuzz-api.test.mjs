// The API fuzzer: seeded random sequences of socket calls, with good and bad arguments,
// on random sockets (TCP and UDP, IPv4 and IPv6, listening, connected, closed). Every
// outcome must be a result, a SocketError whose code the docs list (README.md and
// docs/socket-options.md), or a TypeError/RangeError from our argument checks. The stacks
// never fail, and once everything is closed every pool and socket comes back.
import { readFileSync } from 'node:fs';
import {
  VirtualClock, createPair, SocketError, Socket, ERRNO_NAMES,
  AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_RD, SHUT_WR, SHUT_RDWR,
  MSG_PEEK, MSG_DONTWAIT, MSG_OOB, POLLIN, POLLOUT, POLLNVAL,
  SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6,
  SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_BROADCAST, SO_ERROR, SO_TYPE,
  SO_RCVTIMEO, SO_RCVLOWAT, TCP_NODELAY, TCP_MAXSEG, TCP_KEEPIDLE, IP_TTL, IP_TOS, IPV6_V6ONLY,
  IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP, EPOLLIN, EPOLLOUT,
} from '../dist/index.js';
import { it, test, assert, createStack } from './helpers.mjs';
import { Rng } from './frames.mjs';

// the error codes the documentation names
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const docs = readme.slice(readme.indexOf('### Errors'), readme.indexOf('### Links')) +
  readFileSync(new URL('../docs/socket-options.md', import.meta.url), 'utf8');
const ERRNO = new Set(Object.values(ERRNO_NAMES));
const DOCUMENTED = new Set([...docs.matchAll(/`(E[A-Z]{3,})`/g)].map((m) => m[1]).filter((c) => ERRNO.has(c)));

const ADDRS4 = ['10.0.0.1', '10.0.0.2', '127.0.0.1', '0.0.0.0', '10.0.0.255', '10.0.0.77', '192.168.9.9', '239.1.2.3', '255.255.255.255'];
const ADDRS6 = ['fd00::1', 'fd00::2', '::1', '::', 'fe80::1', 'fe80::1%2', 'ff02::1', '::ffff:10.0.0.2', '2001:db8::1'];
const BAD_ADDRS = ['', 'localhost', '10.0.0', '10.0.0.256', ':::', 'fe80::1%', 42, null, undefined, {}, '1.2.3.4 ', 'fd00::1%99'];
const PORTS = [0, 1, 7, 80, 5000, 5001, 65535];
const BAD_PORTS = [-1, 65536, 1.5, NaN, '80', null, Infinity];
const SIZES = [0, 1, 100, 1460, 65507, 65508, 70000, 300_000];
const MAXES = [0, 1, 100, 65536, 1 << 20, -1, 1.5, NaN, 'x', 0x7fffffff];
const FLAGS = [0, 0, 0, MSG_PEEK, MSG_DONTWAIT, MSG_OOB, MSG_PEEK | MSG_DONTWAIT, -1, 0x40000000, 'x'];
const OPTIONS = [
  [SOL_SOCKET, SO_RCVBUF, [0, 1, 4096, 1 << 20, -1]], [SOL_SOCKET, SO_SNDBUF, [0, 8192, 1 << 22]],
  [SOL_SOCKET, SO_REUSEADDR, [0, 1, true]], [SOL_SOCKET, SO_KEEPALIVE, [0, 1]],
  [SOL_SOCKET, SO_LINGER, [{ onoff: true, linger: 0 }, { onoff: 1, linger: 5 }, { linger: -1 }, 3]],
  [SOL_SOCKET, SO_BROADCAST, [0, 1]], [SOL_SOCKET, SO_ERROR, [0]], [SOL_SOCKET, SO_TYPE, [1]],
  [SOL_SOCKET, SO_RCVTIMEO, [0, 10, -5]], [SOL_SOCKET, SO_RCVLOWAT, [0, 1, 100000]],
  [IPPROTO_TCP, TCP_NODELAY, [0, 1]], [IPPROTO_TCP, TCP_MAXSEG, [0, 88, 536, 40000]],
  [IPPROTO_TCP, TCP_KEEPIDLE, [0, 1, 32768]], [IPPROTO_IP, IP_TTL, [-1, 0, 1, 255, 256]],
  [IPPROTO_IP, IP_TOS, [0, 255, 300]], [IPPROTO_IPV6, IPV6_V6ONLY, [0, 1]],
  [IPPROTO_IP, IP_ADD_MEMBERSHIP, [{ multiaddr: '239.1.2.3' }, { multiaddr: '10.0.0.1' }, 'x']],
  [IPPROTO_IPV6, IPV6_JOIN_GROUP, [{ multiaddr: 'ff02::1:3' }, { multiaddr: 'fd00::1' }]],
  [999, 1, [0]], [SOL_SOCKET, 9999, [0]], [1.5, 'x', [0]],
];

/** Runs one fuzz session; returns a tally of outcomes. */
async function session(seed, steps) {
  const r = new Rng(seed);
  const clock = new VirtualClock();
  const a = await createStack({ clock, seed, timeWait: 1000, maxSockets: 64 });
  const b = await createStack({ clock, seed: seed + 1, timeWait: 1000 });
  const tally = { ok: 0, socketErrors: {}, typeErrors: 0, rangeErrors: 0, steps: 0 };
  const sockets = [];
  const epolls = [];
  try {
    const [la, lb] = createPair();
    a.addInterface(la, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
    b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
    const base = { a: a.memory(), b: b.memory() };
    // the peer listens on 5000 (TCP) and 5001 (UDP), both families, and accepts in the background
    const peers = [];
    for (const [domain, addr] of [[AF_INET, '0.0.0.0'], [AF_INET6, '::']]) {
      const l = b.socket(domain, SOCK_STREAM);
      if (domain === AF_INET6) l.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
      l.bind(addr, 5000);
      l.listen(64);
      const u = b.socket(domain, SOCK_DGRAM);
      if (domain === AF_INET6) u.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
      u.bind(addr, 5001);
      peers.push(l, u);
    }
    // the peer accepts, greets, and now and then hangs up
    const accepted = [];
    const serviceAccept = () => {
      for (const l of [peers[0], peers[2]]) {
        for (;;) {
          try {
            const s = l.acceptSync();
            accepted.push(s);
            s.sendSync('hello from b');
          } catch (e) {
            if (!(e instanceof SocketError)) throw e;
            break;
          }
        }
      }
      const live = accepted.filter((s) => !s.closed);
      if (live.length > 6) live[r.below(live.length)].close();
    };

    const pick = (arr) => arr[r.below(arr.length)];
    const addrFor = (s) => {
      const x = r.below(10);
      if (x < 1) return pick(BAD_ADDRS);
      if (x < 2) return pick(s && s.domain === AF_INET ? ADDRS6 : ADDRS4); // the wrong family
      return pick(s && s.domain === AF_INET6 ? ADDRS6 : ADDRS4);
    };
    const port = () => (r.chance(0.05) ? pick(BAD_PORTS) : pick(PORTS));
    const data = () => {
      const x = r.below(12);
      if (x === 0) return pick([null, 42, {}, undefined]);
      if (x === 1) return 'text data';
      if (x === 2) return new ArrayBuffer(r.below(100));
      if (x === 3) return new DataView(new ArrayBuffer(64), 8, 16);
      return new Uint8Array(pick(SIZES));
    };
    const sock = () => {
      if (sockets.length && r.chance(0.9)) return pick(sockets);
      const s = a.socket(pick([AF_INET, AF_INET6]), pick([SOCK_STREAM, SOCK_DGRAM]));
      sockets.push(s);
      return s;
    };
    const timeout = () => ({ timeout: pick([0, 1, 50, 1000, 20_000]) });

    // each action returns a value or a promise; errors are judged by outcome()
    const actions = [
      () => {
        return a.socket(r.chance(0.95) ? pick([AF_INET, AF_INET6]) : pick([0, 2.5, 'x', 99]),
          r.chance(0.95) ? pick([SOCK_STREAM, SOCK_DGRAM]) : pick([0, 3, 'x']));
      },
      () => sock().bind(addrFor(sock()), port()),
      () => sock().listen(pick([0, 1, 16, 300, -1, 1.5, 'x'])),
      () => sock().acceptSync(),
      () => sock().connectSync(...(() => { const s = sock(); return [r.chance(0.7) ? pick(s.domain === AF_INET6 ? ['fd00::2', '::1', '::ffff:10.0.0.2'] : ['10.0.0.2', '127.0.0.1']) : addrFor(s), r.chance(0.7) ? pick([5000, 5001]) : port()]; })()),
      () => sock().sendSync(data(), pick(FLAGS)),
      () => sock().recvSync(pick(MAXES), pick(FLAGS)),
      () => sock().sendtoSync(data(), ...(() => { const s = sock(); return [r.chance(0.7) ? (s.domain === AF_INET6 ? 'fd00::2' : '10.0.0.2') : addrFor(s), r.chance(0.7) ? 5001 : port(), pick(FLAGS)]; })()),
      () => sock().recvfromSync(pick(MAXES), pick(FLAGS)),
      () => sock().shutdown(pick([SHUT_RD, SHUT_WR, SHUT_RDWR, 3, -1])),
      () => sock().close(),
      () => sock().getsockname(),
      () => sock().getpeername(),
      () => sock().takeError(),
      () => sock().events,
      () => sock().pending,
      () => {
        const [level, name, values] = pick(OPTIONS);
        return sock().setsockopt(level, name, pick(values));
      },
      () => {
        const [level, name] = pick(OPTIONS);
        return sock().getsockopt(level, name);
      },
      () => sock().accept(timeout()),
      () => {
        const s = sock();
        return s.connect(s.domain === AF_INET6 ? 'fd00::2' : pick(['10.0.0.2', '10.0.0.77']), pick([5000, 5001, 6000]), { timeout: pick([1, 100, 5000]) });
      },
      () => sock().send(data(), timeout()),
      () => sock().recv(pick(MAXES), timeout()),
      () => sock().recvfrom(pick(MAXES), timeout()),
      () => {
        const ac = new AbortController();
        const p = sock().recv(100, { signal: ac.signal });
        clock.setTimer(() => ac.abort(new Error('aborted by the fuzzer')), pick([0, 10, 100]));
        return p;
      },
      () => a.pollSync(sockets.slice(0, 8).map((s) => ({ socket: s, events: pick([POLLIN, POLLOUT, POLLIN | POLLOUT, 0, -1]) }))),
      () => a.poll(sockets.slice(-4).map((s) => ({ socket: s, events: POLLIN })), pick([0, 10, 500, -2])),
      () => {
        const ep = epolls.length && r.chance(0.8) ? pick(epolls) : (epolls.push(a.epoll()), epolls.at(-1));
        const x = r.below(5);
        if (x === 0) return ep.add(sock(), pick([EPOLLIN, EPOLLOUT, EPOLLIN | EPOLLOUT]));
        if (x === 1) return ep.mod(sock(), EPOLLIN);
        if (x === 2) return ep.del(sock());
        if (x === 3) return ep.waitSync(pick([1, 64, 0, 70000]));
        return ep.wait(16, pick([0, 10, 200]));
      },
      () => a.memory(),
      () => a.ss({ all: true, info: true, memory: true }),
    ];

    const judge = (err, what) => {
      if (err instanceof SocketError) {
        assert.ok(DOCUMENTED.has(err.code), `${what}: undocumented error code ${err.code} (${err.message})`);
        assert.type(err.syscall, 'string');
        tally.socketErrors[err.code] = (tally.socketErrors[err.code] ?? 0) + 1;
        return;
      }
      if (err instanceof TypeError || err instanceof RangeError) {
        assert.match(err.message, /^lwip-wasm: /, `${what}: a ${err.name} from our checks, not from a bug: ${err.stack}`);
        if (err instanceof TypeError) tally.typeErrors++;
        else tally.rangeErrors++;
        return;
      }
      if (err && err.message === 'aborted by the fuzzer') return;
      throw new assert.Assertion({ message: `${what}: unexpected ${err && err.stack ? err.stack : String(err)}`, generated: false });
    };

    for (let step = 0; step < steps; step++) {
      const i = r.below(actions.length);
      const what = `step ${step} action ${i}`;
      let out;
      try {
        out = actions[i]();
      } catch (err) {
        judge(err, what);
        continue;
      }
      if (out instanceof Socket) sockets.push(out); // socket() and acceptSync()
      if (out && typeof out.then === 'function') {
        try {
          const v = await clock.runUntil(out, { timeLimit: 600_000 });
          if (v instanceof Socket) sockets.push(v); // accept()
          tally.ok++;
        } catch (err) {
          judge(err, what);
        }
      } else {
        tally.ok++;
      }
      assert.is(a.failure, undefined, `${what}: the stack failed: ${a.failure?.message}`);
      assert.is(b.failure, undefined);
      // a closed socket reports POLLNVAL and EBADF, never anything else
      const closed = sockets.find((s) => s.closed);
      if (closed) assert.is(closed.events, POLLNVAL);
      serviceAccept();
      if (r.chance(0.3)) await clock.advanceAsync(pick([0, 1, 50, 1000]));
      tally.steps++;
      if (sockets.length > 48) {
        for (const s of sockets.splice(0, 16)) if (!s.closed) s.close();
      }
    }

    for (const ep of epolls) ep.close();
    for (const s of [...sockets, ...accepted, ...peers]) if (!s.closed) s.close();
    await clock.advanceAsync(300_000); // past TIME_WAIT, FIN_WAIT and ARP/ND expiry
    for (const [k, st] of [['a', a], ['b', b]]) {
      const m = st.memory();
      assert.is(m.sockets, 0, `stack ${k}: sockets`);
      assert.is(m.poolsInUse, base[k].poolsInUse, `stack ${k}: pools ${JSON.stringify(m.pools)} vs ${JSON.stringify(base[k].pools)}`);
    }
    return tally;
  } finally {
    a.dispose();
    b.dispose();
  }
}

it('6000 random calls (seed 1): only documented errors, the stack never fails, nothing leaks', async () => {
  const t = await session(1, 6000);
  console.log(`    seed 1: ${JSON.stringify(t)}`);
  assert.ok(t.ok > 500 && Object.keys(t.socketErrors).length > 8 && t.typeErrors > 20 && t.rangeErrors > 20);
}, 90_000);

it('6000 random calls (seed 2)', async () => {
  const t = await session(2, 6000);
  console.log(`    seed 2: ${JSON.stringify(t)}`);
  assert.ok(t.ok > 500);
}, 90_000);

test('the fuzzer reads the documented codes from the docs', () => {
  for (const c of ['EAGAIN', 'EBADF', 'EINVAL', 'ENOTCONN', 'EPIPE', 'ECONNREFUSED', 'ENOPROTOOPT', 'EMFILE', 'EOPNOTSUPP', 'EEXIST']) {
    assert.ok(DOCUMENTED.has(c), `${c} in ${[...DOCUMENTED].join(' ')}`);
  }
});

test.run();
