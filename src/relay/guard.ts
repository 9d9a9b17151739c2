// What a managed switch does for hosts that share its segment (hub and tap modes), so
// one client cannot take over another's traffic or the host kernel's:
// - RA guard (RFC 6105): clients are hosts, so a router advertisement or a redirect from
//   one is dropped;
// - ND inspection (RFC 7113's spirit, and DHCP snooping's for IPv6): a neighbour
//   advertisement must name one of the sender's own addresses, and any link-layer option
//   the sender's own MAC; a solicitation's source link-layer option too; ND must have
//   hop limit 255 and no fragments (RFC 6980);
// - DHCP guard: DHCP and DHCPv6 server messages from a client are dropped.
// Source addresses themselves are Identity's check (identity.ts), which runs first.
import { formatIPv6 } from '../address.js';
import { macText, PROTO_ICMPV6, PROTO_UDP, sameBytes, type IpInfo } from './frame.js';
import type { Identity } from './identity.js';

const RS = 133;
const RA = 134;
const NS = 135;
const NA = 136;
const REDIRECT = 137;
const OPT_SOURCE_LLA = 1;
const OPT_TARGET_LLA = 2;

/** null when the packet may go on the segment; otherwise why not. frame is the whole ethernet frame. */
export function guardPacket(identity: Identity, ip: IpInfo, frame: Uint8Array): string | null {
  if (ip.proto === PROTO_UDP && ip.l4 >= 0) {
    if (ip.family === 4 && ip.sport === 67) return 'a DHCP server message (clients may not serve DHCP)';
    if (ip.family === 6 && ip.sport === 547) return 'a DHCPv6 server or relay message (clients may not serve DHCPv6)';
    return null;
  }
  if (ip.family !== 6 || ip.proto !== PROTO_ICMPV6 || ip.l4 < 0) return null;
  const type = ip.icmpType;
  if (type === RA) return 'a router advertisement (clients may not act as routers)';
  if (type === REDIRECT) return 'a redirect (clients may not act as routers)';
  if (type < RS || type > REDIRECT) return null;
  if (ip.fragment) return 'a fragmented neighbour discovery message (RFC 6980)';
  if ((frame[21] ?? 0) !== 255) return `neighbour discovery with hop limit ${frame[21] ?? 0} (it must be 255)`;
  const end = 14 + 40 + (((frame[18] ?? 0) << 8) | (frame[19] ?? 0));
  const body = ip.l4 + (type === RS ? 8 : 24); // header, then the target address (NS, NA)
  if (body > end) return 'a neighbour discovery message cut short';
  const mac = identity.mac;
  // Options: type, length in 8-byte units (0 is malformed), value.
  for (let o = body; o < end;) {
    const len = (frame[o + 1] ?? 0) * 8;
    if (len === 0 || o + len > end) return 'a neighbour discovery option with a bad length';
    const t = frame[o] ?? 0;
    if (t === OPT_SOURCE_LLA || t === OPT_TARGET_LLA) {
      const lla = frame.subarray(o + 2, o + 8);
      if (macText(lla) !== mac) return `a link-layer address option naming ${macText(lla)}, not the client's ${mac}`;
    }
    o += len;
  }
  if (type === NA) {
    // The target must be the client's: its source here (which the identity check just
    // held it to), or an address it already sends from. An NA never claims an address.
    const target = frame.subarray(ip.l4 + 8, ip.l4 + 24);
    if (!sameBytes(target, ip.src) && !identity.ownsIpv6(target)) {
      return `a neighbour advertisement for ${formatIPv6(target)}, which is not the client's`;
    }
  }
  if (type === NS && isUnspecified(ip.src) && hasOption(frame, body, end, OPT_SOURCE_LLA)) {
    return 'a solicitation from :: with a source link-layer option (RFC 4861 7.1.1)';
  }
  return null;
}

function isUnspecified(a: Uint8Array): boolean {
  return a.every((b) => b === 0);
}

function hasOption(frame: Uint8Array, from: number, end: number, type: number): boolean {
  for (let o = from; o + 2 <= end;) {
    const len = (frame[o + 1] ?? 0) * 8;
    if (len === 0) return false;
    if (frame[o] === type) return true;
    o += len;
  }
  return false;
}
