// Runs the frame fuzzer against a stack with live connections and reports what
// happened; the quick suite (fuzz-frames.test.mjs) and the long run
// (scripts/fuzz-frames.mjs) both use it. The victim and its peer run on a virtual clock
// that the loop moves 1 ms per batch, so lwIP's timers (retransmission, SYN-RCVD,
// reassembly and ARP expiry) run while the frames pour in.
import { createHash } from 'node:crypto';
import {
  Stack, createPair, VirtualClock, AF_INET, AF_INET6, SOCK_STREAM, SOCK_DGRAM,
} from '../dist/index.js';
import { FrameFuzzer, tapLink } from './frames.mjs';

const macrotask = () => new Promise((r) => setImmediate(r));
const ROUTER_LIFETIME_MS = 65536 * 1000;

/** A live connection with an echo running over it: the peer sends, the victim echoes back. */
function echoLoop(peerSock, victimSock, stop) {
  const sent = createHash('sha256');
  const back = createHash('sha256');
  const state = { sentBytes: 0, backBytes: 0, error: undefined, probe: undefined };
  const echo = (async () => {
    for (;;) {
      const d = await victimSock.recv(65536);
      if (d.length === 0) return;
      await victimSock.send(d);
    }
  })();
  const reader = (async () => {
    for (;;) {
      const d = await peerSock.recv(65536);
      if (d.length === 0) return;
      if (state.probe) state.probe.push(d);
      else {
        back.update(d);
        state.backBytes += d.length;
      }
    }
  })();
  const writer = (async () => {
    let n = 0;
    while (!stop.now) {
      const msg = new Uint8Array(1000 + (n % 3000)).fill(n & 0xff);
      sent.update(msg);
      state.sentBytes += msg.length;
      await peerSock.send(msg);
      n++;
      while (state.sentBytes - state.backBytes > 256 * 1024 && !stop.now) await macrotask();
    }
  })();
  Promise.all([writer, reader, echo]).catch((e) => {
    state.error = e;
  });
  /** After stop: everything sent came back, byte for byte. */
  state.finish = async () => {
    await writer;
    while (state.backBytes < state.sentBytes && !state.error) await macrotask();
    return { intact: sent.digest('hex') === back.digest('hex'), bytes: state.sentBytes };
  };
  /** A fresh 64 KiB round trip; resolves whether it came back intact. */
  state.roundTrip = async (fill) => {
    state.probe = [];
    const msg = new Uint8Array(64 * 1024).fill(fill);
    await peerSock.send(msg);
    let got = 0;
    while (got < msg.length && !state.error) {
      await macrotask();
      got = state.probe.reduce((n, d) => n + d.length, 0);
    }
    return got === msg.length && state.probe.every((d) => d.every((b) => b === fill));
  };
  return state;
}

/**
 * Fuzzes `count` frames (seeded) into a victim stack. Returns counts, memory before and
 * after, and whether the live connections still carried data intact. mix (class weights)
 * and mutate (the share of mutated frames) go to the FrameFuzzer.
 */
export async function fuzzFrames({ count, seed = 1, batch = 64, wasm, onProgress, mix, mutate }) {
  const clock = new VirtualClock();
  const failures = [];
  const victim = await Stack.create({ clock, seed, wasm, onError: (e) => failures.push(['victim', e]) });
  const peer = await Stack.create({ clock, seed: seed + 1, wasm, onError: (e) => failures.push(['peer', e]) });
  let fuzzer;
  const [la, lb] = createPair();
  const tap = tapLink(la, (f, fromVictim) => fuzzer?.watch(f, fromVictim));
  const iv = victim.addInterface(tap, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  const ip = peer.addInterface(lb, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  const closeAll = [];
  try {
    const empty = victim.memory();

    // services on the victim, and the peer's, for connections the victim opens
    const listen = (stack, domain, port, backlog = 16) => {
      const l = stack.socket(domain, SOCK_STREAM);
      l.bind(domain === AF_INET ? '0.0.0.0' : '::', port);
      l.listen(backlog);
      closeAll.push(l);
      return l;
    };
    const vl4 = listen(victim, AF_INET, 80);
    const vl6 = listen(victim, AF_INET6, 8080);
    // for the handshakes the fuzzer finishes (IPv4 and IPv6): on 80 and 8080 the SYN flood
    // of the other classes keeps the backlog full of half-open connections
    const vlh = listen(victim, AF_INET6, 8081, 64);
    const pl4 = listen(peer, AF_INET, 9000);
    const pl6 = listen(peer, AF_INET6, 9001);
    const udp = [[AF_INET, '0.0.0.0', 53], [AF_INET6, '::', 5353]].map(([d, a, p]) => {
      const u = victim.socket(d, SOCK_DGRAM);
      u.bind(a, p);
      closeAll.push(u);
      return u;
    });

    // live connections both ways, IPv4 and IPv6: [peerSocket, victimSocket]
    const live = await clock.runUntil((async () => {
      const out = [];
      for (const [l, domain, addr] of [[vl4, AF_INET, '10.0.0.1'], [vl6, AF_INET6, 'fd00::1']]) {
        for (let i = 0; i < 2; i++) {
          const c = peer.socket(domain, SOCK_STREAM);
          const [s] = await Promise.all([l.accept(), c.connect(addr, l.getsockname().port)]);
          out.push([c, s]);
        }
      }
      for (const [l, domain, addr] of [[pl4, AF_INET, '10.0.0.2'], [pl6, AF_INET6, 'fd00::2']]) {
        const c = victim.socket(domain, SOCK_STREAM);
        const [s] = await Promise.all([l.accept(), c.connect(addr, l.getsockname().port)]);
        out.push([s, c]);
      }
      return out;
    })());
    for (const pair of live) closeAll.push(...pair);
    await clock.advanceAsync(1000);
    const base = victim.memory();

    fuzzer = new FrameFuzzer({
      seed,
      target: { mac: iv.mac, ipv4: '10.0.0.1', ipv6: ['fd00::1', iv.ipv6[0]] },
      peer: { mac: ip.mac, ipv4: '10.0.0.2', ipv6: ['fd00::2', ip.ipv6[0]] },
      tcpPorts: [80, 8080], synPorts: [8081], udpPorts: [53, 5353], mix, mutate,
    });
    for (const [p, v] of live) {
      const vs = v.getsockname();
      const vp = v.getpeername();
      fuzzer.addLive({ peer: vp.address, peerPort: vp.port, victim: vs.address, victimPort: vs.port });
    }

    const stop = { now: false };
    const echoes = live.map(([p, v]) => echoLoop(p, v, stop));
    const t0 = performance.now();
    let injected = 0;
    let udpDrained = 0;
    let accepted = 0;
    // connections the fuzzer finished (with odd MSS options) fill the backlogs: take them,
    // send on them (in segments of the MSS they announced), and close them
    const acceptAll = () => {
      for (const l of [vl4, vl6, vlh]) {
        for (;;) {
          let s;
          try {
            s = l.acceptSync();
          } catch {
            break;
          }
          accepted++;
          try {
            s.sendSync(new Uint8Array(4096).fill(accepted & 0xff));
          } catch {
            // a reset by now, or no room: either is fine
          }
          s.close();
        }
      }
    };
    while (injected < count && failures.length === 0) {
      const n = Math.min(batch, count - injected);
      const frames = new Array(n);
      for (let i = 0; i < n; i++) frames[i] = fuzzer.next();
      tap.inject(frames);
      injected += n;
      clock.advance(1);
      await macrotask();
      if ((injected / batch) % 8 === 0) acceptAll();
      if ((injected / batch) % 64 === 0) {
        for (const u of udp) {
          for (;;) {
            try {
              u.recvfromSync();
              udpDrained++;
            } catch {
              break;
            }
          }
        }
        onProgress?.({ injected, ms: performance.now() - t0, memory: victim.memory() });
      }
    }
    const fuzzMs = performance.now() - t0;
    stop.now = true;
    const carried = await clock.runUntil(Promise.all(echoes.map((e) => e.finish())), { timeLimit: 600_000 });

    // a fresh exchange on every live connection, after the storm
    const after = await clock.runUntil(Promise.all(echoes.map((e, i) => e.roundTrip(i + 1))), { timeLimit: 600_000 });

    // let every half-open connection, reassembly and neighbour entry expire, then compare
    for (const u of udp) {
      for (;;) {
        try {
          u.recvfromSync();
        } catch {
          break;
        }
      }
    }
    acceptAll();
    await clock.advanceAsync(10 * 60_000);
    const tenMinutes = victim.memory();
    // lwIP keeps packets queued for an IPv6 default router that never answers ND until
    // the router's lifetime ends (up to 65535 s, from a forged router advertisement; at
    // most 64 per neighbour, wasm/patches/0006), so only after that is everything back;
    // nothing else needs more than minutes.
    clock.advance(ROUTER_LIFETIME_MS);
    await clock.advanceAsync(5000);
    const settled = victim.memory();
    return {
      injected, fuzzMs, failures, stats: fuzzer.stats, udpDrained, accepted,
      memory: { empty, base, tenMinutes, settled },
      live: carried.map((c, i) => ({ ...c, error: echoes[i].error?.message, afterwards: after[i] })),
      victimStats: victim.stats(),
      clockMs: clock.now(),
    };
  } finally {
    victim.dispose();
    peer.dispose();
  }
}

/** Pool counts that differ between two memory() snapshots. */
export function poolDiff(now, base) {
  const out = {};
  for (const k of new Set([...Object.keys(now.pools), ...Object.keys(base.pools)])) {
    const d = (now.pools[k] ?? 0) - (base.pools[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
}
