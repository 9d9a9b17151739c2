// Packet capture: a link's frames written as pcap, read back by Debian's tshark, which
// must parse the file and show the TCP handshake, the data and the close.
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  capture, CaptureLink, PcapWriter, createPair, VirtualClock, AF_INET, SOCK_STREAM, SHUT_WR,
} from '../dist/index.js';
import { it, test, assert, createStack, connectPair, readToEof, text } from './helpers.mjs';

const TSHARK = process.env.TSHARK_PATH ?? '/usr/bin/tshark';
const haveTshark = existsSync(TSHARK);
if (!haveTshark) console.log(`skipping the tshark checks: no tshark at ${TSHARK} (apt-get install tshark; make test installs it)`);
const tsharkIt = haveTshark ? it : (name) => test.skip(name);

const dir = mkdtempSync(join(tmpdir(), 'lwip-capture-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** tshark's fields for every frame, as rows of strings. */
function tshark(file, fields, filter) {
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=|'];
  if (filter) args.push('-Y', filter);
  for (const f of fields) args.push('-e', f);
  const out = execFileSync(TSHARK, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return out.split('\n').filter(Boolean).map((l) => l.split('|'));
}

/** Two stacks, a's link captured into sink; an HTTP-ish exchange and a clean close. */
async function exchange(sink, options = {}) {
  const a = await createStack({ seed: 1, ...options.stack });
  const b = await createStack({ seed: 2, ...options.stack });
  try {
    const [la, lb] = createPair();
    const link = capture(la, sink, options.capture);
    a.addInterface(link, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    const run = async () => {
      const [c, s, l] = await connectPair(a, b, { port: 8080 });
      await c.send('GET /hello HTTP/1.1\r\nHost: b\r\n\r\n');
      c.shutdown(SHUT_WR);
      assert.match(text(await readToEof(s)), /^GET \/hello/);
      await s.send('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
      s.close();
      assert.match(text(await readToEof(c)), /200 OK/);
      c.close();
      l.close();
    };
    await (options.clock ? options.clock.runUntil(run()) : run());
    if (options.clock) await options.clock.advanceAsync(100);
    else await new Promise((r) => setTimeout(r, 50));
    return link;
  } finally {
    a.dispose();
    b.dispose();
  }
}

tsharkIt('tshark reads the capture and shows the handshake, the request and the close', async () => {
  const file = join(dir, 'exchange.pcap');
  const out = createWriteStream(file);
  const link = await exchange(out);
  assert.instance(link, CaptureLink);
  await new Promise((resolve, reject) => out.end((err) => (err ? reject(err) : resolve())));
  const rows = tshark(file, ['frame.number', 'eth.type', 'ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.flags.str', 'tcp.len']);
  assert.is(rows.length, link.writer.frames, 'tshark sees every frame written');
  const tcp = rows.filter((r) => r[6]);
  const flags = tcp.map((r) => r[6].replace(/[^A-Z]/g, ''));
  // the first three TCP segments are the handshake, client to server and back
  assert.equal(flags.slice(0, 3), ['S', 'AS', 'A'], `handshake flags: ${flags.slice(0, 3).join(', ')}`);
  assert.equal(tcp[0].slice(2, 6), ['10.0.0.1', '10.0.0.2', tcp[0][4], '8080']);
  assert.equal(tcp[1].slice(2, 6), ['10.0.0.2', '10.0.0.1', '8080', tcp[0][4]]);
  assert.ok(flags.filter((f) => f.includes('F')).length >= 2, 'a FIN each way');
  assert.ok(rows.some((r) => r[1] === '0x0806'), 'ARP resolved the peer first');
  const http = tshark(file, ['http.request.method', 'http.request.uri'], 'http.request');
  assert.equal(http, [['GET', '/hello']], 'tshark decodes the request');
  const bad = tshark(file, ['frame.number'], '_ws.malformed || _ws.expert.severity >= error');
  assert.equal(bad, [], 'nothing malformed');
});

tsharkIt('on the test clock the timestamps are virtual time from the given epoch; snaplen cuts frames', async () => {
  const clock = new VirtualClock();
  const chunks = [];
  await exchange((c) => chunks.push(c), { clock, stack: { clock }, capture: { clock, epoch: 1_000_000_000_000, snaplen: 54 } });
  const file = join(dir, 'virtual.pcap');
  writeFileSync(file, Buffer.concat(chunks));
  const rows = tshark(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len']);
  assert.ok(rows.length > 10);
  const times = rows.map((r) => Number(r[0]));
  assert.ok(times.every((t) => t >= 1_000_000_000 && t < 1_000_000_000 + 60), `times from the epoch: ${times[0]}..${times.at(-1)}`);
  assert.ok(times.every((t, i) => i === 0 || t >= times[i - 1]), 'in order');
  assert.ok(rows.some((r) => Number(r[1]) > 54 && Number(r[2]) === 54), 'long frames cut to 54 bytes');
  assert.ok(rows.every((r) => Number(r[2]) <= 54));
});

test('the pcap file header and records follow the format (nanosecond timestamps, ethernet)', () => {
  const chunks = [];
  const clock = new VirtualClock({ start: 0 });
  const w = new PcapWriter((c) => chunks.push(c), { clock, epoch: 5000 });
  clock.advance(1.5);
  w.write(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 8, 0, 0xaa]));
  assert.is(w.frames, 1);
  const h = new DataView(chunks[0].buffer);
  assert.is(chunks[0].length, 24);
  assert.is(h.getUint32(0, true), 0xa1b23c4d, 'nanosecond pcap magic');
  assert.is(h.getUint16(4, true), 2);
  assert.is(h.getUint16(6, true), 4);
  assert.is(h.getUint32(16, true), 262144, 'snaplen');
  assert.is(h.getUint32(20, true), 1, 'LINKTYPE_ETHERNET');
  const r = new DataView(chunks[1].buffer);
  assert.is(r.getUint32(0, true), 5, 'seconds: epoch 5000 ms + 1.5 ms');
  assert.is(r.getUint32(4, true), 1_500_000, 'nanoseconds');
  assert.is(r.getUint32(8, true), 15);
  assert.is(r.getUint32(12, true), 15);
  assert.is(chunks[1][16 + 14], 0xaa);
  assert.throws(() => new PcapWriter(42), TypeError);
  assert.throws(() => new PcapWriter(() => {}, { snaplen: 3 }), RangeError);
  assert.throws(() => new PcapWriter(() => {}, { epoch: -1 }), RangeError);
  assert.throws(() => capture({}, () => {}), TypeError);
});

test.run();
