// Runs every test/*.test.mjs in its own Node process (one hang or crash cannot take
// the rest down), then prints the totals as the last line: "N passed, N failed".
// Usage: node test/run.mjs [filter]   e.g. node test/run.mjs tcp
import { spawn } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
if (!existsSync(join(root, 'dist/index.js')) || !existsSync(join(root, 'dist/lwip.wasm'))) {
  console.error('dist/ is missing: run `make` first (or `npm test` via `make test`).');
  process.exit(2);
}
const filter = process.argv[2];
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.mjs') && (!filter || f.includes(filter)))
  .sort();
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000);

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [join(here, file)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on('data', (d) => process.stderr.write(d));
    const timer = setTimeout(() => {
      console.error(`\n${file}: timed out after ${FILE_TIMEOUT_MS} ms; killing it`);
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => Number((out.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
      const total = num('Total');
      const passed = num('Passed');
      const skipped = num('Skipped');
      let result;
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        result = { passed: 0, failed: 1, skipped: 0 }; // crashed before reporting
      } else {
        result = { passed, failed: total - passed, skipped: skipped || 0 };
        if (code !== 0 && result.failed === 0) result.failed = 1; // died after its tests
      }
      console.log(`-- ${file}: ${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      resolve(result);
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of files) {
  console.log(`\n== ${f}`);
  const r = await runFile(f);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || files.length === 0 ? 1 : 0);
