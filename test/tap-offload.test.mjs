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
import { AF_INET, AF_INET6, SOCK_DGRAM, SOCK_STREAM, createPair } from '../dist/index.js';
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
