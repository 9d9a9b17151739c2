// TLS and fetch figures, side by side in one run: the handshake time (two stacks over a
// pair, ECDSA P-256 and RSA-2048 servers) and the download rate of stack.fetch over
// http: and https: from a node:http/https server on another stack. Prints the load
// average beside them, since the machine is shared. Usage: node bench/tls.mjs [--mib N]
// Needs openssl (for the test certificates).
import http from 'node:http';
import https from 'node:https';
import { loadavg } from 'node:os';
import { Stack, createPair, AF_INET, SOCK_STREAM } from '../dist/node.js';
import { makePki } from '../test/util-tls.mjs';

const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const MIB = arg('mib', 64);
const REPS = arg('reps', 5);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pki = makePki();
const body = new Uint8Array(MIB << 20).fill(0x61);

const [la, lb] = createPair();
const client = await Stack.create({ tls: true });
const server = await Stack.create({ tls: true });
client.addInterface(la, { ip: '10.0.0.1/24' });
server.addInterface(lb, { ip: '10.0.0.2/24' });

async function handshake(cert, key) {
  const l = server.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 0);
  l.listen();
  const ctx = server.createSecureContext({ isServer: true, cert, key });
  const out = [];
  for (let i = 0; i < REPS * 4; i++) {
    const acc = l.accept();
    const c = client.socket(AF_INET, SOCK_STREAM);
    await c.connect('10.0.0.2', l.getsockname().port);
    const s = await acc;
    const t0 = performance.now();
    const st = server.startTls(s, { secureContext: ctx });
    const ct = client.startTls(c, { servername: 'server.test', ca: pki.ca });
    await Promise.all([ct.handshake(), st.handshake()]);
    out.push(performance.now() - t0);
    ct.close();
    st.close();
  }
  ctx.close();
  l.close();
  return median(out);
}

const app = (req, res) => {
  res.writeHead(200, { 'content-length': body.length });
  res.end(body);
};
const h1 = http.createServer(app);
const h2 = https.createServer({ cert: pki.server.cert, key: pki.server.key }, app);
const { createNet } = await import('../dist/node.js');
const net = createNet(server);
net.createServer((s) => h1.emit('connection', s)).listen(80);
net.createServer((s) => h2.emit('connection', s)).listen(443);

async function download(url) {
  const t0 = performance.now();
  const res = await client.fetch(url, { tls: { ca: pki.ca } });
  let n = 0;
  for await (const chunk of res.body) n += chunk.length;
  if (n !== body.length) throw new Error(`got ${n} of ${body.length}`);
  return MIB / ((performance.now() - t0) / 1000);
}

const ec = await handshake(pki.server.cert, pki.server.key);
const rsa = await handshake(pki.rsa.cert, pki.rsa.key);
const plain = [];
const secure = [];
for (let i = 0; i < REPS; i++) {
  plain.push(await download('http://10.0.0.2/'));
  secure.push(await download('https://10.0.0.2/'));
}
console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`handshake, ECDSA P-256 server (both ends in this process): ${ec.toFixed(1)} ms (median of ${REPS * 4})`);
console.log(`handshake, RSA-2048 server: ${rsa.toFixed(1)} ms`);
console.log(`fetch ${MIB} MiB over http:  ${median(plain).toFixed(1)} MiB/s (median of ${REPS}, alternating)`);
console.log(`fetch ${MIB} MiB over https: ${median(secure).toFixed(1)} MiB/s (node:https serving, the stack decrypting)`);
h1.close();
h2.close();
client.dispose();
server.dispose();
pki.dispose();
