// Generates a wasm as base64 in a TS module: by default src/gen/wasm-inline.ts (lwip.wasm,
// for lwip-wasm/inline, src/inline.ts); the build also writes src/gen/tls-wasm-inline.ts
// and src/gen/llhttp-wasm.ts (for lwip-wasm/inline-tls and inline-fetch). The header
// names the wasm relative to the repository, never by a machine's path.
// Usage: node scripts/gen-inline.mjs [path/to/x.wasm] [out.ts] [CONST_NAME]
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = process.argv[2] ?? join(root, 'build/lwip.wasm');
const out = process.argv[3] ? join(root, process.argv[3]) : join(root, 'src/gen/wasm-inline.ts');
const name = process.argv[4] ?? 'WASM_BASE64';
const wasm = readFileSync(from);
if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error('gen-inline: not a wasm file');
mkdirSync(dirname(out), { recursive: true });
const label = relative(root, resolve(root, from)).replace(/\\/g, '/');
writeFileSync(out, `// Generated from ${label} by scripts/gen-inline.mjs. Do not edit.\nexport const ${name} = '${wasm.toString('base64')}';\n`);
