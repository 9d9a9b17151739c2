// Batched framing for WebSocket links (subprotocol "lwip-wasm.batch.v1"): one message
// carries one or more ethernet frames, each behind a 2-byte big-endian length. Browsers
// pay per message, not per byte (about 5 MiB/s at one 1514-byte frame a message, over
// 40 at 64 KiB), so both ends gather the frames of one turn into as few messages as
// fit. Shared by the link and the relay; browser-safe (no Node modules).

/** The subprotocol name; a client that offers it, and a server that selects it, batch. */
export const BATCH_PROTOCOL = 'lwip-wasm.batch.v1';
/**
 * Largest message either end sends (256 KiB, the most a receiver takes): in Chromium a
 * download through the relay ran about 12% faster than with 64 KiB messages, since each
 * message, and each message of ACKs it draws back, has a fixed cost (bench/browser.mjs).
 */
export const BATCH_MESSAGE_BYTES = 256 * 1024;
/** Close code for a malformed batch: 1002, protocol error (RFC 6455 section 7.4.1). */
export const BATCH_CLOSE_CODE = 1002;

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
  #bytes = 0;
  #frames = 0;
  readonly #limit: number;

  constructor(limit = BATCH_MESSAGE_BYTES) {
    this.#limit = limit;
  }

  /** Bytes waiting to be sent, headers included. */
  get pending(): number {
    return this.#bytes;
  }

  /** Adds a frame (at most 65535 bytes); returns the message it pushed out, if any. */
  push(frame: Uint8Array): Uint8Array | null {
    const n = frame.byteLength;
    const full = this.#bytes > 0 && this.#bytes + 2 + n > this.#limit ? this.take() : null;
    const o = this.#bytes;
    if (!this.#buf || this.#buf.byteLength < o + 2 + n) {
      const grown = new Uint8Array(Math.min(Math.max(this.#limit, 2 + n), Math.max(4096, 2 * (o + 2 + n))));
      if (this.#buf && o > 0) grown.set(this.#buf.subarray(0, o));
      this.#buf = grown;
    }
    this.#buf[o] = n >>> 8;
    this.#buf[o + 1] = n & 0xff;
    this.#buf.set(frame, o + 2);
    this.#bytes += 2 + n;
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

  /** Forgets the pending frames; returns how many there were. */
  clear(): number {
    const n = this.#frames;
    this.#bytes = 0;
    this.#frames = 0;
    return n;
  }
}

/**
 * Splits a batch message into its frames (views into msg, no copy), each at least 14
 * and at most maxFrame bytes. Returns null and the frames, or the reason the message is
 * malformed (then no frame of it is used: a broken length means the rest cannot be trusted).
 */
export function readBatch(msg: Uint8Array, maxFrame: number): { frames: Uint8Array[]; error: null } | { frames: null; error: string } {
  const frames: Uint8Array[] = [];
  let o = 0;
  if (msg.byteLength === 0) return { frames: null, error: 'an empty message' };
  while (o < msg.byteLength) {
    if (o + 2 > msg.byteLength) return { frames: null, error: `a length cut short at byte ${o}` };
    const n = (msg[o]! << 8) | msg[o + 1]!;
    if (n === 0) return { frames: null, error: `a zero length at byte ${o}` };
    if (o + 2 + n > msg.byteLength) return { frames: null, error: `a ${n}-byte frame at byte ${o} runs past the ${msg.byteLength}-byte message` };
    if (n < 14) return { frames: null, error: `a ${n}-byte frame at byte ${o} is shorter than an ethernet header` };
    if (n > maxFrame) return { frames: null, error: `a ${n}-byte frame at byte ${o} is over the ${maxFrame}-byte limit` };
    frames.push(msg.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return { frames, error: null };
}
