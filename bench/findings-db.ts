// Findings benchmark, end to end through the database (issue 13): the same 100,000 advisories
// ingested through the AOC connector into a real server (PostgreSQL, then PGlite), then the same
// 5,000-component SBOM scanned over HTTP (POST /findings/scan: the AOC door's indexed lookup, the raw
// text of the matching documents, the scan core, the VEX and reachability joins, the response), and
// stored and recomputed (POST /sboms, then POST /findings/recompute wait=true: the same scan plus the
// finding rows and their timeline events). Each must report the findings the in-process run found.
// The ingest is timed too, for context; it is AOC's figure (npm run bench -- aoc), not findings'.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aocService, runConnector } from '@stella/aoc';
import type { RunningServer } from '@stella/server';
import { createDatabase, startPostgres } from '@stella/testkit';
import { ADVISORIES, advisoryText, sbomDocument } from './findings.ts';
import { adminToken, withBenchServer } from './kit.ts';

const REPEATS = 3;
const round = (n: number, d = 3) => Number(n.toFixed(d));
const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

interface Expected {
  findings: number;
  inProcessSeconds: number;
}

async function ingest(server: RunningServer, home: string): Promise<number> {
  const dir = join(home, 'advisories');
  mkdirSync(dir);
  try {
    for (let i = 0; i < ADVISORIES; i++)
      writeFileSync(join(dir, `${String(i).padStart(6, '0')}.json`), advisoryText(i));
    const started = performance.now();
    const summary = await runConnector(server.ctx, aocService(server.ctx), {
      tenant: 'default',
      vendor: 'ghsa',
      input: dir,
      kind: 'advisory',
    });
    if (summary.written !== ADVISORIES) throw new Error(`ingest wrote ${summary.written} of ${ADVISORIES}`);
    return (performance.now() - started) / 1000;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function post(server: RunningServer, token: string, path: string, body: string, type: string) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${token}`, 'content-type': type },
    signal: AbortSignal.timeout(20 * 60 * 1000),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${(await res.text()).slice(0, 300)}`);
  return res.json();
}

async function measure(backend: string, server: RunningServer, home: string, expected: Expected) {
  const token = await adminToken(server, home);
  console.error(`${backend}: ingesting ${ADVISORIES} advisories through the AOC connector`);
  const ingestSeconds = await ingest(server, home);
  const body = JSON.stringify(sbomDocument());
  const scans: number[] = [];
  let rssGrowth = 0;
  for (let r = 0; r < REPEATS; r++) {
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const report = (await post(server, token, '/findings/scan', body, 'application/json')) as { findings: unknown[] };
    scans.push((performance.now() - started) / 1000);
    rssGrowth = Math.max(rssGrowth, process.memoryUsage().rss - rss);
    if (report.findings.length !== expected.findings)
      throw new Error(`${backend}: the scan found ${report.findings.length}, in process ${expected.findings}`);
    console.error(`${backend}: POST /findings/scan ${round(scans.at(-1)!)} s`);
  }
  await post(server, token, '/sboms', body, 'application/json');
  const started = performance.now();
  const recompute = (await post(
    server,
    token,
    '/findings/recompute',
    JSON.stringify({ wait: true }),
    'application/json',
  )) as {
    results: { findings: number }[];
  };
  const recomputeSeconds = (performance.now() - started) / 1000;
  const stored = recompute.results.reduce((n, r) => n + r.findings, 0);
  if (stored !== expected.findings) throw new Error(`${backend}: stored ${stored}, in process ${expected.findings}`);
  const best = Math.min(...scans);
  return {
    ingestSeconds: round(ingestSeconds, 1),
    scanOverHttp: { bestSeconds: round(best), runsSeconds: scans.map((s) => round(s)), rssGrowthMiB: mib(rssGrowth) },
    storedRecomputeSeconds: round(recomputeSeconds),
    overInProcess: round(best / expected.inProcessSeconds, 1),
  };
}

export async function runFindingsDbBench(expected: Expected) {
  const results: Record<string, unknown> = {};
  const cluster = await startPostgres();
  try {
    const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_findings');
    try {
      results.postgres = await withBenchServer('findings', database.url, (s, h) => measure('postgres', s, h, expected));
    } finally {
      await database.drop();
    }
  } finally {
    await cluster.stop();
  }
  results.pglite = await withBenchServer('findings', undefined, (s, h) => measure('pglite', s, h, expected));
  return results;
}
