// Small shared helpers for udp/ipv6/api/loader/pair tests. Kept apart from helpers.mjs
// on purpose (that file is written separately); everything here is bounded in time.
import * as assert from 'uvu/assert';
import { Stack, createPair, SocketError, AF_INET, SOCK_STREAM, SHUT_WR } from '../dist/index.js';

/** Resolves after ms milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One macrotask: enough for a pair to deliver what was sent in this turn. */
export const tick = () => new Promise((r) => setImmediate(r));

/** Rejects with a clear message if p does not settle within ms. */
export function within(p, ms, what = 'operation') {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function patternBytes(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function equalBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Asserts fn() throws a SocketError with the given code (and errno/syscall when given). */
export function throwsSocketError(fn, code, { errno, syscall } = {}) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected SocketError ${code}, but nothing was thrown`);
  assert.instance(caught, SocketError, `expected SocketError ${code}, got ${caught && caught.stack}`);
  assert.is(caught.code, code, `expected ${code}, got ${caught.code} (${caught.message})`);
  if (errno !== undefined) assert.is(caught.errno, errno);
  if (syscall !== undefined) assert.is(caught.syscall, syscall);
  return caught;
}

/** Asserts the promise rejects with a SocketError with the given code, within ms. */
export async function rejectsSocketError(p, code, { errno, syscall, ms = 5000 } = {}) {
  let caught;
  try {
    await within(Promise.resolve(p), ms, `waiting for ${code}`);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected rejection with ${code}, but it resolved`);
  assert.instance(caught, SocketError, `expected SocketError ${code}, got ${caught && (caught.stack || caught)}`);
  assert.is(caught.code, code, `expected ${code}, got ${caught.code} (${caught.message})`);
  if (errno !== undefined) assert.is(caught.errno, errno);
  if (syscall !== undefined) assert.is(caught.syscall, syscall);
  return caught;
}

/** Asserts fn() throws an instance of Ctor (TypeError/RangeError) and not a SocketError. */
export function throwsKind(fn, Ctor, what = '') {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `${what}: expected ${Ctor.name}, but nothing was thrown`);
  assert.ok(
    caught instanceof Ctor && caught.constructor === Ctor,
    `${what}: expected ${Ctor.name}, got ${caught && caught.constructor && caught.constructor.name}: ${caught && caught.message}`,
  );
  return caught;
}

/**
 * Two stacks joined by a pair: a = 10.0.0.1/24 + fd00::1/64, b = 10.0.0.2/24 + fd00::2/64.
 * Returns everything plus dispose(), which is safe to call more than once.
 */
export async function twoStacks({ pair = {}, a: aOpts = {}, b: bOpts = {}, stack = {} } = {}) {
  const [la, lb] = createPair({ mtu: 1500, ...pair });
  const made = [];
  try {
    const a = await Stack.create({ seed: 11, ...stack });
    made.push(a);
    const b = await Stack.create({ seed: 22, ...stack });
    made.push(b);
    const ia = a.addInterface(la, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64', ...aOpts });
    const ib = b.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64', ...bOpts });
    return {
      a, b, ia, ib, la, lb,
      dispose() {
        for (const s of made) s.dispose();
      },
    };
  } catch (err) {
    for (const s of made) s.dispose();
    throw err;
  }
}

/**
 * Connects a TCP client on `from` to a listener on `to` and checks one echo round trip.
 * Everything it opens is closed again. Returns the echoed text.
 */
export async function tcpEcho(from, to, { domain = AF_INET, bindAddr = '0.0.0.0', connectAddr = '10.0.0.2', port = 7007, text = 'ping' } = {}) {
  const listener = to.socket(domain, SOCK_STREAM);
  const client = from.socket(domain, SOCK_STREAM);
  let server;
  try {
    listener.bind(bindAddr, port);
    listener.listen(8);
    const accepted = listener.accept({ timeout: 5000 });
    await within(client.connect(connectAddr, port, { timeout: 5000 }), 6000, 'connect');
    server = await accepted;
    await within(client.send(text), 5000, 'send');
    const got = await server.recv(65536, { timeout: 5000 });
    await within(server.send(got), 5000, 'echo send');
    const back = await client.recv(65536, { timeout: 5000 });
    return new TextDecoder().decode(back);
  } finally {
    for (const s of [client, server, listener]) if (s && !s.closed) s.close();
  }
}

/** Reads a TCP socket until end of stream (bounded) and returns all bytes. */
export async function readAll(sock, { ms = 20000, max = 256 * 1024 } = {}) {
  const parts = [];
  let total = 0;
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`readAll: no end of stream within ${ms} ms (${total} bytes read)`);
    const chunk = await sock.recv(max, { timeout: left });
    if (chunk.length === 0) break;
    parts.push(chunk);
    total += chunk.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export { SHUT_WR };
