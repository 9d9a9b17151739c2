// nat: each client gets its own passt, so it has DHCP, DNS and outbound TCP/UDP/ICMP to
// the relay host's network, and nothing else: every IPv4 packet passes the destination
// filter first. passt maps the gateway address to the host's loopback, so the filter
// judges packets to the gateway as packets to 127.0.0.1.
import { parseIPv4 } from '../../address.js';
import { PROTO_TCP, PROTO_UDP, sameBytes, type Parsed } from '../frame.js';
import { Passt, type PasstConfig } from '../passt.js';
import type { Policy } from '../policy.js';
import { dnsTargets } from '../resolvers.js';
import type { Resolved } from '../options.js';
import type { Drop, Mode, ModeClient, SessionPort } from './mode.js';

const LOOPBACK = Uint8Array.of(127, 0, 0, 1);

export class NatMode implements Mode {
  readonly name = 'nat' as const;
  readonly statefulBackend = true;
  readonly #policy: Policy;
  readonly #config: PasstConfig;
  readonly #gateway: Uint8Array;
  readonly #dns: Uint8Array[];

  constructor(options: Resolved, policy: Policy) {
    const nat = options.nat;
    const gateway = parseIPv4(nat.gateway);
    if (!gateway || !parseIPv4(nat.address)) throw new TypeError('lwip-wasm relay: nat.address and nat.gateway must be IPv4 addresses');
    this.#policy = policy;
    this.#gateway = gateway;
    this.#dns = nat.dns ? dnsTargets(nat.gateway).map((a) => parseIPv4(a)).filter((a): a is Uint8Array => a !== null) : [];
    this.#config = {
      command: nat.passt, address: nat.address, prefix: nat.prefix, gateway: nat.gateway,
      dns: nat.dns, mtu: nat.mtu, startTimeoutMs: nat.startTimeout,
    };
  }

  filter(_client: ModeClient, p: Parsed): Drop | null {
    if (p.kind === 'arp') return null; // answered by passt itself
    if (p.kind === 'malformed') return { reason: 'malformed', detail: p.why };
    if (p.kind === 'other') return { reason: 'unsupported', detail: `ethertype 0x${p.ethertype.toString(16)} is not carried` };
    const ip = p.ip;
    if (ip.family === 6) return { reason: 'unsupported', detail: 'IPv6 is not carried in nat mode' };
    const udp = ip.proto === PROTO_UDP;
    if (udp && ip.sport === 68 && ip.dport === 67) return null; // DHCP, answered by passt
    if ((udp || ip.proto === PROTO_TCP) && ip.dport === 53 && this.#dns.some((d) => sameBytes(d, ip.dst))) return null;
    const dst = sameBytes(ip.dst, this.#gateway) ? LOOPBACK : ip.dst;
    const verdict = this.#policy.check(ip, dst);
    return verdict.ok ? null : { reason: 'denied', detail: verdict.reason, prohibit: true };
  }

  async open(client: ModeClient): Promise<SessionPort> {
    const passt = await Passt.start(this.#config, {
      onFrame: (f) => client.deliver(f),
      onClose: (why) => client.fail(why),
    });
    passt.onDrain(() => client.resume());
    return {
      send: (frame) => {
        if (!passt.send(frame)) client.pause();
      },
      close: () => passt.close(),
    };
  }

  async close(): Promise<void> {}
}
