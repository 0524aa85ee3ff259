// SQL of subjects, runtime ingests (idempotency and orphans) and the aggregated runtime facts.
import type { Queryable } from '@stella/platform';
import type { SymbolAggregate } from '../runtime/events.ts';

export interface IngestRow {
  ingestId: string;
  subjectKey: string;
  callgraphId: string | null;
  graphHash: string | null;
  contentSha256: string;
  casUri: string;
  eventCount: number;
  symbolCount: number;
  source: string;
  analysisId: string | null;
  subject: Record<string, string>;
  status: 'applied' | 'orphan';
  receivedAt: string;
}

/** $1…$12 of both ingest statements: the ingest row's columns up to its subject. */
function ingestParams(tenant: string, row: Omit<IngestRow, 'receivedAt'>): unknown[] {
  return [
    tenant,
    row.ingestId,
    row.subjectKey,
    row.callgraphId,
    row.graphHash,
    row.contentSha256,
    row.casUri,
    row.eventCount,
    row.symbolCount,
    row.source,
    row.analysisId,
    JSON.stringify(row.subject),
  ];
}

const INGEST_COLUMNS = `ingest_id as "ingestId", subject_key as "subjectKey", callgraph_id as "callgraphId",
  graph_hash as "graphHash", content_sha256 as "contentSha256", cas_uri as "casUri", event_count as "eventCount",
  symbol_count as "symbolCount", source, analysis_id as "analysisId", subject, status, received_at as "receivedAt"`;

function ingest(row: IngestRow | undefined): IngestRow | undefined {
  return row && { ...row, receivedAt: new Date(row.receivedAt).toISOString() };
}

export async function findIngest(
  tx: Queryable,
  tenant: string,
  ingestId: string,
  subjectKey: string,
  contentSha256: string,
): Promise<IngestRow | undefined> {
  const result = await tx.query<IngestRow>(
    `select ${INGEST_COLUMNS} from signals_runtime_ingests
     where tenant = $1 and (ingest_id = $2 or (subject_key = $3 and content_sha256 = $4)) order by received_at limit 1`,
    [tenant, ingestId, subjectKey, contentSha256],
  );
  return ingest(result.rows[0]);
}

export async function insertIngest(
  tx: Queryable,
  tenant: string,
  row: Omit<IngestRow, 'receivedAt'>,
): Promise<boolean> {
  const result = await tx.query(
    `insert into signals_runtime_ingests (tenant, ingest_id, subject_key, callgraph_id, graph_hash, content_sha256, cas_uri,
       event_count, symbol_count, source, analysis_id, subject, status, applied_at)
     values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13, case when $13 = 'applied' then now() end)
     on conflict do nothing`,
    [...ingestParams(tenant, row), row.status],
  );
  return result.rowCount === 1;
}

export async function selectOrphans(tx: Queryable, tenant: string, graphHash: string): Promise<IngestRow[]> {
  const result = await tx.query<IngestRow>(
    `select ${INGEST_COLUMNS} from signals_runtime_ingests where tenant = $1 and graph_hash = $2 and status = 'orphan'
     order by received_at, ingest_id`,
    [tenant, graphHash],
  );
  return result.rows.map((r) => ingest(r)!);
}

/** Claims an orphan for attaching; false when another worker already did. */
export async function markApplied(
  tx: Queryable,
  tenant: string,
  ingestId: string,
  callgraphId: string,
): Promise<boolean> {
  const result = await tx.query(
    `update signals_runtime_ingests set status = 'applied', applied_at = now(), callgraph_id = $3
     where tenant = $1 and ingest_id = $2 and status = 'orphan'`,
    [tenant, ingestId, callgraphId],
  );
  return result.rowCount === 1;
}

/**
 * The columns every change of a subject's inputs sets on conflict: the inputs version goes up and the
 * subject is pending (from its first change not yet covered by a fact) until a recompute settles it.
 */
const INPUTS_CHANGED = `inputs_version = signals_subjects.inputs_version + 1,
       pending_since = coalesce(signals_subjects.pending_since, now()), updated_at = now()`;

/** Creates the subject or binds it to the given callgraph, and bumps its runtime and inputs versions. */
export async function touchSubject(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  callgraphId: string,
  subject: Record<string, string>,
  bumpRuntime: boolean,
): Promise<number> {
  const result = await tx.query<{ runtime_version: string | number }>(
    `insert into signals_subjects (tenant, subject_key, callgraph_id, subject, runtime_version, inputs_version, pending_since)
     values ($1, $2, $3, $4, $5, 1, now())
     on conflict (tenant, subject_key) do update set callgraph_id = excluded.callgraph_id, subject = excluded.subject,
       runtime_version = signals_subjects.runtime_version + $5, ${INPUTS_CHANGED}
     returning runtime_version`,
    [tenant, subjectKey, callgraphId, JSON.stringify(subject), bumpRuntime ? 1 : 0],
  );
  return Number(result.rows[0]!.runtime_version);
}

const ROWS_PER_STATEMENT = 5000;

const FACTS_UPSERT = `on conflict (tenant, subject_key, symbol_id) do update set
         hit_count = least(signals_runtime_facts.hit_count + excluded.hit_count, 9007199254740991),
         first_seen = least(signals_runtime_facts.first_seen, excluded.first_seen),
         last_seen = greatest(signals_runtime_facts.last_seen, excluded.last_seen),
         in_graph = excluded.in_graph`;

function factColumns(slice: readonly [string, SymbolAggregate][], inGraph: (symbolId: string) => boolean) {
  const ids: string[] = new Array(slice.length);
  const hits: number[] = new Array(slice.length);
  const first: (string | null)[] = new Array(slice.length);
  const last: (string | null)[] = new Array(slice.length);
  const known: boolean[] = new Array(slice.length);
  for (let i = 0; i < slice.length; i++) {
    const [id, a] = slice[i]!;
    ids[i] = id;
    hits[i] = a.hits;
    first[i] = a.firstSeen ?? null;
    last[i] = a.lastSeen ?? null;
    known[i] = inGraph(id);
  }
  return [ids, hits, first, last, known];
}

/**
 * An applied batch in one statement (one round trip instead of three): the ingest row, and only when
 * it is new (not a retry, by ingest id or content) the subject's runtime version bump and the first
 * ROWS_PER_STATEMENT aggregated facts. Returns undefined for a duplicate, else the new runtime version;
 * facts beyond the first slice follow with addRuntimeFacts.
 */
export async function insertAppliedIngest(
  tx: Queryable,
  tenant: string,
  row: Omit<IngestRow, 'receivedAt'> & { callgraphId: string; status: 'applied' },
  symbols: readonly [string, SymbolAggregate][],
  inGraph: (symbolId: string) => boolean,
): Promise<number | undefined> {
  const result = await tx.query<{ version: string | number | null }>(
    `with ing as (
       insert into signals_runtime_ingests (tenant, ingest_id, subject_key, callgraph_id, graph_hash, content_sha256, cas_uri,
         event_count, symbol_count, source, analysis_id, subject, status, applied_at)
       values ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::integer, $9::integer, $10::text,
         $11::text, $12::jsonb, 'applied', now())
       on conflict do nothing
       returning 1
     ), subj as (
       insert into signals_subjects (tenant, subject_key, callgraph_id, subject, runtime_version, inputs_version, pending_since)
       select $1::text, $3::text, $4::text, $12::jsonb, 1, 1, now() where exists (select from ing)
       on conflict (tenant, subject_key) do update set callgraph_id = excluded.callgraph_id, subject = excluded.subject,
         runtime_version = signals_subjects.runtime_version + 1, ${INPUTS_CHANGED}
       returning runtime_version
     ), facts as (
       insert into signals_runtime_facts (tenant, subject_key, symbol_id, hit_count, first_seen, last_seen, in_graph)
       select $1::text, $3::text, s, h, f, l, g
       from unnest($13::text[], $14::bigint[], $15::timestamptz[], $16::timestamptz[], $17::boolean[]) as t(s, h, f, l, g)
       where exists (select from ing)
       ${FACTS_UPSERT}
     )
     select (select runtime_version from subj) as version`,
    [...ingestParams(tenant, row), ...factColumns(symbols.slice(0, ROWS_PER_STATEMENT), inGraph)],
  );
  const version = result.rows[0]?.version;
  if (version === null || version === undefined) return undefined;
  await addRuntimeFacts(tx, tenant, row.subjectKey, symbols.slice(ROWS_PER_STATEMENT), inGraph);
  return Number(version);
}

export async function addRuntimeFacts(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  symbols: readonly [string, SymbolAggregate][],
  inGraph: (symbolId: string) => boolean,
): Promise<void> {
  for (let at = 0; at < symbols.length; at += ROWS_PER_STATEMENT) {
    const slice = symbols.slice(at, at + ROWS_PER_STATEMENT);
    await tx.query(
      `insert into signals_runtime_facts (tenant, subject_key, symbol_id, hit_count, first_seen, last_seen, in_graph)
       select $1, $2, s, h, f, l, g from unnest($3::text[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::boolean[])
         as t(s, h, f, l, g)
       ${FACTS_UPSERT}`,
      [tenant, subjectKey, ...factColumns(slice, inGraph)],
    );
  }
}

export interface SubjectRow {
  subjectKey: string;
  callgraphId: string;
  subject: Record<string, string>;
  runtimeVersion: number;
  /** Bumped by every change of the subject's inputs (runtime batch, callgraph, targets). */
  inputsVersion: number;
  targets: unknown;
}

export async function selectSubjects(tx: Queryable, tenant: string, subjectKey?: string): Promise<SubjectRow[]> {
  const result = await tx.query<SubjectRow & { runtimeVersion: string | number; inputsVersion: string | number }>(
    `select subject_key as "subjectKey", callgraph_id as "callgraphId", subject, runtime_version as "runtimeVersion",
       inputs_version as "inputsVersion", targets
     from signals_subjects where tenant = $1 and ($2::text is null or subject_key = $2) order by subject_key`,
    [tenant, subjectKey ?? null],
  );
  return result.rows.map((r) => ({
    ...r,
    runtimeVersion: Number(r.runtimeVersion),
    inputsVersion: Number(r.inputsVersion),
  }));
}

/** Sets the subject's explicit targets; only a real change bumps its inputs version. */
export async function setSubjectTargets(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  targets: unknown,
): Promise<void> {
  await tx.query(
    `update signals_subjects set targets = $3::jsonb, ${INPUTS_CHANGED}
     where tenant = $1 and subject_key = $2 and targets is distinct from $3::jsonb`,
    [tenant, subjectKey, targets === null ? null : JSON.stringify(targets)],
  );
}

/**
 * Locks the subject's row until COMMIT and returns its inputs version: a recompute writes its fact
 * only while this is still the version it computed from, and an ingest of the same subject waits
 * for that transaction (both take this row lock before the tenant's timeline head, so no deadlock).
 */
export async function lockSubjectInputs(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
): Promise<number | undefined> {
  const result = await tx.query<{ inputs_version: string | number }>(
    'select inputs_version from signals_subjects where tenant = $1 and subject_key = $2 for update',
    [tenant, subjectKey],
  );
  const row = result.rows[0];
  return row ? Number(row.inputs_version) : undefined;
}

/** The subject's fact now covers `inputsVersion`: it is no longer pending unless its inputs moved on. */
export async function settleSubject(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
  inputsVersion: number,
): Promise<void> {
  await tx.query(
    'update signals_subjects set pending_since = null where tenant = $1 and subject_key = $2 and inputs_version = $3',
    [tenant, subjectKey, inputsVersion],
  );
}

export interface SubjectInputs {
  inputsVersion: number;
  /** When the oldest change not yet covered by a fact was accepted (the last change for older rows). */
  pendingSince: string;
}

export async function selectSubjectInputs(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
): Promise<SubjectInputs | undefined> {
  const result = await tx.query<{ inputs_version: string | number; since: Date | string }>(
    `select inputs_version, coalesce(pending_since, updated_at) as since
     from signals_subjects where tenant = $1 and subject_key = $2`,
    [tenant, subjectKey],
  );
  const row = result.rows[0];
  return row && { inputsVersion: Number(row.inputs_version), pendingSince: new Date(row.since).toISOString() };
}

/** The oldest runtime batch of a subject parked for a graph that was not ingested yet. */
export async function selectOldestOrphan(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
): Promise<{ graphHash: string; receivedAt: string } | undefined> {
  const result = await tx.query<{ graph_hash: string; received_at: Date | string }>(
    `select graph_hash, received_at from signals_runtime_ingests
     where tenant = $1 and subject_key = $2 and status = 'orphan' order by received_at, ingest_id limit 1`,
    [tenant, subjectKey],
  );
  const row = result.rows[0];
  return row && { graphHash: row.graph_hash, receivedAt: new Date(row.received_at).toISOString() };
}

export async function selectHits(tx: Queryable, tenant: string, subjectKey: string): Promise<Map<string, number>> {
  const result = await tx.query<{ symbol_id: string; hit_count: string | number }>(
    'select symbol_id, hit_count from signals_runtime_facts where tenant = $1 and subject_key = $2 and hit_count > 0',
    [tenant, subjectKey],
  );
  return new Map(result.rows.map((r) => [r.symbol_id, Number(r.hit_count)]));
}

export async function runtimeSummary(
  tx: Queryable,
  tenant: string,
  subjectKey: string,
): Promise<{ symbols: number; totalHits: number; runtimeOnly: number; lastSeen: string | null; ingests: string[] }> {
  const facts = await tx.query<{
    symbols: number;
    total: string | null;
    runtime_only: number;
    last_seen: Date | string | null;
  }>(
    `select count(*)::int as symbols, sum(hit_count)::text as total, count(*) filter (where not in_graph)::int as runtime_only,
       max(last_seen) as last_seen
     from signals_runtime_facts where tenant = $1 and subject_key = $2`,
    [tenant, subjectKey],
  );
  const ingests = await tx.query<{ ingest_id: string }>(
    `select ingest_id from signals_runtime_ingests where tenant = $1 and subject_key = $2 and status = 'applied'
     order by ingest_id`,
    [tenant, subjectKey],
  );
  const row = facts.rows[0]!;
  return {
    symbols: row.symbols,
    totalHits: Number(row.total ?? 0),
    runtimeOnly: row.runtime_only,
    lastSeen: row.last_seen ? new Date(row.last_seen).toISOString() : null,
    ingests: ingests.rows.map((r) => r.ingest_id),
  };
}
