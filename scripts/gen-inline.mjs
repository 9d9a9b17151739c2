// Generates src/gen/wasm-inline.ts, the wasm as base64 for lwip-wasm/inline (src/inline.ts).
// Usage: node scripts/gen-inline.mjs [path/to/lwip.wasm]   (default build/lwip.wasm)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wasm = readFileSync(process.argv[2] ?? join(root, 'build/lwip.wasm'));
if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error('gen-inline: not a wasm file');
const out = join(root, 'src/gen/wasm-inline.ts');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `// Generated from build/lwip.wasm by scripts/gen-inline.mjs. Do not edit.\nexport const WASM_BASE64 = '${wasm.toString('base64')}';\n`);
