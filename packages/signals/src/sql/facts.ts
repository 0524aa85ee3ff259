// SQL of reachability facts and unknowns.
import type { Queryable } from '@stella/platform';

export interface FactRow {
  subjectKey: string;
  callgraphId: string;
  factVersion: number;
  digest: string;
  casUri: string;
  inputsDigest: string;
  score: number;
  unknownsCount: number;
  document: Record<string, unknown>;
  computedAt: string;
  /** The subject's inputs version this fact was computed from (or found still current for). */
  inputsVersion: number;
}

export async function selectFact(tx: Queryable, tenant: string, subjectKey: string): Promise<FactRow | undefined> {
  const result = await tx.query<FactRow & { factVersion: string | number; inputsVersion: string | number }>(
    `select subject_key as "subjectKey", callgraph_id as "callgraphId", fact_version as "factVersion", digest,
       cas_uri as "casUri", inputs_digest as "inputsDigest", score, unknowns_count as "unknownsCount", document,
       computed_at as "computedAt", inputs_version as "inputsVersion"
     from signals_facts where tenant = $1 and subject_key = $2`,
    [tenant, subjectKey],
  );
  const row = result.rows[0];
  return (
    row && {
      ...row,
      factVersion: Number(row.factVersion),
      inputsVersion: Number(row.inputsVersion),
      computedAt: new Date(row.computedAt).toISOString(),
    }
  );
}

/** One subject with a fact, as GET /signals/facts lists it: what a reader picks a subject by. */
export interface FactSummaryRow {
  subjectKey: string;
  subject: Record<string, string> | null;
  factVersion: number;
  digest: string;
  score: number;
  targets: number;
  reachableTargets: number;
  unknownsCount: number;
  computedAt: string;
}

/**
 * A page of the tenant's subjects with a fact, in subject-key byte order after `afterKey` (the
 * primary key, so a page is an index range however many subjects there are). The counts are read
 * from the stored document so the list needs no second query per subject.
 */
export async function selectFactSummaries(
  tx: Queryable,
  tenant: string,
  afterKey: string | undefined,
  limit: number,
): Promise<FactSummaryRow[]> {
  const result = await tx.query<
    FactSummaryRow & { factVersion: string | number; targets: string | number; reachableTargets: string | number }
  >(
    `select subject_key as "subjectKey", document->'subject' as subject, fact_version as "factVersion", digest, score,
       jsonb_array_length(coalesce(document->'states', '[]'::jsonb)) as targets,
       (select count(*) from jsonb_array_elements(coalesce(document->'states', '[]'::jsonb)) as s
         where s->>'reachable' = 'true') as "reachableTargets",
       unknowns_count as "unknownsCount", computed_at as "computedAt"
     from signals_facts
     where tenant = $1 and ($2::text is null or subject_key collate "C" > $2)
     order by subject_key collate "C" limit $3`,
    [tenant, afterKey ?? null, limit],
  );
  return result.rows.map((row) => ({
    ...row,
    factVersion: Number(row.factVersion),
    targets: Number(row.targets),
    reachableTargets: Number(row.reachableTargets),
    computedAt: new Date(row.computedAt).toISOString(),
  }));
}

/**
 * Writes the new fact; the version is the previous one plus one, so it is monotonic per subject.
 * Returns undefined when the stored fact already has this digest (a concurrent recompute got there
 * first), so no second version or event is made for the same content. The caller holds the subject's
 * row lock (lockSubjectInputs) and has checked that `inputsVersion` is still the subject's.
 */
export async function upsertFact(
  tx: Queryable,
  tenant: string,
  row: Omit<FactRow, 'factVersion'>,
): Promise<number | undefined> {
  const result = await tx.query<{ fact_version: string | number }>(
    `insert into signals_facts (tenant, subject_key, callgraph_id, fact_version, digest, cas_uri, inputs_digest, score,
       unknowns_count, document, computed_at, inputs_version)
     values ($1, $2, $3, 1, $4, $5, $6, $7, $8, $9, $10, $11)
     on conflict (tenant, subject_key) do update set callgraph_id = excluded.callgraph_id,
       fact_version = signals_facts.fact_version + 1, digest = excluded.digest, cas_uri = excluded.cas_uri,
       inputs_digest = excluded.inputs_digest, score = excluded.score, unknowns_count = excluded.unknowns_count,
       document = excluded.document, computed_at = excluded.computed_at, inputs_version = excluded.inputs_version
     where signals_facts.digest <> excluded.digest
     returning fact_version`,
    [
      tenant,
      row.subjectKey,
      row.callgraphId,
      row.digest,
      row.casUri,
      row.inputsDigest,
      row.score,
      row.unknownsCount,
      JSON.stringify(row.document),
      row.computedAt,
      row.inputsVersion,
    ],
  );
  return result.rows[0] ? Number(result.rows[0].fact_version) : undefined;
}

/** The stored fact is what these inputs give: record them, so the next recompute of them is skipped. */
export async function touchFactInputs(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  inputsDigest: string,
  inputsVersion: number,
): Promise<void> {
  await tx.query(
    'update signals_facts set inputs_digest = $3, inputs_version = $4 where tenant = $1 and subject_key = $2',
    [tenant, subjectKey, inputsDigest, inputsVersion],
  );
}

export interface UnknownRow {
  symbolId: string;
  reason: string;
  origin: 'engine' | 'reported';
  callgraphId: string | null;
  advisoryId: string | null;
}

export async function replaceEngineUnknowns(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  callgraphId: string,
  unknowns: readonly { symbolId: string; reason: string; advisoryId?: string }[],
): Promise<void> {
  await tx.query(`delete from signals_unknowns where tenant = $1 and subject_key = $2 and origin = 'engine'`, [
    tenant,
    subjectKey,
  ]);
  if (unknowns.length === 0) return;
  await tx.query(
    `insert into signals_unknowns (tenant, subject_key, symbol_id, reason, origin, callgraph_id, advisory_id)
     select $1, $2, s, r, 'engine', $3, a from unnest($4::text[], $5::text[], $6::text[]) as t(s, r, a)
     on conflict do nothing`,
    [
      tenant,
      subjectKey,
      callgraphId,
      unknowns.map((u) => u.symbolId),
      unknowns.map((u) => u.reason),
      unknowns.map((u) => u.advisoryId ?? null),
    ],
  );
}

export async function insertReportedUnknowns(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  callgraphId: string | null,
  unknowns: readonly { symbolId: string; reason: string }[],
): Promise<number> {
  if (unknowns.length === 0) return 0;
  const result = await tx.query(
    `insert into signals_unknowns (tenant, subject_key, symbol_id, reason, origin, callgraph_id)
     select $1, $2, s, r, 'reported', $3 from unnest($4::text[], $5::text[]) as t(s, r)
     on conflict do nothing`,
    [tenant, subjectKey, callgraphId, unknowns.map((u) => u.symbolId), unknowns.map((u) => u.reason)],
  );
  return result.rowCount;
}

export async function selectUnknowns(tx: Queryable, tenant: string, subjectKey: string): Promise<UnknownRow[]> {
  const result = await tx.query<UnknownRow>(
    `select symbol_id as "symbolId", reason, origin, callgraph_id as "callgraphId", advisory_id as "advisoryId"
     from signals_unknowns where tenant = $1 and subject_key = $2 order by symbol_id, reason, origin`,
    [tenant, subjectKey],
  );
  return result.rows;
}
