// Reads just enough of an ethernet frame for the relay's decisions: addresses, protocol,
// ports and TCP flags. Never throws: anything it cannot read comes back as 'malformed',
// which the session drops and counts.

export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const ETH_IPV6 = 0x86dd;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** An IP packet's fields the policy and the trackers look at. */
export interface IpInfo {
  family: 4 | 6;
  /** Raw source and destination addresses (4 or 16 bytes). */
  src: Uint8Array;
  dst: Uint8Array;
  /** Upper-layer protocol (after IPv6 extension headers). */
  proto: number;
  /** Offset of the upper-layer header in the frame, -1 for a non-first fragment. */
  l4: number;
  /** Ports for TCP/UDP (0 otherwise or when unreadable). */
  sport: number;
  dport: number;
  /** TCP flags, sequence number and payload length (TCP only). */
  flags: number;
  seq: number;
  ack: number;
  payloadLength: number;
  /** ICMP/ICMPv6 type and code, -1 otherwise. */
  icmpType: number;
  icmpCode?: number;
  /**
   * Set for a fragment: its datagram's id, whether it is the first (offset 0, which
   * carries the whole transport header) or a later one (l4 is -1: nothing to read), and
   * the protocol every fragment of it names (IPv4's, or the IPv6 fragment header's next
   * header, which for a first fragment may be a further extension header).
   */
  fragment: { id: number; first: boolean; proto: number } | null;
}

export interface ArpInfo {
  op: number;
  senderMac: Uint8Array;
  senderIp: Uint8Array;
  targetIp: Uint8Array;
}

export type Parsed =
  | { kind: 'ip'; dstMac: Uint8Array; srcMac: Uint8Array; ip: IpInfo }
  | { kind: 'arp'; dstMac: Uint8Array; srcMac: Uint8Array; arp: ArpInfo }
  | { kind: 'other'; dstMac: Uint8Array; srcMac: Uint8Array; ethertype: number }
  | { kind: 'malformed'; why: string };

const get16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
const get32 = (b: Uint8Array, o: number): number => (((b[o] ?? 0) << 24) | ((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0)) >>> 0;

// IPv6 extension headers (RFC 8200 4, RFC 7045's list): hop-by-hop, routing, destination
// options, mobility, HIP, shim6 and the experimental 253/254, all (length + 1) * 8 bytes;
// AH counts in 4-byte units; the fragment header is 8 bytes.
const IPV6_EXT = new Set([0, 43, 60, 135, 139, 140, 253, 254]);
const IPV6_AH = 51;
const IPV6_FRAGMENT = 44;
/** Extension headers walked before a packet is dropped as hiding its upper layer. */
export const MAX_IPV6_HEADERS = 16;

export function parseFrame(f: Uint8Array): Parsed {
  if (f.length < 14) return { kind: 'malformed', why: 'runt' };
  const dstMac = f.subarray(0, 6);
  const srcMac = f.subarray(6, 12);
  const ethertype = get16(f, 12);
  if (ethertype === ETH_ARP) {
    if (f.length < 14 + 28 || get16(f, 14) !== 1 || get16(f, 16) !== ETH_IPV4 || f[18] !== 6 || f[19] !== 4) {
      return { kind: 'malformed', why: 'bad ARP' };
    }
    return { kind: 'arp', dstMac, srcMac, arp: { op: get16(f, 20), senderMac: f.subarray(22, 28), senderIp: f.subarray(28, 32), targetIp: f.subarray(38, 42) } };
  }
  if (ethertype === ETH_IPV4) return withIp(dstMac, srcMac, parseIpv4(f));
  if (ethertype === ETH_IPV6) return withIp(dstMac, srcMac, parseIpv6(f));
  return { kind: 'other', dstMac, srcMac, ethertype };
}

function withIp(dstMac: Uint8Array, srcMac: Uint8Array, ip: IpInfo | string): Parsed {
  return typeof ip === 'string' ? { kind: 'malformed', why: ip } : { kind: 'ip', dstMac, srcMac, ip };
}

function parseIpv4(f: Uint8Array): IpInfo | string {
  const o = 14;
  if (f.length < o + 20 || (f[o] ?? 0) >> 4 !== 4) return 'bad IPv4 header';
  const ihl = ((f[o] ?? 0) & 0x0f) * 4;
  const total = get16(f, o + 2);
  if (ihl < 20 || total < ihl || f.length < o + total) return 'bad IPv4 length';
  const fragField = get16(f, o + 6);
  const fragOffset = fragField & 0x1fff;
  const info = blank(4, f.subarray(o + 12, o + 16), f.subarray(o + 16, o + 20), f[o + 9] ?? 0);
  info.l4 = fragOffset === 0 ? o + ihl : -1;
  if (fragOffset !== 0 || (fragField & 0x2000) !== 0) info.fragment = { id: get16(f, o + 4), first: fragOffset === 0, proto: info.proto };
  // RFC 1858: a TCP fragment at offset 8 would overwrite the first fragment's flags.
  if (fragOffset === 1 && info.proto === PROTO_TCP) return 'a TCP fragment at offset 8 (overlaps the header)';
  return upper(f, info, o + total);
}

function parseIpv6(f: Uint8Array): IpInfo | string {
  const o = 14;
  if (f.length < o + 40 || (f[o] ?? 0) >> 4 !== 6) return 'bad IPv6 header';
  const end = o + 40 + get16(f, o + 4);
  if (f.length < end) return 'bad IPv6 length';
  let next = f[o + 6] ?? 0;
  let at = o + 40;
  let fragment: IpInfo['fragment'] = null;
  // The whole chain, to the upper layer: a packet whose chain is longer than the bound,
  // or cut short, is dropped; it is never passed on with an extension header taken for
  // its protocol.
  for (let hops = 0; ; hops++) {
    const ext = IPV6_EXT.has(next) || next === IPV6_AH;
    if (!ext && next !== IPV6_FRAGMENT) break;
    if (hops >= MAX_IPV6_HEADERS) return `more than ${MAX_IPV6_HEADERS} IPv6 extension headers`;
    if (at + 8 > end) return 'bad IPv6 extension header';
    if (next === IPV6_FRAGMENT) {
      if (fragment) return 'two IPv6 fragment headers';
      const offset = get16(f, at + 2) >> 3;
      fragment = { id: get32(f, at + 4), first: offset === 0, proto: f[at] ?? 0 };
      next = f[at] ?? 0;
      if (offset !== 0) {
        at = -1; // a later fragment: the rest is payload
        break;
      }
      at += 8;
    } else {
      const len = next === IPV6_AH ? ((f[at + 1] ?? 0) + 2) * 4 : ((f[at + 1] ?? 0) + 1) * 8;
      next = f[at] ?? 0;
      at += len;
    }
  }
  if (at > end) return 'bad IPv6 extension header';
  const info = blank(6, f.subarray(o + 8, o + 24), f.subarray(o + 24, o + 40), next);
  info.l4 = at;
  info.fragment = fragment;
  return upper(f, info, end);
}

function blank(family: 4 | 6, src: Uint8Array, dst: Uint8Array, proto: number): IpInfo {
  return { family, src, dst, proto, l4: -1, sport: 0, dport: 0, flags: 0, seq: 0, ack: 0, payloadLength: 0, icmpType: -1, fragment: null };
}

function upper(f: Uint8Array, info: IpInfo, end: number): IpInfo | string {
  const at = info.l4;
  if (at < 0) return info; // a later fragment: no ports to read; the first one decided
  if (info.proto === PROTO_TCP) {
    if (at + 20 > end) return 'truncated TCP header';
    const off = ((f[at + 12] ?? 0) >> 4) * 4;
    if (off < 20 || at + off > end) return 'bad TCP header length';
    info.sport = get16(f, at);
    info.dport = get16(f, at + 2);
    info.seq = get32(f, at + 4);
    info.ack = get32(f, at + 8);
    info.flags = f[at + 13] ?? 0;
    info.payloadLength = end - at - off;
  } else if (info.proto === PROTO_UDP) {
    if (at + 8 > end) return 'truncated UDP header';
    info.sport = get16(f, at);
    info.dport = get16(f, at + 2);
    info.payloadLength = end - at - 8;
  } else if (info.proto === PROTO_ICMP || info.proto === PROTO_ICMPV6) {
    if (at + 4 > end) return 'truncated ICMP header';
    info.icmpType = f[at] ?? 0;
    info.icmpCode = f[at + 1] ?? 0;
  }
  return info;
}

export function macText(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function isGroupMac(m: Uint8Array): boolean {
  return ((m[0] ?? 0) & 1) === 1;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
