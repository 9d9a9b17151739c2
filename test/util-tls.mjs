// A small PKI for the TLS tests, made with openssl in a temporary folder: a CA the
// tests trust, a second CA they do not, and server certificates (EC and RSA, valid,
// expired, not yet valid, oversized) for server.test, 10.0.0.2 and 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function hasOpenssl() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const CA_CNF = `[ca]
default_ca = d
[d]
dir = .
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = p
copy_extensions = copy
unique_subject = no
[p]
commonName = supplied
`;

/** Makes the PKI; returns PEM strings and the folder (dir), which dispose() removes. */
export function makePki() {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-tls-'));
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const read = (f) => readFileSync(join(dir, f), 'utf8');
  const ec = (name) => run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', name);
  const ca = (name, cn) => {
    ec(`${name}.key`);
    run('req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '3650', '-out', `${name}.pem`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  };
  ca('ca', 'lwip-wasm test CA');
  ca('other', 'lwip-wasm untrusted CA');
  writeFileSync(join(dir, 'ext.cnf'),
    'subjectAltName=DNS:server.test,DNS:localhost,IP:10.0.0.2,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  // A leaf whose chain is over 16 KiB: 900 more names.
  const many = Array.from({ length: 900 }, (_, i) => `DNS:host-${i}-padding-padding-padding.server.test`).join(',');
  writeFileSync(join(dir, 'big.cnf'), `subjectAltName=DNS:server.test,${many}\nbasicConstraints=CA:FALSE\n`);
  mkdirSync(join(dir, 'db'));
  writeFileSync(join(dir, 'db/index.txt'), '');
  writeFileSync(join(dir, 'db/serial'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), CA_CNF);
  const leaf = (name, { key = 'ec', caName = 'ca', start, end, ext = 'ext.cnf' } = {}) => {
    if (key === 'ec') ec(`${name}.key`);
    else run('genrsa', '-out', `${name}.key`, '2048');
    run('req', '-new', '-key', `${name}.key`, '-subj', '/CN=server.test', '-out', `${name}.csr`);
    run('ca', '-batch', '-config', 'ca.cnf', '-cert', `${caName}.pem`, '-keyfile', `${caName}.key`, '-in', `${name}.csr`,
      '-startdate', start, '-enddate', end, '-extfile', ext, '-out', `${name}.pem`);
    return { cert: read(`${name}.pem`), key: read(`${name}.key`), certFile: join(dir, `${name}.pem`), keyFile: join(dir, `${name}.key`) };
  };
  const stamp = (d) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const now = Date.now();
  const day = 86400e3;
  const valid = { start: stamp(new Date(now - day)), end: stamp(new Date(now + 365 * day)) };
  return {
    dir,
    ca: read('ca.pem'),
    caFile: join(dir, 'ca.pem'),
    otherCa: read('other.pem'),
    server: leaf('server', valid),
    rsa: leaf('rsa', { ...valid, key: 'rsa' }),
    expired: leaf('expired', { start: '20200101000000Z', end: '20200201000000Z' }),
    future: leaf('future', { start: stamp(new Date(now + 365 * day)), end: stamp(new Date(now + 730 * day)) }),
    untrusted: leaf('untrusted', { ...valid, caName: 'other' }),
    big: leaf('big', { ...valid, ext: 'big.cnf' }),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Splices every connection to port on stack (a stack.listen) to a real TCP server on
 * the host's loopback (127.0.0.1:hostPort), both ways, as a relay would. Returns
 * { close }.
 */
export async function spliceToHost(stack, port, hostPort) {
  const { connect } = await import('node:net');
  const { Readable, Writable } = await import('node:stream');
  const listener = stack.listen({ port });
  const socks = new Set();
  (async () => {
    for await (const conn of listener) {
      const s = connect(hostPort, '127.0.0.1');
      socks.add(s);
      s.on('close', () => socks.delete(s));
      s.on('error', () => conn.close());
      Readable.fromWeb(conn.readable).on('error', () => s.destroy()).pipe(s);
      s.pipe(Writable.fromWeb(conn.writable)).on('error', () => s.destroy());
    }
  })().catch(() => {});
  return {
    close() {
      listener.close();
      for (const s of socks) s.destroy();
    },
  };
}
