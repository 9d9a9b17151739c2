// The DHCP client's view from TypeScript (wasm/dhcp.c): start it on an interface, read
// the lease, and wait until one is granted.
import type { Core } from './core.js';
import { formatIPv4, formatIPv6 } from './address.js';
import { SocketError } from './errors.js';
import { AF_INET, EINVAL, ETIMEDOUT } from './gen/constants.js';
import { watch } from './watch.js';

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

const STATES: readonly DhcpState[] = [
  'off', 'requesting', 'init', 'rebooting', 'rebinding', 'renewing', 'selecting',
  'informing', 'checking', 'permanent', 'bound', 'releasing', 'backing-off',
];

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

const LEASE_FIELDS = 9;

function u32ToIPv4(v: number): string {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return formatIPv4(b);
}

function prefixOf(maskLe: number): number {
  const m = ((maskLe & 0xff) << 24) | ((maskLe >>> 8 & 0xff) << 16) | ((maskLe >>> 16 & 0xff) << 8) | (maskLe >>> 24);
  let n = 0;
  for (let bit = 31; bit >= 0 && (m >>> bit) & 1; bit--) n++;
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
  core.check(core.guard(() => core.ex.dhcp_start_index(index)), 'dhcp');
  core.kick();
}

/** The DNS servers in lwIP's table, which DHCP fills from the lease. */
export function dhcpDnsServers(core: Core): string[] {
  const out: string[] = [];
  for (let i = 0; i < 16; i++) { // until -EINVAL: the C side knows DNS_MAX_SERVERS
    const r = core.ex.dns_server_get(i, 1, core.addrOut);
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
  const ptr = core.ex.stack_scratch(LEASE_FIELDS * 4);
  if (core.ex.dhcp_lease_get(index, ptr) !== 1) return null;
  const dv = core.heap.dv();
  const f = (i: number): number => dv.getUint32(ptr + i * 4, true);
  const gw = f(3);
  return {
    state: STATES[f(0)] ?? 'off',
    address: u32ToIPv4(f(1)),
    netmask: u32ToIPv4(f(2)),
    prefix: prefixOf(f(2)),
    gateway: gw === 0 ? null : u32ToIPv4(gw),
    server: u32ToIPv4(f(4)),
    dns: [...dns],
    leaseTime: f(5),
    renewalTime: f(6),
    rebindTime: f(7),
    elapsed: f(8),
  };
}

/**
 * Resolves once the interface has a lease. On timeout (ETIMEDOUT), abort, the link going
 * away for good (its own error: a relay's refusal says why), or the stack going away,
 * rejects after calling giveUp (which removes the interface).
 */
export function waitForLease(core: Core, index: number, opts: DhcpOptions | undefined,
  onLease: () => void, giveUp: () => void, linkGone: () => Error | undefined): Promise<void> {
  const signal = opts?.signal;
  if (signal?.aborted) {
    giveUp();
    return Promise.reject(signal.reason);
  }
  const deadline = core.clock.now() + (opts?.timeout ?? 30_000);
  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => {
      stop();
      signal?.removeEventListener('abort', onAbort);
      giveUp();
      reject(err);
    };
    const onAbort = (): void => fail(signal!.reason);
    const stop = watch(core, () => {
      if (!core.alive) {
        try {
          core.assertAlive();
        } catch (err) {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        }
        return true;
      }
      if (core.ex.dhcp_lease_get(index, core.ex.stack_scratch(LEASE_FIELDS * 4)) === 1) {
        signal?.removeEventListener('abort', onAbort);
        onLease();
        resolve();
        return true;
      }
      const gone = linkGone();
      if (gone || core.clock.now() >= deadline) {
        signal?.removeEventListener('abort', onAbort);
        giveUp();
        reject(gone ?? new SocketError(ETIMEDOUT, 'dhcp'));
        return true;
      }
      return false;
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
