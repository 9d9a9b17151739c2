// What one forged TCP segment, from someone who knows a connection's addresses and ports
// but not its sequence numbers, does to an established lwIP connection. The frame
// fuzzer found these; its sanitizer keeps them away from the connections it must keep
// alive. Each check prints "ok" or what went wrong; exit 1 if any went wrong.
// lwIP 2.1.3 processes a segment's ACK and options before it checks the sequence number
// (tcp_receive, tcp_parseopt), and its wrapping comparisons accept a segment exactly
// 2^31 away; wasm/tcp_guard.c (LWIP_HOOK_TCP_INPACKET_PCB, RFC 5961) now drops them.
// Usage: node scripts/tcp-offpath.mjs
import { Stack, createPair, VirtualClock, AF_INET, SOCK_STREAM } from '../dist/index.js';
import { tapLink, parseTcp, tcpSegment, ipv4Packet, ether, ip4, parseMac, Rng } from '../test/frames.mjs';

async function connection() {
  const clock = new VirtualClock();
  const a = await Stack.create({ clock, seed: 1 });
  const b = await Stack.create({ clock, seed: 2 });
  const [la, lb] = createPair();
  let fromB;
  let frames = 0;
  const tap = tapLink(la, (f, fromVictim) => {
    frames++;
    const t = !fromVictim && parseTcp(f);
    if (t) fromB = t;
  });
  const ia = a.addInterface(tap, { ip: '10.0.0.1/24' });
  const ib = b.addInterface(lb, { ip: '10.0.0.2/24' });
  const l = b.socket(AF_INET, SOCK_STREAM);
  l.bind('0.0.0.0', 80);
  l.listen();
  const c = a.socket(AF_INET, SOCK_STREAM);
  const [s] = await clock.runUntil(Promise.all([l.accept(), c.connect('10.0.0.2', 80)]));
  let got = 0;
  const reader = (async () => {
    for (;;) {
      const d = await s.recv();
      if (d.length === 0) return;
      got += d.length;
    }
  })();
  reader.catch(() => {});
  await clock.runUntil(c.send(new Uint8Array(65536)));
  await clock.advanceAsync(100);
  /** Injects one segment from b's address and port into a, as if off the wire. */
  const forge = ({ seq, ack = 0, flags, win = 65535, options = new Uint8Array(0), payload }) => {
    const seg = tcpSegment(new Rng(1), {
      src: ip4('10.0.0.2'), dst: ip4('10.0.0.1'), sport: 80, dport: c.getsockname().port, seq, ack, flags, win, options, payload,
    });
    tap.inject([ether(parseMac(ia.mac), parseMac(ib.mac), 0x0800, ipv4Packet({ src: ip4('10.0.0.2'), dst: ip4('10.0.0.1'), proto: 6, payload: seg }))]);
  };
  /** Sends 1 MiB more and reports whether it all arrived within 10 virtual minutes. */
  const stillWorks = async () => {
    const before = got;
    const p = (async () => {
      for (let i = 0; i < 16; i++) await c.send(new Uint8Array(65536));
    })();
    try {
      await clock.runUntil(p, { timeLimit: 600_000 });
      await clock.advanceAsync(1000);
    } catch {
      // stalled
    }
    return got - before === 16 * 65536;
  };
  const info = () => a.ss({ info: true, tcp: true }).find((r) => r.fd === c.fd)?.info;
  return { a, b, c, clock, forge, stillWorks, info, frames: () => frames, rcvNxt: () => fromB.seq, dispose: () => { a.dispose(); b.dispose(); } };
}

const checks = [
  ['an ACK 2^30 ahead of the window, window 0', async (k) => {
    k.forge({ seq: (k.rcvNxt() + 0x40000000) >>> 0, ack: 12345, flags: 0x10, win: 0 });
    return (await k.stillWorks()) ? 'ok' : `the connection stalled for good (send window now ${k.info()?.sndWnd})`;
  }],
  ['a segment 2^30 ahead of the window, no ACK, MSS option 391', async (k) => {
    const before = k.info()?.mss;
    k.forge({ seq: (k.rcvNxt() + 0x40000000) >>> 0, flags: 0x08, options: Uint8Array.from([2, 4, 1, 135]) });
    const after = k.info()?.mss;
    return after === before ? 'ok' : `the MSS changed from ${before} to ${after}`;
  }],
  ['a FIN exactly 2^31 away from the window, no ACK', async (k) => {
    k.forge({ seq: (k.rcvNxt() + 0x80000000) >>> 0, flags: 0x01 });
    const st = k.a.ss({ tcp: true }).find((r) => r.fd === k.c.fd)?.state;
    if (st === 'ESTAB') return 'ok';
    // the two ends now disagree by one sequence number and answer each other's ACKs
    const before = k.frames();
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    return `the connection took the FIN (state ${st}); then ${k.frames() - before} frames in 200 event-loop turns`;
  }],
];

let bad = 0;
for (const [name, run] of checks) {
  const k = await connection();
  let verdict;
  try {
    verdict = await run(k);
  } finally {
    k.dispose();
  }
  if (verdict !== 'ok') bad++;
  console.log(`${name}: ${verdict}`);
}
process.exit(bad ? 1 : 0);
