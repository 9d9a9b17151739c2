// The shipped command: `lwip-wasm relay ...` starts a relay, prints its URL, serves
// /metrics, refuses bad arguments with exit code 2, and stops cleanly on SIGTERM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { it } from './helpers.mjs';
import { rawClient, until } from './relay-util.mjs';

const BIN = fileURLToPath(new URL('../bin/lwip-wasm.mjs', import.meta.url));

function run(args) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', code: null, child };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  out.exited = new Promise((r) => child.on('exit', (code) => { out.code = code; r(code); }));
  return out;
}

it('relay --mode hub --port 0: prints its URL, carries frames, reports /metrics, and exits 0 on SIGTERM', async () => {
  const p = run(['relay', '--mode', 'hub', '--port', '0', '--token', 'tok', '--max-clients', '3']);
  try {
    await until(() => /relay ws:\/\//.test(p.stdout), 10_000, 'the URL on stdout');
    const url = /relay (ws:\/\/\S+)/.exec(p.stdout)[1];
    const a = await rawClient(url, { token: 'tok' }).open();
    const b = await rawClient(url, { token: 'tok' }).open();
    const frame = new Uint8Array(60);
    frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x06]);
    // A well-formed ARP request from a's own MAC and address.
    frame.set([0, 1, 8, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 0x0a, 10, 1, 0, 10, 0, 0, 0, 0, 0, 0, 10, 1, 0, 11], 14);
    a.send(frame);
    const got = await b.next();
    assert.equal(Array.from(got.subarray(0, 42)), Array.from(frame.subarray(0, 42)));
    const m = await (await fetch(`${url.replace(/^ws/, 'http')}metrics?token=tok`)).json();
    assert.is(m.mode, 'hub');
    assert.is(m.clients, 2);
    assert.is(m.framesIn, 1);
    assert.match(p.stderr, /client 1: connected/);
    a.close();
    b.close();
    p.child.kill('SIGTERM');
    assert.is(await p.exited, 0);
  } finally {
    if (p.code === null) p.child.kill('SIGKILL');
  }
}, 20_000);

it('bad arguments exit 2 with the usage; --help exits 0', async () => {
  for (const args of [['relay', '--mode', 'bridge'], ['relay', '--port', 'x'], ['relay', '--allow', '10.0.0.0/33'], ['relay', '--bogus'], ['frobnicate']]) {
    const p = run(args);
    const code = await p.exited;
    assert.is(code, args[1] === '--allow' ? 1 : 2, args.join(' '));
    assert.match(p.stderr, args[1] === '--allow' ? /bad rule '10\.0\.0\.0\/33'/ : /Usage: lwip-wasm relay/);
  }
  const help = run(['relay', '--help']);
  assert.is(await help.exited, 0);
  assert.match(help.stdout, /--mode nat\|hub\|tap/);
}, 20_000);

it('every createRelay option has a flag, and each flag lands on its option', async () => {
  const { parseRelayArgs } = await import('../dist/relay.js');
  const o = parseRelayArgs([
    '--port', '0', '--host', '127.0.0.1', '--mode', 'nat', '--token', 't', '--origin', 'http://a.test,http://b.test',
    '--allow', 'tcp/127.0.0.1:80', '--deny', '10.0.0.0/8', '--max-clients', '5', '--max-connections', '6',
    '--frames-per-second', '7', '--bytes-per-second', '8', '--max-frame-size', '9000', '--client-high-water-mark', '10',
    '--connection-idle-timeout', '11', '--nat-address', '10.0.2.16', '--nat-prefix', '25', '--nat-gateway', '10.0.2.1',
    '--mtu', '9000', '--no-dns', '--nat-ipv6', 'fd00:9::/64', '--connect-timeout', '12', '--udp-idle-timeout', '16',
    '--max-udp-flows', '17', '--demo-dist', '/tmp/d',
    '--no-metrics', '--quiet', '--max-clients-per-address', '13', '--metrics-token', 'm', '--insecure-open',
    '--connections-per-second', '14', '--silent-timeout', '15',
  ]);
  assert.equal(o, {
    port: 0, host: '127.0.0.1', mode: 'nat', token: 't', origins: ['http://a.test', 'http://b.test'],
    allow: ['tcp/127.0.0.1:80'], deny: ['10.0.0.0/8'], maxClients: 5, maxConnections: 6, framesPerSecond: 7,
    bytesPerSecond: 8, maxFrameSize: 9000, clientHighWaterMark: 10, connectionIdleTimeout: 11,
    nat: { address: '10.0.2.16', prefix: 25, gateway: '10.0.2.1', dns: false, ipv6: 'fd00:9::/64', mtu: 9000, connectTimeout: 12, udpIdleTimeout: 16 },
    demo: { dist: '/tmp/d' }, metrics: false, maxClientsPerAddress: 13, metricsToken: 'm', insecureOpen: true,
    connectionsPerSecond: 14, silentTimeout: 15, maxUdpFlows: 17,
  });
  assert.equal(parseRelayArgs(['--nat-ipv6', 'off', '--quiet']).nat, { ipv6: false });
  // passt is gone: its flags are refused, not ignored
  assert.throws(() => parseRelayArgs(['--passt', '/usr/bin/passt']), /Unknown option '--passt'/);
  const tap = parseRelayArgs(['--mode', 'tap', '--tap', 'tap9', '--tap-attach', '--tap-up', '--subnet', '10.1.0.0/24', '--quiet']);
  assert.equal(tap, { mode: 'tap', tap: { attach: true, up: true, name: 'tap9', subnet: '10.1.0.0/24' } });
  assert.equal(parseRelayArgs(['--mode', 'hub', '--subnet', '10.2.0.0/24', '--quiet']), { mode: 'hub', subnet: '10.2.0.0/24' });
  assert.equal(parseRelayArgs(['--mode', 'hub', '--subnet', '10.2.0.0/24', '--subnet', 'fd00:2::/64', '--quiet']), { mode: 'hub', subnet: ['10.2.0.0/24', 'fd00:2::/64'] });
  assert.throws(() => parseRelayArgs(['--mtu', 'big']), (e) => e instanceof RangeError && /--mtu takes a whole number/.test(e.message));
});

test.run();
