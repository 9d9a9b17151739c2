// Loading: ESM and CJS entry points, every wasm source form, independent stacks in one
// process, the TS export list against the wasm's real exports, and clean process exit.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esm from '../dist/index.js';
import { Stack, createPair, loadModule, AF_INET, SOCK_STREAM, SOCK_DGRAM, POLLNVAL, POLLIN } from '../dist/index.js';
import { within, tcpEcho } from './util-udp.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const wasmPath = join(root, 'dist/lwip.wasm');
const require = createRequire(import.meta.url);

/** A UDP round trip over the stack's own loopback: proves the instance works. */
async function loopbackWorks(stack, port = 4000) {
  const rx = stack.socket(AF_INET, SOCK_DGRAM);
  const tx = stack.socket(AF_INET, SOCK_DGRAM);
  try {
    rx.bind('127.0.0.1', port);
    tx.sendtoSync('loop', '127.0.0.1', port);
    const d = await rx.recvfrom(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(d.data), 'loop');
    assert.is(d.address, '127.0.0.1');
  } finally {
    rx.close();
    tx.close();
  }
}

test('ESM entry: exports and a default-loaded stack', async () => {
  for (const name of ['Stack', 'Socket', 'NetInterface', 'SocketError', 'StackError', 'createPair', 'PairLink', 'loadModule']) {
    assert.type(esm[name], 'function', name);
  }
  const s = await Stack.create();
  try {
    assert.not.ok(s.disposed);
    await loopbackWorks(s);
  } finally {
    s.dispose();
  }
});

test('CJS entry: require() gives the same API and runs a TCP echo between two stacks', async () => {
  const cjs = require('../dist/index.cjs');
  assert.equal(Object.keys(cjs).sort(), Object.keys(esm).sort(), 'CJS and ESM export the same names');
  assert.is(cjs.AF_INET, 2);
  const [la, lb] = cjs.createPair();
  const a = await cjs.Stack.create({ seed: 1 });
  const b = await cjs.Stack.create({ seed: 2 });
  try {
    a.addInterface(la, { ip: '10.0.0.1/24' });
    b.addInterface(lb, { ip: '10.0.0.2/24' });
    assert.is(await tcpEcho(a, b, { text: 'cjs echo' }), 'cjs echo');
    // Errors from the CJS build are its own SocketError, with the same shape.
    let err;
    try {
      a.socket(cjs.AF_INET, cjs.SOCK_DGRAM).bind('10.9.9.9', 0);
    } catch (e) {
      err = e;
    }
    assert.instance(err, cjs.SocketError);
    assert.is(err.code, 'EADDRNOTAVAIL');
    assert.is(err.errno, 99);
    assert.is(err.syscall, 'bind');
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('Stack.create with bytes, an ArrayBuffer, a compiled Module and a file URL', async () => {
  const bytes = readFileSync(wasmPath);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const module = new WebAssembly.Module(bytes);
  const sources = {
    'Buffer bytes': bytes,
    'Uint8Array': new Uint8Array(bytes),
    ArrayBuffer: ab,
    'WebAssembly.Module': module,
    'file URL': pathToFileURL(wasmPath),
    'compiled via WebAssembly.compile': await WebAssembly.compile(bytes),
  };
  for (const [what, wasm] of Object.entries(sources)) {
    const s = await within(Stack.create({ wasm, seed: 4 }), 5000, `Stack.create(${what})`);
    try {
      await loopbackWorks(s);
      const [l] = createPair();
      const i = s.addInterface(l, { ip: '10.0.0.1/24' });
      assert.is(i.index, 2, what);
    } finally {
      s.dispose();
    }
  }
  // loadModule gives a Module, and caches the default one.
  const m1 = await loadModule();
  const m2 = await loadModule();
  assert.instance(m1, WebAssembly.Module);
  assert.ok(m1 === m2, 'the default module is compiled once');
  assert.ok((await loadModule(module)) === module);
});

test('Stack.create rejects wasm that is not a module', async () => {
  let caught;
  try {
    await within(Stack.create({ wasm: new Uint8Array([0, 1, 2, 3, 4]) }), 5000, 'bad wasm');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'garbage bytes were accepted as wasm');
  assert.instance(caught, WebAssembly.CompileError);
  // A good stack still comes up afterwards.
  const s = await Stack.create();
  try {
    await loopbackWorks(s);
  } finally {
    s.dispose();
  }
});

test('several stacks in one process have independent state', async () => {
  const stacks = [];
  try {
    for (let i = 0; i < 3; i++) stacks.push(await Stack.create({ seed: 100 + i }));
    const [a, b, c] = stacks;
    // The same port in every stack.
    const sa = a.socket(AF_INET, SOCK_DGRAM);
    sa.bind('0.0.0.0', 5000);
    const sb = b.socket(AF_INET, SOCK_DGRAM);
    sb.bind('0.0.0.0', 5000);
    const sc = c.socket(AF_INET, SOCK_STREAM);
    sc.bind('0.0.0.0', 5000);
    sc.listen();
    // Descriptor tables are separate: each stack's first socket is the same number.
    assert.is(sa.fd, sb.fd);
    assert.is(sb.fd, sc.fd);
    const extra = [a.socket(AF_INET, SOCK_DGRAM), a.socket(AF_INET, SOCK_DGRAM), a.socket(AF_INET, SOCK_DGRAM)];
    const lastA = extra[2];
    const nextB = b.socket(AF_INET, SOCK_DGRAM);
    assert.is(nextB.fd, sb.fd + 1, 'sockets made in stack a used up descriptors in stack b');
    // A socket of one stack is unknown to another.
    assert.equal(b.pollSync([{ socket: lastA, events: POLLIN }]), [POLLNVAL]);
    assert.equal(b.pollSync([{ socket: sa, events: POLLIN }]), [POLLNVAL], 'same fd number, different stack');
    assert.is(a.memory().sockets, 4);
    assert.is(b.memory().sockets, 2);
    assert.is(c.memory().sockets, 1);
    // Closing in one stack leaves the same descriptor open in the other.
    sa.close();
    assert.not.ok(sb.closed);
    sb.sendtoSync('to self', '127.0.0.1', 5000);
    const d = await sb.recvfrom(100, { timeout: 3000 });
    assert.is(new TextDecoder().decode(d.data), 'to self');
    // Disposing one stack leaves the others running.
    a.dispose();
    assert.ok(a.disposed);
    assert.not.ok(b.disposed);
    await loopbackWorks(b, 4100);
    await loopbackWorks(c, 4100);
  } finally {
    for (const s of stacks) s.dispose();
  }
});

test('the wasm exports exactly the list generated from wasm/abi.h, and imports only what the loader gives', () => {
  // build/exports.json is what scripts/gen-abi.mjs hands the linker (and src/gen/abi.ts
  // types); emscripten's runtime adds _initialize and its function table.
  const declared = JSON.parse(readFileSync(join(root, 'build/exports.json'), 'utf8')).map((n) => n.replace(/^_/, ''));
  assert.ok(declared.length > 10, `only ${declared.length} names in build/exports.json`);
  assert.is(new Set(declared).size, declared.length, 'build/exports.json has duplicates');
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const exports = WebAssembly.Module.exports(module);
  const fns = exports.filter((e) => e.kind === 'function').map((e) => e.name);
  const runtime = ['_initialize'];
  const missing = declared.filter((n) => !fns.includes(n));
  const undeclared = fns.filter((n) => !declared.includes(n) && !runtime.includes(n));
  assert.equal(missing, [], `listed in wasm/abi.h but not exported by the wasm: ${missing.join(', ')}`);
  assert.equal(undeclared, [], `exported by the wasm but not listed in wasm/abi.h: ${undeclared.join(', ')}`);
  assert.ok(exports.some((e) => e.name === 'memory' && e.kind === 'memory'), 'the wasm exports its memory');
  // Its imports are abi.h's LW_IMPORTS (build/imports.js declares them) and emscripten's
  // memory-growth hook, which load.ts provides.
  const imports = [...readFileSync(join(root, 'build/imports.js'), 'utf8').matchAll(/^ {2}(\w+): function/gm)].map((m) => m[1]);
  assert.ok(imports.includes('js_now'), 'build/imports.js lists js_now');
  const provided = [...imports, 'emscripten_notify_memory_growth'];
  for (const imp of WebAssembly.Module.imports(module)) {
    assert.is(imp.module, 'env', `import ${imp.module}.${imp.name}`);
    assert.ok(provided.includes(imp.name), `the wasm imports env.${imp.name}, which load.ts does not provide`);
  }
});

test('a wasm that lacks an export of wasm/abi.h is refused with a clear error', async () => {
  // build/abi-layout.wasm is a real wasm of this build that exports none of the stack's calls.
  const other = readFileSync(join(root, 'build/abi-layout.wasm'));
  try {
    await Stack.create({ wasm: other });
    assert.unreachable('Stack.create accepted a foreign wasm');
  } catch (err) {
    assert.instance(err, TypeError);
    assert.match(err.message, /not the one this package was built with \(it lacks \w+/);
  }
});

/** Runs a script in a fresh node; resolves { code, signal, stdout, stderr, ms } or kills it after ms. */
function runNode(args, ms) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, ms);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed, ms: Date.now() - started });
    });
  });
}

const EXIT_SCRIPT = (entry, closeFirst) => `
const [la, lb] = createPair();
const a = await Stack.create(); const b = await Stack.create();
a.addInterface(la, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
const l = b.socket(AF_INET, SOCK_STREAM); l.bind('0.0.0.0', 80); l.listen();
const u = b.socket(AF_INET, SOCK_DGRAM); u.bind('0.0.0.0', 53);
const c = a.socket(AF_INET, SOCK_STREAM);
const acc = l.accept({ timeout: 3000 });
await c.connect('10.0.0.2', 80, { timeout: 3000 });
const s = await acc;
await c.send('hello'); const got = await s.recv(100, { timeout: 3000 });
await s.send(got); const back = await c.recv(100, { timeout: 3000 });
if (new TextDecoder().decode(back) !== 'hello') { console.log('bad echo'); process.exit(3); }
${closeFirst ? 'c.close(); s.close(); l.close(); u.close();' : '/* sockets left open on purpose */'}
a.dispose(); b.dispose();
console.log('done');
`;

test('a process that runs a connection and disposes its stacks exits by itself', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lwip-exit-'));
  try {
    const entry = pathToFileURL(join(root, 'dist/index.js')).href;
    const header = `import { Stack, createPair, AF_INET, SOCK_STREAM, SOCK_DGRAM } from ${JSON.stringify(entry)};\n`;
    for (const closeFirst of [true, false]) {
      const file = join(dir, `exit-${closeFirst ? 'closed' : 'open'}.mjs`);
      writeFileSync(file, header + EXIT_SCRIPT(entry, closeFirst));
      const r = await runNode([file], 10000);
      const label = closeFirst ? 'sockets closed, then dispose' : 'dispose with sockets open';
      assert.not.ok(r.killed, `${label}: still running after 10 s (it should exit on its own)`);
      assert.is(r.code, 0, `${label}: exit code ${r.code}; stderr: ${r.stderr}`);
      assert.is(r.stdout.trim(), 'done', `${label}: stdout ${r.stdout}`);
    }
    // And the same from CommonJS, through node -e.
    const cjsEntry = join(root, 'dist/index.cjs');
    const cjsScript = `const { Stack, createPair, AF_INET, SOCK_STREAM, SOCK_DGRAM } = require(${JSON.stringify(cjsEntry)});
(async () => {${EXIT_SCRIPT(cjsEntry, true)}})().catch((e) => { console.error(e); process.exit(1); });`;
    const r = await runNode(['-e', cjsScript], 10000);
    assert.not.ok(r.killed, 'CJS: still running after 10 s');
    assert.is(r.code, 0, `CJS: exit code ${r.code}; stderr: ${r.stderr}`);
    assert.is(r.stdout.trim(), 'done');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
