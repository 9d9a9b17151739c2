// Hostile peers: single forged packets from a node on the same segment (Packet Too Big,
// ICMP errors with forged quotes, redirects, neighbour and router advertisements, tiny
// MSS options) against a stack with a live connection. Each case runs in its own
// process (test/hostile-cases.mjs) under a time limit, since the worst of these used to
// hang the stack's process for good; a hang is a failure, not a stuck suite.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, assert } from './helpers.mjs';

const script = fileURLToPath(new URL('./hostile-cases.mjs', import.meta.url));
const LIMIT_MS = 60_000;

function run(name) {
  const r = spawnSync(process.execPath, [script, name], { encoding: 'utf8', timeout: LIMIT_MS, killSignal: 'SIGKILL' });
  if (r.error || r.signal) return { ok: false, detail: `no answer within ${LIMIT_MS / 1000} s: the stack hung (${r.error?.code ?? r.signal})` };
  const line = r.stdout.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return { ok: false, detail: `no verdict:\n${r.stdout}${r.stderr}` };
  }
}

const names = {
  'ptb6-every-mtu': 'IPv6 Packet Too Big with every MTU from 0 to 1280 quoting the live connection: no hang, no tiny fragments',
  'frag-needed4-every-mtu': 'IPv4 fragmentation-needed with every MTU from 0 to 1280 quoting the live connection',
  'ptb6-forged-quote': 'Packet Too Big quoting no live connection (other port, sequence outside SND.UNA..SND.NXT, cut short) is dropped and counted',
  'ptb6-behind-extension-headers': 'Packet Too Big behind a destination option, an atomic fragment header or a 256-byte header is dropped',
  'unreach-forged-quote': 'port unreachable with a forged sequence number does not end a connect; the genuine one does',
  'mss-tiny': 'MSS option 0, 1 and 47: the send MSS is 536 (absent), 48 and 48, and data moves',
  'window-tiny': 'a peer offering a 2-byte window: a 64 KiB write still goes out, the sender does not spin',
  'redirect-not-first-hop': 'redirect from a node that is not the first hop is dropped',
  'redirect-from-router': 'redirect from the first-hop router is still taken',
  'na-override': 'unsolicited and unicast NAs naming the peer with another MAC do not move it; A probes the held MAC',
  'na-router-moves': 'a router whose MAC changes is held to its old MAC while A probes it, and moved once the probes go unanswered',
  'na-no-entry': 'an unsolicited NA creates no neighbour entry',
  'accept-queue-resets': 'connect-then-reset 40 times to a backlog-2 listener: the accept queue stays within the backlog',
  'udp-empty-flood': '20000 empty UDP datagrams to an unread socket are charged against its buffer; the queue and the heap stay bounded',
  'arp-move': 'gratuitous ARP and a forged reply naming the peer with another MAC do not move it; A re-requests it',
  'arp-eviction': 'ARP requests from 200 made-up senders do not evict the peer from the ARP table',
  'ra-invalid': 'router advertisements from a global source, with hop limit 64, or code 1 are dropped',
};

for (const [name, title] of Object.entries(names)) {
  test(title, () => {
    const r = run(name);
    assert.ok(r.ok, `${name}: ${r.detail}`);
  });
}

test('every case in hostile-cases.mjs is run here', () => {
  const r = spawnSync(process.execPath, [script, '--list'], { encoding: 'utf8' });
  assert.equal(JSON.parse(r.stdout).sort(), Object.keys(names).sort());
});

test.run();
