// The same dist/ in a real browser: Debian's headless Chromium loads the ESM bundle and
// the wasm from a server on 127.0.0.1, runs two stacks inside the page, and moves an
// HTTP-like exchange between them over an in-memory pair.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>lwip-wasm</title>
<script type="module">
import { Stack, createPair, AF_INET, SOCK_STREAM, SHUT_WR } from '/dist/index.js';
window.run = async () => {
  const [la, lb] = createPair();
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.1.0.1/24' });
  b.addInterface(lb, { ip: '10.1.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 8080);
  l.listen(4);
  const served = (async () => {
    const c = await l.accept();
    let req = '';
    while (!req.includes('\\r\\n\\r\\n')) req += new TextDecoder().decode(await c.recv());
    const body = 'x'.repeat(100000);
    await c.send('HTTP/1.1 200 OK\\r\\nContent-Length: ' + body.length + '\\r\\n\\r\\n' + body);
    c.shutdown(SHUT_WR);
    return req.split('\\r\\n')[0];
  })();
  const s = a.socket(AF_INET, SOCK_STREAM);
  await s.connect('10.1.0.2', 8080);
  await s.send('GET /hello HTTP/1.1\\r\\nHost: b\\r\\n\\r\\n');
  let resp = '';
  for (;;) { const d = await s.recv(); if (d.length === 0) break; resp += new TextDecoder().decode(d); }
  const requestLine = await served;
  a.dispose(); b.dispose();
  return { requestLine, status: resp.split('\\r\\n')[0], bodyLength: resp.length - resp.indexOf('\\r\\n\\r\\n') - 4 };
};
window.ready = true;
</script>`;

// A module Worker running two stacks and an 8 MiB TCP transfer between them, on the
// browser build; the page only waits for its answer.
const WORKER = `
import { Stack, createPair, AF_INET, SOCK_STREAM } from '/dist/browser.js';
const [la, lb] = createPair();
const a = await Stack.create();
const b = await Stack.create();
a.addInterface(la, { ip: '10.1.0.1/24' });
b.addInterface(lb, { ip: '10.1.0.2/24' });
const l = b.socket(AF_INET, SOCK_STREAM);
l.bind('0.0.0.0', 9);
l.listen(4);
const c = a.socket(AF_INET, SOCK_STREAM);
const [s] = await Promise.all([l.accept(), c.connect('10.1.0.2', 9)]);
const data = new Uint8Array(8 << 20).map((_, i) => i & 0xff);
let got = 0, intact = true;
const reading = (async () => {
  while (got < data.length) {
    const d = await s.recv(1 << 20);
    for (let i = 0; i < d.length; i++) if (d[i] !== ((got + i) & 0xff)) intact = false;
    got += d.length;
  }
})();
await c.send(data);
await reading;
a.dispose(); b.dispose();
postMessage({ got, intact, inWorker: typeof document === 'undefined' });
`;

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

if (!haveChromium) console.log(`skipping: no Chromium at ${CHROMIUM} (apt-get install chromium; make test installs it)`);
const browserTest = haveChromium ? test : test.skip;

browserTest('dist/ runs in headless Chromium: two in-page stacks exchange HTTP; in a Worker, 8 MiB while the page stays free', async () => {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (path === '/worker.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(WORKER);
      return;
    }
    if (!path.startsWith('/dist/')) return res.writeHead(404).end();
    try {
      const body = await readFile(join(root, path));
      const ext = path.slice(path.lastIndexOf('.'));
      res.writeHead(200, { 'content-type': TYPES[ext] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction('window.ready === true', null, { timeout: 15000 });
    const result = await page.evaluate('window.run()');
    assert.equal(errors, []);
    assert.is(result.requestLine, 'GET /hello HTTP/1.1');
    assert.is(result.status, 'HTTP/1.1 200 OK');
    assert.is(result.bodyLength, 100000);
    // The same in a Worker: the page's thread stays free (its 10 ms timer keeps time).
    const w = await page.evaluate(() => new Promise((resolve) => {
      let last = performance.now();
      let worst = 0;
      const tick = setInterval(() => {
        const t = performance.now();
        worst = Math.max(worst, t - last - 10);
        last = t;
      }, 10);
      const worker = new Worker('/worker.js', { type: 'module' });
      worker.onmessage = (e) => {
        clearInterval(tick);
        worker.terminate();
        resolve({ ...e.data, worstLateMs: worst });
      };
      worker.onerror = (e) => resolve({ error: e.message });
    }));
    assert.is(w.error, undefined);
    assert.is(w.got, 8 << 20);
    assert.ok(w.intact, 'every byte in order');
    assert.ok(w.inWorker, 'ran in a Worker');
    assert.ok(w.worstLateMs < 200, `the page's timer ran up to ${w.worstLateMs.toFixed(0)} ms late`);
  } finally {
    await browser.close();
    server.close();
  }
});

test.run();
