// The engine room behind Stack: owns the wasm instance, runs the main loop (frames in,
// timers, loopback, frames out, the change stream), and turns negative errno into errors.
import { Abi, TlsAbi, CHANGE, LW_ADDR, LW_CHANGE, LW_FRAME, LW_RX, type CallGuard, type Ptr, type RawExports, type RawTlsExports } from './gen/abi.js';
import { Heap } from './bindings/memory.js';
import { Changes, ALWAYS, type ChangeKind, type Waiter } from './changes.js';
import { SocketError, StackError } from './errors.js';
import { EAGAIN, POLLNVAL, RX_BATCH, RX_TRUSTED } from './gen/constants.js';
import type { Clock, ClockTimer } from './clock.js';
import { segHint } from './transports/link.js';

/** Something with a transmit path for frames the stack sends on one interface. */
export interface FrameSink {
  /** Takes a frame the sink may keep; segMax > 0: a TCP segment for the link to cut. */
  transmit(frame: Uint8Array, segMax?: number): void;
  /** Whether transmitViews may be used: the link copies what it keeps. */
  readonly takesViews: boolean;
  /**
   * Takes frames that are valid only during this call (views of wasm memory); segs,
   * when given, each frame's segMax.
   */
  transmitViews(frames: readonly Uint8Array[], segs?: readonly number[]): void;
}

/** Change-stream entries drained per call. */
const CHANGED_BATCH = 256;
/** Outgoing batches up to POOL_MAX bytes are copied into a shared POOL_SIZE pool. */
const POOL_SIZE = 64 * 1024;
const POOL_MAX = 4096;

/** A little-endian u32 from bytes (no DataView to allocate). */
const u32At = (b: Uint8Array, i: number): number =>
  (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
const NO_TIMEOUT = 0xffffffff;
/** A frame record in the outbox: its header, then its bytes padded to 4. */
const frameRecord = (len: number): number => LW_FRAME.size + ((len + 3) & ~3);

export class Core implements CallGuard {
  /** The wasm's exports, typed and guarded by call kind (src/gen/abi.ts). */
  readonly abi: Abi;
  /** The TLS exports, when this stack's wasm is lwip-tls.wasm. */
  readonly tls: TlsAbi | undefined;
  readonly heap: Heap;
  readonly changes = new Changes();
  /** Two lw_addr slots and the change-stream buffer, allocated once. */
  readonly addrIn: Ptr;
  readonly addrOut: Ptr;
  readonly #changedBuf: Ptr;
  /** The RX_BATCH frame records of stack_rx_alloc and stack_rx_input (they never move). */
  readonly #rx: Ptr;
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

  /** Forgets lwIP's cached time; called at each entry into the wasm (src/clock.ts). */
  readonly #newEntry: () => void;

  constructor(raw: RawExports, clock: Clock, onFailure: (err: Error) => void, tls?: RawTlsExports,
    newEntry: () => void = () => {}) {
    this.#newEntry = newEntry;
    this.abi = new Abi(raw, this);
    this.tls = tls ? new TlsAbi(tls, this) : undefined;
    this.heap = new Heap(raw.memory, (size) => this.abi.malloc(size));
    this.clock = clock;
    this.#onFailure = onFailure;
    this.addrIn = this.heap.alloc(LW_ADDR.size * 2);
    this.addrOut = this.addrIn + LW_ADDR.size;
    this.#changedBuf = this.heap.alloc(CHANGED_BATCH * LW_CHANGE.size);
    this.#rx = this.abi.stack_rx_recs();
  }

  // CallGuard: how every call into the wasm is wrapped (src/gen/abi.ts).
  enter(): void {
    this.assertAlive();
    this.#newEntry();
  }

  trap(err: unknown): unknown {
    if (!(err instanceof WebAssembly.RuntimeError)) return err;
    this.fail(err); // a trap leaves the instance corrupt: nothing may call it again
    try {
      this.assertAlive();
    } catch (failed) {
      return failed;
    }
    return err;
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
    this.#newEntry();
    try {
      const outLen = this.abi.stack_poll();
      if (outLen > 0) this.#drainOutbox(outLen);
      this.#drainChanged();
      this.#schedule();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * Feeds a batch of frames from one interface into lwIP, then runs the loop. Each
   * frame is copied once, into the pbuf lwIP keeps (stack_rx.c). flags, when given,
   * holds each frame's lw_rx flags (a TAP with offload: partial checksums, segments
   * over the MTU).
   */
  input(ifindex: number, frames: readonly Uint8Array[], flags?: readonly number[]): void {
    if (!this.alive || frames.length === 0) return;
    this.#newEntry();
    try {
      const abi = this.abi;
      const rx = this.#rx;
      for (let from = 0; from < frames.length; from += RX_BATCH) {
        const n = Math.min(RX_BATCH, frames.length - from);
        let dv = this.heap.dv();
        for (let i = 0, r = rx; i < n; i++, r += LW_RX.size) {
          dv.setUint32(r + LW_RX.ifindex, ifindex, true);
          dv.setUint32(r + LW_RX.len, frames[from + i]!.byteLength, true);
          dv.setUint32(r + LW_RX.flags, flags ? flags[from + i]! : 0, true);
        }
        abi.stack_rx_alloc(n);
        dv = this.heap.dv(); // the pbufs may have grown memory
        const u8 = this.heap.u8();
        for (let i = 0, r = rx; i < n; i++, r += LW_RX.size) {
          const at = dv.getUint32(r + LW_RX.payload, true);
          if (at !== 0) u8.set(frames[from + i]!, at);
        }
        abi.stack_rx_input(n);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.flush();
  }

  /**
   * Copies frames into pbufs of this stack now, to be fed later by inputStaged (an
   * in-memory pair: a frame leaves the sender's memory as it is sent, and arrives a
   * turn later). Trusted frames came straight from another stack's outbox: their
   * checksums are not checked again. segs, when given, holds each frame's segMax (a
   * segment over the MTU, from a stack with TSO). Returns a handle per frame; 0 for one
   * dropped (no such interface, too long, no memory).
   */
  stage(ifindex: number, frames: readonly Uint8Array[], trusted: boolean, segs?: readonly number[]): number[] {
    const handles: number[] = [];
    if (!this.alive) return frames.map(() => 0);
    try {
      const rx = this.#rx;
      const t = trusted ? RX_TRUSTED : 0;
      // Views of this very memory (a pair between two interfaces of one stack) would be
      // detached if the pbufs grow it.
      const own = this.heap.u8().buffer;
      if (frames.some((f) => f.buffer === own)) frames = frames.map((f) => (f.buffer === own ? f.slice() : f));
      for (let from = 0; from < frames.length; from += RX_BATCH) {
        const n = Math.min(RX_BATCH, frames.length - from);
        let dv = this.heap.dv();
        for (let i = 0, r = rx; i < n; i++, r += LW_RX.size) {
          dv.setUint32(r + LW_RX.ifindex, ifindex, true);
          dv.setUint32(r + LW_RX.len, frames[from + i]!.byteLength, true);
          dv.setUint32(r + LW_RX.flags, segs ? t + segHint(segs[from + i]!) : t, true);
        }
        this.abi.stack_rx_alloc(n);
        dv = this.heap.dv();
        const u8 = this.heap.u8();
        for (let i = 0, r = rx; i < n; i++, r += LW_RX.size) {
          const at = dv.getUint32(r + LW_RX.payload, true);
          if (at === 0) {
            handles.push(0);
            continue;
          }
          u8.set(frames[from + i]!, at);
          handles.push(dv.getUint32(r + LW_RX.slot, true));
        }
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return frames.map(() => 0);
    }
    return handles;
  }

  /** Feeds frames stage() copied in (handle 0 is skipped), in order, then runs the loop. */
  inputStaged(ifindex: number, handles: readonly number[]): void {
    if (!this.#feedSlots(ifindex, handles, true)) return;
    this.flush();
  }

  /** Frees frames stage() copied in, unfed. */
  dropStaged(handles: readonly number[]): void {
    this.#feedSlots(0, handles, false);
  }

  #feedSlots(ifindex: number, handles: readonly number[], feed: boolean): boolean {
    if (!this.alive || handles.length === 0) return false;
    this.#newEntry();
    try {
      for (let from = 0; from < handles.length; from += RX_BATCH) {
        const n = Math.min(RX_BATCH, handles.length - from);
        const dv = this.heap.dv();
        for (let i = 0, r = this.#rx; i < n; i++, r += LW_RX.size) {
          dv.setUint32(r + LW_RX.ifindex, ifindex, true); // the slot keeps its flags
          dv.setUint32(r + LW_RX.slot, handles[from + i]!, true);
        }
        if (feed) this.abi.stack_rx_input(n);
        else this.abi.stack_rx_free(n);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    return true;
  }

  #drainOutbox(len: number): void {
    const abi = this.abi;
    const base = abi.stack_outbox();
    if (this.#viewsOnly(base, len)) {
      // Every frame goes to a link that copies what it keeps (an in-memory pair): each
      // sink gets views of the outbox, its frames in one call, in order. No such link's
      // send changes the outbox, but one may grow this memory (a pair between two
      // interfaces of this stack), so views are made from a fresh buffer per call.
      const u8 = this.heap.u8();
      let spans: number[] = [];
      let segs = false; // whether any span is a segment to cut (segMax > 0)
      let sinkIndex = -1;
      for (let off = 0; off + LW_FRAME.size <= len; ) {
        const ifindex = u32At(u8, base + off + LW_FRAME.ifindex);
        const flen = u32At(u8, base + off + LW_FRAME.len);
        const segMax = u32At(u8, base + off + LW_FRAME.segMax);
        if (ifindex !== sinkIndex && spans.length > 0) {
          this.#transmitSpans(sinkIndex, spans, segs);
          spans = [];
          segs = false;
        }
        sinkIndex = ifindex;
        spans.push(base + off + LW_FRAME.size, flen, segMax);
        if (segMax > 0) segs = true;
        off += frameRecord(flen);
      }
      if (spans.length > 0) this.#transmitSpans(sinkIndex, spans, segs);
      abi.stack_outbox_clear();
      return;
    }
    // The bytes must leave wasm memory: the outbox is reused by the next call, and links
    // send asynchronously. Each frame is a view into one copy of the batch, whose
    // headers are read from the copy too, since a link's send may re-enter this stack.
    const out = this.#copyOut(base, len);
    abi.stack_outbox_clear();
    for (let off = 0; off + LW_FRAME.size <= len; ) {
      const ifindex = u32At(out, off + LW_FRAME.ifindex);
      const flen = u32At(out, off + LW_FRAME.len);
      const segMax = u32At(out, off + LW_FRAME.segMax);
      const at = off + LW_FRAME.size;
      this.sinks.get(ifindex)?.transmit(out.subarray(at, at + flen), segMax);
      off += frameRecord(flen);
    }
  }

  /**
   * Hands one sink views of its frames: spans holds (offset, length, segMax) triples;
   * segs, whether any segMax is set.
   */
  #transmitSpans(ifindex: number, spans: readonly number[], segs: boolean): void {
    const sink = this.sinks.get(ifindex);
    if (!sink) return;
    const u8 = this.heap.u8();
    const n = spans.length / 3;
    const frames: Uint8Array[] = new Array<Uint8Array>(n);
    for (let i = 0, j = 0; i < n; i++, j += 3) frames[i] = u8.subarray(spans[j]!, spans[j]! + spans[j + 1]!);
    if (!segs) {
      sink.transmitViews(frames);
      return;
    }
    const seg: number[] = new Array<number>(n);
    for (let i = 0; i < n; i++) seg[i] = spans[i * 3 + 2]!;
    sink.transmitViews(frames, seg);
  }

  /** Whether every frame in the outbox goes to a sink that takes views. */
  #viewsOnly(base: number, len: number): boolean {
    const u8 = this.heap.u8();
    for (let off = 0; off + LW_FRAME.size <= len; ) {
      const sink = this.sinks.get(u32At(u8, base + off + LW_FRAME.ifindex));
      if (sink !== undefined && !sink.takesViews) return false;
      off += frameRecord(u32At(u8, base + off + LW_FRAME.len));
    }
    return true;
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
    if (len > POOL_MAX) return this.heap.copy(base, len);
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

  /** Wakes what the change stream names; a woken waiter may call in and post more. */
  #drainChanged(): void {
    const buf = this.#changedBuf;
    for (;;) {
      const n = this.abi.stack_changed(buf, CHANGED_BATCH);
      if (n <= 0) return;
      // Read the whole batch before waking anyone: a waiter's call may grow memory.
      const dv = this.heap.dv();
      const batch: number[] = new Array<number>(n * 3);
      for (let i = 0, p = buf; i < n; i++, p += LW_CHANGE.size) {
        batch[i * 3] = dv.getUint32(p + LW_CHANGE.kind, true);
        batch[i * 3 + 1] = dv.getInt32(p + LW_CHANGE.id, true);
        batch[i * 3 + 2] = dv.getUint32(p + LW_CHANGE.events, true);
      }
      for (let i = 0; i < n; i++) this.changes.notify(batch[i * 3]!, batch[i * 3 + 1]!, batch[i * 3 + 2]!);
      if (n < CHANGED_BATCH) return;
    }
  }

  /** Arms one timer for lwIP's next timeout; none when lwIP has none armed. */
  #schedule(): void {
    const ms = this.abi.stack_next_timeout();
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

  /**
   * Whether an open fd keeps a Node process alive (Socket#ref, Socket#unref): the Node
   * adapters unref their sockets and decide the process's lifetime as Node does.
   */
  holdFd(fd: number, hold: boolean): void {
    if (hold) this.openFds.add(fd);
    else this.openFds.delete(fd);
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
    const now = this.abi.sock_events(fd);
    if (now < 0) return Promise.resolve(POLLNVAL);
    if (now & (mask | ALWAYS)) return Promise.resolve(now & (mask | ALWAYS));
    return new Promise<number>((resolve, reject) => {
      const w = new ChangeWait(this, CHANGE.SOCK, fd, mask | ALWAYS, signal, resolve, reject);
      this.changes.add(w);
      signal?.addEventListener('abort', w, { once: true });
      if (deadline !== Infinity) {
        w.timer = this.clock.setTimer(() => w.fail(onTimeout()), Math.max(0, deadline - this.clock.now()));
      }
    });
  }

  /**
   * Waits until the change stream names id of kind (an epoll instance with events, a DNS
   * answer, a DHCP lease gained or lost): resolves true, or false once the deadline (in
   * this.clock's milliseconds; Infinity for none) passes. Aborting rejects with the
   * signal's reason. The caller checks the state itself and waits again if need be.
   */
  waitChange(kind: ChangeKind, id: number, deadline: number, signal?: AbortSignal): Promise<boolean> {
    this.assertAlive();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<boolean>((resolve, reject) => {
      const w = new ChangeWait(this, kind, id, 0, signal, () => resolve(true), reject);
      this.changes.add(w);
      signal?.addEventListener('abort', w, { once: true });
      if (deadline !== Infinity) {
        w.timer = this.clock.setTimer(() => {
          w.done();
          resolve(false);
        }, Math.max(0, deadline - this.clock.now()));
      }
    });
  }

  /** The stack cannot go on (a wasm trap, or a bug): reject every pending wait. */
  fail(err: Error): void {
    if (this.#failure || this.#disposed) return;
    this.#failure = err;
    this.#clearTimer();
    const wrapped = new StackError('ESTACKFAILED', `lwip-wasm: the stack failed: ${err.message}`, { cause: err });
    this.changes.failAll(wrapped);
    this.#onFailure(err);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#clearTimer();
    const err = new StackError('ESTACKDISPOSED', 'lwip-wasm: the stack was disposed');
    this.changes.failAll(err);
  }
}

/** One wait in the change stream: its own abort listener (handleEvent) and timer. */
class ChangeWait implements Waiter {
  timer: ClockTimer | undefined;

  constructor(
    readonly core: Core,
    readonly kind: ChangeKind,
    readonly id: number,
    readonly mask: number,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (events: number) => void,
    readonly reject: (err: unknown) => void,
  ) {}

  done(): void {
    this.core.changes.remove(this);
    this.timer?.clear();
    this.signal?.removeEventListener('abort', this);
  }

  wake(events: number): void {
    this.done();
    this.resolve(events);
  }

  fail(err: Error): void {
    this.done();
    this.reject(err);
  }

  /** The signal's 'abort' event. */
  handleEvent(): void {
    this.done();
    this.reject(this.signal!.reason);
  }
}
