// A relay's refusals reach a browser-style client as something it can act on: the
// upgrade completes and closes at once with 4401 (token), 4403 (origin) or 4503 (full)
// and a reason, which the package's link reports as ETOKEN, EORIGIN or EBUSY; a stack
// waiting for DHCP on such a link fails at once with that error instead of timing out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { it } from './helpers.mjs';
import { startRelay, rawClient, refusal, lwip } from './relay-util.mjs';

/** A link to the relay as a page at `origin` would open it. */
function pageLink(url, origin, opts = {}) {
  const errors = [];
  const link = lwip.connectWebSocket(() => new WebSocket(url, { origin }), { ...opts, onError: (e) => errors.push(e) });
  const closed = new Promise((resolve) => {
    link.attach({ onFrames: () => {}, onDrain: () => {}, onClose: resolve });
  });
  return { link, closed, errors };
}

it('a page from an origin not allowed: EORIGIN with 4403 and the reason, even with reconnect on', async () => {
  const relay = await startRelay({ mode: 'hub' });
  try {
    const { link, closed, errors } = pageLink(relay.url, 'http://evil.example', { reconnect: { retries: 5, minDelay: 10 } });
    const err = await closed;
    assert.is(err?.code, 'EORIGIN');
    assert.is(err.closeCode, 4403);
    assert.match(err.reason, /origin is not allowed/);
    assert.is(link.state, 'closed');
    assert.is(link.counters.reconnects, 0, 'a refusal is not retried');
    assert.is(errors.length, 1);
    assert.is(relay.stats().refused.origin, 1, 'one attempt, counted once');
    assert.is(relay.stats().clients, 0);
  } finally {
    await relay.close();
  }
});

it('no token: ETOKEN (4401); relay full: EBUSY (4503); a client with no Origin still gets the HTTP status', async () => {
  const relay = await startRelay({ mode: 'hub', token: 'tok', maxClients: 1 });
  const holder = rawClient(relay.url, { token: 'tok' });
  try {
    const noToken = await pageLink(relay.url, 'http://127.0.0.1').closed;
    assert.is(noToken?.code, 'ETOKEN');
    assert.is(noToken.closeCode, 4401);
    await holder.open();
    const own = new URL(relay.url.replace(/^ws/, 'http')).origin;
    const full = await pageLink(`${relay.url}?token=tok`, own).closed;
    assert.is(full?.code, 'EBUSY');
    assert.is(full.closeCode, 4503);
    assert.equal(await refusal(rawClient(relay.url)), { status: 401 });
    const st = relay.stats();
    assert.is(st.refused.token, 2);
    assert.is(st.refused.clients, 1);
  } finally {
    holder.close();
    await relay.close();
  }
});

it('DHCP on a link the relay refused fails at once with the link\'s error, not after its timeout', async () => {
  const relay = await startRelay({ mode: 'hub' });
  const stack = await lwip.Stack.create();
  try {
    const link = lwip.connectWebSocket(() => new WebSocket(relay.url, { origin: 'http://evil.example' }));
    const t0 = Date.now();
    const err = await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10_000 } }).catch((e) => e);
    assert.is(err?.code, 'EORIGIN', String(err));
    assert.ok(Date.now() - t0 < 2000, `rejected after ${Date.now() - t0} ms`);
    assert.equal(stack.interfaces.filter((i) => i.index > 1), [], 'the interface was removed');
  } finally {
    stack.dispose();
    await relay.close();
  }
});

test.run();
