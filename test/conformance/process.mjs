// Scenarios about the process itself, each run in a child process of its own (child.mjs)
// against Node's modules and against a stack's: whether the process exits once the
// scenario is done (env.probe records 'held' if something still holds it), and what an
// exception thrown in a callback does to it.
import { wait } from './harness.mjs';
import { listening } from './net.mjs';

export const scenarios = [
  {
    name: 'a listening server holds the process; unref() lets it exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec);
      rec.log('server', 'listening');
      env.probe();
      void server;
    },
  },
  {
    name: 'an unref()d listening server lets the process exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec);
      server.unref();
      rec.log('server', 'unref');
      env.probe();
    },
  },
  {
    name: 'a server unref()d before listen() lets the process exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const server = env.net.createServer().unref();
      server.listen(0, env.v4, () => rec.log('server', 'listening'));
      env.probe();
    },
  },
  {
    name: 'a connected pair holds the process while reading; unref() on all three lets it exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      let peer;
      const server = await listening(env, rec, {}, (s) => (peer = s));
      const c = env.net.connect(server.address().port, env.v4);
      await wait(c, 'connect');
      await new Promise((r) => setTimeout(r, 20));
      server.unref();
      c.unref();
      peer.unref();
      rec.log('all', 'unref');
      env.probe();
    },
  },
  {
    name: 'a connected client still reading holds the process (server and peer unref()d)',
    issue: 3,
    child: true,
    async run(env, rec) {
      let peer;
      const server = await listening(env, rec, {}, (s) => (peer = s));
      const c = env.net.connect(server.address().port, env.v4);
      await wait(c, 'connect');
      await new Promise((r) => setTimeout(r, 20));
      server.unref();
      peer.unref();
      rec.log('client', 'still referenced', c.readyState);
      env.probe();
    },
  },
  {
    name: 'a paused accepted socket (pauseOnConnect) does not hold the process',
    issue: 3,
    child: true,
    async run(env, rec) {
      let peer;
      const server = await listening(env, rec, { pauseOnConnect: true }, (s) => (peer = s));
      const c = env.net.connect(server.address().port, env.v4);
      await wait(c, 'connect');
      await new Promise((r) => setTimeout(r, 20));
      server.unref();
      c.unref();
      rec.log('peer', 'paused', peer.isPaused());
      env.probe();
    },
  },
  {
    name: "a socket's timeout does not hold the process",
    issue: 3,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec);
      const c = env.net.connect(server.address().port, env.v4);
      c.setTimeout(5000, () => rec.log('client', 'timeout'));
      await wait(c, 'connect');
      c.unref();
      server.unref();
      server.on('connection', (s) => s.unref());
      await new Promise((r) => setTimeout(r, 20));
      for (const s of [server]) void s;
      rec.log('client', 'unref');
      env.probe(1500);
    },
  },
  {
    name: 'an unbound UDP socket does not hold the process',
    issue: 3,
    child: true,
    async run(env, rec) {
      env.dgram.createSocket('udp4');
      rec.log('udp', 'created');
      env.probe();
    },
  },
  {
    name: 'a bound UDP socket holds the process; unref() lets it exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const s = env.dgram.createSocket('udp4');
      s.bind(0, env.v4);
      await wait(s, 'listening');
      rec.log('udp', 'bound');
      env.probe();
    },
  },
  {
    name: 'an unref()d bound UDP socket lets the process exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const s = env.dgram.createSocket('udp4');
      s.unref();
      s.bind(0, env.v4);
      await wait(s, 'listening');
      rec.log('udp', 'bound, unref');
      env.probe();
    },
  },
  {
    name: 'a closed server and a destroyed socket let the process exit',
    issue: 3,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.end());
      const c = env.net.connect(server.address().port, env.v4);
      c.resume();
      await wait(c, 'close');
      server.close(() => rec.log('server', 'closed'));
      env.probe();
    },
  },
  {
    name: "an exception in a 'connect' listener with no handler ends the process with code 1",
    issue: 2,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec);
      const c = env.net.connect(server.address().port, env.v4);
      c.on('connect', () => {
        rec.log('client', 'connect');
        throw new Error('boom in connect');
      });
      c.on('ready', () => rec.log('client', 'ready'));
    },
  },
  {
    name: "an exception in a 'data' listener with no handler ends the process with code 1",
    issue: 2,
    child: true,
    async run(env, rec) {
      const server = await listening(env, rec, {}, (s) => s.write('hi'));
      const c = env.net.connect(server.address().port, env.v4);
      c.on('data', () => {
        rec.log('client', 'data');
        throw new TypeError('boom in data');
      });
    },
  },
  {
    name: "an exception in dgram's 'message' listener with no handler ends the process with code 1",
    issue: 2,
    child: true,
    async run(env, rec) {
      const s = env.dgram.createSocket('udp4');
      s.bind(0, env.v4);
      await wait(s, 'listening');
      s.on('message', () => {
        rec.log('udp', 'message');
        throw new RangeError('boom in message');
      });
      s.send('x', s.address().port, env.v4);
    },
  },
];
