// Waiting on readiness. C keeps each socket's poll bits and a list of sockets whose
// bits changed; after every batch the stack drains that list and calls notify() for
// each, so waking costs O(changed), never a scan of all sockets.
import { POLLERR, POLLHUP, POLLNVAL } from './gen/constants.js';

/** Bits poll(2) reports whether or not they were asked for. */
export const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

interface Waiter {
  mask: number;
  wake(revents: number): void;
}

export class Readiness {
  readonly #waiters = new Map<number, Set<Waiter>>();

  /** Registers a waiter for fd; returns a function that removes it. */
  add(fd: number, mask: number, wake: (revents: number) => void): () => void {
    let set = this.#waiters.get(fd);
    if (!set) {
      set = new Set();
      this.#waiters.set(fd, set);
    }
    const w: Waiter = { mask: mask | ALWAYS, wake };
    set.add(w);
    return () => {
      set!.delete(w);
      if (set!.size === 0 && this.#waiters.get(fd) === set) this.#waiters.delete(fd);
    };
  }

  /** Wakes the waiters on fd whose mask matches its current events. */
  notify(fd: number, events: number): void {
    const set = this.#waiters.get(fd);
    if (!set) return;
    for (const w of [...set]) {
      const hit = events & w.mask;
      if (hit) w.wake(hit);
    }
  }

  /** Wakes every waiter on fd with POLLNVAL (the descriptor was closed). */
  invalidate(fd: number): void {
    this.notify(fd, POLLNVAL);
  }

  fds(): number[] {
    return [...this.#waiters.keys()];
  }
}
