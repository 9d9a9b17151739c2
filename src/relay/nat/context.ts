// What one client's TCP and UDP forwarding need from its gateway: its limits, where a
// destination really leads, the policy's verdict, and how refusals are counted.
import type { SocketAddress } from '../../address.js';
import type { Verdict } from '../policy.js';
import type { DropReason } from '../stats.js';

export interface NatContext {
  /** TCP connections at once (tried or spliced), and new ones a second. */
  readonly maxConnections: number;
  readonly connectionsPerSecond: number;
  /** UDP flows at once, and how long an idle one lasts (ms). */
  readonly maxUdpFlows: number;
  readonly udpIdleTimeout: number;
  /** How long a real TCP connect may take before the attempt is dropped (ms). */
  readonly connectTimeout: number;
  /** Takes a token for a new TCP connection; false when over the rate. */
  newConnection(): boolean;
  /** Counts (and logs once per kind) a flow refused. */
  refuse(reason: DropReason, detail: string): void;
  /** Where a destination the client asked for really is (the gateway: the host's loopback). */
  target(dst: SocketAddress): SocketAddress;
  /** The policy's verdict on a flow to target, which the client asked for as asked. */
  judge(proto: 'tcp' | 'udp', target: SocketAddress, asked: SocketAddress): Verdict;
}
