// socket.setTimeout's idle timer on the stack's clock (a VirtualClock drives it in tests).
// Activity only records the time; the timer, when it fires early, waits the rest.
import { realClock, type Clock, type ClockTimer } from '../clock.js';

export class IdleTimer {
  readonly #clock: Clock;
  readonly #ms: number;
  readonly #onIdle: () => void;
  #last: number;
  #timer: ClockTimer | undefined;

  constructor(clock: Clock | undefined, ms: number, onIdle: () => void) {
    this.#clock = clock ?? realClock;
    this.#ms = ms;
    this.#onIdle = onIdle;
    this.#last = this.#clock.now();
    this.#arm(ms);
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      const idle = this.#clock.now() - this.#last;
      if (idle < this.#ms) this.#arm(this.#ms - idle);
      else this.#onIdle();
    }, ms);
    this.#timer.unref?.(); // as Node's: a socket's timeout does not keep a process alive
  }

  /** Activity: the wait starts again (once it has fired, it stays quiet until set again). */
  touch(): void {
    this.#last = this.#clock.now();
  }

  clear(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }
}
