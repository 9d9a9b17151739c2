// Builds dist/: ESM (index.js), CJS (index.cjs) and one bundled .d.ts; the same for tap.
import typescript from '@rollup/plugin-typescript';
import { dts } from 'rollup-plugin-dts';

const external = [/^node:/];

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
];
