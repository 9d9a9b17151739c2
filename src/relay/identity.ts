// Anti-spoofing for the modes where clients share a segment (hub, tap): each client owns
// one MAC and the IP addresses it used first (or was assigned), and may send only from
// those. An address another client already owns cannot be taken. IPv6 sources are held
// to what the client may use: the link-local address its MAC gives (EUI-64), and others
// only inside the segment's IPv6 subnet when one is set (tap mode insists on one), at
// most MAX_IPV6 in all.
import { formatIPv4, formatIPv6 } from '../address.js';
import { isGroupMac, macText, PROTO_UDP, type Parsed } from './frame.js';
import { inPrefix, type Rule } from './rules.js';

const MAX_IPV6 = 4;

/** The EUI-64 link-local address (RFC 4291 appendix A) of a MAC in aa:bb:... form. */
export function linkLocalOf(mac: string): string {
  const m = mac.split(':').map((h) => Number.parseInt(h, 16));
  const b = new Uint8Array(16);
  b[0] = 0xfe;
  b[1] = 0x80;
  b.set([(m[0] ?? 0) ^ 0x02, m[1] ?? 0, m[2] ?? 0, 0xff, 0xfe, m[3] ?? 0, m[4] ?? 0, m[5] ?? 0], 8);
  return formatIPv6(b);
}

/** Who owns which MAC and address, across every session of one relay. */
export class Registry {
  readonly macs = new Map<string, number>();
  readonly ips = new Map<string, number>();

  release(id: number): void {
    for (const [k, v] of this.macs) if (v === id) this.macs.delete(k);
    for (const [k, v] of this.ips) if (v === id) this.ips.delete(k);
  }
}

export class Identity {
  readonly #id: number;
  readonly #registry: Registry;
  mac: string | undefined;
  ipv4: string | undefined;
  readonly ipv6 = new Set<string>();

  readonly #subnet: Rule | null;
  readonly #subnet6: Rule | null;
  readonly #ipv6NeedsSubnet: boolean;

  /**
   * subnet: the IPv4 range a client's address must come from (null: any). subnet6 the
   * same for IPv6 beyond link-local; ipv6NeedsSubnet: without subnet6, only link-local.
   */
  constructor(id: number, registry: Registry, subnet: Rule | null = null, assigned: { mac?: string; ipv4?: string } = {},
    { subnet6 = null, ipv6NeedsSubnet = false }: { subnet6?: Rule | null; ipv6NeedsSubnet?: boolean } = {}) {
    this.#id = id;
    this.#registry = registry;
    this.#subnet = subnet;
    this.#subnet6 = subnet6;
    this.#ipv6NeedsSubnet = ipv6NeedsSubnet;
    if (assigned.mac) this.#claim('mac', assigned.mac);
    if (assigned.ipv4) this.#claim('ip', assigned.ipv4);
  }

  /** null when the frame's source addresses are this client's; otherwise why not. */
  check(p: Parsed): string | null {
    if (p.kind === 'malformed') return p.why;
    const src = macText(p.srcMac);
    if (isGroupMac(p.srcMac)) return `source MAC ${src} is a group address`;
    if (this.mac === undefined) {
      const owner = this.#registry.macs.get(src);
      if (owner !== undefined && owner !== this.#id) return `MAC ${src} belongs to client ${owner}`;
      this.#claim('mac', src);
    } else if (src !== this.mac) return `source MAC ${src} is not the client's (${this.mac})`;

    if (p.kind === 'arp') {
      if (macText(p.arp.senderMac) !== this.mac) return `ARP sender MAC ${macText(p.arp.senderMac)} is not the client's`;
      return this.#ipv4(p.arp.senderIp, true);
    }
    if (p.kind === 'ip') {
      const ip = p.ip;
      if (ip.family === 4) {
        // DHCP's DISCOVER and REQUEST come from 0.0.0.0 before an address is leased.
        return this.#ipv4(ip.src, ip.proto === PROTO_UDP && ip.sport === 68 && ip.dport === 67);
      }
      return this.#ipv6(ip.src);
    }
    return `ethertype 0x${p.ethertype.toString(16).padStart(4, '0')} is not carried`;
  }

  #ipv4(src: Uint8Array, zeroOk: boolean): string | null {
    const text = formatIPv4(src);
    if (text === '0.0.0.0') return zeroOk ? null : 'source 0.0.0.0 outside DHCP';
    if (this.ipv4 === text) return null;
    if (this.ipv4 !== undefined) return `source IP ${text} is not the client's (${this.ipv4})`;
    if (this.#subnet && !inPrefix(src, this.#subnet.bytes, this.#subnet.prefix)) return `source IP ${text} is outside ${this.#subnet.text}`;
    const owner = this.#registry.ips.get(text);
    if (owner !== undefined && owner !== this.#id) return `IP ${text} belongs to client ${owner}`;
    this.#claim('ip', text);
    return null;
  }

  /** Whether addr is one of the IPv6 addresses this client sends from. */
  ownsIpv6(addr: Uint8Array): boolean {
    return this.ipv6.has(formatIPv6(addr));
  }

  #ipv6(src: Uint8Array): string | null {
    const text = formatIPv6(src);
    if (text === '::') return null; // duplicate address detection and MLD before an address
    if (this.ipv6.has(text)) return null;
    if (src[0] === 0xfe && ((src[1] ?? 0) & 0xc0) === 0x80) {
      const own = this.mac === undefined ? null : linkLocalOf(this.mac);
      if (own !== text) return `link-local source ${text} is not the one the client's MAC gives (${own ?? 'no MAC yet'})`;
    } else if (this.#subnet6) {
      if (!inPrefix(src, this.#subnet6.bytes, this.#subnet6.prefix)) return `source IP ${text} is outside ${this.#subnet6.text}`;
    } else if (this.#ipv6NeedsSubnet) {
      return `source IP ${text}: only link-local IPv6 is allowed here (give --subnet an IPv6 prefix for more)`;
    }
    const owner = this.#registry.ips.get(text);
    if (owner !== undefined && owner !== this.#id) return `IP ${text} belongs to client ${owner}`;
    if (this.ipv6.size >= MAX_IPV6) return `source IP ${text} would be the client's ${MAX_IPV6 + 1}th IPv6 address`;
    this.#claim('ip6', text);
    return null;
  }

  #claim(kind: 'mac' | 'ip' | 'ip6', value: string): void {
    if (kind === 'mac') {
      this.mac = value;
      this.#registry.macs.set(value, this.#id);
    } else {
      if (kind === 'ip') this.ipv4 = value;
      else this.ipv6.add(value);
      this.#registry.ips.set(value, this.#id);
    }
  }
}
