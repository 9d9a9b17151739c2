// tap: clients share one TAP device the relay opens, so the kernel routes (and, if the
// operator set it up, NATs) their traffic. Each client sends only from its own MAC and
// addresses, and every IP packet passes the destination filter, except the link-local
// control traffic a host needs on its segment (DHCP, neighbour discovery, MLD). Frames
// from the device go to the client owning the destination MAC; group frames to all.
import { openTap, type TapLink, type TapOptions } from '../../transports/tap.js';
import { isGroupMac, macText, PROTO_ICMPV6, PROTO_UDP, sameBytes, type IpInfo, type Parsed } from '../frame.js';
import { guardPacket } from '../guard.js';
import { inPrefix, type Rule } from '../rules.js';
import type { Policy } from '../policy.js';
import type { TapModeOptions } from '../options.js';
import type { Drop, Mode, ModeClient, SessionPort } from './mode.js';

// ICMPv6 that stays on the link: MLD (130-132, 143) and neighbour discovery (133, 135,
// 136; RAs and redirects from clients are dropped by the guard before this).
const ICMPV6_LINK = new Set([130, 131, 132, 133, 135, 136, 143]);
const BROADCAST4 = Uint8Array.from([255, 255, 255, 255]);

/**
 * The control traffic a host needs on its segment, let through without the destination
 * filter: only to where that traffic goes (a broadcast DHCP request; DHCPv6 to its
 * link-scoped multicast group; ND and MLD to link-local or link-scoped multicast
 * addresses, or, for neighbour unreachability detection, to an address in the segment's
 * IPv6 subnet). The same ports or types to anywhere else are ordinary traffic.
 */
function linkControl(ip: IpInfo, subnet6: Rule | null): boolean {
  if (ip.l4 < 0 || ip.fragment) return false;
  const linkScoped6 = ip.family === 6 && ((ip.dst[0] === 0xfe && ((ip.dst[1] ?? 0) & 0xc0) === 0x80) || (ip.dst[0] === 0xff && ((ip.dst[1] ?? 0) & 0x0f) === 2));
  if (ip.proto === PROTO_UDP) {
    if (ip.family === 4) return ip.sport === 68 && ip.dport === 67 && sameBytes(ip.dst, BROADCAST4);
    return ip.sport === 546 && ip.dport === 547 && linkScoped6;
  }
  if (ip.family !== 6 || ip.proto !== PROTO_ICMPV6 || !ICMPV6_LINK.has(ip.icmpType)) return false;
  const onLink = subnet6 !== null && (ip.icmpType === 135 || ip.icmpType === 136) && inPrefix(ip.dst, subnet6.bytes, subnet6.prefix);
  return linkScoped6 || onLink;
}

export class TapMode implements Mode {
  readonly name = 'tap' as const;
  readonly terminates = false;
  readonly #policy: Policy;
  readonly #clients = new Set<ModeClient>();
  readonly #tap: TapLink;
  readonly #subnet6: Rule | null;

  constructor(options: TapModeOptions, policy: Policy, open: (o: TapOptions) => TapLink = openTap, subnet6: Rule | null = null) {
    this.#policy = policy;
    this.#subnet6 = subnet6;
    const o: TapOptions = { attach: options.attach ?? false, up: options.up ?? false };
    if (options.name !== undefined) o.name = options.name;
    this.#tap = open(o);
    this.#tap.attach({
      onFrames: (frames) => {
        for (const f of frames) this.#fromDevice(f);
      },
      onDrain: () => {
        for (const c of this.#clients) c.resume();
      },
      onClose: (err) => {
        for (const c of [...this.#clients]) c.fail(`TAP device closed${err ? `: ${err.message}` : ''}`);
      },
    });
  }

  /** The device's name, for logs and tests. */
  get device(): string {
    return this.#tap.name;
  }

  filter(client: ModeClient, p: Parsed, frame: Uint8Array): Drop | null {
    const why = client.identity.check(p);
    if (why !== null) return { reason: p.kind === 'malformed' ? 'malformed' : p.kind === 'other' ? 'unsupported' : 'spoofed', detail: why };
    if (p.kind !== 'ip') return null;
    const guarded = guardPacket(client.identity, p.ip, frame);
    if (guarded !== null) return { reason: 'guard', detail: guarded };
    if (linkControl(p.ip, this.#subnet6)) return null;
    const verdict = this.#policy.check(p.ip);
    return verdict.ok ? null : { reason: 'denied', detail: verdict.reason, prohibit: true };
  }

  async open(client: ModeClient): Promise<SessionPort> {
    this.#clients.add(client);
    return {
      send: (frame) => {
        if (!this.#tap.send(frame)) client.pause();
      },
      close: () => this.#clients.delete(client),
    };
  }

  #fromDevice(frame: Uint8Array): void {
    if (frame.length < 14) return;
    const dst = frame.subarray(0, 6);
    if (isGroupMac(dst)) {
      for (const c of this.#clients) c.deliver(frame);
      return;
    }
    const mac = macText(dst);
    for (const c of this.#clients) {
      if (c.identity.mac === mac) {
        c.deliver(frame);
        return;
      }
    }
  }

  async close(): Promise<void> {
    this.#clients.clear();
    this.#tap.close();
  }
}
