// Measures TCP through a nat relay (its gateway stack and real sockets), all on this
// machine: a Node stack downloads
// from, then uploads to, a server on 127.0.0.1 (allowed explicitly), with the default
// per-client limits and with them lifted. Usage: node examples/relay-throughput.mjs [MiB]
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { Stack, connectWebSocket, AF_INET, SOCK_STREAM } from '../dist/index.js';
import { createRelay } from '../dist/relay.js';

const SIZE = Number(process.argv[2] ?? 32) * 1024 * 1024;
const chunk = new Uint8Array(256 * 1024);
let uploaded;
const server = createServer((s) => {
  s.on('error', () => {}); // closing the relay resets what is still open
  s.once('data', (first) => {
    if (first[0] === 0x44) { // 'D': download SIZE bytes
      let n = 0;
      const write = () => {
        while (n < SIZE) {
          n += chunk.length;
          if (!s.write(chunk)) return void s.once('drain', write);
        }
        s.end();
      };
      write();
    } else {
      let n = first.length;
      s.on('data', (d) => {
        n += d.length;
        if (n >= SIZE + 1) uploaded();
      });
    }
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;

async function run(label, limits) {
  const relay = await createRelay({ port: 0, nat: { dns: false }, allow: [`tcp/127.0.0.1:${port}`], ...limits });
  const stack = await Stack.create();
  const link = connectWebSocket(relay.url, { WebSocket });
  await link.ready;
  stack.addInterface(link, { ip: '10.0.2.15/24', gateway: '10.0.2.2' });
  const mib = (t) => (SIZE / ((performance.now() - t) / 1000) / 1048576).toFixed(1);
  const down = stack.socket(AF_INET, SOCK_STREAM);
  await down.connect('10.0.2.2', port);
  await down.send('D');
  let t = performance.now();
  for (let got = 0; got < SIZE;) got += (await down.recv(262144)).length;
  const downRate = mib(t);
  down.close();
  const up = stack.socket(AF_INET, SOCK_STREAM);
  await up.connect('10.0.2.2', port);
  const done = new Promise((r) => { uploaded = r; });
  t = performance.now();
  await up.send('U');
  for (let n = 0; n < SIZE; n += chunk.length) await up.send(chunk);
  await done;
  const upRate = mib(t);
  up.close();
  const st = relay.stats();
  console.log(`${label.padEnd(16)} download ${downRate.padStart(6)} MiB/s  upload ${upRate.padStart(6)} MiB/s  (client frames dropped by the rate limits: ${st.dropped.rate})`);
  stack.dispose();
  await relay.close();
}

await run('default limits', {});
await run('no limits', { framesPerSecond: Infinity, bytesPerSecond: Infinity });
server.close();
