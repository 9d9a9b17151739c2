// One client: a WebSocket carrying ethernet frames, batched (lwip-wasm.batch.v2 or v1,
// when the client offered it) or one per binary message. Every frame from the client passes, in
// order, the size limit, the rate limits, parsing, the mode's check (destination filter,
// anti-spoofing) and the connection limit; a frame that fails is dropped and counted,
// and a refused TCP segment is answered with an RST. A malformed batch ends the session
// with close code 1002 and a reason that says what was wrong.
import type { WebSocket } from 'ws';
import { BATCH_CLOSE_CODE, BATCH_MESSAGE_BYTES, BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL, BatchWriter, BufferPool, readBatch, SEGMENT_FRAME_MAX } from '../transports/batch.js';
import { parseFrame, PROTO_TCP, type Parsed } from './frame.js';
import { prohibitedFor, resetFor } from './forge.js';
import { Identity, type Registry } from './identity.js';
import { ConnectionTable, FragmentTable, TokenBucket } from './limits.js';
import type { Drop, Mode, ModeClient, SessionPort } from './modes/mode.js';
import type { Resolved } from './options.js';
import { zeroDrops, zeroTraffic, type DropReason, type SessionStats, type TrafficCounters } from './stats.js';

/**
 * Message buffers every session sends from and `ws` hands back once written (64 of 256
 * KiB at most kept, 16 MiB): a fresh buffer per message was most of what the relay's
 * garbage collector had to do during a download (bench/browser.mjs).
 */
const MESSAGES = new BufferPool(BATCH_MESSAGE_BYTES, 64);
/**
 * Smaller messages are sent as copies of their own size: a client that stops reading
 * while small frames keep coming (its ACKs, a flood in hub mode) must not pin a pooled
 * buffer per message, since the high-water mark counts bytes, not buffers.
 */
const OWN_MIN = BATCH_MESSAGE_BYTES / 2;

/** Frames held while the backend starts (a gateway takes a few ms); beyond, they are lost as on a link coming up. */
const EARLY_FRAMES = 64;

export interface SessionContext {
  options: Resolved;
  mode: Mode;
  registry: Registry;
  /** Totals across sessions. */
  totals: TrafficCounters;
  drops: Record<DropReason, number>;
  /** The mode could not give this session a backend (its gateway failed to start). */
  onBackendFailure(): void;
  onEnd(session: Session): void;
}

export class Session implements ModeClient {
  readonly id: number;
  readonly identity: Identity;
  readonly #ws: WebSocket;
  readonly #ctx: SessionContext;
  readonly #remote: string;
  readonly #origin: string | null;
  readonly #since = Date.now();
  readonly #frames: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #connections: ConnectionTable;
  readonly #fragments = new FragmentTable();
  readonly #counters = zeroTraffic();
  readonly #dropped = zeroDrops();
  readonly #logged = new Set<string>();
  #port: SessionPort | undefined;
  /** Frames that passed every check while the backend was starting; sent once it is up. */
  readonly #early: { frame: Uint8Array; seg: number }[] = [];
  #ended = false;
  readonly #batch: boolean;
  /** The client speaks lwip-wasm.batch.v2 (selected only in nat mode). */
  readonly offload: boolean;
  readonly #writer = new BatchWriter(BATCH_MESSAGE_BYTES, MESSAGES);
  #flushQueued = false;
  #silentTimer: ReturnType<typeof setTimeout>;

  /** The client's source address (for the per-address cap). */
  readonly address: string;

  constructor(id: number, ws: WebSocket, ctx: SessionContext, remote: string, origin: string | null, address = '?') {
    const o = ctx.options;
    this.id = id;
    this.address = address;
    this.#ws = ws;
    this.#ctx = ctx;
    this.#remote = remote;
    this.#origin = origin;
    this.identity = new Identity(id, ctx.registry, o.subnet, {}, { subnet6: o.subnet6, ipv6NeedsSubnet: o.mode === 'tap' });
    this.#frames = new TokenBucket(o.framesPerSecond);
    this.offload = ws.protocol === BATCH_OFFLOAD_PROTOCOL;
    // v2: a burst of at least one whole segment, whatever the rate.
    this.#bytes = new TokenBucket(o.bytesPerSecond, this.offload ? Math.max(o.bytesPerSecond, SEGMENT_FRAME_MAX) : o.bytesPerSecond);
    this.#connections = new ConnectionTable(o.maxConnections, o.connectionIdleTimeout, o.connectionsPerSecond);
    // A client that says nothing at all holds a slot for nobody: close it after a while.
    this.#silentTimer = setTimeout(() => {
      if (this.#counters.framesIn === 0) this.#close(4408, `lwip-wasm relay: the client sent nothing for ${o.silentTimeout} ms`);
    }, o.silentTimeout);
    this.#silentTimer.unref?.();
    ws.binaryType = 'nodebuffer';
    this.#batch = this.offload || ws.protocol === BATCH_PROTOCOL;
    this.#writer.v2 = this.offload;
    ws.on('message', (data, isBinary) => {
      const msg = toBytes(data);
      if (!isBinary) this.#drop({ reason: 'malformed', detail: 'a text message (frames are binary messages)' }, msg);
      else if (!this.#batch) this.#fromClient(msg);
      else this.#fromClientBatch(msg);
    });
    ws.on('close', () => this.end('client closed'));
    ws.on('error', () => this.end('client error'));
    ctx.mode.open(this).then(
      (port) => {
        if (this.#ended) return port.close();
        this.#port = port;
        for (const e of this.#early.splice(0)) port.send(e.frame, e.seg);
      },
      (err: Error) => {
        ctx.onBackendFailure();
        this.fail(`backend failed: ${err.message}`);
      },
    );
  }

  #fromClientBatch(msg: Uint8Array): void {
    // Records longer than maxFrameSize are a broken batch here, not an oversize frame:
    // within a batch the lengths are all there is, so one that lies ends the session.
    const batch = readBatch(msg, this.#ctx.options.maxFrameSize, this.offload);
    if (batch.error !== null) {
      this.#drop({ reason: 'malformed', detail: `a malformed batch: ${batch.error}` }, msg);
      this.#close(BATCH_CLOSE_CODE, `malformed batch: ${batch.error}`);
      return;
    }
    const segs = batch.segs;
    for (let i = 0; i < batch.frames.length; i++) {
      if (this.#ended) return;
      this.#fromClient(batch.frames[i]!, segs ? segs[i]! : 0);
    }
  }

  /** seg: a TCP segment over the MTU (v2), the largest IP packet it stands for. */
  #fromClient(frame: Uint8Array, seg = 0): void {
    const o = this.#ctx.options;
    this.#counters.framesIn++;
    this.#counters.bytesIn += frame.length;
    this.#ctx.totals.framesIn++;
    this.#ctx.totals.bytesIn += frame.length;
    // A segment may be 64 KiB (readBatch bounds it); the pieces it stands for may not
    // be larger than the frames this relay takes.
    if (seg > 0 ? seg + 18 > o.maxFrameSize : frame.length > o.maxFrameSize) {
      const what = seg > 0 ? `a segment cut into ${seg}-byte packets` : `a ${frame.length}-byte frame`;
      this.#drop({ reason: 'oversize', detail: `${what} (limit ${o.maxFrameSize})` }, frame);
      return;
    }
    const now = Date.now();
    if (!this.#frames.take(1, now) || !this.#bytes.take(frame.length, now)) {
      this.#drop({ reason: 'rate', detail: `over ${o.framesPerSecond} frames/s or ${o.bytesPerSecond} bytes/s` }, frame);
      return;
    }
    const p = parseFrame(frame);
    // Only a TCP segment may be carried whole (v2); anything else over the MTU is refused.
    const notTcp = seg > 0 && !(p.kind === 'ip' && p.ip.proto === PROTO_TCP && !p.ip.fragment);
    const refused = p.kind === 'malformed' ? { reason: 'malformed' as const, detail: p.why }
      : notTcp ? { reason: 'oversize' as const, detail: `a ${frame.length}-byte frame marked as a segment that is not a TCP packet` }
      : this.#ctx.mode.filter(this, p, frame);
    if (refused) {
      this.#drop(refused, frame, p);
      return;
    }
    // A later fragment has no ports to judge: it goes on only behind a first fragment
    // that passed every check, so a header hidden in one cannot walk past the rules. (A
    // terminating backend reassembles first and judges the whole datagram.)
    if (this.#ctx.mode.terminates) {
      this.#toBackend(frame, seg);
      return;
    }
    if (p.kind === 'ip' && p.ip.fragment && !this.#fragments.pass(p.ip, now)) {
      this.#drop({ reason: 'fragment', detail: 'a later fragment of a datagram whose first fragment did not pass (or never came)' }, frame, p);
      return;
    }
    if (p.kind === 'ip' && p.ip.proto === PROTO_TCP) {
      const flow = this.#connections.outbound(p.ip, now);
      if (flow === 'limit') {
        this.#drop({ reason: 'connections', detail: `more than ${o.maxConnections} TCP connections`, reset: true }, frame, p);
        return;
      }
      if (flow === 'rate') {
        this.#drop({ reason: 'connections', detail: `more than ${o.connectionsPerSecond} new TCP connections a second`, reset: true }, frame, p);
        return;
      }
    }
    this.#toBackend(frame);
  }

  #toBackend(frame: Uint8Array, seg = 0): void {
    if (this.#port) this.#port.send(frame, seg);
    else if (this.#early.length < EARLY_FRAMES) this.#early.push({ frame, seg });
  }

  /** The backend refused one of the client's flows. */
  refuse(reason: DropReason, detail: string): void {
    this.#count(reason, detail);
  }

  /**
   * A frame from the backend for this client; view: valid only during this call; seg: a
   * TCP segment over the MTU (the backend sends those only when offload is on).
   */
  deliver(frame: Uint8Array, view = false, seg = 0): void {
    if (this.#ended || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount + this.#writer.pending > this.#ctx.options.clientHighWaterMark) {
      // The client is not keeping up: drop, as a congested link would, rather than queue without bound.
      this.#counters.backpressureDrops++;
      this.#ctx.totals.backpressureDrops++;
      return;
    }
    const type = ((frame[12] ?? 0) << 8) | (frame[13] ?? 0);
    // A terminating backend (nat) counts the client's connections itself.
    if (!this.#ctx.mode.terminates && (type === 0x0800 || type === 0x86dd)) {
      const p = parseFrame(frame);
      if (p.kind === 'ip') this.#connections.inbound(p.ip);
    }
    this.#counters.framesOut++;
    this.#counters.bytesOut += frame.length;
    this.#ctx.totals.framesOut++;
    this.#ctx.totals.bytesOut += frame.length;
    if (!this.#batch) {
      this.#ws.send(view ? frame.slice() : frame, { binary: true });
      return;
    }
    // Frames from one turn of the event loop go out as one message (or a few, 256 KiB
    // each; the writer copies each frame in): setImmediate runs once this turn's I/O
    // callbacks (every read from the backend) are done, so a burst that arrives in
    // several reads still shares messages.
    // The messages are the writer's own buffers, handed back once `ws` has written them:
    // a fresh copy per message cost the relay a mark-compact every few dozen ms.
    if (!this.#writer.fits(frame.length)) this.#sendBatch();
    this.#writer.push(frame, seg);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(() => {
        this.#flushQueued = false;
        if (!this.#ended && this.#ws.readyState === this.#ws.OPEN) this.#sendBatch();
      });
    }
  }

  #sendBatch(): void {
    if (this.#writer.pending < OWN_MIN) {
      const copy = this.#writer.take();
      if (copy) this.#ws.send(copy, { binary: true });
      return;
    }
    const msg = this.#writer.takeOwned();
    if (msg) this.#ws.send(msg, { binary: true }, () => this.#writer.recycle(msg));
  }

  #count(reason: DropReason, detail: string): void {
    this.#dropped[reason]++;
    this.#ctx.drops[reason]++;
    if (!this.#logged.has(reason)) {
      // Once per client and kind: a flood of refusals must not become a flood of log lines.
      this.#logged.add(reason);
      this.#ctx.options.log(`client ${this.id}: ${reason}: ${detail} (dropped; further ${reason} drops are counted, not logged)`);
    }
  }

  #drop(d: Drop, frame: Uint8Array, p?: Parsed): void {
    this.#count(d.reason, d.detail);
    if (p?.kind !== 'ip') return;
    const answer = d.reset ? resetFor(p.ip, p.srcMac, p.dstMac) : d.prohibit ? prohibitedFor(p.ip, frame, p.srcMac, p.dstMac) : null;
    if (answer) this.deliver(answer);
  }

  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#ws.resume();
  }

  fail(reason: string): void {
    // 1011: the server hit a condition it cannot go on from.
    this.#close(1011, reason);
  }

  #close(code: number, reason: string): void {
    if (this.#ended) return;
    this.#ctx.options.log(`client ${this.id}: closed: ${reason}`);
    // A close reason must fit in 123 bytes.
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason.slice(0, 120));
    this.end(reason, false);
  }

  /** Ends the session (idempotent); the WebSocket is terminated unless a close is under way. */
  end(reason: string, terminate = true): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#silentTimer);
    this.#port?.close();
    this.#ctx.registry.release(this.id);
    if (terminate && this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate();
    this.#ctx.options.log(`client ${this.id}: disconnected (${reason})`);
    this.#ctx.onEnd(this);
  }

  stats(): SessionStats {
    return {
      id: this.id,
      remote: this.#remote,
      origin: this.#origin,
      since: this.#since,
      framing: this.#batch ? 'batch' : 'single',
      offload: this.offload,
      mac: this.identity.mac ?? null,
      ipv4: this.identity.ipv4 ?? null,
      connections: this.#port?.connections ?? this.#connections.size,
      udpFlows: this.#port?.udpFlows ?? 0,
      ...this.#counters,
      dropped: { ...this.#dropped },
    };
  }
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
