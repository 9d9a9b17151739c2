// A link to a Linux TAP device (Node only): the stack becomes a host on a kernel
// network. The native addon (native/tap) is loaded lazily, on the first openTap(),
// so importing this module costs nothing and fails nowhere.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RX_HINT_PARTIAL, type Link, type LinkReceiver } from './link.js';

/** The addon's functions (native/tap/tap.c); each returns a negative errno on failure. */
interface TapAddon {
  open(name: string, attachOnly: boolean, vnet: boolean): object | number;
  offload(dev: object, on: boolean): number;
  name(dev: object): string;
  /** onFrames gets the frames' bytes, and per frame its length and the kernel's offload info. */
  start(dev: object, onFrames: (data: ArrayBuffer, lengths: ArrayBuffer) => void,
    onWritable: () => void, onError: (negErrno: number) => void): number;
  /** segMax: per frame, 0, or the largest IP packet the kernel is to cut a TCP segment into. */
  write(dev: object, frames: readonly Uint8Array[], from: number, segMax: readonly number[]): number;
  close(dev: object): number;
  ref(dev: object, on: boolean): number;
  stats(dev: object): Float64Array;
  mtu(name: string): number;
  setMtu(name: string, mtu: number): number;
  setUp(name: string, up: boolean): number;
  index(name: string): number;
  readonly batchFrames: number;
}

export interface TapOptions {
  /**
   * Device name, e.g. 'tap0' (at most 15 bytes). An existing TAP device of that name is
   * attached to; otherwise one is created (CAP_NET_ADMIN). Default: the kernel picks a
   * free 'tapN' and creates it.
   */
  name?: string;
  /**
   * Only attach to an existing device; never create one (default false). This is how a
   * process without CAP_NET_ADMIN uses a persistent device it owns
   * (`ip tuntap add dev tap0 mode tap user $USER`).
   */
  attach?: boolean;
  /** Sets the device's MTU first (576 to 65521; needs CAP_NET_ADMIN). Default: leave it as it is. */
  mtu?: number;
  /** Sets the device up (needs CAP_NET_ADMIN). Default false: leave it as it is. */
  up?: boolean;
  /**
   * Offload, as a virtio NIC has it (default true): once a stack attaches, TCP segments
   * of up to 64 KiB cross the device whole, so one read or write moves up to 64 KiB
   * instead of one MTU. The kernel hands the stack such segments (GSO) with checksums it
   * vouches for left unchecked, which the stack takes as Linux's GRO would (a stack that
   * forwards cuts them back to MTU-sized packets and completes their checksums first);
   * the stack sends segments of up to 44 MSS, which the kernel cuts (TSO). Anything else
   * attached (the relay's tap mode bridges frames) gets plain MTU-sized frames. False:
   * one frame per MTU each way, every checksum computed and checked.
   */
  offload?: boolean;
  /** Bytes waiting for the device above which send() returns false (default 1 MiB). */
  highWaterMark?: number;
  /** Path of the addon (tap.node). Default: the package's prebuild for this platform (native/tap/prebuilds). */
  addon?: string;
}

/** What crossed the link, for tests, diagnostics and benchmarks. */
export interface TapCounters {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
  /** Frames the kernel refused (EIO while the device is down), or sent after close. */
  dropped: number;
  /** Frames dropped because they arrived before a stack was attached, past the 1 MiB held for it. */
  receivedUnattached: number;
  /** Calls into the addon that wrote frames, and batches it delivered: frames per call = frames / calls. */
  writeCalls: number;
  readBatches: number;
  /** Frames the kernel handed over as one segment of several (offload on). */
  largeReceived: number;
}

/** A TAP link could not be opened or configured; code is a Linux errno name. */
export class TapError extends Error {
  /** 'EPERM', 'ENODEV', 'EBUSY', ...; 'ENOSYS' (not Linux) and 'ELIBACC' (addon not built or not loadable). */
  readonly code: string;
  /** Linux errno number, when the kernel gave one. */
  readonly errno?: number;
  /** What failed: 'load', 'open', 'TUNSETIFF', 'SIOCSIFMTU', 'SIOCSIFFLAGS', 'read'. */
  readonly syscall: string;
  constructor(code: string, syscall: string, message: string, errno?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TapError';
    this.code = code;
    this.syscall = syscall;
    if (errno !== undefined) this.errno = errno;
  }
}

// Linux errno values the messages below care about; others print as their number.
const ERRNO: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 5: 'EIO', 6: 'ENXIO', 9: 'EBADF', 12: 'ENOMEM', 13: 'EACCES', 16: 'EBUSY',
  19: 'ENODEV', 22: 'EINVAL', 24: 'EMFILE', 77: 'EBADFD', 95: 'EOPNOTSUPP',
};
const errnoName = (neg: number): string => ERRNO[-neg] ?? `E${-neg}`;

// The addon's folder, from dist/ (chunks sit beside the entries). The package carries
// prebuilds/<platform>-<arch>/tap.<libc>.node there; a local node-gyp build puts
// build/Release/tap.node beside it, which node-gyp-build prefers.
const addonDir = (): string => fileURLToPath(new URL('../native/tap', import.meta.url));
const loaded = new Map<string, TapAddon>();

function howToBuild(dir: string): string {
  return 'To build one for this machine (needs python3, make and a C compiler): ' +
    `\`npx node-gyp rebuild --directory ${dir}\` (in a checkout of lwip-wasm: \`make addon\`).`;
}

/** The addon file: the one given, else the one node-gyp-build picks for this platform. */
function addonFile(path: string | undefined): string {
  if (path !== undefined) {
    if (!existsSync(path)) {
      throw new TapError('ELIBACC', 'load', `lwip-wasm: there is no TAP addon at ${path}. ${howToBuild(addonDir())}`);
    }
    return path;
  }
  const dir = addonDir();
  try {
    const nodeGypBuild = createRequire(import.meta.url)('node-gyp-build') as { path(dir: string): string };
    return nodeGypBuild.path(dir);
  } catch (err) {
    throw new TapError('ELIBACC', 'load',
      `lwip-wasm: no TAP addon for ${process.platform}-${process.arch} in ${dir} (the package carries one ` +
      `for linux-x64 with glibc). ${howToBuild(dir)}`, undefined, { cause: err });
  }
}

function loadAddon(path?: string): TapAddon {
  if (process.platform !== 'linux') {
    throw new TapError('ENOSYS', 'load', `lwip-wasm: TAP links need Linux's TUN/TAP driver; this is ${process.platform}`);
  }
  const file = addonFile(path);
  const hit = loaded.get(file);
  if (hit) return hit;
  try {
    const addon = createRequire(import.meta.url)(file) as TapAddon;
    loaded.set(file, addon);
    return addon;
  } catch (err) {
    throw new TapError('ELIBACC', 'load',
      `lwip-wasm: the TAP addon ${file} did not load (${(err as Error).message}). ${howToBuild(addonDir())}`,
      undefined, { cause: err });
  }
}

function openError(neg: number, name: string, attach: boolean, exists: boolean): TapError {
  const code = errnoName(neg);
  const dev = name || 'tap0';
  const create = `sudo ip tuntap add dev ${dev} mode tap user $USER`;
  let msg: string;
  switch (code) {
    case 'EPERM':
      msg = attach || name
        ? `no permission to attach to TAP device ${dev}: it belongs to another user, or creating it needs ` +
          `CAP_NET_ADMIN. Without root, have root create a persistent device you own (${create}), then open ` +
          `it with { name: '${dev}', attach: true }`
        : 'creating a TAP device needs CAP_NET_ADMIN (run as root, or grant the capability). Without it, have ' +
          `root create a persistent device you own (${create}), then open it with { name: '${dev}', attach: true }`;
      break;
    case 'ENODEV':
      msg = `no device ${dev} to attach to; create a persistent one first: ${create}`;
      break;
    case 'EBUSY':
      msg = `TAP device ${dev} is already attached to another process (a TAP device takes one reader)`;
      break;
    case 'EINVAL':
      msg = exists
        ? `${dev} exists but is not a TAP device (it is another kind of interface, or a TUN device)`
        : `the kernel refused to create a TAP device named ${JSON.stringify(dev)} (EINVAL)`;
      break;
    case 'ENOENT':
    case 'ENXIO':
      msg = 'there is no /dev/net/tun: load the driver (modprobe tun) or, in a container, pass the device in (--device /dev/net/tun)';
      break;
    case 'EACCES':
      msg = 'no permission to open /dev/net/tun (it is usually mode 0666; check the container or udev rules)';
      break;
    default:
      msg = `opening TAP device ${dev} failed with ${code}`;
  }
  return new TapError(code, code === 'ENOENT' || code === 'ENXIO' || code === 'EACCES' ? 'open' : 'TUNSETIFF',
    `lwip-wasm: ${msg}`, -neg);
}

function settingError(neg: number, what: 'SIOCSIFMTU' | 'SIOCSIFFLAGS', name: string, value: string): TapError {
  const code = errnoName(neg);
  const doing = what === 'SIOCSIFMTU' ? `setting the MTU of ${name} to ${value}` : `setting ${name} up`;
  const ipCmd = what === 'SIOCSIFMTU' ? `sudo ip link set ${name} mtu ${value}` : `sudo ip link set ${name} up`;
  const msg = code === 'EPERM'
    ? `${doing} needs CAP_NET_ADMIN; set it once as root instead (${ipCmd}) and leave the option out`
    : `${doing} failed with ${code}`;
  return new TapError(code, what, `lwip-wasm: ${msg}`, -neg);
}

/** Bytes of frames held for a stack that has not attached yet; later ones are dropped. */
const EARLY_LIMIT = 1024 * 1024;

const NAME_RE = /^[^\s/:]{1,15}$/;

/**
 * Opens a TAP device (creating it, or attaching to an existing one by name) and returns
 * a link for Stack.addInterface. Throws TapError when it cannot; the message says what to do.
 */
export function openTap(options: TapOptions = {}): TapLink {
  if (typeof options !== 'object' || options === null) throw new TypeError('lwip-wasm: openTap options must be an object');
  const { name = '', attach = false, mtu, up = false, offload = true } = options;
  if (typeof name !== 'string' || name === '.' || name === '..' ||
      (name !== '' && (!NAME_RE.test(name) || Buffer.byteLength(name) > 15))) {
    throw new TypeError(`lwip-wasm: TAP device name must be 1 to 15 bytes without spaces, '/' or ':', got ${JSON.stringify(name)}`);
  }
  if (attach && name === '') throw new TypeError('lwip-wasm: attach needs the name of the device to attach to');
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 65521)) {
    throw new RangeError(`lwip-wasm: TAP mtu must be an integer from 576 to 65521, got ${String(mtu)}`);
  }
  const hwm = options.highWaterMark ?? 1024 * 1024;
  if (typeof hwm !== 'number' || !(hwm > 0)) throw new RangeError('lwip-wasm: highWaterMark must be a positive number of bytes');
  if (options.addon !== undefined && typeof options.addon !== 'string') throw new TypeError('lwip-wasm: addon must be a path');
  if (typeof offload !== 'boolean') throw new TypeError(`lwip-wasm: TAP offload must be a boolean, got ${String(offload)}`);

  const addon = loadAddon(options.addon);
  const dev = addon.open(name, attach, offload);
  if (dev === -22 && offload) {
    // EINVAL: a kernel without virtio-net headers on TAP devices; carry on without.
    return openTap({ ...options, offload: false });
  }
  if (typeof dev === 'number') throw openError(dev, name, attach, name !== '' && addon.index(name) > 0);
  const ifname = addon.name(dev);
  try {
    if (mtu !== undefined) {
      const r = addon.setMtu(ifname, mtu);
      if (r < 0) throw settingError(r, 'SIOCSIFMTU', ifname, String(mtu));
    }
    if (up) {
      const r = addon.setUp(ifname, true);
      if (r < 0) throw settingError(r, 'SIOCSIFFLAGS', ifname, 'up');
    }
    const devMtu = addon.mtu(ifname);
    if (devMtu < 0) throw new TapError(errnoName(devMtu), 'SIOCGIFMTU', `lwip-wasm: reading the MTU of ${ifname} failed with ${errnoName(devMtu)}`, -devMtu);
    return new TapLink(addon, dev, ifname, addon.index(ifname), devMtu, hwm, offload);
  } catch (err) {
    addon.close(dev);
    throw err;
  }
}

/** A TAP device as a Link. Created by openTap. */
export class TapLink implements Link {
  /** The device's name in the kernel ('tap0'). */
  readonly name: string;
  /** The device's interface index in the namespace it was opened in. */
  readonly ifindex: number;
  /** The device's MTU when it was opened. */
  readonly mtu: number;
  readonly #addon: TapAddon;
  readonly #dev: object;
  readonly #highWaterMark: number;
  readonly #vnet: boolean;
  #receiver: LinkReceiver | undefined;
  #queue: Uint8Array[] = [];
  #queueSeg: number[] = [];
  #head = 0;
  #queued = 0;
  #flushQueued = false;
  #waitingWritable = false;
  #blocked = false;
  #closed = false;
  #sentAfterClose = 0;
  #unattached = 0;
  /** Frames read before attach(), handed over once a stack attaches (up to EARLY_LIMIT bytes). */
  #early: Uint8Array[] = [];
  #earlyFlags: number[] = [];
  #earlyBytes = 0;

  /** @internal use openTap */
  constructor(addon: TapAddon, dev: object, name: string, ifindex: number, mtu: number, highWaterMark: number,
    vnet: boolean) {
    this.#addon = addon;
    this.#vnet = vnet;
    this.#dev = dev;
    this.name = name;
    this.ifindex = ifindex;
    this.mtu = mtu;
    this.#highWaterMark = highWaterMark;
    const r = addon.start(dev, (data, lengths) => this.#onFrames(data, lengths), () => this.#onWritable(),
      (neg) => this.#fail(neg));
    if (r < 0) throw new TapError(errnoName(r), 'start', `lwip-wasm: watching ${name} failed with ${errnoName(r)}`, -r);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Frames and bytes through the device so far. */
  get counters(): TapCounters {
    const s = this.#closed ? this.#lastStats : this.#addon.stats(this.#dev);
    return {
      framesReceived: s[0]!, bytesReceived: s[1]!, readBatches: s[2]!,
      framesSent: s[3]!, bytesSent: s[4]!, writeCalls: s[5]!,
      dropped: s[6]! + this.#sentAfterClose, receivedUnattached: this.#unattached,
      largeReceived: s[8]!,
    };
  }

  /** @internal Link.segmentOffload: the kernel cuts TCP segments (offload is on). */
  get segmentOffload(): boolean {
    return this.offload;
  }

  /** Whether offload is on: asked for, a stack attached, and the kernel agreed. */
  get offload(): boolean {
    return (this.#closed ? this.#lastStats : this.#addon.stats(this.#dev))[9] === 1;
  }

  #lastStats: Float64Array = new Float64Array(10);

  attach(receiver: LinkReceiver): void {
    if (this.#receiver) throw new Error('lwip-wasm: this TAP link is already attached to a stack');
    if (!receiver || typeof receiver.onFrames !== 'function') throw new TypeError('lwip-wasm: attach needs a LinkReceiver');
    this.#receiver = receiver;
    // Offload only for a receiver that takes its hints (a stack), and only if the kernel
    // agrees; otherwise frames stay MTU-sized with complete checksums.
    if (this.#vnet && receiver.offload === true) this.#addon.offload(this.#dev, true);
    if (this.#early.length > 0) {
      // After addInterface returns, as any later batch would arrive.
      queueMicrotask(() => {
        const early = this.#early;
        const flags = this.#earlyFlags;
        this.#early = [];
        this.#earlyFlags = [];
        this.#earlyBytes = 0;
        if (!this.#closed && early.length > 0) receiver.onFrames(early, flags);
      });
    }
  }

  send(frame: Uint8Array, segMax = 0): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError('lwip-wasm: a frame must be a Uint8Array');
    if (this.#closed) {
      this.#sentAfterClose++;
      return false;
    }
    this.#queue.push(frame);
    this.#queueSeg.push(segMax);
    this.#queued += frame.byteLength;
    // Everything sent in this turn goes to the kernel in one call, at the end of the turn.
    if (!this.#flushQueued && !this.#waitingWritable) {
      this.#flushQueued = true;
      queueMicrotask(() => this.#flush());
    }
    if (this.#queued > this.#highWaterMark) {
      this.#blocked = true;
      return false;
    }
    return true;
  }

  /** Keeps Node's event loop alive while open (the default), as a socket does. */
  ref(): this {
    if (!this.#closed) this.#addon.ref(this.#dev, true);
    return this;
  }

  /** Lets Node exit while the device is open. */
  unref(): this {
    if (!this.#closed) this.#addon.ref(this.#dev, false);
    return this;
  }

  /** Closes the device; one this link created disappears from the kernel. */
  close(): void {
    this.#shut(undefined);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#closed) return;
    const q = this.#queue;
    if (this.#head < q.length) {
      const n = this.#addon.write(this.#dev, q, this.#head, this.#queueSeg);
      if (n < 0) {
        this.#fail(n);
        return;
      }
      for (let i = this.#head; i < this.#head + n; i++) this.#queued -= q[i]!.byteLength;
      this.#head += n;
    }
    if (this.#head < q.length) {
      this.#waitingWritable = true; // the addon armed a writable watch after EAGAIN
      if (this.#head > 4096) {
        this.#queue = q.slice(this.#head);
        this.#queueSeg = this.#queueSeg.slice(this.#head);
        this.#head = 0;
      }
      return;
    }
    this.#queue = [];
    this.#queueSeg = [];
    this.#head = 0;
    this.#queued = 0;
    if (this.#blocked) {
      this.#blocked = false;
      this.#receiver?.onDrain();
    }
  }

  #onWritable(): void {
    this.#waitingWritable = false;
    this.#flush();
  }

  #onFrames(data: ArrayBuffer, lengths: ArrayBuffer): void {
    const meta = new Uint32Array(lengths);
    const n = meta.length >>> 1;
    const frames = new Array<Uint8Array>(n);
    const flags = new Array<number>(n);
    let off = 0;
    for (let i = 0; i < n; i++) {
      const len = meta[2 * i]!;
      const info = meta[2 * i + 1]!;
      frames[i] = new Uint8Array(data, off, len); // views of a buffer made for this batch
      off += len;
      // virtio's NEEDS_CSUM or DATA_VALID: the kernel vouches for the checksums (which
      // may be partial); bits 16-31: the size a larger segment was meant to be cut to.
      flags[i] = ((info & 3) !== 0 ? RX_HINT_PARTIAL : 0) | (info & 0xffff0000);
    }
    const receiver = this.#receiver;
    if (receiver) {
      receiver.onFrames(frames, flags);
      return;
    }
    for (let i = 0; i < n; i++) {
      const f = frames[i]!;
      if (this.#earlyBytes + f.byteLength > EARLY_LIMIT) {
        this.#unattached++;
        continue;
      }
      this.#early.push(f);
      this.#earlyFlags.push(flags[i]!);
      this.#earlyBytes += f.byteLength;
    }
  }

  #fail(neg: number): void {
    const code = errnoName(neg);
    const why = code === 'EBADFD' || code === 'EIO'
      ? ` (the device ${this.name} was deleted or detached)` : '';
    this.#shut(new TapError(code, 'read', `lwip-wasm: TAP device ${this.name} failed with ${code}${why}`, -neg));
  }

  #shut(error: TapError | undefined): void {
    if (this.#closed) return;
    this.#lastStats = this.#addon.stats(this.#dev);
    this.#closed = true;
    this.#addon.close(this.#dev);
    this.#sentAfterClose += this.#queue.length - this.#head;
    this.#early = [];
    this.#queue = [];
    this.#queueSeg = [];
    this.#head = 0;
    this.#queued = 0;
    this.#receiver?.onClose(error);
  }
}
