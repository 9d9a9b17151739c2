// The package as a user installs it: `npm pack` (its prepack builds what is missing, the
// addon's prebuild included), then `npm install` of the tarball into an empty folder with
// install scripts allowed and every compiler on PATH replaced by one that records its
// call and fails. Nothing may be compiled or built there; require() and import() must
// both give working stacks; lwip-wasm/tap must load the prebuilt addon; a CJS and an ESM
// consumer must typecheck; attw and publint must pass on the same tarball.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);
const work = mkdtempSync(join(tmpdir(), 'lwip-package-'));
const app = join(work, 'app');
const shims = join(work, 'shims');
const compilerLog = join(work, 'compilers.log');
const pkgDir = join(app, 'node_modules', 'lwip-wasm');
let tarball;
let files;
let installLog;

/** Runs a command; returns its output (stdout, and stderr unless stdoutOnly), or throws with it. */
function run(cmd, args, { stdoutOnly = false, ...opts } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, ...opts });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: status ${r.status} ${r.signal ?? ''}\n${out.slice(-3000)}`);
  return stdoutOnly ? r.stdout : out;
}

// The environment of a user's shell: none of the variables `make test` and `npm test` set.
const userEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|MAKE|MFLAGS$)/i.test(k)));

// Pack and install once, before the tests (uvu's before hook would hide a failure here).
try {
  setup();
} catch (err) {
  rmSync(work, { recursive: true, force: true });
  throw err;
}

function setup() {
  // Pack with scripts on, as a release does: prepack runs `make package`.
  // (prepack's own output shares stdout with npm's, so the tarball is found by name.)
  run('npm', ['pack', '--pack-destination', work], { cwd: root, env: userEnv });
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')));
  files = run('tar', ['-tzf', tarball], { stdoutOnly: true }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));

  // Every compiler and build tool a native build could reach, recording and failing.
  mkdirSync(shims);
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python', 'python3', 'node-gyp']) {
    const shim = join(shims, tool);
    writeFileSync(shim, `#!/bin/sh\necho "${tool} $*" >> '${compilerLog}'\nexit 1\n`);
    chmodSync(shim, 0o755);
  }
  // A new project that allows lwip-wasm's install scripts (npm 11 blocks dependencies'
  // scripts unless allowed; older npm runs them anyway), so any would run here.
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, allowScripts: { 'lwip-wasm': true } }));
  installLog = run('npm', [
    'install', tarball, '--ignore-scripts=false', '--foreground-scripts',
    '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=verbose',
  ], {
    cwd: app,
    env: { ...userEnv, PATH: `${shims}${delimiter}${userEnv.PATH}`, npm_config_node_gyp: join(shims, 'node-gyp') },
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball carries the prebuilt addon and CJS types, and nothing that builds at install', () => {
  const tuple = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') assert.ok(files.includes(`native/tap/prebuilds/${tuple}/tap.glibc.node`), files.join('\n'));
  for (const entry of ['index', 'inline', 'inline-tls', 'inline-fetch', 'node', 'tap', 'relay', 'sim']) {
    for (const ext of ['js', 'cjs', 'd.ts', 'd.cts']) assert.ok(files.includes(`dist/${entry}.${ext}`), `dist/${entry}.${ext}`);
  }
  for (const wasm of ['lwip.wasm', 'lwip-tls.wasm', 'llhttp.wasm']) assert.ok(files.includes(`dist/${wasm}`), wasm);
  assert.not.ok(files.some((f) => f.startsWith('native/tap/build/')), 'no node-gyp build folder');
  assert.not.ok(files.includes('binding.gyp'), 'no binding.gyp at the root (npm would run node-gyp for it)');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  for (const s of ['preinstall', 'install', 'postinstall']) assert.is(pkg.scripts?.[s], undefined, `no ${s} script`);
});

test('npm install of the tarball in an empty folder runs no compiler and builds nothing', () => {
  assert.not.ok(existsSync(compilerLog), `compilers were run:\n${existsSync(compilerLog) ? readFileSync(compilerLog, 'utf8') : ''}`);
  // npm logs each lifecycle script it runs as "npm info run <pkg>@<version> <event> ...".
  const ran = installLog.match(/^npm info run .*|^gyp info .*/m);
  assert.is(ran, null, `the install ran a script: ${ran?.[0]}`);
  assert.match(installLog, /added \d+ packages?/);
  assert.not.ok(existsSync(join(pkgDir, 'native', 'tap', 'build')), 'no native/tap/build folder');
});

// Two stacks on an in-memory pair, one TCP echo; the same source for both module kinds.
const ECHO = `
async function echo(lw) {
  const [la, lb] = lw.createPair();
  const a = await lw.Stack.create();
  const b = await lw.Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(lw.AF_INET, lw.SOCK_STREAM);
  l.bind('0.0.0.0', 7);
  l.listen(4);
  const c = a.socket(lw.AF_INET, lw.SOCK_STREAM);
  const [s] = await Promise.all([l.accept(), c.connect('10.0.0.2', 7)]);
  await c.send('ping');
  await s.send(new TextDecoder().decode(await s.recv()).toUpperCase());
  const back = new TextDecoder().decode(await c.recv());
  a.dispose();
  b.dispose();
  return back;
}
// stack.fetch between two stacks: its parser (llhttp.wasm) loads from the installed package.
async function fetchOnce(lw) {
  const [la, lb] = lw.createPair();
  const a = await lw.Stack.create();
  const b = await lw.Stack.create();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(lw.AF_INET, lw.SOCK_STREAM);
  l.bind('0.0.0.0', 80);
  l.listen(4);
  const served = l.accept().then(async (s) => {
    await s.recv();
    await s.send('HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\nconnection: close\\r\\n\\r\\nok');
    s.close();
  });
  const text = await (await a.fetch('http://10.0.0.2/')).text();
  await served;
  a.dispose();
  b.dispose();
  return text;
}
// The addon loads if openTap gets as far as the kernel: a device that does not exist is
// ENODEV (EPERM without the privilege), never ELIBACC.
function tapLoads(tap) {
  try {
    tap.openTap({ name: 'lwpkgnone0', attach: true }).close();
    return 'opened';
  } catch (err) {
    return err.code;
  }
}
`;

const CJS = `${ECHO}
(async () => {
  const lw = require('lwip-wasm');
  const node = require('lwip-wasm/node');
  const out = {
    echo: await echo(lw),
    fetch: await fetchOnce(lw),
    inline: await echo(require('lwip-wasm/inline')),
    inlined: [require('lwip-wasm/inline-tls').inlined, require('lwip-wasm/inline-fetch').inlined],
    wasmPaths: ['lwip.wasm', 'lwip-tls.wasm', 'llhttp.wasm'].map((f) => require('node:fs').existsSync(require.resolve('lwip-wasm/' + f))),
    shared: node.SocketError === lw.SocketError && Object.getPrototypeOf(node.Stack) === lw.Stack,
    relay: typeof require('lwip-wasm/relay').createRelay,
    sim: require('lwip-wasm/sim').createNetwork && require('lwip-wasm/sim').SimHost.name,
    tap: tapLoads(require('lwip-wasm/tap')),
    addons: Object.keys(require.cache).filter((f) => f.endsWith('.node')),
  };
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const ESM = `${ECHO}
const lw = await import('lwip-wasm');
const node = await import('lwip-wasm/node');
const { existsSync } = await import('node:fs');
const out = {
  echo: await echo(lw),
  fetch: await fetchOnce(lw),
  inline: await echo(await import('lwip-wasm/inline')),
  inlined: [(await import('lwip-wasm/inline-tls')).inlined, (await import('lwip-wasm/inline-fetch')).inlined],
  wasmPaths: ['lwip.wasm', 'lwip-tls.wasm', 'llhttp.wasm'].map((f) => existsSync(new URL(import.meta.resolve('lwip-wasm/' + f)))),
  shared: node.SocketError === lw.SocketError && Object.getPrototypeOf(node.Stack) === lw.Stack,
  relay: typeof (await import('lwip-wasm/relay')).createRelay,
  sim: (await import('lwip-wasm/sim')).createNetwork && (await import('lwip-wasm/sim')).SimHost.name,
  tap: tapLoads(await import('lwip-wasm/tap')),
  addons: [],
};
console.log(JSON.stringify(out));
`;

function check(kind, source, file) {
  writeFileSync(join(app, file), source);
  const out = JSON.parse(run(process.execPath, [file], { cwd: app, env: userEnv }).trim().split('\n').pop());
  assert.is(out.echo, 'PING', `${kind}: TCP echo through lwip-wasm`);
  assert.is(out.inline, 'PING', `${kind}: TCP echo through lwip-wasm/inline`);
  assert.is(out.fetch, 'ok', `${kind}: stack.fetch (llhttp.wasm from the package)`);
  assert.equal(out.inlined, ['lwip-tls.wasm', 'llhttp.wasm'], `${kind}: lwip-wasm/inline-tls and inline-fetch`);
  assert.equal(out.wasmPaths, [true, true, true], `${kind}: the wasm subpaths resolve to files`);
  assert.ok(out.shared, `${kind}: lwip-wasm/node shares lwip-wasm's classes (its Stack extends the main one)`);
  assert.is(out.relay, 'function', `${kind}: lwip-wasm/relay`);
  assert.is(out.sim, 'SimHost', `${kind}: lwip-wasm/sim`);
  if (process.platform === 'linux') {
    assert.ok(['ENODEV', 'EPERM', 'EACCES'].includes(out.tap), `${kind}: the TAP addon loads (got ${out.tap})`);
  }
  return out;
}

test('require(): working stacks, shared classes, and the TAP addon from the prebuild', () => {
  const out = check('CJS', CJS, 'check.cjs');
  if (process.platform === 'linux') {
    assert.equal(out.addons, [join(pkgDir, 'native', 'tap', 'prebuilds', `linux-${process.arch}`, 'tap.glibc.node')]);
  }
});

test('import(): working stacks, shared classes, and the TAP addon', () => {
  check('ESM', ESM, 'check.mjs');
});

test('a CJS and an ESM TypeScript consumer typecheck against the installed package (node16)', () => {
  const body = (from) => `
import { Stack, SocketError, createPair } from 'lwip-wasm';
import { openTap, TapError } from 'lwip-wasm/tap';
import { createRelay } from 'lwip-wasm/relay';
import * as inline from 'lwip-wasm/inline';
import * as node from 'lwip-wasm/node';
import { inlined as tlsInlined } from 'lwip-wasm/inline-tls';
import { inlined as fetchInlined } from 'lwip-wasm/inline-fetch';
import { createNetwork, type Network, type FlowFilter } from 'lwip-wasm/sim';
export async function f(): Promise<void> {
  const [la] = createPair();
  const s: Stack = await Stack.create();
  s.addInterface(la, { ip: '10.0.0.1/24' });
  const t: Stack = await inline.Stack.create();
  const n = await node.Stack.create();
  const base: Stack = n; // lwip-wasm/node's Stack is the main one, extended (${from})
  const net: node.LwipNet = n.net;
  const code = (e: SocketError): string => e.code;
  const relay: typeof createRelay = createRelay;
  const files: string[] = [tlsInlined, fetchInlined];
  const sim: Network = await createNetwork({ hosts: { a: 'lan', b: 'lan' } });
  const filter: FlowFilter = { between: ['a', 'b'], protocol: 'tcp' };
  sim.impair(filter, { loss: 0.1 });
  const stack: node.Stack = sim.host('a').stack;
  sim.close();
  void [t, base, net, code, relay, openTap, TapError, files, stack];
}
`;
  writeFileSync(join(app, 'consumer.cts'), body('from require'));
  writeFileSync(join(app, 'consumer.mts'), body('from import'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'node16', moduleResolution: 'node16', target: 'ES2022', lib: ['ES2022', 'DOM'], strict: true, noEmit: true,
      skipLibCheck: false, typeRoots: [join(root, 'node_modules', '@types')], types: ['node'],
    },
    files: ['consumer.cts', 'consumer.mts'],
  }));
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });
});

test('attw (are the types wrong) and publint find no problem in the tarball', () => {
  const attw = run(bin('attw'), [tarball], { cwd: root });
  assert.match(attw, /No problems found/);
  const publint = run(bin('publint'), ['run', tarball, '--strict'], { cwd: root });
  assert.match(publint, /All good/);
});

test.run();
