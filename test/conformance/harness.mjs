// The differential conformance harness: one scenario, written once against the node:net
// / node:dgram / node:dns API, runs against Node's own modules on loopback (127.0.0.1,
// ::1) and against a stack's (stack.net, stack.dgram, stack.dns; the stack's own
// loopback). Each run records what it saw (events in order per channel, error codes,
// errno, syscall, messages, values), and the two records must be equal. Ephemeral port
// numbers are replaced by names (P1, P2...) so the records compare.
//
// Scenarios that are about the process itself (does it exit, what does an uncaught
// exception do) run in a child process each (child.mjs), and record its exit too.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import netNode from 'node:net';
import dgramNode from 'node:dgram';
import dnsNode from 'node:dns';
import { Stack } from '../../dist/node.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const SCENARIO_LIMIT_MS = 10000;

/** What a run records: events per channel, ports named in order of first sight. */
export class Recorder {
  events = [];
  #ports = new Map();

  /** Names a port number (P1, P2, ...), so records from two runs compare. */
  port(p) {
    if (typeof p !== 'number' || p === 0) return p;
    if (!this.#ports.has(p)) this.#ports.set(p, `P${this.#ports.size + 1}`);
    return this.#ports.get(p);
  }

  /** Records one event: channel (the object it happened on), then what happened. */
  log(channel, ...items) {
    this.events.push([channel, ...items.map((x) => this.norm(x))]);
  }

  #text(s) {
    let out = s;
    for (const [p, name] of this.#ports) out = out.replace(new RegExp(`\\b${p}\\b`, 'g'), name);
    return out;
  }

  /** A value as recorded: errors by their fields, buffers as text, ports named. */
  norm(x) {
    if (x instanceof Error) return this.error(x);
    if (Buffer.isBuffer(x)) return `buf:${x.toString('latin1')}`;
    if (typeof x === 'string') return this.#text(x);
    if (Array.isArray(x)) return x.map((v) => this.norm(v));
    if (x && typeof x === 'object') {
      const out = {};
      for (const [k, v] of Object.entries(x)) out[k] = /port$/i.test(k) && typeof v === 'number' ? this.port(v) : this.norm(v);
      return out;
    }
    return x;
  }

  /** An error's observable shape: class, name, own enumerable keys and their values, message. */
  error(e) {
    const out = {
      class: e instanceof RangeError ? 'RangeError' : e instanceof TypeError ? 'TypeError'
        : e instanceof AggregateError ? 'AggregateError' : 'Error',
      name: e.name,
      message: this.#text(e.message),
      keys: Object.keys(e).filter((k) => k !== 'info' || e.name === 'SystemError'),
    };
    for (const k of ['code', 'errno', 'syscall', 'address', 'hostname', 'localAddress']) if (k in e) out[k] = e[k];
    for (const k of ['port', 'localPort']) if (k in e) out[k] = this.port(e[k]);
    if (e.errors) out.errors = e.errors.map((x) => this.error(x));
    if (e.info) out.info = e.info;
    return out;
  }

  /** The record as channel -> events, so events on different objects need not interleave alike. */
  byChannel() {
    const out = {};
    for (const [channel, ...rest] of this.events) (out[channel] ??= []).push(rest);
    return out;
  }
}

/** Resolves with [args] of the event (an 'error' does not reject it), or rejects after ms. */
export function wait(emitter, name, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`waited ${ms} ms for '${name}'`)), ms);
    emitter.once(name, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

/** Resolves after n turns of the event loop (setImmediate). */
export async function turns(n = 1) {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** The result of fn, or the error it throws, as recorded. */
export function attempt(rec, fn) {
  try {
    const v = fn();
    return { returned: v === undefined ? 'undefined' : typeof v === 'object' && v !== null ? v.constructor?.name ?? 'object' : v };
  } catch (e) {
    return { threw: rec.error(e) };
  }
}

/** An environment: Node's own modules on the machine's loopback, or a stack's on its own. */
export async function makeEnv(kind, inChild = false) {
  const tracked = new Set();
  const env = {
    kind,
    v4: '127.0.0.1',
    v6: '::1',
    /** Remembers a server or socket so the harness closes it if the scenario does not. */
    t(x) {
      tracked.add(x);
      return x;
    },
    /** A port nothing listens on (listened on, then closed). */
    async freePort() {
      const s = env.net.createServer().listen(0, env.v4);
      await wait(s, 'listening');
      const p = s.address().port;
      s.close();
      await wait(s, 'close');
      return p;
    },
    /** Collects uncaught exceptions while fn runs (and one turn after). */
    async catchUncaught(rec, channel, fn) {
      const seen = (e) => rec.log(channel, 'uncaught', e instanceof Error ? e.message : String(e));
      process.on('uncaughtException', seen);
      try {
        await fn();
        await turns(2);
      } finally {
        process.off('uncaughtException', seen);
      }
    },
    cleanup() {
      for (const x of tracked) {
        try {
          if (typeof x.destroy === 'function') x.destroy();
          else if (typeof x.close === 'function' && (x.listening !== false)) x.close();
        } catch {
          // closed already
        }
      }
      if (!inChild) env.stack?.dispose();
    },
  };
  if (kind === 'node') {
    Object.assign(env, { net: netNode, dgram: dgramNode, dns: dnsNode });
  } else {
    const stack = await Stack.create();
    Object.assign(env, { stack, net: stack.net, dgram: stack.dgram, dns: stack.dns });
  }
  return env;
}

/** Runs one scenario in this process; resolves with its record. */
export async function runHere(scenario, kind) {
  const env = await makeEnv(kind);
  const rec = new Recorder();
  let timer;
  try {
    await Promise.race([
      scenario.run(env, rec),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario did not finish in ${SCENARIO_LIMIT_MS} ms`)), SCENARIO_LIMIT_MS);
      }),
    ]);
  } catch (e) {
    rec.log('scenario', 'failed', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  } finally {
    clearTimeout(timer);
    env.cleanup();
  }
  await turns(2);
  return rec.byChannel();
}

/**
 * Runs one scenario in a child process; resolves with its record plus how the process
 * ended: { exit: code } when it exited by itself, { exit: 'held' } when it was still
 * running when the scenario's probe fired (env.probe), or 'killed' after the limit.
 */
export function runInChild(file, scenario, kind) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${here}child.mjs`, file, scenario.name, kind], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), SCENARIO_LIMIT_MS + 5000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const record = {};
      for (const line of out.split('\n')) {
        if (!line.startsWith('[')) continue;
        const [channel, ...rest] = JSON.parse(line);
        (record[channel] ??= []).push(rest);
      }
      (record.process ??= []).push([signal === 'SIGKILL' ? 'killed' : { exit: code }]);
      // an uncaught exception's report: the first line that names the error
      const thrown = /^(\w*Error\b[^\n]*)$/m.exec(err);
      if (code !== 0 && thrown) record.process.push(['stderr', thrown[1]]);
      resolve(record);
    });
  });
}

/**
 * Registers one uvu test per scenario: run on Node's modules and on a stack's, and
 * assert the records are equal. file is the scenario module's path relative to this one.
 */
export function defineSuite(test, assert, file, scenarios) {
  for (const s of scenarios) {
    test(s.name, async () => {
      let node;
      let stack;
      if (s.child) {
        [node, stack] = await Promise.all([runInChild(file, s, 'node'), runInChild(file, s, 'stack')]);
      } else {
        node = await runHere(s, 'node');
        stack = await runHere(s, 'stack');
      }
      // a scenario that failed on Node proves nothing: it must run through there
      assert.is(node.scenario, undefined, `${s.name} failed against node:net: ${JSON.stringify(node.scenario)}`);
      assert.equal(stack, node, `${s.name}: the stack differs from Node`);
      if (s.expect) s.expect(node, assert);
    });
  }
}
