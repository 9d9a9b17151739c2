// Checksums, end to end: every frame a stack sends carries the IPv4 header, UDP and TCP
// checksums that a plain JS reference computes (fixChecksums recomputes them; a correct
// frame comes out unchanged), for every UDP payload length up to the MTU and for TCP
// writes of odd sizes; and a frame with one bit flipped is never delivered. The stack
// sums in wide steps (8 bytes, or 64 with SIMD), so the lengths around each step's edge
// are the ones that would catch a carry or tail mistake.
import { AF_INET, AF_INET6, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, createPair } from '../dist/index.js';
import { fixChecksums, tapLink } from './frames.mjs';
import { it, test, assert, createStack, connectPair, randomBytes, sha256, readExactly, waitUntil } from './helpers.mjs';

/** Two stacks on a pair; a's side is tapped (sent frames kept), b's side accepts injections. */
async function tappedPair() {
  const sent = [];
  const [la, lb] = createPair();
  const a = await createStack({ seed: 7 });
  const b = await createStack({ seed: 8 });
  const tapA = tapLink(la, (f, outgoing) => { if (outgoing) sent.push(f.slice()); });
  const tapB = tapLink(lb, () => {});
  a.addInterface(tapA, { ip: '10.0.0.1/24', ipv6: 'fd00::1/64' });
  b.addInterface(tapB, { ip: '10.0.0.2/24', ipv6: 'fd00::2/64' });
  return { a, b, sent, tapB, dispose: () => { a.dispose(); b.dispose(); } };
}

/** Frames whose checksums differ from the reference's, described for the failure message. */
function badSums(frames) {
  const bad = [];
  for (const f of frames) {
    const fixed = f.slice();
    fixChecksums(fixed);
    for (let i = 0; i < f.length; i++) {
      if (f[i] !== fixed[i]) {
        bad.push(`${f.length}-byte frame differs at byte ${i}`);
        break;
      }
    }
  }
  return bad;
}

const ipProto = (f) => (f[12] === 0x08 && f[13] === 0x00 ? f[23] : f[12] === 0x86 && f[13] === 0xdd ? f[20] : -1);

for (const [family, domain, dst, any, max] of [
  [4, AF_INET, '10.0.0.2', '0.0.0.0', 1472],
  [6, AF_INET6, 'fd00::2', '::', 1452],
]) {
  it(`UDP over IPv${family}: every payload length 0..${max} leaves with the reference checksum and arrives intact`, async () => {
    const net = await tappedPair();
    try {
      const rx = net.b.socket(domain, SOCK_DGRAM);
      rx.bind(any, 7000);
      rx.setsockopt(SOL_SOCKET, SO_RCVBUF, 1 << 20);
      const tx = net.a.socket(domain, SOCK_DGRAM);
      // Datagram n is n bytes from offset n % 61, so the sums see every alignment.
      const payload = randomBytes(max + 64, family);
      const nth = (n) => payload.subarray(n % 61, (n % 61) + n);
      let got = 0;
      const drain = () => {
        for (;;) {
          let d;
          try {
            d = rx.recvfromSync(2048);
          } catch (err) {
            if (err.code === 'EAGAIN') return;
            throw err;
          }
          assert.equal(d.data, nth(got), `datagram ${got} arrives whole and in order`);
          got++;
        }
      };
      for (let len = 0; len <= max; len++) {
        tx.sendtoSync(nth(len), dst, 7000);
        if (len % 64 === 63 || len === max) {
          assert.ok(await waitUntil(() => { drain(); return got === len + 1; }, 2000), `received ${got} of ${len + 1}`);
        }
      }
      const udp = net.sent.filter((f) => ipProto(f) === 17);
      assert.ok(udp.length >= max + 1, `captured ${udp.length} UDP frames`);
      assert.equal(badSums(udp), []);
    } finally {
      net.dispose();
    }
  });
}

it('TCP over IPv4 and IPv6: odd-sized writes leave with reference checksums; the bytes arrive intact', async () => {
  const net = await tappedPair();
  try {
    for (const family of [4, 6]) {
      const [c, s] = await connectPair(net.a, net.b, { family });
      const data = randomBytes(1 << 20, 40 + family);
      const reading = readExactly(s, data.length);
      // Write sizes cycle through 1..9000 so segments end at every offset of a step.
      for (let at = 0, n = 1; at < data.length; n = (n * 7 + 13) % 9000 + 1) {
        const part = data.subarray(at, Math.min(data.length, at + n));
        await c.send(part);
        at += part.length;
      }
      assert.is(sha256(await reading), sha256(data));
      c.close();
      s.close();
    }
    const tcp = net.sent.filter((f) => ipProto(f) === 6);
    assert.ok(tcp.length > 1400, `captured ${tcp.length} TCP frames`);
    assert.equal(badSums(tcp), []);
  } finally {
    net.dispose();
  }
});

it('a UDP datagram with one bit flipped anywhere after the IP header is dropped, never delivered', async () => {
  const net = await tappedPair();
  try {
    const rx = net.b.socket(AF_INET, SOCK_DGRAM);
    rx.bind('0.0.0.0', 7001);
    const tx = net.a.socket(AF_INET, SOCK_DGRAM);
    // A probe that goes through, so its frame can be replayed with damage.
    tx.sendtoSync(randomBytes(1000, 3), '10.0.0.2', 7001);
    assert.ok(await waitUntil(() => {
      try { return rx.recvfromSync(2048).data.length === 1000; } catch { return false; }
    }, 2000));
    const frame = net.sent.find((f) => ipProto(f) === 17 && f.length === 14 + 20 + 8 + 1000);
    assert.ok(frame, 'the probe frame was captured');
    const damaged = [];
    for (let bit = (14 + 20) * 8; bit < frame.length * 8; bit += 37) {
      const f = frame.slice();
      f[bit >> 3] ^= 1 << (bit & 7);
      if (bit >= (14 + 20 + 4) * 8 && bit < (14 + 20 + 6) * 8) continue; // the length field: a different error
      damaged.push(f);
    }
    net.tapB.inject(damaged);
    await new Promise((r) => setTimeout(r, 50));
    let delivered = 0;
    for (;;) {
      try { rx.recvfromSync(2048); delivered++; } catch { break; }
    }
    assert.is(delivered, 0, `${delivered} of ${damaged.length} damaged datagrams were delivered`);
  } finally {
    net.dispose();
  }
});

test.run();
