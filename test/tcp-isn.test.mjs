// Initial sequence numbers and TIME_WAIT, as Linux has them (wasm/tcp_guard.c):
// - ISNs follow RFC 6528 (a clock plus a keyed hash of the 4-tuple), so an off-path host
//   cannot predict them from earlier connections, yet for one 4-tuple they grow;
// - a SYN for a connection the server holds in TIME_WAIT, with a sequence beyond the old
//   one, opens a new connection (RFC 1122 4.2.2.13) instead of drawing a RST;
// - a segment for one of many connections in TIME_WAIT finds it (a hash, patch 0032),
//   and one that comes after TIME_WAIT ended finds nothing.
import { AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEADDR, createPair } from '../dist/index.js';
import { tapLink, parseTcp } from './frames.mjs';
import { it, test, assert, createStack, text, readExactly, waitUntil } from './helpers.mjs';

const enc = (s) => new TextEncoder().encode(s);

/** a (10.0.0.1) and b (10.0.0.2) on a pair; every SYN a sends is recorded with its port. */
async function watched() {
  const syns = [];
  const [la, lb] = createPair();
  const a = await createStack({ seed: 21 });
  const b = await createStack({ seed: 22 });
  a.addInterface(tapLink(la, (f, outgoing) => {
    if (!outgoing) return;
    const t = parseTcp(f);
    if (t && (t.flags & 0x12) === 0x02) syns.push({ sport: t.sport, seq: t.seq >>> 0 });
  }), { ip: '10.0.0.1/24' });
  b.addInterface(lb, { ip: '10.0.0.2/24' });
  const listener = b.socket(AF_INET, SOCK_STREAM);
  listener.bind('0.0.0.0', 80);
  listener.listen(64);
  return { a, b, listener, syns, dispose: () => { a.dispose(); b.dispose(); } };
}

/** One connection from a (optionally from a fixed port): request, reply, the server closes first. */
async function exchange(net, port, message) {
  const c = net.a.socket(AF_INET, SOCK_STREAM);
  if (port !== undefined) {
    c.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    c.bind('0.0.0.0', port);
  }
  const accepted = net.listener.accept();
  await c.connect('10.0.0.2', 80);
  const s = await accepted;
  await c.send(enc(message));
  assert.is(text(await readExactly(s, message.length)), message);
  await s.send(enc('ok'));
  s.close(); // the server closes first, so the server side ends in TIME_WAIT
  assert.is(text(await readExactly(c, 2)), 'ok');
  assert.is((await c.recv()).length, 0, 'end of stream after the server closed');
  c.close();
}

it('ISNs of successive connections are not a counter: no two differences alike, spread over the space', async () => {
  const net = await watched();
  try {
    for (let i = 0; i < 12; i++) await exchange(net, undefined, `hello ${i}`);
    assert.is(net.syns.length, 12);
    const diffs = net.syns.slice(1).map((s, i) => (s.seq - net.syns[i].seq) >>> 0);
    assert.is(new Set(diffs).size, diffs.length, `differences repeat: ${diffs}`);
    // lwIP's own ISN moved by its tick count (small steps); hashed ISNs land anywhere.
    const far = diffs.filter((d) => d > 1_000_000 && d < 2 ** 32 - 1_000_000).length;
    assert.ok(far >= diffs.length - 2, `most differences should be large: ${diffs}`);
  } finally {
    net.dispose();
  }
});

it('for one 4-tuple the ISN grows with time, and a reconnect while the server is in TIME_WAIT succeeds', async () => {
  const net = await watched();
  try {
    await exchange(net, 40000, 'first');
    assert.ok(await waitUntil(() => net.b.ss().some((r) => r.state === 'TIME-WAIT' && r.peer?.port === 40000), 2000),
      'the server holds the old connection in TIME-WAIT');
    await new Promise((r) => setTimeout(r, 20));
    // Linux lets this through (RFC 1122 4.2.2.13); lwIP alone answers with a RST (ECONNREFUSED).
    await exchange(net, 40000, 'second');
    const [first, second] = net.syns.filter((s) => s.sport === 40000);
    assert.ok(first && second, 'both SYNs seen');
    const grew = (second.seq - first.seq) >>> 0;
    assert.ok(grew > 0 && grew < 2 ** 31, `ISN for the same 4-tuple grows: ${first.seq} then ${second.seq}`);
    assert.not.ok(net.b.ss().some((r) => r.state === 'ESTAB'), 'nothing left open');
  } finally {
    net.dispose();
  }
});

it('with 700 connections in TIME_WAIT, a retransmitted FIN for the first is ACKed from TIME_WAIT; once TIME_WAIT ends, the same FIN draws a RST', async () => {
  // b's link records every FIN from a, and b's replies, and can feed b a frame again.
  const fins = new Map(); // a's port -> its FIN frame, as b received it
  const replies = [];
  const [la, lb] = createPair();
  const a = await createStack({ seed: 31 });
  const b = await createStack({ seed: 32, timeWait: 4000 });
  const tapB = tapLink(lb, (f, outgoing) => {
    const t = parseTcp(f);
    if (!t) return;
    if (outgoing) replies.push(t);
    else if (t.flags & 0x01) fins.set(t.sport, f.slice());
  });
  a.addInterface(la, { ip: '10.0.0.1/24' });
  b.addInterface(tapB, { ip: '10.0.0.2/24' });
  const listener = b.socket(AF_INET, SOCK_STREAM);
  listener.bind('0.0.0.0', 80);
  listener.listen(64);
  const net = { a, b, listener };
  try {
    const N = 700; // past the lookup's first table sizes (256 and 512 buckets)
    const ports = [];
    for (let i = 0; i < N; i++) {
      const port = 42000 + i;
      ports.push(port);
      await exchange(net, port, `m${i}`);
    }
    assert.ok(await waitUntil(() => b.ss().filter((r) => r.state === 'TIME-WAIT').length === N, 3000),
      `the server holds all ${N} in TIME-WAIT`);
    assert.ok(fins.has(ports[0]), "the first connection's FIN was seen");

    /** Feeds b the first connection's FIN again; resolves b's answer to it (its flags). */
    const refeed = async () => {
      const from = replies.length;
      tapB.inject([fins.get(ports[0]).slice()]);
      let answer;
      await waitUntil(() => (answer = replies.slice(from).find((t) => t.dport === ports[0])) !== undefined, 2000);
      return answer?.flags;
    };
    const ACK = 0x10;
    const RST = 0x04;
    const inTimeWait = await refeed();
    assert.ok(inTimeWait !== undefined && (inTimeWait & ACK) && !(inTimeWait & RST), `TIME_WAIT answers the FIN with an ACK (flags ${inTimeWait})`);

    assert.ok(await waitUntil(() => !b.ss().some((r) => r.state === 'TIME-WAIT'), 10_000), 'TIME_WAIT ended for all');
    const after = await refeed();
    assert.ok(after !== undefined && (after & RST), `after TIME_WAIT the FIN finds no connection: RST (flags ${after})`);
    // And the ports are free again: a new connection from the first one works at once.
    await exchange(net, ports[0], 'again');
  } finally {
    a.dispose();
    b.dispose();
  }
}, 30_000);

test.run();
