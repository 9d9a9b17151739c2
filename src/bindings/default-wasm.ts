// Which wasm Stack.create (and stack.fetch's parser) uses when given none. The file
// beside this module by default, found the way bundlers that copy assets understand
// (new URL(..., import.meta.url)); the inline entries (lwip-wasm/inline, inline-tls,
// inline-fetch) set the bytes they carry instead.
/** Where the wasm comes from: a compiled module, its bytes, or a URL/path to fetch. */
export type WasmSource = WebAssembly.Module | ArrayBuffer | ArrayBufferView | URL | string;

let override: WasmSource | undefined;

/** Makes source the default wasm (before the first stack compiles it). */
export function setDefaultWasm(source: WasmSource): void {
  override = source;
}

export function defaultWasm(): WasmSource {
  return override ?? new URL('./lwip.wasm', import.meta.url);
}

let tlsOverride: WasmSource | undefined;

/** Makes source the default TLS wasm (Stack.create({ tls: true })). */
export function setDefaultTlsWasm(source: WasmSource): void {
  tlsOverride = source;
}

/** lwip-tls.wasm: the stack with Mbed TLS, beside this module unless set otherwise. */
export function defaultTlsWasm(): WasmSource {
  return tlsOverride ?? new URL('./lwip-tls.wasm', import.meta.url);
}

let llhttpOverride: WasmSource | undefined;

/** Makes source the HTTP parser's wasm (stack.fetch; before its first use). */
export function setDefaultLlhttpWasm(source: WasmSource): void {
  llhttpOverride = source;
}

/** llhttp.wasm: stack.fetch's HTTP parser, fetched on the first fetch. */
export function defaultLlhttpWasm(): WasmSource {
  return llhttpOverride ?? new URL('./llhttp.wasm', import.meta.url);
}
