// Cost at rest: CPU used (share of one core) over 10 s (2 s with --quick) by two
// stacks on a pair with no connections, and with 1,000 idle connections. Baseline:
// the same Node process with nothing open, and with 1,000 idle Node net connections.
// On these VMs a Node process pays about 0.9 ms of CPU per timer wake-up whatever the
// callback does, so the figure is mostly wake-ups: each stack wakes once a second
// (lwIP's 1 s timers) with no connections, four times with TCP connections open.
import net from 'node:net';
import { QUICK, arg, interleave, row, emit, twoStacks, sleep, lw } from '../lib.mjs';

const { AF_INET, SOCK_STREAM } = lw;

const SECONDS = arg('seconds', QUICK ? 2 : 10);
const CONNS = arg('conns', 1000);
const REPS = arg('reps', 1);
// Measured after a settle: V8 runs its memory reducer's GCs some seconds after a burst
// of allocation (here: compiling and creating the stacks, opening connections), a
// one-off cost that would otherwise land in the first window as tens of ms.
const SETTLE_S = arg('settle', QUICK ? 1 : 12);

async function cpuOver(seconds) {
  await sleep(SETTLE_S * 1000);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

async function ours(conns) {
  const { a, b, dispose } = await twoStacks({}, { maxSockets: conns * 2 + 16 });
  const keep = [];
  if (conns > 0) {
    const l = b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 9);
    l.listen(250);
    for (let done = 0; done < conns; done += 250) {
      const accepts = Array.from({ length: 250 }, () => l.accept());
      const wave = [];
      for (let i = 0; i < 250; i++) {
        const c = a.socket(AF_INET, SOCK_STREAM);
        keep.push(c);
        wave.push(c.connect('10.0.0.2', 9));
      }
      await Promise.all(wave);
      keep.push(...(await Promise.all(accepts)));
    }
  }
  const share = await cpuOver(SECONDS);
  dispose();
  return share;
}

async function nodeNet(conns) {
  const server = net.createServer(() => {});
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const clients = [];
  for (let i = 0; i < conns; i++) {
    const c = net.connect(server.address().port, '127.0.0.1');
    await new Promise((r) => c.on('connect', r));
    clients.push(c);
  }
  const share = await cpuOver(SECONDS);
  for (const c of clients) c.destroy();
  await new Promise((r) => server.close(r));
  return share;
}

const rows = [];
for (const conns of [0, CONNS]) {
  const s = await interleave(REPS, { 'lwip-wasm': () => ours(conns), 'node net': () => nodeNet(conns) });
  rows.push(row(`idle ${SECONDS} s, ${conns} connections`, 'CPU', '% of a core', 'lower', s,
    conns === 0 ? { max: 0.5 } : undefined, 'two stacks on a pair'));
}
emit(rows);
