// Reachability recompute at millions of edges for `npm run bench -- scale`: a seeded synthetic call
// graph built straight into the CSR form the engine walks (JSON node and edge objects for 5M edges
// would need several GiB before normalising), and child modes that build it and time the recompute,
// each in a process of its own so the recompute's peak RSS is its own.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CsrGraph, decodeCsr, encodeCsr } from '@stella/signals';
import { prng } from './prng.ts';
import { timeRecomputes } from './recompute.ts';
import type { RecomputePoint } from './scale-report.ts';

/** The same shape as bench/signals.ts's graph: 5 edges per node, 97 packages, 20 entrypoints, 1,000 targets, 2,000 runtime hits. */
const EDGES_PER_NODE = 5;
const PACKAGES = 97;
const ENTRYPOINTS = 20;
const TARGETS = 1000;
const RUNTIME_HITS = 2000;
const RUNS = 5;
/** Edge flag bits as the engine reads them (graph/csr.ts EDGE_HEURISTIC); 2 % of edges are heuristic guesses. */
const EDGE_HEURISTIC = 1;
const HEURISTIC_SHARE = 0.02;

const packageOf = (i: number, nodes: number) => Math.floor((i * PACKAGES) / nodes);
/** Fixed-width numbers, so the ids sort in node order as CsrGraph requires. */
const symbolOf = (i: number, nodes: number) =>
  `pkg:npm/bench-${String(packageOf(i, nodes)).padStart(3, '0')}:fn${String(i).padStart(8, '0')}`;

/**
 * `edges` distinct edges over edges/5 nodes, no self-calls: 90 % forward within 50 nodes (call depth),
 * 10 % anywhere (back edges), as bench/signals.ts draws them. Edges are drawn as numeric keys
 * ((source·n + target)·2 + heuristic bit), sorted and deduplicated, so the CSR rows come out sorted.
 */
export function syntheticCsr(edges: number, seed = 42): CsrGraph {
  const nodes = Math.max(2, Math.floor(edges / EDGES_PER_NODE));
  const rand = prng(seed);
  // Duplicates are about 4 % of draws at 5 edges a node; draw more and drop the excess at random.
  for (let oversample = 1.1; ; oversample += 0.1) {
    const keys = new Float64Array(Math.ceil(edges * oversample) + 1000);
    for (let k = 0; k < keys.length; ) {
      const s = Math.floor(rand() * nodes);
      const t = rand() < 0.9 ? Math.min(nodes - 1, s + 1 + Math.floor(rand() * 50)) : Math.floor(rand() * nodes);
      if (s === t) continue;
      keys[k++] = (s * nodes + t) * 2 + (rand() < HEURISTIC_SHARE ? EDGE_HEURISTIC : 0);
    }
    keys.sort();
    // Keep the first of each (source, target) pair.
    let distinct = 0;
    for (let k = 0; k < keys.length; k++) {
      if (distinct > 0 && Math.floor(keys[k]! / 2) === Math.floor(keys[distinct - 1]! / 2)) continue;
      keys[distinct++] = keys[k]!;
    }
    if (distinct < edges) continue;
    const dropped = new Uint8Array(distinct);
    for (let excess = distinct - edges; excess > 0; ) {
      const k = Math.floor(rand() * distinct);
      if (dropped[k]) continue;
      dropped[k] = 1;
      excess--;
    }
    const offsets = new Uint32Array(nodes + 1);
    const targets = new Uint32Array(edges);
    const flags = new Uint8Array(edges);
    for (let k = 0, at = 0; k < distinct; k++) {
      if (dropped[k]) continue;
      const pair = Math.floor(keys[k]! / 2);
      const s = Math.floor(pair / nodes);
      offsets[s + 1]!++;
      targets[at] = pair - s * nodes;
      flags[at++] = keys[k]! % 2;
    }
    for (let i = 0; i < nodes; i++) offsets[i + 1]! += offsets[i]!;
    const ids = Array.from({ length: nodes }, (_, i) => symbolOf(i, nodes));
    return {
      ids,
      names: Array.from({ length: nodes }, (_, i) => `fn${i}`),
      purls: Array.from({ length: PACKAGES }, (_, p) => `pkg:npm/bench-${String(p).padStart(3, '0')}`),
      purlOf: Uint32Array.from({ length: nodes }, (_, i) => packageOf(i, nodes)),
      offsets,
      targets,
      flags,
      entries: Uint32Array.from({ length: ENTRYPOINTS }, (_, i) => (i * 37) % nodes),
    };
  }
}

const round = (v: number, d = 1) => Number(v.toFixed(d));

/** Child: builds the graph for `edges` and writes its CSR bytes to `file`. */
function buildChild(file: string, edges: number) {
  const started = performance.now();
  const csr = syntheticCsr(edges);
  const built = performance.now();
  const bytes = encodeCsr(csr);
  writeFileSync(file, bytes);
  return {
    nodes: csr.ids.length,
    edges: csr.targets.length,
    csrBytes: bytes.length,
    buildMs: round(built - started),
    encodeAndWriteMs: round(performance.now() - built),
  };
}

/** Child: CSR bytes → arrays + id index (the load), then two BFS + target states (the recompute), RUNS times. */
function recomputeChild(file: string) {
  const bytes = readFileSync(file);
  const nodes = decodeCsr(bytes).ids.length;
  const rand = prng(7);
  const targets = Array.from({ length: TARGETS }, () => ({ symbolId: symbolOf(Math.floor(rand() * nodes), nodes) }));
  const hits = new Map<string, number>();
  for (let i = 0; i < RUNTIME_HITS; i++)
    hits.set(symbolOf(Math.floor(rand() * nodes), nodes), 1 + Math.floor(rand() * 10));
  return { runs: RUNS, targets: TARGETS, ...timeRecomputes(bytes, targets, hits, RUNS) };
}

function childReport(result: object) {
  const usage = process.resourceUsage();
  process.stdout.write(`${JSON.stringify({ ...result, peakRssMiB: Math.round(usage.maxRSS / 1024) })}\n`);
}

/** Runs this file as a child in `mode`; its last stdout line is its JSON report. */
function child(mode: string, args: string[]): Record<string, unknown> {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), mode, ...args], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`${mode} ${args.join(' ')} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

/** Builds and recomputes the graph of `edges` edges in `dir`, each step in a child process. */
export function recomputeAt(dir: string, edges: number): RecomputePoint {
  const file = join(dir, `graph-${edges}.csr`);
  const build = child('--build', [file, String(edges)]);
  const recompute = child('--recompute', [file]) as Omit<RecomputePoint, 'edges' | 'build'>;
  return { edges, build, ...recompute };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, file, edges] = process.argv.slice(2);
  if (mode === '--build') childReport(buildChild(file!, Number(edges)));
  else if (mode === '--recompute') childReport(recomputeChild(file!));
  else throw new Error(`usage: scale-graph.ts --build <file> <edges> | --recompute <file>`);
}
