// The DHCPv4 server of a client's gateway (RFC 2131): the client alone on its segment
// gets the one address nat hands out, the gateway as its router and, unless DNS is off,
// as its DNS server. Replies are broadcast (the client has no address yet to unicast
// to), as passt and slirp do. Anything it cannot read is ignored.
import type { Socket } from '../../socket.js';
import { parseIPv4, prefixToMask } from '../../address.js';

const OP_REQUEST = 1;
const OP_REPLY = 2;
const MAGIC = 0x63825363;
// Message types (option 53)
const DISCOVER = 1;
const OFFER = 2;
const REQUEST = 3;
const DECLINE = 4;
const ACK = 5;
const NAK = 6;
const RELEASE = 7;
const INFORM = 8;
// Options
const OPT_MASK = 1;
const OPT_ROUTER = 3;
const OPT_DNS = 6;
const OPT_MTU = 26;
const OPT_REQUESTED = 50;
const OPT_LEASE = 51;
const OPT_TYPE = 53;
const OPT_SERVER = 54;
const OPT_T1 = 58;
const OPT_T2 = 59;
const OPT_END = 255;
const OPT_PAD = 0;

/** The fixed BOOTP part before the options (RFC 2131 figure 1), and the magic cookie. */
const FIXED = 236;
const LEASE_SECONDS = 24 * 3600;

export interface DhcpServerConfig {
  /** What the client gets, and its prefix length. */
  address: string;
  prefix: number;
  /** The gateway: router, server identifier and (with dns) DNS server. */
  gateway: string;
  dns: boolean;
  mtu: number;
}

interface Request {
  type: number;
  xid: Uint8Array;
  flagsAndHops: Uint8Array;
  chaddr: Uint8Array;
  requested: Uint8Array | null;
  server: Uint8Array | null;
  ciaddr: Uint8Array;
}

/** Reads a client's message; null for anything that is not a well-formed request. */
export function parseDhcp(b: Uint8Array): Request | null {
  if (b.length < FIXED + 4 || b[0] !== OP_REQUEST || b[1] !== 1 || b[2] !== 6) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (dv.getUint32(FIXED) !== MAGIC) return null;
  let type = 0;
  let requested: Uint8Array | null = null;
  let server: Uint8Array | null = null;
  // bounded by the message: each step moves past one option
  for (let o = FIXED + 4; o < b.length;) {
    const code = b[o]!;
    if (code === OPT_PAD) {
      o++;
      continue;
    }
    if (code === OPT_END || o + 1 >= b.length) break;
    const len = b[o + 1]!;
    const v = b.subarray(o + 2, o + 2 + len);
    if (v.length !== len) return null;
    if (code === OPT_TYPE && len === 1) type = v[0]!;
    else if (code === OPT_REQUESTED && len === 4) requested = v;
    else if (code === OPT_SERVER && len === 4) server = v;
    o += 2 + len;
  }
  if (type === 0) return null;
  return { type, xid: b.slice(4, 8), flagsAndHops: b.slice(10, 12), chaddr: b.slice(28, 44), requested, server, ciaddr: b.slice(12, 16) };
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The reply to req, or null when none is due (a DECLINE, a RELEASE, another server's REQUEST). */
export function dhcpReply(req: Request, cfg: DhcpServerConfig): Uint8Array | null {
  const yours = parseIPv4(cfg.address)!;
  const gw = parseIPv4(cfg.gateway)!;
  let type: number;
  switch (req.type) {
    case DISCOVER: type = OFFER; break;
    case REQUEST:
      if (req.server && !same(req.server, gw)) return null; // it chose another server
      type = (req.requested ?? req.ciaddr).every((x) => x === 0) || same(req.requested ?? req.ciaddr, yours) ? ACK : NAK;
      break;
    case INFORM: type = ACK; break;
    case DECLINE:
    case RELEASE:
    default:
      return null;
  }
  const opts: number[] = [OPT_TYPE, 1, type, OPT_SERVER, 4, ...gw];
  if (type !== NAK) {
    const t = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    opts.push(OPT_MASK, 4, ...prefixToMask(cfg.prefix), OPT_ROUTER, 4, ...gw);
    if (req.type !== INFORM) opts.push(OPT_LEASE, 4, ...t(LEASE_SECONDS), OPT_T1, 4, ...t(LEASE_SECONDS / 2), OPT_T2, 4, ...t((LEASE_SECONDS * 7) / 8));
    if (cfg.dns) opts.push(OPT_DNS, 4, ...gw);
    if (cfg.mtu !== 1500) opts.push(OPT_MTU, 2, (cfg.mtu >>> 8) & 0xff, cfg.mtu & 0xff);
  }
  opts.push(OPT_END);
  const out = new Uint8Array(Math.max(300, FIXED + 4 + opts.length)); // BOOTP's minimum size
  out[0] = OP_REPLY;
  out[1] = 1;
  out[2] = 6;
  out.set(req.xid, 4);
  out.set(req.flagsAndHops, 10);
  if (req.type === INFORM) out.set(req.ciaddr, 12);
  else if (type !== NAK) out.set(yours, 16); // yiaddr
  out.set(gw, 20); // siaddr
  out.set(req.chaddr, 28);
  new DataView(out.buffer).setUint32(FIXED, MAGIC);
  out.set(opts, FIXED + 4);
  return out;
}

/** Serves DHCP on sock (bound to 0.0.0.0:67 with SO_BROADCAST) until it closes. */
export async function serveDhcp(sock: Socket, cfg: DhcpServerConfig): Promise<void> {
  for (;;) {
    let msg;
    try {
      msg = await sock.recvfrom(1500);
    } catch {
      return; // closed with the gateway
    }
    const req = parseDhcp(msg.data);
    const reply = req && dhcpReply(req, cfg);
    if (reply) {
      try {
        sock.sendtoSync(reply, '255.255.255.255', 68);
      } catch {
        // a full send queue: the client asks again
      }
    }
  }
}
