// Builds dist/: ESM (index.js), CJS (index.cjs) and one bundled .d.ts; the same for tap.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { fileURLToPath } from 'node:url';

const external = [/^node:/];

// The main entry, as the node entry's modules import it ('./index.js', '../index.js').
const mainEntry = fileURLToPath(new URL('./src/index', import.meta.url));
const isMainEntry = (id) => id.replace(/\.(js|ts|d\.ts)$/, '') === mainEntry;
const nodeExternal = (id, importer) => /^node:/.test(id) ||
  isMainEntry(id) || (importer !== undefined && id.startsWith('.') && isMainEntry(fileURLToPath(new URL(id, `file://${importer}`))));
const toMainEntry = (path) => (id) => (isMainEntry(id) ? path : id);

// The browser builds take src/bindings/read-file.browser.ts for read-file.ts, so nothing
// in them reaches a node: module (bundlers then need no flags or externals).
const browserFiles = {
  name: 'browser-files',
  resolveId(id, importer) {
    if (importer && /(^|\/)read-file\.js$/.test(id)) {
      return fileURLToPath(new URL(id.replace(/read-file\.js$/, 'read-file.browser.ts'), `file://${importer}`));
    }
    return null;
  },
};
const tsPlugin = () => typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' });

export default [
  {
    input: 'src/index.ts',
    external,
    plugins: [typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' })],
    output: [
      { file: 'dist/index.js', format: 'es', sourcemap: true },
      { file: 'dist/index.cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
  },
  {
    input: 'src/index.ts',
    external,
    plugins: [dts()],
    output: { file: 'dist/index.d.ts', format: 'es' },
  },
  // The "browser" condition of the main entry (types: index.d.ts), and lwip-wasm/inline:
  // the same with the wasm inside (for esbuild and bare rollup). ESM only, as bundlers want.
  {
    input: 'src/index.ts',
    plugins: [browserFiles, tsPlugin()],
    output: { file: 'dist/browser.js', format: 'es', sourcemap: true },
  },
  {
    input: 'src/inline.ts',
    plugins: [browserFiles, tsPlugin()],
    output: { file: 'dist/inline.js', format: 'es', sourcemap: false },
  },
  {
    input: 'src/inline.ts',
    plugins: [dts()],
    output: { file: 'dist/inline.d.ts', format: 'es' },
  },
  // lwip-wasm/tap: Node only (the TAP link and its lazily loaded addon), kept apart
  // from the main entry so browsers never see it.
  {
    input: 'src/tap.ts',
    external,
    plugins: [typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' })],
    output: [
      { file: 'dist/tap.js', format: 'es', sourcemap: true },
      { file: 'dist/tap.cjs', format: 'cjs', sourcemap: true, exports: 'named' },
    ],
  },
  {
    input: 'src/tap.ts',
    external,
    plugins: [dts()],
    output: { file: 'dist/tap.d.ts', format: 'es' },
  },
  // lwip-wasm/node: node:net and node:dgram adapters (Node only). It imports the main
  // entry at run time instead of bundling a copy, so Stack, Socket and SocketError are
  // the same classes whichever entry they came from.
  {
    input: 'src/node.ts',
    external: nodeExternal,
    plugins: [typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' })],
    output: [
      { file: 'dist/node.js', format: 'es', sourcemap: true, paths: toMainEntry('./index.js') },
      { file: 'dist/node.cjs', format: 'cjs', sourcemap: true, exports: 'named', paths: toMainEntry('./index.cjs') },
    ],
  },
  {
    input: 'src/node.ts',
    external: nodeExternal,
    plugins: [dts()],
    output: { file: 'dist/node.d.ts', format: 'es', paths: toMainEntry('./index.js') },
  },
  // lwip-wasm/relay: the relay server and its CLI (Node only, ESM). It bundles what it
  // uses of the package (frames, addresses, the TAP link); ws stays a dependency.
  {
    input: 'src/relay/index.ts',
    external: [/^node:/, 'ws', 'dns-packet'],
    plugins: [typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' })],
    output: { file: 'dist/relay.js', format: 'es', sourcemap: true },
  },
  {
    input: 'src/relay/index.ts',
    external: [/^node:/, 'ws', 'dns-packet'],
    plugins: [dts()],
    output: { file: 'dist/relay.d.ts', format: 'es' },
  },
];
