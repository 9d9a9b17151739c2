// The benchmark suite: runs every workload (each in its own Node process, so one
// cannot skew another's memory or JIT state), then writes bench/results/latest.json
// and latest.md and prints the table.
// Usage: npm run bench [-- --quick] [-- --only bulk,udp]
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdown } from './report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1].split(',') : undefined;
// browser (bench/browser.mjs) needs Chromium, and skips, saying so, without it.
const WORKLOADS = ['size', 'bulk', 'pingpong', 'churn', 'udp', 'scale', 'idle', 'browser'];
const LIMIT_MS = quick ? 120_000 : 1_800_000;

function runWorkload(name) {
  return new Promise((resolve) => {
    const file = name === 'browser' ? join(here, 'browser.mjs') : join(here, 'workloads', `${name}.mjs`);
    const child = spawn(process.execPath, ['--expose-gc', file, ...(quick ? ['--quick'] : [])],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('BENCH_JSON '.length)));
      else {
        process.stderr.write(`bench: ${name} failed (${signal ?? `exit ${code}`})\n${out}`);
        resolve([{ workload: name, metric: 'failed', unit: '', medians: {}, samples: {} }]);
      }
    });
  });
}

const started = new Date();
const loadBefore = loadavg()[0];
const rows = [];
for (const name of WORKLOADS.filter((w) => !only || only.includes(w))) {
  process.stderr.write(`bench: ${name}...\n`);
  const t = performance.now();
  rows.push(...(await runWorkload(name)));
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
const result = {
  date: started.toISOString(),
  command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
  machine: `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${process.platform} ${process.arch}, Node ${process.version}`,
  quick,
  // The 1-minute load average before and after: others' work on a shared machine
  // depresses the baselines more than us, and flatters the ratios (report.mjs). The
  // run's own work shows in the figure after it.
  load: { before: loadBefore, after: loadavg()[0] },
  rows,
};
const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const md = markdown(result);
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(dir, 'latest.md'), md);
process.stdout.write(md);
