// The `ws` library over the stack, unchanged: its server upgrades connections that an
// http.Server takes from stack.net; its client dials through createConnection.
import http from 'node:http';
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import { it, test, assert, twoStacks as twoPlainStacks, randomBytes, sha256, withTimeout } from './helpers.mjs';

/** Two stacks of lwip-wasm/node's Stack, which has stack.net and stack.dgram. */
const twoStacks = (opts = {}) => twoPlainStacks({ Stack, ...opts });
import { Stack } from '../dist/node.js';

const event = (emitter, name, ms = 5000) => withTimeout(once(emitter, name), ms, `waiting for '${name}'`);

/** A WebSocket server on stack at port: ws's noServer mode behind an http.Server. */
async function wsServer(stack, port, onConnection) {
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((req, res) => res.writeHead(426).end());
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', onConnection);
  const listener = stack.net.createServer((s) => server.emit('connection', s));
  listener.listen(port);
  await event(listener, 'listening');
  return { wss, listener };
}

/** A ws client on stack. */
function wsClient(stack, url, options = {}) {
  return new WebSocket(url, { ...options, createConnection: (opts) => stack.net.createConnection(opts) });
}

it('text and binary messages, a 1 MiB message, ping/pong and a clean close with code and reason', async () => {
  const net = await twoStacks();
  try {
    let remote;
    const { wss, listener } = await wsServer(net.b, 8080, (ws, req) => {
      remote = `${req.socket.remoteAddress} ${req.url}`;
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('close', (code, reason) => ws.close(code, reason));
    });
    const client = wsClient(net.a, 'ws://10.0.0.2:8080/chat');
    await event(client, 'open');
    assert.is(remote, '::ffff:10.0.0.1 /chat');

    client.send('hello');
    const [m1, bin1] = await event(client, 'message');
    assert.is(String(m1), 'hello');
    assert.is(bin1, false);

    const big = randomBytes(1024 * 1024, 31);
    client.send(big);
    const [m2, bin2] = await event(client, 'message', 20000);
    assert.is(bin2, true);
    assert.is(m2.length, big.length);
    assert.is(sha256(m2), sha256(big));

    client.ping('p');
    const [pong] = await event(client, 'pong');
    assert.is(String(pong), 'p');

    client.close(4001, 'done');
    const [code, reason] = await event(client, 'close');
    assert.is(code, 4001);
    assert.is(String(reason), 'done');
    wss.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('1000 messages each way arrive in order, over IPv6', async () => {
  const net = await twoStacks();
  try {
    const { wss, listener } = await wsServer(net.b, 8081, (ws) => {
      for (let i = 0; i < 1000; i++) ws.send(`s${i}`);
      let n = 0;
      ws.on('message', (d) => {
        if (String(d) !== `c${n}`) ws.close(4000, `out of order at ${n}: ${d}`);
        if (++n === 1000) ws.close(1000, 'all in order');
      });
    });
    const client = wsClient(net.a, 'ws://[fd00::2]:8081/');
    const got = [];
    client.on('message', (d) => got.push(String(d)));
    await event(client, 'open');
    for (let i = 0; i < 1000; i++) client.send(`c${i}`);
    const [code, reason] = await event(client, 'close', 20000);
    assert.is(`${code} ${reason}`, '1000 all in order');
    assert.is(got.length, 1000);
    assert.ok(got.every((m, i) => m === `s${i}`), 'server messages in order');
    wss.close();
    listener.close();
  } finally {
    net.dispose();
  }
});

it('a refused connection reaches ws as an error with ECONNREFUSED', async () => {
  const net = await twoStacks();
  try {
    const client = wsClient(net.a, 'ws://10.0.0.2:9/');
    // ws emits 'close' right after 'error' (events.once would reject on the 'error')
    const closed = withTimeout(new Promise((resolve) => client.on('close', resolve)), 5000, "'close'");
    const [err] = await event(client, 'error');
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(err.errno, -111);
    await closed;
    assert.is(client.readyState, WebSocket.CLOSED);
  } finally {
    net.dispose();
  }
});

test.run();
