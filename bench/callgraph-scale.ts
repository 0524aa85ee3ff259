// The call-graph builder at scale (issue 16, "a project dir with 100k files"): a generated project of
// N modules (default 100,000), every one reachable (a tree of requires, ten children each), five
// functions per module calling each other and a function of each child. Run in its own process by
// bench/callgraph.ts so its peak RSS is its own: `node bench/callgraph-scale.ts <dir> <modules>`
// prints one JSON line. Generating the files is not timed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCallGraph } from '@stella/callgraph-js';

const FANOUT = 10;

function generate(dir: string, modules: number): void {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scale', version: '1.0.0', main: 'm/0.js' }));
  for (let i = 0; i < modules; i++) {
    const sub = join(dir, 'm', String(Math.floor(i / 1000)));
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    const children: number[] = [];
    for (let c = i * FANOUT + 1; c <= i * FANOUT + FANOUT && c < modules; c++) children.push(c);
    const requires = children.map((c) => `const c${c} = require('../${Math.floor(c / 1000)}/${c}.js');`).join('\n');
    const calls = children.map((c) => `c${c}.entry(x);`).join(' ');
    writeFileSync(
      join(i === 0 ? join(dir, 'm') : sub, i === 0 ? '0.js' : `${i}.js`),
      `${requires}
function entry(x) { return helperA(x) + helperB(x); }
function helperA(x) { ${calls} return x + 1; }
function helperB(x) { return [x].map((v) => v * 2)[0]; }
class Store { get(k) { return this.load(k); } load(k) { return k; } }
module.exports = { entry, Store };
`,
    );
  }
  // The root module is m/0.js; its children live in m/0/.
  const root = join(dir, 'm', '0.js');
  const fixed = children0(modules)
    .map((c) => `const c${c} = require('./${Math.floor(c / 1000)}/${c}.js');`)
    .join('\n');
  writeFileSync(
    root,
    `${fixed}
function entry(x) { return ${
      children0(modules)
        .map((c) => `c${c}.entry(x)`)
        .join(' + ') || '0'
    }; }
module.exports = { entry };
entry(1);
`,
  );
}

const children0 = (modules: number) => Array.from({ length: Math.min(FANOUT, modules - 1) }, (_, k) => k + 1);

const [dir, count] = process.argv.slice(2);
const modules = Number(count ?? 100_000);
generate(dir!, modules);
const t0 = performance.now();
const { graph, stats } = buildCallGraph(dir!);
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    modules: stats.modules,
    functions: stats.functions,
    nodes: graph.nodes.length,
    edges: stats.edges,
    seconds: Math.round(seconds * 1000) / 1000,
    functionsPerSecond: Math.round(stats.functions / seconds),
    peakRssMiB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  }),
);
