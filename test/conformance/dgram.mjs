// node:dgram scenarios for the differential suite (see harness.mjs): each runs against
// Node's dgram on 127.0.0.1 / ::1 and against stack.dgram on the stack's loopback. Only
// loopback addresses are used, broadcast included (127.255.255.255); multicast is
// exercised through its API (joins, options, errors), never sent.
import { wait, turns, attempt } from './harness.mjs';

/** A bound udp4 (or udp6) socket on loopback; its port is named. */
async function bound(env, rec, type = 'udp4', address) {
  const s = env.t(env.dgram.createSocket(type));
  s.bind(0, address ?? (type === 'udp6' ? env.v6 : env.v4));
  await wait(s, 'listening');
  rec.port(s.address().port);
  return s;
}

/** Collects 'message' events as records on channel; resolves count() when n have come. */
function inbox(rec, channel, s) {
  let n = 0;
  const waiting = [];
  s.on('message', (m, r) => {
    rec.log(channel, 'message', String(m), { ...r });
    n++;
    for (const w of waiting.splice(0)) w();
  });
  return {
    async count(want, ms = 5000) {
      const end = Date.now() + ms;
      while (n < want) {
        if (Date.now() > end) throw new Error(`waited for ${want} datagrams, got ${n}`);
        await new Promise((r) => {
          waiting.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

/** Resolves the callback's arguments of a send. */
const sent = (s, ...args) => new Promise((resolve) => s.send(...args, (...r) => resolve(r)));

export const scenarios = [
  {
    name: "bind, 'listening', address(), bind callback; bind twice; a second bind on the port is EADDRINUSE",
    async run(env, rec) {
      const s = env.t(env.dgram.createSocket('udp4'));
      s.on('listening', () => rec.log('s', 'listening'));
      rec.log('s', 'returns', s.bind(0, env.v4, () => rec.log('s', 'bind callback', s.listenerCount('error'))) === s);
      rec.log('s', 'bind again', attempt(rec, () => s.bind(0)));
      await wait(s, 'listening');
      const a = s.address();
      rec.port(a.port);
      rec.log('s', 'address', a);
      const t = env.t(env.dgram.createSocket('udp4'));
      t.on('listening', () => rec.log('t', 'listening'));
      t.bind(a.port, env.v4);
      const [err] = await wait(t, 'error');
      rec.log('t', 'error', err);
      rec.log('t', 'bind after error', attempt(rec, () => t.bind(0, env.v4)));
      await wait(t, 'listening');
      s.close();
      t.close();
    },
  },
  {
    name: "send and 'message' with rinfo; the callback gets the byte count a tick later, after ticks queued earlier",
    issue: 11,
    async run(env, rec) {
      const r = await bound(env, rec);
      inbox(rec, 'r', r);
      const s = await bound(env, rec);
      const port = r.address().port;
      process.nextTick(() => rec.log('s', 'tick queued before send'));
      s.send('hello', port, env.v4, (err, n) => rec.log('s', 'send cb', err, n));
      process.nextTick(() => rec.log('s', 'tick queued after send'));
      Promise.resolve().then(() => rec.log('s', 'microtask after send'));
      rec.log('s', 'send returned');
      await wait(r, 'message');
      rec.log('s', 'offset/length', await sent(s, Buffer.from('xxabcxx'), 2, 3, port, env.v4));
      await wait(r, 'message');
      rec.log('s', 'empty', await sent(s, '', port, env.v4));
      await wait(r, 'message');
      rec.log('s', 'no address (127.0.0.1)', await sent(s, 'default', port));
      await wait(r, 'message');
      r.close();
      s.close();
    },
  },
  {
    name: 'send lists of strings, Buffers, Uint8Array, Float32Array and DataView; bad types throw',
    issue: 10,
    async run(env, rec) {
      const r = await bound(env, rec);
      inbox(rec, 'r', r);
      const s = await bound(env, rec);
      const port = r.address().port;
      const f = new Float32Array([1.5]);
      const dv = new DataView(new Uint8Array([65, 66, 67]).buffer);
      rec.log('s', await sent(s, ['a', Buffer.from('b'), new Uint8Array([99]), f, dv], port, env.v4));
      await wait(r, 'message');
      rec.log('s', await sent(s, f, port, env.v4));
      await wait(r, 'message');
      rec.log('s', await sent(s, dv, 1, 1, port, env.v4));
      await wait(r, 'message');
      for (const bad of [5, {}, [1], ['a', {}], null]) rec.log('s', 'bad', attempt(rec, () => s.send(bad, port, env.v4)));
      rec.log('s', 'out of bounds', attempt(rec, () => s.send(Buffer.from('ab'), 1, 5, port, env.v4)),
        attempt(rec, () => s.send(Buffer.from('ab'), 3, 0, port, env.v4)));
      r.close();
      s.close();
    },
  },
  {
    name: "sending from an unbound socket binds it first ('listening'); sends wait for the bind",
    async run(env, rec) {
      const r = await bound(env, rec);
      inbox(rec, 'r', r);
      const s = env.t(env.dgram.createSocket('udp4'));
      s.on('listening', () => rec.log('s', 'listening', s.address().address));
      rec.log('s', 'address before', attempt(rec, () => s.address()));
      s.send('one', r.address().port, env.v4, (err, n) => rec.log('s', 'cb one', err, n));
      s.send('two', r.address().port, env.v4, (err, n) => rec.log('s', 'cb two', err, n));
      rec.log('s', 'bind now', attempt(rec, () => s.bind(0)));
      await wait(r, 'message');
      await wait(r, 'message');
      r.close();
      s.close();
    },
  },
  {
    name: 'send argument errors: ports, addresses, callbacks that are not functions',
    issue: 11,
    async run(env, rec) {
      const s = await bound(env, rec);
      const cases = [['x', 0, env.v4], ['x', 70000, env.v4], ['x', -1, env.v4], ['x', 'abc', env.v4], ['x', undefined, env.v4],
        ['x', 80, 5], ['x', 80, env.v4, 'not a function'], ['x', 0, 1, 80, env.v4]];
      for (const args of cases) rec.log('s', args, attempt(rec, () => s.send(...args)));
      await turns(3);
      s.close();
    },
  },
  {
    name: "connect, remoteAddress, send without an address, disconnect; misuse errors; 'connect' event",
    async run(env, rec) {
      const r = await bound(env, rec);
      const box = inbox(rec, 'r', r);
      const s = env.t(env.dgram.createSocket('udp4'));
      s.on('connect', () => rec.log('s', 'connect event'));
      s.on('listening', () => rec.log('s', 'listening'));
      rec.log('s', 'remoteAddress unconnected', attempt(rec, () => s.remoteAddress()));
      rec.log('s', 'disconnect unconnected', attempt(rec, () => s.disconnect()));
      rec.log('s', 'bad', attempt(rec, () => s.connect(0, env.v4)), attempt(rec, () => s.connect(80, 5)));
      s.connect(r.address().port, env.v4, (err) => rec.log('s', 'connect cb', err));
      rec.log('s', 'connect again', attempt(rec, () => s.connect(r.address().port, env.v4)));
      await wait(s, 'connect');
      rec.log('s', 'remoteAddress', s.remoteAddress());
      rec.log('s', await sent(s, 'connected'));
      await box.count(1);
      // (msg, port, address) on a connected socket: Node reads port as a callback and sends
      rec.log('s', 'with address', attempt(rec, () => s.send('x', r.address().port, env.v4)));
      rec.log('s', 'with offset', attempt(rec, () => s.send('x', 0, 1, r.address().port, env.v4)));
      await box.count(2);
      rec.log('s', await sent(s, Buffer.from('xyz'), 1, 2));
      await box.count(3);
      s.disconnect();
      rec.log('s', 'after disconnect', attempt(rec, () => s.remoteAddress()), attempt(rec, () => s.send('x')),
        attempt(rec, () => s.address().port === 0 ? 'port 0' : 'a port'));
      rec.log('s', await sent(s, 'again', r.address().port, env.v4));
      await box.count(4);
      r.close();
      s.close();
    },
  },
  {
    name: 'a connected socket and a closed port: ECONNREFUSED as an error event; the socket stays open',
    async run(env, rec) {
      const free = await (async () => {
        const t = env.dgram.createSocket('udp4');
        t.bind(0, env.v4);
        await wait(t, 'listening');
        const p = t.address().port;
        t.close();
        return p;
      })();
      rec.port(free);
      const s = env.t(env.dgram.createSocket('udp4'));
      s.connect(free, env.v4);
      await wait(s, 'connect');
      const errors = [];
      s.on('error', (e) => errors.push(e));
      s.send('anyone?', (err, n) => rec.log('s', 'send cb', err, n));
      await new Promise((r) => setTimeout(r, 100));
      rec.log('s', 'errors', errors.map((e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })));
      rec.log('s', 'still open', attempt(rec, () => s.remoteAddress()));
      s.close();
    },
  },
  {
    name: "close(): 'close' once; closing or sending again throws ERR_SOCKET_DGRAM_NOT_RUNNING; close(cb)",
    async run(env, rec) {
      const s = await bound(env, rec);
      s.on('close', () => rec.log('s', 'close event'));
      rec.log('s', 'returns', s.close(() => rec.log('s', 'close cb')) === s);
      rec.log('s', 'again', attempt(rec, () => s.close()));
      rec.log('s', 'send', attempt(rec, () => s.send('x', 80, env.v4)));
      rec.log('s', 'address', attempt(rec, () => s.address()));
      rec.log('s', 'bind', attempt(rec, () => s.bind(0)));
      rec.log('s', 'addMembership', attempt(rec, () => s.addMembership('239.1.2.3')));
      await turns(3);
      // closing an unbound socket, and one whose send is queued behind its bind
      const u = env.t(env.dgram.createSocket('udp4'));
      u.on('close', () => rec.log('u', 'close event'));
      u.close();
      const q = env.t(env.dgram.createSocket('udp4'));
      q.on('close', () => rec.log('q', 'close event'));
      q.on('listening', () => rec.log('q', 'listening'));
      q.send('x', 9, env.v4, (err) => rec.log('q', 'send cb', err));
      q.close();
      await turns(5);
    },
  },
  {
    name: 'options before bind fail as libuv does (EBADF, ERR_SOCKET_BUFFER_SIZE); range checks come first',
    issue: 11,
    async run(env, rec) {
      const s = env.t(env.dgram.createSocket('udp4'));
      rec.log('s', 'setTTL', attempt(rec, () => s.setTTL(64)), attempt(rec, () => s.setTTL(0)), attempt(rec, () => s.setTTL('x')));
      rec.log('s', 'setMulticastTTL', attempt(rec, () => s.setMulticastTTL(1)), attempt(rec, () => s.setMulticastTTL(256)));
      rec.log('s', 'setBroadcast', attempt(rec, () => s.setBroadcast(true)));
      rec.log('s', 'setMulticastLoopback', attempt(rec, () => s.setMulticastLoopback(true)));
      rec.log('s', 'setMulticastInterface', attempt(rec, () => s.setMulticastInterface('127.0.0.1')), attempt(rec, () => s.setMulticastInterface(5)));
      rec.log('s', 'buffer sizes', attempt(rec, () => s.getRecvBufferSize()), attempt(rec, () => s.getSendBufferSize()),
        attempt(rec, () => s.setRecvBufferSize(8192)), attempt(rec, () => s.setRecvBufferSize(-1)), attempt(rec, () => s.setSendBufferSize(1.5)));
      rec.log('s', 'address', attempt(rec, () => s.address()));
      rec.log('s', 'queue', s.getSendQueueSize(), s.getSendQueueCount());
      s.close();
    },
  },
  {
    name: 'options once bound: TTLs, loopback, broadcast, buffer sizes (reported doubled), queue sizes',
    async run(env, rec) {
      const s = await bound(env, rec);
      rec.log('s', 'setTTL', attempt(rec, () => s.setTTL(64)), attempt(rec, () => s.setTTL(255)), attempt(rec, () => s.setTTL(256)),
        attempt(rec, () => s.setTTL(0)), attempt(rec, () => s.setTTL(1.5)));
      rec.log('s', 'setMulticastTTL', attempt(rec, () => s.setMulticastTTL(0)), attempt(rec, () => s.setMulticastTTL(255)),
        attempt(rec, () => s.setMulticastTTL(-1)));
      rec.log('s', 'setMulticastLoopback', attempt(rec, () => s.setMulticastLoopback(true)), attempt(rec, () => s.setMulticastLoopback(0)));
      rec.log('s', 'setBroadcast', attempt(rec, () => s.setBroadcast(true)), attempt(rec, () => s.setBroadcast(false)));
      rec.log('s', 'setMulticastInterface', attempt(rec, () => s.setMulticastInterface('127.0.0.1')),
        attempt(rec, () => s.setMulticastInterface('nope')));
      s.setRecvBufferSize(65536);
      s.setSendBufferSize(65536);
      rec.log('s', 'buffer sizes', s.getRecvBufferSize(), s.getSendBufferSize());
      rec.log('s', 'queue', s.getSendQueueSize(), s.getSendQueueCount());
      const o = env.t(env.dgram.createSocket({ type: 'udp4', recvBufferSize: 32768, sendBufferSize: 32768 }));
      o.bind(0, env.v4);
      await wait(o, 'listening');
      rec.log('o', 'sizes from options', o.getRecvBufferSize(), o.getSendBufferSize());
      s.close();
      o.close();
    },
  },
  {
    name: 'broadcast on the loopback subnet: EACCES without setBroadcast, delivered with it',
    async run(env, rec) {
      const r = env.t(env.dgram.createSocket('udp4'));
      r.bind(0);
      await wait(r, 'listening');
      rec.port(r.address().port);
      inbox(rec, 'r', r);
      const s = await bound(env, rec);
      rec.log('s', await sent(s, 'no flag', r.address().port, '127.255.255.255'));
      s.setBroadcast(true);
      rec.log('s', await sent(s, 'flag', r.address().port, '127.255.255.255'));
      await wait(r, 'message');
      r.close();
      s.close();
    },
  },
  {
    name: 'multicast membership: join and leave, errors for non-groups and groups not joined, missing arguments',
    async run(env, rec) {
      const s = await bound(env, rec);
      rec.log('s', 'join', attempt(rec, () => s.addMembership('239.1.2.3', '127.0.0.1')));
      rec.log('s', 'leave', attempt(rec, () => s.dropMembership('239.1.2.3', '127.0.0.1')));
      rec.log('s', 'leave again', attempt(rec, () => s.dropMembership('239.1.2.3', '127.0.0.1')));
      rec.log('s', 'not a group', attempt(rec, () => s.addMembership('10.1.2.3', '127.0.0.1')));
      rec.log('s', 'not an address', attempt(rec, () => s.addMembership('nope')));
      rec.log('s', 'missing', attempt(rec, () => s.addMembership()), attempt(rec, () => s.dropMembership('')));
      const u = env.t(env.dgram.createSocket('udp4'));
      rec.log('u', 'join before bind', attempt(rec, () => u.addMembership('239.1.2.4', '127.0.0.1')));
      rec.log('u', 'address after', attempt(rec, () => u.address().address));
      s.close();
      u.close();
    },
  },
  {
    name: 'send errors: EMSGSIZE goes to the callback, and is dropped without one',
    issue: 11,
    async run(env, rec) {
      const s = await bound(env, rec);
      const errors = [];
      s.on('error', (e) => errors.push(e.code));
      const big = Buffer.alloc(65508);
      s.send(big, 9, env.v4);
      rec.log('s', await sent(s, big, 9, env.v4));
      await turns(3);
      rec.log('s', 'error events', errors);
      s.close();
    },
  },
  {
    name: 'createSocket argument errors: type, lookup, buffer sizes',
    issue: 11,
    async run(env, rec) {
      for (const arg of ['udp5', { type: 'tcp' }, { type: 'udp4', lookup: 5 }, { type: 'udp4', recvBufferSize: -1 },
        { type: 'udp4', sendBufferSize: 'x' }, 5, undefined]) {
        rec.log('createSocket', arg, attempt(rec, () => env.t(env.dgram.createSocket(arg))));
      }
      rec.log('Socket', typeof env.dgram.Socket, env.dgram.createSocket('udp4') instanceof env.dgram.Socket);
    },
  },
  {
    name: "exceptions thrown in 'listening', bind callbacks and 'message' reach uncaughtException; the socket goes on",
    issue: 2,
    async run(env, rec) {
      await env.catchUncaught(rec, 's', async () => {
        const s = env.t(env.dgram.createSocket('udp4'));
        const listening = wait(s, 'listening'); // before the callback, which throws
        s.bind(0, env.v4, () => {
          throw new Error('thrown in bind callback');
        });
        await listening;
        await turns(2);
        rec.port(s.address().port);
        let got = 0;
        const messages = async (n) => {
          for (let i = 0; i < 100 && got < n; i++) await new Promise((r) => setTimeout(r, 20));
        };
        s.on('message', (m) => {
          rec.log('s', 'message', String(m));
          got++;
          throw new Error('thrown in message');
        });
        const c = env.t(env.dgram.createSocket('udp4'));
        c.send('one', s.address().port, env.v4, () => {
          throw new Error('thrown in send callback');
        });
        // after the send, whose queue waits on 'listening' too (a listener that throws
        // stops the ones after it, in Node as anywhere)
        c.on('listening', () => {
          throw new Error('thrown in listening');
        });
        await messages(1);
        await turns(3);
        c.send('two', s.address().port, env.v4, (err) => rec.log('c', 'second send', err));
        await messages(2);
        await turns(3);
        s.close();
        c.close();
      });
    },
  },
  {
    name: 'a lookup option is called as lookup(address, family, cb) for bind, send and connect',
    issue: 6,
    async run(env, rec) {
      const lookup = (address, family, cb) => {
        rec.log('lookup', address, family, typeof cb);
        cb(null, family === 6 ? '::1' : '127.0.0.1', family);
      };
      const r = env.t(env.dgram.createSocket({ type: 'udp4', lookup }));
      r.on('listening', () => rec.log('r', 'listening'));
      const listening = wait(r, 'listening'); // a lookup that answers at once binds at once
      r.bind(0, 'receiver.test');
      rec.log('r', 'bind returned');
      await listening;
      rec.port(r.address().port);
      inbox(rec, 'r', r);
      const s = env.t(env.dgram.createSocket({ type: 'udp4', lookup }));
      rec.log('s', await sent(s, 'named', r.address().port, 'receiver.test'));
      await wait(r, 'message');
      rec.log('s', await sent(s, 'default', r.address().port));
      await wait(r, 'message');
      const connected = wait(s, 'connect');
      s.connect(r.address().port, 'localhost');
      await connected;
      rec.log('s', 'connected', s.remoteAddress());
      const failing = env.t(env.dgram.createSocket({ type: 'udp4', lookup: (a, f, cb) => cb(Object.assign(new Error(`nope ${a}`), { code: 'ENOTFOUND' })) }));
      failing.on('error', (e) => rec.log('failing', 'error', e.message, e.code));
      const failed = wait(failing, 'error');
      failing.bind(0, 'nowhere.test');
      await failed;
      r.close();
      s.close();
      failing.close();
    },
  },
  {
    name: 'udp6 on ::1: bind, send, rinfo, address()',
    async run(env, rec) {
      const r = await bound(env, rec, 'udp6');
      inbox(rec, 'r', r);
      rec.log('r', r.address());
      const s = await bound(env, rec, 'udp6');
      rec.log('s', await sent(s, 'six', r.address().port, env.v6));
      await wait(r, 'message');
      rec.log('s', await sent(s, 'default six', r.address().port));
      await wait(r, 'message');
      rec.log('s', 'setTTL', s.setTTL(10), 'setMulticastTTL', s.setMulticastTTL(3));
      r.close();
      s.close();
    },
  },
  {
    name: 'ref() and unref() return the socket; Symbol.asyncDispose closes it; an AbortSignal closes it',
    issue: 12,
    async run(env, rec) {
      const s = await bound(env, rec);
      rec.log('s', s.unref() === s, s.ref() === s);
      s.on('close', () => rec.log('s', 'close'));
      await s[Symbol.asyncDispose]();
      rec.log('s', 'disposed');
      await s[Symbol.asyncDispose]();
      rec.log('s', 'again');
      const ac = new AbortController();
      const a = env.t(env.dgram.createSocket({ type: 'udp4', signal: ac.signal }));
      a.on('close', () => rec.log('a', 'close'));
      a.bind(0, env.v4);
      await wait(a, 'listening');
      ac.abort();
      await turns(2);
      rec.log('a', 'after abort', attempt(rec, () => a.address()));
      const b = env.t(env.dgram.createSocket({ type: 'udp4', signal: AbortSignal.abort() }));
      b.on('close', () => rec.log('b', 'close'));
      rec.log('b', 'bind', attempt(rec, () => b.bind(0)));
      await turns(2);
    },
  },
  {
    name: 'reuseAddr: two sockets bind one port; without it the second is EADDRINUSE',
    async run(env, rec) {
      const a = env.t(env.dgram.createSocket({ type: 'udp4', reuseAddr: true }));
      a.bind(0, env.v4);
      await wait(a, 'listening');
      rec.port(a.address().port);
      const b = env.t(env.dgram.createSocket({ type: 'udp4', reuseAddr: true }));
      b.on('error', (e) => rec.log('b', 'error', e));
      b.bind(a.address().port, env.v4);
      await wait(b, 'listening');
      rec.log('b', 'bound', b.address());
      const c = env.t(env.dgram.createSocket({ type: 'udp4' }));
      c.bind(a.address().port, env.v4);
      c.on('error', (e) => rec.log('c', 'error', e));
      await wait(c, 'error');
      for (const x of [a, b, c]) x.close();
    },
  },
];
