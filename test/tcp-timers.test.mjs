// TCP's timers at millisecond granularity, on Linux's schedule (wasm/tcp_loss.c):
// SYNs resent 1, 2, 4 ... s apart; an RTO of SRTT + max(4 RTTVAR, 200 ms), doubling
// per retransmission; a delayed ACK after 40 ms. Everything runs on a VirtualClock,
// so the times are exact; frames are watched as the stack hands them to its link.
import {
  VirtualClock, createPair, impair, AF_INET, SOCK_STREAM,
} from '../dist/index.js';
import { it, test, assert, createStack, connectPair, rejectsCode } from './helpers.mjs';
import { tapLink, parseTcp } from './frames.mjs';

const SYN = 0x02;
const ACK = 0x10;

/** A link that drops the frames drop(frame) picks, on their way out. */
function dropping(link, drop) {
  return {
    get mtu() { return link.mtu; },
    attach: (r) => link.attach(r),
    send: (f) => (drop(f) ? true : link.send(f)),
    close: () => link.close(),
  };
}
const tcpFlags = (f) => parseTcp(f)?.flags;

/** a (10.0.0.1) and b (10.0.0.2) on one clock; every frame each stack sends is recorded
 * with its virtual time before it is dropped or impaired (so lost frames are seen too). */
async function net(aImpair = {}, bImpair = {}, { dropA = () => false } = {}) {
  const clock = new VirtualClock();
  const a = await createStack({ clock, seed: 1 });
  const b = await createStack({ clock, seed: 2 });
  const [la, lb] = createPair();
  const sent = { a: [], b: [] };
  const watch = (who) => (f, out) => {
    if (!out) return;
    const t = parseTcp(f);
    if (t) sent[who].push({ at: clock.now(), ...t });
  };
  const ia = impair(la, { clock, seed: 3, ...aImpair });
  const ib = impair(lb, { clock, seed: 4, ...bImpair });
  a.addInterface(tapLink(dropping(ia, dropA), watch('a')), { ip: '10.0.0.1/24' });
  b.addInterface(tapLink(ib, watch('b')), { ip: '10.0.0.2/24' });
  return { clock, a, b, ia, ib, sent, dispose: () => { a.dispose(); b.dispose(); } };
}

it('a SYN nobody answers is resent 1, 2, 4, 8, 16 and 32 s apart, and connect ends at connectTimeout', async () => {
  const n = await net({}, {}, { dropA: (f) => tcpFlags(f) === SYN });
  try {
    const c = n.a.socket(AF_INET, SOCK_STREAM);
    const t0 = n.clock.now();
    await rejectsCode(n.clock.runUntil(c.connect('10.0.0.2', 80), { timeLimit: 200_000 }), 'ETIMEDOUT', 'connect');
    const syns = n.sent.a.filter((s) => s.flags === SYN).map((s) => s.at - t0);
    assert.equal(syns, [0, 1000, 3000, 7000, 15000, 31000, 63000], `SYNs at ${syns.join(', ')} ms`);
    assert.is(n.clock.now() - t0, 75_000, 'connect gave up at the default 75 s');
    c.close();
  } finally {
    n.dispose();
  }
});

it('a SYN-ACK whose ACK never comes is resent 1, 2, 4 ... s apart too', async () => {
  // b's SYN-ACKs reach a; a's answers (its ACKs) are lost
  const n = await net({}, {}, { dropA: (f) => tcpFlags(f) === ACK });
  try {
    const l = n.b.socket(AF_INET, SOCK_STREAM);
    l.bind('0.0.0.0', 80);
    l.listen(4);
    const c = n.a.socket(AF_INET, SOCK_STREAM);
    const p = c.connect('10.0.0.2', 80).catch(() => {});
    await n.clock.advanceAsync(8000);
    const synacks = n.sent.b.filter((s) => s.flags === (SYN | ACK)).map((s) => s.at);
    assert.equal(synacks.map((t) => t - synacks[0]), [0, 1000, 3000, 7000], `SYN-ACKs at ${synacks.join(', ')}`);
    c.close();
    l.close();
    await p;
  } finally {
    n.dispose();
  }
});

it('the RTO after a fast handshake is the 200 ms floor, and doubles with each retransmission', async () => {
  const n = await net({ direction: 'out' });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    // an echo: the ACK rides on the answer, so no delayed ACK stretches the RTT sample
    await n.clock.runUntil(c.send('warm up'));
    await n.clock.runUntil(s.send(await n.clock.runUntil(s.recv())));
    await n.clock.runUntil(c.recv());
    const rto = n.a.ss({ info: true }).find((r) => r.fd === c.fd)?.info?.rto;
    assert.is(rto, 200, `ss reports rto ${rto}`);
    n.ia.set({ partition: true });
    const mark = n.sent.a.length;
    c.sendSync('lost');
    await n.clock.advanceAsync(3200);
    const data = n.sent.a.slice(mark).filter((x) => x.len === 4);
    const t0 = data[0].at;
    assert.equal(data.map((x) => x.at - t0), [0, 200, 600, 1400, 3000], `sent at ${data.map((x) => x.at - t0).join(', ')}`);
    n.ia.set({ partition: false });
    await n.clock.runUntil(() => s.pending >= 4);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('the RTO follows the RTT: SRTT + max(4 RTTVAR, 200 ms) at a 100 ms round trip', async () => {
  const n = await net({ delay: 50, direction: 'out' }, { delay: 50, direction: 'out' });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    for (let i = 0; i < 20; i++) {
      // an echo, so each ACK rides on the answer and no delayed ACK stretches the RTT
      await n.clock.runUntil(c.send(`ping ${i}`));
      await n.clock.runUntil(s.send(await n.clock.runUntil(s.recv())));
      await n.clock.runUntil(c.recv());
    }
    const info = n.a.ss({ info: true }).find((r) => r.fd === c.fd).info;
    assert.ok(info.rtt >= 100 && info.rtt <= 110, `rtt ${info.rtt}`);
    // the variance decays well below 50 ms, so the 200 ms floor on 4 RTTVAR holds
    assert.ok(info.rto >= info.rtt + 200 && info.rto <= info.rtt + 210, `rto ${info.rto} at rtt ${info.rtt}`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('a lone segment is acknowledged after the 40 ms delayed-ACK timer; every second one at once', async () => {
  const n = await net();
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    await n.clock.advanceAsync(100);
    const mark = { a: n.sent.a.length, b: n.sent.b.length };
    c.sendSync('one');
    await n.clock.runUntil(() => n.sent.b.slice(mark.b).some((x) => x.len === 0 && (x.flags & ACK)));
    const data = n.sent.a.slice(mark.a).find((x) => x.len === 3);
    const ack = n.sent.b.slice(mark.b).find((x) => x.len === 0);
    assert.is(ack.at - data.at, 40, `ACK ${ack.at - data.at} ms after the data`);
    // two full segments in one go: the second is acknowledged at once
    const mark2 = { a: n.sent.a.length, b: n.sent.b.length };
    c.sendSync(new Uint8Array(2 * 1448));
    await n.clock.runUntil(() => n.sent.b.slice(mark2.b).some((x) => x.len === 0));
    const ack2 = n.sent.b.slice(mark2.b).find((x) => x.len === 0);
    const data2 = n.sent.a.slice(mark2.a).filter((x) => x.len > 0);
    assert.is(ack2.at - data2[data2.length - 1].at, 0, 'no delay for the second segment');
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('an idle connection arms no retransmission timer: only lwIP\'s housekeeping tick runs', async () => {
  const n = await net();
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    await n.clock.runUntil(c.send('x'));
    await n.clock.runUntil(s.recv());
    await n.clock.advanceAsync(1000);
    const before = n.sent.a.length + n.sent.b.length;
    await n.clock.advanceAsync(10_000);
    assert.is(n.sent.a.length + n.sent.b.length, before, 'nothing sent while idle');
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

test.run();
