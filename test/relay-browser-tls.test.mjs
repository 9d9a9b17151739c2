// TLS and stack.fetch from a real browser through the relay: headless Chromium loads the
// main entry from a server on 127.0.0.1; the page's stack (with TLS) gets its address by
// DHCP from its gateway in the relay (nat mode) and reaches, through it, TLS servers on
// the relay host's loopback (the gateway 10.0.2.2 stands for 127.0.0.1), verifying them
// with a CA this test makes. The relay's DNS answers server.test with the gateway, so
// stack.fetch goes by name; the relay's policy allows only the servers' ports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTlsServer } from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRelay } from '../dist/relay.js';
import { CHROMIUM, haveChromium, launchChromium } from './util-browser.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PAGE = `<!doctype html><meta charset="utf-8"><title>lwip-wasm tls through the relay</title>
<script type="module">
import { Stack, connectWebSocket } from '/dist/index.js';

const hex = async (buf) => [...new Uint8Array(await crypto.subtle.digest('SHA-256', buf))].map((b) => b.toString(16).padStart(2, '0')).join('');
/** What a failed fetch says: its name and its cause's code. */
const failure = (p) => p.then(() => ({ name: 'none' }), (e) => ({ name: e.name, code: e.cause?.code ?? String(e.cause) }));

window.run = async (cfg) => {
  const out = {};
  const stack = await Stack.create({ tls: true });
  const link = connectWebSocket(cfg.relayUrl);
  try {
    await link.ready;
    const nif = await stack.addInterface(link, { ip: 'dhcp', dhcp: { timeout: 10000 } });
    out.address = nif.ipv4.address;
    out.dns = stack.dnsServers;

    // A verified handshake on the streams API, to the gateway's address; the name checked is server.test.
    const sock = stack.connect(cfg.gateway + ':' + cfg.port, { secureTransport: 'on', ca: cfg.ca, servername: 'server.test', ALPNProtocols: ['http/1.1'] });
    const info = await sock.opened;
    out.opened = { protocol: info.protocol, alpn: info.alpn, authorized: info.tls.authorized, cipher: info.cipher };
    await sock.close();

    // stack.fetch by name (the relay's DNS), length-delimited and chunked bodies.
    for (const path of ['/length', '/chunked']) {
      const url = 'https://server.test:' + cfg.port + path;
      const res = await stack.fetch(url, { tls: { ca: cfg.ca } }).catch((e) => { throw new Error(url + ': ' + e.message + ': ' + (e.cause?.stack ?? e.cause)); });
      const body = await res.arrayBuffer();
      out[path] = { status: res.status, te: res.headers.get('transfer-encoding'), length: body.byteLength, sha256: await hex(body) };
    }

    // What the client checks, through the relay too.
    out.untrusted = await failure(stack.fetch('https://server.test:' + cfg.port + '/length', { tls: { ca: cfg.otherCa } }));
    out.byAddress = await failure(stack.fetch('https://' + cfg.gateway + ':' + cfg.port + '/length', { tls: { ca: cfg.ca } }));
    out.tls13only = await failure(stack.fetch('https://server.test:' + cfg.tls13Port + '/', { tls: { ca: cfg.ca } }));
    // A loopback port the relay's policy does not allow: the page's own web server.
    out.notAllowed = await failure(stack.fetch('http://' + cfg.gateway + ':' + cfg.webPort + '/'));
    return out;
  } finally {
    link.close();
    stack.dispose();
  }
};
window.ready = true;
</script>`;

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };
const ok = haveChromium && hasOpenssl();
if (!ok) console.log(`skipping: needs Chromium at ${CHROMIUM} and openssl (make test installs both)`);
const browserTest = ok ? test : test.skip;

const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

browserTest('in Chromium through the relay: a verified TLS 1.2 handshake and stack.fetch of https: by name to a server on the relay host\'s loopback', async () => {
  const pki = makePki();
  const body = randomBytes(1 << 20);
  const digest = createHash('sha256').update(body).digest('hex');
  const seen = { requests: 0, web: [] };
  const https = createHttpsServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => {
    seen.requests++;
    if (req.url === '/chunked') {
      res.writeHead(200); // no length: chunked
      for (let off = 0; off < body.length; off += 100_000) res.write(body.subarray(off, off + 100_000));
      res.end();
    } else {
      res.writeHead(200, { 'content-length': body.length }).end(body);
    }
  });
  const tls13 = createTlsServer({ cert: pki.server.cert, key: pki.server.key, minVersion: 'TLSv1.3' }, (s) => s.end());
  tls13.on('tlsClientError', () => {});
  const web = createHttpServer(async (req, res) => {
    seen.web.push(req.url);
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (!path.startsWith('/dist/')) return res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(await readFile(join(root, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  const [port, tls13Port, webPort] = await Promise.all([listen(https), listen(tls13), listen(web)]);
  const origin = `http://127.0.0.1:${webPort}`;
  const lookups = [];
  const relay = await createRelay({
    port: 0, host: '127.0.0.1', mode: 'nat', origins: [origin], onLog: () => {},
    allow: [`tcp/127.0.0.1:${port}`, `tcp/127.0.0.1:${tls13Port}`],
    // The relay's DNS: server.test is the gateway, which stands for this host's loopback.
    nat: {
      lookup: async (name, family) => {
        lookups.push(`${name}/${family}`);
        if (name === 'server.test' && family === 4) return ['10.0.2.2'];
        throw Object.assign(new Error(`${name}: no such name`), { code: family === 4 ? 'ENOTFOUND' : 'ENODATA' });
      },
    },
  });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${origin}/`);
    await page.waitForFunction('window.ready === true', null, { timeout: 15000 });
    const result = await page.evaluate((c) => window.run(c), {
      relayUrl: relay.url, gateway: '10.0.2.2', port, tls13Port, webPort, ca: pki.ca, otherCa: pki.otherCa,
    });
    assert.equal(errors, []);
    assert.is(result.address, '10.0.2.15');
    assert.equal(result.dns, ['10.0.2.2'], 'DNS from the gateway, by DHCP');
    assert.equal(result.opened, { protocol: 'TLSv1.2', alpn: 'http/1.1', authorized: true, cipher: result.opened.cipher });
    assert.match(result.opened.cipher, /^TLS_ECDHE_ECDSA_WITH_/);
    assert.equal(result['/length'], { status: 200, te: null, length: body.length, sha256: digest });
    assert.equal(result['/chunked'], { status: 200, te: 'chunked', length: body.length, sha256: digest });
    assert.ok(lookups.includes('server.test/4'), `the relay's DNS was asked: ${lookups.join(', ')}`);
    assert.equal(result.untrusted, { name: 'TypeError', code: 'ERR_TLS_CERT_UNKNOWN_CA' });
    assert.equal(result.byAddress, { name: 'TypeError', code: 'ERR_TLS_CERT_HOSTNAME' }, 'the certificate does not name 10.0.2.2');
    assert.equal(result.tls13only, { name: 'TypeError', code: 'ERR_TLS_PROTOCOL_VERSION' }, 'TLS 1.3 is not built in');
    assert.equal(result.notAllowed, { name: 'TypeError', code: 'EHOSTUNREACH' }, 'denied: ICMP administratively prohibited from the gateway');
    assert.is(seen.web.filter((u) => u === '/').length, 1, `only the page's own load reached the port the policy does not allow: ${seen.web}`);
    // The page fetched the TLS wasm for Stack.create({ tls: true }), and the parser's on the first fetch.
    assert.ok(seen.web.includes('/dist/lwip-tls.wasm') && seen.web.includes('/dist/llhttp.wasm'), String(seen.web));
    assert.is(seen.requests, 2, 'the two fetches that verified reached the server; the failed handshakes sent nothing');
    // Totals over every session (the page closed its link, so its session is gone).
    const st = relay.stats();
    assert.is(st.dropped.denied, 1, JSON.stringify(st.dropped));
    assert.ok(st.bytesOut > 2 * body.length, 'the bodies came through the relay');
  } finally {
    await browser.close();
    await relay.close();
    https.closeAllConnections();
    for (const s of [https, tls13, web]) s.close();
    pki.dispose();
  }
});

test.run();
