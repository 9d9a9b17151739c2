// The code under test on a VirtualClock: while installed, the global setTimeout,
// setInterval, their clear functions and Date (Date.now() and new Date()) run on the
// clock, so the application's own timers, retries and timestamps move with the
// simulated network's time instead of the wall clock's. Timers made before install, and
// handles that are not the clock's, still go to the real functions, so a test runner's
// own timers keep working. The package's own machinery never reads these globals after
// it has loaded (links and the clock's driver keep the real ones).
import type { ClockTimer } from '../clock.js';
import type { VirtualClock } from './virtual-clock.js';

export interface VirtualTimersOptions {
  /**
   * Wall-clock ms since 1970 that the clock's current time maps to, for Date (default:
   * 2000-01-01T00:00:00Z, so runs replay; pass Date.now() for today).
   */
  epoch?: number;
  /** Also replace Date (default true). */
  date?: boolean;
}

/** An installation; uninstall() puts the real functions back. */
export interface VirtualTimers {
  uninstall(): void;
  /** Timers of the code under test not yet fired or cleared. */
  readonly pending: number;
}

/** 2000-01-01T00:00:00Z: the default epoch, fixed so a run's dates replay. */
export const DEFAULT_EPOCH = 946_684_800_000;

type Callback = (...args: unknown[]) => void;

/** What setTimeout returns while installed: Node's Timeout, in the parts code uses. */
export class VirtualTimeout {
  #timer: ClockTimer | undefined;
  #ref = true;
  readonly #id: number;
  readonly #arm: (t: VirtualTimeout) => ClockTimer;
  readonly #live: Set<VirtualTimeout>;

  constructor(id: number, live: Set<VirtualTimeout>, arm: (t: VirtualTimeout) => ClockTimer) {
    this.#id = id;
    this.#live = live;
    this.#arm = arm;
    this.#timer = arm(this);
    live.add(this);
  }

  /** @internal the timer fired; an interval arms again */
  _fired(again: boolean): void {
    this.#timer = again ? this.#arm(this) : undefined;
    if (!again) this.#live.delete(this);
    else if (!this.#ref) this.#timer!.unref?.();
  }

  ref(): this {
    this.#ref = true;
    this.#timer?.ref?.();
    return this;
  }

  unref(): this {
    this.#ref = false;
    this.#timer?.unref?.();
    return this;
  }

  hasRef(): boolean {
    return this.#ref;
  }

  /** Starts the same wait again from now. */
  refresh(): this {
    if (this.#timer) {
      this.#timer.clear();
      this.#timer = this.#arm(this);
      if (!this.#ref) this.#timer.unref?.();
    }
    return this;
  }

  close(): this {
    this.#timer?.clear();
    this.#timer = undefined;
    this.#live.delete(this);
    return this;
  }

  [Symbol.toPrimitive](): number {
    return this.#id;
  }
}

/** Timers on one clock, in the globals' shapes; installVirtualTimers and the simulator use it. */
export interface TimerApi {
  setTimeout(fn: unknown, ms?: unknown, ...args: unknown[]): VirtualTimeout;
  setInterval(fn: unknown, ms?: unknown, ...args: unknown[]): VirtualTimeout;
  /** Clears one of this API's timers (a handle or its id); false if h is not one. */
  clear(h: unknown): boolean;
  /** ms since 1970 on the clock (epoch + the clock's time). */
  now(): number;
  /** Timers not yet fired or cleared. */
  readonly pending: number;
}

/** Whether h is a timer handle of a TimerApi (whichever clock). */
export function isVirtualHandle(h: unknown): h is { close(): unknown } {
  return h instanceof VirtualTimeout;
}

export function timerApi(clock: VirtualClock, epoch: number): TimerApi {
  const live = new Set<VirtualTimeout>();
  const byId = new Map<number, VirtualTimeout>();
  let nextId = 1;
  const make = (fn: unknown, ms: unknown, args: unknown[], repeat: boolean): VirtualTimeout => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be of type function');
    const delay = typeof ms === 'number' && ms >= 1 && ms <= 2 ** 31 - 1 ? ms : 1; // Node's rules
    const id = nextId++;
    const t: VirtualTimeout = new VirtualTimeout(id, live, (self) => clock.setTimer(() => {
      self._fired(repeat);
      if (!repeat) byId.delete(id);
      (fn as Callback)(...args);
    }, delay));
    byId.set(id, t);
    return t;
  };
  return {
    setTimeout: (fn, ms, ...args) => make(fn, ms, args, false),
    setInterval: (fn, ms, ...args) => make(fn, ms, args, true),
    clear(h) {
      const t = h instanceof VirtualTimeout ? h : typeof h === 'number' ? byId.get(h) : undefined;
      if (!t) return false;
      t.close();
      byId.delete(+t);
      return true;
    },
    now: () => epoch + clock.now(),
    get pending() {
      return live.size;
    },
  };
}

/**
 * A Date whose "now" is now() (the real one's when now() gives undefined); everything
 * else is the real Date's, and its objects are real Dates.
 */
export function dateWith(RealDate: DateConstructor, now: () => number | undefined): DateConstructor {
  const current = (): number => now() ?? RealDate.now();
  class VirtualDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(current());
      else super(...(args as [string | number | Date]));
    }

    static override now(): number {
      return Math.floor(current());
    }
  }
  // Date() called as a function returns a string, as the real one does
  return new Proxy(VirtualDate, {
    apply: () => new RealDate(current()).toString(),
  }) as unknown as DateConstructor;
}

let installed = false;

/**
 * Puts setTimeout, setInterval, clearTimeout, clearInterval and (by default) Date on
 * the clock until uninstall(). One installation at a time per process.
 */
export function installVirtualTimers(clock: VirtualClock, options: VirtualTimersOptions = {}): VirtualTimers {
  if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
  if (installed) throw new Error('lwip-wasm: virtual timers are already installed (uninstall the other first)');
  const epoch = options.epoch ?? DEFAULT_EPOCH;
  if (typeof epoch !== 'number' || !Number.isFinite(epoch)) throw new TypeError('lwip-wasm: epoch must be ms since 1970');
  const g = globalThis as unknown as Record<string, unknown>;
  const real = {
    setTimeout: g['setTimeout'], setInterval: g['setInterval'], clearTimeout: g['clearTimeout'],
    clearInterval: g['clearInterval'], Date: g['Date'],
  };
  const realClear = real.clearTimeout as (h: unknown) => void;
  const api = timerApi(clock, epoch);
  const clear = (h: unknown): void => {
    // a real timer from before install (or a test runner's) goes to the real function
    if (!api.clear(h) && h !== undefined && h !== null) realClear(h);
  };
  g['setTimeout'] = api.setTimeout;
  g['setInterval'] = api.setInterval;
  g['clearTimeout'] = clear;
  g['clearInterval'] = clear;
  if (options.date !== false) g['Date'] = dateWith(real.Date as DateConstructor, api.now);
  installed = true;
  let done = false;
  return {
    uninstall() {
      if (done) return;
      done = true;
      installed = false;
      Object.assign(g, real);
    },
    get pending() {
      return api.pending;
    },
  };
}

/**
 * Runs fn with virtual timers installed and drives the clock until its promise settles
 * (clock.runUntil), then uninstalls them; resolves or rejects as fn does.
 */
export async function runOnClock<T>(clock: VirtualClock, fn: () => T | Promise<T>, options: VirtualTimersOptions & { timeLimit?: number } = {}): Promise<T> {
  const { timeLimit, ...timerOptions } = options;
  // Install on the next microtask: whatever the caller does right after this call (a test
  // runner arming its time limit, say) still gets the real timers.
  await Promise.resolve();
  const timers = installVirtualTimers(clock, timerOptions);
  try {
    const p = Promise.resolve().then(fn);
    return (await clock.runUntil(p, timeLimit === undefined ? undefined : { timeLimit })) as T;
  } finally {
    timers.uninstall();
  }
}
