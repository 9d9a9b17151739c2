// TLS and stack.fetch in a real browser: headless Chromium loads the main entry from a
// server on 127.0.0.1; in the page, one stack (with TLS) serves HTTP/1.1 over
// stack.listen({ secureTransport: 'on' }) and another fetches from it over http: and
// https:, verifying with a CA this test makes. Randomness comes from the page's
// crypto.getRandomValues, the wasm from lwip-tls.wasm beside the entry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>lwip-wasm tls</title>
<script type="module">
import { Stack, createPair, TlsError } from '/dist/index.js';
const enc = new TextEncoder();

/** A tiny HTTP/1.1 server on a stream listener: /length and /chunked, keep-alive. */
async function serve(listener) {
  for await (const conn of listener) {
    (async () => {
      const r = conn.readable.getReader();
      const w = conn.writable.getWriter();
      let buf = '';
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        buf += new TextDecoder().decode(value);
        let end;
        while ((end = buf.indexOf('\\r\\n\\r\\n')) >= 0) {
          const path = buf.slice(0, end).split(' ')[1];
          buf = buf.slice(end + 4);
          const body = new Uint8Array(200000).map((_, i) => i & 0xff);
          if (path === '/chunked') {
            await w.write('HTTP/1.1 200 OK\\r\\ntransfer-encoding: chunked\\r\\n\\r\\n');
            for (let off = 0; off < body.length; off += 50000) {
              await w.write((50000).toString(16) + '\\r\\n');
              await w.write(body.subarray(off, off + 50000));
              await w.write('\\r\\n');
            }
            await w.write('0\\r\\n\\r\\n');
          } else {
            await w.write('HTTP/1.1 200 OK\\r\\ncontent-length: ' + body.length + '\\r\\n\\r\\n');
            await w.write(body);
          }
        }
      }
    })().catch(() => {});
  }
}

window.run = async (pki) => {
  const [la, lb] = createPair();
  const a = await Stack.create({ tls: true });
  const b = await Stack.create({ tls: true });
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const plain = b.listen({ port: 80 });
  const secure = b.listen({ port: 443, secureTransport: 'on', cert: pki.cert, key: pki.key, ALPNProtocols: ['http/1.1'] });
  serve(plain);
  serve(secure);
  const out = {};
  const check = (u8) => u8.length === 200000 && u8.every((v, i) => v === (i & 0xff));
  for (const url of ['http://10.0.0.2/length', 'http://10.0.0.2/chunked', 'https://10.0.0.2/length', 'https://10.0.0.2/chunked']) {
    const res = await a.fetch(url, { tls: { ca: pki.ca } }).catch((e) => { throw new Error(url + ': ' + e.message + ': ' + (e.cause && (e.cause.stack || e.cause))); });
    out[url] = { status: res.status, ok: check(new Uint8Array(await res.arrayBuffer())), isResponse: res instanceof Response };
  }
  const sock = a.connect('10.0.0.2:443', { secureTransport: 'on', ca: pki.ca, ALPNProtocols: ['http/1.1'] });
  const info = await sock.opened;
  out.opened = { protocol: info.protocol, alpn: info.alpn, authorized: info.tls.authorized };
  await sock.close();
  const err = await a.fetch('https://10.0.0.2/length', { tls: { ca: pki.ca, servername: 'wrong.test' } }).then(() => null, (e) => e);
  out.error = { name: err && err.name, cause: err && err.cause instanceof TlsError ? err.cause.code : String(err && err.cause) };
  plain.close();
  secure.close();
  a.dispose();
  b.dispose();
  return out;
};
window.ready = true;
</script>`;

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
const ok = haveChromium && hasOpenssl();
if (!ok) console.log(`skipping: needs Chromium at ${CHROMIUM} and openssl (make test installs both)`);
const browserTest = ok ? test : test.skip;

browserTest('in Chromium: TLS in the page, and stack.fetch of http: and https: with length and chunked bodies', async () => {
  const pki = makePki();
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/' || path === '/index.html') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (path === '/favicon.ico') return res.writeHead(204).end();
    if (!path.startsWith('/dist/')) return res.writeHead(404).end();
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(body);
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
    const result = await page.evaluate((p) => window.run(p), { ca: pki.ca, cert: pki.server.cert, key: pki.server.key });
    assert.equal(errors, []);
    for (const url of ['http://10.0.0.2/length', 'http://10.0.0.2/chunked', 'https://10.0.0.2/length', 'https://10.0.0.2/chunked']) {
      assert.equal(result[url], { status: 200, ok: true, isResponse: true }, url);
    }
    assert.equal(result.opened, { protocol: 'TLSv1.2', alpn: 'http/1.1', authorized: true });
    assert.equal(result.error, { name: 'TypeError', cause: 'ERR_TLS_CERT_HOSTNAME' });
  } finally {
    await browser.close();
    server.close();
    pki.dispose();
  }
});

test.run();
