// TLS in the stack's wasm over the sockets API: a server on one stack and a client on
// another over an in-memory pair (the sockets stay the same descriptors; recv and send
// carry plaintext), every failure provoked and named by its code, and nothing left
// behind in either heap.
import { AF_INET, SOCK_STREAM, SHUT_WR, TlsError, TlsSocket } from '../dist/index.js';
import { it, test, assert, twoStacks, connectPair, randomBytes, sha256, readExactly, text, sleep } from './helpers.mjs';
import { makePki, hasOpenssl } from './util-tls.mjs';

const skip = !hasOpenssl();
const pki = skip ? undefined : makePki();
const tlsIt = (name, fn) => (skip ? test.skip(`${name} (openssl is missing: run make setup)`) : it(name, fn));
test.after(() => pki?.dispose());

/** Two TLS stacks, a connection between them, TLS started on both ends. */
async function tlsPair(serverOpts, clientOpts, net) {
  const own = !net;
  net ??= await twoStacks({ tls: true });
  const [c, s, l] = await connectPair(net.a, net.b);
  l.close();
  const server = net.b.startTls(s, { isServer: true, cert: pki.server.cert, key: pki.server.key, ...serverOpts });
  const client = net.a.startTls(c, { servername: 'server.test', ca: pki.ca, ...clientOpts });
  return { net, own, client, server, done: () => { client.close(); server.close(); if (own) net.dispose(); } };
}

/** Asserts p rejects with a TlsError of this code; returns it. */
async function rejectsTls(p, code) {
  try {
    await p;
  } catch (err) {
    assert.instance(err, TlsError, `expected TlsError ${code}, got ${err && err.stack}`);
    assert.is(err.code, code, err.message);
    return err;
  }
  assert.unreachable(`expected ${code}`);
}

tlsIt('a verified TLS 1.2 handshake, ALPN, 4 MiB each way intact over one socket', async () => {
  const t = await tlsPair({ ALPNProtocols: ['h2', 'http/1.1'] }, { ALPNProtocols: ['http/1.1'] });
  try {
    assert.instance(t.client, TlsSocket);
    const [ci, si] = await Promise.all([t.client.handshake(), t.server.handshake()]);
    assert.is(ci.protocol, 'TLSv1.2');
    assert.is(ci.alpnProtocol, 'http/1.1');
    assert.is(si.alpnProtocol, 'http/1.1');
    assert.ok(ci.authorized);
    assert.is(ci.authorizationError, null);
    assert.match(ci.cipher.standardName, /^TLS_ECDHE_ECDSA_WITH_/);
    assert.is(ci.cipher.standardName, si.cipher.standardName);
    const cert = t.client.getPeerCertificate();
    assert.ok(cert && cert[0] === 0x30, 'the peer certificate, as DER');
    const up = randomBytes(4 << 20, 3);
    const down = randomBytes(4 << 20, 4);
    const [gotUp, gotDown] = await Promise.all([
      readExactly(t.server.socket, up.length),
      readExactly(t.client.socket, down.length),
      t.client.send(up),
      t.server.send(down),
    ]);
    assert.is(sha256(gotUp), sha256(up));
    assert.is(sha256(gotDown), sha256(down));
    // close_notify ends the stream: recv returns end of stream on the other side
    t.server.shutdown(SHUT_WR);
    assert.is((await t.client.recv()).length, 0);
  } finally {
    t.done();
  }
});

tlsIt('an RSA certificate, ChaCha20-Poly1305 by choice, and the IP address checked when no servername is given', async () => {
  const t = await tlsPair({ cert: pki.rsa.cert, key: pki.rsa.key, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }, { servername: undefined });
  try {
    const info = await t.client.handshake();
    assert.is(info.cipher.name, 'ECDHE-RSA-CHACHA20-POLY1305');
    assert.ok(info.authorized, 'the certificate names 10.0.0.2');
    await t.client.send('ping');
    assert.is(text(await t.server.recv()), 'ping');
  } finally {
    t.done();
  }
});

tlsIt('a shared server context serves many connections; the stack without TLS says how to get it', async () => {
  const net = await twoStacks({ tls: true });
  try {
    const ctx = net.b.createSecureContext({ isServer: true, cert: pki.server.cert, key: pki.server.key });
    for (let i = 0; i < 3; i++) {
      const t = await tlsPair({ secureContext: ctx, cert: undefined, key: undefined }, {}, net);
      await t.client.handshake();
      await t.client.send(`n${i}`);
      assert.is(text(await t.server.recv()), `n${i}`);
      t.done();
    }
    ctx.close();
    const plain = await twoStacks();
    try {
      const [c] = await connectPair(plain.a, plain.b);
      assert.throws(() => plain.a.startTls(c, {}), /Stack.create\(\{ tls: true \}\)/);
    } finally {
      plain.dispose();
    }
  } finally {
    net.dispose();
  }
});

// --- every failure, by its code ----------------------------------------------------------

tlsIt('ERR_TLS_CERT_EXPIRED and ERR_TLS_CERT_NOT_YET_VALID', async () => {
  for (const [leaf, code] of [[pki.expired, 'ERR_TLS_CERT_EXPIRED'], [pki.future, 'ERR_TLS_CERT_NOT_YET_VALID']]) {
    const t = await tlsPair({ cert: leaf.cert, key: leaf.key }, {});
    try {
      const err = await rejectsTls(t.client.handshake(), code);
      assert.ok(err.verifyFlags !== 0);
      // the server hears the client's alert
      const serr = await rejectsTls(t.server.handshake(), 'ERR_TLS_ALERT');
      assert.ok(serr.alert !== undefined, serr.message);
      // the failure sticks: recv and send report it too
      await rejectsTls(t.client.recv(), code);
      await rejectsTls(t.client.send('x'), code);
    } finally {
      t.done();
    }
  }
});

tlsIt('ERR_TLS_CERT_UNKNOWN_CA: an untrusted issuer, and the built-in Mozilla roots without `ca`', async () => {
  let t = await tlsPair({ cert: pki.untrusted.cert, key: pki.untrusted.key }, {});
  try {
    await rejectsTls(t.client.handshake(), 'ERR_TLS_CERT_UNKNOWN_CA');
  } finally {
    t.done();
  }
  t = await tlsPair({}, { ca: undefined });
  try {
    await rejectsTls(t.client.handshake(), 'ERR_TLS_CERT_UNKNOWN_CA');
  } finally {
    t.done();
  }
});

tlsIt('ERR_TLS_CERT_HOSTNAME for another name or address; rejectUnauthorized: false goes on and says why', async () => {
  let t = await tlsPair({}, { servername: 'other.test' });
  try {
    const err = await rejectsTls(t.client.handshake(), 'ERR_TLS_CERT_HOSTNAME');
    assert.match(err.message, /other\.test/);
  } finally {
    t.done();
  }
  t = await tlsPair({}, { servername: '10.0.0.9' });
  try {
    await rejectsTls(t.client.handshake(), 'ERR_TLS_CERT_HOSTNAME');
  } finally {
    t.done();
  }
  t = await tlsPair({}, { servername: 'other.test', rejectUnauthorized: false });
  try {
    const info = await t.client.handshake();
    assert.is(info.authorized, false);
    assert.is(info.authorizationError, 'ERR_TLS_CERT_HOSTNAME');
    await t.client.send('still works');
    assert.is(text(await t.server.recv()), 'still works');
  } finally {
    t.done();
  }
});

tlsIt('ERR_TLS_HANDSHAKE_FAILURE (no suite in common) and ERR_TLS_NO_APPLICATION_PROTOCOL', async () => {
  let t = await tlsPair({}, { ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }); // the server's key is EC
  try {
    await rejectsTls(t.client.handshake(), 'ERR_TLS_HANDSHAKE_FAILURE');
    await rejectsTls(t.server.handshake(), 'ERR_TLS_HANDSHAKE_FAILURE');
  } finally {
    t.done();
  }
  t = await tlsPair({ ALPNProtocols: ['h2'] }, { ALPNProtocols: ['http/1.1'] });
  try {
    await rejectsTls(t.client.handshake(), 'ERR_TLS_NO_APPLICATION_PROTOCOL');
  } finally {
    t.done();
  }
});

tlsIt('ERR_TLS_CERT_CHAIN_TOO_LARGE: a chain over 16 KiB cannot be sent; the client then sees the connection end', async () => {
  // Receiving one (from a server that splits it over records) is in tls-interop.test.mjs.
  const t = await tlsPair({ cert: pki.big.cert, key: pki.big.key }, {});
  try {
    await rejectsTls(t.server.handshake(), 'ERR_TLS_CERT_CHAIN_TOO_LARGE');
    t.server.close();
    await rejectsTls(t.client.handshake(), 'ERR_TLS_TRUNCATED');
  } finally {
    t.done();
  }
});

/** A client whose server is a plain socket that answers the ClientHello with bytes. */
async function rawServer(answer) {
  const net = await twoStacks({ tls: true });
  const [c, s, l] = await connectPair(net.a, net.b);
  l.close();
  const client = net.a.startTls(c, { servername: 'server.test', ca: pki.ca });
  await s.recv(); // the ClientHello
  await answer(s);
  return { net, client, s };
}

tlsIt('ERR_TLS_BAD_RECORD for garbage, ERR_TLS_TRUNCATED for a close mid-handshake, ERR_TLS_PROTOCOL_VERSION for an old version', async () => {
  let r = await rawServer((s) => s.send(randomBytes(300, 9)));
  try {
    await rejectsTls(r.client.handshake(), 'ERR_TLS_BAD_RECORD');
  } finally {
    r.net.dispose();
  }
  r = await rawServer((s) => s.shutdown(SHUT_WR));
  try {
    await rejectsTls(r.client.handshake(), 'ERR_TLS_TRUNCATED');
  } finally {
    r.net.dispose();
  }
  // a ServerHello for TLS 1.0: record and hello version 3.1
  const hello = new Uint8Array([0x16, 3, 1, 0, 42, 2, 0, 0, 38, 3, 1, ...new Uint8Array(32), 0, 0xc0, 0x2f, 0]);
  r = await rawServer((s) => s.send(hello));
  try {
    await rejectsTls(r.client.handshake(), 'ERR_TLS_PROTOCOL_VERSION');
  } finally {
    r.net.dispose();
  }
  // a fatal alert from the peer is named
  r = await rawServer((s) => s.send(new Uint8Array([0x15, 3, 3, 0, 2, 2, 80])));
  try {
    const err = await rejectsTls(r.client.handshake(), 'ERR_TLS_ALERT');
    assert.is(err.alert, 80);
    assert.match(err.message, /internal_error/);
  } finally {
    r.net.dispose();
  }
});

tlsIt('bad options throw at once and make nothing', async () => {
  const net = await twoStacks({ tls: true });
  try {
    const [c] = await connectPair(net.a, net.b);
    assert.throws(() => net.a.startTls(c, { ca: new Uint8Array([0x30, 3, 1, 2, 3]) }), /ca is not a certificate/);
    const before = net.a.memory().heapBytes; // after the first configuration's table exists
    assert.throws(() => net.a.startTls(c, { ca: 'not a certificate' }), /PEM/);
    assert.throws(() => net.a.startTls(c, { ca: new Uint8Array([0x30, 3, 1, 2, 3]) }), /ca is not a certificate/);
    assert.throws(() => net.a.startTls(c, { minVersion: 'TLSv1.3' }), /TLS 1\.2/);
    assert.throws(() => net.a.startTls(c, { ciphers: 'RC4-MD5' }), /none of the suites/);
    assert.throws(() => net.a.startTls(c, { cafile: 'x' }), /unknown TLS option/);
    assert.throws(() => net.b.createSecureContext({ isServer: true, cert: pki.server.cert, key: pki.rsa.key }), /not the one of cert/);
    assert.is(net.a.memory().heapBytes, before);
    c.close();
  } finally {
    net.dispose();
  }
});

tlsIt('memory: after a warm-up, 20 connections (verified, failed and cut off) leave both heaps where they were', async () => {
  const net = await twoStacks({ tls: true, timeWait: 100 });
  try {
    const round = async (i) => {
      const kind = i % 4;
      const t = await tlsPair(kind === 1 ? { cert: pki.expired.cert, key: pki.expired.key } : {}, {}, net);
      if (kind === 0) {
        await t.client.handshake();
        await t.client.send(randomBytes(100_000, i));
        await readExactly(t.server.socket, 100_000);
      } else if (kind === 1) {
        await t.client.handshake().catch(() => {});
      } else if (kind === 2) {
        t.server.close(); // mid-handshake
        await t.client.handshake().catch(() => {});
      }
      t.done();
    };
    await round(0);
    await round(1);
    await sleep(300);
    const base = [net.a.memory(), net.b.memory()];
    for (let i = 0; i < 20; i++) await round(i);
    let now;
    for (let i = 0; i < 40; i++) {
      await sleep(50);
      now = [net.a.memory(), net.b.memory()];
      if (now.every((m, k) => m.heapBytes === base[k].heapBytes && m.sockets === base[k].sockets && m.poolsInUse === base[k].poolsInUse)) break;
    }
    for (const k of [0, 1]) {
      assert.is(now[k].sockets, base[k].sockets, 'sockets');
      assert.is(now[k].poolsInUse, base[k].poolsInUse, 'pools');
      assert.is(now[k].heapBytes, base[k].heapBytes, `heap of stack ${k ? 'b' : 'a'}`);
    }
  } finally {
    net.dispose();
  }
});

test.run();
