// A fatal error inside the wasm fails the stack as a whole, visibly, and never leaves a
// promise hanging: every pending wait rejects with StackError ESTACKFAILED, onError is
// called once, stack.failure holds the cause, every later call throws, dispose() still
// works, and other stacks carry on. The real cause, provoked through the public API: an
// lwIP assertion (DEBUG build). Running out of wasm memory is not fatal: input that
// finds no memory is dropped and counted, as a NIC drops it.
//
// Memory is exhausted without touching it: a 1 GiB receive buffer (recvSync reserves
// its size up front) and then epoll event buffers, largest first, until even 8 bytes
// cannot be had (held by instances made beforehand, so none is left unfilled). malloc only reserves address space, so the process stays small.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  VirtualClock, createPair, StackError, SocketError, AF_INET, SOCK_STREAM, SOCK_DGRAM, POLLIN, EPOLLIN, POLLNVAL,
} from '../dist/index.js';
import { it, test, assert, createStack, withTimeout } from './helpers.mjs';

const DEBUG_WASM = fileURLToPath(new URL('../build/debug/lwip.wasm', import.meta.url));
const haveDebug = existsSync(DEBUG_WASM);
if (!haveDebug) console.log(`skipping the assertion test: no ${DEBUG_WASM} (make debug-wasm; make test builds it)`);

/**
 * Two stacks on a virtual clock, with waits pending on a. With tcp, a has a connection
 * (recv, poll and epoll wait on it) and a connect in progress; without, the waits are on
 * UDP sockets and a listener, so no TCP connection keeps lwIP's TCP timer running.
 */
async function setup(wasm, tcp) {
  const clock = new VirtualClock();
  const errors = [];
  const a = await createStack({ clock, wasm, seed: 1, onError: (e) => errors.push(e) });
  const b = await createStack({ clock, wasm, seed: 2 });
  const [la, lb] = createPair();
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const bl = b.socket(AF_INET, SOCK_STREAM);
  bl.bind('0.0.0.0', 80);
  bl.listen();
  // one connection resolves ARP; without tcp it is closed again and TIME_WAIT runs out
  const c = a.socket(AF_INET, SOCK_STREAM);
  const [s] = await clock.runUntil(Promise.all([bl.accept(), c.connect('10.0.0.2', 80)]));
  let w = c;
  if (!tcp) {
    c.close();
    s.close();
    w = a.socket(AF_INET, SOCK_DGRAM);
    w.bind('0.0.0.0', 53);
    await clock.advanceAsync(120_000);
  }
  const al = a.socket(AF_INET, SOCK_STREAM);
  al.bind('0.0.0.0', 81);
  al.listen();
  const ep = a.epoll();
  ep.add(w, EPOLLIN);
  const pending = {
    recv: w.recv(),
    accept: al.accept(),
    poll: a.poll([{ socket: w, events: POLLIN }], -1),
    epoll: ep.wait(8, -1),
  };
  if (tcp) {
    a.interfaces[0].addNeighbor('10.0.0.99', '02:00:00:00:00:99');
    pending.connect = a.socket(AF_INET, SOCK_STREAM).connect('10.0.0.99', 80);
  }
  const settled = {};
  for (const [k, p] of Object.entries(pending)) {
    settled[k] = p.then((v) => ({ value: v }), (e) => ({ error: e }));
  }
  await clock.advanceAsync(10);
  return { clock, a, b, c: w, errors, settled };
}

/** Reserves every byte of a's wasm memory without touching it; returns the holders. */
function exhaust(stack) {
  const u = stack.socket(AF_INET, SOCK_DGRAM);
  try {
    u.recvSync(2 ** 30 - 1);
  } catch (e) {
    if (!(e instanceof SocketError) || e.code !== 'EAGAIN') throw e;
  }
  const held = [];
  // Instances made before memory runs short hold the last, smallest buffers: once no
  // new instance fits, the gaps left are still filled down to 8 bytes.
  const spare = Array.from({ length: 64 }, () => stack.epoll());
  let size = 1 << 16;
  for (;;) {
    let ep;
    try {
      ep = stack.epoll();
    } catch (e) {
      if (!(e instanceof SocketError || e instanceof RangeError)) throw e;
      ep = spare.pop(); // not even room for an instance: use one made earlier
      if (!ep) break;
    }
    try {
      ep.waitSync(size); // reserves size * 8 bytes
      held.push(ep);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      spare.push(ep); // kept, not closed: closing would hand its memory back
      if (size === 1) break;
      size >>= 1;
    }
  }
  return held;
}

/** Every pending wait ended in ESTACKFAILED, and the stack says so everywhere. */
async function checkFailed(net, cause) {
  const { a, b, c, errors, settled } = net;
  assert.ok(a.failure instanceof Error, 'stack.failure is set');
  assert.match(a.failure.message, cause);
  assert.is(errors.length, 1, 'onError called once');
  assert.is(errors[0], a.failure);
  const outcomes = await withTimeout(Promise.all(Object.entries(settled).map(async ([k, p]) => [k, await p])), 2000, 'pending waits');
  for (const [k, o] of outcomes) {
    assert.ok(o.error instanceof StackError, `${k}: rejected with StackError, got ${o.error ?? JSON.stringify(o.value)}`);
    assert.is(o.error.code, 'ESTACKFAILED', k);
    assert.is(o.error.cause, a.failure, `${k}: the cause is attached`);
  }
  for (const [what, fn] of [
    ['socket()', () => a.socket(AF_INET, SOCK_STREAM)], ['recvSync', () => c.recvSync()],
    ['sendSync', () => c.sendSync('x')], ['close', () => c.close()], ['memory()', () => a.memory()], ['poll', () => a.pollSync([{ socket: c, events: POLLIN }])],
  ]) {
    assert.throws(fn, (e) => e instanceof StackError && e.code === 'ESTACKFAILED', `${what} after the failure`);
  }
  await assert.ok((await c.recv().catch((e) => e)) instanceof StackError, 'a new async call rejects at once');
  assert.is(c.events, POLLNVAL);
  a.dispose(); // still allowed, and quiet
  assert.is(b.failure, undefined, 'the other stack is unaffected');
  b.memory();
}

it('out of wasm memory: a burst of input is dropped and counted, as a NIC drops it, and the stack lives on', async () => {
  const net = await setup(undefined, true);
  try {
    const rx = net.a.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 9);
    const drops = net.a.memory().inputDrops;
    const held = exhaust(net.a);
    assert.ok(held.length > 100, `memory filled with ${held.length} reservations`);
    // 60 kB of UDP arrives as one batch of 41 fragments, and no pbuf can be had for them
    const tx = net.b.socket(AF_INET, SOCK_DGRAM);
    tx.sendtoSync(new Uint8Array(60_000), '10.0.0.1', 9);
    await net.clock.advanceAsync(10);
    assert.is(net.a.failure, undefined, 'running out of memory for input is not a failure');
    for (const ep of held) ep.close(); // memory comes back (reading the counters needs some)
    assert.ok(net.a.memory().inputDrops > drops, 'the frames were counted as dropped');
    assert.throws(() => rx.recvSync(), (e) => e instanceof SocketError && e.code === 'EAGAIN', 'nothing was delivered');
    const sent = new Uint8Array(60_000).fill(5);
    tx.sendtoSync(sent, '10.0.0.1', 9);
    await net.clock.advanceAsync(10);
    assert.equal(rx.recvSync(65536), sent, 'once memory is free the same datagram arrives whole');
  } finally {
    net.a.dispose();
    net.b.dispose();
  }
}, 30_000);

(haveDebug ? it : (name) => test.skip(name))('an lwIP assertion (DEBUG build) traps the wasm: the stack fails, and nothing hangs', async () => {
  const wasm = new WebAssembly.Module(readFileSync(DEBUG_WASM));
  // With memory exhausted, hand back one block of n * 8 bytes and start a connect. Too
  // little and the SYN fails with ENOMEM; too much and the connect starts; in between the
  // SYN fits and the connect's timer does not, and lwIP asserts that its timer pool is
  // never empty. Search n, starting each try from fresh stacks.
  const seen = [];
  let lo = 0;
  let hi = 128;
  while (hi - lo > 1) {
    const n = (lo + hi) >> 1;
    const net = await setup(wasm, false);
    try {
      const probe = net.a.socket(AF_INET, SOCK_STREAM);
      const reserve = net.a.epoll();
      reserve.waitSync(n);
      exhaust(net.a);
      // Closing frees the event buffer and the instance itself; a new instance takes the
      // instance's block straight back, so exactly the n * 8 bytes are handed back.
      reserve.close();
      net.a.epoll();
      let outcome;
      try {
        probe.connectSync('10.0.0.2', 80);
      } catch (e) {
        outcome = e;
      }
      seen.push(`${n * 8} bytes: ${outcome?.code}`);
      if (outcome instanceof SocketError && outcome.code === 'ENOMEM') lo = n;
      else if (outcome instanceof SocketError && outcome.code === 'EINPROGRESS') hi = n;
      else {
        assert.ok(outcome instanceof StackError && outcome.code === 'ESTACKFAILED', `connect: ${outcome}`);
        await checkFailed(net, /lwIP assertion "sys_timeout: timeout != NULL/);
        return;
      }
    } finally {
      net.a.dispose();
      net.b.dispose();
    }
  }
  assert.unreachable(`no size tripped the assertion: ${seen.join(', ')}`);
}, 60_000);

test.run();
