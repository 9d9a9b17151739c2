// Loads lwip.wasm in Node (ESM or CJS) and in browsers, and instantiates one private
// instance per stack. The compiled module is cached, so extra stacks cost only memory.
import { EXPORT_NAMES, type RawExports, type RawImports } from '../gen/abi.js';
import { defaultWasm, type WasmSource } from './default-wasm.js';
import { readFileUrl } from './read-file.js';

export type { WasmSource };

/** Functions the wasm imports from its host (module "env"). */
export interface WasmHost {
  now(): number;
  random(): number;
  diag(message: string): void;
  assertFailed(message: string): void;
}

let defaultModule: Promise<WebAssembly.Module> | undefined;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function readBytes(url: URL): Promise<BufferSource> {
  if (url.protocol === 'file:' && isNode) return readFileUrl(url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`lwip-wasm: fetching ${url.href} failed with HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function compileFrom(source: ArrayBuffer | ArrayBufferView | URL | string): Promise<WebAssembly.Module> {
  if (source instanceof ArrayBuffer) return WebAssembly.compile(source);
  if (ArrayBuffer.isView(source)) {
    return WebAssembly.compile(new Uint8Array(source.buffer as ArrayBuffer, source.byteOffset, source.byteLength));
  }
  const url = source instanceof URL ? source : new URL(source, isNode ? `file://${process.cwd()}/` : undefined);
  if (url.protocol !== 'file:' && typeof WebAssembly.compileStreaming === 'function') {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`lwip-wasm: fetching ${url.href} failed with HTTP ${res.status}`);
    // compileStreaming needs application/wasm; fall back to bytes when a server says otherwise.
    if (res.headers.get('content-type')?.startsWith('application/wasm')) {
      return WebAssembly.compileStreaming(res);
    }
    return WebAssembly.compile(await res.arrayBuffer());
  }
  return WebAssembly.compile(await readBytes(url));
}

/** Compiles (once) the wasm that ships next to this module, or the given source. */
export function loadModule(source?: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source !== undefined) return compileFrom(source as ArrayBuffer | ArrayBufferView | URL | string);
  defaultModule ??= loadModule(defaultWasm()).catch((err: unknown) => {
    defaultModule = undefined;
    throw err;
  });
  return defaultModule;
}

/** Instantiates module with host's imports; refuses a wasm that lacks an export of wasm/abi.h. */
export async function instantiate(module: WebAssembly.Module, host: WasmHost): Promise<RawExports> {
  let memory: WebAssembly.Memory | undefined;
  const text = (ptr: number, len: number): string =>
    memory ? new TextDecoder().decode(new Uint8Array(memory.buffer, ptr, len)) : '';
  // Callbacks from C into JS must never throw back through wasm.
  const guard = <A extends unknown[], R>(fn: (...a: A) => R, fallback: R) => (...a: A): R => {
    try {
      return fn(...a);
    } catch {
      return fallback;
    }
  };
  const env: RawImports & WebAssembly.ModuleImports = {
    js_now: guard(() => host.now() >>> 0, 0),
    js_rand: guard(() => host.random() >>> 0, 4),
    js_diag: guard((ptr: number, len: number) => host.diag(text(ptr, len)), undefined),
    js_assert: guard((ptr: number, len: number) => host.assertFailed(text(ptr, len)), undefined),
    emscripten_notify_memory_growth: () => {},
  };
  const instance = await WebAssembly.instantiate(module, { env });
  const missing = EXPORT_NAMES.filter((n) => !(n in instance.exports));
  if (missing.length > 0) {
    throw new TypeError(`lwip-wasm: this wasm is not the one this package was built with (it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
  }
  const exports = instance.exports as unknown as RawExports;
  memory = exports.memory;
  exports._initialize();
  return exports;
}
