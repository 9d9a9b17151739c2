// The destination filter applied to every frame a client sends towards a real network
// (nat and tap modes). The most specific explicit rule wins (longest prefix, then a port
// range over none, deny over allow on a tie); without one, the defaults deny loopback,
// private, link-local, multicast, reserved ranges and the relay host's own addresses, and
// allow the rest.
import { networkInterfaces } from 'node:os';
import { lookup as dnsLookup } from 'node:dns/promises';
import { parseIPv4, parseIPv6 } from '../address.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type IpInfo } from './frame.js';
import { DEFAULT_DENY, ipText, matches, parseRule, type Protocol, type Rule } from './rules.js';

export type Verdict = { ok: true } | { ok: false; reason: string };

export interface PolicyOptions {
  /** Rules that allow a destination the defaults deny (CIDR[:port[-port]]). */
  allow?: readonly string[];
  /** Rules that deny a destination the defaults allow. */
  deny?: readonly string[];
  /** Extra addresses denied as "the relay's own" (its public addresses are found by itself). */
  ownAddresses?: readonly string[];
  /** Where the host's addresses come from (default: os.networkInterfaces()); read again every few seconds. */
  hostAddresses?: () => string[];
  /** Resolves a host a rule names to all its addresses (default: node:dns lookup); again every 30 s. */
  lookup?: (host: string) => Promise<string[]>;
}

/** How often the hosts rules name are resolved again (ms). */
const HOST_RULE_TTL = 30_000;

async function lookupAll(host: string): Promise<string[]> {
  return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/** How long the host's own addresses are trusted before they are read again (ms). */
const HOST_ADDRESSES_TTL = 2000;

interface Explicit {
  rule: Rule;
  allow: boolean;
}

export class Policy {
  readonly #explicit: Explicit[];
  readonly #defaults: Array<{ rule: Rule; reason: string }>;
  readonly #hostSource: () => string[];
  readonly #extraOwn: readonly string[];
  #own: Rule[] = [];
  #ownAt = -Infinity;
  /** Addresses (as text) of each host a rule names, as last resolved. */
  readonly #hosts = new Map<string, Set<string>>();
  readonly #lookup: (host: string) => Promise<string[]>;
  #hostTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: PolicyOptions = {}) {
    this.#explicit = [
      ...(options.allow ?? []).map((t) => ({ rule: parseRule(t), allow: true })),
      ...(options.deny ?? []).map((t) => ({ rule: parseRule(t), allow: false })),
    ];
    refuseHalfDenials(this.#explicit);
    this.#defaults = DEFAULT_DENY.map(([cidr, reason]) => ({ rule: parseRule(cidr), reason }));
    this.#hostSource = options.hostAddresses ?? hostAddresses;
    this.#extraOwn = options.ownAddresses ?? [];
    this.#ownRules(Date.now());
    this.#lookup = options.lookup ?? lookupAll;
    const hosts = [...new Set(this.#explicit.map((e) => e.rule.host).filter((h): h is string => h !== null))];
    if (hosts.length > 0) {
      for (const h of hosts) this.#hosts.set(h, new Set());
      void this.refreshHosts();
      this.#hostTimer = setInterval(() => void this.refreshHosts(), HOST_RULE_TTL);
      this.#hostTimer.unref?.();
    }
  }

  /** Resolves the hosts rules name again; a host that fails to resolve keeps its last addresses. */
  async refreshHosts(): Promise<void> {
    await Promise.all([...this.#hosts.keys()].map(async (h) => {
      try {
        this.#hosts.set(h, new Set((await this.#lookup(h)).map((a) => ipText(parseIPv4(a) ?? parseIPv6(a) ?? new Uint8Array(0)))));
      } catch {
        // unresolvable now: the rule matches only what the client resolved through us
      }
    }));
  }

  /** Stops resolving rules' hosts (the relay is closing). */
  close(): void {
    if (this.#hostTimer) clearInterval(this.#hostTimer);
  }

  /** The host's own addresses, read again once HOST_ADDRESSES_TTL has passed, so one added after the start is denied too. */
  #ownRules(now: number): Rule[] {
    if (now - this.#ownAt > HOST_ADDRESSES_TTL) {
      this.#own = [...this.#hostSource(), ...this.#extraOwn].map((a) => parseRule(a));
      this.#ownAt = now;
    }
    return this.#own;
  }

  /** The rules in force, for logs and stats. */
  describe(): { allow: string[]; deny: string[] } {
    return {
      allow: this.#explicit.filter((e) => e.allow).map((e) => e.rule.text),
      deny: this.#explicit.filter((e) => !e.allow).map((e) => e.rule.text),
    };
  }

  /**
   * Decides one outbound packet. dst is the address it really reaches (tap mode: the
   * packet's own destination).
   */
  check(ip: IpInfo, dst: Uint8Array = ip.dst): Verdict {
    // A later fragment has no port to judge; its datagram's first fragment was judged,
    // and the session lets it through only behind a first fragment that passed.
    if (ip.fragment && !ip.fragment.first) return { ok: true };
    return this.judge(protocolOf(ip.proto), dst, ip.l4 < 0 ? -1 : ip.dport);
  }

  /**
   * Decides one connection or flow: protocol, the address it really reaches (nat: the
   * gateway stands for the relay host's loopback), the port (-1 for none), and the name
   * the client resolved it from through the relay's DNS, if it did.
   */
  judge(proto: Protocol | null, dst: Uint8Array, port: number, name?: string): Verdict {
    let best: Explicit | undefined;
    let bestScore = -1;
    const dstText = ipText(dst);
    const hostMatch = (host: string): boolean => name === host || (this.#hosts.get(host)?.has(dstText) ?? false);
    for (const e of this.#explicit) {
      if (!matches(e.rule, dst, proto, port, hostMatch)) continue;
      const ported = e.rule.portLo !== 0 || e.rule.portHi !== 65535 ? 1 : 0;
      const score = e.rule.prefix * 4 + ported * 2 + (e.allow ? 0 : 1);
      if (score > bestScore) {
        best = e;
        bestScore = score;
      }
    }
    if (best) return best.allow ? { ok: true } : { ok: false, reason: `denied by --deny ${best.rule.text}` };
    for (const d of this.#defaults) {
      if (matches(d.rule, dst, proto, port)) return { ok: false, reason: `${ipText(dst)} is ${d.reason} (denied by default)` };
    }
    // IPv6 forms that carry an IPv4 address a relay or gateway would reach: the IPv4 one
    // decides (6to4, Teredo's server and client, IPv4-compatible).
    for (const [what, v4] of embeddedIPv4(dst)) {
      const inner = this.judge(proto, v4, port, name);
      if (!inner.ok) return { ok: false, reason: `${ipText(dst)} is a ${what} address for ${ipText(v4)}: ${inner.reason}` };
    }
    for (const r of this.#ownRules(Date.now())) {
      if (matches(r, dst, proto, port)) return { ok: false, reason: `${ipText(dst)} is the relay host's own address (denied by default)` };
    }
    return { ok: true };
  }
}

/**
 * A deny rule for a whole family (0.0.0.0/0 or ::/0, with any protocol and ports) that
 * has no twin for the other family would leave that family open, which is never what
 * "deny all" means: refuse it, saying how to write it. "any" covers both.
 */
function refuseHalfDenials(rules: readonly Explicit[]): void {
  for (const { rule, allow } of rules) {
    if (allow || rule.prefix !== 0 || rule.bytes.length === 0) continue;
    const otherLen = rule.bytes.length === 4 ? 16 : 4;
    const twin = rules.some((r) => !r.allow && r.rule.prefix === 0 && (r.rule.bytes.length === otherLen || r.rule.bytes.length === 0) &&
      (r.rule.proto === null || r.rule.proto === rule.proto) && r.rule.portLo <= rule.portLo && r.rule.portHi >= rule.portHi);
    if (!twin) {
      const other = rule.bytes.length === 4 ? '::/0' : '0.0.0.0/0';
      const suffix = rule.text.replace(/^(tcp|udp|icmp)\//i, '').replace(/^\[?(0\.0\.0\.0|::)\/0\]?/, '');
      const proto = rule.proto ? `${rule.proto}/` : '';
      throw new TypeError(`lwip-wasm relay: --deny ${rule.text} denies ${rule.bytes.length === 4 ? 'IPv4' : 'IPv6'} only, and would leave ` +
        `${rule.bytes.length === 4 ? 'IPv6' : 'IPv4'} open; write --deny ${proto}any${suffix} for both, or add --deny ${proto}${other === '::/0' && suffix ? `[${other}]` : other}${suffix}`);
    }
  }
}

/** The IPv4 addresses an IPv6 address embeds, with the form's name. */
function embeddedIPv4(a: Uint8Array): Array<[string, Uint8Array]> {
  if (a.length !== 16) return [];
  if (a[0] === 0x20 && a[1] === 0x02) return [['6to4', a.slice(2, 6)]];
  if (a[0] === 0x20 && a[1] === 0x01 && a[2] === 0 && a[3] === 0) {
    return [['Teredo', a.slice(4, 8)], ['Teredo', a.slice(12, 16).map((b) => b ^ 0xff)]];
  }
  if (a.subarray(0, 12).every((b) => b === 0) && !(a[12] === 0 && a[13] === 0 && a[14] === 0)) return [['IPv4-compatible', a.slice(12, 16)]];
  return [];
}

export function protocolOf(proto: number): Protocol | null {
  if (proto === PROTO_TCP) return 'tcp';
  if (proto === PROTO_UDP) return 'udp';
  if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) return 'icmp';
  return null;
}

/** Every address on the relay host's interfaces that the loopback/private defaults miss. */
function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const bytes = a.family === 'IPv4' ? parseIPv4(a.address) : parseIPv6(a.address.split('%')[0] ?? '');
      if (bytes) out.push(a.family === 'IPv4' ? a.address : `[${ipText(bytes)}]`);
    }
  }
  return out;
}
