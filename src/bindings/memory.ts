// Views of wasm memory. Views go stale when memory grows, so every access goes through
// u8()/dv(), which rebuild the views only when the buffer was replaced. Growing detaches
// the old buffer, and a view of a detached buffer has length 0: that test is cheaper
// than reading memory.buffer, and these are called several times per frame.
import { readLwAddr, writeLwAddr, type Mem, type Ptr } from '../gen/abi.js';
import { AF_INET, AF_INET6 } from '../gen/constants.js';

/** An address as it crosses the boundary (struct lw_addr): family, port, scope and 4 or 16 bytes. */
export interface RawAddress {
  family: number;
  port: number;
  scope: number;
  bytes: Uint8Array;
}

type Unzeroed = (size: number) => Uint8Array;
/**
 * Node's Buffer.allocUnsafeSlow: memory that is not zero-filled first, for buffers
 * every byte of which is written at once. It saves a third of a large recv's copy out
 * (measured: 256 KiB, 43 against 30 µs); browsers have nothing like it.
 */
const unzeroed = (globalThis as { Buffer?: { allocUnsafeSlow?: Unzeroed } }).Buffer?.allocUnsafeSlow;
/** Below this a new Uint8Array is as fast (V8 keeps small ones on its own heap). */
const UNZEROED_MIN = 4096;

export class Heap implements Mem {
  readonly #memory: WebAssembly.Memory;
  readonly #malloc: (size: number) => Ptr;
  #u8: Uint8Array;
  #dv: DataView;

  constructor(memory: WebAssembly.Memory, malloc: (size: number) => Ptr) {
    this.#memory = memory;
    this.#malloc = malloc;
    this.#u8 = new Uint8Array(memory.buffer);
    this.#dv = new DataView(memory.buffer);
  }

  u8(): Uint8Array {
    if (this.#u8.length === 0) this.#refresh();
    return this.#u8;
  }

  dv(): DataView {
    if (this.#u8.length === 0) this.#refresh();
    return this.#dv;
  }

  #refresh(): void {
    const buffer = this.#memory.buffer;
    this.#u8 = new Uint8Array(buffer);
    this.#dv = new DataView(buffer);
  }

  /**
   * A copy of len bytes at ptr, in a buffer of its own. Not slice(): on a view of wasm
   * memory V8's slice costs about twice a new array and set() (measured: 256 KiB, 30-46
   * against 20 µs), and recv copies every byte out this way.
   */
  copy(ptr: Ptr, len: number): Uint8Array {
    // A plain Uint8Array over the Buffer's own ArrayBuffer: recv returns Uint8Arrays.
    const out = unzeroed !== undefined && len >= UNZEROED_MIN ? new Uint8Array(unzeroed(len).buffer, 0, len) : new Uint8Array(len);
    out.set(this.u8().subarray(ptr, ptr + len));
    return out;
  }

  /** Allocates size bytes that live until freed; throws if wasm is out of memory. */
  alloc(size: number): Ptr {
    const ptr = this.#malloc(size);
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    return ptr;
  }

  writeAddress(ptr: Ptr, a: RawAddress): void {
    writeLwAddr(this, ptr, { family: a.family, port: a.port, scope: a.scope, addr: a.bytes });
  }

  readAddress(ptr: Ptr): RawAddress {
    const r = readLwAddr(this, ptr);
    const v6 = r.family === AF_INET6;
    return { family: v6 ? AF_INET6 : AF_INET, port: r.port, scope: r.scope, bytes: r.addr.subarray(0, v6 ? 16 : 4) };
  }

  cstring(ptr: Ptr): string {
    const u8 = this.u8();
    let end = ptr;
    while (end < u8.length && u8[end] !== 0) end++;
    return new TextDecoder().decode(u8.subarray(ptr, end));
  }
}
