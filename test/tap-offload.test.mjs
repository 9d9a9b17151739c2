// TAP offload (virtio-net headers, TUNSETOFFLOAD): the kernel hands a stack TCP segments
// of several MSS with checksums left partial, as it would to a NIC with TSO. A host takes
// them whole; a stack that forwards cuts them back to MTU-sized packets and completes
// every checksum, so the next link sees what it would have seen without offload. Each
// transfer is checked with SHA-256; the kernel's side lives in the test's namespace.
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { AF_INET, AF_INET6, SHUT_WR, SOCK_DGRAM, SOCK_STREAM, capture, createPair } from '../dist/index.js';
import { createStack, randomBytes, sha256, drainToEof } from './helpers.mjs';
import { tapTest, withTapNet, waitListening, connectKernel, sweepStale, tapSkipReason, ip } from './util-tap.mjs';

if (!tapSkipReason()) sweepStale();

const SIZE = 16 * 1024 * 1024;

/** Serves SIZE seeded bytes from socat in the namespace on port; returns their SHA-256. */
async function serveFile(net, dir, port, seed) {
  const file = join(dir, `f${port}.bin`);
  const data = randomBytes(SIZE, seed);
  writeFileSync(file, data);
  net.spawn('socat', ['-u', `OPEN:${file}`, `TCP6-LISTEN:${port},reuseaddr,ipv6only=0`]);
  await waitListening(net, port);
  return sha256(data);
}

tapTest('offload on: the kernel sends the stack segments of several MSS, which arrive intact (IPv4 and IPv6)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-tap-'));
  try {
    await withTapNet({}, async (net) => {
      assert.is(net.link.offload, true, 'a stack attached, so the kernel offloads');
      for (const [family, port] of [[4, 7300], [6, 7301]]) {
        const want = await serveFile(net, dir, port, port);
        const s = await connectKernel(net, port, family);
        const got = await drainToEof(s, 1024 * 1024);
        s.close();
        assert.is(got.bytes, SIZE);
        assert.is(got.hash, want, `IPv${family}: the same ${SIZE} bytes`);
      }
      const k = net.link.counters;
      assert.ok(k.largeReceived > 0, 'some reads carried one segment of several MSS');
      assert.ok(k.bytesReceived / k.framesReceived > net.mtu,
        `frames average more than one MTU (${(k.bytesReceived / k.framesReceived).toFixed(0)} bytes)`);
      const st = net.stack.stats();
      assert.is(st.tcp.chkerr + st.ip.chkerr, 0);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { ms: 60_000, tools: ['socat'] });

tapTest('offload: false: one frame per MTU, every checksum checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-tap-'));
  try {
    await withTapNet({ tapOptions: { offload: false } }, async (net) => {
      assert.is(net.link.offload, false);
      const want = await serveFile(net, dir, 7302, 3);
      const s = await connectKernel(net, 7302);
      const got = await drainToEof(s, 1024 * 1024);
      s.close();
      assert.is(got.hash, want);
      const k = net.link.counters;
      assert.is(k.largeReceived, 0);
      assert.ok(k.bytesReceived / k.framesReceived <= net.mtu + 14);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { ms: 60_000, tools: ['socat'] });

/** Sends SIZE seeded bytes from the stack to a socat sink in the namespace that hashes them. */
async function sendToKernel(net, port, family, seed) {
  const sink = net.spawn('sh', ['-c', `socat -u TCP6-LISTEN:${port},reuseaddr,ipv6only=0 STDOUT | sha256sum`]);
  await waitListening(net, port);
  const c = await connectKernel(net, port, family);
  const data = randomBytes(SIZE, seed);
  for (let off = 0; off < SIZE; off += 1024 * 1024) await c.send(data.subarray(off, off + 1024 * 1024));
  c.shutdown(SHUT_WR);
  assert.is((await c.recv()).length, 0, 'socat closes after our FIN');
  c.close();
  const done = await sink.done;
  return { got: done.stdout.split(' ')[0], want: sha256(data) };
}

tapTest('offload on: the stack sends the kernel segments of several MSS, which it takes whole (IPv4 and IPv6)', async () => {
  await withTapNet({}, async (net) => {
    for (const [family, port] of [[4, 7320], [6, 7321]]) {
      const before = net.link.counters;
      const r = await sendToKernel(net, port, family, port);
      assert.is(r.got, r.want, `IPv${family}: the kernel received the same bytes`);
      const k = net.link.counters;
      const avg = (k.bytesSent - before.bytesSent) / (k.framesSent - before.framesSent);
      assert.ok(avg > 4 * net.mtu, `IPv${family}: frames written average ${avg.toFixed(0)} bytes, several MTU`);
    }
  });
}, { ms: 60_000, tools: ['socat', 'sha256sum'] });

tapTest('offload on: with 3% of segments dropped each way, 16 MiB echoes back intact, five times', async () => {
  await withTapNet({}, async (net) => {
    // Each drop loses one skb: with offload, a whole segment of up to 44 MSS, which is
    // then resent in the pieces the congestion window allows (one MSS after a timeout).
    const rules = 'table inet lwt { chain lwin { type filter hook input priority 0; ' +
      'tcp dport 7330 numgen random mod 100 < 3 counter drop; }; chain lwout { type filter hook output priority 0; ' +
      'tcp sport 7330 numgen random mod 100 < 3 counter drop; }; }';
    const nft = await net.run('nft', [rules]);
    assert.is(nft.code, 0, nft.stderr);
    net.spawn('socat', ['TCP-LISTEN:7330,reuseaddr,fork', 'EXEC:cat']);
    await waitListening(net, 7330);
    for (let round = 0; round < 5; round++) {
      const data = randomBytes(SIZE, 30 + round);
      const c = await connectKernel(net, 7330);
      const reader = drainToEof(c, 1 << 20);
      for (let off = 0; off < SIZE; off += 1024 * 1024) await c.send(data.subarray(off, off + 1024 * 1024));
      c.shutdown(SHUT_WR);
      const back = await reader;
      c.close();
      assert.is(back.hash, sha256(data), `round ${round}: the kernel echoed everything, intact`);
    }
    const listed = await net.run('nft', ['list', 'ruleset']);
    const drops = [...listed.stdout.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
    assert.ok(drops.length === 2 && drops.every((d) => d > 0), `segments were dropped both ways: ${drops.join(', ')}`);
  });
}, { ms: 90_000, tools: ['socat', 'nft'] });

tapTest('a capture around the TAP link changes nothing: offload stays on, and the pcap shows the large segments', async () => {
  const chunks = [];
  const sink = { write: (b) => { chunks.push(Uint8Array.from(b)); return true; } };
  await withTapNet({ wrap: (l) => capture(l, sink) }, async (net) => {
    assert.is(net.link.offload, true);
    const r = await sendToKernel(net, 7340, 4, 5);
    assert.is(r.got, r.want);
  });
  // pcap records: a 24-byte file header, then per packet 16 bytes whose third word is the captured length
  const pcap = Buffer.concat(chunks);
  let largest = 0;
  for (let off = 24; off + 16 <= pcap.length;) {
    const incl = pcap.readUInt32LE(off + 8);
    largest = Math.max(largest, incl);
    off += 16 + incl;
  }
  assert.ok(largest > 1514, `the capture holds frames over one MTU (largest ${largest} bytes)`);
}, { ms: 60_000, tools: ['socat', 'sha256sum'] });

test('openTap refuses a non-boolean offload', async () => {
  const { openTap } = await import('../dist/tap.js');
  assert.throws(() => openTap({ offload: 'yes' }), (e) => e instanceof TypeError && /offload must be a boolean/.test(e.message));
});

tapTest('a router stack cuts the kernel\'s segments to the MTU and completes their checksums before forwarding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-tap-'));
  try {
    await withTapNet({}, async (net) => {
      // kernel (ns) --TAP-- router (net.stack) --pair, checksums checked-- host b
      const router = net.stack;
      router.setForwarding(true);
      const [ra, rb] = createPair({ offload: false });
      router.addInterface(ra, { ip: '10.88.0.1/24', ipv6: 'fd88::1/64' });
      const b = await createStack({ seed: 88 });
      b.addInterface(rb, { ip: '10.88.0.2/24', ipv6: 'fd88::2/64', gateway: '10.88.0.1' });
      b.addRoute({ to: '::/0', via: 'fd88::1' });
      ip('-n', net.ns, 'route', 'add', '10.88.0.0/24', 'via', net.stack4);
      ip('-n', net.ns, '-6', 'route', 'add', 'fd88::/64', 'via', net.stack6);
      for (const [family, port, kernel] of [[4, 7310, net.kernel4], [6, 7311, net.kernel6]]) {
        const want = await serveFile(net, dir, port, port);
        const s = b.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM);
        await s.connect(kernel, port);
        const got = await drainToEof(s, 1024 * 1024);
        s.close();
        assert.is(got.bytes, SIZE);
        assert.is(got.hash, want, `IPv${family}: the same bytes through the router`);
      }
      // A datagram the kernel leaves with a partial checksum reaches b complete.
      const u = b.socket(AF_INET, SOCK_DGRAM);
      u.bind('0.0.0.0', 9999);
      const sent = await net.run('sh', ['-c', 'printf offloaded | socat -u - UDP:10.88.0.2:9999']);
      assert.is(sent.code, 0, sent.stderr);
      const d = await u.recvfrom(64, { timeout: 5000 });
      assert.is(new TextDecoder().decode(d.data), 'offloaded');
      u.close();
      assert.ok(net.link.counters.largeReceived > 0, 'the router was handed segments of several MSS');
      const bs = b.stats();
      assert.is(bs.tcp.chkerr + bs.udp.chkerr + bs.ip.chkerr + bs.ip6.chkerr, 0, 'b found every checksum right');
      assert.is(bs.link.drop, 0, 'b was sent nothing over its MTU');
      b.dispose();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, { ms: 60_000, tools: ['socat'] });

test.run();
