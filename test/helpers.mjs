// Shared helpers for the lwip-wasm tests. Everything goes through the public API in
// ../dist/index.js; nothing here reaches into the wasm or the TypeScript internals.
import { createHash } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Stack, createPair, SocketError,
  AF_INET, AF_INET6, SOCK_STREAM, POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL, POLLRDHUP, POLLPRI,
} from '../dist/index.js';

// The wall clock's timers, taken at load: a test may put the globals on a VirtualClock
// (installVirtualTimers), and a test's own time limit must stay in real time.
const wallSetTimeout = globalThis.setTimeout;
const wallClearTimeout = globalThis.clearTimeout;

export const sleep = (ms) => new Promise((r) => wallSetTimeout(r, ms));

// --- stacks ---------------------------------------------------------------------------

/** Every stack created through these helpers and not yet disposed. */
const live = new Set();

/**
 * Stack.create, remembered so a test that times out can still be cleaned up. opts.Stack
 * picks the class (lwip-wasm/node's, for stack.net and stack.dgram); the rest go to create.
 */
export async function createStack(opts = {}) {
  const { Stack: StackClass = Stack, ...createOpts } = opts;
  const s = await StackClass.create(createOpts);
  live.add(s);
  const dispose = s.dispose.bind(s);
  s.dispose = () => {
    live.delete(s);
    dispose();
  };
  return s;
}

/** Disposes every stack still alive (used when a test times out). */
export function disposeAll() {
  for (const s of [...live]) {
    try {
      s.dispose();
    } catch {
      // keep going: the point is to release everything
    }
  }
}

/**
 * Two stacks joined by an in-memory pair: a is 10.0.0.1/24 + fd00::1/64, b is
 * 10.0.0.2/24 + fd00::2/64. opts go to both createStack calls (a gets seed, b seed+1).
 * Returns { a, b, ifA, ifB, linkA, linkB, dispose }.
 */
export async function twoStacks(opts = {}) {
  const { pair: pairOpts, seed = 1, ...stackOpts } = opts;
  const a = await createStack({ ...stackOpts, seed });
  let b;
  try {
    b = await createStack({ ...stackOpts, seed: seed + 1 });
  } catch (err) {
    a.dispose();
    throw err;
  }
  const [linkA, linkB] = createPair(pairOpts);
  const ifA = a.addInterface(linkA, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  const ifB = b.addInterface(linkB, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  return {
    a, b, ifA, ifB, linkA, linkB,
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}

/**
 * Opens a listener on serverStack and connects a client from clientStack to it.
 * opts: { family: 4 | 6, address (what the client dials), bindAddress, port, backlog }.
 * Resolves [client, serverConn, listener].
 */
export async function connectPair(clientStack, serverStack, opts = {}) {
  const family = opts.family ?? 4;
  const domain = family === 6 ? AF_INET6 : AF_INET;
  const address = opts.address ?? (family === 6 ? 'fd00::2' : '10.0.0.2');
  const listener = serverStack.socket(domain, SOCK_STREAM);
  listener.bind(opts.bindAddress ?? (family === 6 ? '::' : '0.0.0.0'), opts.port ?? 0);
  listener.listen(opts.backlog ?? 16);
  const port = listener.getsockname().port;
  const client = clientStack.socket(domain, SOCK_STREAM);
  const [conn] = await Promise.all([listener.accept(), client.connect(address, port)]);
  return [client, conn, listener];
}

// --- data -----------------------------------------------------------------------------

/** Seeded pseudo-random bytes (xorshift32), so every run sends the same data. */
export function randomBytes(n, seed = 1) {
  let x = (seed >>> 0) || 0x9e3779b9;
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** SHA-256 hex digest of one or more byte arrays. */
export function sha256(...chunks) {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

/** Reads until EOF; resolves { bytes, hash, chunks } without keeping the data. */
export async function drainToEof(sock, maxBytes = 256 * 1024) {
  const h = createHash('sha256');
  let bytes = 0;
  let chunks = 0;
  for (;;) {
    const c = await sock.recv(maxBytes);
    if (c.length === 0) break;
    h.update(c);
    bytes += c.length;
    chunks++;
  }
  return { bytes, hash: h.digest('hex'), chunks };
}

/** Reads until EOF and returns everything as one Uint8Array. */
export async function readToEof(sock) {
  const parts = [];
  for (;;) {
    const c = await sock.recv();
    if (c.length === 0) break;
    parts.push(c);
  }
  return concat(parts);
}

/** Reads exactly n bytes (fails on an early EOF). */
export async function readExactly(sock, n) {
  const parts = [];
  let got = 0;
  while (got < n) {
    const c = await sock.recv(n - got);
    if (c.length === 0) throw new Error(`EOF after ${got} of ${n} bytes`);
    parts.push(c);
    got += c.length;
  }
  return concat(parts);
}

export function concat(parts) {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const text = (bytes) => new TextDecoder().decode(bytes);

// --- errors ---------------------------------------------------------------------------

/** Asserts fn() throws a SocketError with this code (and optionally syscall). */
export function throwsCode(fn, code, msg) {
  let threw;
  try {
    fn();
  } catch (err) {
    threw = err;
  }
  if (threw === undefined) assert.unreachable(`${msg ?? 'call'}: expected ${code}, but it did not throw`);
  if (!(threw instanceof SocketError)) {
    throw new assert.Assertion({
      message: `${msg ?? 'call'}: expected SocketError ${code}, got ${threw && threw.stack ? threw.stack : String(threw)}`,
      expects: code, actual: String(threw), operator: 'throws', generated: false,
    });
  }
  assert.is(threw.code, code, `${msg ?? 'call'}: expected ${code}, got ${threw.code} (${threw.message})`);
  return threw;
}

/** Awaits p and asserts it rejects with a SocketError of this code. */
export async function rejectsCode(p, code, msg) {
  let threw;
  let value;
  try {
    value = await p;
  } catch (err) {
    threw = err;
  }
  if (threw === undefined) {
    assert.unreachable(`${msg ?? 'call'}: expected rejection with ${code}, but it resolved with ${describe(value)}`);
  }
  if (!(threw instanceof SocketError)) {
    throw new assert.Assertion({
      message: `${msg ?? 'call'}: expected SocketError ${code}, got ${threw && threw.stack ? threw.stack : String(threw)}`,
      expects: code, actual: String(threw), operator: 'rejects', generated: false,
    });
  }
  assert.is(threw.code, code, `${msg ?? 'call'}: expected ${code}, got ${threw.code} (${threw.message})`);
  return threw;
}

/** Runs fn and returns what it gave: { value } or { code } for a SocketError. */
export function outcome(fn) {
  try {
    const v = fn();
    return { value: v instanceof Uint8Array ? `Uint8Array(${v.length})` : v };
  } catch (err) {
    if (err instanceof SocketError) return { code: err.code };
    throw err;
  }
}

function describe(v) {
  if (v instanceof Uint8Array) return `Uint8Array(${v.length})`;
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

// --- poll -----------------------------------------------------------------------------

const NAMES = [
  [POLLIN, 'POLLIN'], [POLLPRI, 'POLLPRI'], [POLLOUT, 'POLLOUT'], [POLLERR, 'POLLERR'],
  [POLLHUP, 'POLLHUP'], [POLLNVAL, 'POLLNVAL'], [POLLRDHUP, 'POLLRDHUP'],
];

/** 'POLLIN|POLLOUT' for a revents value, '0' for none. */
export function pollNames(bits) {
  const names = NAMES.filter(([b]) => bits & b).map(([, n]) => n);
  const rest = NAMES.reduce((r, [b]) => r & ~b, bits);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

/** Asserts revents equals want exactly, with readable names in the message. */
export function assertEvents(got, want, msg) {
  assert.is(pollNames(got), pollNames(want), `${msg}: expected ${pollNames(want)}, got ${pollNames(got)}`);
}

/** Polls until one of the entries' revents are non-zero or ms pass; returns revents. */
export async function pollFor(stack, socket, events, ms = 2000) {
  const [r] = await stack.poll([{ socket, events }], ms);
  return r;
}

/** Waits until pred() is true, checking every `every` ms, for at most ms; returns pred(). */
export async function waitUntil(pred, ms = 2000, every = 5) {
  const end = performance.now() + ms;
  for (;;) {
    const v = pred();
    if (v || performance.now() >= end) return v;
    await sleep(every);
  }
}

// --- bounding ---------------------------------------------------------------------------

/** Rejects if p has not settled within ms. */
export function withTimeout(p, ms, label = 'operation') {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = wallSetTimeout(() => {
      const err = new Error(`${label}: timed out after ${ms} ms`);
      err.timedOut = true;
      reject(err);
    }, ms);
  });
  return Promise.race([Promise.resolve(p), guard]).finally(() => wallClearTimeout(timer));
}

/**
 * A uvu test with a time limit. When the limit passes, every stack still alive is
 * disposed (which rejects the test's pending waits, so its finally blocks run) and the
 * test fails.
 */
export function it(name, fn, ms = 10_000) {
  test(name, async () => {
    try {
      await withTimeout(fn(), ms, name);
    } catch (err) {
      if (err && err.timedOut) disposeAll();
      throw err;
    }
  });
}

export { test, assert };
