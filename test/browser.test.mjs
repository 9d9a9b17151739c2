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

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

if (!haveChromium) console.log(`skipping: no Chromium at ${CHROMIUM} (apt-get install chromium; make test installs it)`);
const browserTest = haveChromium ? test : test.skip;

browserTest('dist/ runs in headless Chromium: two in-page stacks exchange HTTP', async () => {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
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
  } finally {
    await browser.close();
    server.close();
  }
});

test.run();
