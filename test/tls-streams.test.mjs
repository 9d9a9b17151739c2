// TLS in the WinterTC streams shape: connect(address, { secureTransport: 'on' }) with
// opened giving the protocol, cipher and ALPN, a TLS listener, STARTTLS with
// socket.startTls(), and a failed handshake rejecting opened with its code.
import { AF_INET, SOCK_STREAM, TlsError } from '../dist/index.js';
import { it, test, assert, twoStacks, connectPair, randomBytes, sha256, text, concat } from './helpers.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';

const skip = !hasOpenssl();
const pki = skip ? undefined : makePki();
const tlsIt = (name, fn) => (skip ? test.skip(`${name} (openssl is missing: run make setup)`) : it(name, fn));
test.after(() => pki?.dispose());

async function readAll(readable) {
  const parts = [];
  for await (const c of readable) parts.push(c);
  return concat(parts);
}

tlsIt("secureTransport 'on' to a TLS listener: opened names protocol, cipher and ALPN; 1 MiB echoed", async () => {
  const net = await twoStacks({ tls: true });
  try {
    const listener = net.b.listen({ port: 443, secureTransport: 'on', cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['http/1.1'] });
    const serving = (async () => {
      for await (const conn of listener) {
        const info = await conn.opened;
        assert.is(info.alpn, 'http/1.1');
        await conn.readable.pipeTo(conn.writable);
      }
    })().catch(() => {});
    const sock = net.a.connect({ hostname: 'server.test', port: 443 },
      { secureTransport: 'on', ca: pki.ca, ALPNProtocols: ['http/1.1'], lookup: () => '10.0.0.2' });
    const info = await sock.opened;
    assert.is(info.remoteAddress, '10.0.0.2:443');
    assert.is(info.protocol, 'TLSv1.2');
    assert.is(info.alpn, 'http/1.1');
    assert.match(info.cipher, /^TLS_ECDHE_ECDSA_WITH_/);
    assert.ok(info.tls.authorized);
    const data = randomBytes(1 << 20, 7);
    const w = sock.writable.getWriter();
    const reading = readAll(sock.readable);
    await w.write(data);
    await w.close();
    const back = await reading;
    assert.is(sha256(back), sha256(data));
    listener.close();
    await serving;
  } finally {
    net.dispose();
  }
});

tlsIt('a failed handshake rejects opened with the TLS code and closes the connection', async () => {
  const net = await twoStacks({ tls: true });
  try {
    const listener = net.b.listen({ port: 443, secureTransport: 'on', cert: pki.expired.cert, key: pki.expired.key });
    const accepted = listener.accept();
    const sock = net.a.connect('10.0.0.2:443', { secureTransport: 'on', ca: pki.ca });
    const err = await sock.opened.then(() => null, (e) => e);
    assert.instance(err, TlsError);
    assert.is(err.code, 'ERR_TLS_CERT_EXPIRED');
    const serr = await (await accepted).opened.then(() => null, (e) => e);
    assert.instance(serr, TlsError);
    await sock.closed.catch(() => {});
    listener.close();
  } finally {
    net.dispose();
  }
});

tlsIt("STARTTLS: plain text first, then socket.startTls() and TLS on the same connection", async () => {
  const net = await twoStacks({ tls: true });
  try {
    // The server, on the sockets API: "STARTTLS" -> "220 go ahead", then TLS, then echo.
    const l = net.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 25);
    l.listen();
    const serving = (async () => {
      const conn = await l.accept();
      const hello = text(await conn.recv());
      assert.is(hello, 'STARTTLS\r\n');
      await conn.send('220 go ahead\r\n');
      const t = net.b.startTls(conn, { isServer: true, cert: pki.server.cert, key: pki.server.key });
      await t.handshake();
      const msg = await t.recv();
      await t.send(`secure: ${text(msg)}`);
      t.close();
    })();
    const plain = net.a.connect('10.0.0.2:25', { secureTransport: 'starttls', servername: 'server.test', ca: pki.ca });
    await plain.opened;
    const w = plain.writable.getWriter();
    await w.write('STARTTLS\r\n');
    w.releaseLock();
    const r = plain.readable.getReader();
    const { value } = await r.read();
    assert.is(text(value), '220 go ahead\r\n');
    r.releaseLock();
    const secured = plain.startTls();
    assert.throws(() => plain.startTls(), /already/);
    const info = await secured.opened;
    assert.is(info.protocol, 'TLSv1.2');
    assert.ok(info.tls.authorized);
    const w2 = secured.writable.getWriter();
    await w2.write('hello');
    const got = await readAll(secured.readable);
    assert.is(text(got), 'secure: hello');
    await serving;
    l.close();
    // startTls only on a 'starttls' socket
    const other = net.a.connect('10.0.0.2:9', {});
    assert.throws(() => other.startTls(), /starttls/);
    other.close();
  } finally {
    net.dispose();
  }
});

test.run();
