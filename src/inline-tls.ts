// lwip-wasm/inline-tls: lwip-tls.wasm (the stack with Mbed TLS, for Stack.create({ tls:
// true })) inside the JavaScript, for bundlers that do not copy the file new
// URL('./lwip-tls.wasm', import.meta.url) names (esbuild, rollup without an asset
// plugin). Imported for its effect, beside lwip-wasm/inline: `import 'lwip-wasm/inline-tls'`.
// It is large (about 520 KB of base64), so only apps that use TLS should import it.
import { setDefaultTlsWasm } from './bindings/default-wasm.js';
import { decodeBase64 } from './bindings/base64.js';
import { TLS_WASM_BASE64 } from './gen/tls-wasm-inline.js';

setDefaultTlsWasm(decodeBase64(TLS_WASM_BASE64));

/** The file this entry carries, so a build can tell it is in (and types have a shape). */
export const inlined = 'lwip-tls.wasm';
