// `npm run bench -- <area>`: runs one benchmark script and writes its JSON result to bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';

const areas: Record<string, () => Promise<unknown>> = {
  platform: async () => (await import('./platform.ts')).runPlatformBench(),
  aoc: async () => (await import('./aoc.ts')).runAocBench(),
  signals: async () => (await import('./signals.ts')).runSignalsBench(),
  export: async () => (await import('./export.ts')).runExportBench(),
  findings: async () => (await import('./findings.ts')).runFindingsBench(),
  trivy: async () => (await import('./trivy.ts')).runTrivyBench(),
  mirror: async () => (await import('./mirror.ts')).runMirrorBench(),
  callgraph: async () => (await import('./callgraph.ts')).runCallgraphBench(),
  observer: async () => (await import('./observer.ts')).runObserverBench(),
  api: async () => (await import('./api.ts')).runApiBench(),
  // `scale --plot <result.json>` only re-renders the plots of a saved result and returns nothing.
  scale: async () => (await import('./scale.ts')).runScaleBench(process.argv.slice(3)),
};

const area = process.argv[2];
if (!area || !areas[area]) {
  console.error(`usage: npm run bench -- <area>   (areas: ${Object.keys(areas).join(', ')})`);
  process.exit(2);
}
const result = await areas[area]!();
if (result === undefined) process.exit(0);
mkdirSync('bench/results', { recursive: true });
const path = `bench/results/${area}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
console.error(`wrote ${path}`);
