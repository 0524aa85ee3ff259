// AOC ingestion benchmark: documents/s of 10,000 real-shaped OSV documents through the HTTP API
// (NDJSON batches) and through the server-side connector path (directory → guard → write), on
// PostgreSQL and PGlite, next to a floor measured in the same run: the same rows written into a table
// without constraints, indexes, triggers or row-level security, by COPY FROM STDIN on PostgreSQL and
// by plain multi-row INSERTs on PGlite (which has no COPY from a client stream).
// Everything runs on 127.0.0.1 in temporary directories that are removed afterwards.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { aocService, runConnector } from '@stella/aoc';
import { copyTextRow, type Db, type Tx } from '@stella/platform';
import type { RunningServer } from '@stella/server';
import { advisoryFixtures, createDatabase, startPostgres } from '@stella/testkit';
import { adminToken, withBenchServer } from './kit.ts';

const FIXTURES = `${advisoryFixtures()}/osv-go/current`;
// The issue's figure; STELLA_BENCH_AOC_DOCUMENTS only shortens trial runs.
const DOCUMENTS = Number(process.env.STELLA_BENCH_AOC_DOCUMENTS ?? 10_000);
// The server's default aoc.batchSize, so an API batch is one write transaction like a connector batch.
const API_BATCH = 200;
// Enough to JIT the parse/recognise/guard path and warm the database caches before timing.
const WARMUP_DOCUMENTS = 400;
// Rows per floor INSERT: large statements are the closest a parameterised INSERT gets to COPY
// (21 parameters a row stays far below PostgreSQL's 65,535-parameter limit).
const FLOOR_ROWS_PER_STATEMENT = 1000;

const COLUMNS = [
  'tenant',
  'id',
  'revision',
  'source_vendor',
  'source_connector',
  'source_version',
  'source_stream',
  'upstream_id',
  'document_version',
  'retrieved_at',
  'content_hash',
  'signature',
  'content_format',
  'spec_version',
  'raw',
  'raw_json',
  'schema_validation',
  'identifiers',
  'linkset',
  'packages',
  'supersedes',
  'ingested_at',
] as const;

interface PathResult {
  documents: number;
  seconds: number;
  documentsPerSecond: number;
  /** Summed ingestion_latency_seconds per phase; `other` is the wall time not in a phase. */
  phasesSeconds: Record<string, number>;
}

/** Variants of the Go vulndb fixtures: new unique id and `modified`, serialised as upstream does. */
export function osvVariants(count: number, prefix: string): string[] {
  const templates = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(FIXTURES, f), 'utf8')) as Record<string, unknown>);
  const base = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: count }, (_, n) => {
    const doc = { ...templates[n % templates.length] };
    doc.id = `${prefix}-${String(n).padStart(5, '0')}`;
    doc.modified = new Date(base + n * 1000).toISOString().replace('.000Z', 'Z');
    return JSON.stringify(doc, null, 2);
  });
}

export async function runAocBench() {
  const documents = osvVariants(DOCUMENTS, 'GO-BENCH');
  const warmup = osvVariants(WARMUP_DOCUMENTS, 'GO-WARMUP');
  const results: Record<string, unknown> = {
    command: 'npm run bench -- aoc',
    node: process.version,
    cpus: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    documents: DOCUMENTS,
    averageDocumentBytes: Math.round(documents.reduce((n, d) => n + Buffer.byteLength(d), 0) / DOCUMENTS),
    apiBatch: API_BATCH,
    floor: {
      postgres: 'COPY FROM STDIN (text format), one statement, one transaction',
      pglite: `multi-row INSERT, ${FLOOR_ROWS_PER_STATEMENT} rows a statement, one transaction (PGlite has no COPY FROM STDIN)`,
    },
    date: new Date().toISOString(),
    // The machine is shared: other work running at the same time shows here, not in the figures.
    loadAverageAtStart: Number(loadavg()[0]!.toFixed(2)),
  };
  const cluster = await startPostgres();
  try {
    const database = await createDatabase(cluster.adminUrl, cluster.appUrl, 'bench_aoc');
    try {
      results.postgres = await benchBackend('postgres', documents, warmup, database.url);
    } finally {
      await database.drop();
    }
  } finally {
    await cluster.stop();
  }
  results.pglite = await benchBackend('pglite', documents, warmup);
  results.loadAverageAtEnd = Number(loadavg()[0]!.toFixed(2));
  return results;
}

async function benchBackend(backend: 'pglite' | 'postgres', documents: string[], warmup: string[], url?: string) {
  return withBenchServer('aoc', url, (server, home) => measure(backend, server, home, documents, warmup));
}

async function measure(
  backend: 'pglite' | 'postgres',
  server: RunningServer,
  home: string,
  documents: string[],
  warmup: string[],
) {
  const version = (await server.ctx.db.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]
    ?.v;
  const token = await adminToken(server, home);
  console.error(`${backend}: warm-up (${warmup.length} documents through each path)`);
  await viaApi(server, token, 'osv-warmup-api', warmup);
  await viaConnector(server, home, 'osv-warmup', warmup);
  console.error(`${backend}: API path, ${documents.length} documents`);
  const api = await viaApi(server, token, 'osv-api', documents);
  console.error(`${backend}: connector path, ${documents.length} documents`);
  const connector = await viaConnector(server, home, 'osv', documents);
  console.error(`${backend}: floor`);
  const floor = await floorWrite(server.ctx.db, 'osv', documents.length);
  const row = {
    backend,
    version,
    api,
    connector,
    floor,
    connectorToFloor: Number((connector.documentsPerSecond / floor.documentsPerSecond).toFixed(3)),
    apiToFloor: Number((api.documentsPerSecond / floor.documentsPerSecond).toFixed(3)),
  };
  console.error(
    `${backend}: api ${api.documentsPerSecond} docs/s, connector ${connector.documentsPerSecond} docs/s, ` +
      `floor (${floor.method}) ${floor.documentsPerSecond} docs/s (connector/floor ${row.connectorToFloor}, api/floor ${row.apiToFloor})`,
  );
  return row;
}

/** NDJSON batches of envelopes, one request in flight, bodies built before the clock starts. */
async function viaApi(server: RunningServer, token: string, vendor: string, documents: string[]): Promise<PathResult> {
  const bodies: string[] = [];
  for (let i = 0; i < documents.length; i += API_BATCH) {
    bodies.push(
      documents
        .slice(i, i + API_BATCH)
        .map((raw) => JSON.stringify({ source: { vendor }, content: { raw } }))
        .join('\n'),
    );
  }
  const phases = await phaseSums(server, vendor);
  const started = performance.now();
  let written = 0;
  for (const body of bodies) {
    const res = await fetch(`${server.url}/ingest/advisory/batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': 'default',
        'content-type': 'application/x-ndjson',
      },
      body,
    });
    if (res.status !== 200) throw new Error(`batch: ${res.status} ${await res.text()}`);
    written += ((await res.json()) as { written: number }).written;
  }
  const seconds = (performance.now() - started) / 1000;
  if (written !== documents.length) throw new Error(`api wrote ${written} of ${documents.length} documents`);
  return pathResult(documents.length, seconds, phases, await phaseSums(server, vendor));
}

/** The documents as files in a fresh directory, ingested by runConnector with the server's context. */
async function viaConnector(server: RunningServer, home: string, vendor: string, documents: string[]) {
  const dir = join(home, `connector-${vendor}`);
  mkdirSync(dir);
  try {
    documents.forEach((text, n) => {
      writeFileSync(join(dir, `${String(n).padStart(5, '0')}.json`), text);
    });
    const phases = await phaseSums(server, vendor);
    const started = performance.now();
    const summary = await runConnector(server.ctx, aocService(server.ctx), {
      tenant: 'default',
      vendor,
      input: dir,
      kind: 'advisory',
    });
    const seconds = (performance.now() - started) / 1000;
    if (summary.written !== documents.length || summary.rejected.length > 0) {
      throw new Error(
        `connector wrote ${summary.written} of ${documents.length}; rejected ${JSON.stringify(summary.rejected.slice(0, 3))}`,
      );
    }
    return pathResult(documents.length, seconds, phases, await phaseSums(server, vendor));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The rows the connector wrote, read back and written again into a bare copy of advisory_raw (no
 * constraints, indexes, trigger or RLS): by COPY where the backend has it, else by multi-row INSERTs.
 * raw_json is filled from raw, as the generated column is. Values travel as text either way, so both
 * backends parse the same literals; the statements are built before the clock starts.
 */
async function floorWrite(db: Db, vendor: string, expected: number) {
  const sourceColumns: string[] = COLUMNS.filter((c) => c !== 'raw_json');
  const select = sourceColumns.map((c) => `${c}::text`).join(', ');
  const rows = await db.transaction(
    async (tx) =>
      (
        await tx.query<Record<string, string | null>>(
          `select ${select} from advisory_raw where tenant = 'default' and source_vendor = $1 order by id`,
          [vendor],
        )
      ).rows,
    { tenant: 'default' },
  );
  if (rows.length !== expected) throw new Error(`floor: read ${rows.length} rows, expected ${expected}`);
  await db.query('create table aoc_bench_floor as select * from advisory_raw with no data');
  const write = db.capabilities.copyFrom ? floorCopy(rows) : await floorInsert(db, rows, sourceColumns);
  const started = performance.now();
  await db.transaction(write);
  const seconds = (performance.now() - started) / 1000;
  // Proves the text values became objects, not JSON strings, on both backends.
  const count = (
    await db.query<{ n: number }>(
      `select count(*)::int as n from aoc_bench_floor
        where jsonb_typeof(linkset) = 'object' and jsonb_typeof(raw_json) = 'object'`,
    )
  ).rows[0]?.n;
  if (count !== expected) throw new Error(`floor: ${count} well-formed rows of ${expected}`);
  await db.query('drop table aoc_bench_floor');
  return {
    documents: expected,
    method: db.capabilities.copyFrom ? 'COPY' : 'INSERT',
    seconds: Number(seconds.toFixed(3)),
    documentsPerSecond: Math.round(expected / seconds),
  };
}

/** The floor's COPY: every row in COPY text format, raw given twice (raw and raw_json). */
function floorCopy(rows: Array<Record<string, string | null>>): (tx: Tx) => Promise<void> {
  const lines = rows.map((row) => copyTextRow(COLUMNS.map((c) => row[c === 'raw_json' ? 'raw' : c] ?? null)));
  return async (tx) => {
    const copied = await tx.copyFrom!(`copy aoc_bench_floor (${COLUMNS.join(', ')}) from stdin`, lines);
    if (copied !== rows.length) throw new Error(`floor: copied ${copied} of ${rows.length} rows`);
  };
}

/** The floor's multi-row INSERTs, typed by the floor table's own columns. */
async function floorInsert(
  db: Db,
  rows: Array<Record<string, string | null>>,
  sourceColumns: string[],
): Promise<(tx: Tx) => Promise<void>> {
  const types = await db.query<{ name: string; type: string }>(
    `select attname as name, format_type(atttypid, atttypmod) as type from pg_attribute
      where attrelid = 'aoc_bench_floor'::regclass and attnum > 0 and not attisdropped`,
  );
  const typeOf = new Map(types.rows.map((r) => [r.name, r.type]));
  const statements: Array<{ text: string; params: (string | null)[] }> = [];
  for (let i = 0; i < rows.length; i += FLOOR_ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + FLOOR_ROWS_PER_STATEMENT);
    const params: (string | null)[] = [];
    const tuples = chunk.map((row) => {
      const base = params.length;
      for (const c of sourceColumns) params.push(row[c] ?? null);
      const ref = (c: string) => `$${base + sourceColumns.indexOf(c) + 1}::text`;
      return `(${COLUMNS.map((c) => (c === 'raw_json' ? `${ref('raw')}::jsonb` : `${ref(c)}::${typeOf.get(c)}`)).join(', ')})`;
    });
    statements.push({
      text: `insert into aoc_bench_floor (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`,
      params,
    });
  }
  return async (tx) => {
    for (const s of statements) await tx.query(s.text, s.params);
  };
}

/** ingestion_latency_seconds sums per phase for one source, from the server's registry. */
async function phaseSums(server: RunningServer, vendor: string): Promise<Record<string, number>> {
  const metric = server.ctx.metrics.getSingleMetric('ingestion_latency_seconds');
  const sums: Record<string, number> = {};
  if (!metric) return sums;
  // Histogram values carry the series name (_sum, _count, _bucket) next to the labels.
  const values = (await metric.get()).values as Array<{
    metricName?: string;
    labels: Record<string, string | number | undefined>;
    value: number;
  }>;
  for (const v of values) {
    if (v.metricName !== 'ingestion_latency_seconds_sum' || v.labels.source !== vendor) continue;
    const phase = String(v.labels.phase);
    sums[phase] = (sums[phase] ?? 0) + v.value;
  }
  return sums;
}

function pathResult(
  documents: number,
  seconds: number,
  before: Record<string, number>,
  after: Record<string, number>,
): PathResult {
  const phasesSeconds: Record<string, number> = {};
  let inPhases = 0;
  for (const [phase, total] of Object.entries(after)) {
    const spent = total - (before[phase] ?? 0);
    phasesSeconds[phase] = Number(spent.toFixed(3));
    inPhases += spent;
  }
  phasesSeconds.other = Number((seconds - inPhases).toFixed(3));
  return {
    documents,
    seconds: Number(seconds.toFixed(3)),
    documentsPerSecond: Math.round(documents / seconds),
    phasesSeconds,
  };
}
