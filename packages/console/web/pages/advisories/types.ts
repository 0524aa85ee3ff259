// The AOC read API's wire shapes as the Advisories page reads them (packages/aoc/src/ingest/envelope.ts,
// read/records.ts, sql/linksets.ts and verify/run.ts are the source of truth; only the fields the page
// shows are named).

export interface SignatureInfo {
  present: boolean;
  format?: string;
  key_id?: string;
  verified: boolean;
  reason?: string;
}

/** A raw record as listed: the envelope without the upstream body. */
export interface ListedRecord {
  id: string;
  source: { vendor: string; connector: string; version: string; stream?: string };
  upstream: {
    upstream_id: string;
    document_version: string | null;
    retrieved_at: string;
    content_hash: string;
    signature: SignatureInfo;
  };
  content: {
    format: string;
    spec_version: string;
    schema_validation: { schema: string | null; valid: boolean | null; errors: { pointer: string; message: string }[] };
  };
  linkset: { purls: string[]; cpes: string[]; aliases: string[] };
  supersedes: string | null;
  ingested_at: string;
}

/** GET /advisories/raw: one keyset page, oldest ingest first. */
export interface RecordPage {
  items: ListedRecord[];
  nextCursor: string | null;
}

/** GET /advisories/raw/history: every revision of one upstream document, first to last. */
export interface RevisionHistory {
  source: string;
  upstream_id: string;
  head: string;
  revisions: ListedRecord[];
}

/** One head record in a link-not-merge answer, as its own source wrote it. */
export interface LinksetObservation {
  store: 'advisory_raw' | 'vex_raw';
  id: string;
  vendor: string;
  upstream_id: string;
  format: string;
  content_hash: string;
  retrieved_at: string;
  aliases: string[];
  purls: string[];
}

/** GET /v1/lnm/linksets: numbered pages (the route has no cursor). */
export interface LinksetPage {
  sources: string[];
  observations: LinksetObservation[];
  page: number;
  pageSize: number;
  hasMore: boolean;
}

export interface VerifyViolation {
  code: string;
  store: string;
  id: string;
  source: string;
  path: string;
  message: string;
}

/** POST /aoc/verify's report. */
export interface VerifyReport {
  since: string;
  until: string;
  checked: Record<string, number>;
  stores: string[];
  violations: VerifyViolation[];
  byCode: Record<string, number>;
  truncated: boolean;
  ok: boolean;
}
