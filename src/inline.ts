// lwip-wasm/inline: the browser entry with lwip.wasm inside the bundle, for bundlers that
// do not follow new URL('./lwip.wasm', import.meta.url) and so would leave the page to
// fetch a file they never copied (esbuild, rollup without an asset plugin). The wasm
// rides along as base64, about a third larger than the file, and is compiled from
// memory on the first Stack.create. Everything else is the main entry.
import { setDefaultWasm } from './bindings/default-wasm.js';
import { WASM_BASE64 } from './gen/wasm-inline.js';

function decode(b64: string): Uint8Array {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

setDefaultWasm(decode(WASM_BASE64));

export * from './index.js';
