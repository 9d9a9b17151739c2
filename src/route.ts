// Static routes and forwarding (wasm/route.c), as `ip route` and the forwarding sysctls:
// a stack with forwarding on is a router between its interfaces, and routes let any
// stack reach networks behind a gateway other than its default one.
import type { Core } from './core.js';
import { parseCidr, parseIPv4, parseIPv6, formatIPv4, formatIPv6 } from './address.js';
import { CONFIG, LW_ROUTE, readLwRoute, writeLwRoute } from './gen/abi.js';
import { AF_INET, AF_INET6, EEXIST, ESRCH } from './gen/constants.js';

export interface RouteOptions {
  /** The destination network, "10.0.2.0/24" or "fd00:2::/64"; "0.0.0.0/0" and "::/0" are defaults. */
  to: string;
  /** The gateway (next hop), on a subnet of one of the stack's interfaces. */
  via?: string;
  /**
   * The interface index to leave by (NetInterface.index). Needed for a route with no
   * gateway (the destination is on that link); otherwise the gateway's subnet picks it.
   */
  ifindex?: number;
}

/** A route as the stack holds it (the destination's host bits cleared). */
export interface RouteInfo {
  to: string;
  via: string | undefined;
  /** 0 when the gateway's subnet picks the interface. */
  ifindex: number;
}

/** Most routes a stack holds (wasm/route.c's table). */
export const MAX_ROUTES = 64;

function encode(o: RouteOptions, forAdd: boolean): { family: number; prefix: number; ifindex: number; dst: Uint8Array; gw: Uint8Array } {
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: a route must be an object { to, via?, ifindex? }');
  for (const k of Object.keys(o)) {
    if (k !== 'to' && k !== 'via' && k !== 'ifindex') throw new TypeError(`lwip-wasm: unknown route option ${JSON.stringify(k)}`);
  }
  const cidr = parseCidr(o.to);
  const v6 = cidr.family === 'IPv6';
  const dst = new Uint8Array(16);
  dst.set(cidr.bytes);
  const gw = new Uint8Array(16);
  if (o.via !== undefined) {
    const g = typeof o.via === 'string' ? (v6 ? parseIPv6(o.via) : parseIPv4(o.via)) : null;
    if (!g) throw new TypeError(`lwip-wasm: via must be an ${v6 ? 'IPv6' : 'IPv4'} address for a route to ${o.to}, got ${String(o.via)}`);
    if (g.every((b) => b === 0)) throw new TypeError('lwip-wasm: via cannot be the unspecified address');
    gw.set(g);
  }
  const ifindex = o.ifindex ?? 0;
  if (!Number.isInteger(ifindex) || ifindex < 0 || ifindex > 255) {
    throw new RangeError(`lwip-wasm: ifindex must be an interface index (1-255), got ${String(o.ifindex)}`);
  }
  if (forAdd && o.via === undefined && ifindex === 0) {
    throw new TypeError(`lwip-wasm: a route to ${o.to} needs via (a gateway) or ifindex (an on-link route)`);
  }
  return { family: v6 ? AF_INET6 : AF_INET, prefix: cidr.prefix, ifindex, dst, gw };
}

function withRoute<T>(core: Core, o: RouteOptions, forAdd: boolean, fn: (ptr: number) => T): T {
  const r = encode(o, forAdd);
  const ptr = core.heap.alloc(LW_ROUTE.size);
  try {
    writeLwRoute(core.heap, ptr, r);
    return fn(ptr);
  } finally {
    core.abi.free(ptr);
  }
}

export function addRoute(core: Core, o: RouteOptions): void {
  withRoute(core, o, true, (ptr) => {
    const ret = core.abi.route_add(ptr);
    if (ret === -EEXIST) throw new TypeError(`lwip-wasm: a route to ${o.to} is already there (remove it first)`);
    core.check(ret, 'route');
  });
}

/** Removes the route to o.to; false if there was none. */
export function removeRoute(core: Core, o: RouteOptions): boolean {
  return withRoute(core, o, false, (ptr) => {
    const ret = core.abi.route_del(ptr);
    if (ret === -ESRCH) return false;
    core.check(ret, 'route');
    return true;
  });
}

export function listRoutes(core: Core): RouteInfo[] {
  const out: RouteInfo[] = [];
  const ptr = core.heap.alloc(LW_ROUTE.size);
  try {
    for (let i = 0; i < MAX_ROUTES && core.abi.route_get(i, ptr) === 1; i++) {
      const r = readLwRoute(core.heap, ptr);
      const v6 = r.family === AF_INET6;
      const fmt = (b: Uint8Array): string => (v6 ? formatIPv6(b.subarray(0, 16)) : formatIPv4(b.subarray(0, 4)));
      const hasGw = r.gw.subarray(0, v6 ? 16 : 4).some((b) => b !== 0);
      out.push({ to: `${fmt(r.dst)}/${r.prefix}`, via: hasGw ? fmt(r.gw) : undefined, ifindex: r.ifindex });
    }
  } finally {
    core.abi.free(ptr);
  }
  return out;
}

export function setForwarding(core: Core, on: boolean): void {
  if (typeof on !== 'boolean') throw new TypeError('lwip-wasm: setForwarding takes true or false');
  core.abi.stack_set_config(CONFIG.FORWARD, on ? 1 : 0);
}
