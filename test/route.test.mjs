// routeThrough / withRoute (lwip-wasm/node): code that imports node:net, node:dgram or
// node:dns itself runs over a stack while routed. node-redis (@redis/client, which calls
// net.createConnection on the node:net module object) talks to a Redis-speaking server
// on another stack; ES module bindings follow the route; undo() puts Node's own back.
import netNode, { connect as netConnect, createConnection } from 'node:net';
import dgramNode from 'node:dgram';
import dnsNode, { lookup as dnsLookup } from 'node:dns';
import { createClient } from '@redis/client';
import { Stack, routeThrough, withRoute } from '../dist/node.js';
import { it, test, assert, twoStacks as twoPlainStacks, withTimeout } from './helpers.mjs';

const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });

const nodeOwn = { connect: netNode.connect, Socket: netNode.Socket, createSocket: dgramNode.createSocket, lookup: dnsNode.lookup, plookup: dnsNode.promises.lookup };

/** A tiny Redis (RESP2) server on stack.net: PING, SET, GET, DEL, QUIT; +OK for the rest. */
function redisServer(stack, port) {
  const data = new Map();
  const server = stack.net.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const cmd = parse(buf);
        if (!cmd) return;
        buf = buf.subarray(cmd.used);
        const [name, ...args] = cmd.args;
        switch (name.toUpperCase()) {
          case 'PING': s.write('+PONG\r\n'); break;
          case 'SET': data.set(args[0], args[1]); s.write('+OK\r\n'); break;
          case 'GET': {
            const v = data.get(args[0]);
            s.write(v === undefined ? '$-1\r\n' : `$${Buffer.byteLength(v)}\r\n${v}\r\n`);
            break;
          }
          case 'DEL': s.write(`:${data.delete(args[0]) ? 1 : 0}\r\n`); break;
          case 'QUIT': s.end('+OK\r\n'); break;
          default: s.write('+OK\r\n');
        }
      }
    });
    s.on('error', () => {});
  });
  server.listen(port);
  return server;
}

/** One RESP array of bulk strings from the front of buf, or null if incomplete. */
function parse(buf) {
  const text = buf.toString('latin1');
  if (!text.startsWith('*')) return null;
  let at = text.indexOf('\r\n');
  if (at < 0) return null;
  const n = Number(text.slice(1, at));
  let pos = at + 2;
  const args = [];
  for (let i = 0; i < n; i++) {
    at = text.indexOf('\r\n', pos);
    if (at < 0) return null;
    const len = Number(text.slice(pos + 1, at));
    pos = at + 2;
    if (text.length < pos + len + 2) return null;
    args.push(text.slice(pos, pos + len));
    pos += len + 2;
  }
  return { args, used: pos };
}

it('node-redis runs unchanged over a stack while routed: connect, SET, GET, DEL, QUIT', async () => {
  const net = await twoStacks();
  try {
    const server = redisServer(net.b, 6379);
    await withTimeout(new Promise((r) => server.once('listening', r)), 3000, 'listening');
    const result = await withRoute(net.a, async () => {
      assert.is(netNode.connect, net.a.net.connect, 'node:net is routed');
      const client = createClient({ socket: { host: '10.0.0.2', port: 6379, reconnectStrategy: false } });
      client.on('error', () => {});
      await withTimeout(client.connect(), 5000, 'redis connect');
      assert.is(await client.ping(), 'PONG');
      assert.is(await client.set('greeting', 'hello over lwIP'), 'OK');
      const got = await client.get('greeting');
      assert.is(await client.del('greeting'), 1);
      assert.is(await client.get('greeting'), null);
      if (typeof client.close === 'function') await client.close();
      else await client.quit();
      return got;
    });
    assert.is(result, 'hello over lwIP');
    assert.is(netNode.connect, nodeOwn.connect, 'withRoute put node:net back');
    server.close();
  } finally {
    net.dispose();
  }
});

it('routeThrough replaces node:net, node:dgram and node:dns (lookup, promises.lookup) and ES module bindings until undo()', async () => {
  const net = await twoStacks();
  try {
    const route = routeThrough(net.a);
    try {
      assert.is(route.active, true);
      assert.is(netNode.Socket, net.a.net.Socket);
      assert.is(netNode.createConnection, net.a.net.createConnection);
      assert.is(dgramNode.createSocket, net.a.dgram.createSocket);
      assert.is(dnsNode.lookup, net.a.dns.lookup);
      assert.is(dnsNode.promises.lookup, net.a.dns.promises.lookup);
      // named ES imports follow (module.syncBuiltinESMExports)
      const live = await import('node:net');
      assert.is(live.connect, net.a.net.connect);
      assert.is(netConnect, net.a.net.connect, 'a named import of node:net follows the route');
      assert.is(createConnection, net.a.net.createConnection);
      assert.is(dnsLookup, net.a.dns.lookup);
      // 'localhost' is the stack's own loopback; names go to the stack's resolver
      const [err, address, family] = await new Promise((r) => dnsNode.lookup('localhost', { family: 4 }, (...a) => r(a)));
      assert.equal([err, address, family], [null, '127.0.0.1', 4]);
      const all = await dnsNode.promises.lookup('localhost', { all: true });
      assert.equal(all, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
      // a second route at once is refused
      assert.throws(() => routeThrough(net.b), /routed through a stack already/);
      // a socket made the ordinary way is the stack's
      const s = new netNode.Socket();
      assert.ok(s instanceof net.a.net.Socket);
      s.destroy();
    } finally {
      route.undo();
    }
    assert.is(route.active, false);
    assert.is(netNode.connect, nodeOwn.connect);
    assert.is(netNode.Socket, nodeOwn.Socket);
    assert.is(dgramNode.createSocket, nodeOwn.createSocket);
    assert.is(dnsNode.lookup, nodeOwn.lookup);
    assert.is(dnsNode.promises.lookup, nodeOwn.plookup);
    assert.is(netConnect, nodeOwn.connect, 'the named import is back too');
    // Symbol.dispose (for `using`) undoes it too
    const r2 = routeThrough(net.b);
    assert.is(netNode.connect, net.b.net.connect);
    r2[Symbol.dispose]();
    assert.is(netNode.connect, nodeOwn.connect);
  } finally {
    net.dispose();
  }
});

test.run();
