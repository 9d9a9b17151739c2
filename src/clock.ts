// Time as the stack sees it. The default is real time; a test clock (virtual time) can
// stand in for it, and then lwIP's timers, connect limits and every async timeout run
// on that clock instead of the wall clock.

export interface ClockTimer {
  clear(): void;
  /** Node only: whether this timer alone keeps the process alive. */
  ref?(): void;
  unref?(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (any origin). */
  now(): number;
  /** Calls fn once after ms milliseconds of this clock's time. */
  setTimer(fn: () => void, ms: number): ClockTimer;
}

type NodeTimeout = ReturnType<typeof setTimeout> & { ref?: () => void; unref?: () => void };

// Taken at load: installVirtualTimers (testing/virtual-timers.ts) replaces the globals
// while a test runs on virtual time, and the wall clock must stay the wall clock.
const wallSetTimeout = globalThis.setTimeout;
const wallClearTimeout = globalThis.clearTimeout;

/** The wall clock: performance.now() and setTimeout. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    const t = wallSetTimeout(fn, ms) as NodeTimeout;
    return {
      clear: () => wallClearTimeout(t),
      ref: () => t.ref?.(),
      unref: () => t.unref?.(),
    };
  },
};

/**
 * lwIP's time for one stack, in whole milliseconds since start. lwIP reads it several
 * times a segment, and on the wall clock each reading is a call out of the wasm and a
 * performance.now(); so one reading serves a whole synchronous run, and a microtask
 * clears it. A test clock is read every time, since advancing it runs timers (and
 * lwIP) within one run.
 */
export function lwipTime(clock: Clock, start: number): () => number {
  if (clock !== realClock) return () => Math.floor(clock.now() - start);
  let cached = -1;
  const clear = (): void => {
    cached = -1;
  };
  return () => {
    if (cached < 0) {
      cached = Math.floor(performance.now() - start);
      queueMicrotask(clear);
    }
    return cached;
  };
}

export function checkClock(clock: unknown): Clock | undefined {
  if (clock === undefined) return undefined;
  const c = clock as Partial<Clock> | null;
  if (!c || typeof c.now !== 'function' || typeof c.setTimer !== 'function') {
    throw new TypeError('lwip-wasm: clock must have now() and setTimer(fn, ms)');
  }
  return c as Clock;
}
