// The one interface every link implements: it carries whole ethernet frames between
// a stack and something else (another stack, a relay, a TAP device).

/**
 * @internal Per-frame hints for LinkReceiver.onFrames, in lw_rx's flags layout
 * (wasm/lw_const.h; src/interface.ts checks they agree): the checksums are vouched for
 * but may be partial, and from bit 16 up the size a segment over the MTU was meant to
 * be cut to (a TAP with offload).
 */
export const RX_HINT_PARTIAL = 2;
export const RX_HINT_GSO_SHIFT = 16;

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
  /** The link has room again after send() returned false. */
  onDrain(): void;
  /** The link is gone for good; error says why, if it failed. */
  onClose(error?: Error): void;
  /**
   * @internal An in-memory pair's fast path: copies frames into the stack's memory now
   * and returns a handle for each (0: dropped); onStaged feeds the handles later, in
   * order. Trusted frames came straight from another stack's outbox (sendViews), so
   * their checksums need no second check.
   */
  stage?(frames: readonly Uint8Array[], trusted: boolean): number[];
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
   * @internal True when the link cuts TCP segments itself (TSO), read after attach: the
   * stack then sends segments of several MSS, each with segMax, the largest IP packet
   * to cut it into. send() without segMax is a frame to send as it is.
   */
  readonly segmentOffload?: boolean;
  /**
   * @internal send() for frames valid only during the call (views of the stack's
   * memory), all taken: the link copies what it keeps, and calls into no stack but
   * through LinkReceiver.stage. Returns false when above the high-water mark.
   */
  sendViews?(frames: readonly Uint8Array[]): boolean;
  /** Closes the link; both ends see onClose. */
  close(): void;
}
