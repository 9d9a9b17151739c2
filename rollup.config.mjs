// Builds dist/ in three passes:
//   1. Node: every entry (index, inline, node, tap, relay, sim) in one graph, as ESM (.js) and
//      CJS (.cjs). What entries share lives in shared chunks, so Socket, SocketError and
//      the main Stack are the same classes whichever entry they came from.
//   2. Browser: the "browser" condition of the main entry, lwip-wasm/inline and the two
//      entries beside it (browser.js, browser-inline.js, browser-inline-tls.js,
//      browser-inline-fetch.js), ESM only, with src/bindings/read-file.browser.ts in
//      place of read-file.ts. One graph, so the inline entries set the defaults the
//      others read.
//   3. Types: the same graph as 1, as .d.ts for import and .d.cts for require.
// Chunks sit beside the entries (no subfolder): new URL('./lwip.wasm', import.meta.url)
// and the TAP addon's path are relative to whichever file ends up holding that code.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';
import { fileURLToPath } from 'node:url';

const nodeInputs = {
  index: 'src/index.ts',
  inline: 'src/inline.ts',
  'inline-tls': 'src/inline-tls.ts',
  'inline-fetch': 'src/inline-fetch.ts',
  node: 'src/node.ts',
  tap: 'src/tap.ts',
  relay: 'src/relay/index.ts',
  sim: 'src/sim/index.ts',
};
const external = [/^node:/, 'ws', 'node-gyp-build', 'dns-packet'];

// The browser build takes src/bindings/read-file.browser.ts for read-file.ts, so nothing
// in it reaches a node: module (bundlers then need no flags or externals).
const browserFiles = {
  name: 'browser-files',
  resolveId(id, importer) {
    if (importer && /(^|\/)read-file\.js$/.test(id)) {
      return fileURLToPath(new URL(id.replace(/read-file\.js$/, 'read-file.browser.ts'), `file://${importer}`));
    }
    return null;
  },
};
// The wasm files as base64 (src/gen/wasm-inline.ts, tls-wasm-inline.ts, llhttp-wasm.ts)
// get no source map, so the inline entries' maps do not carry a second copy of them.
const unmappedWasm = {
  name: 'unmapped-wasm',
  transform(code, id) {
    return /[\\/]gen[\\/](wasm-inline|tls-wasm-inline|llhttp-wasm)\.ts$/.test(id) ? { code, map: { mappings: '' } } : null;
  },
};
const ts = () => typescript({ tsconfig: './tsconfig.json', noEmitOnError: true, declaration: false, declarationDir: undefined, outDir: 'dist' });

export default [
  {
    input: nodeInputs,
    external,
    plugins: [ts(), unmappedWasm],
    output: [
      { dir: 'dist', format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
      {
        dir: 'dist', format: 'cjs', sourcemap: true, exports: 'named',
        entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs',
      },
    ],
  },
  {
    input: {
      browser: 'src/index.ts', 'browser-inline': 'src/inline.ts',
      'browser-inline-tls': 'src/inline-tls.ts', 'browser-inline-fetch': 'src/inline-fetch.ts',
    },
    plugins: [browserFiles, ts(), unmappedWasm],
    output: {
      dir: 'dist', format: 'es', sourcemap: true,
      entryFileNames: '[name].js', chunkFileNames: 'browser-[name]-[hash].js',
    },
  },
  {
    input: nodeInputs,
    external,
    plugins: [dts()],
    output: [
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.ts', chunkFileNames: '[name]-[hash].d.ts' },
      { dir: 'dist', format: 'es', entryFileNames: '[name].d.cts', chunkFileNames: '[name]-[hash].d.cts' },
    ],
  },
];
