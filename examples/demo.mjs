// The demo: two TCP/IP stacks in one process, joined by an in-memory ethernet cable.
// Stack B serves HTTP/1.1 on its own sockets; stack A fetches a page and a 4 MiB body
// from it, then both print what happened on the wire. Run: make demo
import { createHash, randomBytes } from 'node:crypto';
import { Stack, createPair, AF_INET, SOCK_STREAM, SHUT_WR } from '../dist/index.js';

const text = new TextDecoder();
const log = (who, msg) => console.log(`${who.padEnd(8)} ${msg}`);

const [cableA, cableB] = createPair({ mtu: 1500 });
const a = await Stack.create();
const b = await Stack.create();
const ifA = a.addInterface(cableA, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
const ifB = b.addInterface(cableB, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
log('stack A', `${ifA.name} ${ifA.mac} ${ifA.ipv4.address}/${ifA.ipv4.prefix} ${ifA.ipv6.join(' ')}`);
const baseline = a.memory().poolsInUse + b.memory().poolsInUse;
log('stack B', `${ifB.name} ${ifB.mac} ${ifB.ipv4.address}/${ifB.ipv4.prefix} ${ifB.ipv6.join(' ')}`);

const bigBody = randomBytes(4 * 1024 * 1024);
const routes = {
  '/': () => new TextEncoder().encode('<h1>Hello from lwIP in WebAssembly</h1>\n'),
  '/big': () => bigBody,
};

// --- stack B: a tiny HTTP/1.1 server written on the sockets API ----------------------
const listener = b.socket(AF_INET, SOCK_STREAM);
listener.bind('0.0.0.0', 80);
listener.listen(16);
log('server', `listening on ${listener.getsockname().address}:${listener.getsockname().port}`);

async function serve() {
  for (let i = 0; i < 2; i++) {
    const conn = await listener.accept();
    const peer = conn.getpeername();
    let request = '';
    while (!request.includes('\r\n\r\n')) {
      const chunk = await conn.recv();
      if (chunk.length === 0) break;
      request += text.decode(chunk);
    }
    const [method, path] = request.split(' ');
    const body = routes[path]?.() ?? new TextEncoder().encode('not found\n');
    const status = routes[path] ? '200 OK' : '404 Not Found';
    log('server', `${peer.address}:${peer.port} ${method} ${path} -> ${status}, ${body.length} bytes`);
    await conn.send(`HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
    await conn.send(body);
    conn.shutdown(SHUT_WR);
    while ((await conn.recv()).length > 0);
    conn.close();
  }
}

// --- stack A: the client ---------------------------------------------------------------
async function get(path) {
  const sock = a.socket(AF_INET, SOCK_STREAM);
  const started = performance.now();
  await sock.connect('10.0.0.2', 80);
  const local = sock.getsockname();
  log('client', `connected ${local.address}:${local.port} -> 10.0.0.2:80`);
  await sock.send(`GET ${path} HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n`);
  const parts = [];
  let total = 0;
  for (;;) {
    const chunk = await sock.recv(256 * 1024);
    if (chunk.length === 0) break;
    parts.push(chunk);
    total += chunk.length;
  }
  sock.close();
  const all = Buffer.concat(parts);
  const split = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, split).toString();
  const body = all.subarray(split + 4);
  const ms = performance.now() - started;
  return { head, body, total, ms };
}

const server = serve();
const page = await get('/');
log('client', `${page.head.split('\r\n')[0]}  body: ${JSON.stringify(page.body.toString())}`);
const big = await get('/big');
const same = createHash('sha256').update(big.body).digest('hex') === createHash('sha256').update(bigBody).digest('hex');
log('client', `${big.head.split('\r\n')[0]}  ${big.body.length} bytes in ${big.ms.toFixed(0)} ms` +
  ` (${(big.body.length / 1024 / 1024 / (big.ms / 1000)).toFixed(0)} MiB/s), sha256 ${same ? 'matches' : 'DIFFERS'}`);
await server;
listener.close();

console.log();
log('wire', `A sent ${ifA.counters.txFrames} frames (${ifA.counters.txBytes} bytes), received ${ifA.counters.rxFrames}`);
log('wire', `B sent ${ifB.counters.txFrames} frames (${ifB.counters.txBytes} bytes), received ${ifB.counters.rxFrames}`);
const held = a.memory().poolsInUse + b.memory().poolsInUse - baseline;
log('memory', `${held} lwIP pool elements above the start: the side that closed first holds TIME_WAIT for 60 s, as Linux does`);
a.dispose();
b.dispose();
if (!same) process.exit(1);
