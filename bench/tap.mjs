// TCP throughput through a TAP device, stack to kernel and kernel to stack, at MTU 1500
// and 9000, with the TAP's offload on and off, beside the kernel talking to itself over a
// veth pair between two namespaces at the same MTU, in the same run. Prints MB/s, the
// ratio, frames per addon call, and the load average. Needs root (or CAP_NET_ADMIN +
// CAP_SYS_ADMIN), iperf (2) and the built addon. Every host it talks to lives in
// namespaces it creates and deletes.
// Usage: node bench/tap.mjs [--mib N] [--seconds S] [--runs R] [--mtu 1500,9000] [--offload on,off]
import { execFileSync, spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { Stack, AF_INET, SOCK_STREAM, SHUT_WR } from '../dist/index.js';
import { openTap } from '../dist/tap.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const MIB = Number(arg('mib', 256));
const SECONDS = Number(arg('seconds', 2));
const RUNS = Number(arg('runs', 3));
const MTUS = String(arg('mtu', '1500,9000')).split(',').map(Number);
const OFFLOADS = String(arg('offload', 'on,off')).split(',').map((o) => o === 'on');
const DIRS = [['stack -> kernel', tapUp], ['kernel -> stack', tapDown]].filter(([l]) => (arg('dir', 'up,down')).split(',').includes(l.startsWith('stack') ? 'up' : 'down'));
const TOTAL = MIB * 1024 * 1024;
const tag = `lwb-${process.pid % 1_000_000}`;
const ip = (...a) => execFileSync('ip', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const children = new Set();
const namespaces = new Set();

function inNs(ns, cmd, args) {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  child.output = () => out;
  child.done = new Promise((r) => child.on('close', () => {
    children.delete(child);
    r(out);
  }));
  return child;
}

function addNs(name) {
  ip('netns', 'add', name);
  namespaces.add(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
}

function cleanup() {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const ns of namespaces) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // gone
    }
  }
  namespaces.clear();
}
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

async function waitListening(ns, port) {
  for (let i = 0; i < 250; i++) {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${port}`], { encoding: 'utf8' });
    if (out.trim()) return;
    await sleep(20);
  }
  throw new Error(`no listener on ${port} in ${ns}`);
}

/** Waits for iperf -s's CSV line for a connection and returns its MB/s (the receiver's figure). */
async function iperfServerRate(server) {
  for (let i = 0; i < 1500; i++) {
    const line = server.output().split('\n').find((l) => /^\d+,[^,]+,\d+,[^,]+,\d+,\d+,[\d.-]+,\d+,\d+$/.test(l));
    if (line) {
      const f = line.split(',');
      return { bytes: Number(f[7]), mbs: Number(f[8]) / 8 / 1e6 };
    }
    await sleep(20);
  }
  throw new Error(`iperf -s reported nothing: ${server.output()}`);
}

/** Kernel to kernel over veth between two namespaces: iperf -c for SECONDS, rate from iperf -s. */
async function vethRun(mtu) {
  const a = `${tag}-va`;
  const b = `${tag}-vb`;
  addNs(a);
  addNs(b);
  try {
    ip('link', 'add', 'lwbA', 'netns', a, 'type', 'veth', 'peer', 'name', 'lwbB', 'netns', b);
    ip('-n', a, 'link', 'set', 'lwbA', 'mtu', String(mtu), 'up');
    ip('-n', b, 'link', 'set', 'lwbB', 'mtu', String(mtu), 'up');
    ip('-n', a, 'addr', 'add', '10.79.0.1/24', 'dev', 'lwbA');
    ip('-n', b, 'addr', 'add', '10.79.0.2/24', 'dev', 'lwbB');
    const server = inNs(b, 'iperf', ['-s', '-p', '5301', '-y', 'C']);
    await waitListening(b, 5301);
    const client = inNs(a, 'iperf', ['-c', '10.79.0.2', '-p', '5301', '-t', String(SECONDS), '-y', 'C']);
    await client.done;
    return (await iperfServerRate(server)).mbs;
  } finally {
    cleanup();
  }
}

/** One TAP setup at this MTU: runs fn({ stack, link, ns }). */
async function withTap(mtu, offload, fn) {
  const ns = `${tag}-t`;
  addNs(ns);
  const link = openTap({ name: 'lwbtap0', mtu, offload });
  const stack = await Stack.create();
  try {
    ip('link', 'set', link.name, 'netns', ns);
    ip('-n', ns, 'addr', 'add', '10.78.0.1/24', 'dev', link.name);
    ip('-n', ns, 'link', 'set', link.name, 'up');
    stack.addInterface(link, { ip: '10.78.0.2/24' });
    return await fn({ stack, link, ns });
  } finally {
    stack.dispose();
    link.close();
    cleanup();
  }
}

/** Stack to kernel: the stack is an iperf 2 client (a zero flags word, then data) to iperf -s. */
async function tapUp(env) {
  const server = inNs(env.ns, 'iperf', ['-s', '-p', '5302', '-y', 'C']);
  await waitListening(env.ns, 5302);
  const c = env.stack.socket(AF_INET, SOCK_STREAM);
  await c.connect('10.78.0.1', 5302);
  await c.send(new Uint8Array(4));
  const chunk = new Uint8Array(256 * 1024).fill(7);
  for (let sent = 0; sent < TOTAL; sent += chunk.length) await c.send(chunk);
  c.shutdown(SHUT_WR);
  while ((await c.recv()).length > 0);
  c.close();
  const r = await iperfServerRate(server);
  if (r.bytes !== TOTAL) throw new Error(`iperf -s got ${r.bytes} of ${TOTAL} bytes`);
  server.kill('SIGKILL');
  return r.mbs;
}

/** Kernel to stack: iperf -c sends TOTAL bytes to a sink on the stack, timed at the sink. */
async function tapDown(env) {
  const l = env.stack.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 5303);
  l.listen(1);
  const client = inNs(env.ns, 'iperf', ['-c', '10.78.0.2', '-p', '5303', '-n', String(TOTAL), '-y', 'C']);
  const c = await l.accept();
  let got = 0;
  let t0 = 0;
  for (;;) {
    const d = await c.recv(1 << 20);
    if (d.length === 0) break;
    if (got === 0) t0 = performance.now();
    got += d.length;
  }
  const ms = performance.now() - t0;
  c.close();
  l.close();
  await client.done;
  if (got !== TOTAL) throw new Error(`the sink got ${got} of ${TOTAL} bytes`);
  return TOTAL / 1e6 / (ms / 1000);
}

const fmt = (x) => x.toFixed(0).padStart(7);
try {
  console.log(`TCP through TAP (stack in Node) vs kernel to kernel over veth; ${MIB} MiB per TAP run, ` +
    `${SECONDS} s per veth run, median of ${RUNS}; MB/s = 10^6 bytes/s, measured at the receiver`);
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('  MTU  offload  direction          TAP   veth  TAP/veth  frames/read  frames/write');
  for (const mtu of MTUS) {
    const veth = [];
    for (let i = 0; i < RUNS; i++) veth.push(await vethRun(mtu));
    for (const [label, run] of DIRS) for (const offload of OFFLOADS) {
      const rates = [];
      let perRead = 0;
      let perWrite = 0;
      for (let i = 0; i < RUNS; i++) {
        rates.push(await withTap(mtu, offload, async (env) => {
          const r = await run(env);
          const k = env.link.counters;
          perRead = k.framesReceived / k.readBatches;
          perWrite = k.framesSent / k.writeCalls;
          return r;
        }));
      }
      const t = median(rates);
      const v = median(veth);
      console.log(`${String(mtu).padStart(5)}  ${(offload ? 'on' : 'off').padStart(7)}  ${label}  ${fmt(t)}${fmt(v)}  ${(t / v).toFixed(3).padStart(8)}` +
        `  ${perRead.toFixed(1).padStart(11)}  ${perWrite.toFixed(1).padStart(12)}`);
    }
  }
} finally {
  cleanup();
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
