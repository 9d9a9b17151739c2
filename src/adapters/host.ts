// Host names and "host:port" text for the adapters. The stack has no DNS: an address is
// an IP literal or 'localhost'; any other name goes through a lookup function the caller
// supplies, or fails as an unresolved name does (ENOTFOUND).
import { parseIPv4, parseIPv6 } from '../address.js';

/** 4 for an IPv4 literal, 6 for IPv6 (an optional %zone allowed), 0 for anything else, as net.isIP. */
export function ipFamily(text: unknown): 0 | 4 | 6 {
  if (typeof text !== 'string') return 0;
  if (parseIPv4(text)) return 4;
  const pct = text.indexOf('%');
  const addr = pct >= 0 ? text.slice(0, pct) : text;
  if (pct >= 0 && !/^[\w.-]+$/.test(text.slice(pct + 1))) return 0;
  return parseIPv6(addr) ? 6 : 0;
}

/**
 * The address for host when no lookup is needed: an IP literal (brackets removed) or
 * 'localhost' (127.0.0.1, or ::1 when family is 6). null means host is a name.
 */
export function literalAddress(host: string, family: 0 | 4 | 6 = 0): string | null {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ipFamily(bare) !== 0) return bare;
  if (bare.toLowerCase() === 'localhost') return family === 6 ? '::1' : '127.0.0.1';
  return null;
}

/** "10.0.0.1:80" or "[fd00::1]:80". */
export function formatHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Splits "host:port" or "[v6]:port"; throws TypeError when the port is missing or bad. */
export function splitHostPort(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (!m || Number(m[3]) > 65535) {
    throw new TypeError(`lwip-wasm: expected "host:port" or "[ipv6]:port", got ${JSON.stringify(text)}`);
  }
  return { hostname: m[1] ?? m[2]!, port: Number(m[3]) };
}

export function checkPortNumber(port: unknown, what = 'port'): number {
  const n = typeof port === 'string' && /^\d+$/.test(port) ? Number(port) : port;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new RangeError(`lwip-wasm: ${what} must be an integer from 0 to 65535, got ${String(port)}`);
  }
  return n;
}
