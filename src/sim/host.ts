// A host of a simulated network: a stack (lwip-wasm/node's, so it has net and dgram),
// its interfaces on the segments the description names, its routes, and the software
// it runs. The software is a function run at every boot, on the network's virtual
// timers; a crash takes the stack away
// at once (its connections vanish: no FIN, no RST) and a restart boots a fresh one with
// the same addresses and MACs; a process bounce closes the software's sockets (as the
// kernel closes a dead process's) and runs it again on the same stack.
import { Stack as NodeStack } from '../node.js';
import type { NetInterface } from '../interface.js';
import { impair, type ImpairedLink, type Impairment, type ImpairmentCounters } from '../faults/impair.js';
import type { LookupFunction } from '../adapters/net-socket.js';
import type { Clock } from '../clock.js';
import type { HostPlan, SegmentPlan } from './plan.js';
import type { HostPort } from './port.js';
import { NatRouter } from './nat.js';
import { deriveSeed } from './seed.js';

/** The software a host runs: called at every boot with the host; may return a promise. */
export type Software = (host: SimHost) => unknown;

/** Why a host's software was stopped (its signal's reason). */
export class HostDownError extends Error {
  readonly code: 'EHOSTDOWN' | 'EKILLED';
  constructor(code: 'EHOSTDOWN' | 'EKILLED', host: string) {
    super(code === 'EHOSTDOWN' ? `lwip-wasm: host ${host} crashed` : `lwip-wasm: the software of host ${host} was killed`);
    this.name = 'HostDownError';
    this.code = code;
  }
}

/** What a host needs from its network. */
export interface HostEnv {
  readonly clock: Clock;
  readonly seed: number;
  readonly segments: ReadonlyMap<string, SegmentPlan>;
  /** DNS servers for the host (the name service's addresses on its first segment). */
  readonly dns: string[];
  readonly natIdleTimeout: number;
  /** A fresh port for host on segment (a boot's). */
  port(host: string, segment: string): HostPort;
  /** The software failed (not because its host went down). */
  failed(host: string, error: unknown): void;
  /** Runs fn with the network's virtual timers (setTimeout, setInterval, Date). */
  onVirtualTime<T>(fn: () => T): T;
}

/** The conditions of one host's attachment to one segment, both directions. */
export interface AttachmentControl {
  /** Changes the conditions (impair()'s fields); they last across restarts. */
  set(changes: Impairment): void;
  /** Back to a perfect attachment. */
  reset(): void;
  readonly conditions: Impairment;
  /** This boot's counters: out = sent by the host, in = arriving for it. */
  readonly counters: { out: ImpairmentCounters; in: ImpairmentCounters };
}

const PERFECT: Impairment = { loss: 0, duplicate: 0, reorder: 0, delay: 0, jitter: 0, rate: 0, corrupt: 0, partition: false };

export class SimHost {
  readonly name: string;
  readonly #plan: HostPlan;
  readonly #env: HostEnv;
  #stack: NodeStack | undefined;
  #ports: HostPort[] = [];
  #links = new Map<string, ImpairedLink>();
  readonly #conditions = new Map<string, Impairment>();
  #software: Software | undefined;
  #process: AbortController | undefined;
  #nat: NatRouter | undefined;
  #boots = 0;
  #booting: Promise<void> | undefined;

  /** @internal made by the network */
  constructor(plan: HostPlan, env: HostEnv) {
    this.name = plan.name;
    this.#plan = plan;
    this.#env = env;
  }

  /** The host's stack; throws while the host is down. */
  get stack(): NodeStack {
    if (!this.#stack) throw new Error(`lwip-wasm: host ${this.name} is down`);
    return this.#stack;
  }

  get up(): boolean {
    return this.#stack !== undefined;
  }

  /** Times the host has booted (1 after the network is made). */
  get boots(): number {
    return this.#boots;
  }

  /** Its IPv4 address on its first segment. */
  get address(): string {
    return this.#plan.on[0]!.v4;
  }

  /** Every address, IPv4 then IPv6 per segment in interface order. */
  get addresses(): string[] {
    return this.#plan.on.flatMap((a) => (a.v6 === undefined ? [a.v4] : [a.v4, a.v6]));
  }

  /** Its address on a segment (family 6 for IPv6). */
  addressOn(segment: string, family: 4 | 6 = 4): string {
    const a = this.#plan.on.find((x) => x.segment === segment);
    if (!a) throw new TypeError(`lwip-wasm: host ${this.name} is not on segment ${JSON.stringify(segment)}`);
    const address = family === 4 ? a.v4 : a.v6;
    if (address === undefined) throw new TypeError(`lwip-wasm: segment ${segment} has no IPv6`);
    return address;
  }

  /** The segments it is on, in interface order. */
  get segments(): string[] {
    return this.#plan.on.map((a) => a.segment);
  }

  get isRouter(): boolean {
    return this.#plan.router;
  }

  get natInside(): string[] {
    return [...this.#plan.nat];
  }

  /** Aborted when the software stops (a crash, or a process bounce). */
  get signal(): AbortSignal {
    return (this.#process ??= new AbortController()).signal;
  }

  /**
   * dns.lookup over the host's own resolver (its stack's DNS, asking the network's name
   * service), bound to the host so it outlives a reboot: for libraries that take a lookup
   * function. node:net on a host's stack resolves names this way by itself.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    let stack: NodeStack;
    try {
      stack = this.stack;
    } catch (err) {
      process.nextTick(() => callback(Object.assign(err as Error, { code: 'EHOSTDOWN' }), '', 0));
      return;
    }
    stack.dns.lookup(hostname, options as never, callback as never);
  };

  /** The conditions of its attachment to a segment (both directions). */
  link(segment: string): AttachmentControl {
    if (!this.segments.includes(segment)) throw new TypeError(`lwip-wasm: host ${this.name} is not on segment ${JSON.stringify(segment)}`);
    const host = this;
    return {
      set(changes: Impairment) {
        const merged = { ...(host.#conditions.get(segment) ?? {}), ...changes };
        host.#links.get(segment)?.set(changes);
        host.#conditions.set(segment, merged);
      },
      reset() {
        this.set(PERFECT);
      },
      get conditions() {
        return { ...(host.#conditions.get(segment) ?? {}) };
      },
      get counters() {
        const l = host.#links.get(segment);
        const zero: ImpairmentCounters = { frames: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, queueDrops: 0, partitionDrops: 0 };
        return l ? l.counters : { out: { ...zero }, in: { ...zero } };
      },
    };
  }

  /** The NAT router's counters (NAT routers only). */
  get nat(): NatRouter | undefined {
    return this.#nat;
  }

  /**
   * Sets the software and starts it now (stopping what ran before, as restartProcess),
   * and at every boot from now on. Resolves once it has started.
   */
  run(software: Software): Promise<void> {
    if (typeof software !== 'function') throw new TypeError('lwip-wasm: software must be a function (host) => ...');
    this.#software = software;
    if (this.#stack) {
      if (this.#process && !this.#process.signal.aborted) this.kill();
      this.#start();
    }
    return Promise.resolve();
  }

  #start(): void {
    const software = this.#software;
    if (!software || !this.#stack) return;
    const proc = new AbortController();
    this.#process = proc;
    void this.#env.onVirtualTime(() => Promise.resolve().then(() => software(this))).catch((err: unknown) => {
      if (!proc.signal.aborted) this.#env.failed(this.name, err);
    });
  }

  /** @internal boots a fresh stack; the network calls it once, restart() after a crash. */
  async _boot(): Promise<void> {
    if (this.#stack) return;
    if (this.#booting) return this.#booting;
    this.#booting = this.#bootOnce().finally(() => {
      this.#booting = undefined;
    });
    return this.#booting;
  }

  async #bootOnce(): Promise<void> {
    const env = this.#env;
    const plan = this.#plan;
    const boot = this.#boots;
    const stack = await NodeStack.create({ ...plan.stack, clock: env.clock, seed: deriveSeed(env.seed, 1, plan.index, boot), dns: env.dns });
    try {
      const ifaces: NetInterface[] = [];
      this.#ports = [];
      this.#links = new Map();
      plan.on.forEach((a, k) => {
        const seg = env.segments.get(a.segment)!;
        const port = env.port(this.name, a.segment);
        this.#ports.push(port);
        const link = impair(port, { clock: env.clock, seed: deriveSeed(env.seed, 6, plan.index, k, boot) });
        const c = this.#conditions.get(a.segment);
        if (c) link.set(c);
        this.#links.set(a.segment, link);
        ifaces.push(stack.addInterface(link, {
          ip: `${a.v4}/${seg.prefix}`,
          ...(a.v6 !== undefined ? { ipv6: `${a.v6}/64` } : {}),
          mac: macFor(env.seed, plan.index, k),
          mtu: seg.mtu,
        }));
      });
      for (const r of plan.routes) stack.addRoute(r);
      if (plan.router) stack.setForwarding(true);
      if (plan.nat.length > 0) {
        const inside = ifaces.filter((_, k) => plan.nat.includes(plan.on[k]!.segment));
        this.#nat = new NatRouter(stack, inside, env.clock, env.natIdleTimeout);
      }
    } catch (err) {
      stack.dispose();
      throw err;
    }
    this.#stack = stack;
    this.#boots++;
    this.#start();
  }

  /**
   * Crashes the host: the software is stopped, the stack is gone at once, and every
   * connection it had vanishes without a FIN or RST (its peers find out by timing out,
   * or by an RST from the rebooted host). Frames on their way to it are lost.
   */
  crash(): void {
    if (!this.#stack) return;
    this.#process?.abort(new HostDownError('EHOSTDOWN', this.name));
    for (const p of this.#ports) p.down();
    this.#nat?.close();
    this.#nat = undefined;
    const stack = this.#stack;
    this.#stack = undefined;
    stack.dispose();
  }

  /** Boots a crashed host again: a fresh stack, same addresses and MACs, software run again. */
  async restart(): Promise<void> {
    if (this.#stack) throw new Error(`lwip-wasm: host ${this.name} is up; crash() it first, or bounce() it`);
    await this._boot();
  }

  /** crash() then restart(). */
  async bounce(): Promise<void> {
    this.crash();
    await this.restart();
  }

  /**
   * Kills the software as a process dies: its signal aborts and every socket it had is
   * closed by "the kernel" (a FIN, or an RST where data was unread). The stack stays.
   */
  kill(): void {
    const stack = this.#stack;
    if (!stack) return;
    this.#process?.abort(new HostDownError('EKILLED', this.name));
    for (const s of stack.sockets) {
      if (!s.closed && !this.#nat?.owns(s)) s.close();
    }
  }

  /** kill() then run the software again on the same stack. */
  async restartProcess(): Promise<void> {
    this.kill();
    this.#start();
  }

  /** @internal the network is closing */
  _close(): void {
    this.#process?.abort(new HostDownError('EHOSTDOWN', this.name));
    this.#nat?.close();
    this.#stack?.dispose();
    this.#stack = undefined;
  }
}

/** A host interface's MAC: fixed by the seed, so a rebooted host keeps it. */
function macFor(seed: number, host: number, k: number): string {
  const a = deriveSeed(seed, 5, host, k);
  const b = deriveSeed(seed, 7, host, k);
  const bytes = [0x02, a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, b & 0xff, (b >>> 8) & 0xff];
  return bytes.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
