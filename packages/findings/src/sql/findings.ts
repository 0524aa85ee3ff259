// SPDX-License-Identifier: Apache-2.0
// Every SQL statement over the stored findings (migrations/0002_policy_findings.sql): a subject's
// current rows, replaced by a recompute under the subject's transaction-scoped advisory lock, and the
// filtered, id-ordered pages of GET /findings.
import type { Queryable } from '@stella/platform';

export interface FindingRow {
  id: string;
  subject_key: string;
  sbom_id: string;
  purl: string;
  vulnerability_id: string;
  severity: string;
  reachability: string;
  vex_status: string;
  verdict: string | null;
  rule: string | null;
  snapshot_id: string | null;
  fact_digest: string | null;
  document: Record<string, unknown>;
  evaluated_at: string;
}

export interface FindingFilter {
  subjectKey?: string | undefined;
  severity?: string | undefined;
  reachability?: string | undefined;
  verdict?: string | undefined;
  vulnerability?: string | undefined;
  afterId?: string | undefined;
  limit: number;
}

const TIME = `to_char(evaluated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `id, subject_key, sbom_id, purl, vulnerability_id, severity, reachability, vex_status, verdict, rule,
  snapshot_id, fact_digest, document, ${TIME} as evaluated_at`;

/** Serialises recomputes of one subject across processes until the transaction ends. */
export async function lockSubject(tx: Queryable, tenant: string, subjectKey: string): Promise<void> {
  await tx.query(`select pg_advisory_xact_lock(hashtextextended('findings:' || $1 || ':' || $2, 0))`, [
    tenant,
    subjectKey,
  ]);
}

/** Every subject key the tenant has an SBOM for, sorted. */
export async function selectSubjects(tx: Queryable): Promise<string[]> {
  const { rows } = await tx.query<{ subject_key: string }>(
    'select subject_key from sbom_document group by subject_key order by subject_key collate "C"',
  );
  return rows.map((r) => r.subject_key);
}

/** The newest SBOM of a subject (ingest time, then id), or undefined. */
export async function selectLatestSbom(tx: Queryable, subjectKey: string): Promise<string | undefined> {
  const { rows } = await tx.query<{ id: string }>(
    'select id from sbom_document where subject_key = $1 order by ingested_at desc, id desc limit 1',
    [subjectKey],
  );
  return rows[0]?.id;
}

export async function selectSubjectFindings(tx: Queryable, subjectKey: string): Promise<FindingRow[]> {
  const { rows } = await tx.query<FindingRow>(
    `select ${COLUMNS} from finding where subject_key = $1 order by id collate "C"`,
    [subjectKey],
  );
  return rows;
}

/** Rows per multi-row upsert: 15 parameters a row stays far below PostgreSQL's 65,535. */
const ROWS_PER_UPSERT = 500;

/** Inserts or replaces findings, in multi-row statements (one per row made a large SBOM's recompute crawl). */
export async function upsertFindings(tx: Queryable, tenant: string, rows: readonly FindingRow[]): Promise<void> {
  for (let start = 0; start < rows.length; start += ROWS_PER_UPSERT) {
    const chunk = rows.slice(start, start + ROWS_PER_UPSERT);
    const params: unknown[] = [];
    const tuples = chunk.map((row) => {
      const values = [
        tenant,
        row.id,
        row.subject_key,
        row.sbom_id,
        row.purl,
        row.vulnerability_id,
        row.severity,
        row.reachability,
        row.vex_status,
        row.verdict,
        row.rule,
        row.snapshot_id,
        row.fact_digest,
        JSON.stringify(row.document),
        row.evaluated_at,
      ];
      const first = params.length;
      params.push(...values);
      const n = (i: number) => `$${first + i + 1}`;
      return `(${values.map((_, i) => (i === 13 ? `${n(i)}::jsonb` : i === 14 ? `${n(i)}::timestamptz` : n(i))).join(', ')})`;
    });
    await tx.query(
      `insert into finding (tenant, id, subject_key, sbom_id, purl, vulnerability_id, severity, reachability, vex_status,
         verdict, rule, snapshot_id, fact_digest, document, evaluated_at)
       values ${tuples.join(', ')}
       on conflict (tenant, id) do update set sbom_id = excluded.sbom_id, purl = excluded.purl,
         vulnerability_id = excluded.vulnerability_id, severity = excluded.severity,
         reachability = excluded.reachability, vex_status = excluded.vex_status, verdict = excluded.verdict,
         rule = excluded.rule, snapshot_id = excluded.snapshot_id, fact_digest = excluded.fact_digest,
         document = excluded.document, evaluated_at = excluded.evaluated_at`,
      params,
    );
  }
}

export async function deleteFindings(tx: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await tx.query('delete from finding where id = any($1::text[])', [ids]);
}

export async function selectFindings(tx: Queryable, filter: FindingFilter): Promise<FindingRow[]> {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  add('subject_key', filter.subjectKey);
  add('severity', filter.severity);
  add('reachability', filter.reachability);
  add('verdict', filter.verdict);
  add('vulnerability_id', filter.vulnerability);
  if (filter.afterId !== undefined) {
    params.push(filter.afterId);
    where.push(`id collate "C" > $${params.length}`);
  }
  params.push(filter.limit);
  const { rows } = await tx.query<FindingRow>(
    `select ${COLUMNS} from finding ${where.length ? `where ${where.join(' and ')}` : ''}
      order by id collate "C" limit $${params.length}`,
    params,
  );
  return rows;
}

export async function selectFinding(tx: Queryable, id: string): Promise<FindingRow | undefined> {
  const { rows } = await tx.query<FindingRow>(`select ${COLUMNS} from finding where id = $1`, [id]);
  return rows[0];
}

export async function countFindings(tx: Queryable): Promise<number> {
  const { rows } = await tx.query<{ n: string | number }>('select count(*) as n from finding');
  return Number(rows[0]?.n ?? 0);
}

/** A page of findings after an id (every column), in id byte order: what exports stream. */
export async function selectFindingsPage(
  tx: Queryable,
  afterId: string | undefined,
  limit: number,
): Promise<FindingRow[]> {
  const { rows } = await tx.query<FindingRow>(
    `select ${COLUMNS} from finding where $1::text is null or id collate "C" > $1 order by id collate "C" limit $2`,
    [afterId ?? null, limit],
  );
  return rows;
}
