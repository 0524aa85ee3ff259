// SPDX-License-Identifier: Apache-2.0
// SQL for the two raw stores. Table names come only from the RawStore union, never from input.
import { canonicalJson } from '@stella/core';
import { copyTextRow, type Queryable, type Tx, textArrayLiteral } from '@stella/platform';
import type { AocEnvelope, RawStore } from '../ingest/envelope.ts';

export interface Head {
  id: string;
  revision: number;
  contentHash: string;
}

/** A document's chain as the writer needs it: its head and the id of every content it holds. */
export interface Chain {
  head: Head;
  byHash: Map<string, string>;
}

export function identityKey(vendor: string, upstreamId: string): string {
  return `${vendor}\u0000${upstreamId}`;
}

/** The chains of the given documents (every revision's hash; chains are short), in one round trip. */
export async function loadChains(
  tx: Queryable,
  store: RawStore,
  tenant: string,
  identities: ReadonlyArray<{ vendor: string; upstreamId: string }>,
): Promise<Map<string, Chain>> {
  const chains = new Map<string, Chain>();
  if (identities.length === 0) return chains;
  const { rows } = await tx.query<{
    source_vendor: string;
    upstream_id: string;
    id: string;
    revision: number;
    content_hash: string;
  }>(
    // One index probe per document (a lateral join), whatever the planner's statistics say: an IN
    // over unnest() became a hash join over the tenant's whole table during a first bulk load.
    `select r.source_vendor, r.upstream_id, r.id, r.revision, r.content_hash
       from (select distinct * from unnest($2::text[], $3::text[])) as i(vendor, upstream_id)
       cross join lateral (
         select source_vendor, upstream_id, id, revision, content_hash from ${store}
          where tenant = $1 and source_vendor = i.vendor and upstream_id = i.upstream_id) r
      order by r.source_vendor, r.upstream_id, r.revision`,
    [tenant, identities.map((i) => i.vendor), identities.map((i) => i.upstreamId)],
  );
  for (const r of rows) {
    const key = identityKey(r.source_vendor, r.upstream_id);
    const head = { id: r.id, revision: r.revision, contentHash: r.content_hash };
    const chain = chains.get(key);
    if (chain) {
      chain.head = head;
      chain.byHash.set(r.content_hash, r.id);
    } else {
      chains.set(key, { head, byHash: new Map([[r.content_hash, r.id]]) });
    }
  }
  return chains;
}

export interface RawRow {
  envelope: AocEnvelope;
  revision: number;
  raw: string;
  packages: string[];
}

/** The columns a write sets, with their types (raw_json is generated from raw). */
const WRITE_COLUMNS = [
  ['tenant', 'text'],
  ['id', 'text'],
  ['revision', 'integer'],
  ['source_vendor', 'text'],
  ['source_connector', 'text'],
  ['source_version', 'text'],
  ['source_stream', 'text'],
  ['upstream_id', 'text'],
  ['document_version', 'text'],
  ['retrieved_at', 'timestamptz'],
  ['content_hash', 'text'],
  ['signature', 'jsonb'],
  ['content_format', 'text'],
  ['spec_version', 'text'],
  ['raw', 'text'],
  ['schema_validation', 'jsonb'],
  ['identifiers', 'jsonb'],
  ['linkset', 'jsonb'],
  ['packages', 'text[]'],
  ['supersedes', 'text'],
  ['ingested_at', 'timestamptz'],
  ['export_head', 'text'],
  ['export_tail', 'text'],
] as const;
const WRITE_COLUMN_LIST = WRITE_COLUMNS.map(([name]) => name).join(', ');

/** A row as PostgreSQL text input, in WRITE_COLUMNS order: what both write paths send. */
function rowFields(r: RawRow): Array<string | null> {
  const e = r.envelope;
  const frame = exportFrame(e);
  return [
    e.tenant,
    e.id,
    String(r.revision),
    e.source.vendor,
    e.source.connector,
    e.source.version,
    e.source.stream ?? null,
    e.upstream.upstream_id,
    e.upstream.document_version,
    e.upstream.retrieved_at,
    e.upstream.content_hash,
    JSON.stringify(e.upstream.signature),
    e.content.format,
    e.content.spec_version,
    r.raw,
    JSON.stringify(e.content.schema_validation),
    JSON.stringify(e.identifiers),
    JSON.stringify(e.linkset),
    textArrayLiteral(r.packages),
    e.supersedes,
    e.ingested_at,
    frame.head,
    frame.tail,
  ];
}

/**
 * Inserts rows into a raw store; its constraints check hash, forbidden keys and chain position of
 * every row either way. Where the transaction can COPY (PostgreSQL) the rows are staged by COPY and
 * moved by one INSERT … SELECT; otherwise (PGlite, or a plain Queryable) one INSERT over unnest().
 */
export async function insertRows(tx: Queryable | Tx, store: RawStore, rows: readonly RawRow[]): Promise<void> {
  if (rows.length === 0) return;
  if (canCopy(tx)) {
    await stageRows(tx, store, rows);
    await insertStaged(tx, store);
    return;
  }
  const fields = rows.map(rowFields);
  await tx.query(
    `insert into ${store} (${WRITE_COLUMN_LIST})
     select ${WRITE_COLUMNS.map(([name, type]) => `t.${name}::${type}`).join(', ')}
       from unnest(${WRITE_COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')}) as t(${WRITE_COLUMN_LIST})`,
    WRITE_COLUMNS.map((_, i) => fields.map((f) => f[i])),
  );
}

function canCopy(tx: Queryable | Tx): tx is Tx & Required<Pick<Tx, 'copyFrom'>> {
  return 'copyFrom' in tx && tx.copyFrom !== undefined;
}

/**
 * The staging table of a store: temporary, so private to the session (two batches in flight on two
 * connections never meet) and never WAL-logged. Made once per session, not per batch: creating and
 * dropping it was ~3 ms of catalog work a batch (issue 17). ON COMMIT DELETE ROWS empties it at
 * every commit and a rollback takes back what was staged, so nothing staged outlives its
 * transaction; the INSERT that moves the staged rows deletes them too, so a transaction may stage
 * several times (a mirror import writes a store in chunks). Its columns are WRITE_COLUMNS, what the
 * COPY names, without the store's checks, keys and triggers: COPY only parses the values, and the
 * store's constraints judge the rows as they move. They are this code's and not LIKE the store's,
 * so a session that outlives a migration of the store still stages exactly what it copies.
 */
const stagingTable = (store: RawStore) => `aoc_staging_${store}`;

/** COPYs the rows into the staging table of the store, in this transaction. */
export async function stageRows(
  tx: Tx & Required<Pick<Tx, 'copyFrom'>>,
  store: RawStore,
  rows: readonly RawRow[],
): Promise<void> {
  await tx.query(
    `create temp table if not exists ${stagingTable(store)}
       (${WRITE_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ')}) on commit delete rows`,
  );
  await tx.copyFrom(
    `copy ${stagingTable(store)} (${WRITE_COLUMN_LIST}) from stdin`,
    rows.map((r) => copyTextRow(rowFields(r))),
  );
}

/** Moves the staged rows into the store in one statement, under its constraints and triggers, and empties the staging table. */
export async function insertStaged(tx: Tx, store: RawStore): Promise<void> {
  // One round trip: exec sends both statements as one script (no parameters).
  await tx.exec(
    `insert into ${store} (${WRITE_COLUMN_LIST}) select ${WRITE_COLUMN_LIST} from ${stagingTable(store)};
     delete from ${stagingTable(store)}`,
  );
}

/** Columns of an envelope without the raw body. */
export const ENVELOPE_COLUMNS = `tenant, id, revision, source_vendor, source_connector, source_version, source_stream,
  upstream_id, document_version, retrieved_at, content_hash, signature, content_format, spec_version,
  schema_validation, identifiers, linkset, supersedes, ingested_at`;

export interface EnvelopeRow {
  tenant: string;
  id: string;
  revision: number;
  source_vendor: string;
  source_connector: string;
  source_version: string;
  source_stream: string | null;
  upstream_id: string;
  document_version: string | null;
  retrieved_at: Date | string;
  content_hash: string;
  signature: AocEnvelope['upstream']['signature'];
  content_format: AocEnvelope['content']['format'];
  spec_version: string;
  schema_validation: AocEnvelope['content']['schema_validation'];
  identifiers: AocEnvelope['identifiers'];
  linkset: AocEnvelope['linkset'];
  supersedes: string | null;
  ingested_at: Date | string;
  raw?: string;
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/**
 * A record's export frame (migration 0006): the canonical JSON of its envelope as a read gives it
 * back (envelopeFromRow: times in toISOString form, jsonb columns as JSON, absent values null),
 * split around content.raw. The json:raw line of the record is `head + JSON.stringify(raw) + tail`.
 */
export function exportFrame(e: AocEnvelope): { head: string; tail: string } {
  const jsonb = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const stored = envelopeFromRow({
    tenant: e.tenant,
    id: e.id,
    revision: 0,
    source_vendor: e.source.vendor,
    source_connector: e.source.connector,
    source_version: e.source.version,
    source_stream: e.source.stream ?? null,
    upstream_id: e.upstream.upstream_id,
    document_version: e.upstream.document_version ?? null,
    retrieved_at: e.upstream.retrieved_at,
    content_hash: e.upstream.content_hash,
    signature: jsonb(e.upstream.signature),
    content_format: e.content.format,
    spec_version: e.content.spec_version,
    schema_validation: jsonb(e.content.schema_validation),
    identifiers: jsonb(e.identifiers),
    linkset: jsonb(e.linkset),
    supersedes: e.supersedes ?? null,
    ingested_at: e.ingested_at,
  });
  const line = canonicalJson({ ...stored, content: { ...stored.content, raw: FRAME_HOLE } });
  // The first occurrence is content.raw's: "content" sorts first, and only "format" before "raw" in it.
  const at = line.indexOf(FRAME_HOLE_JSON);
  return { head: line.slice(0, at), tail: line.slice(at + FRAME_HOLE_JSON.length) };
}
// No stored text holds U+0000 (PostgreSQL refuses it in text and jsonb), so no other value can match.
const FRAME_HOLE = '\u0000raw\u0000';
const FRAME_HOLE_JSON = JSON.stringify(FRAME_HOLE);

/** Rebuilds the envelope from a row; `raw` is the parsed upstream body when the row carries it. */
export function envelopeFromRow(row: EnvelopeRow, raw?: unknown): AocEnvelope {
  return {
    id: row.id,
    tenant: row.tenant,
    source: {
      vendor: row.source_vendor,
      connector: row.source_connector,
      version: row.source_version,
      ...(row.source_stream ? { stream: row.source_stream } : {}),
    },
    upstream: {
      upstream_id: row.upstream_id,
      document_version: row.document_version,
      retrieved_at: iso(row.retrieved_at),
      content_hash: row.content_hash,
      signature: row.signature,
    },
    content: {
      format: row.content_format,
      spec_version: row.spec_version,
      raw,
      schema_validation: row.schema_validation,
    },
    identifiers: row.identifiers,
    linkset: row.linkset,
    supersedes: row.supersedes,
    ingested_at: iso(row.ingested_at),
  };
}

export async function getRaw(tx: Queryable, store: RawStore, id: string): Promise<EnvelopeRow | undefined> {
  const { rows } = await tx.query<EnvelopeRow>(`select ${ENVELOPE_COLUMNS}, raw from ${store} where id = $1`, [id]);
  return rows[0];
}

export interface RawFilter {
  purl?: string | undefined;
  alias?: string | undefined;
  vendor?: string | undefined;
  upstreamId?: string | undefined;
  format?: string | undefined;
  since?: string | undefined;
  /** Include superseded revisions (default: heads only). */
  history?: boolean | undefined;
  /** Keyset pagination: rows after this (ingested_at, id). */
  after?: { time: string; id: string } | undefined;
  limit: number;
}

/** The WHERE clause and parameters of a listing (table alias r), and the LIMIT parameter's number. */
function listWhere(store: RawStore, filter: RawFilter): { where: string; params: unknown[]; limit: string } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  // Through the alias lookup (migration 0004): under RLS only its text key is indexed.
  if (filter.alias) add((p) => `id in (select k.id from ${store}_alias k where k.alias = ${p})`, filter.alias);
  if (filter.purl) {
    if (filter.purl.includes('@')) add((p) => `linkset -> 'purls' ? ${p}`, filter.purl);
    else add((p) => `packages @> array[${p}::text]`, filter.purl);
  }
  if (filter.vendor) add((p) => `source_vendor = ${p}`, filter.vendor);
  if (filter.upstreamId) add((p) => `upstream_id = ${p}`, filter.upstreamId);
  if (filter.format) add((p) => `content_format = ${p}`, filter.format);
  if (filter.since) add((p) => `ingested_at >= ${p}::timestamptz`, filter.since);
  if (!filter.history) {
    where.push(`not exists (select 1 from ${store} n where n.tenant = r.tenant and n.supersedes = r.id)`);
  }
  if (filter.after) {
    params.push(filter.after.time, filter.after.id);
    where.push(`(ingested_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`);
  }
  params.push(filter.limit);
  return { where: where.length ? `where ${where.join(' and ')}` : '', params, limit: `$${params.length}` };
}

/** A time as JavaScript's toISOString writes it (milliseconds, truncated as a Date truncates). */
export const isoSql = (column: string) =>
  `to_char(date_trunc('milliseconds', ${column}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The envelope without content.raw, as JSON text built by the database: what envelopeFromRow and
 * withoutRaw make of a row, member for member and in the same order (jsonb members keep the order
 * the database gives them either way), so a listing is spliced text instead of JSON parsed into
 * objects only to be serialised again (the largest cost of a list request, issue 17).
 */
export const LISTED_ENVELOPE_JSON = `json_build_object(
    'id', id, 'tenant', tenant,
    'source', case when coalesce(source_stream, '') = ''
      then json_build_object('vendor', source_vendor, 'connector', source_connector, 'version', source_version)
      else json_build_object('vendor', source_vendor, 'connector', source_connector, 'version', source_version,
                             'stream', source_stream) end,
    'upstream', json_build_object('upstream_id', upstream_id, 'document_version', document_version,
      'retrieved_at', ${isoSql('retrieved_at')}, 'content_hash', content_hash, 'signature', signature),
    'content', json_build_object('format', content_format, 'spec_version', spec_version,
      'schema_validation', schema_validation),
    'identifiers', identifiers, 'linkset', linkset, 'supersedes', supersedes,
    'ingested_at', ${isoSql('ingested_at')})::text`;

export interface ListedJsonRow {
  /** The listed envelope as JSON text. */
  json: string;
  id: string;
  /** ISO time of ingested_at, for the cursor. */
  ingested: string;
}

/** listRaw with each envelope (without content.raw) as JSON text built in the database. */
export async function listRawJson(tx: Queryable, store: RawStore, filter: RawFilter): Promise<ListedJsonRow[]> {
  const { where, params, limit } = listWhere(store, filter);
  const { rows } = await tx.query<ListedJsonRow>(
    `select ${LISTED_ENVELOPE_JSON} as json, id, ${isoSql('ingested_at')} as ingested
       from ${store} r ${where} order by ingested_at, id limit ${limit}`,
    params,
  );
  return rows;
}

/** Every revision of one upstream document, first to last. */
export async function chainOf(
  tx: Queryable,
  store: RawStore,
  vendor: string,
  upstreamId: string,
): Promise<EnvelopeRow[]> {
  const { rows } = await tx.query<EnvelopeRow>(
    `select ${ENVELOPE_COLUMNS} from ${store} where source_vendor = $1 and upstream_id = $2 order by revision`,
    [vendor, upstreamId],
  );
  return rows;
}
