// The demo in a real browser: Debian's headless Chromium loads the page `relay --demo`
// serves, whose stack (the dist/ bundle and wasm) connects to the relay over a WebSocket
// and fetches, through its gateway, a page from the relay host's loopback; the test checks the
// bytes against a direct fetch of the same server, and the page's log and socket table.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { it } from './helpers.mjs';
import { startRelay } from './relay-util.mjs';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';

const reason = !haveChromium ? `no Chromium at ${CHROMIUM} (apt-get install chromium)` : null;
const browserTest = reason ? (name) => { console.log(`skipping "${name}": ${reason}`); test.skip(name); } : it;

browserTest('relay --demo: the page\'s stack fetches from the relay host\'s loopback through the relay, byte for byte', async () => {
  const relay = await startRelay({ demo: true, nat: { dns: false } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(relay.demoUrl);
    const result = await page.evaluate('window.demo.done');
    assert.equal(errors, []);
    // The same server, fetched directly from Node.
    const cfg = await (await fetch(`${relay.demoUrl}demo/config.json`)).json();
    const direct = Buffer.from(await (await fetch(`http://127.0.0.1:${cfg.target.port}/`)).arrayBuffer());
    assert.is(result.status, 200);
    assert.is(result.bodyLength, direct.length);
    assert.is(result.sha256, createHash('sha256').update(direct).digest('hex'));
    assert.ok(direct.length > 50_000, 'a body that spans many segments');
    // The page shows its log and an ss table with the connection to the gateway.
    assert.match(result.ssDuring, new RegExp(`ESTAB.*10\\.0\\.2\\.2:${cfg.target.port}`));
    assert.ok(result.log.some((l) => l.startsWith('link: connected')), result.log.join('\n'));
    // The address came from the gateway's DHCP, through the relay.
    assert.is(result.lease?.address, '10.0.2.15', result.log.join('\n'));
    assert.is(result.lease.gateway, '10.0.2.2');
    assert.match(await page.textContent('#status'), /^done: HTTP\/1.1 200 OK/);
    assert.match(await page.textContent('#ss'), /State/);
    // The relay saw a browser: the page's origin, and the bytes went through it.
    const s = relay.stats();
    assert.is(s.sessions.length, 1);
    assert.is(s.sessions[0].origin, new URL(relay.demoUrl).origin);
    assert.ok(s.bytesOut > direct.length);
    assert.is(s.dropped.denied, 0);
  } finally {
    await browser.close();
    await relay.close();
  }
}, 60_000);

browserTest('relay --demo: a page from another origin cannot use the relay, and its link is told why (EORIGIN)', async () => {
  const relay = await startRelay({ demo: true, nat: { dns: false } });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // localhost and 127.0.0.1 are different origins: the page at localhost is "another site".
    const port = relay.port;
    await page.goto(`http://localhost:${port}/demo/config.json`);
    // A bare WebSocket: the upgrade completes and closes at once with 4403 and a reason.
    const outcome = await page.evaluate((u) => new Promise((resolve) => {
      const ws = new WebSocket(u);
      ws.onclose = (e) => resolve({ code: e.code, reason: e.reason });
    }), `ws://127.0.0.1:${port}/`);
    assert.is(outcome.code, 4403);
    assert.match(outcome.reason, /origin is not allowed/);
    // The package's link in the page: a stack waiting for DHCP gets EORIGIN at once.
    const linkOutcome = await page.evaluate(async (u) => {
      const lwip = await import('/dist/index.js');
      const stack = await lwip.Stack.create();
      const t0 = performance.now();
      try {
        await stack.addInterface(lwip.connectWebSocket(u), { ip: 'dhcp' });
        return { code: 'leased' };
      } catch (e) {
        return { code: e.code, closeCode: e.closeCode, ms: performance.now() - t0 };
      } finally {
        stack.dispose();
      }
    }, `ws://127.0.0.1:${port}/`);
    assert.is(linkOutcome.code, 'EORIGIN');
    assert.is(linkOutcome.closeCode, 4403);
    assert.ok(linkOutcome.ms < 2000, `rejected after ${linkOutcome.ms} ms`);
    assert.is(relay.stats().refused.origin, 2);
    assert.is(relay.stats().clients, 0, 'no session for the refused page');
  } finally {
    await browser.close();
    await relay.close();
  }
}, 30_000);

test.run();
