// The simulator's examples (examples/sim/) run as a user runs them, each in its own
// process: the node:test one with `node --test`, the uvu one with node. docs/simulator.md
// shows each one unchanged.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const doc = readFileSync(join(root, 'docs/simulator.md'), 'utf8');

function run(args) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('node:test: the three-node replicated log survives a partition', () => {
  const { code, out } = run(['--test', 'examples/sim/replicated.mjs']);
  assert.is(code, 0, out);
  assert.match(out, /# pass 1/);
  assert.match(out, /# fail 0/);
});

test("uvu: the HTTP client's retry under a reset mid-body", () => {
  const { code, out } = run(['examples/sim/http-retry.mjs']);
  assert.is(code, 0, out);
  assert.match(out, /Passed:\s+2/);
});

test('docs/simulator.md shows both examples as they are', () => {
  for (const file of ['examples/sim/replicated.mjs', 'examples/sim/http-retry.mjs']) {
    const source = readFileSync(join(root, file), 'utf8');
    assert.ok(doc.includes(`\`\`\`js\n${source}\`\`\``), `${file} is in the docs, unchanged`);
  }
});

test.run();
