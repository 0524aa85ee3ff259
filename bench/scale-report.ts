// Tables and PNG plots of a `npm run bench -- scale` result: Vega-Lite specs compiled by vega to SVG
// (no canvas needed in Node), rasterised by resvg. The same result always gives the same plots, so
// `npm run bench -- scale --plot <result.json>` regenerates the committed PNGs without re-running.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

interface Latency {
  requests: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface ScalePoint {
  storedRows: number;
  loadSeconds: number;
  databaseMiB: number;
  ingest: { documents: number; seconds: number; documentsPerSecond: number; cpuCores: Record<string, number> };
  lookups: { advisoriesRawByCve: Latency; linksetsByCve: Latency };
  export?: {
    records: number;
    seconds: number;
    workerSeconds: number;
    recordsPerSecond: number;
    bundleBytes: number | null;
    memory: { rssBeforeMiB: number; rssPeakMiB: number; rssGrowthMiB: number; heapUsedGrowthMiB: number };
  };
}

export interface ScaleBackendResult {
  backend: 'postgres' | 'pglite';
  version: string | undefined;
  stores: { advisory_raw: number; vex_raw: number };
  averageDocumentBytes: number;
  points: ScalePoint[];
}

export interface RecomputePoint {
  edges: number;
  build: Record<string, unknown>;
  runs: number;
  targets: number;
  reachableTargets: number;
  recomputeFromLoadedMs: { median: number; best: number };
  loadMs: { median: number; best: number };
  recomputeIncludingLoadMs: { median: number; best: number };
  peakRssMiB: number;
}

export interface ScaleResult {
  command: string;
  date: string;
  machine: Record<string, unknown>;
  totalSeconds: number;
  settings: {
    sizes: number[];
    exportSizes: number[];
    ingestWindow: number;
    lookups: number;
    loadBatch: number;
    edges: number[];
  };
  aoc: Partial<Record<'postgres' | 'pglite', ScaleBackendResult>>;
  recompute: RecomputePoint[];
}

const BACKEND_NAMES = { postgres: 'PostgreSQL', pglite: 'PGlite' } as const;
const LOOKUP_GOAL_MS = 50;
const INGEST_GOAL_RATIO = 0.8;
const RECOMPUTE_GOAL_MS = 1500;
const RECOMPUTE_MEMORY_GOAL_MIB = 2048;
const EXPORT_RSS_GOAL_MIB = 150;
/** DejaVu is what Debian installs with fontconfig; resvg falls back to any system font otherwise. */
const FONT = 'DejaVu Sans';

const fmt = (n: number) => n.toLocaleString('en');
const backendsOf = (result: ScaleResult) =>
  (Object.values(result.aoc) as ScaleBackendResult[]).filter((b) => b && b.points.length > 0);

/** Markdown tables of the result (what docs/benchmarks.md shows), with the goals evaluated. */
export function scaleTables(result: ScaleResult): string {
  const out: string[] = [];
  for (const b of backendsOf(result)) {
    const name = `${BACKEND_NAMES[b.backend]} ${b.version?.split(' ')[0] ?? ''}`.trim();
    out.push(
      `AOC at scale, ${name} (ingest of the next ${fmt(result.settings.ingestWindow)} documents; ${fmt(result.settings.lookups)} sequential lookups each):`,
      '',
      '| stored rows | ingest docs/s | `raw?cve=` p50 / p99 ms | `linksets?cve=` p50 / p99 ms | database |',
      '|---|---|---|---|---|',
    );
    for (const p of b.points) {
      const r = p.lookups.advisoriesRawByCve;
      const l = p.lookups.linksetsByCve;
      out.push(
        `| ${fmt(p.storedRows)} | ${fmt(p.ingest.documentsPerSecond)} | ${r.p50Ms} / ${r.p99Ms} | ${l.p50Ms} / ${l.p99Ms} | ${fmt(p.databaseMiB)} MiB |`,
      );
    }
    const exports = b.points.filter((p) => p.export);
    if (exports.length) {
      out.push(
        '',
        `json:raw export, ${name} (submit → succeeded; server process RSS):`,
        '',
        '| stored rows | seconds | records/s | bundle | RSS peak | RSS growth |',
        '|---|---|---|---|---|---|',
      );
      for (const p of exports) {
        const e = p.export!;
        out.push(
          `| ${fmt(p.storedRows)} | ${e.seconds} | ${fmt(e.recordsPerSecond)} | ${e.bundleBytes === null ? '—' : `${(e.bundleBytes / 2 ** 20).toFixed(1)} MiB`} | ${e.memory.rssPeakMiB} MiB | ${e.memory.rssGrowthMiB} MiB |`,
        );
      }
    }
    out.push('', ...goals(b).map((g) => `- ${g}`), '');
  }
  if (result.recompute.length) {
    out.push(
      `Signals recompute (synthetic graph, 5 edges a node, ${result.recompute[0]!.targets} targets; median of ${result.recompute[0]!.runs}; own process):`,
      '',
      '| edges | nodes | from loaded graph | including load | peak RSS |',
      '|---|---|---|---|---|',
    );
    for (const r of result.recompute) {
      out.push(
        `| ${fmt(r.edges)} | ${fmt(Number(r.build.nodes))} | ${fmt(r.recomputeFromLoadedMs.median)} ms | ${fmt(r.recomputeIncludingLoadMs.median)} ms | ${fmt(r.peakRssMiB)} MiB |`,
      );
    }
    const largest = result.recompute.at(-1)!;
    out.push(
      '',
      `- recompute at ${fmt(largest.edges)} edges < ${fmt(RECOMPUTE_GOAL_MS)} ms loaded: ${largest.recomputeFromLoadedMs.median} ms, ${met(largest.recomputeFromLoadedMs.median < RECOMPUTE_GOAL_MS)}; memory < 2 GiB: ${largest.peakRssMiB} MiB, ${met(largest.peakRssMiB < RECOMPUTE_MEMORY_GOAL_MIB)}`,
      '',
    );
  }
  return out.join('\n');
}

const met = (ok: boolean) => (ok ? 'met' : 'not met');

function goals(b: ScaleBackendResult): string[] {
  const first = b.points[0]!;
  const last = b.points.at(-1)!;
  const lines: string[] = [];
  if (b.points.length > 1) {
    const ratio = last.ingest.documentsPerSecond / first.ingest.documentsPerSecond;
    lines.push(
      `ingest at ${fmt(last.storedRows)} ≥ ${INGEST_GOAL_RATIO}× the rate at ${fmt(first.storedRows)}: ${ratio.toFixed(2)}×, ${met(ratio >= INGEST_GOAL_RATIO)}`,
    );
  }
  const p99 = Math.max(last.lookups.advisoriesRawByCve.p99Ms, last.lookups.linksetsByCve.p99Ms);
  lines.push(`lookup p99 at ${fmt(last.storedRows)} < ${LOOKUP_GOAL_MS} ms: ${p99} ms, ${met(p99 < LOOKUP_GOAL_MS)}`);
  const exports = b.points.filter((p) => p.export);
  if (exports.length > 1) {
    const small = exports[0]!.export!.memory;
    const big = exports.at(-1)!.export!.memory;
    const growth = big.rssGrowthMiB - small.rssGrowthMiB;
    lines.push(
      `json:raw at ${fmt(exports.at(-1)!.storedRows)}: RSS growth ${growth.toFixed(1)} MiB more than at ${fmt(exports[0]!.storedRows)} (< ${EXPORT_RSS_GOAL_MIB} MiB), ${met(growth < EXPORT_RSS_GOAL_MIB)}; peak ${(big.rssPeakMiB - small.rssPeakMiB).toFixed(1)} MiB higher`,
    );
  }
  return lines;
}

/** Renders both plots into `dir`; returns the files written. */
export async function writeScalePlots(result: ScaleResult, dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const backends = backendsOf(result);
  if (backends.length) {
    const file = join(dir, 'benchmarks-scale-aoc.png');
    writeFileSync(file, await renderPng(aocSpec(result, backends)));
    files.push(file);
  }
  if (result.recompute.length) {
    const file = join(dir, 'benchmarks-scale-recompute.png');
    writeFileSync(file, await renderPng(recomputeSpec(result)));
    files.push(file);
  }
  return files;
}

const PANEL = { width: 620, height: 230 };
const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
  legend: { labelFontSize: 12, titleFontSize: 13, orient: 'right' as const, labelLimit: 420, titleLimit: 420 },
  title: { fontSize: 15, anchor: 'start' as const, offset: 12 },
  concat: { spacing: 36 },
  point: { size: 60 },
};

function subtitle(result: ScaleResult): string {
  const m = result.machine as { cpus?: number; memoryGiB?: number; node?: string };
  return `${result.date.slice(0, 16).replace('T', ' ')} UTC, ${m.cpus ?? '?'} CPUs, ${m.memoryGiB ?? '?'} GiB, Node ${m.node ?? '?'}`;
}

/** Stored rows (log x) against ingest docs/s, and against the lookups' p50/p99. */
function aocSpec(result: ScaleResult, backends: ScaleBackendResult[]): TopLevelSpec {
  const many = backends.length > 1;
  const label = (b: ScaleBackendResult, what: string) => (many ? `${BACKEND_NAMES[b.backend]}: ${what}` : what);
  const ingest = backends.flatMap((b) =>
    b.points.map((p) => ({
      rows: p.storedRows,
      value: p.ingest.documentsPerSecond,
      series: label(b, 'ingest docs/s'),
    })),
  );
  const goalRows = backends.map((b) => ({
    value: Math.round(b.points[0]!.ingest.documentsPerSecond * INGEST_GOAL_RATIO),
    series: label(b, `goal: ${INGEST_GOAL_RATIO}× the rate at ${fmt(b.points[0]!.storedRows)}`),
  }));
  const ingestSeries = [...new Set([...ingest, ...goalRows].map((r) => r.series))];
  // The backend's hue, dark for the rate and light for its goal line.
  const ingestColor = (series: string) =>
    series.startsWith(`${BACKEND_NAMES.pglite}:`)
      ? series.includes('goal')
        ? '#74c476'
        : '#006d2c'
      : series.includes('goal')
        ? '#6baed6'
        : '#08519c';
  const ingestColorScale = { domain: ingestSeries, range: ingestSeries.map(ingestColor) };
  const lookups = backends.flatMap((b) =>
    b.points.flatMap((p) =>
      (
        [
          ['GET /advisories/raw?cve=', p.lookups.advisoriesRawByCve],
          ['GET /v1/lnm/linksets?cve=', p.lookups.linksetsByCve],
        ] as const
      ).flatMap(([endpoint, s]) => [
        { rows: p.storedRows, value: s.p50Ms, series: label(b, `${endpoint} p50`) },
        { rows: p.storedRows, value: s.p99Ms, series: label(b, `${endpoint} p99`) },
      ]),
    ),
  );
  const series = [...new Set(lookups.map((l) => l.series))];
  const rows = backends.flatMap((b) => b.points.map((p) => p.storedRows));
  const x = {
    field: 'rows',
    type: 'quantitative' as const,
    title: 'stored documents (log scale)',
    scale: { type: 'log' as const, domain: [Math.min(...rows) / 1.5, Math.max(...rows) * 1.5] },
    // Ticks at the measured sizes only: a log axis's minor ticks crowd the labels.
    axis: { format: '~s', values: [...new Set(rows)] },
  };
  const line = { type: 'line' as const, point: true };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'AOC at scale: ingest rate and lookup latency by stored documents', subtitle: subtitle(result) },
    config: CONFIG,
    background: 'white',
    padding: 16,
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      {
        ...PANEL,
        title: `Ingest rate of the next ${fmt(result.settings.ingestWindow)} documents (AOC service write path)`,
        layer: [
          {
            data: { values: ingest },
            mark: line,
            encoding: {
              x,
              y: { field: 'value', type: 'quantitative', title: 'ingest rate (documents/s)', scale: { zero: true } },
              color: { field: 'series', type: 'nominal', title: 'ingest', scale: ingestColorScale },
            },
          },
          {
            data: { values: goalRows },
            mark: { type: 'rule', strokeDash: [6, 4] },
            encoding: {
              y: { field: 'value', type: 'quantitative' },
              color: { field: 'series', type: 'nominal', title: 'ingest', scale: ingestColorScale },
            },
          },
        ],
      },
      {
        ...PANEL,
        title: `Lookup latency by CVE (${fmt(result.settings.lookups)} sequential requests per point)`,
        layer: [
          {
            data: { values: lookups },
            mark: line,
            encoding: {
              x,
              // Log scale: p50s of a few ms and the 50 ms goal both stay readable.
              y: { field: 'value', type: 'quantitative', title: 'latency (ms, log scale)', scale: { type: 'log' } },
              // One hue per endpoint (and backend), light dashed p50, dark solid p99.
              color: {
                field: 'series',
                type: 'nominal',
                title: 'endpoint, percentile',
                scale: { domain: series, range: series.map(lookupColor) },
              },
              strokeDash: {
                field: 'series',
                type: 'nominal',
                legend: null,
                scale: { domain: series, range: series.map((s) => (s.endsWith('p99') ? [1, 0] : [4, 3])) },
              },
            },
          },
          {
            data: { values: [{ value: LOOKUP_GOAL_MS }] },
            mark: { type: 'rule', strokeDash: [6, 4], color: '#c0392b' },
            encoding: { y: { field: 'value', type: 'quantitative' } },
          },
          {
            data: { values: [{ value: LOOKUP_GOAL_MS, label: `goal: p99 < ${LOOKUP_GOAL_MS} ms` }] },
            mark: { type: 'text', align: 'left', dx: 4, dy: -7, color: '#c0392b', fontSize: 11 },
            encoding: { y: { field: 'value', type: 'quantitative' }, x: { value: 4 }, text: { field: 'label' } },
          },
        ],
      },
    ],
  } as TopLevelSpec;
}

/** Blues and oranges for PostgreSQL's two endpoints, greens and purples for PGlite's; p50 light, p99 dark. */
function lookupColor(series: string): string {
  const pglite = series.startsWith(`${BACKEND_NAMES.pglite}:`);
  const linksets = series.includes('linksets');
  const p99 = series.endsWith('p99');
  const palette = pglite
    ? linksets
      ? ['#bcbddc', '#54278f']
      : ['#a1d99b', '#006d2c']
    : linksets
      ? ['#fdae6b', '#a63603']
      : ['#6baed6', '#08519c'];
  return palette[p99 ? 1 : 0]!;
}

/** Edges against recompute time (from a loaded graph and including the load), and the process's peak RSS. */
function recomputeSpec(result: ScaleResult): TopLevelSpec {
  const times = result.recompute.flatMap((r) => [
    { edges: r.edges, value: r.recomputeFromLoadedMs.median, series: 'from a loaded graph (median)' },
    { edges: r.edges, value: r.recomputeIncludingLoadMs.median, series: 'including load (median)' },
  ]);
  const memory = result.recompute.map((r) => ({ edges: r.edges, value: r.peakRssMiB, series: 'peak RSS' }));
  const edges = result.recompute.map((r) => r.edges);
  const x = {
    field: 'edges',
    type: 'quantitative' as const,
    title: 'call-graph edges (log scale; nodes = edges / 5)',
    scale: { type: 'log' as const, domain: [Math.min(...edges) / 1.5, Math.max(...edges) * 1.5] },
    axis: { format: '~s', values: edges },
  };
  const goal = (value: number, label: string) => [
    {
      data: { values: [{ value, label }] },
      mark: { type: 'rule' as const, strokeDash: [6, 4], color: '#c0392b' },
      encoding: { y: { field: 'value', type: 'quantitative' as const } },
    },
    {
      data: { values: [{ value, label }] },
      mark: { type: 'text' as const, align: 'left' as const, dx: 4, dy: -7, color: '#c0392b', fontSize: 11 },
      encoding: {
        y: { field: 'value', type: 'quantitative' as const },
        x: { value: 4 },
        text: { field: 'label', type: 'nominal' as const },
      },
    },
  ];
  /** One panel: a line per series of `values` over edges, with its goal layers. */
  const panel = (title: string, values: unknown[], yTitle: string, colorTitle: string, goals: unknown[]) => ({
    ...PANEL,
    title,
    layer: [
      {
        data: { values },
        mark: { type: 'line' as const, point: true },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative' as const, title: yTitle, scale: { zero: true } },
          color: { field: 'series', type: 'nominal' as const, title: colorTitle },
        },
      },
      ...goals,
    ],
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Signals recompute by graph size (${result.recompute[0]!.targets} targets, median of ${result.recompute[0]!.runs})`,
      subtitle: subtitle(result),
    },
    config: CONFIG,
    background: 'white',
    padding: 16,
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      panel(
        'Recompute time',
        times,
        'time (ms)',
        'recompute',
        goal(RECOMPUTE_GOAL_MS, `goal: < ${fmt(RECOMPUTE_GOAL_MS)} ms loaded`),
      ),
      panel(
        'Peak memory of the recompute process',
        memory,
        'peak RSS (MiB)',
        'memory',
        goal(RECOMPUTE_MEMORY_GOAL_MIB, 'goal: < 2 GiB'),
      ),
    ],
  } as TopLevelSpec;
}

async function renderPng(spec: TopLevelSpec): Promise<Buffer> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    })
      .render()
      .asPng();
  } finally {
    view.finalize();
  }
}
