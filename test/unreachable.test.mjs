// Unreachable destinations fail the way they do on Linux: no route is ENETUNREACH at
// once, a neighbour that never answers ARP is EHOSTUNREACH after about 3 s, a host that
// answers ARP but never the SYN is ETIMEDOUT at the connect limit, and an ICMP
// "destination unreachable" from a router ends the connect with the matching errno.
import { AF_INET, SOCK_STREAM, SOCK_DGRAM, createPair } from '../dist/index.js';
import { it, test, assert, twoStacks, createStack, rejectsCode, throwsCode, waitUntil } from './helpers.mjs';

it('ENETUNREACH at once for a destination with no route (TCP connect and UDP sendto)', async () => {
  const { a, dispose } = await twoStacks();
  try {
    const t0 = performance.now();
    await rejectsCode(a.socket(AF_INET, SOCK_STREAM).connect('192.168.50.1', 80), 'ENETUNREACH');
    assert.ok(performance.now() - t0 < 500, 'ENETUNREACH must not wait for a timeout');
    throwsCode(() => a.socket(AF_INET, SOCK_DGRAM).sendtoSync('x', '192.168.50.1', 9), 'ENETUNREACH');
  } finally {
    dispose();
  }
});

it('EHOSTUNREACH after about 3 s when an on-link address never answers ARP', async () => {
  const { a, dispose } = await twoStacks();
  try {
    const t0 = performance.now();
    await rejectsCode(a.socket(AF_INET, SOCK_STREAM).connect('10.0.0.99', 80), 'EHOSTUNREACH');
    const ms = performance.now() - t0;
    assert.ok(ms >= 2500 && ms < 6000, `EHOSTUNREACH after ${ms.toFixed(0)} ms, want about 3000`);
  } finally {
    dispose();
  }
}, 15_000);

it('ETIMEDOUT at connectTimeout for a host that answers ARP but never the SYN', async () => {
  const { a, ifA, dispose } = await twoStacks({ connectTimeout: 1000 });
  try {
    // A permanent neighbour entry: frames go out to a MAC nobody owns, so nothing answers.
    ifA.addNeighbor('10.0.0.98', '02:00:00:00:00:98');
    const t0 = performance.now();
    await rejectsCode(a.socket(AF_INET, SOCK_STREAM).connect('10.0.0.98', 80), 'ETIMEDOUT');
    const ms = performance.now() - t0;
    assert.ok(ms >= 900 && ms < 2900, `ETIMEDOUT after ${ms.toFixed(0)} ms, want about 1000 (before the 3 s ARP check)`);
  } finally {
    dispose();
  }
});

// --- ICMP from a router, through a raw link end the test drives by hand ------------------

const MAC_ROUTER = [0x02, 0, 0, 0, 0, 0xfe];

function checksum(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4(src, dst, proto, payload) {
  const h = new Uint8Array(20);
  h.set([0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0, ...src, ...dst]);
  const total = 20 + payload.length;
  h[2] = total >> 8;
  h[3] = total & 0xff;
  const c = checksum(h);
  h[10] = c >> 8;
  h[11] = c & 0xff;
  const out = new Uint8Array(total);
  out.set(h);
  out.set(payload, 20);
  return out;
}

function ether(dstMac, srcMac, type, payload) {
  const f = new Uint8Array(14 + payload.length);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  f.set(payload, 14);
  return f;
}

/** A router at 10.0.0.254 that answers ARP and replies to every TCP SYN with ICMP code. */
function icmpRouter(end, code, seen) {
  end.attach({
    onFrames(frames) {
      for (const f of frames) {
        const type = (f[12] << 8) | f[13];
        const peerMac = f.subarray(6, 12);
        if (type === 0x0806 && f[21] === 1 && f[38] === 10 && f[41] === 254) {
          // ARP request for 10.0.0.254: reply with our MAC.
          const arp = new Uint8Array(28);
          arp.set([0, 1, 8, 0, 6, 4, 0, 2, ...MAC_ROUTER, 10, 0, 0, 254, ...peerMac, ...f.subarray(28, 32)]);
          end.send(ether(peerMac, MAC_ROUTER, 0x0806, arp));
        } else if (type === 0x0800 && f[14 + 9] === 6) {
          seen.push('syn');
          const quoted = f.subarray(14, 14 + 28); // IP header + 8 bytes of TCP
          const icmp = new Uint8Array(8 + quoted.length);
          icmp.set([3, code, 0, 0, 0, 0, 0, 0]);
          icmp.set(quoted, 8);
          const c = checksum(icmp);
          icmp[2] = c >> 8;
          icmp[3] = c & 0xff;
          const src = [10, 0, 0, 254];
          const dst = Array.from(f.subarray(14 + 12, 14 + 16));
          end.send(ether(peerMac, MAC_ROUTER, 0x0800, ipv4(src, dst, 1, icmp)));
        }
      }
    },
    onDrain() {},
    onClose() {},
  });
}

for (const [code, errno] of [[0, 'ENETUNREACH'], [1, 'EHOSTUNREACH'], [3, 'ECONNREFUSED']]) {
  it(`ICMP destination unreachable code ${code} from the gateway ends a connect with ${errno}`, async () => {
    const a = await createStack({ connectTimeout: 5000 });
    try {
      const [mine, raw] = createPair();
      const seen = [];
      icmpRouter(raw, code, seen);
      a.addInterface(mine, { ip: '10.0.0.1/24', gateway: '10.0.0.254' });
      const t0 = performance.now();
      await rejectsCode(a.socket(AF_INET, SOCK_STREAM).connect('198.51.100.7', 443), errno);
      assert.ok(seen.includes('syn'), 'the SYN went out through the gateway');
      assert.ok(performance.now() - t0 < 2500, 'the ICMP error ends the connect at once, not at a timeout');
      // The stack is still fine, and nothing is left behind for the failed connect.
      await waitUntil(() => a.memory().sockets === 1, 2000);
    } finally {
      a.dispose();
    }
  });
}

test.run();
