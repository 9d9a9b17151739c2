// The one interface every link implements: it carries whole ethernet frames between
// a stack and something else (another stack, a relay, a TAP device).

/**
 * @internal Per-frame hints for LinkReceiver.onFrames, in lw_rx's flags layout
 * (wasm/lw_const.h; src/interface.ts checks they agree): the checksums are vouched for
 * but may be partial (a TAP with offload); from bit 16 up, the size a segment over the
 * MTU was meant to be cut to, as payload per piece (a TAP's kernel), or with SEG_IP as
 * the largest IP packet per piece (a stack's segMax, through a pair).
 */
export const RX_HINT_PARTIAL = 2;
export const RX_HINT_SEG_IP = 4;
export const RX_HINT_GSO_SHIFT = 16;

/** @internal onFrames' hint for a frame a stack sent with segMax (a pair's send). */
export function segHint(segMax: number): number {
  return segMax > 0 ? RX_HINT_SEG_IP + (segMax & 0xffff) * 2 ** RX_HINT_GSO_SHIFT : 0;
}

/**
 * @internal Frames gathered for one LinkReceiver.onFrames call, with each one's hint
 * (a segment over the MTU), passed only when any frame has one.
 */
export class FrameBatch {
  #frames: Uint8Array[] = [];
  #hints: number[] = [];
  #hinted = false;

  get length(): number {
    return this.#frames.length;
  }

  /** Adds a frame; segMax > 0: a segment over the MTU, cut to packets of at most that. */
  push(frame: Uint8Array, segMax = 0): void {
    const hint = segHint(segMax);
    this.#frames.push(frame);
    this.#hints.push(hint);
    if (hint !== 0) this.#hinted = true;
  }

  /** The frames and (when any has one) their hints, for onFrames; starts empty again. */
  take(): [frames: Uint8Array[], hints: number[] | undefined] {
    const out: [Uint8Array[], number[] | undefined] = [this.#frames, this.#hinted ? this.#hints : undefined];
    this.clear();
    return out;
  }

  clear(): void {
    this.#frames = [];
    this.#hints = [];
    this.#hinted = false;
  }
}

/** What a link calls on the stack it is attached to. */
export interface LinkReceiver {
  /**
   * A batch of incoming frames. The receiver owns them; the link must not reuse them.
   * @internal flags: per frame, what the link vouches for (a TAP with offload: checksums
   * the kernel left partial, segments larger than the MTU), as lw_rx flags.
   */
  onFrames(frames: readonly Uint8Array[], flags?: readonly number[]): void;
  /** @internal True when onFrames takes hints (a stack): a link may then offload. */
  readonly offload?: boolean;
  /**
   * @internal The link's segmentOffload changed (a pair: the far end's stack attached
   * after this one).
   */
  segmentOffloadChanged?(): void;
  /** The link has room again after send() returned false. */
  onDrain(): void;
  /** The link is gone for good; error says why, if it failed. */
  onClose(error?: Error): void;
  /**
   * @internal An in-memory pair's fast path: copies frames into the stack's memory now
   * and returns a handle for each (0: dropped); onStaged feeds the handles later, in
   * order. Trusted frames came straight from another stack's outbox (sendViews), so
   * their checksums need no second check. segs, when given, holds each frame's segMax
   * (a segment over the MTU from a stack with TSO on this pair; 0: none).
   */
  stage?(frames: readonly Uint8Array[], trusted: boolean, segs?: readonly number[]): number[];
  /** @internal Feeds frames stage() took; bytes is their total length. */
  onStaged?(handles: readonly number[], bytes: number): void;
  /** @internal Frees frames stage() took, unfed (the link closed first). */
  dropStaged?(handles: readonly number[]): void;
}

export interface Link {
  /** Largest IP packet the link carries (ethernet payload, without the 14-byte header). */
  readonly mtu: number;
  /** Attaches the stack's receiver. A link serves one receiver. */
  attach(receiver: LinkReceiver): void;
  /**
   * Queues one frame. Returns false when the link's queue is above its high-water mark:
   * the frame is still taken, but the sender should wait for onDrain before more.
   */
  send(frame: Uint8Array, segMax?: number): boolean;
  /**
   * @internal True when the link cuts TCP segments itself, or its far end takes them
   * whole (TSO), read after attach and at LinkReceiver.segmentOffloadChanged: the stack
   * then sends segments of several MSS, each with segMax, the largest IP packet to cut
   * it into. send() without segMax is a frame to send as it is.
   */
  readonly segmentOffload?: boolean;
  /**
   * @internal send() for frames valid only during the call (views of the stack's
   * memory), all taken: the link copies what it keeps, and calls into no stack but
   * through LinkReceiver.stage. Returns false when above the high-water mark. segs, when
   * given, holds each frame's segMax (0: none), as send()'s.
   */
  sendViews?(frames: readonly Uint8Array[], segs?: readonly number[]): boolean;
  /** Closes the link; both ends see onClose. */
  close(): void;
}
