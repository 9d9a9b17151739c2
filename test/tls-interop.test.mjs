// The stack's TLS against real implementations on the host's loopback: Node's own tls
// server and `openssl s_server` (the client in the wasm reaches them through a splice
// on another stack, as through a relay), and Node's tls.connect against the stack's
// TLS server (over lwip-wasm/node's stack.net).
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Stack, createPair, AF_INET, SOCK_STREAM, TlsError } from '../dist/node.js';
import { it, test, assert, createStack, connectPair, randomBytes, sha256, readExactly, readToEof, text, sleep } from './helpers.mjs';
import { makePki, hasOpenssl, spliceToHost } from './util-tls.mjs';

const skip = !hasOpenssl();
const pki = skip ? undefined : makePki();
const tlsIt = (name, fn) => (skip ? test.skip(`${name} (openssl is missing: run make setup)`) : it(name, fn));
test.after(() => pki?.dispose());

/** Client stack a (10.0.0.1) and gateway stack b (10.0.0.2) that splices port 443 to hostPort. */
async function viaGateway(hostPort) {
  const [la, lb] = createPair();
  const a = await createStack({ Stack, tls: true });
  const b = await createStack({ Stack });
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const splice = await spliceToHost(b, 443, hostPort);
  return { a, b, dispose: () => { splice.close(); a.dispose(); b.dispose(); } };
}

/** A TLS client on a to 10.0.0.2:443 (spliced to the host), started. */
async function dial(a, opts) {
  const c = a.socket(AF_INET, SOCK_STREAM);
  await c.connect('10.0.0.2', 443);
  return a.startTls(c, { servername: 'server.test', ca: pki.ca, ...opts });
}

function listenTls(options, onConn) {
  return new Promise((resolve) => {
    const server = tls.createServer(options, onConn);
    server.on('tlsClientError', () => {});
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function rejectsTls(p, code) {
  try {
    await p;
  } catch (err) {
    assert.instance(err, TlsError, String(err && err.stack));
    assert.is(err.code, code, err.message);
    return err;
  }
  assert.unreachable(`expected ${code}`);
}

tlsIt('the stack client against Node\'s tls server: verified, ALPN, 8 MiB down with its sha256', async () => {
  const body = randomBytes(8 << 20, 5);
  const server = await listenTls({ cert: pki.rsa.cert, key: pki.rsa.key, ALPNProtocols: ['x-test', 'http/1.1'] }, (s) => {
    s.once('data', () => s.end(body));
  });
  const g = await viaGateway(server.address().port);
  try {
    const t = await dial(g.a, { ALPNProtocols: ['http/1.1'] });
    const info = await t.handshake();
    assert.is(info.protocol, 'TLSv1.2');
    assert.is(info.alpnProtocol, 'http/1.1');
    assert.ok(info.authorized);
    await t.send('go');
    const got = await readToEof(t.socket);
    assert.is(got.length, body.length);
    assert.is(sha256(got), sha256(body));
    t.close();
  } finally {
    g.dispose();
    server.close();
  }
});

tlsIt('Node\'s server: a chain over 16 KiB (split over records) is ERR_TLS_CERT_CHAIN_TOO_LARGE; TLS 1.3 only is ERR_TLS_PROTOCOL_VERSION', async () => {
  let server = await listenTls({ cert: pki.big.cert, key: pki.big.key }, () => {});
  let g = await viaGateway(server.address().port);
  try {
    await rejectsTls((await dial(g.a)).handshake(), 'ERR_TLS_CERT_CHAIN_TOO_LARGE');
  } finally {
    g.dispose();
    server.close();
  }
  server = await listenTls({ cert: pki.server.cert, key: pki.server.key, minVersion: 'TLSv1.3' }, () => {});
  g = await viaGateway(server.address().port);
  try {
    await rejectsTls((await dial(g.a)).handshake(), 'ERR_TLS_PROTOCOL_VERSION');
  } finally {
    g.dispose();
    server.close();
  }
  server = await listenTls({ cert: pki.rsa.cert, key: pki.rsa.key, ciphers: 'AES128-GCM-SHA256', maxVersion: 'TLSv1.2' }, () => {});
  g = await viaGateway(server.address().port);
  try {
    await rejectsTls((await dial(g.a)).handshake(), 'ERR_TLS_HANDSHAKE_FAILURE');
  } finally {
    g.dispose();
    server.close();
  }
});

/** A free loopback port. */
function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

tlsIt('the stack client against openssl s_server', async () => {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', pki.server.certFile,
    '-key', pki.server.keyFile, '-www', '-alpn', 'http/1.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    // wait until it listens (bounded)
    for (let i = 0; i < 100; i++) {
      const up = await new Promise((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(true));
        s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
      });
      if (up) break;
      await sleep(50);
    }
    const g = await viaGateway(port);
    try {
      const t = await dial(g.a, { ALPNProtocols: ['http/1.1'] });
      const info = await t.handshake();
      assert.is(info.alpnProtocol, 'http/1.1');
      assert.ok(info.authorized);
      await t.send('GET / HTTP/1.0\r\n\r\n');
      const page = text(await readToEof(t.socket));
      assert.match(page, /^HTTP\/1\.0 200 ok/);
      assert.match(page, /ECDHE-ECDSA-/);
      t.close();
    } finally {
      g.dispose();
    }
  } finally {
    child.kill();
  }
});

tlsIt('Node\'s tls.connect against the stack\'s TLS server (over stack.net)', async () => {
  const [la, lb] = createPair();
  const a = await createStack({ Stack });
  const b = await createStack({ Stack, tls: true });
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  try {
    const l = b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 443);
    l.listen();
    const serving = (async () => {
      const conn = await l.accept();
      const t = b.startTls(conn, { isServer: true, cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['http/1.1'] });
      const info = await t.handshake();
      const req = await t.recv();
      await t.send(`you said ${text(req)} over ${info.protocol}`);
      t.close();
    })();
    const got = await new Promise((resolve, reject) => {
      const s = tls.connect({ socket: a.net.connect(443, '10.0.0.2'), servername: 'server.test', ca: pki.ca, ALPNProtocols: ['http/1.1'] }, () => {
        assert.is(s.alpnProtocol, 'http/1.1');
        assert.ok(s.authorized);
        s.write('hi');
      });
      let out = '';
      s.on('data', (d) => { out += d; });
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
    assert.is(got, 'you said hi over TLSv1.2');
    await serving;
    l.close();
  } finally {
    a.dispose();
    b.dispose();
  }
});

test.run();
