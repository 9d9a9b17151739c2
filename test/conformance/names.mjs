// dns.lookup scenarios: node:dns's lookup against stack.dns's, on inputs whose answer
// does not depend on the machine's resolver (IP literals, empty names, 'localhost' for
// one family, argument errors). Names proper resolve through the stack's own resolver;
// test/net-names.test.mjs checks those against a DNS server on a stack.
import { attempt, turns } from './harness.mjs';
import { listening } from './net.mjs';

/** Resolves with the callback's arguments, and whether it came after the call returned. */
function lookup(dns, ...args) {
  let returned = false;
  return new Promise((resolve) => {
    dns.lookup(...args, (...r) => resolve({ async: returned, args: r }));
    returned = true;
  });
}

export const scenarios = [
  {
    name: 'dns.lookup: IP literals, empty names, options and their shapes, a tick later',
    issue: 6,
    async run(env, rec) {
      const inputs = [
        ['127.0.0.1'], ['::1'], ['127.0.0.1', 4], ['127.0.0.1', { all: true }], ['::1', { family: 6, all: true }],
        ['', {}], ['', { all: true }], ['', 6], [null, {}], ['10.0.0.1', { family: 'IPv6' }],
        // (localhost for IPv6 depends on the machine's /etc/hosts; route.test.mjs checks the stack's)
        ['localhost', { family: 4 }], ['localhost', { family: 'IPv4', all: true }],
        ['localhost', { family: 4, hints: env.dns.ADDRCONFIG }],
      ];
      for (const args of inputs) rec.log('lookup', args, await lookup(env.dns, ...args));
    },
  },
  {
    name: 'dns.lookup argument errors as Node throws them',
    issue: 11,
    async run(env, rec) {
      const cases = [[5, () => {}], ['a.test'], ['a.test', {}], ['a.test', 5, () => {}], ['a.test', 'x', () => {}],
        ['a.test', { family: 5 }, () => {}], ['a.test', { hints: -1 }, () => {}], ['a.test', { hints: 'x' }, () => {}],
        ['a.test', { all: 'yes' }, () => {}], ['a.test', { order: 'random' }, () => {}], ['a.test', { verbatim: 1 }, () => {}]];
      for (const args of cases) rec.log('lookup', args.map((a) => (typeof a === 'function' ? 'fn' : a)), attempt(rec, () => env.dns.lookup(...args)));
      await turns(2);
    },
  },
  {
    name: 'dns.promises.lookup: literals, localhost for one family, errors',
    issue: 6,
    async run(env, rec) {
      for (const args of [['127.0.0.1'], ['::1', { all: true }], ['localhost', 4], ['localhost', { family: 4, all: true }]]) {
        rec.log('promises', args, await env.dns.promises.lookup(...args));
      }
      for (const args of [[5], ['a.test', 'x'], ['a.test', { family: 7 }]]) {
        rec.log('promises', 'bad', attempt(rec, () => env.dns.promises.lookup(...args)));
      }
    },
  },
  {
    name: "net.connect to 'localhost' with a family, and the 'lookup' event",
    issue: 6,
    async run(env, rec) {
      const server = await listening(env, rec);
      const c = env.t(env.net.connect({ port: server.address().port, host: 'localhost', family: 4 }));
      c.on('lookup', (err, address, family, host) => rec.log('client', 'lookup', err, address, family, host));
      await new Promise((r) => c.once('connect', r));
      rec.log('client', 'connected', c.remoteAddress);
      c.destroy();
      server.close();
    },
  },
];
