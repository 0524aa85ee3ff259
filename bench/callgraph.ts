// Call-graph benchmark (issue 16): `stella callgraph node` over a real dependency tree installed from the
// registry (the example app's express/semver/yargs-parser/formidable plus common frameworks: fastify,
// axios, winston, lodash, joi, pg, commander, ajv), one entry module requiring each. Reported: modules,
// functions and edges; seconds and functions/s; peak RSS. The floor in the same run is acorn parsing
// the same files and nothing else (what any builder on this parser must pay), and the build runs twice
// to show the graph is byte-identical. The install itself is not timed. Then, in a process of its own,
// the builder at scale: a generated project of STELLA_BENCH_CALLGRAPH_MODULES modules (default
// 100,000), every one reachable (bench/callgraph-scale.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCallGraph } from '@stella/callgraph-js';
import { parse } from 'acorn';
import { benchMachine } from './kit.ts';

const FRAMEWORKS = {
  express: '4.17.1',
  semver: '7.5.1',
  'yargs-parser': '13.1.1',
  formidable: '3.5.2',
  fastify: '4.28.1',
  axios: '1.7.7',
  winston: '3.14.2',
  lodash: '4.17.21',
  joi: '17.13.3',
  pg: '8.13.0',
  commander: '12.1.0',
  ajv: '8.17.1',
};

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export async function runCallgraphBench() {
  const started = { date: new Date().toISOString(), load: round(loadavg()[0]!) };
  const dir = mkdtempSync(join(tmpdir(), 'stella-bench-callgraph-'));
  try {
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'stella-bench-app', version: '1.0.0', main: 'index.js', dependencies: FRAMEWORKS }),
    );
    writeFileSync(
      join(dir, 'index.js'),
      Object.keys(FRAMEWORKS)
        .map((name, i) => `const m${i} = require('${name}');\n`)
        .join(''),
    );
    console.error('installing the dependency tree from the registry (not timed)…');
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--omit=dev'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const packages = Number(
      execFileSync('bash', ['-c', 'find node_modules -name package.json -not -path "*/test/*" | wc -l'], {
        cwd: dir,
        encoding: 'utf8',
      }).trim(),
    );

    // The build is synchronous, so a timer cannot sample it: the process's lifetime peak RSS is read after.
    const rssBefore = process.memoryUsage().rss;
    const t0 = performance.now();
    const first = buildCallGraph(dir);
    const buildSeconds = (performance.now() - t0) / 1000;
    const peakRss = process.resourceUsage().maxRSS * 1024;
    const bytes = JSON.stringify(first.graph);
    const again = JSON.stringify(buildCallGraph(dir).graph);

    // The floor: parse the same module files with acorn, nothing else.
    const files = [
      ...new Set(first.graph.nodes.map((n) => n.file && n.namespace && join(dir, 'node_modules', n.namespace, n.file))),
    ].filter((f): f is string => typeof f === 'string' && f.length > 0);
    let parsedBytes = 0;
    const t1 = performance.now();
    for (const file of files) {
      let source: string;
      try {
        source = readFileSync(file, 'utf8');
      } catch {
        continue; // nested copies live deeper than node_modules/<name>; the floor parses what it finds
      }
      parsedBytes += source.length;
      try {
        parse(source, { ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true });
      } catch {
        parse(source, {
          ecmaVersion: 'latest',
          sourceType: 'script',
          allowHashBang: true,
          allowReturnOutsideFunction: true,
        });
      }
    }
    const parseSeconds = (performance.now() - t1) / 1000;

    const scaleModules = Number(process.env.STELLA_BENCH_CALLGRAPH_MODULES ?? 100_000);
    const scaleDir = mkdtempSync(join(tmpdir(), 'stella-bench-callgraph-scale-'));
    let scale: unknown;
    try {
      console.error(`building a generated project of ${scaleModules} modules in a process of its own…`);
      scale = JSON.parse(
        execFileSync(
          process.execPath,
          [join(import.meta.dirname, 'callgraph-scale.ts'), scaleDir, String(scaleModules)],
          {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'inherit'],
            maxBuffer: 1 << 20,
          },
        ),
      );
    } finally {
      rmSync(scaleDir, { recursive: true, force: true });
    }

    const { stats } = first;
    return {
      command: 'npm run bench -- callgraph',
      date: started.date,
      machine: benchMachine(started.load),
      tree: { dependencies: Object.keys(FRAMEWORKS).length, installedPackages: packages },
      graph: {
        modules: stats.modules,
        functions: stats.functions,
        edges: stats.edges,
        unresolvedCalls: stats.unresolvedCalls,
        parseErrors: stats.parseErrors.length,
        bytes: bytes.length,
        identicalTwice: bytes === again,
      },
      build: {
        seconds: round(buildSeconds, 3),
        functionsPerSecond: Math.round(stats.functions / buildSeconds),
        modulesPerSecond: Math.round(stats.modules / buildSeconds),
        peakRssMiB: round(peakRss / 2 ** 20, 1),
        rssGrowthMiB: round((peakRss - rssBefore) / 2 ** 20, 1),
      },
      baseline: {
        tool: 'acorn parse of the same module files (first copy of each), nothing else',
        files: files.length,
        megabytes: round(parsedBytes / 1e6, 2),
        seconds: round(parseSeconds, 3),
      },
      ratios: { buildOverParse: round(buildSeconds / parseSeconds) },
      scale,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
