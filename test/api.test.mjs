// The API's edges: bad arguments are TypeError/RangeError and never reach (or break)
// the wasm; SocketError's shape; EADDRNOTAVAIL, ENETUNREACH, EBADF; constants.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import * as lw from '../dist/index.js';
import {
  Stack, Socket, NetInterface, SocketError, StackError, PairLink, createPair, loadModule,
  AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM, SHUT_RD, SHUT_WR, SHUT_RDWR, POLLIN, POLLOUT, POLLNVAL,
} from '../dist/index.js';
import {
  twoStacks, within, sleep, tcpEcho, throwsSocketError, rejectsSocketError, throwsKind,
} from './util-udp.mjs';

const BAD_ADDRESSES = ['10.0.0', '1.2.3.256', 'fe80:::1', 42, '', '1.2.3.4.5', '01.2.3.4', ' 10.0.0.2',
  '10.0.0.2/24', 'fd00::1%', 'fd00::1%eth0', 'fd00::1::2', 'g::1', null, undefined, {}];
const BAD_PORTS = [-1, 65536, 1.5, '80', NaN, Infinity, null];

async function rejectsKind(p, Ctor, what) {
  let caught;
  try {
    await within(Promise.resolve().then(p), 3000, what);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `${what}: expected ${Ctor.name}, but it resolved`);
  assert.ok(caught instanceof Ctor && caught.constructor === Ctor,
    `${what}: expected ${Ctor.name}, got ${caught && caught.constructor && caught.constructor.name}: ${caught && caught.message}`);
}

test('malformed addresses and ports throw TypeError/RangeError; the stacks keep working', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    for (const [domain, type] of [[AF_INET, SOCK_STREAM], [AF_INET, SOCK_DGRAM], [AF_INET6, SOCK_STREAM], [AF_INET6, SOCK_DGRAM]]) {
      const s = a.socket(domain, type);
      for (const bad of BAD_ADDRESSES) {
        const what = `${domain}/${type} ${JSON.stringify(bad)}`;
        throwsKind(() => s.bind(bad, 0), TypeError, `bind ${what}`);
        throwsKind(() => s.connectSync(bad, 80), TypeError, `connectSync ${what}`);
        await rejectsKind(() => s.connect(bad, 80), TypeError, `connect ${what}`);
        if (type === SOCK_DGRAM) {
          throwsKind(() => s.sendtoSync('x', bad, 80), TypeError, `sendtoSync ${what}`);
          await rejectsKind(() => s.sendto('x', bad, 80), TypeError, `sendto ${what}`);
        }
      }
      const good = domain === AF_INET ? '10.0.0.2' : 'fd00::2';
      const any = domain === AF_INET ? '0.0.0.0' : '::';
      for (const port of BAD_PORTS) {
        const what = `${domain}/${type} port ${String(port)}`;
        throwsKind(() => s.bind(any, port), RangeError, `bind ${what}`);
        throwsKind(() => s.connectSync(good, port), RangeError, `connectSync ${what}`);
        if (type === SOCK_DGRAM) throwsKind(() => s.sendtoSync('x', good, port), RangeError, `sendtoSync ${what}`);
      }
      // Nothing half-happened: the socket is still unbound and usable.
      assert.is(s.getsockname().port, 0, 'a rejected bind left the socket bound');
      s.bind(any, 0);
      assert.ok(s.getsockname().port > 0);
      s.close();
    }
    assert.is(a.failure, undefined);
    assert.is(await tcpEcho(a, b, { text: 'still alive' }), 'still alive');
  } finally {
    net.dispose();
  }
});

test('bad socket(), data, shutdown, sizes, flags and options throw TypeError/RangeError', async () => {
  const net = await twoStacks();
  try {
    const { a, b } = net;
    for (const d of [0, 1, 3, 6, '2', null, undefined, 2.5, AF_INET6 + 1]) {
      throwsKind(() => a.socket(d, SOCK_STREAM), TypeError, `domain ${String(d)}`);
    }
    for (const t of [0, 3, 5, '1', null, undefined, 1.5, SOCK_STREAM | 0x100]) {
      throwsKind(() => a.socket(AF_INET, t), TypeError, `type ${String(t)}`);
    }
    const u = a.socket(AF_INET, SOCK_DGRAM);
    await u.connect('10.0.0.2', 9);
    const t = a.socket(AF_INET, SOCK_STREAM);
    for (const bad of [42, null, undefined, {}, [1, 2, 3], true, Symbol('x')]) {
      throwsKind(() => u.sendSync(bad), TypeError, `sendSync ${String(bad)}`);
      throwsKind(() => t.sendSync(bad), TypeError, `tcp sendSync ${String(bad)}`);
      throwsKind(() => u.sendtoSync(bad, '10.0.0.2', 9), TypeError, `sendtoSync ${String(bad)}`);
      await rejectsKind(() => u.send(bad), TypeError, `send ${String(bad)}`);
    }
    for (const how of [3, -1, '1', undefined, null, 1.5, SHUT_RDWR + 1]) {
      throwsKind(() => u.shutdown(how), RangeError, `shutdown ${String(how)}`);
      throwsKind(() => t.shutdown(how), RangeError, `tcp shutdown ${String(how)}`);
    }
    for (const n of [-1, 1.5, '10', 2 ** 31]) {
      throwsKind(() => u.recvSync(n), RangeError, `recvSync ${String(n)}`);
      throwsKind(() => u.recvfromSync(n), RangeError, `recvfromSync ${String(n)}`);
    }
    throwsKind(() => u.recvSync(10, -1), TypeError, 'flags -1');
    throwsKind(() => u.sendSync('x', 0.5), TypeError, 'flags 0.5');
    throwsKind(() => t.listen('x'), TypeError, 'listen backlog');
    await rejectsKind(() => u.recv(10, { timeout: -5 }), RangeError, 'recv timeout -5');
    await rejectsKind(() => u.recv(10, 'soon'), TypeError, 'recv options string');
    await rejectsKind(() => u.recv(10, { signal: 'x' }), TypeError, 'recv bad signal');
    throwsKind(() => a.pollSync('x'), TypeError, 'pollSync not an array');
    throwsKind(() => a.pollSync([{ socket: {}, events: POLLIN }]), TypeError, 'pollSync entry');
    await rejectsKind(() => a.poll([{ socket: u, events: POLLIN }], -2), RangeError, 'poll timeout -2');
    await rejectsKind(() => Stack.create(null), TypeError, 'Stack.create(null)');
    await rejectsKind(() => Stack.create({ connectTimeout: 0 }), RangeError, 'connectTimeout 0');
    await rejectsKind(() => Stack.create({ maxSockets: 1.5 }), RangeError, 'maxSockets 1.5');
    await rejectsKind(() => Stack.create({ timeWait: -1 }), RangeError, 'timeWait -1');

    // Both sockets still behave normally.
    assert.is(u.sendSync('ok'), 2);
    // A valid shutdown reaches the wasm and gets Linux's answer for an unconnected socket.
    throwsSocketError(() => t.shutdown(SHUT_RD), 'ENOTCONN', { errno: 107, syscall: 'shutdown' });
    assert.is(a.failure, undefined);
    assert.is(b.failure, undefined);
    assert.is(await tcpEcho(a, b, { text: 'after bad args' }), 'after bad args');
  } finally {
    net.dispose();
  }
});

test('bad addInterface options throw and add nothing', async () => {
  const net = await twoStacks();
  try {
    const { a, b, ia } = net;
    const [spare] = createPair({ mtu: 1500 });
    const bad = [
      { ip: '10.1.0.1/33' }, { ip: '10.1.0/24' }, { ip: '10.1.0.1/24/8' }, { ip: '10.1.0.1/x' },
      { ip: 'fd01::1/64' }, { ip: 42 }, { ip: '10.1.0.256/24' },
      { ipv6: 'fd01:::1/64' }, { ipv6: 'fd01::1/129' }, { ipv6: '10.1.0.1/24' }, { ipv6: ['fd01::1/64', 'nope'] },
      { mac: 'zz:00:00:00:00:01' }, { mac: '02:00:00:00:00' }, { mac: '01:00:00:00:00:01' },
      { mac: new Uint8Array(5) }, { mac: 42 },
      { mtu: 100 }, { mtu: 575 }, { mtu: 1501 }, { mtu: 1.5 }, { mtu: '1500' },
      { ip: '10.1.0.1/24', gateway: '10.1.0' }, { gateway: '10.1.0.254' },
    ];
    const before = a.interfaces.length;
    for (const opts of bad) {
      let caught;
      try {
        a.addInterface(spare, opts);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught, `addInterface(${JSON.stringify(opts)}) did not throw`);
      assert.ok(caught instanceof TypeError || caught instanceof RangeError,
        `addInterface(${JSON.stringify(opts)}) threw ${caught.constructor.name}: ${caught.message}`);
      assert.is(a.interfaces.length, before, `addInterface(${JSON.stringify(opts)}) added an interface`);
    }
    throwsKind(() => a.addInterface(null, {}), TypeError, 'addInterface(null)');
    throwsKind(() => a.addInterface({}, {}), TypeError, 'addInterface({})');
    assert.is(a.interfaces.length, before);
    // The 10.1.0.1 from the rejected options is not ours.
    throwsSocketError(() => a.socket(AF_INET, SOCK_DGRAM).bind('10.1.0.1', 0), 'EADDRNOTAVAIL');
    // The spare link was never attached, and no interface number was used up.
    const added = a.addInterface(spare, { ip: '10.1.0.1/24' });
    assert.is(added.index, ia.index + 1);
    assert.is(a.interfaces.length, before + 1);
    assert.is(a.failure, undefined);
    assert.is(await tcpEcho(a, b, { text: 'interfaces ok' }), 'interfaces ok');
  } finally {
    net.dispose();
  }
});

test('addInterface with a duplicate or one-too-many IPv6 address throws and adds nothing', async () => {
  const net = await twoStacks();
  try {
    const { a, b, ia } = net;
    const [spare] = createPair({ mtu: 1500 });
    for (const ipv6 of [['fd09::9/64', 'fd09::9/64'], ['fd0a::1/64', 'fd0a::2/64', 'fd0a::3/64', 'fd0a::4/64']]) {
      let caught;
      try {
        a.addInterface(spare, { ipv6 });
      } catch (err) {
        caught = err;
      }
      assert.ok(caught, `addInterface(${JSON.stringify(ipv6)}) did not throw`);
      assert.is(a.interfaces.length, 1);
    }
    // None of those addresses may be live on a hidden interface.
    for (const addr of ['fd09::9', 'fd0a::1', 'fd0a::3']) {
      throwsSocketError(() => a.socket(AF_INET6, SOCK_DGRAM).bind(addr, 0), 'EADDRNOTAVAIL', { syscall: 'bind' });
    }
    const added = a.addInterface(spare, { ip: '10.2.0.1/24' });
    assert.is(added.index, ia.index + 1, 'a failed addInterface used up an interface index');
    assert.is(await tcpEcho(a, b, { text: 'v6 opts ok' }), 'v6 opts ok');
  } finally {
    net.dispose();
  }
});

test('SocketError carries code, errno and syscall; bind to a foreign address is EADDRNOTAVAIL', async () => {
  const net = await twoStacks();
  try {
    const { a } = net;
    const s = a.socket(AF_INET, SOCK_STREAM);
    const err = throwsSocketError(() => s.bind('10.0.0.2', 1234), 'EADDRNOTAVAIL', { errno: 99, syscall: 'bind' });
    assert.instance(err, Error);
    assert.is(err.name, 'SocketError');
    assert.is(err.address, '10.0.0.2');
    assert.is(err.port, 1234);
    assert.ok(err.message.includes('EADDRNOTAVAIL'), err.message);
    throwsSocketError(() => a.socket(AF_INET, SOCK_DGRAM).bind('192.168.1.1', 0), 'EADDRNOTAVAIL', { errno: 99 });
    throwsSocketError(() => a.socket(AF_INET6, SOCK_STREAM).bind('fd00::99', 0), 'EADDRNOTAVAIL', { errno: 99 });
    throwsSocketError(() => a.socket(AF_INET6, SOCK_DGRAM).bind('fd00::2', 0), 'EADDRNOTAVAIL', { errno: 99 });
    // Own addresses, loopback and the wildcard are fine.
    s.bind('10.0.0.1', 0);
    a.socket(AF_INET, SOCK_DGRAM).bind('127.0.0.1', 0);
    a.socket(AF_INET6, SOCK_DGRAM).bind('fd00::1', 0);
    a.socket(AF_INET6, SOCK_DGRAM).bind('::1', 0);
    a.socket(AF_INET6, SOCK_DGRAM).bind('::', 0);
  } finally {
    net.dispose();
  }
});

/** One stack, one interface 10.0.0.1/24, no gateway; the cable leads nowhere. */
async function isolated() {
  const [l] = createPair();
  const s = await Stack.create({ seed: 3 });
  s.addInterface(l, { ip: '10.0.0.1/24' });
  return s;
}

test('TCP connect with no route is ENETUNREACH (connectSync throws it; connect rejects with it)', async () => {
  const s = await isolated();
  try {
    const t = s.socket(AF_INET, SOCK_STREAM);
    // Linux: a non-blocking connect() fails at once with ENETUNREACH, not EINPROGRESS.
    throwsSocketError(() => t.connectSync('192.168.50.1', 80), 'ENETUNREACH', { errno: 101, syscall: 'connect' });
  } finally {
    s.dispose();
  }
  const s2 = await isolated();
  try {
    const t = s2.socket(AF_INET, SOCK_STREAM);
    const t0 = performance.now();
    await rejectsSocketError(t.connect('192.168.50.1', 80, { timeout: 2000 }), 'ENETUNREACH', {
      errno: 101, syscall: 'connect', ms: 4000,
    });
    assert.ok(performance.now() - t0 < 1000, 'ENETUNREACH should not wait for a timeout');
  } finally {
    s2.dispose();
  }
});

test('UDP sendto/connect with no route is ENETUNREACH', async () => {
  const s = await isolated();
  try {
    const u = s.socket(AF_INET, SOCK_DGRAM);
    throwsSocketError(() => u.sendtoSync('x', '192.168.50.1', 53), 'ENETUNREACH', { errno: 101, syscall: 'sendto' });
    // Linux routes at UDP connect() too (ip4_datagram_connect).
    throwsSocketError(() => u.connectSync('192.168.50.1', 53), 'ENETUNREACH', { errno: 101, syscall: 'connect' });
  } finally {
    s.dispose();
  }
});

test('calls on a closed socket are EBADF; closing twice is EBADF; a reused fd is not touched', async () => {
  const net = await twoStacks();
  try {
    const { a } = net;
    for (const type of [SOCK_STREAM, SOCK_DGRAM]) {
      const s = a.socket(AF_INET, type);
      const fd = s.fd;
      s.close();
      assert.ok(s.closed);
      assert.is(s.events, POLLNVAL);
      assert.equal(a.pollSync([{ socket: s, events: POLLIN | POLLOUT }]), [POLLNVAL]);
      throwsSocketError(() => s.close(), 'EBADF', { errno: 9, syscall: 'close' });
      // POSIX: the lowest free descriptor is reused...
      const again = a.socket(AF_INET, SOCK_DGRAM);
      assert.is(again.fd, fd);
      const calls = {
        bind: () => s.bind('0.0.0.0', 0),
        listen: () => s.listen(),
        connect: () => s.connectSync('10.0.0.2', 80),
        send: () => s.sendSync('x'),
        sendto: () => s.sendtoSync('x', '10.0.0.2', 80),
        recv: () => s.recvSync(),
        recvfrom: () => s.recvfromSync(),
        shutdown: () => s.shutdown(SHUT_WR),
        getsockname: () => s.getsockname(),
        getpeername: () => s.getpeername(),
        accept: () => s.acceptSync(),
        close: () => s.close(),
      };
      for (const [name, fn] of Object.entries(calls)) {
        throwsSocketError(fn, 'EBADF', { errno: 9 });
        void name;
      }
      throwsSocketError(() => s.takeError(), 'EBADF');
      throwsSocketError(() => s.pending, 'EBADF');
      await rejectsSocketError(s.recv(10, { timeout: 100 }), 'EBADF');
      await rejectsSocketError(s.connect('10.0.0.2', 80), 'EBADF');
      // ...but the old handle never reaches the new socket behind the same number.
      assert.not.ok(again.closed);
      again.bind('0.0.0.0', 0);
      assert.ok(again.getsockname().port > 0);
      again.close();
      throwsSocketError(() => again.close(), 'EBADF');
    }
  } finally {
    net.dispose();
  }
});

test('a wait on a socket that gets closed ends with EBADF', async () => {
  const net = await twoStacks();
  try {
    const u = net.a.socket(AF_INET, SOCK_DGRAM);
    u.bind('0.0.0.0', 0);
    const waiting = u.recvfrom(100, { timeout: 3000 });
    await sleep(5);
    u.close();
    await rejectsSocketError(waiting, 'EBADF', { ms: 2000 });
  } finally {
    net.dispose();
  }
});

test('after dispose every call throws StackError ESTACKDISPOSED; pending waits reject', async () => {
  const s = await Stack.create({ seed: 9 });
  const u = s.socket(AF_INET, SOCK_DGRAM);
  u.bind('127.0.0.1', 0);
  const waiting = u.recvfrom(100, { timeout: 3000 });
  s.dispose();
  let caught;
  try {
    await within(waiting, 2000, 'pending recvfrom after dispose');
  } catch (err) {
    caught = err;
  }
  assert.instance(caught, StackError);
  assert.is(caught.code, 'ESTACKDISPOSED');
  assert.ok(s.disposed);
  assert.ok(u.closed);
  for (const fn of [() => s.socket(AF_INET, SOCK_DGRAM), () => s.memory(), () => s.addInterface(createPair()[0]),
    () => u.sendtoSync('x', '127.0.0.1', 9), () => s.pollSync([])]) {
    let e;
    try {
      fn();
    } catch (err) {
      e = err;
    }
    assert.instance(e, StackError, `expected StackError, got ${e}`);
    assert.is(e.code, 'ESTACKDISPOSED');
  }
  s.dispose(); // twice is harmless
});

test('every constant is exported from the root with its Linux value', () => {
  const expected = {
    AF_INET: 2, AF_INET6: 10, SOCK_STREAM: 1, SOCK_DGRAM: 2, IPPROTO_TCP: 6, IPPROTO_UDP: 17,
    SHUT_RD: 0, SHUT_WR: 1, SHUT_RDWR: 2,
    POLLIN: 0x1, POLLPRI: 0x2, POLLOUT: 0x4, POLLERR: 0x8, POLLHUP: 0x10, POLLNVAL: 0x20, POLLRDHUP: 0x2000,
    MSG_PEEK: 0x2, MSG_TRUNC: 0x20, MSG_DONTWAIT: 0x40, MSG_WAITALL: 0x100, MSG_NOSIGNAL: 0x4000, MSG_MORE: 0x8000,
    EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14,
    EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, EMFILE: 24, EPIPE: 32, ENOSYS: 38, ENOTSOCK: 88,
    EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95,
    EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100, ENETUNREACH: 101, ECONNABORTED: 103,
    ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
    EHOSTDOWN: 112, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115,
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.is(lw[name], value, `${name}`);
  }
  // Cross-check errno values against the host when it is Linux.
  if (process.platform === 'linux') {
    for (const name of Object.keys(expected).filter((n) => /^E[A-Z]+$/.test(n))) {
      if (os.constants.errno[name] === undefined) continue; // Node lists only some
      assert.is(lw[name], os.constants.errno[name], `${name} vs os.constants.errno`);
    }
  }
  // ERRNO_NAMES maps every exported errno back to its name.
  assert.type(lw.ERRNO_NAMES, 'object');
  for (const name of Object.keys(expected).filter((n) => /^E[A-Z]+$/.test(n))) {
    assert.is(lw.ERRNO_NAMES[lw[name]], name, `ERRNO_NAMES[${lw[name]}]`);
  }
  // Every exported E* constant has its name in ERRNO_NAMES (no silent gaps).
  for (const [name, value] of Object.entries(lw)) {
    // EPOLL* are event bits, not errnos.
    if (/^E[A-Z0-9]+$/.test(name) && !name.startsWith('EPOLL') && typeof value === 'number') {
      assert.is(lw.ERRNO_NAMES[value], name, `${name} missing from ERRNO_NAMES`);
    }
  }
  // The classes and functions, too.
  for (const [name, v] of Object.entries({ Stack, Socket, NetInterface, SocketError, StackError, PairLink, createPair, loadModule })) {
    assert.type(v, 'function', name);
  }
  assert.is(new SocketError(111, 'connect').code, 'ECONNREFUSED');
  assert.is(new SocketError(111, 'connect').errno, 111);
});

test.run();
