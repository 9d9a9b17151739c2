// The simulated network (lwip-wasm/sim): hosts and segments from a description, names
// through the stacks' own DNS, routers between segments (both families), NAT routers,
// the topologies the docs name (one segment, a client behind a router, two data
// centres with a slow link), and the description's errors.
import { createNetwork, Network, SimHost } from '../dist/sim.js';
import { DnsError, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM } from '../dist/index.js';
import { it, test, assert, rejectsCode } from './helpers.mjs';

const text = (b) => new TextDecoder().decode(b);

/** An echo server on port (TCP): echoes each read, closes at EOF. */
function echoServer(stack, port, domain = AF_INET) {
  const l = stack.socket(domain, SOCK_STREAM);
  l.bind(domain === AF_INET ? '0.0.0.0' : '::', port);
  l.listen(16);
  (async () => {
    for (;;) {
      let s;
      try {
        s = await l.accept();
      } catch {
        return;
      }
      (async () => {
        for (;;) {
          const d = await s.recv();
          if (d.length === 0) break;
          await s.send(d);
        }
        s.close();
      })().catch(() => s.close());
    }
  })();
  return l;
}

/** Connects, sends msg, reads the echo; resolves { reply, local, peer }. */
async function echo(stack, address, port, msg = 'ping', domain = AF_INET) {
  const c = stack.socket(domain, SOCK_STREAM);
  try {
    await c.connect(address, port);
    await c.send(msg);
    const reply = text(await c.recv());
    return { reply, local: c.getsockname(), peer: c.getpeername() };
  } finally {
    c.close();
  }
}

it('hosts by name through their own DNS; addresses from the description', async () => {
  const net = await createNetwork({
    seed: 1,
    segments: { lan: { subnet: '192.168.7.0/24' } },
    hosts: { db: { on: { lan: '192.168.7.10' } }, web: 'lan', cache: ['lan'] },
  });
  try {
    assert.instance(net, Network);
    assert.instance(net.host('db'), SimHost);
    assert.equal(net.hosts.map((h) => [h.name, h.address]), [['db', '192.168.7.10'], ['web', '192.168.7.1'], ['cache', '192.168.7.2']]);
    assert.is(net.segment('lan').nameServer, '192.168.7.254');
    assert.is(net.lookup('cache'), '192.168.7.2');
    assert.is(net.hostOf('192.168.7.10'), 'db');
    await net.run(async () => {
      for (const from of ['db', 'web', 'cache']) {
        const stack = net.host(from).stack;
        assert.equal(stack.dnsServers, ['192.168.7.254']);
        for (const to of ['db', 'web', 'cache']) {
          assert.equal(await stack.resolve(to), { address: net.lookup(to), family: 4 }, `${from} resolves ${to}`);
        }
      }
      const err = await net.host('web').stack.resolve('nosuch').catch((e) => e);
      assert.instance(err, DnsError);
      assert.is(err.code, 'ENOTFOUND');
      // node:net with the host's lookup
      echoServer(net.host('db').stack, 5432);
      const got = await new Promise((resolve, reject) => {
        const s = net.host('web').stack.net.connect({ host: 'db', port: 5432, lookup: net.host('web').lookup }, () => s.write('via node:net'));
        s.on('data', (d) => {
          resolve(d.toString());
          s.destroy();
        });
        s.on('error', reject);
      });
      assert.is(got, 'via node:net');
    });
    assert.equal(net.errors, []);
  } finally {
    net.close();
  }
});

it('a client behind a router reaches a server two routers away, IPv4 and IPv6', async () => {
  // office — r1 — backbone — r2 — dc: no host is told a route; the network works them out
  const net = await createNetwork({
    seed: 2,
    ipv6: true,
    hosts: {
      client: 'office',
      r1: { on: ['office', 'backbone'], router: true },
      r2: { on: ['backbone', 'dc'], router: true },
      server: 'dc',
    },
  });
  try {
    assert.equal(net.host('r1').stack.routes.map((r) => [r.to, r.via]), [
      ['10.0.3.0/24', net.host('r2').addressOn('backbone')],
      ['fd00:3::/64', net.host('r2').addressOn('backbone', 6)],
    ]);
    assert.ok(net.host('r1').stack.forwarding);
    assert.not.ok(net.host('client').stack.forwarding);
    await net.run(async () => {
      echoServer(net.host('server').stack, 7);
      echoServer(net.host('server').stack, 8, AF_INET6);
      const server = await net.host('client').stack.resolve('server');
      assert.is(server.address, net.lookup('server'));
      assert.is(server.address, '10.0.3.2', 'addresses go in description order: r2 took .1');
      const r = await echo(net.host('client').stack, server.address, 7);
      assert.is(r.reply, 'ping');
      const v6 = await net.host('client').stack.resolve('server', { family: 6 });
      assert.is(v6.address, 'fd00:3::2');
      const r6 = await echo(net.host('client').stack, v6.address, 8, 'ping6', AF_INET6);
      assert.is(r6.reply, 'ping6');
      assert.is(r6.local.address, 'fd00:1::1', 'the client speaks from its own address: routed, not proxied');
    });
    assert.ok(net.host('r1').stack.stats().ip.fw > 0 && net.host('r2').stack.stats().ip6.fw > 0);
  } finally {
    net.close();
  }
});

it('NAT: connections leave from the router; the outside cannot reach in; UDP flows too', async () => {
  const net = await createNetwork({
    seed: 3,
    hosts: { laptop: 'home', gw: { on: ['home', 'internet'], nat: 'home' }, server: 'internet' },
  });
  try {
    assert.equal(net.host('gw').natInside, ['home']);
    await net.run(async () => {
      const srv = net.host('server').stack;
      const l = srv.socket(AF_INET, SOCK_STREAM);
      l.bind('0.0.0.0', 80);
      l.listen(4);
      const accepted = l.acceptFrom();
      const laptop = net.host('laptop').stack;
      const c = laptop.socket(AF_INET, SOCK_STREAM);
      await c.connect((await laptop.resolve('server')).address, 80);
      const { socket, peer } = await accepted;
      assert.is(peer.address, net.host('gw').addressOn('internet'), 'the server sees the router');
      assert.is(c.getpeername().address, net.lookup('server'), 'the laptop sees the server');
      await c.send('through nat');
      assert.is(text(await socket.recv()), 'through nat');
      await socket.send('back');
      assert.is(text(await c.recv()), 'back');
      socket.close();
      assert.is((await c.recv()).length, 0, 'the FIN came through');
      c.close();
      // a closed port outside: refused, as if direct
      const r = laptop.socket(AF_INET, SOCK_STREAM);
      await rejectsCode(r.connect(net.lookup('server'), 81), 'ECONNREFUSED');
      r.close();
      // UDP out and back
      const u = srv.socket(AF_INET, SOCK_DGRAM);
      u.bind('0.0.0.0', 53535);
      const lu = laptop.socket(AF_INET, SOCK_DGRAM);
      lu.sendtoSync('dgram', net.lookup('server'), 53535);
      const d = await u.recvfrom();
      assert.is(d.address, net.host('gw').addressOn('internet'));
      u.sendtoSync('reply', d.address, d.port);
      const back = await lu.recvfrom();
      assert.is(text(back.data), 'reply');
      assert.is(back.address, net.lookup('server'));
      // the outside has no route to the inside
      const o = srv.socket(AF_INET, SOCK_STREAM);
      await rejectsCode(o.connect(net.lookup('laptop'), 80), 'ENETUNREACH');
      for (const s of [u, lu, o, l]) s.close();
    });
    assert.ok(net.host('gw').nat.counters.connections >= 1);
    assert.ok(net.host('gw').nat.counters.refused >= 1);
    assert.ok(net.host('gw').nat.counters.flows >= 1);
    assert.equal(net.errors, []);
  } finally {
    net.close();
  }
});

it('two data centres with a slow link: the round trip and the rate show it', async () => {
  const net = await createNetwork({
    seed: 4,
    segments: { wan: { subnet: '172.16.0.0/30', delay: 40, rate: 1_000_000 } },
    hosts: {
      app: 'east', db: 'west',
      re: { on: ['east', 'wan'], router: true }, rw: { on: ['wan', 'west'], router: true },
    },
  });
  try {
    assert.is(net.segment('wan').conditions.delay, 40);
    assert.is(net.segment('wan').nameServer, undefined, 'a /30 has room for its two routers only');
    await net.run(async () => {
      echoServer(net.host('db').stack, 9);
      const app = net.host('app').stack;
      const c = app.socket(AF_INET, SOCK_STREAM);
      await c.connect(net.lookup('db'), 9);
      const t0 = Date.now();
      await c.send('x');
      await c.recv();
      const rtt = Date.now() - t0;
      assert.ok(rtt >= 80 && rtt < 90, `round trip ${rtt} ms over two 40 ms crossings`);
      // 200 KB each way at 1 MB/s: at least 0.2 s more
      const big = new Uint8Array(200_000);
      const t1 = Date.now();
      const reading = (async () => {
        let n = 0;
        while (n < big.length) n += (await c.recv()).length;
      })();
      await c.send(big);
      await reading;
      const took = Date.now() - t1;
      assert.ok(took >= 200, `200 KB over the 1 MB/s link took ${took} ms`);
      net.segment('wan').set({ delay: 0, rate: 0 });
      const t2 = Date.now();
      await c.send('y');
      await c.recv();
      assert.ok(Date.now() - t2 < 5, 'conditions change at run time');
      c.close();
    });
  } finally {
    net.close();
  }
});

test('the description is checked, and errors name what is wrong', async () => {
  const bad = async (o, re) => {
    const err = await createNetwork(o).catch((e) => e);
    assert.ok(err instanceof TypeError || err instanceof RangeError, `${JSON.stringify(o)}: ${err}`);
    assert.match(err.message, re);
  };
  await bad({}, /needs hosts/);
  await bad({ hosts: {} }, /needs hosts/);
  await bad({ hosts: { a: 'lan' }, colour: 'red' }, /unknown network option "colour"/);
  await bad({ hosts: { 'a.b': 'lan' } }, /one DNS label/);
  await bad({ hosts: { a: { on: 'lan', speed: 3 } } }, /host a: unknown option "speed"/);
  await bad({ hosts: { a: { on: ['lan', 'lan'] } } }, /twice/);
  await bad({ hosts: { a: { on: { lan: '10.9.9.9' } } } }, /not a host address of lan/);
  await bad({ hosts: { a: { on: { lan: '10.0.1.5' } }, b: { on: { lan: '10.0.1.5' } } } }, /taken/);
  await bad({ hosts: { a: { on: { lan: '10.0.1.254' } } } }, /taken \(or is the name server's\)/);
  await bad({ hosts: { a: { on: 'lan', nat: 'wan' } } }, /a segment it is not on/);
  await bad({ hosts: { a: { on: 'lan', nat: 'lan' } } }, /needs a segment outside/);
  await bad({ segments: { lan: { subnet: 'fd00::/64' } }, hosts: { a: 'lan' } }, /IPv4 network/);
  await bad({ segments: { lan: { loss: 2 } }, hosts: { a: 'lan' } }, /loss must be a probability/);
  await bad({ segments: { lan: { partition: true } }, hosts: { a: 'lan' } }, /unknown option "partition"/);
  await bad({ hosts: { a: 'lan' }, seed: -1 }, /seed/);
  await bad({ hosts: { a: 'lan' }, software: { b: () => {} } }, /no host/);
});

test.run();
