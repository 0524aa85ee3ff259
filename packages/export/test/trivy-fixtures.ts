// SPDX-License-Identifier: Apache-2.0
// Fixture records for the Trivy projection tests: every advisory fixture (../shared/fixtures/advisories,
// never edited) as the TrivyRecord AOC would hand the adapter: format by family, vendor by the connector
// that would carry the folder, the upstream id, and the withdrawn flag as AOC reads it (upstreamWithdrawn,
// what the adapter passes). Also small readers for the built tree.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type ContentFormat, upstreamWithdrawn } from '@stella/aoc';
import { advisoryFixtures } from '@stella/testkit';
import { type BoltBucket, type BoltValue, isBoltBucket } from '../src/bolt/index.ts';
import { TrivyDbBuilder, type TrivyRecord } from '../src/trivy/index.ts';

const FIXTURES = advisoryFixtures();

/** Vendor and format per fixture folder, as the connectors that would carry them are named. */
const FOLDERS: Array<{ prefix: string; vendor: string; format: string }> = [
  { prefix: 'ghsa/', vendor: 'ghsa', format: 'OSV' },
  { prefix: 'osv-go/current/', vendor: 'go-vulndb', format: 'OSV' },
  { prefix: 'osv-misc/pysec-via-trivy-db/', vendor: 'pypa', format: 'OSV' },
  { prefix: 'osv-misc/almalinux-via-anchore-vunnel/', vendor: 'almalinux', format: 'OSV' },
  { prefix: 'osv-misc/chainguard-via-anchore-vunnel/', vendor: 'chainguard', format: 'OSV' },
  { prefix: 'osv-misc/', vendor: 'osv', format: 'OSV' },
  { prefix: 'cve5/', vendor: 'cve', format: 'CVE5' },
  { prefix: 'nvd-api-2.0/', vendor: 'nvd', format: 'NVD' },
  { prefix: 'csaf/', vendor: 'redhat', format: 'CSAF' },
];
const LEFT_OUT =
  /(^|\/)(schemas|history|ROLIE|aggregator|provider-metadata|csaf_vex|openvex|cyclonedx-vex)\/|PROVENANCE\.json$/;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : [],
  );
}

// biome-ignore lint/suspicious/noExplicitAny: the test reads upstream JSON of many shapes.
export type Json = Record<string, any>;
/** The upstream id as ingest names the document (the withdrawn flag comes from AOC itself). */
function upstreamIdOf(format: string, doc: Json | undefined): string | undefined {
  if (!doc) return undefined;
  if (format === 'OSV') return doc.id;
  if (format === 'CVE5') return doc.cveMetadata?.cveId;
  if (format === 'NVD') return doc.vulnerabilities?.[0]?.cve?.id;
  return doc.document?.tracking?.id;
}

function recordOf(path: string): TrivyRecord | undefined {
  const rel = relative(FIXTURES, path);
  if (LEFT_OUT.test(rel)) return undefined;
  const folder = FOLDERS.find((f) => rel.startsWith(f.prefix));
  if (!folder) return undefined;
  const raw = readFileSync(path, 'utf8');
  let doc: Json | undefined;
  try {
    doc = JSON.parse(raw);
  } catch {
    doc = undefined;
  }
  return {
    recordId: `${folder.vendor}:${rel}`,
    format: folder.format,
    vendor: folder.vendor,
    upstreamId: upstreamIdOf(folder.format, doc) ?? rel,
    withdrawn: upstreamWithdrawn(raw, folder.format as ContentFormat),
    raw,
  };
}

export const ALL: TrivyRecord[] = walk(FIXTURES)
  .map(recordOf)
  .filter((r): r is TrivyRecord => r !== undefined)
  .sort((a, b) => (a.recordId < b.recordId ? -1 : 1));

export function build(records: TrivyRecord[]) {
  const builder = new TrivyDbBuilder();
  for (const r of records) builder.add(r);
  return { builder, tree: builder.tree(), stats: builder.stats() };
}

export function bucketAt(root: BoltBucket, ...path: string[]): BoltBucket | undefined {
  let at: BoltBucket | undefined = root;
  for (const key of path) {
    const next: BoltValue | undefined = at?.entries.get(key);
    at = next && isBoltBucket(next) ? next : undefined;
  }
  return at;
}

export function valueAt(root: BoltBucket, ...path: string[]): Json | undefined {
  const key = path.pop() as string;
  const value = bucketAt(root, ...path)?.entries.get(key);
  return value instanceof Uint8Array ? JSON.parse(Buffer.from(value).toString('utf8')) : undefined;
}

export function rawAt(root: BoltBucket, ...path: string[]): string | undefined {
  const key = path.pop() as string;
  const value = bucketAt(root, ...path)?.entries.get(key);
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : undefined;
}

export const byName = (suffix: string) => ALL.filter((r) => r.recordId.endsWith(suffix));

export function osvRecord(doc: Json, extra: Partial<TrivyRecord> = {}): TrivyRecord {
  return {
    recordId: `test:${doc.id}`,
    format: 'OSV',
    vendor: 'osv',
    upstreamId: doc.id,
    withdrawn: false,
    raw: JSON.stringify(doc),
    ...extra,
  };
}
