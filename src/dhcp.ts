// The DHCP client's view from TypeScript (wasm/dhcp.c): start it on an interface, read
// the lease, and wait until one is granted.
import type { Core } from './core.js';
import { formatIPv4, formatIPv6 } from './address.js';
import { SocketError } from './errors.js';
import { AF_INET, EINVAL, ETIMEDOUT } from './gen/constants.js';
import { CHANGE, DHCP_NAMES, LW_LEASE, readLwLease } from './gen/abi.js';

export interface DhcpOptions {
  /** Milliseconds to wait for a lease before addInterface rejects with ETIMEDOUT (default 30000). */
  timeout?: number;
  /** Aborting rejects addInterface with the signal's reason; the interface is removed. */
  signal?: AbortSignal;
}

/** lwIP's DHCP client states (lwip/prot/dhcp.h), as names. */
export type DhcpState =
  | 'off' | 'requesting' | 'init' | 'rebooting' | 'rebinding' | 'renewing' | 'selecting'
  | 'informing' | 'checking' | 'permanent' | 'bound' | 'releasing' | 'backing-off';

/** wasm/abi.h's LW_DHCP_* names as DhcpState ('BACKING_OFF' is 'backing-off'). */
const stateName = (i: number): DhcpState =>
  (DHCP_NAMES[i]?.toLowerCase().replace('_', '-') as DhcpState | undefined) ?? 'off';

/** A lease as the DHCP client holds it now. */
export interface DhcpLease {
  state: DhcpState;
  address: string;
  netmask: string;
  prefix: number;
  gateway: string | null;
  /** The DHCP server that granted the lease. */
  server: string;
  /** DNS servers the lease gave, as read when it was granted (empty if none). */
  dns: string[];
  /** Lease, renewal (T1) and rebinding (T2) times, in seconds, as the server offered them. */
  leaseTime: number;
  renewalTime: number;
  rebindTime: number;
  /** Seconds since the last ACK, counted in lwIP's 60 s ticks. */
  elapsed: number;
}

/** The prefix length of a netmask (its leading one bits). */
function prefixOf(mask: Uint8Array): number {
  let n = 0;
  for (const b of mask) {
    for (let bit = 7; bit >= 0 && (b >> bit) & 1; bit--) n++;
    if (b !== 0xff) break;
  }
  return n;
}

export function checkDhcpOptions(o: DhcpOptions | undefined): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: dhcp options must be an object');
  if (o.timeout !== undefined && (typeof o.timeout !== 'number' || !(o.timeout > 0))) {
    throw new RangeError(`lwip-wasm: dhcp.timeout must be a positive number of milliseconds, got ${String(o.timeout)}`);
  }
  if (o.signal !== undefined && !(typeof o.signal === 'object' && o.signal !== null && 'aborted' in o.signal)) {
    throw new TypeError('lwip-wasm: dhcp.signal must be an AbortSignal');
  }
}

export function startDhcp(core: Core, index: number): void {
  core.check(core.abi.dhcp_start_index(index), 'dhcp');
}

/** The DNS servers in lwIP's table, which DHCP fills from the lease. */
export function dhcpDnsServers(core: Core): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) { // until -EINVAL: the C side knows DNS_MAX_SERVERS
    const r = core.abi.dns_server_get(i, 1, core.addrOut);
    if (r === -EINVAL) break;
    if (r === 0) {
      const raw = core.heap.readAddress(core.addrOut);
      out.push(raw.family === AF_INET ? formatIPv4(raw.bytes) : formatIPv6(raw.bytes));
    }
  }
  return out;
}

/** The client's state; null unless an address is leased (bound, renewing, rebinding). */
export function readLease(core: Core, index: number, dns: string[]): DhcpLease | null {
  if (!core.alive) return null;
  const ptr = core.abi.stack_scratch(LW_LEASE.size);
  if (core.abi.dhcp_lease_get(index, ptr) !== 1) return null;
  const l = readLwLease(core.heap, ptr);
  return {
    state: stateName(l.state),
    address: formatIPv4(l.addr),
    netmask: formatIPv4(l.mask),
    prefix: prefixOf(l.mask),
    gateway: l.gw.every((b) => b === 0) ? null : formatIPv4(l.gw),
    server: formatIPv4(l.server),
    dns: [...dns],
    leaseTime: l.leaseTime,
    renewalTime: l.renewalTime,
    rebindTime: l.rebindTime,
    elapsed: l.elapsed,
  };
}

/**
 * Resolves once the interface has a lease. On timeout (ETIMEDOUT), abort, the link going
 * away for good (its own error: a relay's refusal says why), or the stack going away,
 * rejects after calling giveUp (which removes the interface). It waits on the change
 * stream: C posts the interface when a lease is gained or lost, and the interface posts
 * it when its link goes away.
 */
export async function waitForLease(core: Core, index: number, opts: DhcpOptions | undefined,
  onLease: () => void, giveUp: () => void, linkGone: () => Error | undefined): Promise<void> {
  const signal = opts?.signal;
  const deadline = core.clock.now() + (opts?.timeout ?? 30_000);
  const leased = (): boolean => core.abi.dhcp_lease_get(index, core.abi.stack_scratch(LW_LEASE.size)) === 1;
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (leased()) {
        onLease();
        return;
      }
      const gone = linkGone();
      if (gone) throw gone;
      if (core.clock.now() >= deadline) throw new SocketError(ETIMEDOUT, 'dhcp');
      await core.waitChange(CHANGE.DHCP, index, deadline, signal);
    }
  } catch (err) {
    if (core.alive) giveUp();
    throw err;
  }
}
