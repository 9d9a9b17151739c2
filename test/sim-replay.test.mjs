// A simulated network replays from its seed: the same description, workload and seed give
// byte-identical captures on every segment, through routers, NAT, the name service,
// random loss and reordering, connection toxics, a crash and the application's own
// timers; another seed gives another run. tshark reads the captures.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { createNetwork } from '../dist/sim.js';
import { AF_INET, SOCK_STREAM, SOCK_DGRAM, SOL_SOCKET, SO_REUSEADDR } from '../dist/index.js';
import { it, test, assert } from './helpers.mjs';

const TSHARK = process.env.TSHARK_PATH ?? '/usr/bin/tshark';
const haveTshark = existsSync(TSHARK);
if (!haveTshark) console.log(`skipping the tshark check: no tshark at ${TSHARK} (apt-get install tshark; make test installs it)`);

/** Runs the workload on a fresh network; resolves each segment's pcap digest and what the app saw. */
async function workload(seed) {
  const net = await createNetwork({
    seed,
    capture: true,
    segments: { wan: { subnet: '172.16.9.0/29', delay: 15, jitter: 5 } },
    hosts: {
      laptop: 'home',
      gw: { on: ['home', 'wan'], nat: 'home' },
      edge: { on: ['wan', 'dc'], router: true },
      api: 'dc',
      db: 'dc',
    },
    software: {
      db: async (host) => {
        const l = host.stack.socket(AF_INET, SOCK_STREAM);
        l.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        l.bind('0.0.0.0', 5432);
        l.listen(16);
        for (;;) {
          const s = await l.accept();
          (async () => {
            for (let d = await s.recv(); d.length > 0; d = await s.recv()) await s.send(d);
            s.close();
          })().catch(() => {});
        }
      },
      api: async (host) => {
        const u = host.stack.socket(AF_INET, SOCK_DGRAM);
        u.bind('0.0.0.0', 8125);
        for (;;) {
          const m = await u.recvfrom();
          u.sendtoSync(`ack ${new TextDecoder().decode(m.data)}`, m.address, m.port);
        }
      },
    },
  });
  try {
    const seen = await net.run(async () => {
      const out = [];
      net.impair({ between: ['gw', 'edge'] }, { loss: 0.05, reorder: 0.05, duplicate: 0.02 });
      net.toxic({ to: 'db' }, { type: 'slicer', averageSize: 300, sizeVariation: 200, delay: 1 });
      const laptop = net.host('laptop').stack;
      // the app's own retry loop, on setTimeout: UDP until an answer comes
      const u = laptop.socket(AF_INET, SOCK_DGRAM);
      const api = (await laptop.resolve('api')).address;
      for (let i = 0; ; i++) {
        u.sendtoSync(`hello ${i}`, api, 8125);
        const got = await u.recvfrom(1500, { timeout: 200 }).catch(() => null);
        if (got) {
          out.push(new TextDecoder().decode(got.data));
          break;
        }
        await new Promise((r) => setTimeout(r, 100 * 2 ** i));
      }
      // TCP through NAT and the lossy WAN
      const db = (await laptop.resolve('db')).address;
      const c = laptop.socket(AF_INET, SOCK_STREAM);
      await c.connect(db, 5432);
      const payload = new Uint8Array(30_000).map((_, i) => i & 255);
      const reading = (async () => {
        let n = 0;
        while (n < payload.length) n += (await c.recv()).length;
        return n;
      })();
      await c.send(payload);
      out.push(await reading);
      // the database crashes mid-session and comes back
      net.crash('db');
      await c.send('lost?');
      await new Promise((r) => setTimeout(r, 2000));
      await net.restart('db');
      out.push(await c.recv().then(() => 'data', (e) => e.code));
      c.close();
      out.push(Date.now());
      return out;
    });
    const digests = Object.fromEntries(net.segments.map((s) => [s, createHash('sha256').update(net.pcap(s)).digest('hex')]));
    return { seen, digests, pcaps: Object.fromEntries(net.segments.map((s) => [s, net.pcap(s)])), errors: net.errors };
  } finally {
    net.close();
  }
}

it('two runs with the same seed give identical pcaps on every segment; another seed does not', async () => {
  const a = await workload(99);
  const b = await workload(99);
  assert.equal(a.errors, []);
  assert.is(a.seen[1], 30_000);
  assert.is(a.seen[2], 'ECONNRESET', 'the rebooted database resets the old session');
  assert.equal(b.seen, a.seen, 'the application saw the same things at the same virtual times');
  assert.equal(Object.keys(a.digests), ['wan', 'home', 'dc'], 'segments described first, then as hosts name them');
  for (const s of Object.keys(a.digests)) {
    assert.ok(a.pcaps[s].length > 5000, `${s}: ${a.pcaps[s].length} bytes captured`);
    assert.is(b.digests[s], a.digests[s], `segment ${s}: the same bytes`);
  }
  const c = await workload(100);
  assert.not.equal(c.digests, a.digests, 'seed 100: another run');
  if (haveTshark) {
    const dir = mkdtempSync(join(tmpdir(), 'lwip-sim-'));
    try {
      const file = join(dir, 'wan.pcap');
      writeFileSync(file, a.pcaps.wan);
      const out = execFileSync(TSHARK, ['-r', file, '-n', '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      const protocols = out.split('\n').filter(Boolean);
      assert.ok(protocols.some((p) => p.includes(':tcp')), 'TCP on the WAN');
      assert.ok(protocols.some((p) => p.includes(':udp')), 'UDP on the WAN');
      const dc = join(dir, 'dc.pcap');
      writeFileSync(dc, a.pcaps.dc);
      const dns = execFileSync(TSHARK, ['-r', dc, '-n', '-Y', 'dns', '-T', 'fields', '-e', 'dns.qry.name'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.is(typeof dns, 'string');
      const home = join(dir, 'home.pcap');
      writeFileSync(home, a.pcaps.home);
      const names = execFileSync(TSHARK, ['-r', home, '-n', '-Y', 'dns.flags.response == 1', '-T', 'fields', '-e', 'dns.qry.name', '-e', 'dns.a'], { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      assert.match(names, /api\t10\.0\.\d+\.\d+/, 'the name service answered for api');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}, 60_000);

test.run();
