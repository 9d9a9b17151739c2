// Which frames a fault is for: by host pair (by name), by address or network, by
// protocol and port. A filter is compiled once into a predicate over a parsed frame and
// the hosts its addresses belong to.
import { parseCidr, parseIPv4, parseIPv6 } from '../address.js';
import type { FrameView, Protocol } from './frame.js';

/** A host's name, an IP address, or a network in CIDR form ('10.0.1.0/24'). */
export type Endpoint = string;
/** One endpoint or several (any of them). */
export type Endpoints = Endpoint | readonly Endpoint[];

/**
 * Frames a fault applies to. `from`/`to` match one direction (from a source to a
 * destination); `between` matches both directions between two sides. Each side left out
 * matches anything. Every field given must match. ARP frames match only a filter with
 * protocol 'arp' (their addresses are the ones asked about and answering).
 */
export interface FlowFilter {
  from?: Endpoints;
  to?: Endpoints;
  between?: readonly [Endpoints, Endpoints];
  /** 'tcp', 'udp', 'icmp' (ICMP and ICMPv6) or 'arp'. */
  protocol?: Exclude<Protocol, 'other'>;
  /** Either end's port (TCP and UDP). */
  port?: number;
  /** The source's port (with between: the port of the side that sends). */
  fromPort?: number;
  /** The destination's port. */
  toPort?: number;
}

/** What a compiled filter is asked: the frame and the hosts of its two addresses. */
export type FrameMatch = (v: FrameView, srcHost: string | undefined, dstHost: string | undefined) => boolean;

const PROTOCOLS = new Set(['tcp', 'udp', 'icmp', 'arp']);
const KEYS = new Set(['from', 'to', 'between', 'protocol', 'port', 'fromPort', 'toPort']);

type Side = (address: string | undefined, host: string | undefined) => boolean;

function prefixMatch(net: Uint8Array, prefix: number): (address: string | undefined) => boolean {
  return (address) => {
    if (address === undefined) return false;
    const b = net.length === 4 ? parseIPv4(address) : parseIPv6(address);
    if (!b) return false;
    let left = prefix;
    for (let i = 0; left > 0; i++, left -= 8) {
      const m = left >= 8 ? 0xff : (0xff << (8 - left)) & 0xff;
      if ((b[i]! & m) !== (net[i]! & m)) return false;
    }
    return true;
  };
}

function compileSide(e: Endpoints | undefined, isHost: (name: string) => boolean, what: string): Side {
  if (e === undefined) return () => true;
  const list = typeof e === 'string' ? [e] : e;
  if (!Array.isArray(list) || list.length === 0) throw new TypeError(`lwip-wasm: ${what} must be a host name, an address, a CIDR network or a non-empty array of them`);
  const tests = list.map((item: unknown): Side => {
    if (typeof item !== 'string') throw new TypeError(`lwip-wasm: ${what}: expected a string, got ${typeof item}`);
    if (isHost(item)) return (_a, host) => host === item;
    if (item.includes('/')) {
      const c = parseCidr(item);
      const m = prefixMatch(c.bytes, c.prefix);
      return (a) => m(a);
    }
    const exact = parseIPv4(item) ?? parseIPv6(item);
    if (!exact) throw new TypeError(`lwip-wasm: ${what}: ${JSON.stringify(item)} is no host of this network, address or network`);
    const m = prefixMatch(exact, exact.length * 8);
    return (a) => m(a);
  });
  return (a, h) => tests.some((t) => t(a, h));
}

function checkPort(p: unknown, name: string): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535) {
    throw new RangeError(`lwip-wasm: ${name} must be a port number (0-65535), got ${String(p)}`);
  }
  return p;
}

/** Compiles a filter; isHost says whether a name is a host of the network. */
export function compileFilter(f: FlowFilter, isHost: (name: string) => boolean): FrameMatch {
  if (typeof f !== 'object' || f === null) throw new TypeError('lwip-wasm: a filter must be an object');
  for (const k of Object.keys(f)) if (!KEYS.has(k)) throw new TypeError(`lwip-wasm: unknown filter field ${JSON.stringify(k)}`);
  if (f.between !== undefined && (f.from !== undefined || f.to !== undefined)) {
    throw new TypeError('lwip-wasm: a filter takes between, or from and to, not both');
  }
  if (f.protocol !== undefined && !PROTOCOLS.has(f.protocol)) {
    throw new TypeError(`lwip-wasm: protocol must be 'tcp', 'udp', 'icmp' or 'arp', got ${String(f.protocol)}`);
  }
  const port = checkPort(f.port, 'port');
  const fromPort = checkPort(f.fromPort, 'fromPort');
  const toPort = checkPort(f.toPort, 'toPort');
  const portsOk = (sp: number | undefined, dp: number | undefined): boolean =>
    (port === undefined || sp === port || dp === port) &&
    (fromPort === undefined || sp === fromPort) && (toPort === undefined || dp === toPort);
  // ARP is left alone unless asked for: a fault between hosts is about their IP traffic,
  // whether they share a segment or not (cut the wire itself with link() or a segment).
  const protoOk = (v: FrameView): boolean => (f.protocol === undefined ? v.protocol !== 'arp' : v.protocol === f.protocol);
  if (f.between !== undefined) {
    if (!Array.isArray(f.between) || f.between.length !== 2) throw new TypeError('lwip-wasm: between must be [sideA, sideB]');
    const a = compileSide(f.between[0], isHost, 'between[0]');
    const b = compileSide(f.between[1], isHost, 'between[1]');
    return (v, sh, dh) => protoOk(v) && portsOk(v.sport, v.dport) &&
      ((a(v.src, sh) && b(v.dst, dh)) || (b(v.src, sh) && a(v.dst, dh)));
  }
  const from = compileSide(f.from, isHost, 'from');
  const to = compileSide(f.to, isHost, 'to');
  return (v, sh, dh) => protoOk(v) && portsOk(v.sport, v.dport) && from(v.src, sh) && to(v.dst, dh);
}
