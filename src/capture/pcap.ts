// Packet capture: the classic pcap format (what tcpdump -w writes), so Wireshark, tshark
// and tcpdump can read what crossed a link. capture() wraps any link and records the
// frames in both directions; PcapWriter writes records for any other use.
import type { Link, LinkReceiver } from '../transports/link.js';
import { realClock, type Clock } from '../clock.js';

/** Where capture bytes go: a Node Writable (fs.createWriteStream), any { write }, or a function. */
export type ByteSink = { write(chunk: Uint8Array): unknown } | ((chunk: Uint8Array) => void);

export interface PcapOptions {
  /** Clock for the timestamps (default: real time). Pass the stacks' test clock to see virtual time. */
  clock?: Clock;
  /**
   * Wall-clock time in ms since 1970 that the clock's current reading maps to (default:
   * Date.now() when the writer is made), so a virtual clock's captures carry sane dates.
   */
  epoch?: number;
  /** Bytes kept of each frame (default 262144, tcpdump's); longer frames are cut. */
  snaplen?: number;
}

const LINKTYPE_ETHERNET = 1;
const PCAP_MAGIC_NS = 0xa1b23c4d; // nanosecond timestamps: virtual time can be fractional

/** Writes a pcap stream: the 24-byte file header at once, then one record per frame. */
export class PcapWriter {
  readonly snaplen: number;
  /** Frames written. */
  frames = 0;
  readonly #write: (chunk: Uint8Array) => void;
  readonly #clock: Clock;
  readonly #base: number;

  constructor(sink: ByteSink, options: PcapOptions = {}) {
    if (typeof sink === 'function') this.#write = sink;
    else if (sink && typeof sink.write === 'function') this.#write = (c) => void sink.write(c);
    else throw new TypeError('lwip-wasm: a capture needs a sink: a function or an object with write(bytes)');
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    const snaplen = options.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 14 || snaplen > 0x7fffffff) {
      throw new RangeError(`lwip-wasm: snaplen must be an integer from 14 to 2^31-1, got ${String(options.snaplen)}`);
    }
    const clock = options.clock ?? realClock;
    if (typeof clock.now !== 'function') throw new TypeError('lwip-wasm: clock must have now()');
    const epoch = options.epoch ?? Date.now();
    if (typeof epoch !== 'number' || !Number.isFinite(epoch) || epoch < 0) {
      throw new RangeError(`lwip-wasm: epoch must be ms since 1970, got ${String(options.epoch)}`);
    }
    this.snaplen = snaplen;
    this.#clock = clock;
    this.#base = epoch - clock.now();
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, PCAP_MAGIC_NS, true);
    h.setUint16(4, 2, true); // version 2.4
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // thiszone
    h.setUint32(12, 0, true); // sigfigs
    h.setUint32(16, snaplen, true);
    h.setUint32(20, LINKTYPE_ETHERNET, true);
    this.#write(new Uint8Array(h.buffer));
  }

  /** Records one ethernet frame, stamped with the clock's time now (or timeMs on it). */
  write(frame: Uint8Array, timeMs?: number): void {
    const t = this.#base + (timeMs ?? this.#clock.now());
    const kept = Math.min(frame.byteLength, this.snaplen);
    const rec = new Uint8Array(16 + kept);
    const dv = new DataView(rec.buffer);
    const sec = Math.floor(t / 1000);
    dv.setUint32(0, sec >>> 0, true);
    dv.setUint32(4, Math.min(999_999_999, Math.round((t - sec * 1000) * 1e6)), true);
    dv.setUint32(8, kept, true);
    dv.setUint32(12, frame.byteLength, true);
    rec.set(kept === frame.byteLength ? frame : frame.subarray(0, kept), 16);
    this.#write(rec);
    this.frames++;
  }
}

/** A link whose frames, both directions, are also written to a PcapWriter. */
export class CaptureLink implements Link {
  readonly inner: Link;
  readonly writer: PcapWriter;

  constructor(inner: Link, writer: PcapWriter) {
    if (!inner || typeof inner.send !== 'function' || typeof inner.attach !== 'function') {
      throw new TypeError('lwip-wasm: capture needs a Link to wrap');
    }
    this.inner = inner;
    this.writer = writer;
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  /** @internal the inner link's, so a capture changes nothing it carries (a TAP's offload). */
  get segmentOffload(): boolean {
    return this.inner.segmentOffload === true;
  }

  attach(receiver: LinkReceiver): void {
    this.inner.attach({
      offload: receiver.offload === true,
      onFrames: (frames, flags) => {
        for (const f of frames) this.writer.write(f);
        receiver.onFrames(frames, flags);
      },
      onDrain: () => receiver.onDrain(),
      onClose: (err) => receiver.onClose(err),
      segmentOffloadChanged: () => receiver.segmentOffloadChanged?.(),
    });
  }

  send(frame: Uint8Array, segMax?: number): boolean {
    if (frame instanceof Uint8Array) this.writer.write(frame);
    return segMax !== undefined && segMax > 0 ? this.inner.send(frame, segMax) : this.inner.send(frame);
  }

  close(): void {
    this.inner.close();
  }
}

/**
 * Wraps a link so every frame it carries, sent and received, is written as pcap to sink.
 * To capture an interface, wrap its link before addInterface. The sink's own
 * back-pressure is ignored (a capture never slows the link), so a slow file buffers.
 */
export function capture(link: Link, sink: ByteSink | PcapWriter, options: PcapOptions = {}): CaptureLink {
  const writer = sink instanceof PcapWriter ? sink : new PcapWriter(sink, options);
  return new CaptureLink(link, writer);
}
