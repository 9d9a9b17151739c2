// Writes the TypeScript side of the C/TS boundary from wasm/abi.h, as the compiler
// laid it out (build/abi-layout.wasm, built from wasm/abi_layout.c):
//   src/gen/abi.ts        typed exports (guard and flush by call kind), records, enums
//   src/gen/constants.ts  every LW_ constant of wasm/lw_const.h, and errno names
//   build/exports.json    the export list the linker gets (lwip.wasm)
//   build/exports-tls.json  the same with LW_TLS_EXPORTS (lwip-tls.wasm)
//   build/imports.js      the imports, declared for the linker
// Usage: node scripts/gen-abi.mjs [layout.wasm]. Fails loudly on anything it cannot map.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const layoutPath = process.argv[2] ?? join(root, 'build/abi-layout.wasm');
const fail = (msg) => {
  console.error(`gen-abi: ${msg}`);
  process.exit(1);
};

// --- read the compiler's table --------------------------------------------------------
const { instance } = await WebAssembly.instantiate(readFileSync(layoutPath), {});
const ex = instance.exports;
ex._initialize?.();
const mem = () => new DataView(ex.memory.buffer);
const cstr = (p) => {
  const u8 = new Uint8Array(ex.memory.buffer);
  let end = p;
  while (u8[end] !== 0) end++;
  return new TextDecoder().decode(u8.subarray(p, end));
};
const rowSize = ex.abi_row_size();
if (rowSize !== 32) fail(`unexpected row size ${rowSize}`);
const rows = [];
for (let i = 0, base = ex.abi_rows(); i < ex.abi_count(); i++, base += rowSize) {
  const dv = mem();
  const s = (k) => cstr(dv.getUint32(base + 4 * k, true));
  rows.push({ what: s(0), a: s(1), b: s(2), c: s(3), d: s(4),
    n1: dv.getUint32(base + 20, true), n2: dv.getUint32(base + 24, true), n3: dv.getUint32(base + 28, true) });
}

const records = new Map();
const enums = new Map();
const exports = [];
const tlsExports = [];
const imports = [];
for (const r of rows) {
  if (r.what === 'record') records.set(r.a, { name: r.a, size: r.n1, fields: [] });
  else if (r.what === 'field') records.get(r.a).fields.push({ name: r.b, ctype: r.c, form: r.d, offset: r.n1, size: r.n2, count: r.n3 });
  else if (r.what === 'enum') {
    if (!enums.has(r.a)) enums.set(r.a, []);
    enums.get(r.a).push({ name: r.b, value: r.n1 });
  } else if (r.what === 'export') exports.push({ kind: r.a, ret: r.b, name: r.c, params: r.d });
  else if (r.what === 'tls-export') tlsExports.push({ kind: r.a, ret: r.b, name: r.c, params: r.d });
  else if (r.what === 'import') imports.push({ ret: r.b, name: r.c, params: r.d });
  else fail(`unknown row kind ${r.what}`);
}

// --- C types to TS --------------------------------------------------------------------
const norm = (t) => t.replace(/\s+/g, ' ').replace(/\s*\*\s*/g, ' *').trim();
/** 'i32' | 'u32' | 'ptr' | 'void' for a parameter or return type. */
function valueKind(ctype) {
  const t = norm(ctype);
  if (t === 'void') return 'void';
  if (t.includes('*')) return 'ptr';
  if (t === 'int' || t === 's32_t') return 'i32';
  if (t === 'u32_t' || t === 'size_t' || t === 'unsigned' || t === 'unsigned int') return 'u32';
  return fail(`no TS mapping for the C type '${ctype}'`);
}
function parseParams(text, where) {
  const inner = text.trim().replace(/^\(/, '').replace(/\)$/, '').trim();
  if (inner === 'void' || inner === '') return [];
  return inner.split(',').map((p) => {
    const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)$/.exec(p.trim());
    if (!m) fail(`cannot read parameter '${p}' of ${where}`);
    return { name: camel(m[2]), kind: valueKind(m[1]) };
  });
}
const camel = (s) => s.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const pascal = (s) => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase());
const tsType = (kind) => (kind === 'void' ? 'void' : kind === 'ptr' ? 'Ptr' : 'number');

// Scalar field accessors by C type and size (the compiler's size must agree).
const SCALARS = {
  u8_t: { size: 1, get: 'getUint8', set: 'setUint8' },
  u16_t: { size: 2, get: 'getUint16', set: 'setUint16' },
  u32_t: { size: 4, get: 'getUint32', set: 'setUint32' },
  s32_t: { size: 4, get: 'getInt32', set: 'setInt32' },
};
const scalar = (ctype, where) => SCALARS[norm(ctype)] ?? fail(`no TS mapping for the field type '${ctype}' of ${where}`);

// --- src/gen/abi.ts -------------------------------------------------------------------
const out = [];
const emit = (s = '') => out.push(s);
emit('// Generated from wasm/abi.h by scripts/gen-abi.mjs, with the layouts the compiler gave');
emit('// (build/abi-layout.wasm). Do not edit: change wasm/abi.h and rebuild.');
emit('/* eslint-disable */');
emit('');
emit('/** A pointer into wasm memory. */');
emit('export type Ptr = number;');
emit('');
emit('/** Views of wasm memory; callers re-read them after any call that may grow it. */');
emit('export interface Mem {');
emit('  u8(): Uint8Array;');
emit('  dv(): DataView;');
emit('}');
emit('');
emit('// --- records ---------------------------------------------------------------------');

for (const rec of records.values()) {
  const T = pascal(rec.name);
  const C = rec.name.toUpperCase();
  const where = (f) => `${rec.name}.${f.name}`;
  let end = 0;
  for (const f of rec.fields) end = Math.max(end, f.offset + f.size);
  if (end > rec.size) fail(`${rec.name} fields run past its size`);
  emit('');
  emit(`/** struct ${rec.name}: ${rec.size} bytes; field offsets. */`);
  emit(`export const ${C} = { size: ${rec.size}, ${rec.fields.map((f) => `${camel(f.name)}: ${f.offset}`).join(', ')} } as const;`);
  emit(`export interface ${T} {`);
  for (const f of rec.fields) {
    let t;
    if (f.form === 'record') t = pascal(norm(f.ctype));
    else if (f.form === 'array') t = norm(f.ctype) === 'u8_t' ? 'Uint8Array' : 'number[]';
    else t = 'number';
    emit(`  ${camel(f.name)}: ${t};`);
  }
  emit('}');
  // reader
  emit(`export function read${T}(m: Mem, p: Ptr): ${T} {`);
  emit('  const dv = m.dv();');
  emit('  return {');
  for (const f of rec.fields) {
    const at = f.offset === 0 ? 'p' : `p + ${f.offset}`;
    let expr;
    if (f.form === 'record') {
      const inner = records.get(norm(f.ctype)) ?? fail(`${where(f)}: unknown record ${f.ctype}`);
      if (inner.size !== f.size) fail(`${where(f)}: size ${f.size} is not ${inner.name}'s ${inner.size}`);
      expr = `read${pascal(inner.name)}(m, ${at})`;
    } else if (f.form === 'array') {
      const el = scalar(f.ctype, where(f));
      if (el.size * f.count !== f.size) fail(`${where(f)}: ${f.count} elements do not make ${f.size} bytes`);
      expr = el.size === 1 ? `m.u8().slice(${at}, p + ${f.offset + f.size})`
        : `Array.from({ length: ${f.count} }, (_, i) => dv.${el.get}(${at} + i * ${el.size}, true))`;
    } else {
      const el = scalar(f.ctype, where(f));
      if (el.size !== f.size) fail(`${where(f)}: size ${f.size} is not ${f.ctype}'s`);
      expr = `dv.${el.get}(${at}${el.size > 1 ? ', true' : ''})`;
    }
    emit(`    ${camel(f.name)}: ${expr},`);
  }
  emit('  };');
  emit('}');
  // writer
  emit(`export function write${T}(m: Mem, p: Ptr, v: ${T}): void {`);
  emit('  const dv = m.dv();');
  for (const f of rec.fields) {
    const at = f.offset === 0 ? 'p' : `p + ${f.offset}`;
    const name = camel(f.name);
    if (f.form === 'record') emit(`  write${pascal(norm(f.ctype))}(m, ${at}, v.${name});`);
    else if (f.form === 'array') {
      const el = scalar(f.ctype, where(f));
      if (el.size === 1) {
        emit(`  m.u8().fill(0, ${at}, p + ${f.offset + f.size});`);
        emit(`  m.u8().set(v.${name}.subarray(0, ${f.count}), ${at});`);
      } else {
        emit(`  for (let i = 0; i < ${f.count}; i++) dv.${el.set}(${at} + i * ${el.size}, v.${name}[i] ?? 0, true);`);
      }
    } else {
      const el = scalar(f.ctype, where(f));
      emit(`  dv.${el.set}(${at}, v.${name}${el.size > 1 ? ', true' : ''});`);
    }
  }
  emit('}');
}

emit('');
emit('// --- enums -----------------------------------------------------------------------');
for (const [name, values] of enums) {
  values.forEach((v, i) => {
    if (v.value !== i) fail(`enum ${name}: ${v.name} is ${v.value}, expected ${i}`);
  });
  emit('');
  emit(`/** LW_${name}_* of wasm/abi.h. */`);
  emit(`export const ${name} = { ${values.map((v) => `${v.name}: ${v.value}`).join(', ')} } as const;`);
  emit(`export const ${name}_NAMES = [${values.map((v) => `'${v.name}'`).join(', ')}] as const;`);
}

emit('');
emit('// --- exports and imports ---------------------------------------------------------');
const toFn = (e) => ({ ...e, ret: valueKind(e.ret), args: parseParams(e.params, e.name) });
const fns = exports.map(toFn);
const tlsFns = tlsExports.map(toFn);
for (const f of [...fns, ...tlsFns]) if (!['CALL', 'READ', 'LOOP'].includes(f.kind)) fail(`${f.name}: unknown call kind ${f.kind}`);
for (const f of tlsFns) if (f.kind === 'LOOP') fail(`${f.name}: a TLS export cannot be a LOOP step`);
const signature = (f) => `${f.name}(${f.args.map((a) => `${a.name}: ${tsType(a.kind)}`).join(', ')}): ${tsType(f.ret)}`;
emit('');
emit('/** The wasm\'s exports as the engine gives them (u32 results may read as negative). */');
emit('export interface RawExports {');
emit('  readonly memory: WebAssembly.Memory;');
emit('  _initialize(): void;');
for (const f of fns) emit(`  ${signature(f)};`);
emit('}');
emit('');
emit('/** Every export the glue defines (the runtime adds emscripten\'s own). */');
emit(`export const EXPORT_NAMES: readonly (keyof RawExports)[] = [${['memory', '_initialize', ...fns.map((f) => f.name)].map((n) => `'${n}'`).join(', ')}];`);
emit('');
emit('/** The exports lwip-tls.wasm has on top of RawExports (LW_TLS_EXPORTS). */');
emit('export interface RawTlsExports {');
for (const f of tlsFns) emit(`  ${signature(f)};`);
emit('}');
emit('');
emit('/** Every export of LW_TLS_EXPORTS: a wasm has TLS only if it has all of them. */');
emit(`export const TLS_EXPORT_NAMES: readonly (keyof RawTlsExports)[] = [${tlsFns.map((f) => `'${f.name}'`).join(', ')}];`);
emit('');
emit('/** What the wasm imports from module "env". */');
emit('export interface RawImports {');
for (const i of imports) {
  const args = parseParams(i.params, i.name);
  emit(`  ${i.name}(${args.map((a) => `${a.name}: ${tsType(a.kind)}`).join(', ')}): ${tsType(valueKind(i.ret))};`);
}
emit('}');
emit('');
emit('/** How Abi wraps a call: a stack that failed or was disposed refuses it, a trap fails the stack. */');
emit('export interface CallGuard {');
emit('  /** Throws if the stack can no longer be used. */');
emit('  enter(): void;');
emit('  /** Called with what the wasm threw (a trap fails the stack); returns what to throw. */');
emit('  trap(err: unknown): unknown;');
emit('  /** Schedules a flush: the call may have queued frames or changed readiness. */');
emit('  kick(): void;');
emit('}');

/** A class of typed exports with each call kind's guard and flush. */
function emitClass(name, rawType, list, source, doc) {
  emit('');
  emit('/**');
  for (const line of doc) emit(` * ${line}`);
  emit(' */');
  emit(`export class ${name} {`);
  emit(`  readonly raw: ${rawType};`);
  emit('  readonly #g: CallGuard;');
  emit(`  constructor(raw: ${rawType}, guard: CallGuard) {`);
  emit('    this.raw = raw;');
  emit('    this.#g = guard;');
  emit('  }');
  for (const f of list) {
    const call = `this.raw.${f.name}(${f.args.map((a) => a.name).join(', ')})`;
    const value = f.ret === 'u32' || f.ret === 'ptr' ? `${call} >>> 0` : call;
    emit('');
    emit(`  /** ${f.kind}: ${norm(f.ret === 'void' ? 'void' : source.find((e) => e.name === f.name).ret)} ${f.name}${f.params} */`);
    emit(`  ${signature(f)} {`);
    const body = f.ret === 'void' ? `${call};` : `return ${value};`;
    if (f.kind === 'LOOP') emit(`    ${body}`);
    else {
      emit('    this.#g.enter();');
      emit('    try {');
      emit(`      ${body}`);
      emit('    } catch (err) {');
      emit('      throw this.#g.trap(err);');
      if (f.kind === 'CALL') {
        emit('    } finally {');
        emit('      this.#g.kick();');
      }
      emit('    }');
    }
    emit('  }');
  }
  emit('}');
}
emitClass('Abi', 'RawExports', fns, exports, [
  'The exports, typed, with the call kind of wasm/abi.h applied: CALL guards and then',
  'schedules a flush, READ guards, LOOP is the main loop\'s own step (src/core.ts guards it).',
]);
emitClass('TlsAbi', 'RawTlsExports', tlsFns, tlsExports, [
  'lwip-tls.wasm\'s TLS exports (LW_TLS_EXPORTS), typed and guarded as Abi\'s are.',
]);
emit('');

// --- src/gen/constants.ts: LW_ constants as the preprocessor defines them --------------
const defines = execFileSync('emcc', ['-E', '-dM', '-x', 'c', join(root, 'wasm/lw_const.h')], { encoding: 'utf8' });
const consts = [];
for (const line of defines.split('\n')) {
  const m = /^#define LW_([A-Z0-9_]+) (.*)$/.exec(line);
  if (!m || m[1] === 'CONST_H') continue;
  if (!/^(0x[0-9a-fA-F]+|\d+)u?$/.test(m[2].trim())) fail(`LW_${m[1]} is not an integer literal: ${m[2]}`);
  consts.push([m[1], Number(m[2].trim().replace(/u$/, ''))]);
}
if (consts.length === 0) fail('no LW_ constants in wasm/lw_const.h');
consts.sort((x, y) => x[0].localeCompare(y[0]));
const errnos = consts.filter(([n]) => /^E[A-Z]+$/.test(n) && !n.startsWith('EPOLL'));
const cout = [
  '// Generated from wasm/lw_const.h by scripts/gen-abi.mjs. Do not edit.',
  ...consts.map(([n, v]) => `export const ${n} = ${v};`),
  '',
  '/** errno number to its Linux name. */',
  'export const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({',
  ...errnos.map(([n, v]) => `  ${v}: '${n}',`),
  '});',
  '',
];

// --- write ------------------------------------------------------------------------------
const writeIfChanged = (path, text) => {
  let old = null;
  try {
    old = readFileSync(path, 'utf8');
  } catch {}
  if (old !== text) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
};
writeIfChanged(join(root, 'src/gen/abi.ts'), out.join('\n'));
writeIfChanged(join(root, 'src/gen/constants.ts'), cout.join('\n'));
writeIfChanged(join(root, 'build/exports.json'), `${JSON.stringify(fns.map((f) => `_${f.name}`))}\n`);
writeIfChanged(join(root, 'build/exports-tls.json'), `${JSON.stringify([...fns, ...tlsFns].map((f) => `_${f.name}`))}\n`);
writeIfChanged(join(root, 'build/imports.js'), [
  '// Generated from wasm/abi.h by scripts/gen-abi.mjs: the wasm\'s imports, declared for the',
  '// linker so any other undefined symbol fails the link. src/bindings/load.ts supplies them.',
  'mergeInto(LibraryManager.library, {',
  ...imports.map((i) => `  ${i.name}: function () {},`),
  '});',
  '',
].join('\n'));
