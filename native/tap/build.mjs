#!/usr/bin/env node
// Builds the optional TAP addon (native/tap/build/Release/tap.node) with node-gyp.
// Run by `npm install` (the package's install script) and by `make addon`. A machine
// where it cannot build still installs the package: this prints why and exits 0, and
// only `lwip-wasm/tap` is unavailable there. `--strict` makes a failed build fail.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const strict = process.argv.includes('--strict');

function giveUp(why) {
  console.error(`lwip-wasm: the optional TAP addon was not built: ${why}`);
  console.error('lwip-wasm: everything except `lwip-wasm/tap` works without it. To build it later, install');
  console.error('lwip-wasm: python3, make and a C compiler, then run `npm rebuild lwip-wasm` (or `make addon`).');
  process.exit(strict ? 1 : 0);
}

if (process.platform !== 'linux') {
  console.error(`lwip-wasm: skipping the TAP addon: TAP devices need Linux (this is ${process.platform})`);
  process.exit(0);
}

// node-gyp: the one npm runs us with, else the one bundled with npm beside this Node.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = [process.env.npm_config_node_gyp, bundled].find((p) => p && existsSync(p));
const [cmd, pre] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];

// Build against this Node's own headers when it has them, rather than downloading them.
const args = [...pre, 'rebuild', '--directory', here];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
  args.push(`--nodedir=${prefix}`);
}

const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.error) giveUp(`could not run node-gyp (${r.error.message})`);
if (r.status !== 0) giveUp(`node-gyp exited with status ${r.status} (see above)`);
if (!existsSync(join(here, 'build', 'Release', 'tap.node'))) giveUp('node-gyp produced no tap.node');
console.log('lwip-wasm: built the TAP addon (native/tap/build/Release/tap.node)');
