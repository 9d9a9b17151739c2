// lwip-wasm/inline: the browser entry with lwip.wasm inside the bundle, for bundlers that
// do not follow new URL('./lwip.wasm', import.meta.url) and so would leave the page to
// fetch a file they never copied (esbuild, rollup without an asset plugin). The wasm
// rides along as base64, about a third larger than the file, and is compiled from
// memory on the first Stack.create. Everything else is the main entry. The TLS wasm and
// stack.fetch's parser are not in it (most apps need neither): lwip-wasm/inline-tls and
// lwip-wasm/inline-fetch carry them, imported beside this entry.
import { setDefaultWasm } from './bindings/default-wasm.js';
import { decodeBase64 } from './bindings/base64.js';
import { WASM_BASE64 } from './gen/wasm-inline.js';

setDefaultWasm(decodeBase64(WASM_BASE64));

export * from './index.js';
