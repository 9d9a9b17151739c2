// SACK both ways and timestamps (RFC 2018, 6675, 7323): what the stack offers in its
// handshake, the blocks it sends for out-of-order data, that its retransmissions skip
// what the receiver SACKed, that a segment filling a gap is acknowledged at once, and
// the same against the Linux kernel over TAP. Frames are watched as the stacks hand
// them to their links; losses are chosen frames, so every run is the same.
import { VirtualClock, createPair, SHUT_WR } from '../dist/index.js';
import { it, test, assert, createStack, connectPair, randomBytes, sha256, drainToEof } from './helpers.mjs';
import { tapLink, parseTcp, fixChecksums } from './frames.mjs';
import { tapTest, withTapNet, waitListening, connectKernel, sweepStale, tapSkipReason } from './util-tap.mjs';

if (!tapSkipReason()) sweepStale();

/** The TCP options of a parsed frame: { mss, sackOk, ts: [val, ecr], sacks: [[l, r]...] }. */
function options(f, t) {
  const end = t.off + (f[t.off + 12] >> 4) * 4;
  const o = { sacks: [] };
  const u32 = (i) => ((f[i] << 24) | (f[i + 1] << 16) | (f[i + 2] << 8) | f[i + 3]) >>> 0;
  for (let i = t.off + 20; i < end;) {
    const kind = f[i];
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    const len = f[i + 1];
    if (kind === 2) o.mss = (f[i + 2] << 8) | f[i + 3];
    if (kind === 4) o.sackOk = true;
    if (kind === 8) o.ts = [u32(i + 2), u32(i + 6)];
    if (kind === 5) for (let j = i + 2; j + 8 <= i + len; j += 8) o.sacks.push([u32(j), u32(j + 4)]);
    i += Math.max(len, 2);
  }
  return o;
}

/** a sends to b on one clock; drop(t, n) picks a's data segments to lose (n counts them);
 * editB(f, t) may rewrite b's frames before they leave (checksums are fixed after). */
async function net(drop = () => false, { editB } = {}) {
  const clock = new VirtualClock();
  const a = await createStack({ clock, seed: 1 });
  const b = await createStack({ clock, seed: 2 });
  const [la, lb] = createPair();
  const seen = { a: [], b: [] };
  let n = 0;
  const watch = (who) => (f, out) => {
    if (!out) return;
    const t = parseTcp(f);
    if (t) seen[who].push({ at: clock.now(), ...t, opt: options(f, t) });
  };
  const lossy = {
    get mtu() { return la.mtu; },
    attach: (r) => la.attach(r),
    send: (f) => {
      const t = parseTcp(f);
      if (t && t.len > 0 && drop(t, n++)) return true;
      return la.send(f);
    },
    close: () => la.close(),
  };
  const watched = tapLink(lb, watch('b'));
  const edited = !editB ? watched : {
    get mtu() { return watched.mtu; },
    attach: (r) => watched.attach(r),
    send: (f) => {
      const t = parseTcp(f);
      if (t) {
        f = f.slice();
        editB(f, t);
        fixChecksums(f);
      }
      return watched.send(f);
    },
    close: () => watched.close(),
  };
  a.addInterface(tapLink(lossy, watch('a')), { ip: '10.0.0.1/24' });
  b.addInterface(edited, { ip: '10.0.0.2/24' });
  return { clock, a, b, seen, dispose: () => { a.dispose(); b.dispose(); } };
}

/** The transmissions of a's data segments, in order: [{ at, seq, len, fin }]. */
const dataSent = (n) => n.seen.a.filter((x) => x.len > 0).map((x) => ({ at: x.at, seq: x.seq, len: x.len, fin: (x.flags & 1) !== 0 }));

it('the handshake offers SACK and timestamps both ways; every later segment carries a timestamp echoing the peer', async () => {
  const n = await net();
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    await n.clock.runUntil(c.send('hello'));
    await n.clock.runUntil(s.recv());
    const syn = n.seen.a[0];
    const synack = n.seen.b[0];
    assert.ok(syn.opt.sackOk && syn.opt.ts, 'SYN: SACK permitted and a timestamp');
    assert.ok(synack.opt.sackOk && synack.opt.ts, 'SYN-ACK: SACK permitted and a timestamp');
    assert.is(synack.opt.ts[1], syn.opt.ts[0], "the SYN-ACK echoes the SYN's TSval");
    for (const x of [...n.seen.a.slice(1), ...n.seen.b.slice(1)]) {
      assert.ok(x.opt.ts, `segment ${x.seq} has a timestamp`);
      assert.ok(x.opt.ts[1] !== 0, `and echoes a TSval: ${JSON.stringify(x)}`);
    }
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('a lost segment: the receiver SACKs what came after it, the sender resends only the hole, and the gap-filling segment is acknowledged at once', async () => {
  const data = randomBytes(200_000, 9);
  let lostSeq;
  const n = await net((t, i) => {
    if (i === 20 && lostSeq === undefined) {
      lostSeq = t.seq;
      return true;
    }
    return false;
  });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    await n.clock.runUntil(c.send(data));
    c.shutdown(SHUT_WR);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data), 'everything arrived intact');
    // b's ACKs name blocks above the hole
    const sacking = n.seen.b.filter((x) => x.opt.sacks.length > 0);
    assert.ok(sacking.length >= 3, `b sent ${sacking.length} ACKs with SACK blocks`);
    for (const x of sacking) {
      assert.is(x.ack, lostSeq, 'each acknowledges up to the hole');
      assert.ok(x.opt.sacks[0][0] > lostSeq, 'and SACKs data above it');
    }
    // a resent exactly the lost segment, once, and nothing it had SACKed back
    const bySeq = new Map();
    for (const x of n.seen.a.filter((y) => y.len > 0)) bySeq.set(x.seq, (bySeq.get(x.seq) ?? 0) + 1);
    const resent = [...bySeq].filter(([, k]) => k > 1).map(([seq]) => seq);
    assert.equal(resent, [lostSeq], `resent: ${resent.join(', ')}`);
    // the copy that fills the gap is acknowledged in the same instant, not after 40 ms
    const fill = n.seen.a.filter((x) => x.seq === lostSeq).at(-1);
    const ack = n.seen.b.find((x) => x.at >= fill.at && x.ack > lostSeq);
    assert.is(ack.at, fill.at, 'the ACK for the filled gap leaves at once');
    assert.ok(n.clock.now() < 1000, `recovery took no timeout (${n.clock.now()} virtual ms in all)`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('three losses in one window are repaired by SACK recovery, without a retransmission timeout', async () => {
  const data = randomBytes(1_000_000, 10);
  const lose = new Set([30, 33, 40]);
  const n = await net((t, i) => lose.delete(i));
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    await n.clock.runUntil(c.send(data));
    c.shutdown(SHUT_WR);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data));
    const info = n.a.ss({ info: true }).find((r) => r.fd === c.fd)?.info;
    assert.is(info?.retransmits ?? 0, 0, 'no RTO fired');
    assert.ok(n.clock.now() < 200, `done in ${n.clock.now()} virtual ms, under one RTO`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('a retransmission lost while the receiver\'s window is full behind its hole is resent by a probe 2 SRTT later, not by the RTO', async () => {
  // The 5% runs of bench/loss.mjs: the 256 KiB window fills behind a hole, the hole's
  // retransmissions are lost too, and nothing sent after the last of them can reveal
  // it lost to RACK. A tail loss probe in recovery resends it.
  const data = randomBytes(1_000_000, 12);
  let hole;
  let lost = 0;
  const n = await net((t, i) => {
    if (i === 30) hole = t.seq;
    return t.seq === hole && lost++ < 3;   // the segment and its first two retransmissions
  });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    await n.clock.runUntil(c.send(data));
    c.shutdown(SHUT_WR);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data), 'everything arrived intact');
    const sent = dataSent(n);
    const copies = sent.filter((x) => x.seq === hole);
    assert.is(copies.length, 4, 'the hole went out four times');
    const third = sent.indexOf(copies[2]);
    const high = Math.max(...sent.slice(0, third).map((x) => x.seq + x.len));
    assert.is(high - hole, 256 * 1024, 'its second retransmission left with the receiver\'s window full');
    assert.equal(sent.slice(third + 1, sent.indexOf(copies[3])), [], 'and nothing else left before the probe');
    assert.ok(copies[3].at - copies[2].at < 10, `the probe left ${copies[3].at - copies[2].at} ms later`);
    assert.ok(n.clock.now() < 200, `done in ${n.clock.now()} virtual ms, under one RTO`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('the ACK that ends a recovery runs RACK: a segment sent before the repairing retransmission and lost is resent without an RTO', async () => {
  // A hole three segments before the end is repaired by a retransmission sent after the
  // last segment, which is lost too; when that retransmission is acknowledged nothing is
  // SACKed any more, yet RACK must still see the last segment as sent before it.
  const SIZE = 200_000;
  const data = randomBytes(SIZE, 13);
  let first;
  let hole = false;
  let last = false;
  const n = await net((t) => {
    first ??= t.seq;
    const off = t.seq - first;
    if (!hole && off <= SIZE - 3000 && off + t.len > SIZE - 3000) return (hole = true);
    if (!last && off + t.len === SIZE) return (last = true);
    return false;
  });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    await n.clock.runUntil(c.send(data));
    c.shutdown(SHUT_WR);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data), 'everything arrived intact');
    assert.ok(hole && last, 'both losses happened');
    assert.ok(n.clock.now() < 200, `done in ${n.clock.now()} virtual ms, under one RTO`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('the SACK block for out-of-order data ending in a FIN covers the FIN, as Linux\'s do', async () => {
  const data = randomBytes(4000, 14);
  let first;
  const n = await net((t) => {
    if (first !== undefined) return false;
    first = t.seq;
    return true;
  });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    const sending = c.send(data);
    c.shutdown(SHUT_WR);   // the FIN rides on the last data segment
    await n.clock.runUntil(sending);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data));
    const fin = n.seen.a.find((x) => x.len > 0 && (x.flags & 1));
    assert.ok(fin, 'the last data segment carries the FIN');
    const rights = n.seen.b.flatMap((x) => x.opt.sacks.map(([, r]) => r));
    assert.ok(rights.includes(fin.seq + fin.len + 1), `a block ends after the FIN (${fin.seq + fin.len + 1}): ${rights.join(', ')}`);
    assert.ok(!rights.includes(fin.seq + fin.len), 'none ends before it');
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

it('a SACK block that covers a segment\'s data but not its FIN (an lwIP 2.1.3 receiver) still SACKs it: the segment is not resent', async () => {
  // Nine segments in the first flight, the last with the FIN; the second is lost twice
  // and the fifth once. The fifth's retransmission, sent after the FIN segment, is
  // delivered: had the FIN segment not counted as SACKed, RACK would resend it too.
  const data = randomBytes(12_000, 15);
  let first;
  let finEnd;
  const sends = new Map();
  const n = await net((t) => {
    first ??= t.seq;
    if (t.flags & 1) finEnd = t.seq + t.len + 1;
    const k = (t.seq - first) / 1448;
    sends.set(k, (sends.get(k) ?? 0) + 1);
    return (k === 1 && sends.get(k) <= 2) || (k === 4 && sends.get(k) === 1);
  }, {
    // b's blocks end before the FIN, as unpatched lwIP's do
    editB: (f, t) => {
      const end = t.off + (f[t.off + 12] >> 4) * 4;
      for (let i = t.off + 20; i < end;) {
        if (f[i] === 0) break;
        if (f[i] === 1) { i++; continue; }
        if (f[i] === 5) {
          for (let j = i + 2; j + 8 <= i + f[i + 1]; j += 8) {
            const v = new DataView(f.buffer, f.byteOffset + j + 4, 4);
            if (finEnd !== undefined && v.getUint32(0) === finEnd) v.setUint32(0, finEnd - 1);
          }
        }
        i += Math.max(f[i + 1], 2);
      }
    },
  });
  try {
    const [c, s, l] = await n.clock.runUntil(connectPair(n.a, n.b));
    const reader = drainToEof(s);
    const sending = c.send(data);
    c.shutdown(SHUT_WR);
    await n.clock.runUntil(sending);
    const got = await n.clock.runUntil(reader);
    assert.is(got.hash, sha256(data));
    assert.ok(finEnd !== undefined && (finEnd - first - 1) === data.length, 'the FIN rode on the last data segment');
    const rights = n.seen.b.flatMap((x) => x.opt.sacks.map(([, r]) => r));
    assert.ok(rights.includes(finEnd - 1), 'b\'s blocks ended before the FIN');
    const bySeq = new Map();
    for (const x of dataSent(n)) bySeq.set((x.seq - first) / 1448, (bySeq.get((x.seq - first) / 1448) ?? 0) + 1);
    const resent = [...bySeq].filter(([, k]) => k > 1).map(([i]) => i);
    assert.equal(resent, [1, 4], `resent: segments ${resent.join(', ')} (the FIN's is 8)`);
    for (const x of [c, s, l]) x.close();
  } finally {
    n.dispose();
  }
});

/** Frames tshark saw on the namespace's side of the TAP device: src, flags, options, and
 * whether tshark's analysis calls the segment a retransmission. */
function tsharkRows(out) {
  return out.trim().split('\n').filter(Boolean).map((l) => {
    const [src, syn, sackPerm, ts, retrans] = l.split('\t');
    return { src, syn: syn === '1' || syn === 'True', sackPerm: !!sackPerm, ts: !!ts, retrans: !!retrans };
  });
}

tapTest('against the kernel: SACK and timestamps are negotiated, and with 3% loss each way only lost segments are resent', async () => {
  // `ss -ti` would show "ts sack", but this machine's iproute2 (6.1) prints neither for
  // any socket on its kernel, kernel to kernel included; so the handshake and the
  // retransmissions are read from a capture in the namespace instead.
  // Without offload: each drop is one MSS-sized segment, the unit this test counts. With
  // offload a drop takes a whole segment of up to 44 MSS (test/tap-offload.test.mjs).
  await withTapNet({ tapOptions: { offload: false } }, async (net) => {
    const rules = 'table inet lwt {\n counter lost_in {}\n counter lost_out {}\n' +
      ' chain input { type filter hook input priority 0; tcp dport 7300 numgen random mod 100 < 3 counter name lost_in drop; }\n' +
      ' chain output { type filter hook output priority 0; tcp sport 7300 numgen random mod 100 < 3 counter name lost_out drop; }\n}\n';
    const load = await net.run('sh', ['-c', `printf '%s' '${rules}' | nft -f -`]);
    assert.is(load.code, 0, `nft: ${load.stderr}`);
    const cap = net.spawn('tshark', ['-i', net.dev, '-l', '-f', 'tcp port 7300', '-T', 'fields', '-e', 'ip.src', '-e', 'tcp.flags.syn',
      '-e', 'tcp.options.sack_perm', '-e', 'tcp.options.timestamp.tsval', '-e', 'tcp.analysis.retransmission']);
    await new Promise((r) => setTimeout(r, 1500)); // tshark starts
    // 8 MiB: the nft output hook sees the kernel's segments before GSO cuts them, and with
    // the stack's window grown to 1 MiB they are large, so fewer of them to drop.
    const data = randomBytes(8 * 1024 * 1024, 11);
    const srv = net.spawn('sh', ['-c', 'socat TCP-LISTEN:7300,reuseaddr EXEC:cat']);
    await waitListening(net, 7300);
    const c = await connectKernel(net, 7300);
    const reader = drainToEof(c, 1 << 20);
    for (let off = 0; off < data.length; off += 256 * 1024) await c.send(data.subarray(off, off + 256 * 1024));
    c.shutdown(SHUT_WR);
    const back = await reader;
    assert.is(back.hash, sha256(data), 'the kernel echoed everything, intact');
    c.close();
    await new Promise((r) => setTimeout(r, 1000));
    const counters = (await net.run('nft', ['list', 'counters'])).stdout;
    const lost = (name) => Number(new RegExp(`${name}[^}]*packets (\\d+)`).exec(counters)?.[1] ?? NaN);
    process.kill(-cap.pid, 'SIGINT');
    const rows = tsharkRows((await cap.done).stdout);
    void srv;
    const synack = rows.find((x) => x.src === net.kernel4 && x.syn);
    assert.ok(synack?.sackPerm && synack?.ts, 'the kernel\'s SYN-ACK permits SACK and carries a timestamp');
    const ours = rows.filter((x) => x.src === net.stack4 && x.retrans).length;
    const theirs = rows.filter((x) => x.src === net.kernel4 && x.retrans).length;
    const lostIn = lost('lost_in');
    const lostOut = lost('lost_out');
    console.log(`    dropped ${lostIn} of ours and ${lostOut} of the kernel's; resent ${ours} and ${theirs}`);
    assert.ok(lostIn > 20 && lostOut > 20, 'frames were lost both ways');
    // SACK: each side resends what was lost (plus the odd tail probe), not what followed it
    assert.ok(ours <= lostIn * 1.5 + 5, `we resent ${ours} for ${lostIn} lost`);
    assert.ok(theirs <= lostOut * 1.5 + 5, `the kernel resent ${theirs} for ${lostOut} lost`);
  });
}, { tools: ['socat', 'nft', 'tshark'], ms: 90_000 });

test.run();
