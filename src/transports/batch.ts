// Batched framing for WebSocket links: one message carries one or more ethernet frames,
// each behind a length. Browsers pay per message, not per byte (about 5 MiB/s at one
// 1514-byte frame a message, over 40 at 64 KiB), so both ends gather the frames of one
// turn into as few messages as fit. Two versions, each a subprotocol:
// - lwip-wasm.batch.v1: a 2-byte length before each frame;
// - lwip-wasm.batch.v2: a 4-byte length and a 2-byte segment size before each frame, and
//   both ends take TCP segments over the MTU whole (segmentation offload, as a veth
//   has it): a stack sends up to 64 KiB of a stream as one frame, so the browser, the
//   relay and both stacks handle one frame where they would handle 40.
// Shared by the link and the relay; browser-safe (no Node modules).

/** Subprotocol of v1 framing: a client that offers it, and a server that selects it, batch. */
export const BATCH_PROTOCOL = 'lwip-wasm.batch.v1';
/** Subprotocol of v2 framing: batches, and TCP segments over the MTU cross whole. */
export const BATCH_OFFLOAD_PROTOCOL = 'lwip-wasm.batch.v2';
/**
 * Largest message either end sends (256 KiB, the most a receiver takes): in Chromium a
 * download through the relay ran about 12% faster than with 64 KiB messages, since each
 * message, and each message of ACKs it draws back, has a fixed cost (bench/browser.mjs).
 */
export const BATCH_MESSAGE_BYTES = 256 * 1024;
/** Close code for a malformed batch: 1002, protocol error (RFC 6455 section 7.4.1). */
export const BATCH_CLOSE_CODE = 1002;
/**
 * v2: the largest frame that carries a segment over the MTU: what a stack takes whole
 * (wasm/stack_rx.c). A stack's segments stay below it (64000 bytes of payload at most).
 */
export const SEGMENT_FRAME_MAX = 65535;

/**
 * Message buffers of one size for writers that send with takeOwned(), handed back once
 * sent; at most `max` are kept. A relay shares one among its sessions, so the memory
 * kept is bounded whatever the number of clients, and an idle session holds none.
 */
export class BufferPool {
  readonly size: number;
  readonly #max: number;
  readonly #free: Uint8Array[] = [];

  constructor(size: number, max: number) {
    this.size = size;
    this.#max = max;
  }

  get(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  put(buf: Uint8Array): void {
    if (buf.byteLength === this.size && this.#free.length < this.#max) this.#free.push(buf);
  }
}

/** A record's header: v1 a 2-byte length; v2 a 4-byte length and a 2-byte segment size. */
const headerBytes = (v2: boolean): number => (v2 ? 6 : 2);

/**
 * Gathers frames into messages, copying each frame in as it is pushed (so a frame may be
 * a view valid only during the call). push() returns a full message when the next frame
 * would not fit; take() returns what is pending (or null), for the end of a turn. A
 * message returned is the caller's own copy.
 */
export class BatchWriter {
  // Frames gather in one buffer that grows to the limit and is kept, and each message
  // is copied out at its exact size: a fresh limit-sized buffer per message instead cost
  // the relay about 10% of its time in GC (bench/browser.mjs, --cpu-prof).
  #buf: Uint8Array | null = null;
  /** Where takeOwned() messages come from and go back to (recycle). */
  readonly #pool: BufferPool | null;
  #bytes = 0;
  #frames = 0;
  readonly #limit: number;
  /** Record layout: v2 when true (set per socket, before the first push). */
  v2 = false;

  constructor(limit = BATCH_MESSAGE_BYTES, pool: BufferPool | null = null) {
    this.#limit = limit;
    this.#pool = pool;
  }

  /** Bytes waiting to be sent, headers included. */
  get pending(): number {
    return this.#bytes;
  }

  /** Whether a frame of n bytes joins the pending message (false: push() would send it first). */
  fits(n: number): boolean {
    return this.#bytes === 0 || this.#bytes + headerBytes(this.v2) + n <= this.#limit;
  }

  /**
   * Adds a frame (v1: at most 65535 bytes); seg (v2 only): for a TCP segment over the
   * MTU, the largest IP packet it stands for, 0 for a frame as it is. Returns the message
   * it pushed out, if any.
   */
  push(frame: Uint8Array, seg = 0): Uint8Array | null {
    const n = frame.byteLength;
    const h = headerBytes(this.v2);
    const full = this.fits(n) ? null : this.take();
    const o = this.#bytes;
    if (!this.#buf && this.#pool && this.#pool.size >= h + n) this.#buf = this.#pool.get();
    if (!this.#buf || this.#buf.byteLength < o + h + n) {
      const grown = new Uint8Array(Math.min(Math.max(this.#limit, h + n), Math.max(4096, 2 * (o + h + n))));
      if (this.#buf && o > 0) grown.set(this.#buf.subarray(0, o));
      this.#buf = grown;
    }
    const b = this.#buf;
    if (this.v2) {
      b[o] = n >>> 24;
      b[o + 1] = (n >>> 16) & 0xff;
      b[o + 2] = (n >>> 8) & 0xff;
      b[o + 3] = n & 0xff;
      b[o + 4] = seg >>> 8;
      b[o + 5] = seg & 0xff;
    } else {
      b[o] = n >>> 8;
      b[o + 1] = n & 0xff;
    }
    b.set(frame, o + h);
    this.#bytes += h + n;
    this.#frames++;
    return full;
  }

  /** The pending frames as one message, or null when none wait. */
  take(): Uint8Array | null {
    if (this.#bytes === 0 || !this.#buf) return null;
    const out = this.#buf.slice(0, this.#bytes);
    this.#bytes = 0;
    this.#frames = 0;
    return out;
  }

  /**
   * The pending frames as one message in the writer's own buffer, with no copy, or null.
   * The caller hands the message back with recycle() once it is sent (`ws`'s send
   * callback), and must not touch it after. With a pool, each message is a buffer of
   * the pool's; the next frames gather in another.
   */
  takeOwned(): Uint8Array | null {
    if (this.#bytes === 0 || !this.#buf) return null;
    const out = this.#buf.subarray(0, this.#bytes);
    this.#buf = null;
    this.#bytes = 0;
    this.#frames = 0;
    return out;
  }

  /** Takes back a message from takeOwned(), once sent, into the pool. */
  recycle(msg: Uint8Array): void {
    this.#pool?.put(new Uint8Array(msg.buffer, msg.byteOffset));
  }

  /** Forgets the pending frames; returns how many there were. */
  clear(): number {
    const n = this.#frames;
    this.#bytes = 0;
    this.#frames = 0;
    return n;
  }
}

export type BatchRead =
  | { frames: Uint8Array[]; segs: number[] | null; error: null }
  | { frames: null; segs: null; error: string };

/**
 * Splits a batch message into its frames (views into msg, no copy), each at least 14
 * bytes and at most maxFrame; in v2, a frame with a segment size may be up to
 * SEGMENT_FRAME_MAX. Returns the frames and (v2, when any has one) each frame's segment
 * size, or the reason the message is malformed: then no frame of it is used, since a
 * broken length means the rest cannot be trusted.
 */
export function readBatch(msg: Uint8Array, maxFrame: number, v2 = false): BatchRead {
  const frames: Uint8Array[] = [];
  let segs: number[] | null = null;
  const h = headerBytes(v2);
  let o = 0;
  if (msg.byteLength === 0) return { frames: null, segs: null, error: 'an empty message' };
  while (o < msg.byteLength) {
    if (o + h > msg.byteLength) return { frames: null, segs: null, error: `a length cut short at byte ${o}` };
    const n = v2 ? (msg[o]! * 0x1000000) + ((msg[o + 1]! << 16) | (msg[o + 2]! << 8) | msg[o + 3]!) : (msg[o]! << 8) | msg[o + 1]!;
    const seg = v2 ? (msg[o + 4]! << 8) | msg[o + 5]! : 0;
    const limit = seg > 0 ? SEGMENT_FRAME_MAX : maxFrame;
    const bad = n === 0 ? `a zero length at byte ${o}`
      : o + h + n > msg.byteLength ? `a ${n}-byte frame at byte ${o} runs past the ${msg.byteLength}-byte message`
      : n < 14 ? `a ${n}-byte frame at byte ${o} is shorter than an ethernet header`
      : n > limit ? `a ${n}-byte frame at byte ${o} is over the ${limit}-byte limit`
      : null;
    if (bad) return { frames: null, segs: null, error: bad };
    if (seg > 0 && !segs) segs = new Array<number>(frames.length).fill(0);
    frames.push(msg.subarray(o + h, o + h + n));
    segs?.push(seg);
    o += h + n;
  }
  return { frames, segs, error: null };
}
