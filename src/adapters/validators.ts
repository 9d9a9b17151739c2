// Argument checks that throw what Node's own checks throw (lib/internal/validators.js),
// so misuse fails the same way over a stack as over the OS.
import {
  errInvalidArgType, errInvalidArgValue, errOutOfRange, errSocketBadPort,
} from './node-errors.js';

/** A port as Node takes it (number or numeric string, 0-65535); returns it as a number. */
export function validatePort(port: unknown, name = 'Port', allowZero = true): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
      (typeof port === 'string' && port.trim().length === 0) ||
      +port !== (+port >>> 0) ||
      +port > 0xffff ||
      (+port === 0 && !allowZero)) {
    throw errSocketBadPort(name, port, allowZero);
  }
  return +port | 0;
}

export function validateNumber(value: unknown, name: string, min?: number, max?: number): asserts value is number {
  if (typeof value !== 'number') throw errInvalidArgType(name, 'number', value);
  if ((min !== undefined && value < min) || (max !== undefined && value > max) ||
      ((min !== undefined || max !== undefined) && Number.isNaN(value))) {
    const range = `${min !== undefined ? `>= ${min}` : ''}${min !== undefined && max !== undefined ? ' && ' : ''}${max !== undefined ? `<= ${max}` : ''}`;
    throw errOutOfRange(name, range, value);
  }
}

export function validateInt32(value: unknown, name: string, min = -2147483648, max = 2147483647): asserts value is number {
  if (typeof value !== 'number') throw errInvalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw errOutOfRange(name, 'an integer', value);
  if (value < min || value > max) throw errOutOfRange(name, `>= ${min} && <= ${max}`, value);
}

export function validateUint32(value: unknown, name: string, positive = false): asserts value is number {
  if (typeof value !== 'number') throw errInvalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw errOutOfRange(name, 'an integer', value);
  const min = positive ? 1 : 0;
  if (value < min || value > 4_294_967_295) throw errOutOfRange(name, `>= ${min} && <= 4294967295`, value);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw errInvalidArgType(name, 'boolean', value);
}

export function validateString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string') throw errInvalidArgType(name, 'string', value);
}

// eslint-disable-next-line @typescript-eslint/ban-types
export function validateFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw errInvalidArgType(name, 'Function', value);
}

export function validateOneOf<T>(value: unknown, name: string, oneOf: readonly T[]): asserts value is T {
  if (!oneOf.includes(value as T)) {
    const allowed = oneOf.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
    throw errInvalidArgValue(name, value, `must be one of: ${allowed}`);
  }
}

export function validateAbortSignal(signal: unknown, name: string): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw errInvalidArgType(name, 'AbortSignal', signal);
  }
}

/** timers' getTimerDuration, which socket.setTimeout uses. */
export function validateTimeout(msecs: unknown, name: string): number {
  validateNumber(msecs, name);
  if (msecs < 0 || !Number.isFinite(msecs)) throw errOutOfRange(name, 'a non-negative finite number', msecs);
  // Node warns and uses 1 ms for durations past a 32-bit signed int
  return msecs > 2 ** 31 - 1 ? 1 : msecs;
}
