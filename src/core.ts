// The engine room behind Stack: owns the wasm instance, runs the main loop (frames in,
// timers, loopback, frames out, readiness), and turns negative errno into errors.
import type { LwipExports, Ptr } from './bindings/exports.js';
import { Heap, ADDR_SIZE } from './bindings/memory.js';
import { Readiness, ALWAYS, type Waiter } from './readiness.js';
import { SocketError, StackError } from './errors.js';
import { EAGAIN, POLLNVAL } from './gen/constants.js';
import type { Clock, ClockTimer } from './clock.js';

/** Something with a transmit path for frames the stack sends on one interface. */
export interface FrameSink {
  transmit(frame: Uint8Array): void;
}

const CHANGED_BATCH = 256;
/** Outgoing batches up to POOL_MAX bytes are copied into a shared POOL_SIZE pool. */
const POOL_SIZE = 64 * 1024;
const POOL_MAX = 4096;

/** A little-endian u32 from bytes (no DataView to allocate). */
const u32At = (b: Uint8Array, i: number): number =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const NO_TIMEOUT = 0xffffffff;

export class Core {
  readonly ex: LwipExports;
  readonly heap: Heap;
  readonly readiness = new Readiness();
  /** Two lw_addr slots and the changed-fd buffer, allocated once. */
  readonly addrIn: Ptr;
  readonly addrOut: Ptr;
  readonly #changedBuf: Ptr;
  readonly sinks = new Map<number, FrameSink>();
  /** Open sockets by fd, so the loop can count them and dispose can close them. */
  readonly openFds = new Set<number>();
  #flushQueued = false;
  #timer: ClockTimer | undefined;
  #timerAt = Infinity;
  #failure: Error | undefined;
  #disposed = false;
  /** The stack's clock; every timer and deadline uses it. */
  readonly clock: Clock;
  readonly #onFailure: (err: Error) => void;

  constructor(ex: LwipExports, clock: Clock, onFailure: (err: Error) => void) {
    this.ex = ex;
    this.heap = new Heap(ex);
    this.clock = clock;
    this.#onFailure = onFailure;
    this.addrIn = this.heap.alloc(ADDR_SIZE * 2);
    this.addrOut = this.addrIn + ADDR_SIZE;
    this.#changedBuf = this.heap.alloc(CHANGED_BATCH * 4);
  }

  get alive(): boolean {
    return !this.#disposed && !this.#failure;
  }

  /** Throws if the stack can no longer be used. */
  assertAlive(): void {
    if (this.#failure) {
      throw new StackError('ESTACKFAILED', `lwip-wasm: the stack failed: ${this.#failure.message}`, {
        cause: this.#failure,
      });
    }
    if (this.#disposed) throw new StackError('ESTACKDISPOSED', 'lwip-wasm: the stack was disposed');
  }

  /** Runs fn against the wasm; a trap fails the whole stack instead of leaving it corrupt. */
  guard<T>(fn: () => T): T {
    this.assertAlive();
    try {
      return fn();
    } catch (err) {
      if (err instanceof WebAssembly.RuntimeError) {
        this.fail(err);
        this.assertAlive();
      }
      throw err;
    }
  }

  /** Returns ret, or throws the SocketError its negative errno names. */
  check(ret: number, syscall: string, address?: string, port?: number): number {
    if (ret < 0) throw new SocketError(-ret, syscall, address, port);
    return ret;
  }

  /** Schedules one flush at the end of this turn, however many calls asked for it. */
  kick(): void {
    if (this.#flushQueued || !this.alive) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  /** One turn of the main loop: timers and loopback, then frames out, then wake-ups. */
  flush(): void {
    if (!this.alive) return;
    try {
      const ex = this.ex;
      const outLen = ex.stack_poll();
      if (outLen > 0) this.#drainOutbox(outLen);
      this.#drainChanged();
      this.#wakeEpolls();
      this.#schedule();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Feeds a batch of frames from one interface into lwIP, then runs the loop. */
  input(ifindex: number, frames: readonly Uint8Array[]): void {
    if (!this.alive || frames.length === 0) return;
    try {
      let total = 0;
      for (const f of frames) total += 8 + ((f.byteLength + 3) & ~3);
      const ptr = this.ex.stack_inbox(total);
      if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory for input');
      const dv = this.heap.dv();
      const u8 = this.heap.u8();
      let off = ptr;
      for (const f of frames) {
        dv.setUint32(off, ifindex, true);
        dv.setUint32(off + 4, f.byteLength, true);
        u8.set(f, off + 8);
        off += 8 + ((f.byteLength + 3) & ~3);
      }
      this.ex.stack_input(total);
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.flush();
  }

  #drainOutbox(len: number): void {
    const ex = this.ex;
    const base = ex.stack_outbox();
    // The bytes must leave wasm memory: the outbox is reused by the next call, and links
    // send asynchronously. Each frame is a view into one copy of the batch, whose
    // headers are read from the copy too, since a link's send may re-enter this stack.
    const out = this.#copyOut(base, len);
    ex.stack_outbox_clear();
    for (let off = 0; off + 8 <= len; ) {
      const ifindex = u32At(out, off);
      const flen = u32At(out, off + 4);
      this.sinks.get(ifindex)?.transmit(out.subarray(off + 8, off + 8 + flen));
      off += 8 + ((flen + 3) & ~3);
    }
  }

  #pool = new Uint8Array(0);
  #poolOff = 0;

  /**
   * A copy of len bytes of wasm memory. A new ArrayBuffer costs microseconds whatever its
   * size, and most batches are one small frame (an ACK, a SYN), so small batches are
   * carved from a shared pool, as Node's Buffer pool does; a full pool is dropped, never
   * reused, so frames a link still holds stay intact.
   */
  #copyOut(base: number, len: number): Uint8Array {
    if (len > POOL_MAX) return this.heap.u8().slice(base, base + len);
    if (len > this.#pool.length - this.#poolOff) {
      this.#pool = new Uint8Array(POOL_SIZE);
      this.#poolOff = 0;
    }
    const at = this.#poolOff;
    this.#poolOff = (at + len + 7) & ~7;
    const out = this.#pool.subarray(at, at + len);
    out.set(this.heap.u8().subarray(base, base + len));
    return out;
  }

  #drainChanged(): void {
    const ex = this.ex;
    for (;;) {
      const n = ex.stack_changed(this.#changedBuf, CHANGED_BATCH);
      if (n <= 0) return;
      const dv = this.heap.dv();
      for (let i = 0; i < n; i++) {
        const fd = dv.getInt32(this.#changedBuf + i * 4, true);
        const ev = ex.sock_events(fd);
        if (ev >= 0) this.readiness.notify(fd, ev);
      }
      if (n < CHANGED_BATCH) return;
    }
  }

  /** Arms one timer for lwIP's next timeout; none when lwIP has none armed. */
  #schedule(): void {
    const ms = this.ex.stack_next_timeout() >>> 0;
    if (ms === NO_TIMEOUT) {
      this.#clearTimer();
      return;
    }
    const at = this.clock.now() + ms;
    if (this.#timer !== undefined && this.#timerAt <= at) {
      this.#refTimer();
      return;
    }
    this.#clearTimer();
    this.#timerAt = at;
    this.#timer = this.clock.setTimer(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.flush();
    }, ms);
    this.#refTimer();
  }

  /** lwIP's periodic timers alone do not keep a Node process alive; open sockets do. */
  #refTimer(): void {
    const t = this.#timer;
    if (!t) return;
    if (this.openFds.size > 0) t.ref?.();
    else t.unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#timer.clear();
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  /**
   * Waits until fd has one of mask's bits (or ERR/HUP/NVAL). Resolves with the bits.
   * deadline is in this.clock's milliseconds (Infinity for none).
   * On timeout it rejects with onTimeout(); on abort, with the signal's reason.
   */
  wait(fd: number, mask: number, deadline: number, signal: AbortSignal | undefined,
    onTimeout: () => Error = () => new SocketError(EAGAIN, 'wait')): Promise<number> {
    this.assertAlive();
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.ex.sock_events(fd);
    if (now < 0) return Promise.resolve(POLLNVAL);
    if (now & (mask | ALWAYS)) return Promise.resolve(now & (mask | ALWAYS));
    return new Promise<number>((resolve, reject) => {
      const w = new FdWait(this, fd, mask | ALWAYS, signal, resolve, reject);
      this.readiness.add(w);
      signal?.addEventListener('abort', w, { once: true });
      if (deadline !== Infinity) {
        w.timer = this.clock.setTimer(() => w.fail(onTimeout()), Math.max(0, deadline - this.clock.now()));
      }
    });
  }

  /** Epoll waits, to be failed with the stack (fd waits are in readiness). */
  readonly #pending = new Set<(err: Error) => void>();
  readonly #epollWaiters = new Map<number, Set<(ready: boolean) => void>>();

  /**
   * Waits until epoll instance id may have events (true), or the deadline passes (false).
   * Aborting rejects with the signal's reason.
   */
  waitEpoll(id: number, deadline: number, signal: AbortSignal | undefined): Promise<boolean> {
    this.assertAlive();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<boolean>((resolve, reject) => {
      let timer: ClockTimer | undefined;
      let set = this.#epollWaiters.get(id);
      if (!set) {
        set = new Set();
        this.#epollWaiters.set(id, set);
      }
      const waiters = set;
      const done = (): void => {
        waiters.delete(wake);
        if (waiters.size === 0) this.#epollWaiters.delete(id);
        this.#pending.delete(failAll);
        timer?.clear();
        signal?.removeEventListener('abort', onAbort);
      };
      const wake = (ready: boolean): void => {
        done();
        resolve(ready);
      };
      const failAll = (err: Error): void => {
        done();
        reject(err);
      };
      const onAbort = (): void => {
        done();
        reject(signal!.reason);
      };
      waiters.add(wake);
      this.#pending.add(failAll);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== Infinity) {
        timer = this.clock.setTimer(() => wake(false), Math.max(0, deadline - this.clock.now()));
      }
    });
  }

  /** Wakes the waiters of one epoll instance (it was closed). */
  wakeEpoll(id: number): void {
    for (const w of [...(this.#epollWaiters.get(id) ?? [])]) w(true);
  }

  #wakeEpolls(): void {
    for (const [id, set] of this.#epollWaiters) {
      if (this.ex.epoll_pending(id) !== 0) for (const w of [...set]) w(true);
    }
  }

  /** The stack cannot go on (a wasm trap, or a bug): reject every pending wait. */
  fail(err: Error): void {
    if (this.#failure || this.#disposed) return;
    this.#failure = err;
    this.#clearTimer();
    const wrapped = new StackError('ESTACKFAILED', `lwip-wasm: the stack failed: ${err.message}`, { cause: err });
    this.readiness.failAll(wrapped);
    for (const f of [...this.#pending]) f(wrapped);
    this.#onFailure(err);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#clearTimer();
    const err = new StackError('ESTACKDISPOSED', 'lwip-wasm: the stack was disposed');
    this.readiness.failAll(err);
    for (const f of [...this.#pending]) f(err);
  }
}

/** One wait on an fd's readiness: its own abort listener (handleEvent) and timer. */
class FdWait implements Waiter {
  timer: ClockTimer | undefined;

  constructor(
    readonly core: Core,
    readonly fd: number,
    readonly mask: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (revents: number) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  #done(): void {
    this.core.readiness.remove(this);
    this.timer?.clear();
    this.signal?.removeEventListener('abort', this);
  }

  wake(revents: number): void {
    this.#done();
    this.resolve(revents);
  }

  fail(err: Error): void {
    this.#done();
    this.reject(err);
  }

  /** The signal's 'abort' event. */
  handleEvent(): void {
    this.#done();
    this.reject(this.signal!.reason);
  }
}
