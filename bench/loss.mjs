// TCP under random loss: an 8 MiB transfer over a 1500-byte link at 0.5%, 2% and 5%
// loss of the sender's frames, in real time, for lwip-wasm (two stacks on a pair, the
// sender's end impaired 'out') and, in the same run when root and nft are available, for
// Linux (a veth pair between two network namespaces this script creates, offloads off,
// loss by nftables `numgen random` on the receiver's input for every segment from the
// sender). Each figure is the receiver's time from accept to end of stream, the median
// of --runs runs, interleaved. Also the same lwip-wasm transfer on a VirtualClock (virtual
// seconds: only timers move it). Prints the load average beside the table.
// Before the table, unmeasured transfers (--warmup, 3) on each side warm up what a
// long-lived process has warm: V8 compiles the wasm with its baseline tier and optimizes
// the hot functions (and the JS around them) only as they run, so the process's first
// transfer took 2-4 times a later one. The warm-up times are printed, not hidden;
// --warmup 0 leaves them out.
// Usage: node bench/loss.mjs [--mib 8] [--runs 3] [--loss 0.005,0.02,0.05] [--limit 120] [--warmup 3]
//        (internal: --linux-recv PORT and --linux-send HOST PORT BYTES run the Linux ends)
import { execFileSync, spawn } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};

// --- The Linux ends (run inside the namespaces by the main process) -------------------
if (argv[0] === '--linux-recv') {
  const port = Number(argv[1]);
  const server = net.createServer((sock) => {
    const t0 = performance.now();
    let got = 0;
    sock.on('data', (d) => { got += d.length; });
    sock.on('end', () => {
      process.stdout.write(`RESULT ${got} ${(performance.now() - t0).toFixed(3)}\n`);
      sock.end();
      server.close();
    });
    sock.on('error', (e) => { process.stdout.write(`ERROR ${e.message}\n`); process.exit(1); });
  });
  server.listen(port, () => process.stdout.write('LISTENING\n'));
} else if (argv[0] === '--linux-send') {
  const [host, port, bytes] = [argv[1], Number(argv[2]), Number(argv[3])];
  const chunk = Buffer.alloc(256 * 1024, 7);
  const sock = net.connect(port, host, async () => {
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      if (!sock.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)))) {
        await new Promise((r) => sock.once('drain', r));
      }
    }
    sock.end();
  });
  sock.on('data', () => {});
  sock.on('close', () => process.exit(0));
  sock.on('error', (e) => { process.stderr.write(`send: ${e.message}\n`); process.exit(1); });
} else {
  await main();
}

async function main() {
  const { Stack, createPair, impair, VirtualClock, AF_INET, SOCK_STREAM, SHUT_WR } =
    await import('../dist/index.js');
  const MIB = Number(opt('mib', 8));
  const BYTES = MIB * 1024 * 1024;
  const RUNS = Number(opt('runs', 3));
  const LOSSES = String(opt('loss', '0.005,0.02,0.05')).split(',').map(Number);
  const LIMIT_MS = Number(opt('limit', 120)) * 1000;
  const here = fileURLToPath(import.meta.url);
  const tag = `lwl-${process.pid % 1_000_000}`;
  const namespaces = new Set();
  const children = new Set();

  const sh = (cmd, args, input) => execFileSync(cmd, args, { encoding: 'utf8', input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const hasTool = (t) => { try { sh('sh', ['-c', `command -v ${t}`]); return true; } catch { return false; } };
  const linuxWhyNot = process.platform !== 'linux' ? 'not Linux'
    : process.getuid?.() !== 0 ? 'not root (network namespaces need it)'
      : ['ip', 'nft'].filter((t) => !hasTool(t)).map((t) => `no ${t}`).join(', ') || null;

  function cleanup() {
    for (const c of children) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } }
    children.clear();
    for (const ns of namespaces) { try { sh('ip', ['netns', 'del', ns]); } catch { /* gone */ } }
    namespaces.clear();
  }
  process.on('SIGINT', () => { cleanup(); process.exit(130); });

  function inNs(ns, args) {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, here, ...args],
      { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.output = () => out;
    child.done = new Promise((r) => child.on('close', () => { children.delete(child); r(out); }));
    return child;
  }

  const waitFor = async (pred, ms, what) => {
    const end = performance.now() + ms;
    while (!pred()) {
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  /** One veth pair between two namespaces, MTU 1500, offloads off; loss is set per run. */
  function linuxNet() {
    const a = `${tag}-a`;
    const b = `${tag}-b`;
    for (const ns of [a, b]) {
      sh('ip', ['netns', 'add', ns]);
      namespaces.add(ns);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', 'lwlA', 'netns', a, 'type', 'veth', 'peer', 'name', 'lwlB', 'netns', b]);
    for (const [ns, dev, addr] of [[a, 'lwlA', '10.81.0.1/24'], [b, 'lwlB', '10.81.0.2/24']]) {
      sh('ip', ['-n', ns, 'link', 'set', dev, 'mtu', '1500', 'up']);
      sh('ip', ['-n', ns, 'addr', 'add', addr, 'dev', dev]);
      if (hasTool('ethtool')) {
        try { sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']); } catch { /* best effort */ }
      }
    }
    return { a, b };
  }

  /** Sets the receiver's input loss (per mille) for segments from the sender's side. */
  function setLinuxLoss(ns, perMille, port) {
    try { sh('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'lwloss']); } catch { /* none yet */ }
    if (perMille <= 0) return;
    sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'],
      'table inet lwloss {\n  chain input {\n    type filter hook input priority 0; policy accept;\n' +
      `    tcp dport ${port} numgen random mod 1000 < ${perMille} drop\n  }\n}\n`);
  }

  let linuxPort = 5400;
  async function linuxRun(env, loss) {
    const port = linuxPort++;
    setLinuxLoss(env.b, Math.round(loss * 1000), port);
    const recv = inNs(env.b, ['--linux-recv', String(port)]);
    await waitFor(() => recv.output().includes('LISTENING') || recv.exitCode !== null, 10_000, 'the Linux receiver');
    const send = inNs(env.a, ['--linux-send', '10.81.0.2', String(port), String(BYTES)]);
    const timer = setTimeout(() => { for (const c of [recv, send]) { try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ } } }, LIMIT_MS);
    const out = await recv.done;
    await send.done;
    clearTimeout(timer);
    const m = /RESULT (\d+) ([\d.]+)/.exec(out);
    if (!m) return Infinity;
    if (Number(m[1]) !== BYTES) throw new Error(`Linux receiver got ${m[1]} of ${BYTES} bytes`);
    return Number(m[2]);
  }

  /** a sends BYTES to b over a pair whose a end loses `loss` of a's frames. */
  async function lwipTransfer(loss, seed, clock) {
    const a = await Stack.create({ clock, seed });
    const b = await Stack.create({ clock, seed: seed + 1 });
    const [la, lb] = createPair();
    a.addInterface(impair(la, { loss, direction: 'out', seed, clock }), { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    try {
      const l = b.socket(AF_INET, SOCK_STREAM);
      l.bind('0.0.0.0', 5000);
      l.listen(1);
      const c = a.socket(AF_INET, SOCK_STREAM);
      const accepted = l.accept();
      await c.connect('10.0.0.2', 5000);
      const s = await accepted;
      const now = () => (clock ? clock.now() : performance.now());
      const t0 = now();
      const reader = (async () => {
        let got = 0;
        for (;;) {
          const d = await s.recv(1 << 20);
          if (d.length === 0) return got;
          got += d.length;
        }
      })();
      const chunk = new Uint8Array(256 * 1024).fill(7);
      for (let sent = 0; sent < BYTES; sent += chunk.length) await c.send(chunk);
      c.shutdown(SHUT_WR);
      const got = await reader;
      const ms = now() - t0;
      if (got !== BYTES) throw new Error(`lwip-wasm receiver got ${got} of ${BYTES} bytes`);
      for (const x of [c, s, l]) x.close();
      return ms;
    } finally {
      a.dispose();
      b.dispose();
    }
  }

  async function lwipRun(loss, seed) {
    let timer;
    const limit = new Promise((r) => { timer = setTimeout(() => r(Infinity), LIMIT_MS); });
    const p = lwipTransfer(loss, seed);
    const ms = await Promise.race([p, limit]);
    clearTimeout(timer);
    if (ms === Infinity) p.catch(() => {});
    return ms;
  }

  async function virtualRun(loss, seed) {
    const clock = new VirtualClock();
    return clock.runUntil(lwipTransfer(loss, seed, clock), { timeLimit: 24 * 3600_000 });
  }

  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const sec = (ms) => (ms === Infinity ? `>${LIMIT_MS / 1000}` : (ms / 1000).toFixed(3));
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

  console.log(`TCP under random loss: ${MIB} MiB, MTU 1500, loss of the sender's frames; ` +
    `median of ${RUNS}, real time, receiver's accept to end of stream`);
  console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}; load average at start ${load()}`);
  if (linuxWhyNot) console.log(`Linux baseline skipped: ${linuxWhyNot}`);
  let env;
  try {
    if (!linuxWhyNot) env = linuxNet();
    const warm = { ours: [], theirs: [] };
    for (let i = 0; i < Number(opt('warmup', 3)); i++) {
      warm.ours.push(await lwipRun(LOSSES[0], 900 + i));
      if (env) warm.theirs.push(await linuxRun(env, LOSSES[0]));
    }
    if (warm.ours.length > 0) {
      console.log(`warm-up at ${(LOSSES[0] * 100).toFixed(1)}%, not in the table: lwip-wasm ${warm.ours.map(sec).join(' ')} ` +
        `(the first is the process's first transfer)${env ? `; Linux ${warm.theirs.map(sec).join(' ')}` : ''}`);
    }
    console.log('  loss   lwip-wasm s   Linux s   ratio   virtual s   load average');
    let seed = 1;
    for (const loss of LOSSES) {
      const ours = [];
      const theirs = [];
      for (let i = 0; i < RUNS; i++) {
        ours.push(await lwipRun(loss, seed++));
        if (env) theirs.push(await linuxRun(env, loss));
      }
      const virt = await virtualRun(loss, 1000 + seed);
      const o = median(ours);
      const t = env ? median(theirs) : NaN;
      const ratio = env ? (o / t).toFixed(2) : '-';
      console.log(`${(loss * 100).toFixed(1).padStart(5)}%  ${sec(o).padStart(11)}  ${env ? sec(t).padStart(8) : '       -'}` +
        `  ${ratio.padStart(6)}  ${sec(virt).padStart(10)}   ${load()}`);
      console.log(`         runs: lwip-wasm ${ours.map(sec).join(' ')}${env ? `; Linux ${theirs.map(sec).join(' ')}` : ''}`);
    }
  } finally {
    cleanup();
  }
  process.exit(0);
}
