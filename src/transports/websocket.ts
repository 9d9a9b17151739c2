// A link over a WebSocket. Two framings: batched (subprotocol lwip-wasm.batch.v2, with
// segmentation offload, or v1; see batch.ts), used whenever the server selects it
// (offered by default with the platform's WebSocket; see the framing option); or one
// ethernet frame per binary message with no header (what v86's wsproxy speaks),
// otherwise. Works
// with the browser's WebSocket and with `ws` in Node; this module never imports `ws`, so
// browser bundles stay free of it.
import { BATCH_CLOSE_CODE, BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL, BatchWriter, readBatch, SEGMENT_FRAME_MAX } from './batch.js';
import { FrameBatch, type Link, type LinkReceiver } from './link.js';
import { scheduleMacrotask } from './schedule.js';

/** The fields of open, message, error and close events this link reads. */
export interface WebSocketEventLike {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: unknown;
  readonly error?: unknown;
  readonly message?: unknown;
}

/** The part of a WebSocket this link uses; the browser's WebSocket and `ws` both fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The subprotocol the server selected ('' for none); batching needs it. */
  readonly protocol?: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: WebSocketEventLike) => void): void;
  removeEventListener(type: string, listener: (event: WebSocketEventLike) => void): void;
}

/** A WebSocket constructor: globalThis.WebSocket in browsers, `ws`'s default export in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Where the link connects: a URL, an open or opening socket, or a factory for each (re)connect. */
export type WebSocketTarget = string | URL | WebSocketLike | (() => WebSocketLike);

export interface ReconnectOptions {
  /** Attempts after a drop before giving up (default 10; Infinity to never give up). */
  retries?: number;
  /** First delay in ms (default 250); each further attempt doubles it... */
  minDelay?: number;
  /** ...up to this many ms (default 5000). */
  maxDelay?: number;
}

export interface WebSocketLinkOptions {
  /** Constructor used for a URL target (default globalThis.WebSocket; in Node pass `ws`'s WebSocket). */
  WebSocket?: WebSocketConstructor;
  /** Subprotocols offered when the link opens the socket itself (after the batch protocols, when it offers those). */
  protocols?: string | string[];
  /**
   * Whether a URL target offers batched framing (lwip-wasm.batch.v1); the link batches
   * whenever the server selects it. 'auto' (default): offer it with the platform's
   * WebSocket (a browser's takes a server that ignores it), not with a constructor passed
   * in (`ws` fails a connection whose server ignores an offered protocol). 'batch':
   * always offer it (this package's relay selects it). 'single': never offer it.
   */
  framing?: 'auto' | 'batch' | 'single';
  /**
   * Whether batching offers lwip-wasm.batch.v2 (before v1), in which TCP segments of up
   * to 64 KiB cross whole (default true): the stack, the socket and the relay then handle
   * one frame where they would handle up to 44. false offers v1 alone.
   */
  offload?: boolean;
  /** Largest IP packet carried (default 1500; 576 to 65517). */
  mtu?: number;
  /**
   * Bytes buffered (the socket's bufferedAmount plus frames held while connecting) above
   * which send() returns false (default 1 MiB). Drain is reported below half of it.
   */
  highWaterMark?: number;
  /** Bytes buffered beyond which frames are dropped and counted, as a full NIC ring drops them (default 4x highWaterMark). */
  maxBuffered?: number;
  /** Reconnect after an unexpected drop (URL or factory targets only). true uses the defaults. */
  reconnect?: boolean | ReconnectOptions;
  /** How often bufferedAmount is checked while the link pushes back, in ms (default 5). */
  drainInterval?: number;
  onOpen?: () => void;
  /** The socket dropped and a new attempt is due in delay ms. */
  onReconnecting?: (info: { attempt: number; delay: number; error: WebSocketLinkError }) => void;
  /** The link is closed for good; error is set unless close() was called. */
  onClose?: (error?: WebSocketLinkError) => void;
  /** Every transport error, including those a reconnect recovers from. */
  onError?: (error: WebSocketLinkError) => void;
}

export type WebSocketLinkState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the link failed: code is stable, message says what happened. */
export class WebSocketLinkError extends Error {
  /**
   * 'ECONNCLOSED' (the other end closed), 'ECONNFAILED' (a transport error), 'ERETRIES'
   * (reconnect gave up), 'EPROTO' (the other end sent a malformed batch; the link closed
   * the socket with 1002); and from this package's relay, which closes a refused browser
   * client with 4000 + the HTTP status: 'ETOKEN' (4401: no valid token), 'EORIGIN'
   * (4403: the page's origin is not allowed), 'EBUSY' (4503: the relay is full). A
   * token or origin refusal ends the link at once, even with reconnect.
   */
  readonly code: 'ECONNCLOSED' | 'ECONNFAILED' | 'ERETRIES' | 'EPROTO' | 'ETOKEN' | 'EORIGIN' | 'EBUSY';
  /** The WebSocket close code and reason, when the socket closed. */
  readonly closeCode?: number;
  readonly reason?: string;
  constructor(code: WebSocketLinkError['code'], message: string, close?: { code: number; reason: string }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebSocketLinkError';
    this.code = code;
    if (close) {
      this.closeCode = close.code;
      this.reason = close.reason;
    }
  }
}

export interface WebSocketLinkCounters {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Frames dropped: beyond maxBuffered, while closed, held frames lost at close, or received past 1024 before a stack attached. */
  dropped: number;
  /** Frames held while the socket was connecting, then sent once it opened. */
  deferred: number;
  /** Messages dropped on receipt: text, shorter than an ethernet header, or longer than mtu + 18; or a malformed batch. */
  badMessages: number;
  /** WebSocket messages sent and received: fewer than frames when batching. */
  messagesSent: number;
  messagesReceived: number;
  /** Successful reconnects. */
  reconnects: number;
}

/** The relay's close codes for refused clients, and what they mean. */
const REFUSALS: Record<number, { code: 'ETOKEN' | 'EORIGIN' | 'EBUSY'; what: string; final: boolean }> = {
  4401: { code: 'ETOKEN', what: 'refused: no valid token', final: true },
  4403: { code: 'EORIGIN', what: 'refused: this page\'s origin is not allowed', final: true },
  4503: { code: 'EBUSY', what: 'refused: the relay is full', final: false },
};

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
/** Frames kept for a stack that has not attached yet. */
const MAX_UNATTACHED = 1024;
/** Ethernet header plus an 802.1Q tag. */
const MAX_L2_OVERHEAD = 18;

interface ResolvedReconnect {
  retries: number;
  minDelay: number;
  maxDelay: number;
}

function reconnectOptions(r: boolean | ReconnectOptions | undefined): ResolvedReconnect | null {
  if (!r) return null;
  const o = r === true ? {} : r;
  const out = { retries: o.retries ?? 10, minDelay: o.minDelay ?? 250, maxDelay: o.maxDelay ?? 5000 };
  if (!(out.retries >= 0) || !(out.minDelay >= 0) || !(out.maxDelay >= out.minDelay)) {
    throw new RangeError('lwip-wasm: reconnect needs retries >= 0 and 0 <= minDelay <= maxDelay');
  }
  return out;
}

function isSocket(t: WebSocketTarget): t is WebSocketLike {
  return typeof t === 'object' && !(t instanceof URL) && typeof (t as WebSocketLike).send === 'function';
}

/** An ethernet link over one WebSocket (or a succession of them, with reconnect). */
export class WebSocketLink implements Link {
  readonly mtu: number;
  readonly counters: WebSocketLinkCounters = {
    framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0, dropped: 0, deferred: 0, badMessages: 0, reconnects: 0,
    messagesSent: 0, messagesReceived: 0,
  };
  /** Resolves when the socket first opens; rejects if the link closes before that. */
  readonly ready: Promise<void>;
  readonly #open: () => WebSocketLike;
  readonly #opts: WebSocketLinkOptions;
  readonly #hwm: number;
  readonly #maxBuffered: number;
  readonly #drainInterval: number;
  readonly #reconnect: ResolvedReconnect | null;
  #ws: WebSocketLike | null = null;
  #state: WebSocketLinkState = 'connecting';
  #receiver: LinkReceiver | undefined;
  #held: Uint8Array[] = [];
  #heldSegs: number[] = [];
  #heldBytes = 0;
  readonly #inbox = new FrameBatch();
  #blocked = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #attempt = 0;
  #everOpened = false;
  #settleReady: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #detach: (() => void) | null = null;
  /** The open socket batches (it selected lwip-wasm.batch.v1 or v2). */
  #batch = false;
  /** The last socket to open selected v2: TCP segments over the MTU cross whole. */
  #offload = false;
  readonly #writer = new BatchWriter();
  #flushQueued = false;

  constructor(target: WebSocketTarget, options: WebSocketLinkOptions = {}) {
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65517) {
      throw new RangeError(`lwip-wasm: WebSocket link mtu must be an integer from 576 to 65517, got ${String(options.mtu)}`);
    }
    this.mtu = mtu;
    this.#hwm = options.highWaterMark ?? 1024 * 1024;
    if (!(this.#hwm > 0)) throw new RangeError('lwip-wasm: highWaterMark must be positive');
    this.#maxBuffered = options.maxBuffered ?? 4 * this.#hwm;
    if (!(this.#maxBuffered >= this.#hwm)) throw new RangeError('lwip-wasm: maxBuffered must be at least highWaterMark');
    this.#drainInterval = options.drainInterval ?? 5;
    if (!(this.#drainInterval > 0)) throw new RangeError('lwip-wasm: drainInterval must be a positive number of milliseconds');
    this.#reconnect = reconnectOptions(options.reconnect);
    if (options.framing !== undefined && options.framing !== 'auto' && options.framing !== 'batch' && options.framing !== 'single') {
      throw new RangeError(`lwip-wasm: framing must be 'auto', 'batch' or 'single', got ${String(options.framing)}`);
    }
    if (options.offload !== undefined && typeof options.offload !== 'boolean') {
      throw new TypeError(`lwip-wasm: WebSocket link offload must be a boolean, got ${String(options.offload)}`);
    }
    this.#opts = options;

    if (typeof target === 'string' || target instanceof URL) {
      const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (typeof Ctor !== 'function') {
        throw new TypeError("lwip-wasm: no WebSocket in this runtime; pass { WebSocket } (in Node: import WebSocket from 'ws')");
      }
      const url = String(target);
      const own = options.protocols === undefined ? [] : Array.isArray(options.protocols) ? options.protocols : [options.protocols];
      const offer = options.framing === 'batch' || ((options.framing ?? 'auto') === 'auto' && options.WebSocket === undefined);
      const batch = options.offload === false ? [BATCH_PROTOCOL] : [BATCH_OFFLOAD_PROTOCOL, BATCH_PROTOCOL];
      const protocols = offer ? [...batch, ...own.filter((p) => !batch.includes(p))] : own;
      this.#open = () => new Ctor(url, protocols.length > 0 ? protocols : undefined);
    } else if (typeof target === 'function') {
      this.#open = target;
    } else if (isSocket(target)) {
      if (this.#reconnect) throw new TypeError('lwip-wasm: reconnect needs a URL or a factory, not a single WebSocket');
      let first: WebSocketLike | null = target;
      this.#open = () => {
        if (!first) throw new Error('lwip-wasm: a single WebSocket cannot be reopened');
        const ws = first;
        first = null;
        return ws;
      };
    } else {
      throw new TypeError('lwip-wasm: WebSocket link target must be a URL, a WebSocket, or a function returning one');
    }
    this.ready = new Promise<void>((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    this.ready.catch(() => {}); // reported through onClose too; do not make it unhandled
    this.#connect();
  }

  get state(): WebSocketLinkState {
    return this.#state;
  }

  /** Bytes waiting: the socket's bufferedAmount, a batch not yet sent, and frames held while connecting. */
  get buffered(): number {
    return (this.#state === 'open' && this.#ws ? this.#ws.bufferedAmount : 0) + this.#writer.pending + this.#heldBytes;
  }

  /** How the open socket frames: 'batch' (lwip-wasm.batch.v1 or v2) or 'single'; null while not open. */
  get framing(): 'batch' | 'single' | null {
    return this.#state === 'open' ? (this.#batch ? 'batch' : 'single') : null;
  }

  /**
   * True while the socket last opened speaks lwip-wasm.batch.v2: the stack sends TCP
   * segments of up to 64 KiB as one frame, and takes them so.
   */
  get segmentOffload(): boolean {
    return this.#offload;
  }

  attach(receiver: LinkReceiver): void {
    if (this.#receiver) throw new Error('lwip-wasm: this WebSocket link is already attached to a stack');
    this.#receiver = receiver;
    if (this.#inbox.length > 0) this.#deliver();
  }

  send(frame: Uint8Array, segMax?: number): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('lwip-wasm: a frame must be a Uint8Array');
    if (segMax !== undefined && !(Number.isInteger(segMax) && segMax >= 0 && segMax <= 0xffff)) {
      throw new RangeError(`lwip-wasm: segMax must be an integer from 0 to 65535, got ${String(segMax)}`);
    }
    // A record's length could not say more (v1), or the far end would end the session.
    const most = segMax ? SEGMENT_FRAME_MAX : 0xffff;
    if (frame.byteLength > most) {
      throw new RangeError(`lwip-wasm: a ${frame.byteLength}-byte frame is over the ${most}-byte limit${segMax ? ' of a segment' : ''}`);
    }
    return this.#take(frame, false, segMax ?? 0);
  }

  /** @internal send() for views of the stack's memory: a batch copies them in as they come. */
  sendViews(frames: readonly Uint8Array[], segs?: readonly number[]): boolean {
    let ok = true;
    for (let i = 0; i < frames.length; i++) ok = this.#take(frames[i]!, true, segs ? segs[i]! : 0) && ok;
    return ok;
  }

  /** Takes one frame; a view is copied wherever it would be kept past this call. */
  #take(frame: Uint8Array, view: boolean, seg: number): boolean {
    if (this.#state === 'closed') {
      this.counters.dropped++;
      return false;
    }
    if (seg > 0 && !this.#offload) {
      // A segment over the MTU with no v2 socket to carry it (the link reconnected to a
      // server without offload): lost, as on a NIC reset; TCP sends it again, cut.
      this.counters.dropped++;
      return true;
    }
    const buffered = this.buffered;
    if (buffered + frame.byteLength > this.#maxBuffered) {
      this.counters.dropped++;
      return this.#pushBack();
    }
    if (this.#state === 'open' && this.#ws) {
      this.#write(this.#ws, frame, view, seg);
    } else {
      this.#held.push(view ? frame.slice() : frame); // like a NIC waiting for carrier: hold, bounded, send on open
      this.#heldSegs.push(seg);
      this.#heldBytes += frame.byteLength;
      this.counters.deferred++;
    }
    this.counters.framesSent++;
    this.counters.bytesSent += frame.byteLength;
    if (buffered + frame.byteLength > this.#hwm) return this.#pushBack();
    return true;
  }

  close(): void {
    if (this.#state === 'closed') return;
    this.#finish(undefined, true);
  }

  /**
   * Sends a frame now, or adds it to the batch, which goes out once full or in the next
   * macrotask: the ACKs a stack sends for several messages that arrive together then
   * share one message (in Chromium a download ran about 15% faster than with a
   * microtask flush, bench/browser.mjs).
   */
  #write(ws: WebSocketLike, frame: Uint8Array, view: boolean, seg: number): void {
    if (!this.#batch) {
      ws.send(view ? frame.slice() : frame); // ws in Node may keep what it is given
      this.counters.messagesSent++;
      return;
    }
    const full = this.#writer.push(frame, seg);
    if (full) {
      ws.send(full);
      this.counters.messagesSent++;
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      scheduleMacrotask(() => this.#flush());
    }
  }

  #flush(): void {
    this.#flushQueued = false;
    const msg = this.#writer.take(); // a drop or close clears the writer first
    if (!msg || !this.#ws) return;
    this.#ws.send(msg);
    this.counters.messagesSent++;
  }

  #pushBack(): false {
    this.#blocked = true;
    this.#watchDrain();
    return false;
  }

  #watchDrain(): void {
    if (this.#drainTimer !== undefined || this.#state !== 'open') return;
    this.#drainTimer = setTimeout(() => {
      this.#drainTimer = undefined;
      if (!this.#blocked || this.#state !== 'open') return;
      if (this.buffered <= this.#hwm / 2) {
        this.#blocked = false;
        this.#receiver?.onDrain();
      } else {
        this.#watchDrain();
      }
    }, this.#drainInterval);
  }

  #connect(): void {
    let ws: WebSocketLike;
    try {
      ws = this.#open();
      ws.binaryType = 'arraybuffer';
    } catch (e) {
      const err = new WebSocketLinkError('ECONNFAILED', `lwip-wasm: could not open the WebSocket: ${(e as Error)?.message ?? String(e)}`, undefined, { cause: e });
      queueMicrotask(() => { // report asynchronously, never inside the caller
        this.#opts.onError?.(err);
        this.#dropped(err);
      });
      return;
    }
    this.#ws = ws;
    let lastError: unknown;
    let opened = false; // this socket, not the link: a reconnect that fails is a failure to connect
    const onOpen = () => {
      opened = true;
      this.#opened();
    };
    const onMessage = (ev: WebSocketEventLike) => this.#message(ev.data);
    const onError = (ev: WebSocketEventLike) => {
      lastError = ev.error ?? ev.message;
      const detail = lastError instanceof Error ? lastError.message : typeof lastError === 'string' ? lastError : 'transport error';
      this.#opts.onError?.(new WebSocketLinkError('ECONNFAILED', `lwip-wasm: WebSocket error: ${detail}`, undefined, { cause: lastError }));
    };
    const onClose = (ev: WebSocketEventLike) => {
      const code = ev.code ?? 1006;
      const reason = typeof ev.reason === 'string' ? ev.reason : '';
      // Browsers give no detail on a failed connect (an Event only); ws gives an Error.
      const detail = lastError instanceof Error ? lastError.message : typeof lastError === 'string' ? lastError : `code ${code}`;
      const refusal = REFUSALS[code];
      const err = refusal
        ? new WebSocketLinkError(refusal.code, `lwip-wasm: the relay ${refusal.what} (code ${code}${reason ? ` "${reason}"` : ''})`, { code, reason })
        : !opened
          ? new WebSocketLinkError('ECONNFAILED', `lwip-wasm: WebSocket could not connect (${detail})`, { code, reason }, lastError !== undefined ? { cause: lastError } : undefined)
          : new WebSocketLinkError('ECONNCLOSED', `lwip-wasm: WebSocket closed by the other end or the network (code ${code}${reason ? ` "${reason}"` : ''})`, { code, reason }, lastError !== undefined ? { cause: lastError } : undefined);
      if (refusal?.final) {
        // Retrying will not change a missing token or a forbidden origin.
        this.#opts.onError?.(err);
        this.#detach?.();
        this.#detach = null;
        this.#ws = null;
        this.#finish(err, false);
        return;
      }
      this.#dropped(err);
    };
    ws.addEventListener('open', onOpen);
    ws.addEventListener('message', onMessage);
    ws.addEventListener('error', onError);
    ws.addEventListener('close', onClose);
    this.#detach = () => {
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('message', onMessage);
      ws.removeEventListener('error', onError);
      ws.removeEventListener('close', onClose);
    };
    if (ws.readyState === OPEN) queueMicrotask(() => { if (this.#ws === ws && this.#state !== 'open') onOpen(); });
    else if (ws.readyState >= CLOSING) queueMicrotask(() => onClose({ code: 1006, reason: 'socket was already closed' }));
  }

  #opened(): void {
    if (this.#state === 'closed' || !this.#ws) return;
    const wasReconnect = this.#everOpened;
    this.#state = 'open';
    this.#everOpened = true;
    this.#attempt = 0;
    if (wasReconnect) this.counters.reconnects++;
    const protocol = this.#opts.framing === 'single' ? '' : this.#ws.protocol;
    this.#batch = protocol === BATCH_PROTOCOL || protocol === BATCH_OFFLOAD_PROTOCOL;
    const offload = protocol === BATCH_OFFLOAD_PROTOCOL;
    this.#writer.v2 = offload;
    const held = this.#held;
    const segs = this.#heldSegs;
    this.#held = [];
    this.#heldSegs = [];
    this.#heldBytes = 0;
    for (let i = 0; i < held.length; i++) {
      if (segs[i]! > 0 && !offload) this.counters.dropped++; // no longer carried whole: TCP sends it again, cut
      else this.#write(this.#ws, held[i]!, false, segs[i]!);
    }
    if (offload !== this.#offload) {
      this.#offload = offload;
      this.#receiver?.segmentOffloadChanged?.();
    }
    this.#settleReady?.resolve();
    this.#settleReady = null;
    this.#opts.onOpen?.();
    if (this.#blocked) this.#watchDrain();
  }

  #message(data: unknown): void {
    let msg: Uint8Array;
    if (data instanceof ArrayBuffer) msg = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) msg = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    else {
      this.counters.badMessages++; // text or Blob: not a frame
      return;
    }
    this.counters.messagesReceived++;
    if (!this.#batch) {
      if (msg.byteLength < 14 || msg.byteLength > this.mtu + MAX_L2_OVERHEAD) {
        this.counters.badMessages++;
        return;
      }
      this.#received(msg);
      return;
    }
    const batch = readBatch(msg, this.mtu + MAX_L2_OVERHEAD, this.#writer.v2);
    if (batch.error !== null) {
      // The lengths cannot be trusted past a broken one: end the socket, as a protocol error.
      this.counters.badMessages++;
      const reason = `malformed batch: ${batch.error}`;
      const ws = this.#ws;
      const err = new WebSocketLinkError('EPROTO', `lwip-wasm: the other end sent a ${reason}`, { code: BATCH_CLOSE_CODE, reason });
      this.#detach?.();
      this.#detach = null;
      ws?.close(BATCH_CLOSE_CODE, reason.slice(0, 120));
      this.#opts.onError?.(err);
      this.#dropped(err);
      return;
    }
    const segs = batch.segs;
    for (let i = 0; i < batch.frames.length; i++) {
      const seg = segs ? segs[i]! : 0;
      if (seg > this.mtu) {
        this.counters.badMessages++; // pieces this link could never carry
        continue;
      }
      this.#received(batch.frames[i]!, seg);
    }
  }

  #received(frame: Uint8Array, seg = 0): void {
    if (!this.#receiver && this.#inbox.length >= MAX_UNATTACHED) {
      this.counters.dropped++; // no stack yet: keep only the first frames, as a NIC ring would
      return;
    }
    this.counters.framesReceived++;
    this.counters.bytesReceived += frame.byteLength;
    this.#inbox.push(frame, seg);
    // Messages parsed from one read arrive in one task: hand them to the stack as one batch.
    if (this.#inbox.length === 1) queueMicrotask(() => this.#deliver());
  }

  #deliver(): void {
    if (!this.#receiver || this.#inbox.length === 0 || this.#state === 'closed') return;
    const [batch, hints] = this.#inbox.take();
    this.#receiver.onFrames(batch, hints);
  }

  /** The current socket is gone: retry, or close the link with err. */
  #dropped(err: WebSocketLinkError): void {
    if (this.#state === 'closed') return;
    this.#detach?.();
    this.#detach = null;
    this.#ws = null;
    this.counters.dropped += this.#writer.clear();
    const r = this.#reconnect;
    if (!r) {
      this.#finish(err, false);
      return;
    }
    if (this.#attempt >= r.retries) {
      this.#finish(new WebSocketLinkError('ERETRIES', `lwip-wasm: WebSocket link gave up after ${this.#attempt} reconnect attempts: ${err.message}`, err.closeCode !== undefined ? { code: err.closeCode, reason: err.reason ?? '' } : undefined, { cause: err }), false);
      return;
    }
    const delay = Math.min(r.maxDelay, r.minDelay * 2 ** this.#attempt);
    this.#attempt++;
    this.#state = 'reconnecting';
    this.#opts.onReconnecting?.({ attempt: this.#attempt, delay, error: err });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state === 'reconnecting') this.#connect();
    }, delay);
  }

  #finish(err: WebSocketLinkError | undefined, byUser: boolean): void {
    this.#state = 'closed';
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    this.#retryTimer = this.#drainTimer = undefined;
    const ws = this.#ws;
    this.#detach?.();
    this.#detach = null;
    this.#ws = null;
    if (ws && byUser && ws.readyState < CLOSING) ws.close(1000, 'link closed');
    else if (ws && byUser && ws.readyState !== CLOSED) ws.close();
    this.counters.dropped += this.#held.length + this.#writer.clear();
    this.#held = [];
    this.#heldSegs = [];
    this.#heldBytes = 0;
    this.#inbox.clear();
    this.#settleReady?.reject(err ?? new WebSocketLinkError('ECONNCLOSED', 'lwip-wasm: WebSocket link closed before it opened'));
    this.#settleReady = null;
    this.#receiver?.onClose(err);
    this.#opts.onClose?.(err);
  }
}

/** Opens a WebSocket link; the same as new WebSocketLink(target, options). */
export function connectWebSocket(target: WebSocketTarget, options?: WebSocketLinkOptions): WebSocketLink {
  return new WebSocketLink(target, options);
}
