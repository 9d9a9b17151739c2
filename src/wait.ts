// Shared plumbing for the async forms: a deadline and an AbortSignal around a wait.
import type { Clock } from './clock.js';

export interface WaitOptions {
  /** Rejects the wait when aborted, with the signal's reason. */
  signal?: AbortSignal;
  /** Milliseconds before the wait gives up (see each method for the error it gives). */
  timeout?: number;
}

export function checkWaitOptions(opts: WaitOptions | undefined): void {
  if (opts === undefined) return;
  if (typeof opts !== 'object' || opts === null) throw new TypeError('lwip-wasm: options must be an object');
  if (opts.timeout !== undefined && (typeof opts.timeout !== 'number' || !(opts.timeout >= 0))) {
    throw new RangeError(`lwip-wasm: timeout must be a number of milliseconds >= 0, got ${String(opts.timeout)}`);
  }
  if (opts.signal !== undefined && !(typeof opts.signal === 'object' && 'aborted' in opts.signal)) {
    throw new TypeError('lwip-wasm: signal must be an AbortSignal');
  }
}

/** Absolute deadline on the stack's clock, or Infinity. */
export function deadlineOf(opts: WaitOptions | undefined, clock: Clock): number {
  return opts?.timeout === undefined ? Infinity : clock.now() + opts.timeout;
}
