// Connection-level faults, as toxiproxy's toxics, applied to the TCP connections a filter
// names, in place (no proxy to connect through): latency, bandwidth, slow close, timeout,
// reset peer, limit data, slicer. Each acts on one direction of a connection (upstream:
// from the end that connected; downstream: towards it) or both; toxicity is the chance
// that a given connection is affected, drawn once per connection from the seed.
import { Pipeline } from '../faults/impair.js';
import { seededRandom, type Random } from '../random.js';
import type { Clock, ClockTimer } from '../clock.js';
import { compileFilter, type FlowFilter, type FrameMatch } from './filter.js';
import { sliceSegment, viewFrame, seqDiff, FIN, type FrameView } from './frame.js';
import { DelayLine } from './delay-line.js';
import { deriveSeed } from './seed.js';
import type { Conn, ConnTable, Dir } from './tcp-track.js';
import type { HostPort } from './port.js';

export type ToxicStream = 'upstream' | 'downstream' | 'both';

interface ToxicBase {
  /** Which direction: upstream (from the end that connected), downstream (default) or both. */
  stream?: ToxicStream;
  /** Chance that a connection is affected (default 1), drawn once per connection. */
  toxicity?: number;
  /** Most connections the toxic takes (default: no limit); later ones pass untouched. */
  connections?: number;
}

/** A connection toxic; see docs/simulator.md for each one's exact effect. */
export type ToxicOptions = ToxicBase & (
  /** Each segment waits latency ± jitter ms (order kept). */
  | { type: 'latency'; latency: number; jitter?: number }
  /** At most rate bytes a second (frames queue; nothing is dropped). */
  | { type: 'bandwidth'; rate: number }
  /** The FIN, and everything after it, waits delay ms. */
  | { type: 'slowClose'; delay: number }
  /**
   * Data stops: segments are held back, and go on when the toxic is removed. Their
   * sender resends as TCP does (and gives up after its retransmission limit, about 15
   * minutes). After timeout ms (0: never) the connection is closed instead, each end
   * getting a FIN, and what was held is lost.
   */
  | { type: 'timeout'; timeout: number }
  /** After timeout ms (default 0), both ends get an RST. */
  | { type: 'resetPeer'; timeout?: number }
  /**
   * After `bytes` of payload the connection is closed: the receiver gets those bytes, then
   * a FIN. With reset, both ends get an RST instead (a reset mid-transfer).
   */
  | { type: 'limitData'; bytes: number; reset?: boolean }
  /** Data arrives in slices of averageSize ± sizeVariation bytes, delay ms apart. */
  | { type: 'slicer'; averageSize: number; sizeVariation?: number; delay?: number });

export type ToxicType = ToxicOptions['type'];

export interface ToxicCounters {
  /** Connections the toxic took (after toxicity). */
  connections: number;
  /** Frames it acted on. */
  frames: number;
}

/** What toxics need from the network. */
export interface ToxicContext {
  readonly clock: Clock;
  readonly seed: number;
  readonly table: ConnTable;
  isHost(name: string): boolean;
  hostOf(address: string | undefined): string | undefined;
  /** Where a frame goes after toxic t let it through (the later toxics, the rules, the wire). */
  after(t: Toxic, conn: Conn, dir: Dir, port: HostPort, frame: Uint8Array): void;
}

const TYPES = new Set(['latency', 'bandwidth', 'slowClose', 'timeout', 'resetPeer', 'limitData', 'slicer']);
const FIELDS: Record<string, string[]> = {
  latency: ['latency', 'jitter'], bandwidth: ['rate'], slowClose: ['delay'], timeout: ['timeout'],
  resetPeer: ['timeout'], limitData: ['bytes', 'reset'], slicer: ['averageSize', 'sizeVariation', 'delay'],
};
const REQUIRED: Record<string, string[]> = {
  latency: ['latency'], bandwidth: ['rate'], slowClose: ['delay'], timeout: ['timeout'], resetPeer: [],
  limitData: ['bytes'], slicer: ['averageSize'],
};

function checkToxic(o: ToxicOptions): ToxicOptions {
  if (typeof o !== 'object' || o === null) throw new TypeError('lwip-wasm: a toxic must be an object { type, ... }');
  if (!TYPES.has(o.type)) throw new TypeError(`lwip-wasm: unknown toxic type ${JSON.stringify(o.type)} (${[...TYPES].join(', ')})`);
  const allowed = new Set(['type', 'stream', 'toxicity', 'connections', ...FIELDS[o.type]!]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new TypeError(`lwip-wasm: a ${o.type} toxic has no field ${JSON.stringify(k)}`);
  for (const k of REQUIRED[o.type]!) if ((o as unknown as Record<string, unknown>)[k] === undefined) throw new TypeError(`lwip-wasm: a ${o.type} toxic needs ${k}`);
  for (const k of FIELDS[o.type]!) {
    const v = (o as unknown as Record<string, unknown>)[k];
    if (k === 'reset') {
      if (v !== undefined && typeof v !== 'boolean') throw new TypeError('lwip-wasm: limitData.reset must be true or false');
      continue;
    }
    if (v !== undefined && (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v))) {
      throw new RangeError(`lwip-wasm: ${o.type}.${k} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (o.type === 'bandwidth' && !(o.rate > 0)) throw new RangeError('lwip-wasm: bandwidth.rate must be above 0 bytes a second');
  if (o.type === 'slicer' && !(o.averageSize >= 1)) throw new RangeError('lwip-wasm: slicer.averageSize must be at least 1 byte');
  if (o.stream !== undefined && o.stream !== 'upstream' && o.stream !== 'downstream' && o.stream !== 'both') {
    throw new TypeError(`lwip-wasm: stream must be 'upstream', 'downstream' or 'both', got ${String(o.stream)}`);
  }
  if (o.connections !== undefined && (!Number.isInteger(o.connections) || o.connections < 0)) {
    throw new RangeError(`lwip-wasm: connections must be an integer >= 0, got ${String(o.connections)}`);
  }
  if (o.toxicity !== undefined && (typeof o.toxicity !== 'number' || !(o.toxicity >= 0 && o.toxicity <= 1))) {
    throw new RangeError(`lwip-wasm: toxicity must be from 0 to 1, got ${String(o.toxicity)}`);
  }
  return o;
}

/** A toxic's state for one connection and direction. */
interface DirState {
  pipe?: Pipeline;
  line?: DelayLine;
  closing?: boolean;
  /** limitData: where the limit falls in the stream; timeout: where data stopped. */
  mark?: number;
  /** timeout: frames held back, and their bytes. */
  held?: Array<{ port: HostPort; frame: Uint8Array }>;
  heldBytes?: number;
}

/** Bytes a timeout toxic holds per connection and direction before it stops acknowledging. */
const HOLD_MAX = 4 * 1024 * 1024;

interface ConnState {
  up: DirState;
  down: DirState;
  timer?: ClockTimer;
}

/** A toxic on the connections a filter names; made by network.toxic(). */
export class Toxic {
  readonly id: number;
  readonly type: ToxicType;
  readonly filter: FlowFilter;
  readonly options: Readonly<ToxicOptions>;
  readonly #ctx: ToxicContext;
  readonly #match: FrameMatch;
  readonly #rng: Random;
  readonly #conns = new Set<Conn>();
  #removed = false;
  readonly counters: ToxicCounters = { connections: 0, frames: 0 };

  /** @internal made by Network */
  constructor(ctx: ToxicContext, id: number, filter: FlowFilter, options: ToxicOptions) {
    this.#ctx = ctx;
    this.id = id;
    this.options = { ...checkToxic(options) };
    this.type = options.type;
    this.filter = filter;
    this.#match = compileFilter({ ...filter, protocol: 'tcp' }, (n) => ctx.isHost(n));
    this.#rng = seededRandom(deriveSeed(ctx.seed, 3, id));
  }

  get active(): boolean {
    return !this.#removed;
  }

  /**
   * Ends the toxic: frames pass untouched from now; frames it delays still arrive, and
   * what a timeout toxic held goes on, in order.
   */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    for (const c of this.#conns) {
      const st = c.toxicState.get(this) as ConnState | undefined;
      if (!st) continue;
      st.timer?.clear();
      for (const [dir, d] of [['upstream', st.up], ['downstream', st.down]] as const) {
        const held = d.held ?? [];
        d.held = [];
        if (!c.cut) for (const h of held) this.#ctx.after(this, c, dir, h.port, h.frame);
      }
    }
  }

  /** @internal conn is over: its state goes (what it still delays arrives all the same) */
  _forget(conn: Conn): void {
    const st = conn.toxicState.get(this) as ConnState | undefined;
    st?.timer?.clear();
    this.#conns.delete(conn);
  }

  /** @internal the network is closing */
  _close(): void {
    this.remove();
    for (const c of this.#conns) {
      const st = c.toxicState.get(this) as ConnState | undefined;
      for (const d of [st?.up, st?.down]) {
        d?.pipe?.close();
        d?.line?.close();
      }
    }
    this.#conns.clear();
  }

  /** @internal this toxic's state for conn, deciding on first sight whether it applies. */
  _state(conn: Conn): ConnState | undefined {
    if (this.#removed) return undefined;
    if (conn.toxicState.has(this)) return conn.toxicState.get(this) as ConnState | undefined;
    const up = { protocol: 'tcp', src: conn.client.address, dst: conn.server.address, sport: conn.client.port, dport: conn.server.port } as FrameView;
    const ctx = this.#ctx;
    let st: ConnState | undefined;
    const room = this.options.connections === undefined || this.counters.connections < this.options.connections;
    if (room && this.#match(up, ctx.hostOf(up.src), ctx.hostOf(up.dst)) &&
        (this.options.toxicity === undefined || this.#rng.next() < this.options.toxicity)) {
      st = { up: {}, down: {} };
      this.counters.connections++;
      this.#conns.add(conn);
      this.#start(conn, st);
    }
    conn.toxicState.set(this, st);
    return st;
  }

  #covers(dir: Dir): boolean {
    const s = this.options.stream ?? 'downstream';
    return s === 'both' || s === dir;
  }

  /** Timed actions begin when the toxic first sees the connection. */
  #start(conn: Conn, st: ConnState): void {
    const o = this.options;
    const table = this.#ctx.table;
    if (o.type === 'resetPeer') {
      // at once (as soon as the handshake is through), or after the timeout
      if (!o.timeout) table.cut(conn, 'reset');
      else st.timer = this.#ctx.clock.setTimer(() => table.cut(conn, 'reset'), o.timeout);
    } else if (o.type === 'timeout' && o.timeout > 0) {
      st.timer = this.#ctx.clock.setTimer(() => {
        const at: Partial<Record<Dir, number>> = {};
        if (st.up.mark !== undefined) at.upstream = st.up.mark;
        if (st.down.mark !== undefined) at.downstream = st.down.mark;
        st.up.held = [];
        st.down.held = [];
        table.cut(conn, 'close', at);
      }, o.timeout);
    }
  }

  /** @internal a frame of conn in direction dir; calls next with what goes on. */
  _process(conn: Conn, dir: Dir, port: HostPort, frame: Uint8Array, v: FrameView, st: ConnState): void {
    const next = (f: Uint8Array): void => this.#ctx.after(this, conn, dir, port, f);
    if (!this.#covers(dir)) return next(frame);
    const d = dir === 'upstream' ? st.up : st.down;
    const o = this.options;
    const t = v.tcp!;
    const clock = this.#ctx.clock;
    this.counters.frames++;
    switch (o.type) {
      case 'latency':
      case 'bandwidth': {
        if (!d.pipe) {
          d.pipe = new Pipeline(clock, seededRandom(deriveSeed(this.#ctx.seed, 4, this.id, port.id, dir === 'upstream' ? 1 : 2)), (fs) => fs.forEach(next));
          d.pipe.set(o.type === 'latency' ? { delay: o.latency, jitter: o.jitter ?? 0 } : { rate: o.rate, queueLimit: 1 << 30 });
        }
        d.pipe.push([frame]);
        return;
      }
      case 'slowClose': {
        if (t.flags & FIN) d.closing = true;
        if (!d.closing && !d.line?.size) return next(frame);
        d.line ??= new DelayLine(clock, next);
        d.line.push(frame, clock.now() + o.delay);
        return;
      }
      case 'timeout': {
        // data stops here, held back; its sender resends it as TCP does, and the resends
        // are held too (each direction holds at most HOLD_MAX bytes; beyond, they drop)
        if (t.payloadLen === 0 && !(t.flags & FIN)) return next(frame);
        d.mark ??= t.seq >>> 0;
        d.held ??= [];
        d.heldBytes ??= 0;
        if (d.heldBytes + frame.byteLength > HOLD_MAX) return;
        d.held.push({ port, frame });
        d.heldBytes += frame.byteLength;
        return;
      }
      case 'resetPeer':
        return next(frame);
      case 'limitData': {
        const side = conn.side(dir);
        d.mark ??= ((side.isn !== undefined ? side.isn + 1 : t.seq) + o.bytes) >>> 0;
        const end = (t.seq + t.payloadLen) >>> 0;
        if (t.payloadLen === 0 || seqDiff(end, d.mark) <= 0) return next(frame);
        if (o.reset) {
          this.#ctx.table.cut(conn, 'reset');
          return;
        }
        if (seqDiff(t.seq, d.mark) < 0) next(sliceSegment(frame, v, 0, seqDiff(d.mark, t.seq)));
        this.#ctx.table.cut(conn, 'close', { [dir]: d.mark });
        return;
      }
      case 'slicer': {
        d.line ??= new DelayLine(clock, next);
        const start = Math.max(clock.now(), d.line.lastAt);
        if (t.payloadLen <= 1) return d.line.push(frame, start);
        const gap = o.delay ?? 0;
        const variation = o.sizeVariation ?? 0;
        let at = start;
        for (let off = 0; off < t.payloadLen;) {
          const size = Math.max(1, Math.round(o.averageSize + (this.#rng.next() * 2 - 1) * variation));
          const to = Math.min(t.payloadLen, off + size);
          d.line.push(sliceSegment(frame, v, off, to), at);
          at += gap;
          off = to;
        }
        return;
      }
    }
  }
}

/** Frames of one TCP connection direction through the toxics that apply, in order. */
export function runToxics(toxics: readonly Toxic[], from: number, conn: Conn, dir: Dir, port: HostPort, frame: Uint8Array,
  out: (port: HostPort, frame: Uint8Array) => void): void {
  for (let i = from; i < toxics.length; i++) {
    const t = toxics[i]!;
    const st = t._state(conn);
    if (st) {
      t._process(conn, dir, port, frame, viewFrame(frame), st);
      return;
    }
  }
  out(port, frame);
}
