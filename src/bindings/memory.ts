// Helpers for wasm memory. Views go stale when memory grows, so every access goes
// through u8()/dv(), which rebuild the view only when the buffer was replaced.
import type { LwipExports, Ptr } from './exports.js';
import { AF_INET, AF_INET6 } from '../gen/constants.js';

/** Size of struct lw_addr (wasm/lw.h). */
export const ADDR_SIZE = 24;

/** An address as it crosses the boundary: family, port, scope and 4 or 16 bytes. */
export interface RawAddress {
  family: number;
  port: number;
  scope: number;
  bytes: Uint8Array;
}

export class Heap {
  readonly #ex: LwipExports;
  #u8: Uint8Array;
  #dv: DataView;

  constructor(ex: LwipExports) {
    this.#ex = ex;
    this.#u8 = new Uint8Array(ex.memory.buffer);
    this.#dv = new DataView(ex.memory.buffer);
  }

  u8(): Uint8Array {
    if (this.#u8.buffer !== this.#ex.memory.buffer) {
      this.#u8 = new Uint8Array(this.#ex.memory.buffer);
    }
    return this.#u8;
  }

  dv(): DataView {
    if (this.#dv.buffer !== this.#ex.memory.buffer) {
      this.#dv = new DataView(this.#ex.memory.buffer);
    }
    return this.#dv;
  }

  /** Allocates size bytes that live as long as the stack; throws if wasm is out of memory. */
  alloc(size: number): Ptr {
    const ptr = this.#ex.malloc(size);
    if (ptr === 0) throw new RangeError('lwip-wasm: out of wasm memory');
    return ptr;
  }

  writeAddress(ptr: Ptr, a: RawAddress): void {
    const dv = this.dv();
    dv.setUint16(ptr, a.family, true);
    dv.setUint16(ptr + 2, a.port, true);
    dv.setUint32(ptr + 4, a.scope, true);
    const u8 = this.u8();
    u8.fill(0, ptr + 8, ptr + 24);
    u8.set(a.bytes, ptr + 8);
  }

  readAddress(ptr: Ptr): RawAddress {
    const dv = this.dv();
    const family = dv.getUint16(ptr, true);
    const len = family === AF_INET6 ? 16 : 4;
    return {
      family: family === AF_INET6 ? AF_INET6 : AF_INET,
      port: dv.getUint16(ptr + 2, true),
      scope: dv.getUint32(ptr + 4, true),
      bytes: this.u8().slice(ptr + 8, ptr + 8 + len),
    };
  }

  cstring(ptr: Ptr): string {
    const u8 = this.u8();
    let end = ptr;
    while (end < u8.length && u8[end] !== 0) end++;
    return new TextDecoder().decode(u8.subarray(ptr, end));
  }
}
