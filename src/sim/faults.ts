// Faults addressed by host pair or flow filter: a partition drops matching frames, a hold
// keeps them until released, an impairment passes them through its own loss, delay,
// duplication, reordering, corruption and rate limit. Rules apply in the order they were
// made, each to what the ones before it let through, once per frame: at the port of the
// host that sent it (a router forwarding it does not apply them again).
import { Pipeline, checkImpairment, KEYS, type Impairment, type ImpairmentCounters } from '../faults/impair.js';
import { seededRandom } from '../random.js';
import type { Clock } from '../clock.js';
import { compileFilter, type FlowFilter, type FrameMatch } from './filter.js';
import { viewFrame, type FrameView } from './frame.js';
import { deriveSeed } from './seed.js';
import type { HostPort } from './port.js';

export type FaultKind = 'partition' | 'hold' | 'impair';

/** Conditions of an impairment fault (impair()'s, without partition). */
export type FaultConditions = Omit<Impairment, 'partition'>;

export interface FaultCounters {
  /** Frames that matched. */
  matched: number;
  /** Dropped by a partition, or by the impairment (loss, full queue). */
  dropped: number;
  /** Held now (hold). */
  held: number;
  /** Handed on (after a hold's release, or out of the impairment, duplicates included). */
  passed: number;
}

/** What the rules need from the network. */
export interface RuleContext {
  readonly clock: Clock;
  readonly seed: number;
  isHost(name: string): boolean;
  hostOf(address: string | undefined): string | undefined;
  /** Where a frame goes after a rule let it through (the later rules, then the wire). */
  after(rule: Fault, port: HostPort, frame: Uint8Array): void;
}

const CONDITION_KEYS = new Set([...KEYS].filter((k) => k !== 'partition'));

/** One rule; made by the network's partition, hold and impair. */
export class Fault {
  readonly kind: FaultKind;
  readonly id: number;
  readonly filter: FlowFilter;
  readonly #match: FrameMatch;
  readonly #ctx: RuleContext;
  readonly #pipes = new Map<HostPort, Pipeline>();
  #conditions: FaultConditions = {};
  #held: Array<{ port: HostPort; frame: Uint8Array }> = [];
  #removed = false;
  readonly #counters = { matched: 0, dropped: 0, passed: 0 };

  /** @internal made by Network */
  constructor(ctx: RuleContext, id: number, kind: FaultKind, filter: FlowFilter, conditions?: FaultConditions) {
    this.#ctx = ctx;
    this.id = id;
    this.kind = kind;
    this.filter = filter;
    this.#match = compileFilter(filter, (n) => ctx.isHost(n));
    if (conditions !== undefined) this.#conditions = checkImpairment(conditions, CONDITION_KEYS) as FaultConditions;
  }

  get active(): boolean {
    return !this.#removed;
  }

  /** @internal */
  _matches(v: FrameView): boolean {
    return !this.#removed && this.#match(v, this.#ctx.hostOf(v.src), this.#ctx.hostOf(v.dst));
  }

  /** @internal nothing of this rule's is still on its way */
  get _idle(): boolean {
    for (const p of this.#pipes.values()) if (p.inFlight > 0) return false;
    return true;
  }

  /** @internal a matching frame from port: dropped, held, or passed through the conditions. */
  _take(port: HostPort, frame: Uint8Array): void {
    this.#counters.matched++;
    if (this.kind === 'partition') {
      this.#counters.dropped++;
    } else if (this.kind === 'hold') {
      this.#held.push({ port, frame });
    } else {
      this.#pipe(port).push([frame]);
    }
  }

  #pipe(port: HostPort): Pipeline {
    let p = this.#pipes.get(port);
    if (!p) {
      p = new Pipeline(this.#ctx.clock, seededRandom(deriveSeed(this.#ctx.seed, 2, this.id, port.id)), (frames) => {
        for (const f of frames) {
          this.#counters.passed++;
          this.#ctx.after(this, port, f);
        }
      });
      p.set(this.#conditions);
      this.#pipes.set(port, p);
    }
    return p;
  }

  /** Changes an impairment's conditions; fields not given keep their value. */
  set(changes: FaultConditions): void {
    if (this.kind !== 'impair') throw new TypeError(`lwip-wasm: set() is for impairments; this fault is a ${this.kind}`);
    checkImpairment(changes, CONDITION_KEYS);
    this.#conditions = { ...this.#conditions, ...changes };
    for (const p of this.#pipes.values()) p.set(changes);
  }

  get conditions(): FaultConditions {
    return { ...this.#conditions };
  }

  get counters(): FaultCounters {
    let dropped = this.#counters.dropped;
    for (const p of this.#pipes.values()) dropped += p.counters.lost + p.counters.queueDrops;
    return { matched: this.#counters.matched, dropped, held: this.#held.length, passed: this.#counters.passed };
  }

  /** What each port's impairment did (impair only), by the port's host and segment. */
  get portCounters(): Array<{ host: string; segment: string; counters: ImpairmentCounters }> {
    return [...this.#pipes].map(([port, p]) => ({ host: port.host, segment: port.segment.name, counters: { ...p.counters } }));
  }

  /**
   * A hold's frames go on, in the order they were held, and the hold ends. For a
   * partition or an impairment, the same as remove().
   */
  release(): void {
    const held = this.#held;
    this.#held = [];
    this.remove();
    for (const { port, frame } of held) {
      this.#counters.passed++;
      this.#ctx.after(this, port, frame);
    }
  }

  /**
   * Ends the fault: frames no longer meet it. A hold's frames are dropped (release()
   * delivers them); an impairment's delayed frames still arrive.
   */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#counters.dropped += this.#held.length;
    this.#held = [];
  }

  /** @internal the network is closing */
  _close(): void {
    for (const p of this.#pipes.values()) p.close();
    this.#held = [];
  }
}

/** The rules of one network, in order. */
export class RuleSet {
  readonly #rules: Fault[] = [];

  get list(): readonly Fault[] {
    return this.#rules;
  }

  /** Adds a rule last; ended rules with nothing left in flight are dropped from the list. */
  add(rule: Fault): void {
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      if (!this.#rules[i]!.active && this.#rules[i]!._idle) this.#rules.splice(i, 1);
    }
    this.#rules.push(rule);
  }

  /**
   * Runs frame (sent on port) through the rules after `after` (all of them when
   * undefined); calls out with it if every matching rule lets it through at once.
   */
  apply(port: HostPort, frame: Uint8Array, after: Fault | undefined, out: (port: HostPort, frame: Uint8Array) => void): void {
    const rules = this.#rules;
    // An ended rule keeps its place until its frames have all come out, so theirs go on
    // through the rules made after it.
    let i = after === undefined ? 0 : rules.indexOf(after) + 1;
    if (i < rules.length) {
      const v = viewFrame(frame);
      for (; i < rules.length; i++) {
        const r = rules[i]!;
        if (r._matches(v)) {
          r._take(port, frame);
          return;
        }
      }
    }
    out(port, frame);
  }
}
