// Small DHCP and DNS servers for the dhcp and dns suites, written here on a stack's own
// UDP sockets (so they run on an in-memory link, not on the host), plus the DNS wire
// format both they and the host-side DNS server in dns.test.mjs use.
import { AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_BROADCAST } from '../dist/index.js';

const ip4 = (s) => Uint8Array.from(s.split('.').map(Number));
const ip4s = (b, o = 0) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** The options of a DHCP message: a Map from code to bytes. */
function dhcpOptions(msg) {
  const opts = new Map();
  for (let i = 240; i < msg.length && i < 1500;) {
    const code = msg[i];
    if (code === 255) break;
    if (code === 0) { i++; continue; }
    const len = msg[i + 1];
    opts.set(code, msg.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return opts;
}

function u32be(v) {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}

/**
 * A DHCP server on `stack` (which owns serverIp), handing out `pool` addresses in order.
 * lease/t1/t2 in seconds. Records every message it received in server.log as
 * { type, ciaddr, requested }.
 */
export function dhcpServer(stack, { serverIp, pool, prefix = 24, router, dns = [], lease = 3600, t1, t2 } = {}) {
  const sock = stack.socket(AF_INET, SOCK_DGRAM);
  sock.setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
  sock.bind('0.0.0.0', 67);
  const leases = new Map(); // mac -> address
  const log = [];
  let next = 0;
  let closed = false;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;

  function reply(req, type, yiaddr) {
    const out = new Uint8Array(300);
    out[0] = 2; out[1] = 1; out[2] = 6;
    out.set(req.subarray(4, 8), 4); // xid
    out.set(req.subarray(10, 12), 10); // flags
    out.set(req.subarray(12, 16), 12); // ciaddr
    out.set(ip4(yiaddr), 16);
    out.set(ip4(serverIp), 20);
    out.set(req.subarray(28, 44), 28); // chaddr
    out.set([99, 130, 83, 99], 236);
    const o = [53, 1, type, 54, 4, ...ip4(serverIp), 51, 4, ...u32be(lease), 1, 4, ...u32be(mask)];
    if (t1 !== undefined) o.push(58, 4, ...u32be(t1));
    if (t2 !== undefined) o.push(59, 4, ...u32be(t2));
    if (router) o.push(3, 4, ...ip4(router));
    if (dns.length) o.push(6, 4 * dns.length, ...dns.flatMap((d) => [...ip4(d)]));
    o.push(255);
    out.set(o, 240);
    return out.subarray(0, 240 + o.length);
  }

  const served = (async () => {
    for (let i = 0; i < 10_000 && !closed; i++) {
      let d;
      try {
        d = await sock.recvfrom(1500);
      } catch {
        return; // closed, or the stack went away
      }
      const msg = d.data;
      if (msg.length < 240 || msg[0] !== 1) continue;
      const opts = dhcpOptions(msg);
      const type = opts.get(53)?.[0];
      const mac = [...msg.subarray(28, 34)].join(':');
      const ciaddr = ip4s(msg, 12);
      const requested = opts.get(50) ? ip4s(opts.get(50)) : null;
      log.push({ type, ciaddr, requested });
      if (!leases.has(mac)) leases.set(mac, pool[next++ % pool.length]);
      const addr = leases.get(mac);
      // Broadcast unless the client already has its address (a renewal is unicast).
      const to = ciaddr !== '0.0.0.0' ? ciaddr : '255.255.255.255';
      if (type === 1) await sock.sendto(reply(msg, 2, addr), to, 68);
      else if (type === 3) await sock.sendto(reply(msg, 5, addr), to, 68);
    }
  })();
  return {
    log,
    close() {
      closed = true;
      sock.close();
      return served;
    },
  };
}

// --- DNS wire format --------------------------------------------------------------------

/** Reads the question of a DNS query: { id, name, type }. */
export function parseQuery(q) {
  const labels = [];
  let i = 12;
  for (let n = 0; n < 128 && q[i] !== 0 && i < q.length; n++) {
    labels.push(new TextDecoder().decode(q.subarray(i + 1, i + 1 + q[i])));
    i += 1 + q[i];
  }
  const end = i + 1;
  return { id: (q[0] << 8) | q[1], name: labels.join('.').toLowerCase(), type: (q[end] << 8) | q[end + 1], question: q.subarray(12, end + 4) };
}

function ip6bytes(s) {
  const [head, tail = ''] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = s.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return words.flatMap((w) => { const v = parseInt(w, 16); return [v >> 8, v & 0xff]; });
}

/** A response to query q: rcode, and answers of its type from records ({ A: [...], AAAA: [...] }). */
export function answer(q, { rcode = 0, records = {}, ttl = 60 } = {}) {
  const { question, type } = parseQuery(q);
  const list = rcode === 0 ? (type === 1 ? records.A ?? [] : type === 28 ? records.AAAA ?? [] : []) : [];
  const rr = list.flatMap((addr) => {
    const data = type === 1 ? [...ip4(addr)] : ip6bytes(addr);
    return [0xc0, 12, 0, type, 0, 1, ...u32be(ttl), 0, data.length, ...data];
  });
  return Uint8Array.from([q[0], q[1], 0x81, 0x80 | rcode, 0, 1, 0, list.length, 0, 0, 0, 0, ...question, ...rr]);
}

/**
 * A DNS server on `stack` port 53 answering from zone: { name: { A: [...], AAAA: [...] } }.
 * Names not in the zone get NXDOMAIN; names in `silent` get no answer at all. Every
 * query is recorded in server.queries as { name, type }.
 */
export function dnsServer(stack, zone, { silent = [], family = AF_INET, address = '0.0.0.0' } = {}) {
  const sock = stack.socket(family, SOCK_DGRAM);
  sock.bind(address, 53);
  const queries = [];
  let closed = false;
  const served = (async () => {
    for (let i = 0; i < 10_000 && !closed; i++) {
      let d;
      try {
        d = await sock.recvfrom(1500);
      } catch {
        return;
      }
      const q = parseQuery(d.data);
      queries.push({ name: q.name, type: q.type });
      if (silent.includes(q.name)) continue;
      const records = zone[q.name];
      await sock.sendto(answer(d.data, records ? { records } : { rcode: 3 }), d.address, d.port);
    }
  })();
  return {
    queries,
    close() {
      closed = true;
      sock.close();
      return served;
    },
  };
}
