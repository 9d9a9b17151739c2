// A relay restarted mid-session: the client stacks survive the drop (their WebSocket link
// reconnects with backoff), their sockets are still usable objects, and new connections
// work once the relay is back, in nat (a fresh gateway) and in hub.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { it } from './helpers.mjs';
import { startRelay, relayStack, until, lwip, sleep } from './relay-util.mjs';

const { AF_INET, SOCK_STREAM } = lwip;
const RECONNECT = { retries: 100, minDelay: 50, maxDelay: 400 };

it('nat: the relay restarts under an open connection; the stack lives on and connects again', async () => {
  const { createServer } = await import('node:net');
  const echo = createServer((c) => c.on('error', () => {}).pipe(c));
  await new Promise((r) => echo.listen(0, '127.0.0.1', r));
  const srvPort = echo.address().port;
  const options = { nat: { dns: false }, allow: [`tcp/127.0.0.1:${srvPort}`] };
  let relay = await startRelay(options);
  const port = relay.port;
  const { stack, link } = await relayStack(relay, { ip: '10.0.2.15/24', gateway: '10.0.2.2', reconnect: RECONNECT });
  const old = stack.socket(AF_INET, SOCK_STREAM);
  try {
    await old.connect('10.0.2.2', srvPort, { timeout: 5000 });
    await old.send('before');
    assert.is(Buffer.from(await old.recv(64, { timeout: 5000 })).toString(), 'before');
    await relay.close();
    await until(() => link.state === 'reconnecting', 5000, 'the link to notice');
    // Sending while the relay is down: taken (held or dropped by the link), never fatal.
    await old.send('while down');
    await sleep(300);
    assert.is(stack.failure, undefined);
    relay = await startRelay({ ...options, port });
    await until(() => link.state === 'open', 10_000, 'the link to reconnect');
    assert.ok(link.counters.reconnects >= 1);
    // The new gateway knows nothing of the old connection, so its stack answers the
    // connection's next segment with RST: the client learns at once instead of
    // retransmitting into silence.
    const t0 = Date.now();
    const err = await old.recv(64, { timeout: 5000 }).then(() => null, (e) => e);
    assert.is(err?.code, 'ECONNRESET');
    assert.ok(Date.now() - t0 < 3000, `reset after ${Date.now() - t0} ms`);
    // New connections work through the new relay (a new gateway behind it).
    const fresh = stack.socket(AF_INET, SOCK_STREAM);
    await fresh.connect('10.0.2.2', srvPort, { timeout: 5000 });
    await fresh.send('after');
    assert.is(Buffer.from(await fresh.recv(64, { timeout: 5000 })).toString(), 'after');
    fresh.close();
    assert.is(relay.stats().clients, 1);
    assert.is(stack.failure, undefined);
  } finally {
    old.close();
    stack.dispose();
    await relay.close();
    await new Promise((r) => echo.close(r));
  }
}, 40_000);

it('hub: both stacks reconnect after a restart and reach each other again', async () => {
  let relay = await startRelay({ mode: 'hub' });
  const port = relay.port;
  const a = await relayStack(relay, { ip: '10.9.0.1/24', reconnect: RECONNECT });
  const b = await relayStack(relay, { ip: '10.9.0.2/24', reconnect: RECONNECT });
  const l = b.stack.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 7);
  l.listen(8);
  const echo = async () => {
    const s = a.stack.socket(AF_INET, SOCK_STREAM);
    const accepted = l.accept();
    await s.connect('10.9.0.2', 7, { timeout: 10_000 });
    const c = await accepted;
    await s.send('ping');
    const got = Buffer.from(await c.recv(64, { timeout: 5000 })).toString();
    s.close();
    c.close();
    return got;
  };
  try {
    assert.is(await echo(), 'ping');
    await relay.close();
    await until(() => a.link.state !== 'open' && b.link.state !== 'open', 5000, 'both links to notice');
    relay = await startRelay({ mode: 'hub', port });
    await until(() => a.link.state === 'open' && b.link.state === 'open', 10_000, 'both links back');
    assert.is(await echo(), 'ping');
    assert.is(a.stack.failure, undefined);
    assert.is(relay.stats().clients, 2);
  } finally {
    a.stack.dispose();
    b.stack.dispose();
    await relay.close();
  }
}, 40_000);

test.run();
