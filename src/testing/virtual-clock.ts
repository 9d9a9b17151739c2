// A test clock: virtual time that moves only when the test moves it. Give the same
// VirtualClock to Stack.create (and to impair()) for a group of stacks, and TCP's
// retransmissions, TIME_WAIT, keepalive, connect limits and every async timeout run as
// fast as the CPU allows, in a deterministic order.
//
// Links deliver frames in a macrotask, so time must not jump while frames are still on
// their way: the async drivers (runUntil, advanceAsync, runUntilIdle) first let the
// event loop run until the stacks are quiet, and only then jump to the next timer. The
// stacks read the clock whenever they do anything, so "quiet" is "nobody read the clock
// for two macrotasks in a row".
import type { Clock, ClockTimer } from '../clock.js';

export interface VirtualClockOptions {
  /** The clock's starting time in ms (default 0). */
  start?: number;
}

export interface RunOptions {
  /**
   * Most virtual ms the driver may move the clock before giving up. runUntil rejects
   * with a RangeError at the limit; runUntilIdle stops there. Default: one hour.
   */
  timeLimit?: number;
}

class VirtualTimer implements ClockTimer {
  cleared = false;
  referenced = true;
  constructor(readonly at: number, readonly seq: number, readonly fn: () => void, readonly owner: VirtualClock) {}
  clear(): void {
    if (!this.cleared) {
      this.cleared = true;
      this.owner._forget(this);
    }
  }
  ref(): void {
    this.referenced = true;
  }
  unref(): void {
    this.referenced = false;
  }
}

type Task = () => void;
const setImmediateFn = (globalThis as { setImmediate?: (fn: Task) => unknown }).setImmediate;

/** One macrotask: setImmediate in Node, a MessageChannel task in browsers (as links use). */
function macrotask(): Promise<void> {
  if (setImmediateFn) return new Promise((r) => setImmediateFn(r));
  return new Promise((r) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      r();
    };
    ch.port2.postMessage(0);
  });
}

const HOUR = 3_600_000;

function checkMs(ms: unknown, name: string): number {
  if (typeof ms !== 'number' || !(ms >= 0) || !Number.isFinite(ms)) {
    throw new RangeError(`lwip-wasm: ${name} must be a finite number of ms >= 0, got ${String(ms)}`);
  }
  return ms;
}

function timeLimitOf(opts: RunOptions | undefined): number {
  if (opts === undefined) return HOUR;
  if (typeof opts !== 'object' || opts === null) throw new TypeError('lwip-wasm: options must be an object');
  return opts.timeLimit === undefined ? HOUR : checkMs(opts.timeLimit, 'timeLimit');
}

/**
 * Virtual time for one stack or a group. Nothing timed happens until the test calls
 * advance(), advanceAsync(), runUntil() or runUntilIdle(); real time plays no part.
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  /** Binary min-heap on (at, seq), so timers due together fire in the order they were set. */
  #heap: VirtualTimer[] = [];
  #live = 0;
  /** Bumped on every read of the clock: the sign that some stack is busy. */
  #activity = 0;
  #running = false;

  constructor(options: VirtualClockOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    this.#now = options.start === undefined ? 0 : checkMs(options.start, 'start');
  }

  now(): number {
    this.#activity++;
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): ClockTimer {
    if (typeof fn !== 'function') throw new TypeError('lwip-wasm: setTimer needs a function');
    this.#activity++;
    const delay = typeof ms === 'number' && ms > 0 ? ms : 0;
    const t = new VirtualTimer(this.#now + delay, this.#seq++, fn, this);
    this.#push(t);
    this.#live++;
    return t;
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#live;
  }

  /** When the next timer is due, or undefined if none is set. */
  get nextTimerAt(): number | undefined {
    return this.#peek()?.at;
  }

  /**
   * Moves time forward by ms at once, firing each timer due on the way in order, with the
   * clock set to that timer's time. Frames the timers send are delivered only when the
   * event loop turns afterwards; use advanceAsync to let them flow between timers.
   */
  advance(ms: number): void {
    const target = this.#now + checkMs(ms, 'advance');
    for (;;) {
      const t = this.#peek();
      if (!t || t.at > target) break;
      this.#fire(t);
    }
    this.#now = target;
  }

  /**
   * Moves time forward by ms, letting the stacks exchange frames until they are quiet
   * before each jump to the next timer.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + checkMs(ms, 'advanceAsync');
    await this.#drive(() => false, target, false);
    this.#now = Math.max(this.#now, target);
    await this.settle();
  }

  /**
   * Drives virtual time until the promise settles (or the predicate returns true), and
   * resolves as it does. Time jumps to the next timer only when the stacks are quiet.
   * Rejects with a RangeError if timeLimit virtual ms pass first, or if nothing is left
   * to happen (no timer set) while the promise is still pending.
   */
  async runUntil<T>(until: Promise<T> | (() => boolean), options?: RunOptions): Promise<T | undefined> {
    const limit = timeLimitOf(options);
    let done: () => boolean;
    let promise: Promise<T> | undefined;
    if (typeof until === 'function') {
      done = until;
    } else if (until && typeof (until as Promise<T>).then === 'function') {
      let settled = false;
      promise = Promise.resolve(until);
      promise.then(() => (settled = true), () => (settled = true));
      done = () => settled;
    } else {
      throw new TypeError('lwip-wasm: runUntil needs a promise or a function returning a boolean');
    }
    const start = this.#now;
    const reached = await this.#drive(done, start + limit, true);
    if (!reached) {
      if (this.#peek() === undefined) {
        throw new RangeError('lwip-wasm: runUntil: nothing is scheduled on the virtual clock, and the awaited work is still pending');
      }
      throw new RangeError(`lwip-wasm: runUntil: still pending after ${limit} ms of virtual time`);
    }
    return promise ? await promise : undefined;
  }

  /**
   * Runs timers until none that keeps work alive is left (timers that were unref()'d,
   * such as an idle stack's housekeeping, do not count), or until timeLimit virtual ms
   * have passed. Open sockets keep lwIP's timers referenced, so with open connections
   * this runs to the limit. Resolves with the virtual ms that passed.
   */
  async runUntilIdle(options?: RunOptions): Promise<number> {
    const limit = timeLimitOf(options);
    const start = this.#now;
    await this.#drive(() => !this.#hasReferenced(), start + limit, false);
    return this.#now - start;
  }

  /** Lets the event loop run until the stacks are quiet, without moving time. */
  async settle(): Promise<void> {
    let quiet = 0;
    let seen = this.#activity;
    while (quiet < 2) {
      await macrotask();
      if (this.#activity === seen) quiet++;
      else {
        quiet = 0;
        seen = this.#activity;
      }
    }
  }

  /**
   * The driver: settle, stop if done, jump to the next timer (up to target), fire every
   * timer due at that instant, repeat. Returns whether done() became true.
   */
  async #drive(done: () => boolean, target: number, stopWhenEmpty: boolean): Promise<boolean> {
    if (this.#running) throw new Error('lwip-wasm: this VirtualClock is already being driven');
    this.#running = true;
    try {
      for (;;) {
        await this.settle();
        if (done()) return true;
        const t = this.#peek();
        if (!t) {
          if (stopWhenEmpty) return false;
          return done();
        }
        if (t.at > target) return false;
        const at = t.at;
        while (this.#peek()?.at === at) this.#fire(this.#peek()!);
      }
    } finally {
      this.#running = false;
    }
  }

  #hasReferenced(): boolean {
    for (const t of this.#heap) if (!t.cleared && t.referenced) return true;
    return false;
  }

  #fire(t: VirtualTimer): void {
    this.#pop();
    this.#live--;
    t.cleared = true;
    if (t.at > this.#now) this.#now = t.at;
    t.fn();
  }

  /** @internal a cleared timer; it is dropped from the heap when it reaches the top. */
  _forget(_t: VirtualTimer): void {
    this.#live--;
    // Stacks re-arm often; rebuild now and then so cleared timers cannot pile up.
    if (this.#heap.length > 1024 && this.#heap.length > 4 * this.#live) {
      const keep = this.#heap.filter((t) => !t.cleared);
      this.#heap = [];
      for (const t of keep) this.#push(t);
    }
  }

  #peek(): VirtualTimer | undefined {
    const h = this.#heap;
    while (h.length > 0 && h[0]!.cleared) this.#pop();
    return h[0];
  }

  #push(t: VirtualTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): VirtualTimer | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
