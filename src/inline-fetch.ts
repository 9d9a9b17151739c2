// lwip-wasm/inline-fetch: stack.fetch's HTTP parser (llhttp.wasm, about 40 KB) inside the
// JavaScript, for bundlers that do not copy the file new URL('./llhttp.wasm',
// import.meta.url) names (esbuild, rollup without an asset plugin). Imported for its
// effect, beside lwip-wasm/inline: `import 'lwip-wasm/inline-fetch'`. Without it the
// parser is fetched from beside the package's code on the first stack.fetch.
import { setDefaultLlhttpWasm } from './bindings/default-wasm.js';
import { decodeBase64 } from './bindings/base64.js';
import { LLHTTP_WASM_BASE64 } from './gen/llhttp-wasm.js';

setDefaultLlhttpWasm(decodeBase64(LLHTTP_WASM_BASE64));

/** The file this entry carries, so a build can tell it is in (and types have a shape). */
export const inlined = 'llhttp.wasm';
