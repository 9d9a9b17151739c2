// UDP: 64-byte and 1400-byte datagrams from one socket to another, sent in bursts of
// BURST with a turn of the event loop between bursts. Datagrams delivered per second,
// and the share lost, beside Node dgram over kernel loopback.
import dgram from 'node:dgram';
import { QUICK, arg, interleave, row, emit, twoStacks, tick, sleep, lw } from '../lib.mjs';

const { AF_INET, SOCK_DGRAM, EAGAIN } = lw;

const COUNT = arg('count', QUICK ? 50_000 : 300_000);
const REPS = arg('reps', QUICK ? 2 : 5);
const BURST = 64;

async function ours(size) {
  const { a, b, dispose } = await twoStacks();
  const tx = a.socket(AF_INET, SOCK_DGRAM);
  const rx = b.socket(AF_INET, SOCK_DGRAM);
  rx.bind('0.0.0.0', 9000);
  tx.connectSync('10.0.0.2', 9000);
  const payload = new Uint8Array(size).fill(3);
  let got = 0;
  let last = 0;
  let stop = false;
  const reader = (async () => {
    while (!stop) {
      try {
        await rx.recv(2048, { timeout: 100 });
      } catch (err) {
        if (err.errno === EAGAIN) continue;
        throw err;
      }
      got++;
      for (;;) {
        try {
          rx.recvSync(2048);
          got++;
        } catch {
          break;
        }
      }
      last = performance.now();
    }
  })();
  // ARP first, so the first burst is not queued behind resolution.
  tx.sendSync(payload);
  await sleep(20);
  got = 0;
  let sent = 0;
  const t0 = performance.now();
  while (sent < COUNT && performance.now() - t0 < 60_000) {
    for (let i = 0; i < BURST && sent < COUNT; i++) {
      try {
        tx.sendSync(payload);
        sent++;
      } catch (err) {
        if (err.errno !== EAGAIN) throw err;
        break;
      }
    }
    await tick();
  }
  await sleep(150);
  stop = true;
  await reader;
  dispose();
  return { rate: got / ((last - t0) / 1000), loss: (sent - got) / sent };
}

async function nodeDgram(size) {
  const rx = dgram.createSocket('udp4');
  const tx = dgram.createSocket('udp4');
  await new Promise((r) => rx.bind(0, '127.0.0.1', r));
  let got = 0;
  let last = 0;
  rx.on('message', () => {
    got++;
    last = performance.now();
  });
  await new Promise((r) => tx.connect(rx.address().port, '127.0.0.1', r));
  const payload = Buffer.alloc(size, 3);
  let sent = 0;
  const t0 = performance.now();
  while (sent < COUNT && performance.now() - t0 < 60_000) {
    for (let i = 0; i < BURST && sent < COUNT; i++) {
      tx.send(payload);
      sent++;
    }
    await tick();
  }
  await sleep(150);
  tx.close();
  rx.close();
  return { rate: got / ((last - t0) / 1000), loss: (sent - got) / sent };
}

const rows = [];
for (const size of [64, 1400]) {
  const runs = await interleave(REPS, { 'lwip-wasm': () => ours(size), 'node dgram': () => nodeDgram(size) });
  const pick = (f) => Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map(f)]));
  rows.push(row(`UDP ${size} B datagrams`, 'delivered', 'dgram/s', 'higher', pick((r) => r.rate),
    { vs: 'node dgram', ratio: 1.0 }, `${COUNT} sent in bursts of ${BURST}`));
  rows.push(row(`UDP ${size} B datagrams`, 'lost', '%', 'lower', pick((r) => r.loss * 100)));
}
emit(rows);
