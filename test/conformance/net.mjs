// node:net scenarios for the differential suite (see harness.mjs): each runs against
// Node's net on 127.0.0.1 and against stack.net on the stack's loopback. `issue` names
// the item of issue 18 a scenario pins down.
import events from 'node:events';
import { wait, turns, attempt } from './harness.mjs';

/** A listening server on 127.0.0.1 (its port named P1...); resolves it. */
export async function listening(env, rec, options, onConnection) {
  const server = env.t(env.net.createServer(options ?? {}, onConnection));
  server.listen(0, env.v4);
  await wait(server, 'listening');
  rec.port(server.address().port);
  return server;
}

const EVENTS = ['connect', 'ready', 'lookup', 'data', 'end', 'finish', 'timeout', 'error', 'close', 'drain',
  'connectionAttempt', 'connectionAttemptFailed', 'connectionAttemptTimeout'];

/** Logs every event of a socket on channel (data as text). */
export function watch(rec, channel, socket, names = EVENTS) {
  for (const n of names) {
    socket.on(n, (...args) => {
      if (n === 'data') rec.log(channel, 'data', String(args[0]));
      else if (n === 'lookup') rec.log(channel, 'lookup', args[0] ?? null, args[1], args[2], args[3]);
      else if (n === 'connectionAttempt') rec.log(channel, n, args[0], rec.port(args[1]), args[2]);
      else if (n === 'connectionAttemptFailed') rec.log(channel, n, args[0], rec.port(args[1]), args[2], args[3]);
      else rec.log(channel, n, ...args);
    });
  }
}

const closed = (socket) => (socket.closed ? Promise.resolve() : wait(socket, 'close'));

/** A connected pair: client c and the server's socket s. */
async function pair(env, rec, serverOptions = {}, clientOptions = {}) {
  let resolveS;
  const got = new Promise((r) => (resolveS = r));
  const server = await listening(env, rec, serverOptions, (s) => resolveS(env.t(s)));
  const c = env.t(env.net.connect({ port: server.address().port, host: env.v4, ...clientOptions }));
  await wait(c, 'connect');
  const s = await got;
  return { server, c, s };
}

export const scenarios = [
  {
    name: 'connect, exchange, end: events, states, addresses, counters',
    async run(env, rec) {
      let peer;
      const server = await listening(env, rec, {}, (s) => {
        peer = env.t(s);
        rec.log('server', 'connection', {
          remoteAddress: s.remoteAddress, remoteFamily: s.remoteFamily, localAddress: s.localAddress,
          localPort: s.localPort, pending: s.pending, connecting: s.connecting, readyState: s.readyState,
          server: s.server === server, isPaused: s.isPaused(),
        });
        s.on('data', (d) => s.write(String(d).toUpperCase()));
        s.on('end', () => s.end());
      });
      const c = env.t(env.net.connect(server.address().port, env.v4));
      rec.log('client', 'after connect()', {
        connecting: c.connecting, pending: c.pending, readyState: c.readyState, address: c.address(),
        remoteAddress: c.remoteAddress, bytesWritten: c.bytesWritten, bytesRead: c.bytesRead, localPort: c.localPort,
        timeout: c.timeout, allowHalfOpen: c.allowHalfOpen, bufferSize: c.bufferSize,
      });
      watch(rec, 'client', c);
      await wait(c, 'connect');
      rec.log('client', 'connected', {
        connecting: c.connecting, pending: c.pending, readyState: c.readyState, remoteAddress: c.remoteAddress,
        remotePort: c.remotePort, remoteFamily: c.remoteFamily, localAddress: c.localAddress, localFamily: c.localFamily,
        addressKeys: Object.keys(c.address()),
      });
      c.write('hello ');
      c.end('world');
      await wait(c, 'close');
      rec.log('client', 'closed', {
        bytesRead: c.bytesRead, bytesWritten: c.bytesWritten, readyState: c.readyState, destroyed: c.destroyed,
        address: c.address(), localAddress: c.localAddress, remoteAddress: c.remoteAddress, pending: c.pending,
      });
      await closed(peer);
      rec.log('server', 'peer closed', { bytesRead: peer.bytesRead, bytesWritten: peer.bytesWritten });
      server.close();
      await wait(server, 'close');
    },
  },
  {
    name: 'a closed port: ECONNREFUSED with errno, syscall, address, port, message; attempt events; close(true)',
    async run(env, rec) {
      const free = await env.freePort();
      rec.port(free);
      const c = env.t(env.net.connect(free, env.v4));
      watch(rec, 'client', c);
      await wait(c, 'close');
      rec.log('client', 'after', { destroyed: c.destroyed, connecting: c.connecting, readyState: c.readyState, pending: c.pending });
    },
  },
  {
    name: 'port 0 and IPC paths: errors worded without ":0", a missing socket file is ENOENT',
    issue: 11,
    async run(env, rec) {
      const c = env.t(env.net.connect(0, env.v4));
      watch(rec, 'port0', c, ['connect', 'error', 'close']);
      await closed(c);
      const p = env.t(env.net.connect('/nonexistent-dir/no.sock'));
      watch(rec, 'path', p, ['connect', 'error', 'close']);
      await closed(p);
      rec.log('path', { connecting: p.connecting, destroyed: p.destroyed });
    },
  },
  {
    name: 'net.Socket() and net.Server() without new; net.Stream is net.Socket',
    issue: 7,
    async run(env, rec) {
      const s = env.t(env.net.Socket());
      const srv = env.t(env.net.Server());
      rec.log('module', {
        socket: s instanceof env.net.Socket, server: srv instanceof env.net.Server, stream: env.net.Stream === env.net.Socket,
        socketName: env.net.Socket.name, serverName: env.net.Server.name, ctor: s.constructor === env.net.Socket,
        duplex: typeof s.pipe === 'function', pending: s.pending, readyState: s.readyState, connecting: s.connecting,
        listening: srv.listening, address: srv.address(),
      });
      class Sub extends env.net.Socket {}
      const sub = env.t(new Sub());
      rec.log('module', 'subclass', sub instanceof Sub, sub instanceof env.net.Socket);
      const server = await listening(env, rec);
      const c = env.t(env.net.Socket().connect(server.address().port, env.v4));
      await wait(c, 'connect');
      rec.log('module', 'connected without new');
      c.destroy();
      server.close();
    },
  },
  {
    name: 'connect(server.address()): family IPv4 / IPv6 as address() reports it',
    issue: 8,
    async run(env, rec) {
      for (const host of [env.v4, env.v6]) {
        const server = env.t(env.net.createServer().listen(0, host));
        await wait(server, 'listening');
        const a = server.address();
        rec.port(a.port);
        rec.log('client', 'address', a);
        const c = env.t(env.net.connect({ ...a, host: a.address }));
        watch(rec, 'client', c, ['lookup', 'connect', 'error']);
        await wait(c, 'connect');
        rec.log('client', 'remote', c.remoteAddress, c.remoteFamily);
        c.destroy();
        // family alone, with a lookup of our own: 'IPv6' arrives as 6
        const seen = [];
        const c2 = env.t(env.net.connect({ port: a.port, family: a.family, host: 'example.test', lookup: (h, o, cb) => {
          seen.push({ h, family: o.family, all: o.all });
          cb(null, a.address, a.family === 'IPv6' ? 6 : 4);
        } }));
        watch(rec, 'client2', c2, ['lookup', 'connect', 'error']);
        await wait(c2, 'connect');
        rec.log('client2', 'lookup saw', seen);
        c2.destroy();
        server.close();
        await wait(server, 'close');
      }
    },
  },
  {
    name: 'a closed socket connects again (after a refusal, and after a clean close)',
    issue: 4,
    async run(env, rec) {
      const free = await env.freePort();
      rec.port(free);
      const c = env.t(new env.net.Socket());
      watch(rec, 'client', c, ['connect', 'ready', 'error', 'close', 'end', 'finish']);
      c.connect(free, env.v4);
      await wait(c, 'close');
      rec.log('client', 'state', { destroyed: c.destroyed, readyState: c.readyState, pending: c.pending });
      const server = await listening(env, rec, {}, (s) => s.end('bye'));
      c.connect(server.address().port, env.v4);
      rec.log('client', 'reconnecting', { destroyed: c.destroyed, connecting: c.connecting, pending: c.pending });
      c.on('data', (d) => rec.log('client', 'data', String(d)));
      await wait(c, 'close');
      rec.log('client', 'closed again', { bytesRead: c.bytesRead, destroyed: c.destroyed });
      c.connect(server.address().port, env.v4);
      await wait(c, 'close');
      rec.log('client', 'third time', { bytesRead: c.bytesRead });
      server.close();
    },
  },
  {
    name: "a socket nobody reads still sees the peer's FIN: 'end', 'close', and server.close() finishes",
    issue: 1,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => {
        s.on('end', () => rec.log('server-socket', 'end'));
        s.on('close', (e) => rec.log('server-socket', 'close', e));
      });
      const c = env.t(env.net.connect(server.address().port, env.v4));
      c.on('end', () => rec.log('client', 'end'));
      c.on('finish', () => rec.log('client', 'finish'));
      c.on('close', (e) => rec.log('client', 'close', e));
      await wait(c, 'connect');
      // no 'data' listener, never resumed: the client ends its side only
      c.end();
      server.close(() => rec.log('server', 'closed'));
      await wait(server, 'close');
      await closed(c);
    },
  },
  {
    name: 'an unread socket with data buffered: no end until read, then end and close',
    issue: 1,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.end('payload'));
      const c = env.t(env.net.connect(server.address().port, env.v4));
      c.on('end', () => rec.log('client', 'end'));
      c.on('close', (e) => rec.log('client', 'close', e));
      await wait(c, 'connect');
      await wait(c, 'readable');
      rec.log('client', 'readable', { readableLength: c.readableLength, readableEnded: c.readableEnded });
      rec.log('client', 'read', String(c.read()));
      await closed(c);
      server.close();
    },
  },
  {
    name: 'allowHalfOpen false: the peer ends, we end too; a write after that is EPIPE',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      watch(rec, 'client', c, ['end', 'finish', 'close', 'error']);
      c.resume();
      c.on('end', () => {
        rec.log('client', 'writable after end', c.writable, c.readyState);
        c.write('late', (err) => rec.log('client', 'late write cb', err));
      });
      s.end();
      await closed(c);
      server.close();
    },
  },
  {
    name: 'allowHalfOpen true: the peer ends, we stay writable until end()',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec, {}, { allowHalfOpen: true });
      watch(rec, 'client', c, ['end', 'finish', 'close', 'error']);
      s.setEncoding('latin1');
      s.on('data', (d) => rec.log('server-socket', 'data', d));
      s.on('end', () => rec.log('server-socket', 'end'));
      c.resume();
      s.end();
      await wait(c, 'end');
      await turns(2);
      rec.log('client', 'after end', { writable: c.writable, readyState: c.readyState, readable: c.readable });
      c.write('still here', () => rec.log('client', 'write cb'));
      await wait(s, 'data');
      c.end();
      await closed(c);
      await closed(s);
      server.close();
    },
  },
  {
    name: 'server allowHalfOpen: an accepted socket stays writable after the peer ends',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec, { allowHalfOpen: true });
      rec.log('server-socket', 'allowHalfOpen', s.allowHalfOpen);
      s.resume();
      s.on('end', () => {
        rec.log('server-socket', 'end', s.writable, s.readyState);
        s.end('reply after end');
      });
      c.setEncoding('latin1');
      let got = '';
      c.on('data', (d) => (got += d));
      c.end();
      await closed(c);
      rec.log('client', 'got', got);
      await closed(s);
      server.close();
    },
  },
  {
    name: 'pause and resume: no data while paused, all of it after',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      c.pause();
      rec.log('client', 'paused', c.isPaused(), c.readableFlowing);
      let got = '';
      c.on('data', (d) => (got += d));
      s.write('abc');
      s.write('def');
      await turns(5);
      await new Promise((r) => setTimeout(r, 50));
      rec.log('client', 'while paused', got, c.readableLength);
      c.resume();
      rec.log('client', 'resumed', c.isPaused(), c.readableFlowing);
      s.end();
      await wait(c, 'end');
      rec.log('client', 'got', got);
      await closed(c);
      server.close();
    },
  },
  {
    name: 'pauseOnConnect: accepted sockets start paused (no pause event), resume() reads',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec, { pauseOnConnect: true });
      rec.log('server-socket', 'paused', s.isPaused(), s.readableFlowing);
      s.on('pause', () => rec.log('server-socket', 'pause event'));
      let got = '';
      s.on('data', (d) => (got += d));
      c.end('early data');
      await new Promise((r) => setTimeout(r, 50));
      rec.log('server-socket', 'before resume', got);
      s.resume();
      await wait(s, 'end');
      rec.log('server-socket', 'got', got);
      await closed(s);
      server.close();
    },
  },
  {
    name: 'write callbacks and their order against nextTick; write() before connect is queued',
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.resume());
      const c = env.t(env.net.connect(server.address().port, env.v4));
      const r1 = c.write('before connect', (err) => rec.log('client', 'cb1', err ?? null));
      rec.log('client', 'write before connect', r1, c.bytesWritten, c.writableLength, c.bufferSize);
      await wait(c, 'connect');
      process.nextTick(() => rec.log('client', 'tick queued before write'));
      const r2 = c.write('x', (err) => rec.log('client', 'cb2', err ?? null));
      process.nextTick(() => rec.log('client', 'tick queued after write'));
      rec.log('client', 'write returned', r2);
      await turns(3);
      const r3 = c.write(Buffer.alloc(20000), () => rec.log('client', 'cb3'));
      rec.log('client', 'big write returned', r3);
      c.on('drain', () => rec.log('client', 'drain'));
      await turns(5);
      await new Promise((r) => setTimeout(r, 30));
      rec.log('client', 'bytesWritten', c.bytesWritten);
      c.end(() => rec.log('client', 'end cb'));
      await closed(c);
      server.close();
    },
  },
  {
    name: 'write after destroy and after end: errors and their codes',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      s.resume();
      c.on('error', (e) => rec.log('client', 'error', e));
      c.end();
      c.write('after end', (e) => rec.log('client', 'write after end cb', e));
      await closed(c);
      c.write('after destroy', (e) => rec.log('client', 'write after destroy cb', e));
      await turns(3);
      server.close();
    },
  },
  {
    name: 'destroy() while connecting is quiet; destroy(err) emits error then close(true)',
    async run(env, rec) {
      const server = await listening(env, rec);
      const c = env.t(env.net.connect(server.address().port, env.v4));
      watch(rec, 'c', c);
      c.destroy();
      rec.log('c', 'destroyed', { destroyed: c.destroyed, connecting: c.connecting, pending: c.pending });
      await closed(c);
      const d = env.t(env.net.connect(server.address().port, env.v4));
      watch(rec, 'd', d);
      await wait(d, 'connect');
      d.destroy(new Error('mine'));
      await closed(d);
      const e = env.t(new env.net.Socket());
      watch(rec, 'e', e);
      e.destroy();
      await turns(2);
      server.close();
    },
  },
  {
    name: "setTimeout: 'timeout' after idleness, the socket stays open; 0 disables; bad values throw",
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      s.resume();
      rec.log('client', 'returns this', c.setTimeout(40) === c, c.timeout);
      const t0 = Date.now();
      await wait(c, 'timeout');
      rec.log('client', 'timeout', Date.now() - t0 >= 30, c.destroyed, c.readyState);
      c.setTimeout(0);
      rec.log('client', 'disabled', c.timeout);
      rec.log('client', 'bad', attempt(rec, () => c.setTimeout(-1)), attempt(rec, () => c.setTimeout('x')),
        attempt(rec, () => c.setTimeout(10, 'nope')), attempt(rec, () => c.setTimeout(Infinity)));
      const cb = () => rec.log('client', 'callback timeout');
      c.setTimeout(30, cb);
      await wait(c, 'timeout');
      c.setTimeout(0, cb);
      rec.log('client', 'listeners', c.listenerCount('timeout'));
      c.destroy();
      rec.log('client', 'on destroyed', c.setTimeout(10) === c);
      server.close();
    },
  },
  {
    name: "net.connect({ timeout }) and activity postponing 'timeout'",
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.resume());
      const c = env.t(env.net.connect({ port: server.address().port, host: env.v4, timeout: 60 }));
      rec.log('client', 'timeout option', c.timeout);
      let fired = 0;
      c.on('timeout', () => fired++);
      await wait(c, 'connect');
      for (let i = 0; i < 4; i++) {
        await new Promise((r) => setTimeout(r, 25));
        c.write('keepalive');
      }
      rec.log('client', 'fired while active', fired);
      await wait(c, 'timeout');
      rec.log('client', 'fired once idle', fired >= 1);
      c.destroy();
      server.close();
    },
  },
  {
    name: 'server.address(), listening and close(): before, during, after; close(cb) when not running',
    issue: 9,
    async run(env, rec) {
      const server = env.t(env.net.createServer());
      rec.log('server', 'before', server.address(), server.listening);
      server.close((err) => rec.log('server', 'close cb when not running', err));
      await wait(server, 'close');
      rec.log('server', 'close with a non-function', attempt(rec, () => server.close('x')));
      await turns(2);
      server.listen(0);
      rec.log('server', 'right after listen(0)', server.listening, server.address() && { ...server.address(), port: 'set' });
      await wait(server, 'listening');
      rec.log('server', 'listening', server.address().address, server.address().family);
      server.close();
      rec.log('server', 'after close()', server.listening, server.address());
      await wait(server, 'close');
      const withHost = env.t(env.net.createServer().listen(0, env.v4));
      rec.log('server', 'right after listen(0, host)', withHost.listening);
      await wait(withHost, 'listening');
      rec.log('server', 'then', withHost.listening);
      withHost.close();
    },
  },
  {
    name: "'listening' does not follow an immediate close(); 'close' does",
    issue: 9,
    async run(env, rec) {
      for (const args of [[0], [0, '127.0.0.1']]) {
        const server = env.t(env.net.createServer());
        server.on('listening', () => rec.log('server', 'listening', args.length));
        server.on('close', () => rec.log('server', 'close', args.length));
        server.on('error', (e) => rec.log('server', 'error', e));
        server.listen(...args);
        server.close();
        await turns(5);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  },
  {
    name: 'listen errors: EADDRINUSE worded as Node, no listening; listen twice; bad ports and options',
    issue: 11,
    async run(env, rec) {
      const a = await listening(env, rec);
      const port = a.address().port;
      const b = env.t(env.net.createServer());
      b.on('listening', () => rec.log('b', 'listening'));
      b.listen(port, env.v4);
      const [err] = await wait(b, 'error');
      rec.log('b', 'error', err, b.listening, b.address());
      rec.log('a', 'listen again', attempt(rec, () => a.listen(0)));
      const c = env.t(env.net.createServer());
      for (const bad of [[70000], [-1], [{ port: 'abc' }], [{}], [{ host: 'x' }], [1.5], [{ port: {} }]]) {
        rec.log('c', 'listen', bad, attempt(rec, () => c.listen(...bad)));
      }
      rec.log('c', 'createServer', attempt(rec, () => env.net.createServer('x')),
        attempt(rec, () => env.net.createServer({ keepAliveInitialDelay: 'x' })),
        attempt(rec, () => env.net.createServer({ highWaterMark: 'x' })));
      a.close();
    },
  },
  {
    name: 'connect argument errors: ERR_MISSING_ARGS, ERR_SOCKET_BAD_PORT, ERR_INVALID_ARG_TYPE, ERR_INVALID_IP_ADDRESS',
    issue: 11,
    async run(env, rec) {
      const cases = [
        [], [{}], [{ port: -1 }], [{ port: 65536 }], [{ port: {} }], [{ port: null }], [{ port: true }], [{ port: '' }],
        [{ port: 80, localAddress: 'nope' }], [{ port: 80, localPort: 'x' }], [{ port: 80, host: 'a.test', lookup: 5 }],
        [{ port: 80, autoSelectFamily: 'yes' }], [{ port: 80, autoSelectFamilyAttemptTimeout: 0 }], [1e6], [-5],
      ];
      for (const args of cases) {
        const s = env.t(new env.net.Socket());
        rec.log('connect', args, attempt(rec, () => s.connect(...args)));
        s.destroy();
      }
      rec.log('socket', attempt(rec, () => new env.net.Socket({ objectMode: true })),
        attempt(rec, () => new env.net.Socket({ readableObjectMode: true })),
        attempt(rec, () => new env.net.Socket({ keepAliveInitialDelay: 'x' })));
      rec.log('module', attempt(rec, () => env.net.setDefaultAutoSelectFamily('x')),
        attempt(rec, () => env.net.setDefaultAutoSelectFamilyAttemptTimeout(0)),
        attempt(rec, () => env.net.setDefaultAutoSelectFamilyAttemptTimeout('x')));
      await turns(3);
    },
  },
  {
    name: 'server.close() waits for open connections; getConnections counts them',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      s.resume();
      server.getConnections((err, n) => rec.log('server', 'connections', err, n));
      await turns(2);
      server.close(() => rec.log('server', 'close cb'));
      server.on('close', () => rec.log('server', 'close event'));
      rec.log('server', 'after close()', server.listening);
      server.getConnections((err, n) => rec.log('server', 'connections after close()', err, n));
      await turns(3);
      rec.log('server', 'still open', s.destroyed);
      c.end();
      await wait(server, 'close');
      rec.log('server', 'closed', s.destroyed);
    },
  },
  {
    name: "maxConnections: beyond it 'drop'; a closed connection frees its slot at once",
    issue: 5,
    async run(env, rec) {
      const sockets = [];
      const server = await listening(env, rec, {}, (s) => {
        sockets.push(s);
        env.t(s);
        rec.log('server', 'connection', sockets.length);
      });
      server.maxConnections = 1;
      server.on('drop', (d) => rec.log('server', 'drop', Object.keys(d), d.localAddress, d.localFamily, d.remoteAddress, d.remoteFamily, Object.getPrototypeOf(d)));
      const port = server.address().port;
      const a = env.t(env.net.connect(port, env.v4));
      await wait(server, 'connection');
      const b = env.t(env.net.connect(port, env.v4));
      b.on('error', (e) => rec.log('b', 'error', e.code));
      await wait(server, 'drop');
      await closed(b);
      // destroying the first connection frees its slot before its 'close'
      sockets[0].destroy();
      const c = env.t(env.net.connect(port, env.v4));
      c.on('error', (e) => rec.log('c', 'error', e.code));
      await wait(server, 'connection');
      server.getConnections((err, n) => rec.log('server', 'count', n));
      await turns(2);
      server.maxConnections = 0; // 0: no limit, as Node reads it
      const d = env.t(env.net.connect(port, env.v4));
      await wait(server, 'connection');
      for (const x of [a, c, d]) x.destroy();
      server.close();
    },
  },
  {
    name: 'ref() and unref() return the object; before connect they wait for it',
    async run(env, rec) {
      const server = await listening(env, rec);
      rec.log('server', server.ref() === server, server.unref() === server, server.ref() === server);
      const s = env.t(new env.net.Socket());
      rec.log('socket', s.unref() === s, s.listenerCount('connect'), s.ref() === s, s.listenerCount('connect'));
      s.connect(server.address().port, env.v4);
      await wait(s, 'connect');
      rec.log('socket', 'after connect', s.listenerCount('connect'));
      s.destroy();
      server.close();
    },
  },
  {
    name: 'resetAndDestroy: the peer sees ECONNRESET; on a socket never connected, ERR_SOCKET_CLOSED',
    issue: 12,
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      s.on('error', (e) => rec.log('server-socket', 'error', e));
      s.on('close', (e) => rec.log('server-socket', 'close', e));
      c.on('close', (e) => rec.log('client', 'close', e));
      rec.log('client', 'returns', c.resetAndDestroy() === c, c.destroyed);
      await closed(s);
      const n = env.t(new env.net.Socket());
      n.on('error', (e) => rec.log('never', 'error', e));
      n.on('close', (e) => rec.log('never', 'close', e));
      n.resetAndDestroy();
      await closed(n);
      server.close();
    },
  },
  {
    name: 'bufferSize, bytesWritten with buffered strings, setEncoding, end(data, cb)',
    issue: 12,
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec);
      rec.log('client', 'bufferSize', c.bufferSize, c.writableLength);
      s.setEncoding('utf8');
      let got = '';
      s.on('data', (d) => (got += d));
      c.cork();
      c.write('héllo', 'utf8');
      c.write('6869', 'hex');
      rec.log('client', 'corked', c.bufferSize, c.writableLength, c.bytesWritten);
      c.uncork();
      c.end('!', () => rec.log('client', 'end cb'));
      await wait(s, 'end');
      rec.log('server-socket', 'got', got, s.bytesRead);
      await closed(c);
      rec.log('client', 'after close', c.bufferSize, c.bytesWritten);
      server.close();
    },
  },
  {
    name: 'Symbol.asyncDispose on a server and a socket',
    issue: 12,
    async run(env, rec) {
      const server = await listening(env, rec);
      rec.log('server', typeof server[Symbol.asyncDispose]);
      await server[Symbol.asyncDispose]();
      rec.log('server', 'disposed', server.listening);
      await server[Symbol.asyncDispose]();
      rec.log('server', 'again');
      const s = env.t(new env.net.Socket());
      rec.log('socket', typeof s[Symbol.asyncDispose]);
    },
  },
  {
    name: "captureRejections (events.captureRejections): a rejected 'connection' listener destroys that socket",
    issue: 12,
    async run(env, rec) {
      events.captureRejections = true;
      let server;
      try {
        server = env.t(env.net.createServer({ captureRejections: false }, async (s) => {
        s.on('error', (e) => rec.log('server-socket', 'error', e.message));
        s.on('close', (e) => rec.log('server-socket', 'close', e));
        throw new Error('handler failed');
      }));
      } finally {
        events.captureRejections = false;
      }
      server.listen(0, env.v4);
      await wait(server, 'listening');
      const c = env.t(env.net.connect(server.address().port, env.v4));
      c.on('error', () => {});
      c.resume();
      await wait(c, 'close');
      await turns(3);
      server.close();
    },
  },
  {
    name: 'onread: data goes to the callback, not the stream; returning false pauses',
    issue: 12,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => {
        s.write('first');
        setTimeout(() => s.end('second'), 30);
      });
      const buf = Buffer.alloc(64);
      let calls = 0;
      const c = env.t(env.net.connect({
        port: server.address().port, host: env.v4,
        onread: { buffer: buf, callback(n, b) {
          calls++;
          rec.log('client', 'onread', n, b === buf, b.toString('latin1', 0, n));
          return calls > 1;
        } },
      }));
      c.on('data', () => rec.log('client', 'data event'));
      c.on('end', () => rec.log('client', 'end'));
      await wait(c, 'connect');
      await new Promise((r) => setTimeout(r, 80));
      rec.log('client', 'paused by false', calls, c.isPaused());
      c.resume();
      await closed(c);
      server.close();
    },
  },
  {
    name: "autoSelectFamily: an address list is tried in order; 'connectionAttempt*' events; attempted addresses",
    issue: 12,
    async run(env, rec) {
      const server = await listening(env, rec);
      const port = server.address().port;
      const lookup = (host, opts, cb) => {
        rec.log('lookup', host, { family: opts.family, hints: opts.hints, all: opts.all });
        cb(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]);
      };
      const c = env.t(env.net.connect({ port, host: 'dual.test', lookup, autoSelectFamily: true }));
      watch(rec, 'client', c, ['lookup', 'connectionAttempt', 'connectionAttemptFailed', 'connect', 'error']);
      await wait(c, 'connect');
      rec.log('client', 'attempted', c.autoSelectFamilyAttemptedAddresses.map((a) => a.replace(`:${port}`, ':P')), c.remoteAddress);
      c.destroy();
      const free = await env.freePort();
      const d = env.t(env.net.connect({ port: free, host: 'dual.test', lookup, autoSelectFamily: true }));
      rec.port(free);
      watch(rec, 'd', d, ['connectionAttempt', 'connectionAttemptFailed', 'error', 'close']);
      await closed(d);
      rec.log('module', env.net.getDefaultAutoSelectFamily(), env.net.getDefaultAutoSelectFamilyAttemptTimeout());
      env.net.setDefaultAutoSelectFamilyAttemptTimeout(5);
      rec.log('module', 'clamped', env.net.getDefaultAutoSelectFamilyAttemptTimeout());
      env.net.setDefaultAutoSelectFamilyAttemptTimeout(250);
      server.close();
    },
  },
  {
    name: "lookup option: what it is asked, 'lookup' events, bad results as Node reports them",
    issue: 6,
    async run(env, rec) {
      const server = await listening(env, rec);
      const port = server.address().port;
      const answers = {
        'ok.test': [null, '127.0.0.1', 4],
        'notip.test': [null, 'not-an-ip', 4],
        'family.test': [null, '127.0.0.1', 5],
        'fail.test': [Object.assign(new Error('getaddrinfo ENOTFOUND fail.test'), { code: 'ENOTFOUND' })],
      };
      const lookup = (host, opts, cb) => {
        rec.log('lookup', 'asked', host, opts);
        const a = answers[host] ?? [null, '127.0.0.1', 4];
        cb(...a);
      };
      for (const host of Object.keys(answers).concat(['localhost'])) {
        const c = env.t(env.net.connect({ port, host, lookup, family: 4 }));
        watch(rec, host, c, ['lookup', 'connect', 'error', 'close']);
        await closed(c.on('connect', () => c.destroy()));
      }
      // family 0, hints given: passed through; autoSelectFamily off: one address
      const c = env.t(env.net.connect({ port, host: 'ok.test', lookup, hints: 1024, autoSelectFamily: false }));
      watch(rec, 'hints', c, ['lookup', 'connect', 'error']);
      await wait(c, 'connect');
      c.destroy();
      server.close();
    },
  },
  {
    name: "exceptions thrown in a 'connect' listener reach uncaughtException; the socket goes on",
    issue: 2,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.on('data', (d) => s.end(`echo ${d}`)));
      await env.catchUncaught(rec, 'client', async () => {
        const c = env.t(env.net.connect(server.address().port, env.v4));
        c.on('connect', () => {
          throw new Error('thrown in connect');
        });
        c.on('ready', () => rec.log('client', 'ready'));
        c.on('error', (e) => rec.log('client', 'error', e.message));
        await wait(c, 'connect').catch(() => {});
        await turns(3);
        c.setEncoding('latin1');
        let got = '';
        c.on('data', (d) => {
          got += d;
          throw new Error('thrown in data');
        });
        c.write('ping', (err) => rec.log('client', 'write cb', err ?? null));
        await wait(c, 'end');
        rec.log('client', 'got', got);
        await closed(c);
      });
      server.close();
    },
  },
  {
    name: 'net.isIP, isIPv4, isIPv6 over a table of inputs',
    async run(env, rec) {
      const inputs = ['127.0.0.1', '1.2.3', '01.2.3.4', '256.1.1.1', '::1', '::', 'fe80::1%eth0', 'fe80::1%1', '::ffff:1.2.3.4',
        '1::2::3', 'localhost', '', ' 127.0.0.1', '127.0.0.1 ', '0x7f.1.1.1', '1.2.3.4.5', 'fd00::1/64', '[::1]', 5, null, undefined];
      for (const x of inputs) rec.log('isIP', x, env.net.isIP(x), env.net.isIPv4(x), env.net.isIPv6(x));
    },
  },
  {
    name: 'setNoDelay, setKeepAlive and destroySoon return and behave as Node',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec, { noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 });
      rec.log('server', { noDelay: server.noDelay, keepAlive: server.keepAlive, keepAliveInitialDelay: server.keepAliveInitialDelay, highWaterMark: server.highWaterMark, pauseOnConnect: server.pauseOnConnect, allowHalfOpen: server.allowHalfOpen });
      rec.log('client', c.setNoDelay() === c, c.setNoDelay(false) === c, c.setKeepAlive(true, 1000) === c, c.setKeepAlive() === c);
      s.setEncoding('latin1');
      let got = '';
      s.on('data', (d) => (got += d));
      c.write('last words');
      c.destroySoon();
      c.on('finish', () => rec.log('client', 'finish'));
      await closed(c);
      await wait(s, 'end');
      rec.log('server-socket', got);
      server.close();
    },
  },
  {
    name: 'an AbortSignal destroys a socket and closes a server',
    async run(env, rec) {
      const server = await listening(env, rec);
      const ac = new AbortController();
      const c = env.t(env.net.connect({ port: server.address().port, host: env.v4, signal: ac.signal }));
      watch(rec, 'client', c, ['connect', 'error', 'close']);
      await wait(c, 'connect');
      ac.abort();
      await closed(c);
      const ac2 = new AbortController();
      const s2 = env.t(env.net.createServer());
      s2.on('close', () => rec.log('s2', 'close'));
      s2.listen({ port: 0, host: env.v4, signal: ac2.signal });
      await wait(s2, 'listening');
      ac2.abort();
      await wait(s2, 'close');
      rec.log('s2', 'listening', s2.listening);
      const s3 = env.t(env.net.createServer());
      s3.on('close', () => rec.log('s3', 'close'));
      s3.on('listening', () => rec.log('s3', 'listening'));
      s3.listen({ port: 0, host: env.v4, signal: AbortSignal.abort() });
      await turns(5);
      server.close();
    },
  },
  {
    name: 'readyState through a half-close: open, readOnly / writeOnly, closed',
    async run(env, rec) {
      const { c, s, server } = await pair(env, rec, { allowHalfOpen: true }, { allowHalfOpen: true });
      rec.log('states', c.readyState, s.readyState);
      c.end();
      await wait(c, 'finish');
      rec.log('states', 'client ended', c.readyState);
      s.resume();
      await wait(s, 'end');
      rec.log('states', 'server saw end', s.readyState);
      c.resume();
      s.end();
      await wait(c, 'end');
      await closed(c);
      rec.log('states', 'both', c.readyState);
      server.close();
    },
  },
  {
    name: 'end() before the connection is up: sent once connected; finish, then the peer sees end',
    async run(env, rec) {
      let peerEnded;
      const ended = new Promise((r) => (peerEnded = r));
      const server = await listening(env, rec, {}, (s) => {
        s.setEncoding('latin1');
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('end', () => peerEnded(got));
      });
      const c = env.t(env.net.connect(server.address().port, env.v4));
      watch(rec, 'client', c, ['connect', 'finish', 'end', 'close']);
      c.end('sent at once');
      rec.log('server-socket', 'got', await ended);
      c.resume();
      await closed(c);
      server.close();
    },
  },
  {
    name: 'IPv6 loopback: listen on ::1, connect, addresses; a server with no host reports ::',
    async run(env, rec) {
      const server = env.t(env.net.createServer((s) => {
        rec.log('server', 'connection', s.remoteAddress, s.remoteFamily, s.localAddress);
        s.end();
      }));
      server.listen(0, env.v6);
      await wait(server, 'listening');
      rec.port(server.address().port);
      rec.log('server', server.address());
      const c = env.t(env.net.connect(server.address().port, env.v6));
      await wait(c, 'connect');
      rec.log('client', c.remoteAddress, c.remoteFamily, c.localAddress, c.localFamily);
      c.resume();
      await closed(c);
      server.close();
      const any = env.t(env.net.createServer((s) => {
        rec.log('any', 'connection from', s.remoteAddress, s.remoteFamily);
        s.destroy();
      }));
      any.listen(0);
      await wait(any, 'listening');
      rec.port(any.address().port);
      rec.log('any', any.address().address, any.address().family);
      const c4 = env.t(env.net.connect(any.address().port, env.v4));
      await wait(any, 'connection');
      c4.destroy();
      any.close();
    },
  },
];
