// Frames the relay writes itself: the ICMP "administratively prohibited" that answers a
// denied packet, as a firewall does, so the client's connect fails at once with
// EHOSTUNREACH (IPv6: EACCES) and says "denied", not "closed port"; and the RST that
// answers a segment over the client's connection limit or from a forgotten connection.
import { ETH_IPV4, ETH_IPV6, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_ACK, TCP_RST, TCP_SYN, TCP_FIN, type IpInfo } from './frame.js';

function sum16(b: Uint8Array, start: number, end: number, acc: number): number {
  for (let i = start; i + 1 < end; i += 2) acc += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if ((end - start) & 1) acc += (b[end - 1] ?? 0) << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, (v >>> 16) & 0xffff);
  put16(b, o + 2, v & 0xffff);
}

/**
 * Writes, at o, an IP header for a packet from ip's destination back to its source,
 * carrying payloadLength bytes of protocol proto.
 */
function replyHeader(out: Uint8Array, o: number, ip: IpInfo, proto: number, payloadLength: number): void {
  if (ip.family === 4) {
    out[o] = 0x45;
    put16(out, o + 2, 20 + payloadLength);
    out[o + 8] = 64;
    out[o + 9] = proto;
    out.set(ip.dst, o + 12);
    out.set(ip.src, o + 16);
    put16(out, o + 10, fold(sum16(out, o, o + 20, 0)));
  } else {
    out[o] = 0x60;
    put16(out, o + 4, payloadLength);
    out[o + 6] = proto;
    out[o + 7] = 64;
    out.set(ip.dst, o + 8);
    out.set(ip.src, o + 24);
  }
}

/**
 * The reset a closed port would send for this segment (RFC 9293 3.10.7.1), from the
 * destination back to the sender, addressed to the sender's MAC from the MAC it used as
 * next hop. Returns null for a segment that must not be answered (a reset itself).
 */
export function resetFor(ip: IpInfo, clientMac: Uint8Array, routerMac: Uint8Array): Uint8Array | null {
  if (ip.proto !== PROTO_TCP || ip.l4 < 0 || ip.flags & TCP_RST) return null;
  const ipHeader = ip.family === 4 ? 20 : 40;
  const frame = new Uint8Array(14 + ipHeader + 20);
  frame.set(clientMac, 0);
  frame.set(routerMac, 6);
  put16(frame, 12, ip.family === 4 ? ETH_IPV4 : ETH_IPV6);
  const o = 14;
  replyHeader(frame, o, ip, PROTO_TCP, 20);
  const t = o + ipHeader;
  put16(frame, t, ip.dport);
  put16(frame, t + 2, ip.sport);
  if (ip.flags & TCP_ACK) {
    put32(frame, t + 4, ip.ack);
    frame[t + 13] = TCP_RST;
  } else {
    const len = ip.payloadLength + (ip.flags & TCP_SYN ? 1 : 0) + (ip.flags & TCP_FIN ? 1 : 0);
    put32(frame, t + 8, (ip.seq + len) >>> 0);
    frame[t + 13] = TCP_RST | TCP_ACK;
  }
  frame[t + 12] = 5 << 4;
  const seg = frame.subarray(t);
  let acc = sum16(ip.dst, 0, ip.dst.length, 0) + sum16(ip.src, 0, ip.src.length, 0) + PROTO_TCP + 20;
  acc = sum16(seg, 0, 20, acc);
  put16(frame, t + 16, fold(acc));
  return frame;
}

/**
 * ICMP destination unreachable, administratively prohibited (IPv4 type 3 code 13, RFC
 * 1812; ICMPv6 type 1 code 1), from the denied destination back to the sender, quoting
 * the start of the packet (frame is the whole ethernet frame). Only TCP and UDP are
 * answered: never an ICMP message (RFC 1122 3.2.2: no error about an error), never a
 * later fragment.
 */
export function prohibitedFor(ip: IpInfo, frame: Uint8Array, clientMac: Uint8Array, routerMac: Uint8Array): Uint8Array | null {
  if ((ip.proto !== PROTO_TCP && ip.proto !== PROTO_UDP) || ip.l4 < 0 || (ip.proto === PROTO_TCP && ip.flags & TCP_RST)) return null;
  const v4 = ip.family === 4;
  const ipHeader = v4 ? 20 : 40;
  // IPv4 quotes the header and 8 bytes at least (RFC 792); both quote as much as fits in
  // a minimum-size datagram (576, RFC 1812; 1280, RFC 4443).
  const quoted = frame.subarray(14, Math.min(frame.length, 14 + (v4 ? 576 : 1280) - ipHeader - 8));
  const out = new Uint8Array(14 + ipHeader + 8 + quoted.length);
  out.set(clientMac, 0);
  out.set(routerMac, 6);
  put16(out, 12, v4 ? ETH_IPV4 : ETH_IPV6);
  const o = 14;
  const len = 8 + quoted.length;
  replyHeader(out, o, ip, v4 ? PROTO_ICMP : PROTO_ICMPV6, len);
  const m = o + ipHeader;
  out[m] = v4 ? 3 : 1;
  out[m + 1] = v4 ? 13 : 1;
  out.set(quoted, m + 8);
  const acc = v4 ? 0 : sum16(ip.dst, 0, 16, 0) + sum16(ip.src, 0, 16, 0) + PROTO_ICMPV6 + len;
  put16(out, m + 2, fold(sum16(out, m, m + len, acc)));
  return out;
}
