// Virtual time for the code under test, and only for it: while a network is open, the
// global setTimeout, setInterval, their clears and Date ask an AsyncLocalStorage whose
// code is running. The hosts' software and what network.run() runs (and every callback
// and promise they start) get the network's clock; everything else, a test runner
// included, gets the real functions. Nothing is changed once the last network closes.
import { AsyncLocalStorage } from 'node:async_hooks';
import { dateWith, isVirtualHandle, type TimerApi } from '../testing/virtual-timers.js';

const scope = new AsyncLocalStorage<TimerApi>();
let users = 0;
let saved: Record<string, unknown> | undefined;

/** Runs fn (and all it starts) on api's timers. */
export function onVirtualTime<T>(api: TimerApi, fn: () => T): T {
  return scope.run(api, fn);
}

/** The globals dispatch by scope from now until every user has released them. */
export function useTimeScope(): () => void {
  if (users++ === 0) {
    const g = globalThis as unknown as Record<string, unknown>;
    const real = {
      setTimeout: g['setTimeout'], setInterval: g['setInterval'], clearTimeout: g['clearTimeout'],
      clearInterval: g['clearInterval'], Date: g['Date'],
    };
    saved = real;
    const realSetTimeout = real.setTimeout as (...a: unknown[]) => unknown;
    const realSetInterval = real.setInterval as (...a: unknown[]) => unknown;
    const realClear = real.clearTimeout as (h: unknown) => void;
    const clear = (h: unknown): void => {
      if (isVirtualHandle(h)) h.close();
      else if (!scope.getStore()?.clear(h) && h !== undefined && h !== null) realClear(h);
    };
    // A virtual timer fires from whoever drives the clock: its callback is put back in
    // the scope it was set in, so what it does (and sets) stays on virtual time.
    const inScope = (api: TimerApi, fn: unknown): unknown =>
      typeof fn === 'function' ? (...args: unknown[]) => scope.run(api, () => (fn as (...x: unknown[]) => unknown)(...args)) : fn;
    g['setTimeout'] = (fn: unknown, ...rest: unknown[]) => {
      const api = scope.getStore();
      return api ? api.setTimeout(inScope(api, fn), ...rest) : realSetTimeout(fn, ...rest);
    };
    g['setInterval'] = (fn: unknown, ...rest: unknown[]) => {
      const api = scope.getStore();
      return api ? api.setInterval(inScope(api, fn), ...rest) : realSetInterval(fn, ...rest);
    };
    g['clearTimeout'] = clear;
    g['clearInterval'] = clear;
    g['Date'] = dateWith(real.Date as DateConstructor, () => scope.getStore()?.now());
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--users === 0 && saved) {
      Object.assign(globalThis, saved);
      saved = undefined;
    }
  };
}
