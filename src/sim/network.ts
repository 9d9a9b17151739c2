// A simulated network for tests: hosts and segments from a short description, every host
// reachable by name through its own stack's DNS, routers (and NAT routers) between
// segments, faults by host pair or flow, connection toxics, crashes and restarts, all on
// one VirtualClock and one seed, so a run replays frame for frame.
import { Stack } from '../stack.js';
import { createSwitch, type Switch } from '../transports/switch.js';
import { PcapWriter, type ByteSink } from '../capture/pcap.js';
import { VirtualClock } from '../testing/virtual-clock.js';
import { timerApi, DEFAULT_EPOCH, type TimerApi } from '../testing/virtual-timers.js';
import { onVirtualTime, useTimeScope } from './time-scope.js';
import { freshSeed } from '../random.js';
import { checkImpairment, KEYS, type Impairment } from '../faults/impair.js';
import { makePlan, type Attachment, type HostOptions, type Plan, type SegmentOptions, type SegmentPlan } from './plan.js';
import { HostPort, type SegmentWire } from './port.js';
import { Fault, RuleSet, type FaultConditions, type RuleContext } from './faults.js';
import { Toxic, runToxics, type ToxicContext, type ToxicOptions } from './toxics.js';
import { ConnTable, type Conn, type Dir } from './tcp-track.js';
import { viewFrame } from './frame.js';
import type { FlowFilter, Endpoints } from './filter.js';
import { serveNames, type NameEntry } from './names.js';
import { SimHost, type HostEnv, type Software } from './host.js';
import { deriveSeed } from './seed.js';

export interface NetworkOptions {
  /** The hosts: name → { on: segments, router?, nat?, stack? }, or just the segment(s). */
  hosts: Record<string, HostOptions | Attachment>;
  /** Segments by name, with their subnet and conditions; a segment a host names is made if missing. */
  segments?: Record<string, SegmentOptions>;
  /** Seed of every random choice (default: random; read it back from network.seed to replay). */
  seed?: number;
  /** The clock every stack, fault and timer runs on (default: a new VirtualClock). */
  clock?: VirtualClock;
  /** Give every segment an IPv6 /64 too (default false). */
  ipv6?: boolean;
  /** The name service (default true): every host's name resolves through the stacks' DNS. */
  dns?: boolean;
  /**
   * Capture every segment as pcap: true keeps it in memory (network.pcap(segment)), a
   * function gives each segment's sink.
   */
  capture?: boolean | ((segment: string) => ByteSink);
  /** Wall-clock ms since 1970 for the clock's 0: pcap timestamps and run()'s Date (default 2000-01-01). */
  epoch?: number;
  /** Software to run on hosts at every boot (or use host.run later). */
  software?: Record<string, Software>;
  /** ms a NAT router keeps an idle UDP flow (default 30000). */
  natIdleTimeout?: number;
}

/** A segment: its addresses and conditions (every frame onto it meets them). */
export interface SimSegment {
  readonly name: string;
  readonly subnet: string;
  /** The IPv6 /64, or undefined. */
  readonly ipv6: string | undefined;
  readonly mtu: number;
  /** The name service's address on it (none on a /30). */
  readonly nameServer: string | undefined;
  readonly conditions: FaultConditions;
  /** Changes the conditions (loss, delay, rate...) of every frame onto the segment. */
  set(changes: FaultConditions): void;
}

/** The side partition() and hold() take: hosts (by name), addresses or networks. */
export type Side = Endpoints;

export interface PairOptions {
  /** Only from the first side to the second (default: both ways). */
  oneWay?: boolean;
}

const NS = '#ns';
const SEGMENT_CONDITIONS = new Set([...KEYS].filter((k) => k !== 'partition'));
const EVERYONE = ['0.0.0.0/0', '::/0'];
const OPTION_KEYS = new Set(['hosts', 'segments', 'seed', 'clock', 'ipv6', 'dns', 'capture', 'epoch', 'software', 'natIdleTimeout']);

interface SegmentState {
  plan: SegmentPlan;
  sw: Switch;
  wire: SegmentWire & { capture: PcapWriter | undefined; conditions: FaultConditions };
  chunks: Uint8Array[] | undefined;
  ports: Set<HostPort>;
}

/** Builds the network described, boots every host, and starts their software. */
export async function createNetwork(options: NetworkOptions): Promise<Network> {
  const net = new Network(options);
  try {
    await net._start(options.software ?? {});
  } catch (err) {
    net.close();
    throw err;
  }
  return net;
}

export class Network {
  /** The seed every random choice came from. */
  readonly seed: number;
  readonly clock: VirtualClock;
  readonly epoch: number;
  /** Software failures: errors a host's software threw while its host was up. */
  readonly errors: Array<{ host: string; error: unknown }> = [];
  readonly #plan: Plan;
  readonly #segments = new Map<string, SegmentState>();
  readonly #hosts = new Map<string, SimHost>();
  readonly #owner = new Map<string, string>();
  readonly #rules = new RuleSet();
  readonly #toxics: Toxic[] = [];
  readonly #pairs = new Map<Fault, string>();
  readonly #table: ConnTable;
  readonly #dns: boolean;
  readonly #natIdle: number;
  #ns: { stack: Stack; server: { close(): void } } | undefined;
  readonly #timers: TimerApi;
  readonly #releaseTime: () => void;
  #nextPort = 1;
  #nextFault = 1;
  #closed = false;

  /** @internal use createNetwork */
  constructor(o: NetworkOptions) {
    if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: createNetwork needs { hosts, segments?, ... }');
    for (const k of Object.keys(o)) if (!OPTION_KEYS.has(k)) throw new TypeError(`lwip-wasm: unknown network option ${JSON.stringify(k)}`);
    if (o.seed !== undefined && (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff)) {
      throw new RangeError(`lwip-wasm: seed must be an integer from 0 to 2^32-1, got ${String(o.seed)}`);
    }
    if (o.clock !== undefined && !(o.clock instanceof VirtualClock)) throw new TypeError('lwip-wasm: clock must be a VirtualClock');
    if (o.epoch !== undefined && (typeof o.epoch !== 'number' || !Number.isFinite(o.epoch))) throw new TypeError('lwip-wasm: epoch must be ms since 1970');
    if (o.natIdleTimeout !== undefined && !(typeof o.natIdleTimeout === 'number' && o.natIdleTimeout > 0)) {
      throw new RangeError('lwip-wasm: natIdleTimeout must be a positive number of ms');
    }
    if (o.capture !== undefined && typeof o.capture !== 'boolean' && typeof o.capture !== 'function') {
      throw new TypeError('lwip-wasm: capture must be true, false or (segment) => sink');
    }
    this.seed = o.seed ?? freshSeed();
    this.clock = o.clock ?? new VirtualClock();
    this.epoch = o.epoch ?? DEFAULT_EPOCH;
    this.#dns = o.dns !== false;
    this.#natIdle = o.natIdleTimeout ?? 30_000;
    this.#plan = makePlan(o.segments ?? {}, o.hosts, o.ipv6 === true);
    this.#timers = timerApi(this.clock, this.epoch);
    this.#releaseTime = useTimeScope();
    this.#table = new ConnTable((port, frame) => this.#toRules(port, frame), (conn) => {
      for (const t of this.#toxics) t._forget(conn);
    });
    for (const s of this.#plan.segments.values()) {
      let chunks: Uint8Array[] | undefined;
      let capture: PcapWriter | undefined;
      if (o.capture === true) {
        chunks = [];
        const c = chunks;
        capture = new PcapWriter((b) => void c.push(b), { clock: this.clock, epoch: this.epoch });
      } else if (typeof o.capture === 'function') {
        capture = new PcapWriter(o.capture(s.name), { clock: this.clock, epoch: this.epoch });
      }
      this.#segments.set(s.name, {
        plan: s, sw: createSwitch({ mtu: s.mtu }), chunks, ports: new Set(),
        wire: { name: s.name, capture, conditions: { ...s.conditions } },
      });
      if (s.nameServer) this.#owner.set(s.nameServer.v4, NS);
      if (s.nameServer?.v6) this.#owner.set(s.nameServer.v6, NS);
    }
    for (const h of this.#plan.hosts.values()) {
      for (const a of h.on) {
        this.#owner.set(a.v4, h.name);
        if (a.v6) this.#owner.set(a.v6, h.name);
      }
    }
  }

  /** @internal boots the name service and the hosts, in description order. */
  async _start(software: Record<string, Software>): Promise<void> {
    for (const name of Object.keys(software)) {
      if (!this.#plan.hosts.has(name)) throw new TypeError(`lwip-wasm: software for ${JSON.stringify(name)}, which is no host`);
      if (typeof software[name] !== 'function') throw new TypeError(`lwip-wasm: software.${name} must be a function`);
    }
    if (this.#dns) await this.#startNameService();
    const env = this.#hostEnv();
    for (const plan of this.#plan.hosts.values()) {
      // the name server on the first of its segments that has one
      const ns = plan.on.map((a) => this.#plan.segments.get(a.segment)!.nameServer).find((x) => x !== undefined);
      const dns = this.#dns && ns ? [ns.v4, ...(ns.v6 ? [ns.v6] : [])] : [];
      const host = new SimHost(plan, { ...env, dns });
      this.#hosts.set(plan.name, host);
      const sw = software[plan.name];
      if (sw) void host.run(sw);
      await host._boot();
    }
  }

  #hostEnv(): Omit<HostEnv, 'dns'> {
    return {
      clock: this.clock,
      seed: this.seed,
      segments: this.#plan.segments,
      natIdleTimeout: this.#natIdle,
      port: (host, segment) => this.#makePort(host, segment),
      onVirtualTime: (fn) => onVirtualTime(this.#timers, fn),
      failed: (host, error) => this.errors.push({ host, error }),
    };
  }

  #makePort(host: string, segment: string): HostPort {
    const s = this.#segments.get(segment)!;
    const id = this.#nextPort++;
    const port = new HostPort({ clock: this.clock, egress: (p, f) => this.#egress(p, f) }, host, s.wire, s.sw.port(), id, deriveSeed(this.seed, 8, id));
    s.ports.add(port);
    return port;
  }

  async #startNameService(): Promise<void> {
    const stack = await Stack.create({ clock: this.clock, seed: deriveSeed(this.seed, 1, 0, 0) });
    const on: Array<{ segment: string; v4: string; v6: string | undefined }> = [];
    let k = 0;
    for (const s of this.#segments.values()) {
      const ns = s.plan.nameServer;
      if (!ns) continue;
      const port = this.#makePort(NS, s.plan.name);
      const a = deriveSeed(this.seed, 5, 0, k++);
      stack.addInterface(port, {
        ip: `${ns.v4}/${s.plan.prefix}`,
        ...(ns.v6 ? { ipv6: `${ns.v6}/64` } : {}),
        mac: `02:00:${[a & 255, (a >>> 8) & 255, (a >>> 16) & 255, (a >>> 24) & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`,
        mtu: s.plan.mtu,
      });
      on.push({ segment: s.plan.name, v4: ns.v4, v6: ns.v6 });
    }
    const registry = (name: string): NameEntry | undefined => this.#plan.hosts.get(name);
    this.#ns = { stack, server: serveNames(stack, on, registry) };
  }

  // --- the frame path --------------------------------------------------------------------

  /** A frame a stack sent: faults apply once, at the port of the host it comes from. */
  #egress(port: HostPort, frame: Uint8Array): void {
    if (this.#closed) return;
    const v = viewFrame(frame);
    const owner = v.src === undefined ? undefined : this.#owner.get(v.src);
    if (owner !== undefined && owner !== port.host) {
      port.toWire(frame); // a router forwarding it: faults were applied where it started
      return;
    }
    if (v.tcp && v.src !== undefined && v.dst !== undefined && v.sport !== undefined && v.dport !== undefined) {
      const { conn, dir } = this.#table.track(v, frame, port);
      if (conn.cut) {
        this.#table.onCut(conn, dir, port, frame, v);
        return;
      }
      runToxics(this.#toxics, 0, conn, dir, port, frame, (p, f) => this.#toRules(p, f));
      return;
    }
    this.#toRules(port, frame);
  }

  #toRules(port: HostPort, frame: Uint8Array): void {
    this.#rules.apply(port, frame, undefined, (p, f) => p.toWire(f));
  }

  #ruleContext(): RuleContext {
    return {
      clock: this.clock,
      seed: this.seed,
      isHost: (n) => this.#plan.hosts.has(n),
      hostOf: (a) => (a === undefined ? undefined : this.#owner.get(a)),
      after: (rule, port, frame) => this.#rules.apply(port, frame, rule, (p, f) => p.toWire(f)),
    };
  }

  #toxicContext(): ToxicContext {
    return {
      clock: this.clock,
      seed: this.seed,
      table: this.#table,
      isHost: (n) => this.#plan.hosts.has(n),
      hostOf: (a) => (a === undefined ? undefined : this.#owner.get(a)),
      after: (t: Toxic, conn: Conn, dir: Dir, port: HostPort, frame: Uint8Array) => {
        if (conn.cut) return this.#table.onCut(conn, dir, port, frame, viewFrame(frame));
        runToxics(this.#toxics, this.#toxics.indexOf(t) + 1, conn, dir, port, frame, (p, f) => this.#toRules(p, f));
      },
    };
  }

  // --- hosts and segments ----------------------------------------------------------------

  /** A host by name; throws TypeError for a name the network does not have. */
  host(name: string): SimHost {
    const h = this.#hosts.get(name);
    if (!h) throw new TypeError(`lwip-wasm: no host ${JSON.stringify(name)} in this network (${[...this.#hosts.keys()].join(', ')})`);
    return h;
  }

  get hosts(): SimHost[] {
    return [...this.#hosts.values()];
  }

  segment(name: string): SimSegment {
    const s = this.#segments.get(name);
    if (!s) throw new TypeError(`lwip-wasm: no segment ${JSON.stringify(name)} in this network`);
    const wire = s.wire;
    return {
      name, subnet: s.plan.subnet, ipv6: s.plan.ipv6 === undefined ? undefined : `${s.plan.ipv6}::/64`, mtu: s.plan.mtu,
      nameServer: s.plan.nameServer?.v4,
      get conditions() {
        return { ...wire.conditions };
      },
      set: (changes: FaultConditions) => {
        const c = { ...changes } as Impairment;
        if ('partition' in c) throw new TypeError('lwip-wasm: a segment is cut with partition(), not set({ partition })');
        checkImpairment(c, SEGMENT_CONDITIONS);
        for (const p of s.ports) p.setConditions(c);
        Object.assign(wire.conditions, c);
      },
    };
  }

  get segments(): string[] {
    return [...this.#segments.keys()];
  }

  /** A host's address by name, without the network (as turmoil's lookup): IPv4 first. */
  lookup(name: string, family: 4 | 6 = 4): string {
    const h = this.#plan.hosts.get(name);
    if (!h) throw new TypeError(`lwip-wasm: no host ${JSON.stringify(name)} in this network`);
    const a = h.on.map((x) => (family === 4 ? x.v4 : x.v6)).find((x) => x !== undefined);
    if (a === undefined) throw new TypeError(`lwip-wasm: host ${name} has no IPv6 address`);
    return a;
  }

  /** The host that has this address, if any. */
  hostOf(address: string): string | undefined {
    const h = this.#owner.get(address);
    return h === NS ? undefined : h;
  }

  crash(name: string): void {
    this.host(name).crash();
  }

  restart(name: string): Promise<void> {
    return this.host(name).restart();
  }

  bounce(name: string): Promise<void> {
    return this.host(name).bounce();
  }

  // --- faults ----------------------------------------------------------------------------

  #add(kind: 'partition' | 'hold' | 'impair', filter: FlowFilter, conditions?: FaultConditions, pairKey?: string): Fault {
    if (this.#closed) throw new Error('lwip-wasm: the network is closed');
    const f = new Fault(this.#ruleContext(), this.#nextFault++, kind, filter, conditions);
    this.#rules.add(f);
    if (pairKey !== undefined) this.#pairs.set(f, pairKey);
    return f;
  }

  #pairFilter(a: Side, b: Side | undefined, o: PairOptions | undefined): { filter: FlowFilter; key: string } {
    if (o !== undefined && (typeof o !== 'object' || o === null)) throw new TypeError('lwip-wasm: options must be an object');
    const other = b ?? EVERYONE;
    const filter: FlowFilter = o?.oneWay ? { from: a, to: other } : { between: [a, other] };
    return { filter, key: JSON.stringify([a, b ?? null, o?.oneWay === true]) };
  }

  /**
   * Cuts a from b (both ways, or oneWay): frames between them are dropped from now,
   * ARP included. Without b, a is cut from everyone, the name service too. Sides are
   * hosts, addresses or networks, or arrays of them (a split: [a, b] from [c, d, e]).
   */
  partition(a: Side, b?: Side, options?: PairOptions): Fault {
    const { filter, key } = this.#pairFilter(a, b, options);
    return this.#add('partition', filter, undefined, key);
  }

  /**
   * Ends partitions: those made with the same arguments, or every one when called with
   * none. Returns how many ended.
   */
  repair(a?: Side, b?: Side, options?: PairOptions): number {
    return this.#endPairs('partition', a, b, options);
  }

  /** Holds frames between a and b (or from a to everyone) until release(); nothing is lost. */
  hold(a: Side, b?: Side, options?: PairOptions): Fault {
    const { filter, key } = this.#pairFilter(a, b, options);
    return this.#add('hold', filter, undefined, key);
  }

  /** Releases holds (those made with the same arguments, or all): held frames go on, in order. */
  release(a?: Side, b?: Side, options?: PairOptions): number {
    return this.#endPairs('hold', a, b, options);
  }

  #endPairs(kind: 'partition' | 'hold', a: Side | undefined, b: Side | undefined, o: PairOptions | undefined): number {
    const key = a === undefined ? undefined : this.#pairFilter(a, b, o).key;
    let n = 0;
    for (const f of [...this.#pairs.keys()]) {
      if (f.kind !== kind || !f.active || (key !== undefined && this.#pairs.get(f) !== key)) continue;
      this.#pairs.delete(f);
      f.release();
      n++;
    }
    return n;
  }

  /**
   * Impairs the frames a filter names (loss, delay, jitter, duplicate, reorder, corrupt,
   * rate...): each sending port gets its own seeded queue. Change it with set(), end it
   * with remove().
   */
  impair(filter: FlowFilter, conditions: FaultConditions): Fault {
    return this.#add('impair', filter, conditions);
  }

  /** Faults in force, in the order they apply. */
  get faults(): Fault[] {
    return this.#rules.list.filter((f) => f.active);
  }

  /**
   * A connection toxic (toxiproxy's) on the TCP connections a filter names: from and to
   * are the end that connects and the end it connects to. See ToxicOptions.
   */
  toxic(filter: FlowFilter, toxic: ToxicOptions): Toxic {
    if (this.#closed) throw new Error('lwip-wasm: the network is closed');
    const t = new Toxic(this.#toxicContext(), this.#nextFault++, filter, toxic);
    this.#toxics.push(t);
    return t;
  }

  get toxics(): Toxic[] {
    return this.#toxics.filter((t) => t.active);
  }

  /** TCP connections the network is following, and the segments it has made for toxics. */
  get tcp(): { connections: number; resets: number; closes: number; made: number } {
    return { connections: this.#table.size, ...this.#table.counters };
  }

  // --- time and capture ------------------------------------------------------------------

  /**
   * Runs fn on the network's clock: setTimeout, setInterval and Date follow it in fn and
   * in all fn starts (as in the hosts' software), and the clock is driven until fn's
   * promise settles. Resolves as fn does. options.timeLimit: virtual ms (default an hour).
   */
  async run<T>(fn: () => T | Promise<T>, options: { timeLimit?: number } = {}): Promise<T> {
    if (typeof fn !== 'function') throw new TypeError('lwip-wasm: run needs a function');
    const p = onVirtualTime(this.#timers, () => Promise.resolve().then(fn));
    p.catch(() => {}); // its rejection is runUntil's to report
    return (await this.clock.runUntil(p, options.timeLimit === undefined ? undefined : { timeLimit: options.timeLimit })) as T;
  }

  /** Lets ms of virtual time pass, frames flowing between timers. */
  advance(ms: number): Promise<void> {
    return this.clock.advanceAsync(ms);
  }

  /** A segment's capture so far, as a pcap file (capture: true). */
  pcap(segment: string): Uint8Array {
    const s = this.#segments.get(segment);
    if (!s) throw new TypeError(`lwip-wasm: no segment ${JSON.stringify(segment)} in this network`);
    if (!s.chunks) throw new TypeError('lwip-wasm: this network keeps no capture (createNetwork({ capture: true }))');
    const total = s.chunks.reduce((n, c) => n + c.byteLength, 0);
    const out = new Uint8Array(total);
    let off = 0;
    for (const c of s.chunks) {
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  /** Stops everything: every stack is disposed, every fault and timer ends. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#hosts.values()) h._close();
    this.#ns?.server.close();
    this.#ns?.stack.dispose();
    for (const f of this.#rules.list) f._close();
    for (const t of this.#toxics) t._close();
    this.#table.clear();
    for (const s of this.#segments.values()) s.sw.close();
    this.#releaseTime();
  }
}
