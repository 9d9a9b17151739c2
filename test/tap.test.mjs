// The TAP link itself: the addon opens, configures and closes devices; errors say what
// is missing; the Link contract (batched frames in, batched frames out, backpressure,
// close on device loss) holds against the kernel; nothing is left behind.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openTap, TapError } from '../dist/tap.js';
import { sleep, waitUntil } from './helpers.mjs';
import {
  tapTest, ip, deviceExists, namespaceExists, uniqueNames, sweepStale, withTapNet, tapSkipReason,
} from './util-tap.mjs';

if (!tapSkipReason()) sweepStale();

function throwsTap(fn, code, msg) {
  let threw;
  try {
    fn();
  } catch (err) {
    threw = err;
  }
  assert.ok(threw instanceof TapError, `${msg}: expected TapError ${code}, got ${threw && threw.stack ? threw.stack : String(threw)}`);
  assert.is(threw.code, code, `${msg}: expected ${code}, got ${threw.code} (${threw.message})`);
  return threw;
}

/** Closes the link if the test did not, and deletes a device of that name if one is left. */
function cleanupDevice(link, name) {
  try {
    link?.close();
  } catch {
    // keep cleaning
  }
  if (name && deviceExists(name)) ip('link', 'del', name);
}

test('bad options throw TypeError/RangeError before anything is opened', () => {
  assert.throws(() => openTap({ name: 'a-name-longer-than-15' }), (e) => e instanceof TypeError && /1 to 15 bytes/.test(e.message));
  assert.throws(() => openTap({ name: 'ta/p' }), TypeError);
  assert.throws(() => openTap({ name: 7 }), TypeError);
  assert.throws(() => openTap({ name: '..' }), TypeError);
  assert.throws(() => openTap({ attach: true }), (e) => e instanceof TypeError && /attach needs the name/.test(e.message));
  assert.throws(() => openTap({ mtu: 100 }), (e) => e instanceof RangeError && /576 to 65521/.test(e.message));
  assert.throws(() => openTap({ mtu: 1500.5 }), RangeError);
  assert.throws(() => openTap({ highWaterMark: 0 }), RangeError);
  assert.throws(() => openTap(null), TypeError);
});

test('a missing addon gives ELIBACC (ENOSYS off Linux) saying how to build it', () => {
  const err = throwsTap(() => openTap({ addon: '/nonexistent/lwip-wasm/tap.node' }),
    process.platform === 'linux' ? 'ELIBACC' : 'ENOSYS', 'missing addon');
  if (process.platform === 'linux') {
    assert.match(err.message, /no TAP addon at \/nonexistent/);
    assert.match(err.message, /npx node-gyp rebuild --directory \S+native\/tap/);
    assert.match(err.message, /python3, make/);
  }
});

// A checkout that cannot compile the addon still builds: native/tap/build.mjs says why and
// exits 0, and --strict (what `npm pack` runs) fails. Run on a copy of the sources, with a
// C compiler that always fails.
const linuxTest = process.platform === 'linux' ? test : test.skip;
linuxTest('a failed addon build is reported and exits 0 (so make goes on); --strict fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-tap-build-'));
  try {
    for (const f of ['binding.gyp', 'tap.c']) {
      copyFileSync(fileURLToPath(new URL(`../native/tap/${f}`, import.meta.url)), join(dir, f));
    }
    const script = fileURLToPath(new URL('../native/tap/build.mjs', import.meta.url));
    const env = { ...process.env, CC: '/bin/false', CXX: '/bin/false' };
    const r = spawnSync(process.execPath, [script, dir], { env, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, `exit status ${r.status}: ${r.stderr.slice(-500)}`);
    assert.match(r.stderr, /the TAP addon was not built/);
    assert.match(r.stderr, /make addon/);
    assert.not.ok(existsSync(join(dir, 'prebuilds', `linux-${process.arch}`, 'tap.glibc.node')));
    const strict = spawnSync(process.execPath, [script, '--strict', dir], { env, encoding: 'utf8', timeout: 60_000 });
    assert.is(strict.status, 1, '--strict turns the failure into an exit status');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

tapTest('no name: the kernel picks tapN, the link reads its MTU, and close removes the device', () => {
  const link = openTap();
  try {
    assert.match(link.name, /^tap\d+$/);
    assert.is(link.mtu, 1500, 'a new TAP device starts at MTU 1500');
    const show = ip('-d', 'link', 'show', 'dev', link.name);
    assert.match(show, /tun type tap pi off/, 'an IFF_TAP|IFF_NO_PI device');
    assert.ok(show.startsWith(`${link.ifindex}: ${link.name}:`), `ifindex ${link.ifindex} matches ip link: ${show}`);
  } finally {
    link.close();
  }
  assert.ok(link.closed);
  assert.not.ok(deviceExists(link.name), 'a device the link created is gone after close');
});

tapTest('CJS entry: an open link keeps Node alive like a socket; unref() lets it exit', async () => {
  const cjs = fileURLToPath(new URL('../dist/tap.cjs', import.meta.url));
  const prog = (unref) => `const { openTap } = require(${JSON.stringify(cjs)});
    const l = openTap(); console.log(l.name); ${unref ? 'l.unref();' : ''}`;
  const started = Date.now();
  const quits = spawnSync(process.execPath, ['-e', prog(true)], { encoding: 'utf8', timeout: 10_000 });
  assert.is(quits.status, 0, `unref'd: ${quits.stderr}`);
  assert.match(quits.stdout, /^tap\d+/);
  assert.ok(Date.now() - started < 9000, 'exited by itself');
  assert.not.ok(deviceExists(quits.stdout.trim()), 'its device went with it');
  const stays = spawnSync(process.execPath, ['-e', prog(false)], { encoding: 'utf8', timeout: 1500, killSignal: 'SIGKILL' });
  assert.is(stays.signal, 'SIGKILL', 'an open, ref\'d link kept the process running until killed');
  await waitUntil(() => !deviceExists(stays.stdout.trim()), 2000, 20);
  assert.not.ok(deviceExists(stays.stdout.trim()), 'the kernel removed the killed process\'s device');
});

tapTest('mtu and up options configure the device', () => {
  const { dev } = uniqueNames();
  let link;
  try {
    link = openTap({ name: dev, mtu: 9000, up: true });
    assert.is(link.name, dev);
    assert.is(link.mtu, 9000);
    const show = ip('link', 'show', 'dev', dev);
    assert.match(show, /mtu 9000 /);
    assert.match(show, /<[^>]*\bUP\b[^>]*>/, `device is up: ${show}`);
  } finally {
    cleanupDevice(link, dev);
  }
});

tapTest('kernel errors: ENODEV, EINVAL (not a TAP), EBUSY (already attached), each saying what to do', () => {
  const { dev } = uniqueNames();
  const tun = `${dev}u`.slice(0, 15);
  let link;
  try {
    const nodev = throwsTap(() => openTap({ name: dev, attach: true }), 'ENODEV', 'attach to a missing device');
    assert.match(nodev.message, new RegExp(`ip tuntap add dev ${dev} mode tap user`));
    assert.not.ok(deviceExists(dev), 'attach never creates');
    const lo = throwsTap(() => openTap({ name: 'lo' }), 'EINVAL', 'lo is not a TAP device');
    assert.match(lo.message, /lo exists but is not a TAP device/);
    ip('tuntap', 'add', 'dev', tun, 'mode', 'tun');
    throwsTap(() => openTap({ name: tun, attach: true }), 'EINVAL', 'a TUN device is not a TAP device');
    link = openTap({ name: dev });
    const busy = throwsTap(() => openTap({ name: dev }), 'EBUSY', 'second reader');
    assert.match(busy.message, /already attached/);
    assert.is(busy.syscall, 'TUNSETIFF');
  } finally {
    cleanupDevice(link, dev);
    if (deviceExists(tun)) ip('tuntap', 'del', 'dev', tun, 'mode', 'tun');
  }
});

/** Runs code as user nobody (no capabilities) in a child Node; resolves its JSON output. */
function asNobody(code) {
  const prog = `
    process.setgroups([]); process.setgid(65534); process.setuid(65534);
    const { openTap } = await import(${JSON.stringify(new URL('../dist/tap.js', import.meta.url).href)});
    const out = {};
    try { ${code} } catch (e) { out.error = { name: e.name, code: e.code, message: e.message }; }
    console.log(JSON.stringify(out));`;
  const stdout = execFileSync(process.execPath, ['--input-type=module', '-e', prog], { encoding: 'utf8', timeout: 15_000 });
  return JSON.parse(stdout.trim().split('\n').pop());
}

tapTest('without CAP_NET_ADMIN: creating gives EPERM naming CAP_NET_ADMIN and `ip tuntap add ... user`', () => {
  const { dev } = uniqueNames();
  const out = asNobody(`openTap({ name: ${JSON.stringify(dev)} });`);
  assert.ok(out.error, `expected an error, got ${JSON.stringify(out)}`);
  assert.is(out.error.name, 'TapError');
  assert.is(out.error.code, 'EPERM');
  assert.match(out.error.message, /CAP_NET_ADMIN/);
  assert.match(out.error.message, new RegExp(`ip tuntap add dev ${dev} mode tap user \\$USER`));
  assert.not.ok(deviceExists(dev));
}, { unprivileged: true });

tapTest('without CAP_NET_ADMIN: a persistent device owned by the user attaches; setting its MTU is EPERM', () => {
  const { dev } = uniqueNames();
  try {
    ip('tuntap', 'add', 'dev', dev, 'mode', 'tap', 'user', 'nobody');
    ip('link', 'set', dev, 'mtu', '4000');
    const ok = asNobody(`const l = openTap({ name: ${JSON.stringify(dev)}, attach: true });
      out.name = l.name; out.mtu = l.mtu; l.close();`);
    assert.equal(ok, { name: dev, mtu: 4000 }, 'attached as nobody, MTU read from the device');
    assert.ok(deviceExists(dev), 'closing leaves a persistent device in place');
    const denied = asNobody(`openTap({ name: ${JSON.stringify(dev)}, attach: true, mtu: 9000 });`);
    assert.is(denied.error?.code, 'EPERM', JSON.stringify(denied));
    assert.match(denied.error.message, /CAP_NET_ADMIN/);
    assert.match(denied.error.message, new RegExp(`ip link set ${dev} mtu 9000`));
    const other = asNobody(`openTap({ name: 'lo', attach: true });`);
    assert.is(other.error?.code, 'EINVAL', 'lo is still not a TAP device');
  } finally {
    if (deviceExists(dev)) ip('tuntap', 'del', 'dev', dev, 'mode', 'tap');
  }
}, { unprivileged: true });

/** A raw receiver: collects frames and drain/close calls. */
function rawReceiver() {
  const r = { frames: [], batches: [], drains: 0, closes: [] };
  r.onFrames = (frames) => {
    r.batches.push(frames.length);
    r.frames.push(...frames);
  };
  r.onDrain = () => { r.drains++; };
  r.onClose = (err) => { r.closes.push(err ?? null); };
  return r;
}

const MAC = (s) => Uint8Array.from(s.split(':'), (h) => parseInt(h, 16));
const ipBytes = (s) => Uint8Array.from(s.split('.'), Number);

/** An ARP reply frame: `ip` is at `mac`, sent to the kernel (tmac/tip). */
function arpReply(mac, ipAddr, tmac, tip) {
  const f = new Uint8Array(60);
  f.set(tmac, 0);
  f.set(mac, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2], 12);
  f.set(mac, 22);
  f.set(ipAddr, 28);
  f.set(tmac, 32);
  f.set(tip, 38);
  return f;
}

/** Builds a namespace holding only the device (no stack), with the given link options. */
async function withRawNet(opts, fn) {
  const { ns, dev } = uniqueNames();
  let link;
  ip('netns', 'add', ns);
  try {
    link = openTap({ name: dev, ...opts });
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'addr', 'add', '10.78.0.1/24', 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    const kmac = MAC(/link\/ether ([0-9a-f:]{17})/.exec(ip('-n', ns, 'link', 'show', 'dev', dev))[1]);
    return await fn({ ns, dev, link, kmac });
  } finally {
    link?.close();
    try {
      ip('netns', 'del', ns);
    } catch {
      // the cleanup test reports leftovers
    }
  }
}

tapTest('frames both ways: the kernel ARPs through the link and learns the answer we write', async () => {
  await withRawNet({}, async ({ ns, dev, link, kmac }) => {
    const r = rawReceiver();
    link.attach(r);
    // The kernel asks for 10.78.0.9 (ping runs in the background: nobody answers yet).
    const pinger = execFileSync('sh', ['-c', `ip netns exec ${ns} ping -c 1 -W 1 10.78.0.9 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const isArpFor = (f) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x06 && f[21] === 1 &&
      f.subarray(38, 42).join('.') === '10.78.0.9';
    assert.ok(await waitUntil(() => r.frames.some(isArpFor), 3000), `an ARP request for 10.78.0.9 arrived (${r.frames.length} frames)`);
    const req = r.frames.find(isArpFor);
    assert.equal([...req.subarray(6, 12)], [...kmac], 'sent from the kernel side of the device');
    const mine = MAC('02:00:00:00:78:09');
    assert.ok(link.send(arpReply(mine, ipBytes('10.78.0.9'), kmac, ipBytes('10.78.0.1'))));
    const learnt = await waitUntil(() => /lladdr 02:00:00:00:78:09/.test(ip('-n', ns, 'neigh', 'show', '10.78.0.9', 'dev', dev)), 3000, 20);
    assert.ok(learnt, 'the kernel learnt our MAC from the frame we wrote');
    try {
      process.kill(Number(pinger.trim()));
    } catch {
      // ping exited already
    }
    assert.is(r.closes.length, 0);
  });
});

tapTest('batches: a burst from the kernel arrives in few calls; a turn of sends is one write call', async () => {
  await withRawNet({}, async ({ ns, dev, link, kmac }) => {
    const r = rawReceiver();
    link.attach(r);
    const mine = MAC('02:00:00:00:78:09');
    ip('-n', ns, 'neigh', 'add', '10.78.0.9', 'lladdr', '02:00:00:00:78:09', 'dev', dev, 'nud', 'permanent');
    // Node's loop is blocked while the kernel sends 300 datagrams to our MAC, so they wait
    // in the device's queue (txqueuelen 1000) and are read in batches of up to 256.
    const before = link.counters;
    const nBefore = r.frames.length;
    const burst = `const s = require('dgram').createSocket('udp4'); let n = 0;
      const next = () => { if (n++ < 300) s.send(Buffer.alloc(100, 7), 9999, '10.78.0.9', next); else s.close(); }; next();`;
    execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', burst], { timeout: 10_000 });
    const isBurst = (f) => f.length === 142 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 17;
    assert.ok(await waitUntil(() => r.frames.slice(nBefore).filter(isBurst).length >= 300, 3000),
      `all 300 datagrams arrived (${r.frames.slice(nBefore).filter(isBurst).length})`);
    const after = link.counters;
    const batches = after.readBatches - before.readBatches;
    assert.ok(batches <= 4, `300 frames in ${batches} read batches`);
    assert.ok(Math.max(...r.batches) >= 100, `largest batch ${Math.max(...r.batches)} frames`);

    // Ten frames sent in one turn: one write call into the addon.
    const w0 = link.counters;
    for (let i = 0; i < 10; i++) link.send(arpReply(mine, ipBytes('10.78.0.9'), kmac, ipBytes('10.78.0.1')));
    await sleep(10);
    const w1 = link.counters;
    assert.is(w1.framesSent - w0.framesSent, 10);
    assert.is(w1.writeCalls - w0.writeCalls, 1, 'one call wrote the whole turn');
  });
});

tapTest('backpressure: send returns false above highWaterMark, and onDrain follows once written', async () => {
  await withRawNet({ highWaterMark: 200 }, async ({ link, kmac }) => {
    const r = rawReceiver();
    link.attach(r);
    const mine = MAC('02:00:00:00:78:09');
    const results = [];
    for (let i = 0; i < 6; i++) results.push(link.send(arpReply(mine, ipBytes('10.78.0.9'), kmac, ipBytes('10.78.0.1'))));
    assert.equal(results, [true, true, true, false, false, false], '60-byte frames: the 4th passes 200 bytes');
    assert.is(r.drains, 0, 'no drain before the queue is written');
    assert.ok(await waitUntil(() => r.drains === 1, 2000), 'onDrain once the queue went to the kernel');
    assert.is(link.counters.framesSent, 6, 'every frame was still taken');
    assert.ok(link.send(arpReply(mine, ipBytes('10.78.0.9'), kmac, ipBytes('10.78.0.1'))), 'room again');
  });
});

tapTest('deleting the device closes the link with an error; frames sent after close are dropped', async () => {
  await withRawNet({}, async ({ ns, dev, link }) => {
    const r = rawReceiver();
    link.attach(r);
    ip('-n', ns, 'link', 'del', dev);
    assert.ok(await waitUntil(() => r.closes.length > 0, 3000), 'onClose was called');
    const err = r.closes[0];
    assert.ok(err instanceof TapError, `closed with a TapError, got ${err}`);
    assert.match(err.code, /^(EBADFD|EIO)$/, `code ${err.code}: ${err.message}`);
    assert.match(err.message, /deleted or detached/);
    assert.ok(link.closed);
    assert.is(link.send(new Uint8Array(60)), false);
    assert.is(link.counters.dropped, 1);
    assert.is(r.closes.length, 1, 'onClose once');
  });
});

tapTest('cleanup: after a test, even a failing one, no device and no namespace remain', async () => {
  let names;
  let threw;
  try {
    await withTapNet({}, async (net) => {
      names = { ns: net.ns, dev: net.dev };
      assert.ok(namespaceExists(net.ns));
      assert.match(ip('-n', net.ns, 'link', 'show', 'dev', net.dev), /UP/);
      net.spawn('sleep', ['30']);
      throw new Error('the test failed');
    });
  } catch (err) {
    threw = err;
  }
  assert.is(threw?.message, 'the test failed');
  assert.not.ok(namespaceExists(names.ns), `namespace ${names.ns} is gone`);
  assert.not.ok(deviceExists(names.dev), `device ${names.dev} is gone`);
  const leftovers = ip('netns', 'list').split('\n').filter((l) => l.startsWith(`lwt-${process.pid % 1_000_000}-`));
  assert.equal(leftovers, [], 'no namespace of this run is left');
});

test.run();
