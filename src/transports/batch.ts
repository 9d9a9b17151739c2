// Batched framing for WebSocket links (subprotocol "lwip-wasm.batch.v1"): one message
// carries one or more ethernet frames, each behind a 2-byte big-endian length. Browsers
// pay per message, not per byte (about 5 MiB/s at one 1514-byte frame a message, over
// 40 at 64 KiB), so both ends gather the frames of one turn into as few messages as
// fit. Shared by the link and the relay; browser-safe (no Node modules).

/** The subprotocol name; a client that offers it, and a server that selects it, batch. */
export const BATCH_PROTOCOL = 'lwip-wasm.batch.v1';
/** Largest message either end sends (64 KiB); a receiver accepts up to 256 KiB. */
export const BATCH_MESSAGE_BYTES = 64 * 1024;
/** Close code for a malformed batch: 1002, protocol error (RFC 6455 section 7.4.1). */
export const BATCH_CLOSE_CODE = 1002;

/**
 * Gathers frames into messages. push() returns a full message when the next frame would
 * not fit; take() returns what is pending (or null), for the end of a turn.
 */
export class BatchWriter {
  #frames: Uint8Array[] = [];
  #bytes = 0;
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
    const full = this.#bytes > 0 && this.#bytes + 2 + frame.byteLength > this.#limit ? this.take() : null;
    this.#frames.push(frame);
    this.#bytes += 2 + frame.byteLength;
    return full;
  }

  /** The pending frames as one message, or null when none wait. */
  take(): Uint8Array | null {
    if (this.#bytes === 0) return null;
    const out = new Uint8Array(this.#bytes);
    let o = 0;
    for (const f of this.#frames) {
      out[o] = f.byteLength >>> 8;
      out[o + 1] = f.byteLength & 0xff;
      out.set(f, o + 2);
      o += 2 + f.byteLength;
    }
    this.#frames = [];
    this.#bytes = 0;
    return out;
  }

  clear(): number {
    const n = this.#frames.length;
    this.#frames = [];
    this.#bytes = 0;
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
