// The browser path as a user meets it: headless Chromium (Debian's, driven by
// playwright-core) runs a stack that reaches, through a relay in nat mode on loopback,
// servers on the relay host's loopback. It measures download and upload MiB/s, TCP
// connect time and request round-trip time, on the page's main thread and in a Worker,
// beside the page with one frame per message (the framing before batching), the same
// workload from Node through the same relay (batched and one frame per message), and a
// raw Chromium WebSocket receiving 64 KiB messages, interleaved in one run.
// Chromium runs with no DevTools client attached (bench/chromium.mjs says why): the page
// reports its figures back over HTTP.
// With --tls it measures TLS instead, on the same path: the handshake (ECDSA P-256 and
// RSA-2048 servers) and stack.fetch's download rate over https: beside http:, in the
// page and, for reference, from Node through the same relay, interleaved.
// Only loopback: every server here listens on 127.0.0.1.
// Usage: node bench/browser.mjs [--mib 50] [--reps 3] [--mtu 1500] [--only page,worker] [--profile] [--quick] [--tls]
//   --profile  prints the page's hottest functions (CDP profiler, self time) after each page run;
//              with PROFILE_OUT=file.cpuprofile it also writes the profile there
//   --tls      the TLS workload (needs openssl for the certificates; contenders 'page: https:' and so on)
//   (prints a table, then the BENCH_JSON line npm run bench reads; skips without Chromium)
//   --mtu  the nat MTU (the gateway's, and the links'): 1500 as on the internet, up to 65000
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp } from 'node:net';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { createRequire } from 'node:module';
import WebSocket, { WebSocketServer } from 'ws';
import { arg, argv, DIST, QUICK, row, emit, median, within } from './lib.mjs';
import { stackRun, tlsRun } from './browser-client.mjs';
import { chromiumVersion, runInChromium, topFunctions } from './chromium.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MIB = arg('mib', QUICK ? 10 : 50);
const MTU = arg('mtu', 1500);
const REPS = arg('reps', QUICK ? 1 : 3);
const TLS = argv.includes('--tls');

if (!existsSync(CHROMIUM)) {
  console.log(`bench/browser: skipped, no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  emit([]);
  process.exit(0);
}

const listen = (server) => new Promise((r) => server.listen(0, '127.0.0.1', () => r(server.address().port)));

// The loopback servers the stacks talk to.
const payload = new Uint8Array(1 << 20).fill(0x5a);
// download: the client names a size in MiB on a line; that many bytes come back.
const download = createTcp((s) => {
  s.on('error', () => {});
  let line = '';
  const onData = (d) => {
    line += d.toString();
    if (!line.includes('\n')) return;
    s.off('data', onData);
    let left = Math.min(1024, Number.parseInt(line, 10) || 0);
    const more = () => {
      while (left > 0) {
        left--;
        if (!s.write(payload)) return void s.once('drain', more);
      }
      s.end();
    };
    more();
  };
  s.on('data', onData);
});
const upload = createTcp((s) => {
  s.on('error', () => {});
  let n = 0;
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => s.end(String(n)));
});
const echo = createTcp((s) => {
  s.on('error', () => {});
  s.pipe(s);
});
const ports = { download: await listen(download), upload: await listen(upload), echo: await listen(echo) };

// --tls: one site over http: and https: (an ECDSA P-256 certificate, and an RSA-2048 one
// for handshakes): /mib/N answers N MiB with its length.
const tlsServers = [];
let pki;
if (TLS) {
  const { makePki } = await import('../test/util-tls.mjs');
  pki = makePki();
  const site = (req, res) => {
    let left = Math.min(1024, Number.parseInt(req.url.split('/')[2] ?? '', 10) || 0);
    res.writeHead(200, { 'content-length': left * payload.length });
    const more = () => {
      while (left > 0) {
        left--;
        if (!res.write(payload)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  };
  const http = createHttp(site);
  const https = createHttps({ cert: pki.server.cert, key: pki.server.key }, site);
  const httpsRsa = createHttps({ cert: pki.rsa.cert, key: pki.rsa.key }, site);
  tlsServers.push(http, https, httpsRsa);
  Object.assign(ports, { http: await listen(http), https: await listen(https), httpsRsa: await listen(httpsRsa) });
}

// The raw baseline: 64 KiB messages, MIB of them, once the page says go.
const raw = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
await new Promise((r) => raw.once('listening', r));
const msg = new Uint8Array(64 * 1024).fill(1);
raw.on('connection', (ws) => ws.once('message', () => {
  let left = MIB * 16;
  const more = () => {
    while (left > 0 && ws.bufferedAmount < 8 << 20) {
      left--;
      ws.send(msg);
    }
    if (left > 0) setTimeout(more, 1);
  };
  more();
}));

const { createRelay } = await import(new URL('relay.js', DIST).href);
// The per-client rate limits are raised: their defaults (10,000 frames and 4 MiB a
// second) are a policy for shared relays, and would be what this measured.
const relay = await createRelay({
  port: 0, host: '127.0.0.1', mode: 'nat', origins: ['*'], nat: { dns: false, mtu: MTU }, maxFrameSize: MTU + 18,
  framesPerSecond: 1e6, bytesPerSecond: 1e9,
  allow: Object.values(ports).map((p) => `tcp/127.0.0.1:${p}`), onLog: () => {},
});

// The page and the files it loads, from the build under test.
const distDir = new URL('.', new URL('index.js', DIST));
const client = readFileSync(new URL('browser-client.mjs', import.meta.url));
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
// /run#<cfg as JSON> runs cfg.fn of browser-client.mjs (in a Worker when cfg.worker) and
// posts { id, ok } or { id, error } to /result.
const RUN_PAGE = `<!doctype html><title>bench</title><script type="module">
const c = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const run = c.worker ? new Promise((resolve, reject) => {
  const w = new Worker('/browser-client.mjs', { type: 'module' });
  w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data.ok));
  w.onerror = (e) => reject(new Error(e.message));
  w.postMessage(c);
}) : import('/browser-client.mjs').then((m) => m[c.fn](c));
const report = (r) => fetch('/result', { method: 'POST', body: JSON.stringify({ id: c.id, ...r }) });
run.then((ok) => report({ ok }), (e) => report({ error: String(e?.stack ?? e) }));
</script>`;
const waiting = new Map();
let runs = 0;
const web = createHttp((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/run') return void res.writeHead(200, { 'content-type': 'text/html' }).end(RUN_PAGE);
  if (path === '/result' && req.method === 'POST') {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      res.end();
      let r;
      try {
        r = JSON.parse(body);
      } catch {
        return; // not a page of ours: its run times out and says so
      }
      waiting.get(r?.id)?.(r);
    });
    return;
  }
  if (path === '/browser-client.mjs') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(client);
  if (path.startsWith('/dist/') && !path.includes('..')) {
    try {
      const bytes = readFileSync(new URL(path.slice('/dist/'.length), distDir));
      return void res.writeHead(200, { 'content-type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' }).end(bytes);
    } catch {
      // fall through
    }
  }
  res.writeHead(404).end();
});
const webPort = await listen(web);
const origin = `http://127.0.0.1:${webPort}`;

const chromium = await chromiumVersion(CHROMIUM);
// ws unmasks what clients send with bufferutil when it can load it (docs/relay.md).
const unmask = (() => {
  if (process.env.WS_NO_BUFFER_UTIL) return 'JavaScript (WS_NO_BUFFER_UTIL)';
  try {
    createRequire(import.meta.url)('bufferutil');
    return 'bufferutil';
  } catch {
    return 'JavaScript (no bufferutil)';
  }
})();
const LIMIT = 180_000;
const PROFILE = process.argv.includes('--profile');
/** Runs c (with c.fn or c.worker) in a fresh Chromium; resolves the page's result. */
async function inChromium(c, { profile = false } = {}) {
  const id = ++runs;
  const result = new Promise((resolve, reject) => waiting.set(id, (r) => (r.error ? reject(new Error(r.error)) : resolve(r.ok))));
  try {
    const out = await runInChromium(CHROMIUM, `${origin}/run#${encodeURIComponent(JSON.stringify({ ...c, id }))}`, result, { profile });
    if (out.profile) {
      console.log('page profile, self time:');
      for (const line of topFunctions(out.profile)) console.log(line);
      if (process.env.PROFILE_OUT) writeFileSync(process.env.PROFILE_OUT, JSON.stringify(out.profile));
      delete out.profile;
    }
    return out;
  } finally {
    waiting.delete(id);
  }
}

const cfg = { lib: `${origin}/dist/index.js`, relayUrl: relay.url, gateway: '10.0.2.2', ports, mib: MIB, mtu: MTU };
const tlsCfg = { ...cfg, ca: pki?.ca, handshakes: QUICK ? 3 : 5 };
const inPage = (what) => () => inChromium({ ...tlsCfg, fn: 'tlsRun', what }, { profile: PROFILE });
const inNode = (what) => () => tlsRun({ ...tlsCfg, what, lib: new URL('index.js', DIST).href, WebSocket });
const contenders = TLS ? {
  'page: http:': inPage('http'),
  'page: https:': inPage('https'),
  'page: handshakes': inPage('handshake'),
  'Node: http:': inNode('http'),
  'Node: https:': inNode('https'),
  'Node: handshakes': inNode('handshake'),
} : {
  'page': () => inChromium({ ...cfg, fn: 'stackRun' }, { profile: PROFILE }),
  'worker': () => inChromium({ ...cfg, worker: true }),
  'page, no offload': () => inChromium({ ...cfg, fn: 'stackRun', offload: false }),
  'page, one frame a message': () => inChromium({ ...cfg, fn: 'stackRun', framing: 'single' }),
  'raw WebSocket': () => inChromium({ fn: 'rawRun', url: `ws://127.0.0.1:${raw.address().port}/`, mib: MIB }),
  'Node, batched': () => stackRun({ ...cfg, lib: new URL('index.js', DIST).href, WebSocket, framing: 'batch' }),
  'Node, no offload': () => stackRun({ ...cfg, lib: new URL('index.js', DIST).href, WebSocket, framing: 'batch', offload: false }),
  'Node, one frame a message': () => stackRun({ ...cfg, lib: new URL('index.js', DIST).href, WebSocket, framing: 'single' }),
};

// --only page,worker runs just those contenders (for profiling one of them); a comma
// followed by a space is part of a name ('--only "page,Node, batched"').
const onlyAt = process.argv.indexOf('--only');
if (onlyAt > 0) {
  const keep = process.argv[onlyAt + 1].split(/,(?! )/);
  for (const k of Object.keys(contenders)) if (!keep.includes(k)) delete contenders[k];
}
const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
const load0 = loadavg()[0];
let relayDrops = {};
try {
  await within(LIMIT * 2, inChromium({ ...tlsCfg, fn: TLS ? 'tlsRun' : 'stackRun', what: 'https', mib: 1 }), 'warm-up');
  for (let i = 0; i < REPS; i++) {
    for (const [name, fn] of Object.entries(contenders)) {
      samples[name].push(await within(LIMIT, fn(), name));
    }
  }
} finally {
  const st = relay.stats();
  relayDrops = { backpressure: st.backpressureDrops, ...Object.fromEntries(Object.entries(st.dropped).filter(([, n]) => n > 0)) };
  await relay.close();
  for (const s of [download, upload, echo, web, ...tlsServers]) s.close();
  raw.close();
  pki?.dispose();
}
const load1 = loadavg()[0];

const med = (name, key) => (samples[name]?.[0]?.[key] === undefined ? undefined : median(samples[name].map((s) => s[key])));
const fmt = (v, d = 1) => (v === undefined || Number.isNaN(v) ? '–' : v.toFixed(d));
const all = (name, key) => samples[name]?.map((s) => s[key]) ?? [];
if (TLS) {
  console.log(`bench/browser --tls: stack.fetch of ${MIB} MiB, ${tlsCfg.handshakes} handshakes of each kind a run, MTU ${MTU}, ${REPS} interleaved runs ` +
    `after a warm-up; ${cpus().length} cores, ${cpus()[0]?.model}; load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after; Chromium ${chromium}`);
  console.log(`command: node bench/browser.mjs ${argv.join(' ')}`);
  console.log(`relay drops over the run: ${JSON.stringify(relayDrops)}`);
  console.log('| where (through the relay, nat) | fetch http: MiB/s | fetch https: MiB/s | https / http | handshake ECDSA P-256 ms | handshake RSA-2048 ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [label, who] of [['page (Chromium, main thread)', 'page'], ['Node (same relay, reference)', 'Node']]) {
    const h = med(`${who}: http:`, 'downMiBs');
    const hs = med(`${who}: https:`, 'downMiBs');
    console.log(`| ${label} | ${fmt(h)} | ${fmt(hs)} | ${fmt(hs / h, 2)} | ${fmt(med(`${who}: handshakes`, 'ecdsaMs'))} | ${fmt(med(`${who}: handshakes`, 'rsaMs'))} |`);
  }
  emit(onlyAt > 0 ? [] : [
    row('browser tls', `fetch ${MIB} MiB, page (Chromium, relay nat)`, 'MiB/s', 'higher',
      { 'lwip-wasm': all('page: https:', 'downMiBs'), 'http:': all('page: http:', 'downMiBs') }),
    row('browser tls', 'handshake ECDSA P-256, page', 'ms', 'lower', { 'lwip-wasm': all('page: handshakes', 'ecdsaMs') }),
    row('browser tls', 'handshake RSA-2048, page', 'ms', 'lower', { 'lwip-wasm': all('page: handshakes', 'rsaMs') }),
  ]);
} else {
  console.log(`bench/browser: ${MIB} MiB, MTU ${MTU}, ${REPS} interleaved runs after a warm-up; ${cpus().length} cores, ${cpus()[0]?.model}; ` +
    `load average ${load0.toFixed(2)} before, ${load1.toFixed(2)} after; Chromium ${chromium}`);
  console.log(`command: node bench/browser.mjs ${argv.join(' ')}`);
  console.log(`relay drops over the run: ${JSON.stringify(relayDrops)}; the relay's ws unmasks with ${unmask}`);
  console.log('| contender | framing | download MiB/s | upload MiB/s | connect ms | round trip ms | frames a message in |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const name of Object.keys(contenders)) {
    const fpm = med(name, 'messagesPerFrame');
    console.log(`| ${name} | ${samples[name][0]?.framing ?? '–'} | ${fmt(med(name, 'downMiBs'))} | ${fmt(med(name, 'upMiBs'))} | ` +
      `${fmt(med(name, 'connectMs'), 2)} | ${fmt(med(name, 'rttMs'), 3)} | ${fpm ? fmt(1 / fpm) : '–'} |`);
  }
  const down = (name) => samples[name]?.map((s) => s.downMiBs) ?? [];
  const up = (name) => samples[name]?.map((s) => s.upMiBs) ?? [];
  const ratio = (a, b) => (med(a, 'downMiBs') / med(b, 'downMiBs')).toFixed(2);
  if (onlyAt < 0) {
    console.log(`download: page ${ratio('page', 'raw WebSocket')}x the raw WebSocket and ${ratio('page', 'Node, batched')}x Node (batched); ` +
      `worker ${ratio('worker', 'raw WebSocket')}x and ${ratio('worker', 'Node, batched')}x`);
  }
  emit(onlyAt > 0 ? [] : [
    row('browser', `download ${MIB} MiB, page (Chromium, relay nat)`, 'MiB/s', 'higher',
      { 'lwip-wasm': down('page'), 'raw WebSocket': down('raw WebSocket'), 'Node stack': down('Node, batched') },
      { vs: 'raw WebSocket', ratio: 0.8 }),
    row('browser', `download ${MIB} MiB, Worker`, 'MiB/s', 'higher', { 'lwip-wasm': down('worker'), 'raw WebSocket': down('raw WebSocket') }),
    row('browser', `download ${MIB} MiB, page, one frame a message`, 'MiB/s', 'higher', { 'lwip-wasm': down('page, one frame a message'), 'raw WebSocket': down('raw WebSocket') }),
    row('browser', `upload ${MIB} MiB, page`, 'MiB/s', 'higher', { 'lwip-wasm': up('page'), 'Node stack': up('Node, batched') }),
    row('browser', 'TCP connect, page', 'ms', 'lower', { 'lwip-wasm': samples.page.map((s) => s.connectMs) }),
    row('browser', 'request round trip, page', 'ms', 'lower', { 'lwip-wasm': samples.page.map((s) => s.rttMs) }),
  ]);
}
