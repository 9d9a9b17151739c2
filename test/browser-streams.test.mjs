// The web-streams adapter in a real browser: headless Chromium loads the main entry (no
// Node built-ins) from a server on 127.0.0.1; inside the page one stack serves HTTP/1.1
// with stack.listen() and another fetches from it with stack.connect(), as a fetch-like
// helper would. Errors and UDP streams are checked there too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>lwip-wasm streams</title>
<script type="module">
import { Stack, createPair } from '/dist/index.js';
const enc = new TextEncoder();
const dec = new TextDecoder();

// A tiny HTTP/1.1 server: one request per connection, Content-Length or chunked reply.
async function serve(listener) {
  for await (const conn of listener) {
    (async () => {
      const reader = conn.readable.getReader();
      let head = '';
      while (!head.includes('\\r\\n\\r\\n')) {
        const { value, done } = await reader.read();
        if (done) return;
        head += dec.decode(value, { stream: true });
      }
      reader.releaseLock();
      const [requestLine] = head.split('\\r\\n');
      const path = requestLine.split(' ')[1];
      const w = conn.writable.getWriter();
      if (path === '/chunked') {
        await w.write('HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\nX-Request: ' + requestLine + '\\r\\n\\r\\n');
        for (const part of ['hello ', 'from ', 'chunks']) await w.write(part.length.toString(16) + '\\r\\n' + part + '\\r\\n');
        await w.write('0\\r\\n\\r\\n');
      } else {
        const body = new Uint8Array(100000).map((_, i) => i & 0xff);
        await w.write('HTTP/1.1 200 OK\\r\\nContent-Length: ' + body.length + '\\r\\nX-Request: ' + requestLine + '\\r\\n\\r\\n');
        await w.write(body);
      }
      await w.close();
    })().catch((e) => console.error('server', e));
  }
}

// fetch-like: GET url over a stack, parse status, headers, and a Content-Length or chunked body.
async function stackFetch(stack, url) {
  const u = new URL(url);
  const sock = stack.connect({ hostname: u.hostname.replace(/^\\[|\\]$/g, ''), port: Number(u.port || 80) });
  const w = sock.writable.getWriter();
  await w.write('GET ' + u.pathname + ' HTTP/1.1\\r\\nHost: ' + u.host + '\\r\\nConnection: close\\r\\n\\r\\n');
  await w.close();
  const chunks = [];
  for await (const c of sock.readable) chunks.push(c);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  const split = all.findIndex((_, i) => all[i] === 13 && all[i + 1] === 10 && all[i + 2] === 13 && all[i + 3] === 10);
  const [statusLine, ...lines] = dec.decode(all.subarray(0, split)).split('\\r\\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  let body = all.subarray(split + 4);
  if (headers['transfer-encoding'] === 'chunked') {
    const parts = [];
    let text = dec.decode(body);
    for (;;) {
      const nl = text.indexOf('\\r\\n');
      const size = parseInt(text.slice(0, nl), 16);
      if (size === 0) break;
      parts.push(text.slice(nl + 2, nl + 2 + size));
      text = text.slice(nl + 4 + size);
    }
    body = enc.encode(parts.join(''));
  }
  await sock.closed;
  return { status: Number(statusLine.split(' ')[1]), statusLine, headers, body, info: await sock.opened };
}

window.run = async () => {
  const [la, lb] = createPair();
  const a = await Stack.create();
  const b = await Stack.create();
  a.addInterface(la, { ip: '10.1.0.1/24', ipv6: 'fd01::1/64' });
  b.addInterface(lb, { ip: '10.1.0.2/24', ipv6: 'fd01::2/64' });
  const listener = b.listen({ hostname: '::', port: 8080 });
  const serving = serve(listener);
  const r1 = await stackFetch(a, 'http://10.1.0.2:8080/data');
  const r2 = await stackFetch(a, 'http://[fd01::2]:8080/chunked');
  let sum = 0;
  for (const x of r1.body) sum = (sum + x) % 65521;
  let expected = 0;
  for (let i = 0; i < 100000; i++) expected = (expected + (i & 0xff)) % 65521;
  // errors surface with Linux codes in the browser too
  const refused = await a.connect('10.1.0.2:9').opened.then(() => 'opened', (e) => e.name + ' ' + e.code + ' ' + e.errno);
  // UDP as streams
  const server = b.udp({ localPort: 5353 });
  const client = a.udp({ remoteAddress: '10.1.0.2', remotePort: 5353 });
  await client.writable.getWriter().write({ data: enc.encode('ping') });
  const { value: dgram } = await server.readable.getReader().read();
  listener.close();
  await serving;
  await client.close();
  await server.close();
  a.dispose();
  b.dispose();
  return {
    noNode: typeof process === 'undefined' && typeof Buffer === 'undefined',
    r1: { status: r1.status, request: r1.headers['x-request'], length: r1.body.length, sumOk: sum === expected, remote: r1.info.remoteAddress },
    r2: { status: r2.status, request: r2.headers['x-request'], te: r2.headers['transfer-encoding'], text: dec.decode(r2.body), remote: r2.info.remoteAddress },
    refused,
    udp: { text: dec.decode(dgram.data), from: dgram.remoteAddress },
  };
};
window.ready = true;
</script>`;

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

if (!haveChromium) console.log(`skipping: no Chromium at ${CHROMIUM} (apt-get install chromium; make test installs it)`);
const browserTest = haveChromium ? test : test.skip;

browserTest('in Chromium: HTTP/1.1 over stack.connect to a stack.listen server in the same page', async () => {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/' || path === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    if (path === '/favicon.ico') return res.writeHead(204).end();
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
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction('window.ready === true', null, { timeout: 15000 });
    const result = await page.evaluate('window.run()');
    assert.equal(errors, []);
    assert.is(result.noNode, true, 'the page has no Node built-ins');
    assert.equal(result.r1, { status: 200, request: 'GET /data HTTP/1.1', length: 100000, sumOk: true, remote: '10.1.0.2:8080' });
    assert.equal(result.r2, { status: 200, request: 'GET /chunked HTTP/1.1', te: 'chunked', text: 'hello from chunks', remote: '[fd01::2]:8080' });
    assert.is(result.refused, 'SocketError ECONNREFUSED 111');
    assert.equal(result.udp, { text: 'ping', from: '10.1.0.1' });
  } finally {
    await browser.close();
    server.close();
  }
});

test.run();
