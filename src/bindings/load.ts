// Loads lwip.wasm in Node (ESM or CJS) and in browsers, and instantiates one private
// instance per stack. The compiled module is cached, so extra stacks cost only memory.
import { EXPORT_NAMES, TLS_EXPORT_NAMES, type RawExports, type RawImports, type RawTlsExports } from '../gen/abi.js';
import { defaultWasm, defaultTlsWasm, type WasmSource } from './default-wasm.js';
import { readFileUrl } from './read-file.js';

export type { WasmSource };

/** Functions the wasm imports from its host (module "env"). */
export interface WasmHost {
  now(): number;
  random(): number;
  diag(message: string): void;
  assertFailed(message: string): void;
}

/** What instantiate gives: the exports, and the TLS ones when the wasm has them. */
export interface Instance {
  raw: RawExports;
  tls: RawTlsExports | undefined;
}

let defaultModule: Promise<WebAssembly.Module> | undefined;
let defaultTlsModule: Promise<WebAssembly.Module> | undefined;

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

/**
 * A default file that would not load: say which entry carries it for bundlers that do
 * not copy files (the usual cause in a browser), keeping the original as the cause.
 */
export function missingDefault(source: WasmSource, file: string, remedy: string) {
  return (err: unknown): never => {
    if (!(source instanceof URL)) throw err;
    throw new Error(`lwip-wasm: could not load ${file} from ${source.href} (${(err as Error)?.message ?? String(err)}); ` +
      `a bundler that does not copy it needs ${remedy}`, { cause: err });
  };
}

/**
 * Compiles (once) the wasm that ships next to this module, or the given source. With
 * tls, the default is lwip-tls.wasm (the stack with Mbed TLS) instead of lwip.wasm.
 */
export function loadModule(source?: WasmSource, tls = false): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  if (source !== undefined) return compileFrom(source as ArrayBuffer | ArrayBufferView | URL | string);
  if (tls) {
    defaultTlsModule ??= loadDefault(defaultTlsWasm(), 'lwip-tls.wasm',
      "`import 'lwip-wasm/inline-tls'` beside lwip-wasm/inline (or pass the file's URL or bytes as `wasm`)").catch((err: unknown) => {
      defaultTlsModule = undefined;
      throw err;
    });
    return defaultTlsModule;
  }
  defaultModule ??= loadDefault(defaultWasm(), 'lwip.wasm', 'lwip-wasm/inline in place of lwip-wasm (or the file\'s URL or bytes as `wasm`)').catch((err: unknown) => {
    defaultModule = undefined;
    throw err;
  });
  return defaultModule;
}

function loadDefault(source: WasmSource, file: string, remedy: string): Promise<WebAssembly.Module> {
  return loadModule(source).catch(missingDefault(source, file, remedy));
}

/** Fills buf from the platform's CSPRNG (at most 65536 bytes a call, as getRandomValues). */
function entropy(buf: Uint8Array): boolean {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof c?.getRandomValues !== 'function') return false;
  c.getRandomValues(buf);
  return true;
}

/**
 * Instantiates module with host's imports. Refuses a wasm that lacks an export of
 * wasm/abi.h's LW_EXPORTS, and, when tls is asked for, one of LW_TLS_EXPORTS.
 */
export async function instantiate(module: WebAssembly.Module, host: WasmHost, tls = false): Promise<Instance> {
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
    // TLS's randomness: the platform's CSPRNG and nothing else; -1 fails the handshake.
    js_entropy: guard((ptr: number, len: number) =>
      (memory && entropy(new Uint8Array(memory.buffer, ptr, len)) ? 0 : -1), -1),
    // Certificates are valid in wall-clock time, whatever clock the stack runs on.
    js_time: guard(() => Math.floor(Date.now() / 1000) >>> 0, 0),
    emscripten_notify_memory_growth: () => {},
  };
  const instance = await WebAssembly.instantiate(module, { env });
  const lacks = (names: readonly string[]): string[] => names.filter((n) => !(n in instance.exports));
  const missing = lacks(EXPORT_NAMES);
  if (missing.length > 0) {
    throw new TypeError(`lwip-wasm: this wasm is not the one this package was built with (it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`);
  }
  const tlsMissing = lacks(TLS_EXPORT_NAMES);
  if (tls && tlsMissing.length > 0) {
    throw new TypeError(tlsMissing.length === TLS_EXPORT_NAMES.length
      ? 'lwip-wasm: tls: true needs lwip-tls.wasm, and this wasm has no TLS (pass that file as `wasm`, or leave `wasm` out)'
      : `lwip-wasm: this TLS wasm is not the one this package was built with (it lacks ${tlsMissing.slice(0, 3).join(', ')})`);
  }
  const exports = instance.exports as unknown as RawExports;
  memory = exports.memory;
  exports._initialize();
  return { raw: exports, tls: tlsMissing.length === 0 ? (instance.exports as unknown as RawTlsExports) : undefined };
}
