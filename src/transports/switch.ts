// A virtual ethernet switch for many stacks in one process: each port is a Link, and
// frames go where a learning L2 switch would send them. Source MACs are learned per
// port; unicast to a known MAC goes to its port only; broadcast, multicast and unknown
// destinations are flooded to every other port. As with the pair, frames sent in one
// turn of the event loop arrive at each port together, one macrotask later.
// For per-port faults, wrap a port: stack.addInterface(impair(sw.port(), {...})).
import type { Link, LinkReceiver } from './link.js';
import { scheduleMacrotask } from './schedule.js';

export interface SwitchOptions {
  /** MTU of every port (default 1500; 576 to 65517). */
  mtu?: number;
  /** Bytes queued towards one port above which senders see send() return false (default 1 MiB). */
  highWaterMark?: number;
}

export interface SwitchPortCounters {
  /** Frames the stack on this port sent into the switch. */
  framesIn: number;
  bytesIn: number;
  /** Frames the switch delivered to this port's stack. */
  framesOut: number;
  bytesOut: number;
  /** Frames flooded out of this port because their destination was unknown or a group. */
  flooded: number;
  /** Frames from this port the switch dropped (runts, or the port was closed). */
  dropped: number;
}

/** One port of a Switch: the Link end a stack attaches to. */
export class SwitchPort implements Link {
  /** Port number, from 1 in the order ports were made. */
  readonly id: number;
  readonly mtu: number;
  readonly counters: SwitchPortCounters = { framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0, flooded: 0, dropped: 0 };
  readonly #switch: Switch;
  /** @internal frames waiting for delivery to this port */
  _queue: Uint8Array[] = [];
  /** @internal */
  _queued = 0;
  /** @internal */
  _scheduled = false;
  /** @internal */
  _receiver: LinkReceiver | undefined;
  /** @internal sent while a destination was above the high-water mark */
  _blocked = false;
  #closed = false;

  /** @internal ports come from Switch.port() */
  constructor(sw: Switch, id: number, mtu: number) {
    this.#switch = sw;
    this.id = id;
    this.mtu = mtu;
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(receiver: LinkReceiver): void {
    if (this._receiver) throw new Error('lwip-wasm: this switch port is already attached to a stack');
    this._receiver = receiver;
  }

  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('lwip-wasm: a frame must be a Uint8Array');
    if (this.#closed) {
      this.counters.dropped++;
      return false;
    }
    this.counters.framesIn++;
    this.counters.bytesIn += frame.byteLength;
    return this.#switch._forward(this, frame);
  }

  /** Unplugs this port: its stack sees onClose and the switch forgets its MACs. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this._queue = [];
    this._queued = 0;
    this.#switch._unplug(this);
    this._receiver?.onClose();
  }
}

const macKey = (f: Uint8Array, off: number): number =>
  ((f[off]! << 8) | f[off + 1]!) * 0x100000000 + (((f[off + 2]! << 24) | (f[off + 3]! << 16) | (f[off + 4]! << 8) | f[off + 5]!) >>> 0);

function macText(key: number): string {
  const hex = key.toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}

/** A learning ethernet switch; see the file comment. */
export class Switch {
  readonly mtu: number;
  readonly #hwm: number;
  readonly #ports = new Map<number, SwitchPort>();
  readonly #table = new Map<number, SwitchPort>();
  #nextId = 1;
  #closed = false;

  constructor(options: SwitchOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: options must be an object');
    const mtu = options.mtu ?? 1500;
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65517) {
      throw new RangeError(`lwip-wasm: switch mtu must be an integer from 576 to 65517, got ${String(options.mtu)}`);
    }
    const hwm = options.highWaterMark ?? 1024 * 1024;
    if (typeof hwm !== 'number' || !(hwm > 0)) throw new RangeError('lwip-wasm: highWaterMark must be positive');
    this.mtu = mtu;
    this.#hwm = hwm;
  }

  /** A new port; attach it to a stack with addInterface. */
  port(): SwitchPort {
    if (this.#closed) throw new Error('lwip-wasm: the switch is closed');
    const p = new SwitchPort(this, this.#nextId++, this.mtu);
    this.#ports.set(p.id, p);
    return p;
  }

  /** Ports still plugged in. */
  get ports(): SwitchPort[] {
    return [...this.#ports.values()];
  }

  /** The learned MAC table: MAC text → port id. */
  macTable(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, p] of this.#table) out.set(macText(k), p.id);
    return out;
  }

  /** Unplugs every port. */
  close(): void {
    this.#closed = true;
    for (const p of [...this.#ports.values()]) p.close();
  }

  /** @internal */
  _forward(from: SwitchPort, frame: Uint8Array): boolean {
    if (frame.byteLength < 14) {
      from.counters.dropped++;
      return true;
    }
    const src = macKey(frame, 6);
    if ((frame[6]! & 1) === 0 && this.#table.get(src) !== from) this.#table.set(src, from);
    let full = false;
    const to = (frame[0]! & 1) === 0 ? this.#table.get(macKey(frame, 0)) : undefined;
    if (to) {
      if (to !== from) full = this.#enqueue(to, frame);
    } else {
      let first = true;
      for (const p of this.#ports.values()) {
        if (p === from) continue;
        p.counters.flooded++;
        // each receiver owns its frame, so every port after the first gets a copy
        full = this.#enqueue(p, first ? frame : frame.slice()) || full;
        first = false;
      }
    }
    if (full) from._blocked = true;
    return !full;
  }

  #enqueue(p: SwitchPort, frame: Uint8Array): boolean {
    p._queue.push(frame);
    p._queued += frame.byteLength;
    if (!p._scheduled) {
      p._scheduled = true;
      scheduleMacrotask(() => this.#deliver(p));
    }
    return p._queued > this.#hwm;
  }

  #deliver(p: SwitchPort): void {
    p._scheduled = false;
    const batch = p._queue;
    p._queue = [];
    p._queued = 0;
    if (batch.length > 0 && p._receiver && !p.closed) {
      p.counters.framesOut += batch.length;
      for (const f of batch) p.counters.bytesOut += f.byteLength;
      p._receiver.onFrames(batch);
    }
    this.#drainBlocked();
  }

  /** Senders that saw send() return false hear onDrain once no port is above the mark. */
  #drainBlocked(): void {
    for (const p of this.#ports.values()) if (p._queued > this.#hwm) return;
    for (const p of this.#ports.values()) {
      if (p._blocked) {
        p._blocked = false;
        p._receiver?.onDrain();
      }
    }
  }

  /** @internal */
  _unplug(p: SwitchPort): void {
    this.#ports.delete(p.id);
    for (const [k, v] of this.#table) if (v === p) this.#table.delete(k);
    this.#drainBlocked();
  }
}

/** A switch with no ports yet; call port() once per stack. */
export function createSwitch(options: SwitchOptions = {}): Switch {
  return new Switch(options);
}
