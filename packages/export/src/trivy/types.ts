// SPDX-License-Identifier: Apache-2.0
// The types of the Trivy DB projection (docs/trivy.md): what the adapter hands in (one AOC head record
// at a time), what it gets back (skips with reasons, counts), and the internal pieces one record
// projects to before the builder merges them. Kept apart so the projection files do not import each other
// in circles.

export interface TrivyRecord {
  /** The AOC record id (stable, used for deterministic ordering and in the report). */
  recordId: string;
  /** envelope.content.format: 'OSV' | 'CSAF' | 'CVE5' | 'NVD' (VEX formats never reach the builder). */
  format: string;
  /** envelope.source.vendor, e.g. 'ghsa', 'osv', 'go-vulndb', 'redhat', 'nvd'. */
  vendor: string;
  /** envelope.upstream.upstream_id */
  upstreamId: string;
  /** The upstream marks it withdrawn or rejected, as AOC reads the raw document (upstreamWithdrawn). */
  withdrawn: boolean;
  /** The upstream document exactly as received (JSON text). */
  raw: string;
}

export type TrivySkipReason =
  | 'withdrawn'
  | 'format-unsupported'
  | 'ecosystem-unsupported'
  | 'range-unparseable'
  | 'malformed'
  | 'no-packages';

export interface TrivySkip {
  recordId: string;
  upstreamId: string;
  reason: TrivySkipReason;
  detail: string;
}

export interface TrivyBuildStats {
  records: number;
  /** (bucket, package, vulnerability id) entries. */
  advisories: number;
  vulnerabilities: number;
  /** Advisory buckets (language and OS), not counting `data-source` and `vulnerability`. */
  buckets: number;
  /** Sorted by recordId, then detail. */
  skipped: TrivySkip[];
}

/** trivy-db's DataSource value (`data-source` bucket), Go field order. */
export interface DataSource {
  ID: string;
  Name: string;
  URL?: string;
}

/** Advisory fields one record contributes to one (bucket, package, vulnerability id). */
export interface AdvisoryPart {
  bucket: string;
  pkg: string;
  vulnId: string;
  vendorIds: string[];
  vulnerable: string[];
  patched: string[];
  /** OS buckets: the fixed version, or undefined when the upstream gives none. */
  fixed?: string;
  /** OS buckets: true when the record says the package is affected without a fix. */
  unfixed?: boolean;
  /** OSV ecosystem name the versions belong to (for ordering fixed versions when merging). */
  ecosystem: string;
}

/** What one source says about one vulnerability (trivy-db's VulnerabilityDetail, reduced). */
export interface Detail {
  title?: string;
  description?: string;
  /** Vendor severity 1..4 (LOW..CRITICAL) as the source states it; undefined when it states none. */
  severity?: number;
  v2Vector?: string;
  v2Score?: number;
  v3Vector?: string;
  v3Score?: number;
  v40Vector?: string;
  cweIds: string[];
  references: string[];
  published?: string;
  modified?: string;
}

export interface DetailPart {
  vulnId: string;
  sourceId: string;
  detail: Detail;
}

export interface PartSkip {
  reason: TrivySkipReason;
  detail: string;
}

/** Everything one record projects to. */
export interface Projection {
  advisories: AdvisoryPart[];
  details: DetailPart[];
  dataSources: Array<{ bucket: string; source: DataSource }>;
  skips: PartSkip[];
}

export const emptyProjection = (): Projection => ({
  advisories: [],
  details: [],
  dataSources: [],
  skips: [],
});
