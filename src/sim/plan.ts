// From a network's short description to a plan: every segment's subnets, every host's
// address on each segment it is on, the name server's address on each, and the routes
// each host needs to reach the segments it is not on (through routers and, from the
// inside only, NAT routers). Pure: no stacks here, so the plan can be checked alone.
import { parseCidr, formatIPv4, formatIPv6 } from '../address.js';
import { checkHostname } from '../resolve.js';
import { KEYS as CONDITION_KEYS, checkImpairment } from '../faults/impair.js';
import type { FaultConditions } from './faults.js';
import type { StackOptions } from '../stack.js';

export interface SegmentOptions extends FaultConditions {
  /** IPv4 subnet, '10.0.1.0/24' (default: 10.0.N.0/24 for the Nth segment). */
  subnet?: string;
  /** IPv6 /64 ('fd00:1::/64'), false for none (default: fd00:N::/64 when the network has ipv6). */
  ipv6?: string | false;
  /** MTU of every port (default 1500). */
  mtu?: number;
}

/** Where a host is: a segment's name, several, or segment → its address there. */
export type Attachment = string | readonly string[] | Readonly<Record<string, string>>;

/** Stack options a host may set (the network owns clock, seed and dns). */
export type HostStackOptions = Omit<StackOptions, 'clock' | 'seed' | 'dns' | 'wasm'>;

export interface HostOptions {
  /** The segments the host is on, in interface order (the first is its main one). */
  on: Attachment;
  /** Forward packets between its segments (a router). */
  router?: boolean;
  /**
   * A NAT router: the segments named are inside; connections and UDP flows from them to
   * anywhere else leave from the router's own address on the way out (as a home router).
   */
  nat?: string | readonly string[];
  /** Options for the host's stack (timeWait, connectTimeout, tls...). */
  stack?: HostStackOptions;
}

export interface SegmentPlan {
  name: string;
  index: number;
  subnet: string;
  prefix: number;
  /** The /64 with '::/64' removed ('fd00:1'), or undefined. */
  ipv6: string | undefined;
  mtu: number;
  conditions: FaultConditions;
  /** The name server's addresses on this segment (none on a /30: its two addresses are the hosts'). */
  nameServer: { v4: string; v6: string | undefined } | undefined;
}

export interface AttachmentPlan {
  segment: string;
  v4: string;
  v6: string | undefined;
}

export interface RoutePlan {
  to: string;
  via: string;
}

export interface HostPlan {
  name: string;
  index: number;
  on: AttachmentPlan[];
  router: boolean;
  /** Inside segments of a NAT router (empty otherwise). */
  nat: string[];
  stack: HostStackOptions;
  routes: RoutePlan[];
}

export interface Plan {
  segments: Map<string, SegmentPlan>;
  hosts: Map<string, HostPlan>;
}

const SEGMENT_KEYS = new Set([...CONDITION_KEYS].filter((k) => k !== 'partition').concat(['subnet', 'ipv6', 'mtu']));
const HOST_KEYS = new Set(['on', 'router', 'nat', 'stack']);

function ip4ToInt(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

function intToIp4(n: number): string {
  return formatIPv4(Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255));
}

function v6Address(prefix: string, hostNumber: number): string {
  const b = parseCidr(`${prefix}::/64`).bytes;
  b[12] = (hostNumber >>> 24) & 255;
  b[13] = (hostNumber >>> 16) & 255;
  b[14] = (hostNumber >>> 8) & 255;
  b[15] = hostNumber & 255;
  return formatIPv6(b);
}

function segmentName(name: string, what: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    throw new TypeError(`lwip-wasm: ${what}: ${JSON.stringify(name)} is not a segment name (letters, digits, '_', '-', '.')`);
  }
  return name;
}

function checkSegment(name: string, o: SegmentOptions | undefined, index: number, ipv6: boolean): SegmentPlan {
  const opts = o ?? {};
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`lwip-wasm: segment ${name}: options must be an object`);
  for (const k of Object.keys(opts)) {
    if (!SEGMENT_KEYS.has(k)) throw new TypeError(`lwip-wasm: segment ${name}: unknown option ${JSON.stringify(k)}`);
  }
  const { subnet, ipv6: v6opt, mtu, ...conditions } = opts;
  checkImpairment(conditions, CONDITION_KEYS);
  if (subnet === undefined && index > 254) throw new RangeError(`lwip-wasm: segment ${name}: give it a subnet (only 254 get one by default)`);
  const c = parseCidr(subnet ?? `10.0.${index}.0/24`);
  if (c.family !== 'IPv4' || c.prefix < 8 || c.prefix > 30) {
    throw new TypeError(`lwip-wasm: segment ${name}: subnet must be an IPv4 network from /8 to /30, got ${String(subnet)}`);
  }
  const base = ip4ToInt(c.bytes) & (c.prefix === 0 ? 0 : (0xffffffff << (32 - c.prefix)) >>> 0);
  const size = 2 ** (32 - c.prefix);
  let v6: string | undefined;
  if (v6opt !== undefined && v6opt !== false) {
    const p = parseCidr(v6opt);
    if (p.family !== 'IPv6' || p.prefix !== 64) throw new TypeError(`lwip-wasm: segment ${name}: ipv6 must be a /64 such as fd00:1::/64, got ${v6opt}`);
    v6 = formatIPv6(p.bytes.fill(0, 8)).replace(/::$/, '');
  } else if (v6opt === undefined && ipv6) {
    v6 = `fd00:${index.toString(16)}`;
  }
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 65517)) {
    throw new RangeError(`lwip-wasm: segment ${name}: mtu must be an integer from 576 to 65517, got ${String(mtu)}`);
  }
  const nsNumber = size - 2;
  return {
    name, index, subnet: `${intToIp4(base)}/${c.prefix}`, prefix: c.prefix, ipv6: v6, mtu: mtu ?? 1500,
    conditions: conditions as FaultConditions,
    nameServer: c.prefix > 29 ? undefined : { v4: intToIp4(base + nsNumber), v6: v6 === undefined ? undefined : v6Address(v6, nsNumber) },
  };
}

/** The plan for a description; throws TypeError/RangeError naming what is wrong. */
export function makePlan(segments: Record<string, SegmentOptions | undefined>, hosts: Record<string, HostOptions | Attachment>, ipv6: boolean): Plan {
  if (typeof hosts !== 'object' || hosts === null || Object.keys(hosts).length === 0) {
    throw new TypeError('lwip-wasm: a network needs hosts: { name: { on: segment } }');
  }
  if (typeof segments !== 'object' || segments === null) throw new TypeError('lwip-wasm: segments must be an object');
  const segPlans = new Map<string, SegmentPlan>();
  const segOpts = new Map<string, SegmentOptions | undefined>();
  for (const [name, o] of Object.entries(segments)) segOpts.set(segmentName(name, 'segments'), o);
  // normalise hosts, and find segments named only by hosts
  const normal: Array<{ name: string; on: Array<{ segment: string; address: string | undefined }>; o: HostOptions }> = [];
  for (const [rawName, spec] of Object.entries(hosts)) {
    const name = checkHostname(rawName);
    if (name !== rawName || name.includes('.')) throw new TypeError(`lwip-wasm: host name ${JSON.stringify(rawName)}: use one DNS label (letters, digits, '-')`);
    const o: HostOptions = typeof spec === 'string' || Array.isArray(spec) ? { on: spec as Attachment } : spec as HostOptions;
    if (typeof o !== 'object' || o === null) throw new TypeError(`lwip-wasm: host ${name}: expected { on, ... } or a segment name`);
    for (const k of Object.keys(o)) if (!HOST_KEYS.has(k)) throw new TypeError(`lwip-wasm: host ${name}: unknown option ${JSON.stringify(k)}`);
    let on: Array<{ segment: string; address: string | undefined }>;
    if (typeof o.on === 'string') on = [{ segment: o.on, address: undefined }];
    else if (Array.isArray(o.on)) on = (o.on as string[]).map((s) => ({ segment: s, address: undefined }));
    else if (typeof o.on === 'object' && o.on !== null) on = Object.entries(o.on as Record<string, string>).map(([segment, address]) => ({ segment, address }));
    else throw new TypeError(`lwip-wasm: host ${name}: on must name its segments`);
    if (on.length === 0) throw new TypeError(`lwip-wasm: host ${name}: on names no segment`);
    const seen = new Set<string>();
    for (const a of on) {
      segmentName(a.segment, `host ${name}`);
      if (seen.has(a.segment)) throw new TypeError(`lwip-wasm: host ${name} is on segment ${a.segment} twice`);
      seen.add(a.segment);
      if (!segOpts.has(a.segment)) segOpts.set(a.segment, undefined);
    }
    if (o.router !== undefined && typeof o.router !== 'boolean') throw new TypeError(`lwip-wasm: host ${name}: router must be true or false`);
    const nat = o.nat === undefined ? [] : typeof o.nat === 'string' ? [o.nat] : [...o.nat];
    for (const s of nat) {
      if (!seen.has(s)) throw new TypeError(`lwip-wasm: host ${name}: nat names ${JSON.stringify(s)}, a segment it is not on`);
    }
    if (nat.length > 0 && (nat.length === on.length || o.router)) {
      throw new TypeError(`lwip-wasm: host ${name}: a NAT router needs a segment outside (not named in nat), and is not also a plain router`);
    }
    normal.push({ name, on, o: { ...o, nat } });
  }
  let index = 1;
  for (const [name, o] of segOpts) segPlans.set(name, checkSegment(name, o, index++, ipv6));

  // addresses: explicit ones first, then the free host numbers in host order
  const used = new Map<string, Set<number>>();
  for (const s of segPlans.values()) used.set(s.name, new Set(s.nameServer ? [2 ** (32 - s.prefix) - 2] : []));
  const numbers = new Map<string, number>(); // `${host}|${segment}` → host number
  for (const h of normal) {
    for (const a of h.on) {
      if (a.address === undefined) continue;
      const s = segPlans.get(a.segment)!;
      const c = parseCidr(`${s.subnet}`);
      const b = parseCidr(a.address);
      if (b.family !== 'IPv4' || b.prefix !== 32) throw new TypeError(`lwip-wasm: host ${h.name}: ${JSON.stringify(a.address)} is not an IPv4 address`);
      const n = ip4ToInt(b.bytes) - ip4ToInt(c.bytes);
      if (n <= 0 || n >= 2 ** (32 - s.prefix) - 1) throw new RangeError(`lwip-wasm: host ${h.name}: ${a.address} is not a host address of ${s.name} (${s.subnet})`);
      if (used.get(s.name)!.has(n)) throw new RangeError(`lwip-wasm: host ${h.name}: ${a.address} on ${s.name} is taken (or is the name server's)`);
      used.get(s.name)!.add(n);
      numbers.set(`${h.name}|${a.segment}`, n);
    }
  }
  for (const h of normal) {
    for (const a of h.on) {
      if (numbers.has(`${h.name}|${a.segment}`)) continue;
      const s = segPlans.get(a.segment)!;
      const taken = used.get(s.name)!;
      let n = 1;
      while (taken.has(n)) n++;
      if (n >= 2 ** (32 - s.prefix) - 1) throw new RangeError(`lwip-wasm: segment ${s.name} (${s.subnet}) has no address left for ${h.name}`);
      taken.add(n);
      numbers.set(`${h.name}|${a.segment}`, n);
    }
  }
  const hostPlans = new Map<string, HostPlan>();
  normal.forEach((h, i) => {
    hostPlans.set(h.name, {
      name: h.name,
      index: i + 1,
      on: h.on.map((a) => {
        const s = segPlans.get(a.segment)!;
        const n = numbers.get(`${h.name}|${a.segment}`)!;
        return { segment: a.segment, v4: intToIp4(ip4ToInt(parseCidr(s.subnet).bytes) + n), v6: s.ipv6 === undefined ? undefined : v6Address(s.ipv6, n) };
      }),
      router: h.o.router === true,
      nat: h.o.nat as string[],
      stack: { ...(h.o.stack ?? {}) },
      routes: [],
    });
  });
  for (const h of hostPlans.values()) h.routes = routesFor(h, hostPlans, segPlans);
  return { segments: segPlans, hosts: hostPlans };
}

/**
 * Routes from h to every segment it is not on: breadth first over segments, crossing
 * routers (either way) and NAT routers (from an inside segment to an outside one only).
 * The first hop is the router's address on h's own segment; ties go to the router
 * described first.
 */
function routesFor(h: HostPlan, hosts: Map<string, HostPlan>, segments: Map<string, SegmentPlan>): RoutePlan[] {
  const onSegment = new Map<string, HostPlan[]>();
  for (const x of hosts.values()) for (const a of x.on) {
    if (!onSegment.has(a.segment)) onSegment.set(a.segment, []);
    onSegment.get(a.segment)!.push(x);
  }
  const hop = new Map<string, { v4: string; v6: string | undefined } | null>();
  const queue: string[] = [];
  for (const a of h.on) {
    hop.set(a.segment, null); // directly attached
    queue.push(a.segment);
  }
  while (queue.length > 0) {
    const s = queue.shift()!;
    for (const r of onSegment.get(s) ?? []) {
      if (r === h) continue;
      const isNat = r.nat.length > 0;
      if (!r.router && !isNat) continue;
      if (isNat && !r.nat.includes(s)) continue; // into a NAT only from its inside
      const via = hop.get(s) ?? (() => {
        const a = r.on.find((x) => x.segment === s)!;
        return { v4: a.v4, v6: a.v6 };
      })();
      for (const t of r.on) {
        if (hop.has(t.segment)) continue;
        if (isNat && r.nat.includes(t.segment)) continue; // from inside to another inside: not through NAT
        hop.set(t.segment, via);
        queue.push(t.segment);
      }
    }
  }
  const routes: RoutePlan[] = [];
  for (const [name, via] of hop) {
    if (via === null) continue;
    const s = segments.get(name)!;
    routes.push({ to: s.subnet, via: via.v4 });
    if (s.ipv6 !== undefined && via.v6 !== undefined) routes.push({ to: `${s.ipv6}::/64`, via: via.v6 });
  }
  return routes;
}
