// The relay's nat mode as its operator sees it, all on this machine (loopback only):
//  - memory: the relay process's resident set with N idle clients, and with M open
//    connections per client (the relay runs in a child process, so only it is measured);
//  - throughput: one Node client downloading from and uploading to a server on the
//    relay host's loopback, batched framing;
//  - fairness: that client's download while another client floods the relay (SYNs to
//    an allowed port, datagrams to a denied one, and malformed frames, as fast as it
//    can), beside the same download alone, interleaved. Every client is held to the
//    same per-client limits, raised from the defaults so that one download is not
//    the limit: --fps 50000 frames/s and --bps 128 MiB/s.
// Usage: node bench/relay.mjs [--clients 32] [--conns 8] [--mib 64] [--reps 3] [--quick]
import { fork } from 'node:child_process';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import WebSocket from 'ws';
import { lw, arg, QUICK, median, sleep, within } from './lib.mjs';

const { Stack, connectWebSocket, AF_INET, SOCK_STREAM, SOCK_DGRAM, BATCH_PROTOCOL } = lw;
const CLIENTS = arg('clients', QUICK ? 8 : 32);
const CONNS = arg('conns', QUICK ? 4 : 8);
const MIB = arg('mib', QUICK ? 16 : 64);
const REPS = arg('reps', QUICK ? 1 : 3);
const SIZE = MIB * 1024 * 1024;
const FPS = arg('fps', 50_000);
const BPS = arg('bps', 128 * 1024 * 1024);

// --- the relay, in a child process --------------------------------------------------
if (process.argv[2] === '--child') {
  const { createRelay } = await import(new URL('../dist/relay.js', import.meta.url).href);
  const [allow, fps, bps] = JSON.parse(process.argv[3]);
  const relay = await createRelay({
    port: 0, allow, maxClients: 1024, maxClientsPerAddress: 1024, maxConnections: 1024,
    framesPerSecond: fps, bytesPerSecond: bps, silentTimeout: 600_000,
  });
  process.send({ url: relay.url });
  process.on('message', async (m) => {
    if (m === 'stats') process.send({ stats: relay.stats() });
    if (m === 'close') {
      await relay.close();
      process.exit(0);
    }
  });
  await new Promise(() => {});
}

// --- the flooding client, in a child process ------------------------------------------
if (process.argv[2] === '--flood') {
  const c = await client(process.argv[3]);
  const f = floodFrom(c, process.argv[3], Number(process.argv[4]));
  process.on('message', async () => {
    process.send({ sent: await f.stop() });
    process.exit(0);
  });
  await new Promise(() => {});
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
const mibText = (b) => (b / 1048576).toFixed(1);

// Loopback servers: bulk (D: download SIZE bytes; U: upload, acknowledged at the end), hold (keeps connections open).
const payload = new Uint8Array(1 << 18).fill(0x5a);
let uploadDone = () => {};
const bulk = createServer((s) => {
  s.on('error', () => {});
  s.once('data', (first) => {
    if (first[0] === 0x44) {
      let n = 0;
      const write = () => {
        while (n < SIZE) {
          n += payload.length;
          if (!s.write(payload)) return void s.once('drain', write);
        }
        s.end();
      };
      write();
    } else {
      let n = first.length - 1;
      s.on('data', (d) => {
        n += d.length;
        if (n >= SIZE) uploadDone();
      });
    }
  });
});
const hold = createServer((s) => s.on('error', () => {}));
const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));
const bulkPort = await listen(bulk);
const holdPort = await listen(hold);

const child = fork(new URL(import.meta.url).pathname,
  ['--child', JSON.stringify([[`tcp/127.0.0.1:${bulkPort}`, `tcp/127.0.0.1:${holdPort}`], FPS, BPS])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const { url } = await new Promise((r) => child.once('message', r));
const ask = (m) => new Promise((r) => { child.once('message', r); child.send(m); });

async function client(relayUrl = url) {
  const stack = await Stack.create();
  const link = connectWebSocket(() => new WebSocket(relayUrl, [BATCH_PROTOCOL]), {});
  await link.ready;
  stack.addInterface(link, { ip: '10.0.2.15/24', gateway: '10.0.2.2' });
  return { stack, link, close: () => { stack.dispose(); link.close(); } };
}

const load0 = loadavg();
console.log(`bench/relay: ${cpus()[0]?.model ?? '?'} x${cpus().length}, load average ${load0.map((x) => x.toFixed(2)).join(' ')}`);

// --- memory -----------------------------------------------------------------------
await sleep(300);
const rss0 = rssOf(child.pid);
const clients = [];
for (let i = 0; i < CLIENTS; i++) clients.push(await client());
// one round trip each, so every gateway has resolved ARP and holds its steady state
await Promise.all(clients.map(async (c) => {
  const s = c.stack.socket(AF_INET, SOCK_STREAM);
  await within(10_000, s.connect('10.0.2.2', holdPort), 'warm-up connect');
  s.close();
}));
await sleep(500);
const rssIdle = rssOf(child.pid);
const conns = [];
for (const c of clients) {
  for (let i = 0; i < CONNS; i++) {
    const s = c.stack.socket(AF_INET, SOCK_STREAM);
    await within(10_000, s.connect('10.0.2.2', holdPort), 'connect');
    await s.send('x');
    conns.push(s);
  }
}
await sleep(500);
const rssActive = rssOf(child.pid);
console.log(`memory: relay process ${mibText(rss0)} MiB with no client; ${CLIENTS} idle clients: +${mibText(rssIdle - rss0)} MiB ` +
  `(${((rssIdle - rss0) / CLIENTS / 1024).toFixed(0)} KiB each); ${CLIENTS * CONNS} open connections: +${mibText(rssActive - rssIdle)} MiB ` +
  `(${((rssActive - rssIdle) / (CLIENTS * CONNS) / 1024).toFixed(1)} KiB each)`);
for (const s of conns) s.close();
for (const c of clients) c.close();
await sleep(500);

// --- throughput and fairness ---------------------------------------------------------
async function download(c) {
  const s = c.stack.socket(AF_INET, SOCK_STREAM);
  await within(10_000, s.connect('10.0.2.2', bulkPort), 'connect');
  await s.send('D');
  const t = performance.now();
  const buf = new Uint8Array(1 << 20);
  for (let got = 0; got < SIZE;) {
    const n = await within(60_000, s.recvInto(buf), 'download');
    if (n === 0) break;
    got += n;
  }
  const secs = (performance.now() - t) / 1000;
  s.close();
  return SIZE / secs / 1048576;
}

async function upload(c) {
  const s = c.stack.socket(AF_INET, SOCK_STREAM);
  await within(10_000, s.connect('10.0.2.2', bulkPort), 'connect');
  const done = new Promise((r) => { uploadDone = r; });
  const t = performance.now();
  await s.send('U');
  for (let n = 0; n < SIZE; n += payload.length) await s.send(payload);
  await within(60_000, done, 'upload');
  const secs = (performance.now() - t) / 1000;
  s.close();
  return SIZE / secs / 1048576;
}

/**
 * Another client, in a process of its own (so its work does not slow this one), flooding
 * until stopped: SYNs, datagrams to a denied port, malformed frames.
 */
function flood() {
  const p = fork(new URL(import.meta.url).pathname, ['--flood', url, String(holdPort)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    stop: () => new Promise((resolve) => {
      p.once('message', (m) => resolve(m.sent));
      p.send('stop');
    }),
  };
}

function floodFrom(c, url, holdPort) {
  let stop = false;
  let sent = 0;
  const garbage = new WebSocket(url, [BATCH_PROTOCOL]);
  garbage.on('error', () => {});
  const run = (async () => {
    const u = c.stack.socket(AF_INET, SOCK_DGRAM);
    const junk = new Uint8Array(60).fill(0xff); // not an ethernet type anyone carries
    junk.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 0x99, 0x88, 0xb5]);
    while (!stop) {
      for (let i = 0; i < 32; i++) {
        const s = c.stack.socket(AF_INET, SOCK_STREAM);
        s.connect('10.0.2.2', holdPort).catch(() => {});
        s.close();
        try {
          u.sendtoSync('x', '10.0.2.2', 9); // denied: loopback port 9 is not allowed
        } catch {
          // the stack's queue is full: keep going
        }
        sent += 2;
      }
      if (garbage.readyState === WebSocket.OPEN) {
        const batch = new Uint8Array(16 * 62);
        for (let i = 0; i < 16; i++) {
          batch[i * 62 + 1] = 60;
          batch.set(junk, i * 62 + 2);
        }
        garbage.send(batch);
        sent += 16;
      }
      await sleep(0);
    }
    u.close();
    garbage.close();
  })();
  return { stop: async () => { stop = true; await run; return sent; } };
}

const good = await client();
const alone = [];
const flooded = [];
const up = [];
let floodSent = 0;
for (let i = 0; i < REPS; i++) {
  alone.push(await download(good));
  up.push(await upload(good));
  const f = flood();
  await sleep(200);
  flooded.push(await download(good));
  floodSent += await f.stop();
}
const st = (await ask('stats')).stats;
const load1 = loadavg();
console.log(`throughput: one client, ${MIB} MiB: download ${median(alone).toFixed(1)} MiB/s, upload ${median(up).toFixed(1)} MiB/s (median of ${REPS})`);
console.log(`fairness: the same download while another client floods: ${median(flooded).toFixed(1)} MiB/s ` +
  `(${(median(flooded) / median(alone)).toFixed(2)}x alone); the flood sent ${floodSent} frames and datagrams; ` +
  `relay dropped ${JSON.stringify(Object.fromEntries(Object.entries(st.dropped).filter(([, v]) => v > 0)))}`);
console.log(`load average at the end ${load1.map((x) => x.toFixed(2)).join(' ')}`);
good.close();
child.send('close');
await new Promise((r) => child.once('exit', r));
process.exit(0);
