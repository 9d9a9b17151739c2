// An in-memory cable between two stacks in the same process. Frames sent in one turn
// of the event loop arrive together, one macrotask later, as one batch. When the far
// end is a stack, a frame is copied straight from the sender's wasm memory into a
// pbuf of the receiver's as it is sent (LinkReceiver.stage), and fed a turn later: one
// copy per byte, and no buffer in between.
import { FrameBatch, type Link, type LinkReceiver } from './link.js';
import { scheduleMacrotask } from './schedule.js';

export interface PairOptions {
  /** MTU of both ends (default 1500; 576 to 65517). */
  mtu?: number;
  /**
   * Bytes queued in one direction above which send() returns false (default 4 MiB:
   * several full TCP windows; a veth's backlog holds about 1000 frames).
   */
  highWaterMark?: number;
  /**
   * Offloads, as veth and loopback have them (default true), between two stacks:
   * - checksums: a frame one stack sends reaches the other untouched, so the receiving
   *   stack does not check its checksums again. They are still computed, so a capture
   *   shows them right; frames anything else puts on the cable (send(), a fault
   *   wrapper, a capture) are checked.
   * - segmentation (TSO and GRO in one): TCP sends segments of up to about 64 KiB (a
   *   whole number of MSS) and the far stack takes them whole, so a capture shows
   *   frames over the MTU, as tcpdump on a veth does. A far stack that forwards cuts
   *   them to the MSS first. Only when both ends are stacks; a fault wrapper on either
   *   end (impair) turns it off for both directions.
   * false: MTU-sized frames, every one checked, as on a real wire.
   */
  offload?: boolean;
}

/** One end of a pair. */
export class PairLink implements Link {
  readonly mtu: number;
  #peer: PairLink | undefined;
  #receiver: LinkReceiver | undefined;
  readonly #queue = new FrameBatch();
  /** Frames already in the peer stack's memory (its stage() handles), after #queue's. */
  #staged: number[] = [];
  #stagedBytes = 0;
  #queued = 0;
  #scheduled = false;
  #blocked = false;
  #closed = false;
  readonly #highWaterMark: number;
  readonly #offload: boolean;
  /** Frames this end has sent and received, for tests and diagnostics. */
  readonly counters = { framesSent: 0, framesReceived: 0, bytesSent: 0, bytesReceived: 0, dropped: 0 };

  constructor(mtu: number, highWaterMark: number, offload = true) {
    this.mtu = mtu;
    this.#highWaterMark = highWaterMark;
    this.#offload = offload;
  }

  /** @internal */
  _connect(peer: PairLink): void {
    this.#peer = peer;
  }

  attach(receiver: LinkReceiver): void {
    if (this.#receiver) throw new Error('lwip-wasm: this link end is already attached to a stack');
    this.#receiver = receiver;
    // The far end's stack, attached first, may send it whole segments now.
    const peer = this.#peer;
    if (peer?.segmentOffload) peer.#receiver?.segmentOffloadChanged?.();
  }

  /**
   * @internal Link.segmentOffload: the far end is a stack that takes segments over the
   * MTU (offload on, on both ends).
   */
  get segmentOffload(): boolean {
    const peer = this.#peer;
    return this.#offload && peer !== undefined && peer.#offload && peer.#receiver?.offload === true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: Uint8Array, segMax?: number): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('lwip-wasm: a frame must be a Uint8Array');
    if (segMax !== undefined && !(Number.isInteger(segMax) && segMax >= 0 && segMax <= 0xffff)) {
      throw new RangeError(`lwip-wasm: segMax must be an integer from 0 to 65535, got ${String(segMax)}`);
    }
    return this.#take([frame], false, segMax !== undefined && segMax > 0 ? [segMax] : undefined);
  }

  /** @internal send() of frames valid only during this call (see Link.sendViews). */
  sendViews(frames: readonly Uint8Array[], segs?: readonly number[]): boolean {
    return this.#take(frames, true, segs);
  }

  #take(frames: readonly Uint8Array[], views: boolean, segs: readonly number[] | undefined): boolean {
    if (this.#closed) {
      this.counters.dropped += frames.length;
      return false;
    }
    const peer = this.#peer;
    const far = peer ? peer.#receiver : undefined;
    let bytes = 0;
    for (const f of frames) bytes += f.byteLength;
    if (far?.stage && this.#queue.length === 0) {
      // Only a stack's own frames (views) are trusted to be intact.
      for (const h of far.stage(frames, views && this.#offload, segs)) this.#staged.push(h);
      this.#stagedBytes += bytes;
    } else {
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        this.#queue.push(views ? f.slice() : f, segs ? segs[i]! : 0);
      }
    }
    this.#queued += bytes;
    this.counters.framesSent += frames.length;
    this.counters.bytesSent += bytes;
    if (!this.#scheduled) {
      this.#scheduled = true;
      scheduleMacrotask(() => this.#deliver());
    }
    if (this.#queued > this.#highWaterMark) {
      this.#blocked = true;
      return false;
    }
    return true;
  }

  #deliver(): void {
    this.#scheduled = false;
    const [batch, hints] = this.#queue.take();
    const staged = this.#staged;
    const stagedBytes = this.#stagedBytes;
    this.#staged = [];
    this.#stagedBytes = 0;
    this.#queued = 0;
    const peer = this.#peer;
    const far = peer ? peer.#receiver : undefined;
    if (!this.#closed && peer && far && !peer.#closed) {
      if (batch.length > 0) {
        peer.counters.framesReceived += batch.length;
        for (const f of batch) peer.counters.bytesReceived += f.byteLength;
        far.onFrames(batch, hints);
      }
      if (staged.length > 0) {
        peer.counters.framesReceived += staged.length;
        peer.counters.bytesReceived += stagedBytes;
        far.onStaged!(staged, stagedBytes);
      }
    } else {
      this.counters.dropped += batch.length + staged.length; // nobody on the other end of the cable
      if (staged.length > 0) far?.dropStaged?.(staged);
    }
    if (this.#blocked && !this.#closed) {
      this.#blocked = false;
      this.#receiver?.onDrain();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#receiver?.onClose();
    this.#peer?.close();
  }
}

/** Two connected link ends: frames sent on one arrive at the other. */
export function createPair(options: PairOptions = {}): [PairLink, PairLink] {
  const mtu = options.mtu ?? 1500;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65517) {
    throw new RangeError(`lwip-wasm: pair mtu must be an integer from 576 to 65517, got ${String(options.mtu)}`);
  }
  const hwm = options.highWaterMark ?? 4 * 1024 * 1024;
  if (!(hwm > 0)) throw new RangeError('lwip-wasm: highWaterMark must be positive');
  const offload = options.offload ?? true;
  if (typeof offload !== 'boolean') throw new TypeError(`lwip-wasm: pair offload must be a boolean, got ${String(options.offload)}`);
  const a = new PairLink(mtu, hwm, offload);
  const b = new PairLink(mtu, hwm, offload);
  a._connect(b);
  b._connect(a);
  return [a, b];
}
