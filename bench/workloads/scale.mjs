// Scale: 10,000 (1,000 with --quick) concurrent established connections between two
// stacks. Wasm heap and RSS per connection (both ends' sockets counted as one
// connection), and the time to open them all. Run in its own process, so RSS is ours.
import { QUICK, arg, row, emit, twoStacks, within, lw } from '../lib.mjs';

const { AF_INET, SOCK_STREAM } = lw;

const CONNS = arg('conns', QUICK ? 1000 : 10000);
const WAVE = 250; // connects in flight at once (the listen backlog bounds it)

async function run() {
  const { a, b, dispose } = await twoStacks({}, { maxSockets: CONNS * 2 + 16 });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 9);
  l.listen(WAVE);
  await new Promise((r) => setTimeout(r, 50));
  global.gc?.();
  const heap0 = a.memory().heapBytes + b.memory().heapBytes;
  const rss0 = process.memoryUsage().rss;
  const clients = [];
  const servers = [];
  const t0 = performance.now();
  await within(300_000, (async () => {
    for (let done = 0; done < CONNS; done += WAVE) {
      const n = Math.min(WAVE, CONNS - done);
      const accepts = Array.from({ length: n }, () => l.accept());
      const wave = [];
      for (let i = 0; i < n; i++) {
        const c = a.socket(AF_INET, SOCK_STREAM);
        clients.push(c);
        wave.push(c.connect('10.0.0.2', 9));
      }
      await Promise.all(wave);
      servers.push(...(await Promise.all(accepts)));
    }
  })(), 'open connections');
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 100));
  global.gc?.();
  const heap = a.memory().heapBytes + b.memory().heapBytes - heap0;
  const rss = process.memoryUsage().rss - rss0;
  dispose();
  return { ms, heap: heap / CONNS, rss: rss / CONNS };
}

const r = await run();
const one = (v) => ({ 'lwip-wasm': [v] });
emit([
  row(`scale: ${CONNS} connections`, 'wasm heap per connection', 'B', 'lower', one(r.heap), { max: 8192 },
    'malloc in use, both stacks'),
  row(`scale: ${CONNS} connections`, 'RSS per connection', 'B', 'lower', one(r.rss)),
  row(`scale: ${CONNS} connections`, 'time to open all', 'ms', 'lower', one(r.ms)),
]);
