// Waiting on the stack. C keeps one change stream (wasm/change.c): a socket's readiness,
// an epoll instance that has events, a DNS answer, a DHCP lease. After every batch the
// core drains it and calls notify() for each entry, so waking costs O(changed), never a
// scan, and nothing is polled on a timer.
//
// A wait is one object (no closures, no per-id Set), since a busy stack starts and ends
// waits at the rate it moves segments and each allocation is garbage a moment later.
import { CHANGE } from './gen/abi.js';
import { POLLERR, POLLHUP, POLLNVAL } from './gen/constants.js';

/** Bits poll(2) reports whether or not they were asked for. */
export const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

export type ChangeKind = (typeof CHANGE)[keyof typeof CHANGE];

export interface Waiter {
  readonly kind: ChangeKind;
  /** The fd, epoll id, DNS query id or interface index. */
  readonly id: number;
  /** Socket waits: the events asked for, with ALWAYS. 0: wake on any change of id. */
  readonly mask: number;
  /** Something it waits for changed; the waiter must remove itself if it is done. */
  wake(events: number): void;
  /** The stack failed or went away; the waiter must remove itself. */
  fail(err: Error): void;
}

export class Changes {
  readonly #waiters: Map<number, Waiter[]>[] = Object.values(CHANGE).map(() => new Map());

  add(w: Waiter): void {
    const byId = this.#waiters[w.kind]!;
    const list = byId.get(w.id);
    if (list) list.push(w);
    else byId.set(w.id, [w]);
  }

  remove(w: Waiter): void {
    const byId = this.#waiters[w.kind]!;
    const list = byId.get(w.id);
    const i = list ? list.indexOf(w) : -1;
    if (i < 0) return;
    if (list!.length === 1) byId.delete(w.id);
    else list!.splice(i, 1);
  }

  /** id of kind changed: wakes its waiters (socket waits only if events meet their mask). */
  notify(kind: number, id: number, events: number): void {
    const list = this.#waiters[kind]?.get(id);
    if (!list) return;
    // Backwards: a woken waiter removes itself, which moves only the ones already seen.
    for (let i = list.length - 1; i >= 0; i--) {
      const w = list[i];
      if (w !== undefined && (w.mask === 0 || (events & w.mask) !== 0)) w.wake(w.mask === 0 ? events : events & w.mask);
    }
  }

  /** Wakes every waiter on a closed descriptor with POLLNVAL. */
  invalidate(fd: number): void {
    this.notify(CHANGE.SOCK, fd, POLLNVAL);
  }

  /** Fails every waiter (the stack failed or was disposed). */
  failAll(err: Error): void {
    for (const byId of this.#waiters) {
      for (const list of [...byId.values()]) {
        for (const w of [...list]) w.fail(err);
      }
    }
  }
}
