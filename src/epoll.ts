// epoll(7) over the stack's sockets. Registrations and the ready list live in C and are
// updated as readiness changes, so wait() costs O(ready) however many sockets are added.
import type { Core } from './core.js';
import { Socket } from './socket.js';
import { SocketError } from './errors.js';
import { checkWaitOptions, type WaitOptions } from './wait.js';
import { EPOLL_CTL_ADD, EPOLL_CTL_MOD, EPOLL_CTL_DEL, EBADF } from './gen/constants.js';
import { CHANGE, LW_EPOLL_EVENT } from './gen/abi.js';

export interface EpollEvent<T = unknown> {
  socket: Socket;
  /** EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP bits that are set. */
  events: number;
  /** The data given to add()/mod(). */
  data: T;
}

interface Registration<T> {
  socket: Socket;
  data: T;
}

const MAX_EVENTS = 1 << 16;

export class Epoll<T = unknown> {
  readonly #core: Core;
  readonly #id: number;
  readonly #regs = new Map<number, Registration<T>>();
  #buf = 0;
  #bufCap = 0;
  #sweptAt = 0;
  #closed = false;

  /** @internal created by stack.epoll() */
  constructor(core: Core) {
    this.#core = core;
    this.#id = core.check(core.abi.epoll_create(), 'epoll_create');
  }

  get closed(): boolean {
    return this.#closed;
  }

  #ctl(op: number, socket: Socket, events: number, syscall: string): void {
    if (this.#closed) throw new SocketError(EBADF, syscall);
    if (!(socket instanceof Socket)) throw new TypeError('lwip-wasm: epoll needs a Socket');
    if (!Number.isInteger(events)) throw new TypeError(`lwip-wasm: events must be EPOLL* bits, got ${String(events)}`);
    // Another stack's socket would name an unrelated descriptor here: not ours, so EBADF.
    if (socket.closed || !socket._ownedBy(this.#core)) throw new SocketError(EBADF, syscall);
    const core = this.#core;
    core.check(core.abi.epoll_ctl(this.#id, op, socket.fd, events | 0), syscall);
  }

  /** EPOLL_CTL_ADD: watch socket for events (EPOLLIN | EPOLLOUT | EPOLLET | ...). EEXIST if already added. */
  add(socket: Socket, events: number, data?: T): void {
    this.#ctl(EPOLL_CTL_ADD, socket, events, 'epoll_ctl');
    this.#regs.set(socket.fd, { socket, data: data as T });
    this.#sweep();
  }

  /**
   * Closing a socket drops its registration in C, but not the entry here (nothing tells
   * the instance). Forget closed sockets once the map has doubled since the last sweep,
   * so churn costs amortized O(1) and closed Sockets do not pile up.
   */
  #sweep(): void {
    if (this.#regs.size < 2 * this.#sweptAt + 64) return;
    for (const [fd, reg] of this.#regs) if (reg.socket.closed) this.#regs.delete(fd);
    this.#sweptAt = this.#regs.size;
  }

  /** EPOLL_CTL_MOD: change events and data; also re-arms an EPOLLONESHOT registration. ENOENT if not added. */
  mod(socket: Socket, events: number, data?: T): void {
    this.#ctl(EPOLL_CTL_MOD, socket, events, 'epoll_ctl');
    const reg = this.#regs.get(socket.fd);
    this.#regs.set(socket.fd, { socket, data: data === undefined && reg ? reg.data : (data as T) });
  }

  /** EPOLL_CTL_DEL. Closing a socket removes it by itself, as on Linux. */
  del(socket: Socket): void {
    this.#ctl(EPOLL_CTL_DEL, socket, 0, 'epoll_ctl');
    this.#regs.delete(socket.fd);
  }

  /** The events ready now, at most maxEvents (epoll_wait with timeout 0). */
  waitSync(maxEvents = 64): EpollEvent<T>[] {
    if (this.#closed) throw new SocketError(EBADF, 'epoll_wait');
    if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > MAX_EVENTS) {
      throw new RangeError(`lwip-wasm: maxEvents must be an integer from 1 to ${MAX_EVENTS}, got ${String(maxEvents)}`);
    }
    const core = this.#core;
    if (this.#bufCap < maxEvents) {
      // Allocate before freeing: if alloc throws, #buf must still be ours to free once.
      const buf = core.heap.alloc(maxEvents * LW_EPOLL_EVENT.size);
      const old = this.#buf;
      this.#buf = buf;
      this.#bufCap = maxEvents;
      if (old) core.abi.free(old);
    }
    const n = core.check(core.abi.epoll_wait(this.#id, this.#buf, maxEvents), 'epoll_wait');
    const dv = core.heap.dv();
    const out: EpollEvent<T>[] = [];
    for (let i = 0, p = this.#buf; i < n; i++, p += LW_EPOLL_EVENT.size) {
      const fd = dv.getInt32(p + LW_EPOLL_EVENT.fd, true);
      const events = dv.getUint32(p + LW_EPOLL_EVENT.events, true);
      const reg = this.#regs.get(fd);
      if (reg && !reg.socket.closed) out.push({ socket: reg.socket, events, data: reg.data });
      else if (reg) this.#regs.delete(fd);
    }
    return out;
  }

  /**
   * epoll_wait: resolves with up to maxEvents ready events as soon as there are any, or
   * with [] when timeoutMs runs out. 0 returns at once; -1 waits without limit.
   */
  async wait(maxEvents = 64, timeoutMs = -1, opts?: Pick<WaitOptions, 'signal'>): Promise<EpollEvent<T>[]> {
    checkWaitOptions(opts);
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= -1)) {
      throw new RangeError(`lwip-wasm: timeout must be -1 or a number of ms >= 0, got ${String(timeoutMs)}`);
    }
    if (opts?.signal?.aborted) throw opts.signal.reason;
    const core = this.#core;
    const deadline = timeoutMs < 0 ? Infinity : core.clock.now() + timeoutMs;
    for (;;) {
      const ready = this.waitSync(maxEvents);
      if (ready.length > 0 || timeoutMs === 0) return ready;
      const left = deadline - core.clock.now();
      if (left <= 0) return [];
      const woke = await core.waitChange(CHANGE.EPOLL, this.#id, deadline, opts?.signal);
      if (!woke) return [];
      if (this.#closed) throw new SocketError(EBADF, 'epoll_wait');
    }
  }

  /** Closes the instance; a pending wait rejects with EBADF. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const core = this.#core;
    if (core.alive) {
      core.abi.epoll_close(this.#id);
      if (this.#buf) core.abi.free(this.#buf);
    }
    this.#buf = 0;
    this.#bufCap = 0;
    core.changes.notify(CHANGE.EPOLL, this.#id, 0); // a pending wait sees #closed: EBADF
    this.#regs.clear();
  }
}
