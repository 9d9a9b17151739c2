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

/** lwIP's time for one stack: read by the wasm, forgotten at each entry into it. */
export interface LwipTime {
  /** Whole milliseconds since the stack's start. */
  read(): number;
  /** Called as JS enters the wasm: the next read() takes a fresh reading. */
  invalidate(): void;
}

/**
 * lwIP reads the time several times a segment, and on the wall clock each reading is a
 * call out of the wasm and a performance.now(); so one reading serves a whole call into
 * the wasm. A test clock is read every time, since advancing it runs timers (and lwIP)
 * without leaving the call that advanced it.
 */
export function lwipTime(clock: Clock, start: number): LwipTime {
  if (clock !== realClock) return { read: () => Math.floor(clock.now() - start), invalidate: () => {} };
  let cached = -1;
  return {
    read: () => (cached >= 0 ? cached : (cached = Math.floor(performance.now() - start))),
    invalidate: () => {
      cached = -1;
    },
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
