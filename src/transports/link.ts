// The one interface every link implements: it carries whole ethernet frames between
// a stack and something else (another stack, a relay, a TAP device).

/** What a link calls on the stack it is attached to. */
export interface LinkReceiver {
  /** A batch of incoming frames. The receiver owns them; the link must not reuse them. */
  onFrames(frames: readonly Uint8Array[]): void;
  /** The link has room again after send() returned false. */
  onDrain(): void;
  /** The link is gone for good; error says why, if it failed. */
  onClose(error?: Error): void;
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
  send(frame: Uint8Array): boolean;
  /** Closes the link; both ends see onClose. */
  close(): void;
}
