// Generates src/gen/constants.ts from wasm/lw_const.h so C and TS cannot drift.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const header = readFileSync(join(root, 'wasm/lw_const.h'), 'utf8');
const defs = [...header.matchAll(/^#define LW_([A-Z0-9_]+)\s+(0x[0-9a-fA-F]+|\d+)/gm)];
if (defs.length === 0) throw new Error('gen-constants: no LW_ constants found');

const errnos = defs.filter(([, name]) => /^E[A-Z]+$/.test(name) && !name.startsWith('EPOLL'));
const lines = [
  '// Generated from wasm/lw_const.h by scripts/gen-constants.mjs. Do not edit.',
  ...defs.map(([, name, value]) => `export const ${name} = ${value};`),
  '',
  '/** errno number to its Linux name. */',
  'export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({',
  ...errnos.map(([, name, value]) => `  ${Number(value)}: '${name}',`),
  '});',
  '',
];
mkdirSync(join(root, 'src/gen'), { recursive: true });
writeFileSync(join(root, 'src/gen/constants.ts'), lines.join('\n'));
