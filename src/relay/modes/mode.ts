// What a relay mode provides: a check on each frame a client sends, and a port per
// client session that carries the frames that pass.
import type { Parsed } from '../frame.js';
import type { Identity } from '../identity.js';
import type { DropReason } from '../stats.js';

/**
 * A refusal: counted under reason; detail is logged once per client. reset: answer a TCP
 * segment with RST; prohibit: answer TCP or UDP with ICMP administratively prohibited.
 */
export interface Drop {
  reason: DropReason;
  detail: string;
  reset?: boolean;
  prohibit?: boolean;
}

/** The part of a session a mode sees. */
export interface ModeClient {
  readonly id: number;
  readonly identity: Identity;
  /**
   * The client speaks lwip-wasm.batch.v2: TCP segments over the MTU cross whole, both
   * ways (send and deliver with seg).
   */
  readonly offload: boolean;
  /**
   * A frame for the client; view: valid only during the call (copied if kept); seg: a
   * TCP segment over the MTU (offload only), the largest IP packet it stands for.
   */
  deliver(frame: Uint8Array, view?: boolean, seg?: number): void;
  /** The backend is gone: end the session with this reason. */
  fail(reason: string): void;
  /** Stop and restart reading the client (the backend pushes back). */
  pause(): void;
  resume(): void;
  /** The backend refused a flow (policy, limits): counted, and logged once per kind. */
  refuse(reason: DropReason, detail: string): void;
}

export interface SessionPort {
  /** Forwards a frame that passed every check; seg: as ModeClient.deliver's. */
  send(frame: Uint8Array, seg?: number): void;
  close(): void;
  /** A backend that tracks the client's flows itself (nat) reports them. */
  readonly connections?: number;
  readonly udpFlows?: number;
}

export interface Mode {
  readonly name: 'nat' | 'hub' | 'tap';
  /**
   * The backend terminates the client's traffic in a stack of its own (nat): it reassembles,
   * judges flows, counts connections and answers stale segments itself, so the session
   * skips its per-packet connection table and fragment gate.
   */
  readonly terminates: boolean;
  /** The mode's verdict on a frame the client sent (p is frame, parsed). */
  filter(client: ModeClient, p: Parsed, frame: Uint8Array): Drop | null;
  open(client: ModeClient): Promise<SessionPort>;
  close(): Promise<void>;
}
