// The router advertisement a client's gateway sends (RFC 4861 section 4.2): it is the
// default router, its prefix is for SLAAC (RFC 4862), and, unless DNS is off, it is the
// DNS server (RDNSS, RFC 8106). lwIP does not act as a router, so the frame is built
// here and sent to the client directly: at the start, on every router solicitation,
// and again before its lifetime could run out.
import { ETH_IPV6, PROTO_ICMPV6 } from '../frame.js';

export interface RaConfig {
  /** The gateway's MAC and link-local address (the advertisement's source). */
  mac: Uint8Array;
  linkLocal: Uint8Array;
  /** The /64 prefix clients take addresses from (16 bytes, host part zero). */
  prefix: Uint8Array;
  /** The DNS server to advertise (the gateway's address in the prefix), or null. */
  dns: Uint8Array | null;
  mtu: number;
}

/** Router lifetime, and the prefix's valid and preferred lifetimes, in seconds. */
export const ROUTER_LIFETIME = 1800;
const VALID = 86400;
const PREFERRED = 14400;

const ALL_NODES = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
const ALL_NODES_MAC = Uint8Array.of(0x33, 0x33, 0, 0, 0, 1);

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, Math.floor(v / 0x10000));
  put16(b, o + 2, v & 0xffff);
}

function checksum(src: Uint8Array, dst: Uint8Array, body: Uint8Array): number {
  let acc = body.length + PROTO_ICMPV6;
  for (const part of [src, dst, body]) {
    for (let i = 0; i + 1 < part.length; i += 2) acc += (part[i]! << 8) | part[i + 1]!;
    if (part.length & 1) acc += part[part.length - 1]! << 8;
  }
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

/** The whole ethernet frame of one advertisement, to all nodes. */
export function routerAdvertisement(c: RaConfig): Uint8Array {
  const opts: Uint8Array[] = [];
  const lla = new Uint8Array(8); // source link-layer address
  lla[0] = 1;
  lla[1] = 1;
  lla.set(c.mac, 2);
  opts.push(lla);
  const mtu = new Uint8Array(8);
  mtu[0] = 5;
  mtu[1] = 1;
  put32(mtu, 4, c.mtu);
  opts.push(mtu);
  const pio = new Uint8Array(32); // prefix information
  pio[0] = 3;
  pio[1] = 4;
  pio[2] = 64;
  pio[3] = 0xc0; // on-link, autonomous
  put32(pio, 4, VALID);
  put32(pio, 8, PREFERRED);
  pio.set(c.prefix.subarray(0, 8), 16);
  opts.push(pio);
  if (c.dns) {
    const rdnss = new Uint8Array(24);
    rdnss[0] = 25;
    rdnss[1] = 3;
    put32(rdnss, 4, ROUTER_LIFETIME);
    rdnss.set(c.dns, 8);
    opts.push(rdnss);
  }
  const bodyLen = 16 + opts.reduce((n, o) => n + o.length, 0);
  const body = new Uint8Array(bodyLen);
  body[0] = 134; // router advertisement
  body[4] = 64; // current hop limit
  put16(body, 6, ROUTER_LIFETIME);
  let o = 16;
  for (const opt of opts) {
    body.set(opt, o);
    o += opt.length;
  }
  put16(body, 2, checksum(c.linkLocal, ALL_NODES, body));
  const f = new Uint8Array(14 + 40 + bodyLen);
  f.set(ALL_NODES_MAC, 0);
  f.set(c.mac, 6);
  put16(f, 12, ETH_IPV6);
  f[14] = 0x60;
  put16(f, 18, bodyLen);
  f[20] = PROTO_ICMPV6;
  f[21] = 255; // hop limit: ND messages must arrive with 255
  f.set(c.linkLocal, 22);
  f.set(ALL_NODES, 38);
  f.set(body, 54);
  return f;
}

/** Whether frame is a router solicitation (ICMPv6 type 133 right after the IPv6 header). */
export function isRouterSolicitation(frame: Uint8Array): boolean {
  return frame.length >= 58 && frame[12] === 0x86 && frame[13] === 0xdd && frame[20] === PROTO_ICMPV6 && frame[54] === 133;
}
