// stack.fetch: WHATWG fetch over the stack, against node:http and node:https servers that
// run over another stack (lwip-wasm/node's stack.net): length-delimited and chunked
// bodies, https verified with the test CA, redirects, an abort mid-body, a streamed
// upload, 100 requests over kept-alive connections, a malformed reply, and names looked
// up through a DNS server on the server's stack.
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { Stack, createPair, AF_INET, SOCK_STREAM, HttpParserError, TlsError, DnsError } from '../dist/node.js';
import { it, test, assert, createStack, randomBytes, sha256, sleep } from './helpers.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';
import { dnsServer } from './util-dns-dhcp.mjs';

const pki = hasOpenssl() ? makePki() : undefined;
test.after(() => pki?.dispose());

const big = randomBytes(3 << 20, 11);

/** The test site: every route the tests use. */
function app(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/length') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
    res.end(big);
  } else if (url.pathname === '/chunked') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: chunked
    let off = 0;
    const step = () => {
      while (off < big.length) {
        const more = res.write(big.subarray(off, off + 100_000));
        off += 100_000;
        if (!more) return res.once('drain', step);
      }
      res.end();
    };
    step();
  } else if (url.pathname === '/json') {
    res.setHeader('x-conn', String(req.socket.connId));
    res.end(JSON.stringify({ method: req.method, n: url.searchParams.get('n'), host: req.headers.host }));
  } else if (url.pathname === '/redirect') {
    res.writeHead(Number(url.searchParams.get('code') ?? 302), { location: '/json?n=redirected' });
    res.end('moved');
  } else if (url.pathname === '/slow') {
    res.writeHead(200, { 'content-length': 10 << 20 });
    res.write(new Uint8Array(65536));
    // the rest never comes; the client aborts
  } else if (url.pathname === '/upload') {
    const h = createHash('sha256');
    let n = 0;
    req.on('data', (d) => { h.update(d); n += d.length; });
    req.on('end', () => res.end(JSON.stringify({ n, sha: h.digest('hex'), te: req.headers['transfer-encoding'] ?? null })));
  } else {
    res.writeHead(404);
    res.end();
  }
}

async function site() {
  const [la, lb] = createPair();
  const client = await createStack({ Stack, tls: true });
  const server = await createStack({ Stack });
  client.addInterface(la, { ip: '10.0.0.1/24' });
  server.addInterface(lb, { ip: '10.0.0.2/24' });
  let conns = 0;
  const h1 = http.createServer(app);
  for (const port of [80, 8080]) server.net.createServer((s) => { s.connId = ++conns; h1.emit('connection', s); }).listen(port);
  let h2;
  if (pki) {
    h2 = https.createServer({ cert: pki.server.cert, key: pki.server.key }, app);
    server.net.createServer((s) => { s.connId = ++conns; h2.emit('connection', s); }).listen(443);
  }
  return {
    client, server, conns: () => conns,
    dispose() {
      h1.close();
      h2?.close();
      client.dispose();
      server.dispose();
    },
  };
}

const tls = pki ? { ca: pki.ca } : undefined;

it('http: and https: bodies with Content-Length and chunked, intact, in a platform Response', async () => {
  const s = await site();
  try {
    for (const base of ['http://10.0.0.2', ...(pki ? ['https://10.0.0.2'] : [])]) {
      for (const path of ['/length', '/chunked']) {
        const res = await s.client.fetch(`${base}${path}`, { tls });
        assert.instance(res, Response);
        assert.is(res.status, 200);
        assert.is(res.url, `${base}${path}`);
        assert.is(res.headers.get('content-type'), 'application/octet-stream');
        if (path === '/chunked') assert.is(res.headers.get('transfer-encoding'), 'chunked');
        const body = new Uint8Array(await res.arrayBuffer());
        assert.is(body.length, big.length, `${base}${path}`);
        assert.is(sha256(body), sha256(big));
      }
      const j = await (await s.client.fetch(`${base}/json?n=1`, { tls })).json();
      assert.equal(j, { method: 'GET', n: '1', host: '10.0.0.2' });
    }
  } finally {
    s.dispose();
  }
});

it('100 requests over kept-alive connections', async () => {
  const s = await site();
  try {
    const ids = new Set();
    for (let i = 0; i < 100; i++) {
      const res = await s.client.fetch(`http://10.0.0.2/json?n=${i}`);
      assert.is((await res.json()).n, String(i));
      ids.add(res.headers.get('x-conn'));
    }
    assert.is(ids.size, 1, `one connection carried them all (${ids.size})`);
    // in parallel: at most six per origin
    const all = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      s.client.fetch(`http://10.0.0.2/json?n=${i}`).then((r) => r.json())));
    assert.is(all.length, 30);
    assert.ok(s.conns() <= 6, `${s.conns()} connections`);
  } finally {
    s.dispose();
  }
});

it('redirects: follow (302, and 303 turns POST into GET), manual and error', async () => {
  const s = await site();
  try {
    let res = await s.client.fetch('http://10.0.0.2/redirect');
    assert.ok(res.redirected);
    assert.is(res.url, 'http://10.0.0.2/json?n=redirected');
    assert.is((await res.json()).n, 'redirected');
    res = await s.client.fetch('http://10.0.0.2/redirect?code=303', { method: 'POST', body: 'x' });
    assert.is((await res.json()).method, 'GET');
    res = await s.client.fetch('http://10.0.0.2/redirect', { redirect: 'manual' });
    assert.is(res.status, 302);
    assert.is(res.headers.get('location'), '/json?n=redirected');
    await res.text();
    await s.client.fetch('http://10.0.0.2/redirect', { redirect: 'error' }).then(() => assert.unreachable(), (err) => {
      assert.instance(err, TypeError);
    });
  } finally {
    s.dispose();
  }
});

it('an abort mid-body errors the body with the reason; the next fetch still works', async () => {
  const s = await site();
  try {
    const ac = new AbortController();
    const res = await s.client.fetch('http://10.0.0.2/slow', { signal: ac.signal });
    const reader = res.body.getReader();
    const first = await reader.read();
    assert.ok(first.value.length > 0);
    ac.abort();
    const err = await reader.read().then(() => null, (e) => e);
    assert.ok(err && err.name === 'AbortError', String(err));
    await s.client.fetch('http://10.0.0.2/json?n=after', { signal: ac.signal }).then(() => assert.unreachable(), (e) => {
      assert.is(e.name, 'AbortError');
    });
    assert.is((await (await s.client.fetch('http://10.0.0.2/json?n=after')).json()).n, 'after');
  } finally {
    s.dispose();
  }
});

it('a streamed upload goes chunked, with backpressure; a bytes body with its length', async () => {
  const s = await site();
  try {
    const data = randomBytes(2 << 20, 12);
    let off = 0;
    const body = new ReadableStream({
      pull(c) {
        if (off >= data.length) return c.close();
        c.enqueue(data.subarray(off, off + 65536));
        off += 65536;
      },
    });
    let j = await (await s.client.fetch('http://10.0.0.2/upload', { method: 'POST', body, duplex: 'half' })).json();
    assert.equal(j, { n: data.length, sha: sha256(data), te: 'chunked' });
    j = await (await s.client.fetch('http://10.0.0.2/upload', { method: 'PUT', body: data })).json();
    assert.equal(j, { n: data.length, sha: sha256(data), te: null });
  } finally {
    s.dispose();
  }
});

/** A server on stack b that answers every request with these bytes, then closes. */
async function rawReply(bytes) {
  const [la, lb] = createPair();
  const a = await createStack({ Stack, tls: true });
  const b = await createStack({ Stack });
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 80);
  l.listen();
  (async () => {
    const c = await l.accept();
    await c.recv();
    await c.send(bytes);
    c.close();
  })().catch(() => {});
  return { a, dispose: () => { a.dispose(); b.dispose(); } };
}

it('a malformed reply rejects with TypeError whose cause is HttpParserError with its code', async () => {
  for (const [reply, code] of [
    ['HTTP/1.1 200 OK\r\nBad Header\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['NONSENSE\r\n\r\n', 'HPE_INVALID_CONSTANT'],
  ]) {
    const r = await rawReply(reply);
    try {
      const err = await r.a.fetch('http://10.0.0.2/').then(() => null, (e) => e);
      assert.instance(err, TypeError);
      assert.instance(err.cause, HttpParserError, String(err.cause));
      assert.is(err.cause.code, code, err.cause.message);
    } finally {
      r.dispose();
    }
  }
  const r = await rawReply('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort');
  try {
    const res = await r.a.fetch('http://10.0.0.2/');
    const err = await res.text().then(() => null, (e) => e);
    assert.instance(err, TypeError, 'a body cut short errors');
  } finally {
    r.dispose();
  }
});

it('names: the host is looked up with stack.resolve (DNS on the other stack) and sent as Host; https: checks the certificate against it; an unknown name rejects with DnsError', async () => {
  const s = await site();
  const dns = dnsServer(s.server, { 'name.test': { A: ['10.0.0.2'] }, 'server.test': { A: ['10.0.0.2'] } });
  s.client.setDnsServers(['10.0.0.2']);
  try {
    const res = await s.client.fetch('http://name.test:8080/json?n=dns');
    assert.is(res.url, 'http://name.test:8080/json?n=dns');
    assert.equal(await res.json(), { method: 'GET', n: 'dns', host: 'name.test:8080' });
    assert.ok(dns.queries.some((q) => q.name === 'name.test' && q.type === 1), JSON.stringify(dns.queries));
    if (pki) {
      // The certificate names server.test, not name.test: the looked-up name is what is checked.
      const j = await (await s.client.fetch('https://server.test/json?n=tls', { tls })).json();
      assert.equal(j, { method: 'GET', n: 'tls', host: 'server.test' });
      const bad = await s.client.fetch('https://name.test/json', { tls }).then(() => null, (e) => e);
      assert.instance(bad, TypeError);
      assert.is(bad.cause?.code, 'ERR_TLS_CERT_HOSTNAME', String(bad.cause));
    }
    const err = await s.client.fetch('http://nowhere.test/').then(() => null, (e) => e);
    assert.instance(err, TypeError);
    assert.instance(err.cause, DnsError, String(err.cause));
    assert.is(err.cause.code, 'ENOTFOUND');
  } finally {
    await dns.close();
    s.dispose();
  }
});

(pki ? it : test.skip)('https: an untrusted server rejects with the TLS code as the cause; http: on a stack without TLS stays possible', async () => {
  const s = await site();
  try {
    const err = await s.client.fetch('https://10.0.0.2/json').then(() => null, (e) => e);
    assert.instance(err, TypeError);
    assert.instance(err.cause, TlsError);
    assert.is(err.cause.code, 'ERR_TLS_CERT_UNKNOWN_CA');
    const res = await s.client.fetch('https://10.0.0.2/json', { tls: { rejectUnauthorized: false } });
    assert.is(res.status, 200);
    await res.text();
  } finally {
    s.dispose();
  }
});

test.run();
