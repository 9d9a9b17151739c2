// Destination rules: "CIDR", "CIDR:port", "CIDR:lo-hi", optionally "tcp/"/"udp/"/"icmp/"
// in front; IPv6 CIDRs in brackets when a port follows ("[::1]:80", "[fd00::/8]:1-1024");
// "any" for every address of both families ("any", "tcp/any:25"); a host name for the
// addresses it resolves to ("tcp/db.internal:5432"; the policy resolves it).
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../address.js';

export type Protocol = 'tcp' | 'udp' | 'icmp';

export interface Rule {
  /** The text it was parsed from, for logs. */
  readonly text: string;
  /** The network (4 or 16 bytes), or empty for "any" (both families) and host rules. */
  readonly bytes: Uint8Array;
  /** A host name (lowercase) for a rule naming one; null otherwise. */
  readonly host: string | null;
  readonly prefix: number;
  readonly proto: Protocol | null;
  readonly portLo: number;
  readonly portHi: number;
}

export function parseRule(text: string): Rule {
  const bad = (why: string): never => {
    throw new TypeError(`lwip-wasm relay: bad rule '${text}': ${why} (expected CIDR[:port[-port]] or any[:port[-port]], e.g. 93.184.216.0/24:443, [2001:db8::/32]:80-88, tcp/any:22)`);
  };
  let rest = text.trim();
  let proto: Protocol | null = null;
  const slash = /^(tcp|udp|icmp)\//i.exec(rest);
  if (slash) {
    proto = (slash[1] ?? '').toLowerCase() as Protocol;
    rest = rest.slice(slash[0].length);
  }
  let cidr = rest;
  let ports = '';
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) bad('unclosed [');
    cidr = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) bad('junk after ]');
    ports = after.slice(1);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [cidr = '', ports = ''] = rest.split(':');
  }
  const [addr = '', prefixText] = cidr.split('/');
  const bytes = addr.toLowerCase() === 'any' && prefixText === undefined ? new Uint8Array(0) : parseIPv4(addr) ?? parseIPv6(addr);
  if (!bytes) {
    // A host name (RFC 1123 labels, at least one letter): the addresses it resolves to.
    if (prefixText !== undefined || !/^(?=.*[a-z])[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/i.test(addr)) {
      return bad('not an IP address or host name');
    }
    const { portLo, portHi } = parsePorts(ports, proto, bad);
    return { text, bytes: new Uint8Array(0), host: addr.toLowerCase().replace(/\.$/, ''), prefix: 128, proto, portLo, portHi };
  }
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) bad('bad prefix length');
  const { portLo, portHi } = parsePorts(ports, proto, bad);
  return { text, bytes: mask(bytes, prefix), host: null, prefix, proto, portLo, portHi };
}

function parsePorts(ports: string, proto: Protocol | null, bad: (why: string) => never): { portLo: number; portHi: number } {
  if (ports === '') return { portLo: 0, portHi: 65535 };
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  if (!m) return bad('bad port range');
  const portLo = Number(m[1]);
  const portHi = m[2] === undefined ? portLo : Number(m[2]);
  if (portLo > 65535 || portHi > 65535 || portLo > portHi) bad('port out of range');
  if (proto === 'icmp') bad('ICMP has no ports');
  return { portLo, portHi };
}

function mask(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (out[i] ?? 0) & ((0xff00 >> keep) & 0xff);
  }
  return out;
}

export function inPrefix(addr: Uint8Array, net: Uint8Array, prefix: number): boolean {
  if (net.length === 0) return true; // "any"
  if (addr.length !== net.length) return false;
  for (let i = 0; i < net.length && i * 8 < prefix; i++) {
    const keep = Math.min(8, prefix - i * 8);
    const m = (0xff00 >> keep) & 0xff;
    if (((addr[i] ?? 0) & m) !== (net[i] ?? 0)) return false;
  }
  return true;
}

/**
 * Whether rule covers a flow to addr. A host rule needs hostMatch, which says whether
 * the address is the host's (as the client resolved it, or as the policy did).
 */
export function matches(rule: Rule, addr: Uint8Array, proto: Protocol | null, port: number,
  hostMatch?: (host: string) => boolean): boolean {
  if (rule.host !== null ? !hostMatch?.(rule.host) : !inPrefix(addr, rule.bytes, rule.prefix)) return false;
  if (rule.proto !== null && rule.proto !== proto) return false;
  if (rule.portLo === 0 && rule.portHi === 65535) return true;
  return proto !== 'icmp' && proto !== null && port >= rule.portLo && port <= rule.portHi;
}

export function ipText(b: Uint8Array): string {
  return b.length === 4 ? formatIPv4(b) : formatIPv6(b);
}

/**
 * What is denied unless --allow says otherwise: ranges that reach the relay host, its
 * LAN or other tenants rather than "the internet" (RFC 6890 special-purpose blocks).
 */
export const DEFAULT_DENY: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'this network'],
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'private (carrier-grade NAT)'],
  ['169.254.0.0/16', 'link-local'],
  ['192.0.0.0/24', 'reserved'],
  ['198.18.0.0/15', 'reserved (benchmarking)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::ffff:0:0/96', 'IPv4-mapped'],
  ['64:ff9b::/96', 'NAT64'],
  ['64:ff9b:1::/48', 'NAT64 (local use)'],
  ['fc00::/7', 'private (unique local)'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];
