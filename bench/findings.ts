// Findings benchmark (issue 13): match an SBOM of 5,000 npm components against 100,000 OSV advisories,
// in process, next to a naive linear scan of the same data in the same run.
// - stella: the advisories naming the SBOM's packages are looked up by package key (as the AOC door's
//   GIN index answers them), then the scan core parses those documents and asks the OSV matcher.
// - naive: every component is compared with every advisory's affected[] package, and the matcher
//   runs on each hit; the documents are parsed beforehand (not timed), which favours the naive side.
// Both must report the same findings. The advisories are generated from the shape of a real GHSA
// record (fixtures ghsa/…/GHSA-c2qf-rxjj-qqgw, semver): 25,000 packages, four advisories each, one to
// three ranges per advisory. Memory is process RSS and heap around each phase (after a forced GC).
import { cpus, loadavg } from 'node:os';
import { DEFAULT_JSON_LIMITS } from '@stella/core';
import { type AdvisoryRecord, matchOsv, parseSbom, scanComponents } from '@stella/findings';

export const ADVISORIES = Number(process.env.STELLA_BENCH_FINDINGS_ADVISORIES ?? 100_000);
export const COMPONENTS = Number(process.env.STELLA_BENCH_FINDINGS_COMPONENTS ?? 5_000);
const PACKAGES = ADVISORIES / 4;
const REPEATS = 3;

const gc = () => (globalThis as { gc?: () => void }).gc?.();
const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
const round = (n: number, d = 3) => Number(n.toFixed(d));

/** Advisory i names package i % PACKAGES with ranges that open and close around minor versions. */
export function advisoryText(i: number): string {
  const pkg = `bench-pkg-${i % PACKAGES}`;
  const major = (i * 7) % 5;
  const ranges = Array.from({ length: 1 + (i % 3) }, (_, r) => ({
    type: 'ECOSYSTEM',
    events: [{ introduced: `${major + r}.0.0` }, { fixed: `${major + r}.${2 + (i % 4)}.${i % 3}` }],
  }));
  return JSON.stringify(
    {
      schema_version: '1.4.0',
      id: `GHSA-bench-${String(i).padStart(6, '0')}`,
      modified: '2025-01-01T00:00:00Z',
      published: '2025-01-01T00:00:00Z',
      aliases: [`CVE-2099-${String(i).padStart(6, '0')}`],
      summary: `Synthetic advisory ${i} for ${pkg}`,
      details: 'Generated for the findings benchmark from the shape of a GitHub-reviewed npm advisory.',
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
      affected: ranges.map((range) => ({ package: { ecosystem: 'npm', name: pkg }, ranges: [range] })),
      database_specific: { severity: 'MODERATE', github_reviewed: true },
    },
    null,
    2,
  );
}

function advisories(): AdvisoryRecord[] {
  return Array.from({ length: ADVISORIES }, (_, i) => ({
    recordId: `advisory_raw:ghsa:GHSA-bench-${String(i).padStart(6, '0')}:1`,
    vendor: 'ghsa',
    upstreamId: `GHSA-bench-${String(i).padStart(6, '0')}`,
    contentHash: `sha256:${i.toString(16).padStart(64, '0')}`,
    format: 'OSV',
    aliases: [`CVE-2099-${String(i).padStart(6, '0')}`],
    packages: [`pkg:npm/bench-pkg-${i % PACKAGES}`],
    raw: advisoryText(i),
  }));
}

/** A CycloneDX SBOM whose components are every other benchmark package, at versions inside and outside ranges. */
export function sbomDocument() {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { component: { type: 'application', 'bom-ref': 'app', name: 'bench-app', version: '1.0.0' } },
    components: Array.from({ length: COMPONENTS }, (_, c) => {
      const name = `bench-pkg-${(c * 2) % PACKAGES}`;
      const version = `${c % 6}.${c % 5}.${c % 3}`;
      return { 'bom-ref': `c${c}`, name, version, purl: `pkg:npm/${name}@${version}` };
    }),
  };
}

const sbom = () => parseSbom(sbomDocument());

const keyOf = (purl: string) => purl.slice(0, purl.lastIndexOf('@'));

function timed<T>(fn: () => T): { ms: number; value: T; rssMiB: number; heapMiB: number } {
  gc();
  const before = process.memoryUsage();
  const started = performance.now();
  const value = fn();
  const ms = performance.now() - started;
  const after = process.memoryUsage();
  return { ms, value, rssMiB: mib(after.rss - before.rss), heapMiB: mib(after.heapUsed - before.heapUsed) };
}

/** The naive scan: every component against every advisory's affected packages, matcher on each hit. */
function naive(
  components: ReturnType<typeof sbom>['components'],
  docs: { record: AdvisoryRecord; doc: unknown; names: string[] }[],
) {
  let affected = 0;
  for (const c of components) {
    for (const { doc, names } of docs) {
      if (!names.includes(c.packageName)) continue;
      const outcome = matchOsv(doc, { ecosystem: 'npm', packageName: c.packageName, version: c.version ?? '' });
      if (outcome.kind === 'affected') affected++;
    }
  }
  return affected;
}

export async function runFindingsBench() {
  const records = advisories();
  const { components } = sbom();
  console.error(`findings: ${records.length} advisories over ${PACKAGES} packages, ${components.length} components`);

  // The lookup the AOC door answers from its package index: built once, like the database's index.
  const index = timed(() => {
    const byKey = new Map<string, AdvisoryRecord[]>();
    for (const r of records) for (const key of r.packages) (byKey.get(key) ?? byKey.set(key, []).get(key)!).push(r);
    return byKey;
  });
  const parsedForNaive = records.map((record) => {
    const doc = JSON.parse(record.raw) as { affected: { package: { name: string } }[] };
    return { record, doc: doc as unknown, names: doc.affected.map((a) => a.package.name) };
  });

  const stellaRuns = Array.from({ length: REPEATS }, () =>
    timed(() => {
      const candidates = [...new Set(components.flatMap((c) => index.value.get(keyOf(c.purl!)) ?? []))];
      return scanComponents(components, candidates, keyOf, DEFAULT_JSON_LIMITS);
    }),
  );
  const report = stellaRuns.at(-1)!.value;
  const affectedPairs = report.findings.reduce((n, f) => n + f.sources.length, 0);
  const naiveRun = timed(() => naive(components, parsedForNaive));
  if (naiveRun.value !== affectedPairs)
    throw new Error(`naive found ${naiveRun.value} affected pairs, stella ${affectedPairs}`);

  const best = Math.min(...stellaRuns.map((r) => r.ms));
  const result = {
    command: 'npm run bench -- findings',
    node: process.version,
    cpus: cpus().length,
    loadAverageAtStart: loadavg()[0],
    advisories: records.length,
    packages: PACKAGES,
    components: components.length,
    findings: report.findings.length,
    affectedPairs,
    undecided: report.undecided.length,
    stella: {
      bestSeconds: round(best / 1000),
      runsSeconds: stellaRuns.map((r) => round(r.ms / 1000)),
      heapGrowthMiB: stellaRuns.at(-1)!.heapMiB,
      indexBuildSeconds: round(index.ms / 1000),
    },
    naive: { seconds: round(naiveRun.ms / 1000), heapGrowthMiB: naiveRun.heapMiB },
    naiveOverStella: round(naiveRun.ms / best, 1),
    goal: 'under 2 s for 5,000 components against 100,000 advisories on 2 cores',
    loadAverageAtEnd: loadavg()[0],
  };
  console.error(
    `findings: stella ${result.stella.bestSeconds} s (best of ${REPEATS}), naive ${result.naive.seconds} s, ratio ${result.naiveOverStella}×; ${result.findings} findings`,
  );
  if (process.env.STELLA_BENCH_FINDINGS_DB === '0') return result;
  const { runFindingsDbBench } = await import('./findings-db.ts');
  const database = await runFindingsDbBench({
    findings: report.findings.length,
    inProcessSeconds: result.stella.bestSeconds,
  });
  return { ...result, database, loadAverageAtEnd: loadavg()[0] };
}
