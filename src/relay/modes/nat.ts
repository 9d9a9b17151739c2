// nat: each client gets a gateway of its own, a stack in this process (src/relay/nat/),
// that terminates its traffic: DHCP, DNS and router advertisements come from it, and
// every TCP connection and UDP flow the client opens is judged by the policy as a flow
// (after reassembly) and carried by a real socket only if allowed.
import { parseIPv4 } from '../../address.js';
import type { Parsed } from '../frame.js';
import { Gateway, gatewayIPv6 } from '../nat/gateway.js';
import { hostResolver, type NameSource } from '../nat/dns-server.js';
import type { Policy } from '../policy.js';
import type { Resolved } from '../options.js';
import type { Drop, Mode, ModeClient, SessionPort } from './mode.js';

export class NatMode implements Mode {
  readonly name = 'nat' as const;
  readonly terminates = true;
  readonly #o: Resolved;
  readonly #policy: Policy;
  readonly #names: NameSource;

  constructor(options: Resolved, policy: Policy) {
    const nat = options.nat;
    if (!parseIPv4(nat.gateway) || !parseIPv4(nat.address)) throw new TypeError('lwip-wasm relay: nat.address and nat.gateway must be IPv4 addresses');
    if (nat.ipv6 !== false) gatewayIPv6(nat.ipv6); // throws a clear error for a bad prefix
    this.#o = options;
    this.#policy = policy;
    const host = hostResolver();
    this.#names = nat.lookup ? { lookup: nat.lookup, resolve: (name, type) => host.resolve(name, type) } : host;
  }

  filter(_client: ModeClient, p: Parsed): Drop | null {
    if (p.kind === 'malformed') return { reason: 'malformed', detail: p.why };
    if (p.kind === 'other') return { reason: 'unsupported', detail: `ethertype 0x${p.ethertype.toString(16)} is not carried` };
    return null; // the gateway judges flows, not packets
  }

  async open(client: ModeClient): Promise<SessionPort> {
    const o = this.#o;
    return Gateway.start({
      address: o.nat.address, prefix: o.nat.prefix, gateway: o.nat.gateway, ipv6: o.nat.ipv6 === false ? null : o.nat.ipv6,
      mtu: o.nat.mtu, dns: o.nat.dns, names: this.#names, policy: this.#policy,
      maxConnections: o.maxConnections, connectionsPerSecond: o.connectionsPerSecond, maxUdpFlows: o.maxUdpFlows,
      udpIdleTimeout: o.nat.udpIdleTimeout, connectTimeout: o.nat.connectTimeout,
    }, client);
  }

  async close(): Promise<void> {
    this.#policy.close();
  }
}
