// Frames due at given times on the clock, handed on in the order they were pushed (a
// frame never overtakes an earlier one): the connection toxics' slicer and slow close.
import type { Clock, ClockTimer } from '../clock.js';

export class DelayLine {
  readonly #clock: Clock;
  readonly #emit: (frame: Uint8Array) => void;
  #queue: Array<{ at: number; frame: Uint8Array }> = [];
  #last = -Infinity;
  #timer: ClockTimer | undefined;
  #closed = false;

  constructor(clock: Clock, emit: (frame: Uint8Array) => void) {
    this.#clock = clock;
    this.#emit = emit;
  }

  /** When the last frame pushed is due (so a caller can space the next one after it). */
  get lastAt(): number {
    return this.#last;
  }

  get size(): number {
    return this.#queue.length;
  }

  push(frame: Uint8Array, at: number): void {
    if (this.#closed) return;
    const due = Math.max(at, this.#last);
    this.#last = due;
    if (this.#queue.length === 0 && due <= this.#clock.now()) {
      this.#emit(frame);
      return;
    }
    this.#queue.push({ at: due, frame });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = Math.max(0, this.#queue[0]!.at - this.#clock.now());
    this.#timer = this.#clock.setTimer(() => this.#fire(), wait);
    this.#timer.unref?.();
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    const now = this.#clock.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) this.#emit(this.#queue.shift()!.frame);
    this.#arm();
  }

  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#queue = [];
  }
}
