// The source tree's shape, checked so it cannot quietly rot: no module imports a module
// that (through others) imports it back, type-only imports included. A cycle is how a
// layer starts to depend on the one above it (issue 13: stack.ts and its adapters).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

function sources(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** file -> the src files it imports or re-exports from (relative specifiers only). */
function importGraph() {
  const graph = new Map();
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    const deps = [];
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
      deps.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
    }
    graph.set(file, deps);
  }
  return graph;
}

test('the import graph under src/ has no cycle', () => {
  const graph = importGraph();
  assert.ok(graph.size > 30, `only ${graph.size} source files found`);
  const cycles = [];
  const state = new Map(); // 1: on the path, 2: done
  const path = [];
  const visit = (file) => {
    state.set(file, 1);
    path.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 1) cycles.push([...path.slice(path.indexOf(dep)), dep].map((f) => relative(src, f)).join(' -> '));
      else if (!state.has(dep)) visit(dep);
    }
    path.pop();
    state.set(file, 2);
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assert.equal(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test.run();
