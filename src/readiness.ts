// Waiting on readiness. C keeps each socket's poll bits and a list of sockets whose
// bits changed; after every batch the stack drains that list and calls notify() for
// each, so waking costs O(changed), never a scan of all sockets.
//
// A wait is one object (no closures, no per-fd Set), since a busy stack starts and ends
// waits at the rate it moves segments and each allocation is garbage a moment later.
import { POLLERR, POLLHUP, POLLNVAL } from './gen/constants.js';

/** Bits poll(2) reports whether or not they were asked for. */
export const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

export interface Waiter {
  readonly fd: number;
  /** The events asked for, with ALWAYS included. */
  readonly mask: number;
  /** The fd has some of mask; the waiter must remove itself. */
  wake(revents: number): void;
  /** The stack failed or went away; the waiter must remove itself. */
  fail(err: Error): void;
}

export class Readiness {
  readonly #waiters = new Map<number, Waiter[]>();

  add(w: Waiter): void {
    const list = this.#waiters.get(w.fd);
    if (list) list.push(w);
    else this.#waiters.set(w.fd, [w]);
  }

  remove(w: Waiter): void {
    const list = this.#waiters.get(w.fd);
    const i = list ? list.indexOf(w) : -1;
    if (i < 0) return;
    if (list!.length === 1) this.#waiters.delete(w.fd);
    else list!.splice(i, 1);
  }

  /** Wakes the waiters on fd whose mask matches its current events. */
  notify(fd: number, events: number): void {
    const list = this.#waiters.get(fd);
    if (!list) return;
    // Backwards: a woken waiter removes itself, which moves only the ones already seen.
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      const hit = w === undefined ? 0 : events & w.mask;
      if (hit) w!.wake(hit);
    }
  }

  /** Wakes every waiter on fd with POLLNVAL (the descriptor was closed). */
  invalidate(fd: number): void {
    this.notify(fd, POLLNVAL);
  }

  /** Fails every waiter (the stack failed or was disposed). */
  failAll(err: Error): void {
    for (const list of [...this.#waiters.values()]) {
      for (const w of [...list]) w.fail(err);
    }
  }

  fds(): number[] {
    return [...this.#waiters.keys()];
  }
}
