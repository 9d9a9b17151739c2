// Network faults on demand: a Link wrapper that loses, duplicates, reorders, delays,
// rate-limits and corrupts frames, or cuts the link, as Linux's netem does. Every
// random choice comes from a seeded PRNG, so a failing run can be replayed, and the
// conditions can change at run time (cut a link mid-transfer, then heal it).
import type { Link, LinkReceiver } from '../transports/link.js';
import { realClock, type Clock, type ClockTimer } from '../clock.js';
import { seededRandom, freshSeed, type Random } from '../random.js';

/**
 * Gilbert–Elliott burst loss: a two-state Markov chain evaluated once per frame. In the
 * good state frames are lost with probability lossGood, in the bad state with lossBad.
 * The mean burst length is 1/r frames; the long-run share of time in the bad state is
 * p/(p+r).
 */
export interface GilbertElliott {
  /** Probability of moving from the good state to the bad state, per frame. */
  p: number;
  /** Probability of moving from the bad state back to the good state, per frame. */
  r: number;
  /** Loss probability in the good state (default 0). */
  lossGood?: number;
  /** Loss probability in the bad state (default 1). */
  lossBad?: number;
}

/** Conditions of one direction of a link. Everything defaults to a perfect link. */
export interface Impairment {
  /** Loss: a probability per frame (0.05 is 5%), or a Gilbert–Elliott burst model. */
  loss?: number | GilbertElliott;
  /** Probability per frame that it is delivered twice. */
  duplicate?: number;
  /**
   * Probability per frame that it is held back and delivered after the next
   * reorderGap frames (or 1 ms after its slot, if fewer follow).
   */
  reorder?: number;
  /** Frames that overtake a reordered frame (default 3). */
  reorderGap?: number;
  /** Fixed one-way delay in ms. */
  delay?: number;
  /**
   * Delay varies uniformly within ±jitter ms of delay (never below 0). Jitter keeps the
   * frames' order (a frame never overtakes an earlier one); use reorder to reorder.
   */
  jitter?: number;
  /** Bandwidth limit in bytes per second (0 or absent: unlimited). */
  rate?: number;
  /**
   * Bytes that may wait for the bandwidth limit; a frame that would exceed it is dropped
   * (tail drop, as at a router's queue). Default 1 MiB. Only used with rate.
   */
  queueLimit?: number;
  /** Probability per frame that one random bit of it is flipped. */
  corrupt?: number;
  /** Cut the link: every frame is dropped, including those already in flight. */
  partition?: boolean;
}

export interface ImpairOptions extends Impairment {
  /** Seed for every random choice (default: random; read it back from link.seed). */
  seed?: number;
  /** Clock for delays and the bandwidth limit (default: real time). Share the stacks' test clock. */
  clock?: Clock;
  /**
   * Which frames the conditions apply to, seen from the wrapped end: 'out' (sent by the
   * stack), 'in' (arriving for it) or 'both' (default). Each direction draws its own
   * random numbers and keeps its own queue.
   */
  direction?: 'both' | 'out' | 'in';
}

/** What one direction did to the frames offered to it. */
export interface ImpairmentCounters {
  /** Frames offered. */
  frames: number;
  /** Frames handed on (duplicates included). */
  delivered: number;
  /** Dropped by the loss model. */
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  /** Dropped because the bandwidth queue was full. */
  queueDrops: number;
  /** Dropped by a partition (offered while cut, or in flight when the cut came). */
  partitionDrops: number;
}

/** The condition fields (what set() takes). */
export const KEYS = new Set(['loss', 'duplicate', 'reorder', 'reorderGap', 'delay', 'jitter', 'rate',
  'queueLimit', 'corrupt', 'partition']);
const OPTION_KEYS = new Set([...KEYS, 'seed', 'clock', 'direction']);
const REORDER_WAIT_MS = 1;

function prob(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new RangeError(`lwip-wasm: ${name} must be a probability from 0 to 1, got ${String(v)}`);
  }
  return v;
}

function nonNegative(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) {
    throw new RangeError(`lwip-wasm: ${name} must be a finite number >= 0, got ${String(v)}`);
  }
  return v;
}

/** Validates a set of changes; throws TypeError/RangeError naming the bad field. */
export function checkImpairment(c: unknown, allowed: Set<string>): Impairment {
  if (typeof c !== 'object' || c === null) throw new TypeError('lwip-wasm: impairment must be an object');
  for (const k of Object.keys(c)) {
    if (!allowed.has(k)) throw new TypeError(`lwip-wasm: unknown impairment option ${JSON.stringify(k)}`);
  }
  const x = c as Impairment;
  if (x.loss !== undefined) {
    if (typeof x.loss === 'number') prob(x.loss, 'loss');
    else if (typeof x.loss === 'object' && x.loss !== null) {
      prob(x.loss.p, 'loss.p');
      prob(x.loss.r, 'loss.r');
      if (x.loss.lossGood !== undefined) prob(x.loss.lossGood, 'loss.lossGood');
      if (x.loss.lossBad !== undefined) prob(x.loss.lossBad, 'loss.lossBad');
    } else throw new TypeError('lwip-wasm: loss must be a probability or { p, r, lossGood?, lossBad? }');
  }
  if (x.duplicate !== undefined) prob(x.duplicate, 'duplicate');
  if (x.reorder !== undefined) prob(x.reorder, 'reorder');
  if (x.corrupt !== undefined) prob(x.corrupt, 'corrupt');
  if (x.delay !== undefined) nonNegative(x.delay, 'delay');
  if (x.jitter !== undefined) nonNegative(x.jitter, 'jitter');
  if (x.rate !== undefined) nonNegative(x.rate, 'rate');
  if (x.queueLimit !== undefined && (nonNegative(x.queueLimit, 'queueLimit') < 1)) {
    throw new RangeError('lwip-wasm: queueLimit must be at least 1 byte');
  }
  if (x.reorderGap !== undefined && (!Number.isInteger(x.reorderGap) || x.reorderGap < 1)) {
    throw new RangeError(`lwip-wasm: reorderGap must be an integer >= 1, got ${String(x.reorderGap)}`);
  }
  if (x.partition !== undefined && typeof x.partition !== 'boolean') {
    throw new TypeError('lwip-wasm: partition must be true or false');
  }
  return x;
}

interface Hold {
  frame: Uint8Array;
  gap: number;
  deadline: number;
}

/**
 * One direction: frames go in through push() and come out, possibly later, through emit.
 * Also the simulator's building block (src/sim/): one per fault and sending port.
 */
export class Pipeline {
  readonly counters: ImpairmentCounters = {
    frames: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, corrupted: 0, queueDrops: 0, partitionDrops: 0,
  };
  c: Impairment = {};
  readonly #clock: Clock;
  readonly #rng: Random;
  readonly #emit: (frames: Uint8Array[]) => void;
  #bad = false; // Gilbert–Elliott state
  #queue: Array<{ at: number; frame: Uint8Array }> = [];
  #head = 0;
  #holds: Hold[] = [];
  #nextFree = -Infinity;
  #lastAt = -Infinity;
  #timer: ClockTimer | undefined;
  #timerAt = Infinity;
  #closed = false;

  constructor(clock: Clock, rng: Random, emit: (frames: Uint8Array[]) => void) {
    this.#clock = clock;
    this.#rng = rng;
    this.#emit = emit;
  }

  set(changes: Impairment): void {
    const lossBefore = this.c.loss;
    this.c = { ...this.c, ...changes };
    if (typeof this.c.loss !== 'object' || typeof lossBefore !== 'object') this.#bad = false;
    if (changes.partition === true) this.#cut();
    if (!this.c.rate) this.#nextFree = -Infinity;
    this.#arm();
  }

  get inFlight(): number {
    return this.#queue.length - this.#head + this.#holds.length;
  }

  push(frames: readonly Uint8Array[]): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const out: Uint8Array[] = [];
    for (const f of frames) this.#one(f, now, out);
    if (out.length > 0) this.#emit(out);
    this.#arm();
  }

  #lost(): boolean {
    const loss = this.c.loss;
    if (loss === undefined || loss === 0) return false;
    const rng = this.#rng;
    if (typeof loss === 'number') return rng.next() < loss;
    const lost = rng.next() < (this.#bad ? loss.lossBad ?? 1 : loss.lossGood ?? 0);
    if (this.#bad ? rng.next() < loss.r : rng.next() < loss.p) this.#bad = !this.#bad;
    return lost;
  }

  #one(frame: Uint8Array, now: number, out: Uint8Array[]): void {
    const c = this.c;
    this.counters.frames++;
    if (c.partition) {
      this.counters.partitionDrops++;
      return;
    }
    if (this.#lost()) {
      this.counters.lost++;
      return;
    }
    const copies = c.duplicate && this.#rng.next() < c.duplicate ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let i = 0; i < copies; i++) {
      let f = i === 0 ? frame : frame.slice();
      if (c.corrupt && f.byteLength > 0 && this.#rng.next() < c.corrupt) {
        f = f.slice(); // never touch the sender's bytes
        const bit = this.#rng.below(f.byteLength * 8);
        f[bit >>> 3]! ^= 1 << (bit & 7);
        this.counters.corrupted++;
      }
      this.#schedule(f, now, out);
    }
  }

  #schedule(frame: Uint8Array, now: number, out: Uint8Array[]): void {
    const c = this.c;
    let at = now;
    if (c.rate) {
      const start = Math.max(now, this.#nextFree);
      const backlog = ((start - now) * c.rate) / 1000;
      if (backlog + frame.byteLength > (c.queueLimit ?? 1024 * 1024)) {
        this.counters.queueDrops++;
        return;
      }
      this.#nextFree = start + (frame.byteLength * 1000) / c.rate;
      at = this.#nextFree;
    }
    if (c.delay || c.jitter) {
      const j = c.jitter ? (this.#rng.next() * 2 - 1) * c.jitter : 0;
      at += Math.max(0, (c.delay ?? 0) + j);
    }
    if (at < this.#lastAt) at = this.#lastAt; // jitter never reorders
    this.#lastAt = at;
    if (c.reorder && this.#rng.next() < c.reorder) {
      this.counters.reordered++;
      this.#holds.push({ frame, gap: c.reorderGap ?? 3, deadline: at + REORDER_WAIT_MS });
      return;
    }
    if (at <= now && this.#head === this.#queue.length) this.#release(frame, out);
    else this.#queue.push({ at, frame });
  }

  /** Hands one frame on; held frames it overtakes count down, and follow when due. */
  #release(frame: Uint8Array, out: Uint8Array[]): void {
    out.push(frame);
    this.counters.delivered++;
    if (this.#holds.length === 0) return;
    let kept = 0;
    for (const h of this.#holds) {
      if (--h.gap <= 0) {
        out.push(h.frame);
        this.counters.delivered++;
      } else {
        this.#holds[kept++] = h;
      }
    }
    this.#holds.length = kept;
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#closed) return;
    const now = this.#clock.now();
    const out: Uint8Array[] = [];
    const q = this.#queue;
    while (this.#head < q.length && q[this.#head]!.at <= now) {
      const { frame } = q[this.#head]!;
      q[this.#head++] = undefined as never; // let the frame go
      this.#release(frame, out);
    }
    if (this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (this.#holds.length > 0) {
      const due = this.#holds.filter((h) => h.deadline <= now);
      if (due.length > 0) {
        this.#holds = this.#holds.filter((h) => h.deadline > now);
        for (const h of due) {
          out.push(h.frame);
          this.counters.delivered++;
        }
      }
    }
    if (out.length > 0) this.#emit(out);
    this.#arm();
  }

  /** Keeps one timer armed for the earliest frame due. */
  #arm(): void {
    if (this.#closed) return;
    let next = this.#head < this.#queue.length ? this.#queue[this.#head]!.at : Infinity;
    for (const h of this.#holds) if (h.deadline < next) next = h.deadline;
    if (next === this.#timerAt) return;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = this.#clock.setTimer(() => this.#onTimer(), Math.max(0, next - this.#clock.now()));
    this.#timer.unref?.(); // frames in flight alone do not keep a process alive
  }

  /** A partition: what was on the wire is lost too. */
  #cut(): void {
    this.counters.partitionDrops += this.inFlight;
    this.#queue = [];
    this.#head = 0;
    this.#holds = [];
    this.#nextFree = -Infinity;
  }

  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#queue = [];
    this.#holds = [];
  }
}

/** A link with faults applied; see impair(). */
export class ImpairedLink implements Link {
  /** The wrapped link. */
  readonly inner: Link;
  /** The seed every random choice came from (pass it back to replay a run). */
  readonly seed: number;
  readonly direction: 'both' | 'out' | 'in';
  readonly #out: Pipeline;
  readonly #in: Pipeline;
  #receiver: LinkReceiver | undefined;
  #innerBlocked = false;

  constructor(inner: Link, options: ImpairOptions = {}) {
    if (!inner || typeof inner.send !== 'function' || typeof inner.attach !== 'function') {
      throw new TypeError('lwip-wasm: impair needs a Link to wrap');
    }
    const opts = checkImpairment(options, OPTION_KEYS) as ImpairOptions;
    const direction = opts.direction ?? 'both';
    if (direction !== 'both' && direction !== 'out' && direction !== 'in') {
      throw new TypeError(`lwip-wasm: direction must be 'both', 'out' or 'in', got ${String(direction)}`);
    }
    if (opts.seed !== undefined && (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff)) {
      throw new RangeError(`lwip-wasm: seed must be an integer from 0 to 2^32-1, got ${String(opts.seed)}`);
    }
    const clock = opts.clock ?? realClock;
    if (typeof clock.now !== 'function' || typeof clock.setTimer !== 'function') {
      throw new TypeError('lwip-wasm: clock must have now() and setTimer(fn, ms)');
    }
    this.inner = inner;
    this.direction = direction;
    this.seed = opts.seed ?? freshSeed();
    this.#out = new Pipeline(clock, seededRandom(this.seed), (frames) => {
      for (const f of frames) if (!inner.send(f)) this.#innerBlocked = true;
    });
    this.#in = new Pipeline(clock, seededRandom(this.seed ^ 0x5bd1e995), (frames) => {
      this.#receiver?.onFrames(frames);
    });
    const { seed: _s, clock: _c, direction: _d, ...conditions } = opts;
    this.set(conditions);
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  /** Changes the conditions at run time; fields not given keep their current value. */
  set(changes: Impairment): void {
    checkImpairment(changes, KEYS);
    if (this.direction !== 'in') this.#out.set(changes);
    if (this.direction !== 'out') this.#in.set(changes);
  }

  /** Back to a perfect link (frames already delayed still arrive). */
  reset(): void {
    const perfect: Impairment = {
      loss: 0, duplicate: 0, reorder: 0, delay: 0, jitter: 0, rate: 0, corrupt: 0, partition: false,
    };
    this.set(perfect);
  }

  /** The current conditions (of the 'out' direction when both are impaired). */
  get conditions(): Impairment {
    return { ...(this.direction === 'in' ? this.#in.c : this.#out.c) };
  }

  /** What each direction did: out = sent by the stack, in = arriving for it. */
  get counters(): { out: ImpairmentCounters; in: ImpairmentCounters } {
    return { out: { ...this.#out.counters }, in: { ...this.#in.counters } };
  }

  /** Frames delayed or held back and not yet delivered, both directions. */
  get inFlight(): number {
    return this.#out.inFlight + this.#in.inFlight;
  }

  attach(receiver: LinkReceiver): void {
    if (this.#receiver) throw new Error('lwip-wasm: this link is already attached to a stack');
    this.#receiver = receiver;
    this.inner.attach({
      onFrames: (frames) => {
        if (this.direction === 'out') receiver.onFrames(frames);
        else this.#in.push(frames);
      },
      onDrain: () => {
        this.#innerBlocked = false;
        receiver.onDrain();
      },
      onClose: (err) => {
        this.#out.close();
        this.#in.close();
        receiver.onClose(err);
      },
    });
  }

  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('lwip-wasm: a frame must be a Uint8Array');
    if (this.direction === 'in') {
      if (!this.inner.send(frame)) this.#innerBlocked = true;
    } else {
      this.#out.push([frame]);
    }
    return !this.#innerBlocked;
  }

  close(): void {
    this.#out.close();
    this.#in.close();
    this.inner.close();
  }
}

/**
 * Wraps a link so that frames through it meet the given conditions. Attach the result
 * to a stack instead of the link itself; change the conditions later with set().
 */
export function impair(link: Link, options: ImpairOptions = {}): ImpairedLink {
  return new ImpairedLink(link, options);
}
