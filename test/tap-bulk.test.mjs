// Bulk TCP through the TAP device at MTU 1500 and 9000: the stack connects out to a
// kernel socat and 64 MiB goes each way, checked with SHA-256 on both sides. Full-size
// frames pass both ways, and both ends agree on the MSS the MTU allows.
import { writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHUT_WR } from '../dist/index.js';
import { randomBytes, sha256, drainToEof } from './helpers.mjs';
import { tapTest, withTapNet, waitListening, connectKernel, sweepStale, tapSkipReason } from './util-tap.mjs';

if (!tapSkipReason()) sweepStale();

const SIZE = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;
// The stack's TCP_MSS ceiling is 8960, which MTU 9000 reaches exactly (9000 - 40).
const MSS = { 1500: 1460, 9000: 8960 };

/** The kernel's view of its one TCP connection on port: { mss, snd_mss... } from `ss -ti`. */
async function kernelMss(net, port) {
  const r = await net.run('ss', ['-Htin', `( sport = :${port} or dport = :${port} )`], { timeout: 5000 });
  const m = /\bmss:(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

for (const mtu of [1500, 9000]) {
  tapTest(`MTU ${mtu}: full-size frames pass both ways; the kernel sees MSS ${MSS[mtu]}`, async () => {
    await withTapNet({ mtu }, async (net) => {
      assert.is(net.link.mtu, mtu);
      assert.is(net.iface.mtu, mtu, 'the interface takes the link MTU');
      // ping -M do: no fragmentation, so a reply proves a full-MTU frame each way.
      const r = await net.run('ping', ['-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', String(mtu - 28), net.stack4]);
      assert.is(r.code, 0, `full-size ping failed: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, new RegExp(`${mtu - 20} bytes from ${net.stack4.replace(/\./g, '\\.')}`));
      const over = await net.run('ping', ['-c', '1', '-W', '1', '-M', 'do', '-s', String(mtu - 27), net.stack4]);
      assert.is.not(over.code, 0, 'one byte more does not fit the device MTU');
      const r6 = await net.run('ping', ['-6', '-c', '2', '-i', '0.2', '-W', '2', '-M', 'do', '-s', String(mtu - 48), net.stack6]);
      assert.is(r6.code, 0, `full-size IPv6 ping failed: ${r6.stdout}${r6.stderr}`);
    });
  }, { tools: ['ping'] });

  tapTest(`MTU ${mtu}: 64 MiB stack to kernel socat and 64 MiB kernel socat to stack, SHA-256 checked`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lwip-tap-'));
    try {
      await withTapNet({ mtu }, async (net) => {
        // Stack -> kernel: socat writes what arrives into sha256sum.
        const up = net.spawn('sh', ['-c', 'socat -u TCP-LISTEN:7200,reuseaddr STDOUT | sha256sum']);
        await waitListening(net, 7200);
        const c = await connectKernel(net, 7200);
        const chunk = randomBytes(CHUNK, mtu);
        const h = (await import('node:crypto')).createHash('sha256');
        for (let sent = 0, i = 0; sent < SIZE; sent += CHUNK, i++) {
          chunk[0] = i & 0xff; // every MiB differs, so a repeated or dropped chunk shows
          h.update(chunk);
          await c.send(chunk);
        }
        // ss's mss is what one segment carries: the advertised MSS less the 12-byte timestamp option
        assert.is(await kernelMss(net, 7200), MSS[mtu] - 12, 'the kernel sends segments of the MSS the stack advertised');
        c.shutdown(SHUT_WR);
        assert.is((await c.recv()).length, 0, 'socat closes after our FIN');
        c.close();
        const upDone = await up.done;
        assert.is(upDone.stdout.split(' ')[0], h.digest('hex'), 'the kernel received the same 64 MiB');

        // Kernel -> stack: socat serves a file of seeded bytes.
        const file = join(dir, 'down.bin');
        const data = randomBytes(SIZE, mtu + 1);
        writeFileSync(file, data);
        const want = sha256(data);
        const down = net.spawn('socat', ['-u', `OPEN:${file}`, 'TCP-LISTEN:7201,reuseaddr']);
        await waitListening(net, 7201);
        const d = await connectKernel(net, 7201);
        const got = await drainToEof(d, 1024 * 1024);
        d.close();
        assert.is(got.bytes, SIZE);
        assert.is(got.hash, want, 'the stack received the same 64 MiB');
        await down.done;
        const k = net.link.counters;
        assert.is(k.dropped, 0);
        assert.ok(k.framesReceived / k.readBatches > 1 && k.framesSent / k.writeCalls > 1,
          `frames cross the addon in batches: ${(k.framesReceived / k.readBatches).toFixed(1)} per read, ` +
          `${(k.framesSent / k.writeCalls).toFixed(1)} per write`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, { ms: 90_000, tools: ['socat', 'sha256sum'] });
}

test.run();
