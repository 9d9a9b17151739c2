// Parsing and formatting of IP addresses, strictly: anything malformed is a TypeError
// that names the bad input, never something half-parsed that reaches the wasm.
import { AF_INET, AF_INET6 } from './gen/constants.js';
import type { RawAddress } from './bindings/memory.js';

export type Family = 'IPv4' | 'IPv6';

/** A socket address as the API returns it, shaped like Node's `socket.address()`. */
export interface SocketAddress {
  address: string;
  port: number;
  family: Family;
  /** IPv6 zone (interface index) for link-local addresses; 0 when none. */
  scopeId?: number;
}

const V4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => V4_PART.test(p))) return null;
  return Uint8Array.from(parts, Number);
}

/** Parses IPv6 text (with an optional embedded IPv4 tail); the zone must be split off first. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  let tail: Uint8Array | null = null;
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = parseIPv4(text.slice(lastColon + 1));
    if (!tail) return null;
    body = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const group = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !rest) return null;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const words = [...head, ...new Array<number>(8 - total).fill(0), ...rest];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/**
 * RFC 5952 text: lowercase, longest zero run (of two or more) compressed, and an
 * IPv4-mapped address in mixed notation (::ffff:10.0.0.1), as Linux's inet_ntop prints it.
 */
export function formatIPv6(b: Uint8Array): string {
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `::ffff:${formatIPv4(b.subarray(12, 16))}`;
  }
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function familyOf(text: string): Family | null {
  if (parseIPv4(text)) return 'IPv4';
  const [addr] = text.split('%');
  return addr !== undefined && parseIPv6(addr) ? 'IPv6' : null;
}

/** Parses "a.b.c.d" or "x::y[%zone]" into the boundary form; throws TypeError if malformed. */
export function toRaw(address: string, port: number): RawAddress {
  if (typeof address !== 'string') {
    throw new TypeError(`lwip-wasm: address must be a string, got ${typeof address}`);
  }
  checkPort(port);
  const v4 = parseIPv4(address);
  if (v4) return { family: AF_INET, port, scope: 0, bytes: v4 };
  const pct = address.indexOf('%');
  const text = pct >= 0 ? address.slice(0, pct) : address;
  const v6 = parseIPv6(text);
  if (!v6) throw new TypeError(`lwip-wasm: invalid IP address ${JSON.stringify(address)}`);
  let scope = 0;
  if (pct >= 0) {
    const zone = address.slice(pct + 1);
    if (!/^\d{1,3}$/.test(zone) || Number(zone) > 255) {
      throw new TypeError(`lwip-wasm: invalid IPv6 zone in ${JSON.stringify(address)} (use the interface index, e.g. %2)`);
    }
    scope = Number(zone);
  }
  return { family: AF_INET6, port, scope, bytes: v6 };
}

export function fromRaw(raw: RawAddress): SocketAddress {
  if (raw.family === AF_INET6) {
    const out: SocketAddress = { address: formatIPv6(raw.bytes), port: raw.port, family: 'IPv6' };
    if (raw.scope) out.scopeId = raw.scope;
    return out;
  }
  return { address: formatIPv4(raw.bytes), port: raw.port, family: 'IPv4' };
}

export function checkPort(port: unknown): asserts port is number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`lwip-wasm: port must be an integer from 0 to 65535, got ${String(port)}`);
  }
}

/** Parses "10.0.0.1/24" (prefix defaults to 32 or 128). */
export function parseCidr(text: string): { bytes: Uint8Array; prefix: number; family: Family } {
  if (typeof text !== 'string') throw new TypeError('lwip-wasm: address must be a string like "10.0.0.1/24"');
  const [addr, prefixText, extra] = text.split('/');
  if (extra !== undefined || addr === undefined) throw new TypeError(`lwip-wasm: invalid CIDR ${JSON.stringify(text)}`);
  const v4 = parseIPv4(addr);
  const bytes = v4 ?? parseIPv6(addr);
  if (!bytes) throw new TypeError(`lwip-wasm: invalid IP address in ${JSON.stringify(text)}`);
  const max = v4 ? 32 : 128;
  let prefix = max;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      throw new TypeError(`lwip-wasm: invalid prefix length in ${JSON.stringify(text)} (0-${max})`);
    }
    prefix = Number(prefixText);
  }
  return { bytes, prefix, family: v4 ? 'IPv4' : 'IPv6' };
}

/** IPv4 netmask bytes for a prefix length. */
export function prefixToMask(prefix: number): Uint8Array {
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return Uint8Array.of(m >>> 24, (m >>> 16) & 0xff, (m >>> 8) & 0xff, m & 0xff);
}
