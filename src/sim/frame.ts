// What the simulator needs to know of an ethernet frame to judge it (addresses, protocol,
// ports, TCP's sequence space), and the few TCP segments it makes itself (a reset, a
// close, an acknowledgement, a slice of a longer segment), with correct checksums.
import { formatIPv4, formatIPv6 } from '../address.js';

export type Protocol = 'tcp' | 'udp' | 'icmp' | 'arp' | 'other';

/** A TCP header's fields the simulator acts on (sequence numbers are uint32). */
export interface TcpView {
  seq: number;
  ack: number;
  /** FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
  flags: number;
  window: number;
  /** Where the payload starts in the frame, and its length. */
  payloadOff: number;
  payloadLen: number;
}

export interface FrameView {
  /** 4 or 6 for IP (ARP counts as 4), 0 for anything else. */
  family: 0 | 4 | 6;
  protocol: Protocol;
  /** IP source and destination (ARP: sender and target protocol address). */
  src: string | undefined;
  dst: string | undefined;
  /** Ports of TCP and UDP (undefined for a fragment after the first). */
  sport: number | undefined;
  dport: number | undefined;
  tcp: TcpView | undefined;
  /** Offsets of the IP header and of the transport header. */
  ipOff: number;
  l4Off: number;
}

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

const u16 = (f: Uint8Array, o: number): number => (f[o]! << 8) | f[o + 1]!;
const u32 = (f: Uint8Array, o: number): number => ((f[o]! << 24) | (f[o + 1]! << 16) | (f[o + 2]! << 8) | f[o + 3]!) >>> 0;
const put16 = (f: Uint8Array, o: number, v: number): void => {
  f[o] = (v >>> 8) & 0xff;
  f[o + 1] = v & 0xff;
};
const put32 = (f: Uint8Array, o: number, v: number): void => {
  put16(f, o, v >>> 16);
  put16(f, o + 2, v & 0xffff);
};

const IPV6_EXT = new Set([0, 43, 60]); // hop-by-hop, routing, destination options

/** Reads what the simulator judges a frame by; never throws on a malformed frame. */
export function viewFrame(f: Uint8Array): FrameView {
  const v: FrameView = { family: 0, protocol: 'other', src: undefined, dst: undefined, sport: undefined, dport: undefined, tcp: undefined, ipOff: 14, l4Off: -1 };
  if (f.length < 14) return v;
  let type = u16(f, 12);
  let off = 14;
  if (type === 0x8100 && f.length >= 18) {
    type = u16(f, 16);
    off = 18;
  }
  v.ipOff = off;
  if (type === 0x0806 && f.length >= off + 28) {
    v.family = 4;
    v.protocol = 'arp';
    v.src = formatIPv4(f.subarray(off + 14, off + 18));
    v.dst = formatIPv4(f.subarray(off + 24, off + 28));
    return v;
  }
  let proto: number;
  let end: number;
  let first = true;
  if (type === 0x0800 && f.length >= off + 20 && f[off]! >> 4 === 4) {
    v.family = 4;
    v.src = formatIPv4(f.subarray(off + 12, off + 16));
    v.dst = formatIPv4(f.subarray(off + 16, off + 20));
    proto = f[off + 9]!;
    first = (u16(f, off + 6) & 0x1fff) === 0;
    end = Math.min(f.length, off + u16(f, off + 2));
    off += (f[off]! & 0x0f) * 4;
  } else if (type === 0x86dd && f.length >= off + 40 && f[off]! >> 4 === 6) {
    v.family = 6;
    v.src = formatIPv6(f.subarray(off + 8, off + 24));
    v.dst = formatIPv6(f.subarray(off + 24, off + 40));
    end = Math.min(f.length, off + 40 + u16(f, off + 4));
    proto = f[off + 6]!;
    off += 40;
    for (let n = 0; n < 8 && off + 8 <= end; n++) {
      if (IPV6_EXT.has(proto)) {
        proto = f[off]!;
        off += (f[off + 1]! + 1) * 8;
      } else if (proto === 44) {
        first = (u16(f, off + 2) & 0xfff8) === 0;
        proto = f[off]!;
        off += 8;
      } else break;
    }
  } else {
    return v;
  }
  v.protocol = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 || proto === 58 ? 'icmp' : 'other';
  v.l4Off = off;
  if (!first) return v;
  if ((proto === 6 || proto === 17) && off + 4 <= end) {
    v.sport = u16(f, off);
    v.dport = u16(f, off + 2);
  }
  if (proto === 6 && off + 20 <= end) {
    const hl = (f[off + 12]! >> 4) * 4;
    if (hl >= 20 && off + hl <= end) {
      v.tcp = {
        seq: u32(f, off + 4), ack: u32(f, off + 8), flags: f[off + 13]!, window: u16(f, off + 14),
        payloadOff: off + hl, payloadLen: end - off - hl,
      };
    }
  }
  return v;
}

/** The one's-complement sum of bytes [from, to), folded into 16 bits later. */
function sum(f: Uint8Array, from: number, to: number, acc = 0): number {
  let s = acc;
  let i = from;
  for (; i + 1 < to; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  if (i < to) s += f[i]! << 8;
  return s;
}

const fold = (s: number): number => {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + (x >>> 16);
  return ~x & 0xffff;
};

/** Recomputes the IPv4 header checksum (if IPv4) and the TCP checksum of a frame. */
export function fixTcpChecksums(f: Uint8Array, v: FrameView): void {
  const ip = v.ipOff;
  const l4 = v.l4Off;
  let end: number;
  let pseudo: number;
  if (v.family === 4) {
    put16(f, ip + 10, 0);
    put16(f, ip + 10, fold(sum(f, ip, l4)));
    end = ip + u16(f, ip + 2);
    pseudo = sum(f, ip + 12, ip + 20) + 6 + (end - l4);
  } else {
    end = ip + 40 + u16(f, ip + 4);
    pseudo = sum(f, ip + 8, ip + 40) + 6 + (end - l4);
  }
  put16(f, l4 + 16, 0);
  put16(f, l4 + 16, fold(sum(f, l4, end, pseudo)));
}

/** Sets the IP length fields for a transport segment of tcpLen bytes. */
function setIpLength(f: Uint8Array, v: FrameView, tcpLen: number): void {
  if (v.family === 4) put16(f, v.ipOff + 2, v.l4Off - v.ipOff + tcpLen);
  else put16(f, v.ipOff + 4, v.l4Off - v.ipOff - 40 + tcpLen);
}

/**
 * A copy of a TCP frame carrying payload bytes [from, to) of it (offsets into the
 * payload), with the sequence number moved to match. FIN is kept only on the piece that
 * ends the payload; PSH likewise.
 */
export function sliceSegment(f: Uint8Array, v: FrameView, from: number, to: number): Uint8Array {
  const t = v.tcp!;
  const hl = t.payloadOff - v.l4Off;
  const out = new Uint8Array(t.payloadOff + (to - from));
  out.set(f.subarray(0, t.payloadOff));
  out.set(f.subarray(t.payloadOff + from, t.payloadOff + to), t.payloadOff);
  const ov = { ...v };
  setIpLength(out, ov, hl + (to - from));
  put32(out, v.l4Off + 4, (t.seq + from) >>> 0);
  if (to < t.payloadLen) out[v.l4Off + 13] = t.flags & ~(FIN | PSH);
  fixTcpChecksums(out, ov);
  return out;
}

/**
 * A bare TCP segment from the far end of `template`'s connection to its sender: the
 * template's addresses and ports swapped (ethernet too, so it fits the template's
 * link), no options, no payload.
 */
export function replyTo(template: Uint8Array, v: FrameView, seq: number, ack: number, flags: number, window = 0): Uint8Array {
  const out = new Uint8Array(v.l4Off + 20);
  out.set(template.subarray(0, v.l4Off));
  out.set(template.subarray(6, 12), 0);
  out.set(template.subarray(0, 6), 6);
  const ip = v.ipOff;
  const alen = v.family === 4 ? 4 : 16;
  const sOff = v.family === 4 ? ip + 12 : ip + 8;
  out.set(template.subarray(sOff + alen, sOff + 2 * alen), sOff);
  out.set(template.subarray(sOff, sOff + alen), sOff + alen);
  if (v.family === 4) {
    out[ip + 8] = 64; // TTL
    put16(out, ip + 6, 0x4000); // DF, no fragment
    put16(out, ip + 4, 0);
  } else {
    out[ip + 7] = 64; // hop limit
  }
  const l4 = v.l4Off;
  put16(out, l4, u16(template, l4 + 2));
  put16(out, l4 + 2, u16(template, l4));
  put32(out, l4 + 4, seq >>> 0);
  put32(out, l4 + 8, flags & ACK ? ack >>> 0 : 0);
  out[l4 + 12] = 5 << 4;
  out[l4 + 13] = flags;
  put16(out, l4 + 14, window);
  put16(out, l4 + 18, 0);
  setIpLength(out, v, 20);
  fixTcpChecksums(out, v);
  return out;
}

/** a - b in sequence space (positive when a is after b). */
export function seqDiff(a: number, b: number): number {
  return ((a - b) | 0);
}
