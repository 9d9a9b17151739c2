// Helpers for the TAP suites: each test gets its own network namespace with the TAP
// device's kernel side moved into it and addressed, a stack on the Node side, and
// cleanup that removes the device, the namespace and every process started in it,
// even when the test fails. Traffic only ever goes to that namespace.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { test } from 'uvu';
import { AF_INET, AF_INET6, SOCK_STREAM } from '../dist/index.js';
import { openTap } from '../dist/tap.js';
import { createStack, it } from './helpers.mjs';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

function hasCap(bit) {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return hex !== undefined && ((BigInt(`0x${hex}`) >> BigInt(bit)) & 1n) === 1n;
  } catch {
    return false;
  }
}

export function hasTool(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the kernel suites cannot run here, or null when they can. unprivileged: the test
 * also opens the device as a user without capabilities. */
export function tapSkipReason(tools = [], { unprivileged = false } = {}) {
  if (process.platform !== 'linux') return `TAP needs Linux (this is ${process.platform})`;
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun (modprobe tun)';
  const mode = statSync('/dev/net/tun').mode & 0o777;
  if (unprivileged && (mode & 0o006) !== 0o006) {
    return `/dev/net/tun is mode 0${mode.toString(8)} here (udev usually makes it 0666), so no user without root can open it`;
  }
  if (!hasCap(CAP_NET_ADMIN) || !hasCap(CAP_SYS_ADMIN)) {
    return 'needs CAP_NET_ADMIN and CAP_SYS_ADMIN to create TAP devices and network namespaces (run as root; CI does)';
  }
  const missing = ['ip', ...tools].filter((t) => !hasTool(t));
  if (missing.length) return `missing ${missing.join(', ')} (make test-deps installs them)`;
  return null;
}

/**
 * A test that skips, saying why, when the kernel side cannot be set up. Every test has a
 * time limit (helpers.it), after which its stacks are disposed and its cleanup runs.
 */
export function tapTest(name, fn, { ms = 60_000, tools = [], unprivileged = false } = {}) {
  const reason = tapSkipReason(tools, { unprivileged });
  if (reason) {
    console.log(`skipping "${name}": ${reason}`);
    test.skip(name);
    return;
  }
  it(name, fn, ms);
}

let seq = 0;
const pid = process.pid % 1_000_000;

/** Names unique to this process and test: interface names are at most 15 bytes. */
export function uniqueNames() {
  seq++;
  return { ns: `lwt-${pid}-${seq}`, dev: `lwt${pid}t${seq}` };
}

/** Removes namespaces left by earlier runs of these suites whose process is gone. */
export function sweepStale() {
  let list = '';
  try {
    list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const m = /^(lwt-(\d+)-\d+)/.exec(line);
    if (!m || Number(m[2]) === pid) continue;
    if (existsSync(`/proc/${m[2]}`)) continue; // another run still uses it
    killNamespace(m[1]);
    try {
      execFileSync('ip', ['netns', 'del', m[1]], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}

function killNamespace(ns) {
  let pids = '';
  try {
    pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const p of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

/** Runs ip(8) with these arguments, synchronously; throws with ip's message on failure. */
export function ip(...args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** True while a device of this name exists in the root namespace. */
export function deviceExists(name) {
  try {
    ip('link', 'show', 'dev', name);
    return true;
  } catch {
    return false;
  }
}

export function namespaceExists(ns) {
  return ip('netns', 'list').split('\n').some((l) => l.split(' ')[0] === ns);
}

/**
 * Builds the test network and runs fn(net), then tears it all down:
 *   Node: a stack whose interface is the TAP link, 10.77.0.2/24 and fd77::2/64
 *   netns: the TAP device, 10.77.0.1/24 and fd77::1/64, MTU mtu, up
 *   opts: { mtu, stackOptions, interfaceOptions, tapOptions (openTap options),
 *           wrap (link → the link addInterface gets, e.g. a capture) }
 * net: { ns, dev, link, stack, iface, kernel4, stack4, kernel6, stack6, mtu,
 *        run(cmd, args, opts) → Promise<{ code, stdout, stderr }>, spawn(cmd, args) → child }
 */
export async function withTapNet(opts, fn) {
  const { mtu = 1500, stackOptions = {}, interfaceOptions = {}, tapOptions = {}, wrap = (l) => l } = opts;
  const { ns, dev } = uniqueNames();
  const children = new Set();
  let link;
  let stack;
  ip('netns', 'add', ns);
  try {
    link = openTap({ name: dev, mtu, ...tapOptions });
    // The fd stays with Node in the root namespace; the device moves and keeps working.
    ip('link', 'set', dev, 'netns', ns);
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', dev);
    ip('-n', ns, '-6', 'addr', 'add', 'fd77::1/64', 'dev', dev, 'nodad');
    ip('-n', ns, 'link', 'set', dev, 'up');
    stack = await createStack({ seed: 77, ...stackOptions });
    const iface = stack.addInterface(wrap(link), { ip: '10.77.0.2/24', ipv6: 'fd77::2/64', ...interfaceOptions });
    const net = {
      ns, dev, link, stack, iface, mtu,
      kernel4: '10.77.0.1', stack4: '10.77.0.2', kernel6: 'fd77::1', stack6: 'fd77::2',
      /** Runs cmd in the namespace with a time limit; resolves { code, stdout, stderr }. */
      run(cmd, args = [], { timeout = 20_000, encoding = 'utf8' } = {}) {
        return new Promise((resolve) => {
          const child = execFile('ip', ['netns', 'exec', ns, cmd, ...args],
            { timeout, killSignal: 'SIGKILL', encoding, maxBuffer: 64 * 1024 * 1024 },
            (err, stdout, stderr) => {
              children.delete(child);
              resolve({ code: err ? (err.code ?? err.signal ?? 1) : 0, stdout, stderr });
            });
          children.add(child);
        });
      },
      /** Starts a long-running cmd in the namespace (its own process group, killed at cleanup). */
      spawn(cmd, args = []) {
        const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        child.group = true;
        children.add(child);
        child.stdout.setEncoding('utf8');
        child.stderr.setEncoding('utf8');
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        child.done = new Promise((resolve) => child.on('close', (code, signal) => {
          children.delete(child);
          resolve({ code: code ?? signal, stdout, stderr });
        }));
        child.output = () => ({ stdout, stderr });
        return child;
      },
    };
    return await fn(net);
  } finally {
    for (const c of children) {
      try {
        if (c.group) process.kill(-c.pid, 'SIGKILL');
        else c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    stack?.dispose();
    link?.close();
    killNamespace(ns);
    try {
      ip('netns', 'del', ns);
    } catch {
      // reported by the cleanup test if it stays
    }
  }
}

/** Waits until a TCP port listens in the namespace (ss), for at most ms. */
export async function waitListening(net, port, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await net.run('ss', ['-Hltn', `sport = :${port}`], { timeout: 2000 });
    if (r.code === 0 && r.stdout.trim() !== '') return;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`nothing listened on port ${port} in ${net.ns} within ${ms} ms`);
}

/** Connects a TCP socket from the stack to the kernel side (IPv4 unless family 6). */
export async function connectKernel(net, port, family = 4) {
  const s = net.stack.socket(family === 6 ? AF_INET6 : AF_INET, SOCK_STREAM);
  await s.connect(family === 6 ? net.kernel6 : net.kernel4, port);
  return s;
}

/**
 * A TCP server in namespace ns on host:port that answers each connection with reply and
 * closes: { child, ready, hits } (hits counts the connections it took).
 */
export function nsServer(ns, host, port, reply) {
  const code = `require('net').createServer((s) => { console.log('hit'); s.end(${JSON.stringify(reply)}); })` +
    `.listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const server = { child, hits: 0 };
  server.ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      const text = String(d);
      server.hits += (text.match(/hit/g) ?? []).length;
      if (text.includes('ready')) resolve();
    });
    child.on('exit', (c) => reject(new Error(`server in ${ns} exited ${c}`)));
  });
  return server;
}

/** Deletes namespace ns if it is still there (cleanup that must not throw). */
export function deleteNamespace(ns) {
  try {
    ip('netns', 'del', ns);
  } catch {
    // already gone
  }
}
