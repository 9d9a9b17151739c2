#!/usr/bin/env node
// Builds the TAP addon's prebuild, prebuilds/<platform>-<arch>/tap.<libc>.node, with
// prebuildify (node-gyp underneath). N-API: one build serves every Node version. `make`
// runs this in a checkout, and `npm pack` (through `make package`) ships the result, so
// installing the package compiles nothing. A checkout that cannot build it still builds
// everything else: this says why and exits 0; `--strict` makes that a failure.
// Usage: node native/tap/build.mjs [--strict] [addon folder, default: this script's]
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const dir = resolve(args.find((a) => !a.startsWith('--')) ?? dirname(fileURLToPath(import.meta.url)));

function giveUp(why) {
  console.error(`lwip-wasm: the TAP addon was not built: ${why}`);
  console.error('lwip-wasm: everything except `lwip-wasm/tap` builds without it. It needs python3, make and');
  console.error('lwip-wasm: a C compiler; install them, then run `make addon`.');
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') giveUp(`TAP devices need Linux (this is ${process.platform})`);

// node-gyp: the one npm runs us with, else the one bundled with npm beside this Node.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const nodeGyp = [process.env.npm_config_node_gyp, bundled].find((p) => p && existsSync(p));
if (!nodeGyp) giveUp('node-gyp not found (it comes with npm)');

// Build against this Node's own headers when it has them, rather than downloading them
// (prebuildify hands its environment to node-gyp, which reads npm_config_nodedir).
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  process.env.npm_config_nodedir = prefix;
}

const prebuildify = createRequire(import.meta.url)('prebuildify');
const options = {
  cwd: dir,
  name: 'tap',
  napi: true,
  targets: [process.versions.node], // N-API: the headers of the Node at hand serve all versions
  strip: true,
  tagLibc: true, // a glibc build does not load on musl, nor the other way round
  nodeGyp,
};
prebuildify(options, (err) => {
  if (err) giveUp(`${err.message} (see above)`);
  const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const out = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `tap.${libc}.node`);
  if (!existsSync(out)) giveUp(`prebuildify produced no ${out}`);
  console.log(`lwip-wasm: built the TAP addon (${out})`);
});
