// Headless Chromium as a user runs it: no DevTools client attached. playwright-core (and
// any CDP client that enables the Network domain, as it does) makes Chromium copy every
// WebSocket message, base64-encoded, to the client: measured on the 2-core Xeon that
// cost the page two thirds of its download rate (46 MiB/s under playwright, 134 without)
// and the raw WebSocket more than half, and moved CPU into Chromium's browser process.
// So benchmarks load a page here and get its result back over HTTP. With a profile
// requested, the page's target gets only the Profiler domain (raw CDP over a WebSocket).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-extensions'];

/** Chromium's version, from `chromium --version`. */
export function chromiumVersion(path) {
  return new Promise((resolve) => {
    const p = spawn(path, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('close', () => resolve(/[\d.]+/.exec(out)?.[0] ?? 'unknown'));
    p.on('error', () => resolve('unknown'));
  });
}

// Chromium runs in a process group of its own (so stopping it stops its renderer and
// utility processes too), which also keeps Ctrl-C and an exiting bench from reaching
// it: every group still running is killed when this process exits, however it exits.
const running = new Set();
const killGroup = (pid, signal) => {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
};
process.on('exit', () => {
  for (const pid of running) killGroup(pid, 'SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const pid of running) killGroup(pid, 'SIGKILL');
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  });
}

/**
 * Opens url in a fresh headless Chromium (its own profile directory, removed after) and
 * resolves what `result` resolves (the caller's promise for the page's report), then
 * stops Chromium and waits for it to exit, so its CPU is not in the next measurement.
 * profile: true also resolves { profile } (a V8 CPU profile of the page's main thread).
 */
export async function runInChromium(path, url, result, { profile = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-bench-chromium-'));
  const args = [...FLAGS, `--user-data-dir=${dir}`, ...(profile ? ['--remote-debugging-port=0', 'about:blank'] : [url])];
  const proc = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  running.add(proc.pid);
  let stderr = ''; // always drained (a full pipe would stall Chromium); the tail is kept for errors
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const exited = new Promise((r) => proc.once('exit', r));
  let cdp = null;
  try {
    if (profile) cdp = await profilerOn(proc, () => stderr, url);
    const out = await Promise.race([result, exited.then(() => {
      throw new Error(`Chromium exited before the page reported: ${stderr.slice(-600)}`);
    })]);
    return cdp ? { ...out, profile: await cdp.stop() } : out;
  } finally {
    cdp?.close();
    killGroup(proc.pid, 'SIGTERM');
    const late = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(late);
    running.delete(proc.pid);
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch (err) {
      console.error(`bench: could not remove ${dir}: ${err.message}`); // never hides the run's own outcome
    }
  }
}

/** Attaches to the blank page, starts the profiler, then navigates to url. */
async function profilerOn(proc, stderr, url) {
  const endpoint = await new Promise((resolve, reject) => {
    const look = () => {
      const m = /DevTools listening on ws:\/\/([^/\s]+)\//.exec(stderr());
      if (m) {
        proc.stderr.off('data', look);
        resolve(m[1]);
      }
    };
    proc.stderr.on('data', look);
    proc.once('exit', () => reject(new Error(`Chromium exited: ${stderr().slice(-300)}`)));
  });
  // The blank page's target may not be listed yet: ask again for up to 5 s.
  let page;
  for (let i = 0; i < 50 && !page; i++) {
    const targets = await (await fetch(`http://${endpoint}/json/list`)).json();
    page = targets.find((t) => t.type === 'page');
    if (!page) await new Promise((r) => setTimeout(r, 100));
  }
  if (!page) throw new Error('Chromium listed no page to profile');
  const ws = new WebSocket(page.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
  let id = 0;
  const pending = new Map();
  ws.on('message', (m) => {
    const o = JSON.parse(m);
    pending.get(o.id)?.(o);
    pending.delete(o.id);
  });
  const call = (method, params = {}) => new Promise((resolve, reject) => {
    pending.set(++id, (o) => (o.error ? reject(new Error(`${method}: ${o.error.message}`)) : resolve(o.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 200 });
  await call('Profiler.start');
  await call('Page.navigate', { url });
  return { stop: async () => (await call('Profiler.stop')).profile, close: () => ws.close() };
}

/** The top functions of a V8 CPU profile by self time, as lines. */
export function topFunctions(profile, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  let total = 0;
  profile.samples?.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    const t = profile.timeDeltas?.[i] ?? 0;
    total += t;
    self.set(key, (self.get(key) ?? 0) + t);
  });
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`);
}
