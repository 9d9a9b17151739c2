// One host's attachment to one segment: the Link its stack's interface uses. Frames the
// stack sends go through the network's faults (rules, connection toxics), then the
// segment's own conditions, then onto the segment's switch, where the segment's capture
// sees them. Frames from the switch go straight to the stack, unless the host is down.
import type { Link, LinkReceiver } from '../transports/link.js';
import type { SwitchPort } from '../transports/switch.js';
import { Pipeline, type Impairment } from '../faults/impair.js';
import { seededRandom } from '../random.js';
import type { Clock } from '../clock.js';
import type { PcapWriter } from '../capture/pcap.js';
import { scheduleMacrotask } from '../transports/schedule.js';

/** What a port needs from its network. */
export interface PortContext {
  readonly clock: Clock;
  /** The faults' entry: a frame the stack on port sent. */
  egress(port: HostPort, frame: Uint8Array): void;
}

/** The segment side of a port: the switch port, the capture, the segment's conditions. */
export interface SegmentWire {
  readonly name: string;
  readonly capture: PcapWriter | undefined;
  readonly conditions: Impairment;
}

export class HostPort implements Link {
  readonly host: string;
  readonly segment: SegmentWire;
  /** Unique in the network, in the order ports were made; seeds the port's randomness. */
  readonly id: number;
  readonly mtu: number;
  readonly #ctx: PortContext;
  readonly #switch: SwitchPort;
  readonly #wire: Pipeline;
  #receiver: LinkReceiver | undefined;
  #down = false;
  #blocked = false;
  #injected: Uint8Array[] = [];
  /** Frames the stack sent while its host was down (a crash's last breath), dropped. */
  dropped = 0;

  constructor(ctx: PortContext, host: string, segment: SegmentWire, switchPort: SwitchPort, id: number, seed: number) {
    this.#ctx = ctx;
    this.host = host;
    this.segment = segment;
    this.#switch = switchPort;
    this.id = id;
    this.mtu = switchPort.mtu;
    this.#wire = new Pipeline(ctx.clock, seededRandom(seed), (frames) => {
      for (const f of frames) {
        segment.capture?.write(f);
        if (!this.#switch.send(f)) this.#blocked = true;
      }
    });
    this.#wire.set(segment.conditions);
  }

  /** The host crashed: nothing goes out or comes in any more. */
  down(): void {
    this.#down = true;
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** New conditions for this port's frames onto the segment (the segment's, changed). */
  setConditions(c: Impairment): void {
    this.#wire.set(c);
  }

  attach(receiver: LinkReceiver): void {
    if (this.#receiver) throw new Error('lwip-wasm: this port is already attached to a stack');
    this.#receiver = receiver;
    this.#switch.attach({
      onFrames: (frames) => {
        if (!this.#down) receiver.onFrames(frames);
      },
      onDrain: () => {
        this.#blocked = false;
        if (!this.#down) receiver.onDrain();
      },
      onClose: (err) => receiver.onClose(err),
    });
  }

  send(frame: Uint8Array): boolean {
    if (this.#down) {
      this.dropped++;
      return true;
    }
    this.#ctx.egress(this, frame);
    return !this.#blocked;
  }

  /** Past every fault: the segment's conditions, the capture, the switch. */
  toWire(frame: Uint8Array): void {
    if (!this.#down) this.#wire.push([frame]);
  }

  /**
   * Frames made by the simulator for this port's stack, as if off the wire. They arrive a
   * macrotask later, as the switch's do: never inside the call of a stack that is sending.
   */
  inject(frames: Uint8Array[]): void {
    if (this.#down || !this.#receiver) return;
    for (const f of frames) this.segment.capture?.write(f);
    this.#injected.push(...frames);
    if (this.#injected.length === frames.length) {
      scheduleMacrotask(() => {
        const batch = this.#injected;
        this.#injected = [];
        if (!this.#down) this.#receiver?.onFrames(batch);
      });
    }
  }

  close(): void {
    this.#down = true;
    this.#wire.close();
    this.#switch.close();
  }
}
