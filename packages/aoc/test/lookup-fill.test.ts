// SPDX-License-Identifier: Apache-2.0
// The alias and package lookups (migrations 0003, 0004) are filled by statement triggers over a
// transition table (migration 0005). Whichever way a batch reaches a store — connector (COPY-staged on
// PostgreSQL), API batch, mirror import, the INSERT over unnest() that PGlite uses, or a hand-written
// multi-row INSERT — the lookups hold one row per distinct alias and package of each stored row,
// which is what the row triggers wrote, under the tenant policy of the role that inserted.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Ctx, Queryable } from '@stella/platform';
import { advisoryFixtures, migrateRooms, roomCtx, scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { recordId } from '../src/ingest/envelope.ts';
import type { PreparedDocument } from '../src/ingest/prepare.ts';
import { importRawRecords } from '../src/ingest/replicate.ts';
import { aocModule } from '../src/module.ts';
import { type AocService, createAocService } from '../src/service.ts';
import { runConnector } from '../src/sources/runner.ts';
import { insertRows } from '../src/sql/raw.ts';

const tenant = 'default';
const otherTenant = 'other';
// Smaller than the batch, so the connector writes more than one statement.
const BATCH = 5;
const DOCUMENTS = 12;

/** The Go fixtures as files with distinct ids (several aliases each, one or more packages). */
function writeFixtures(dir: string): string[] {
  const fixtures = `${advisoryFixtures()}/osv-go/current`;
  const files = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .sort();
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: DOCUMENTS }, (_, n) => {
    const doc = JSON.parse(readFileSync(join(fixtures, files[n % files.length]!), 'utf8')) as Record<string, unknown>;
    const id = `GO-LOOKUP-${String(n).padStart(2, '0')}`;
    writeFileSync(join(dir, `${id}.json`), JSON.stringify({ ...doc, id }, null, 2));
    return id;
  });
}

describe(`alias and package lookups on ${testBackend()}: one fill per statement, the same rows on every path`, () => {
  let t: TestDb;
  let ctx: Ctx;
  let service: AocService;
  let dir: string;

  before(async () => {
    t = await testDb();
    await migrateRooms(t.db, [aocModule]);
    const home = scratchDir('stella-aoc-lookup-');
    ctx = roomCtx(t.db, {
      rooms: [aocModule],
      now: '2026-12-05T00:00:00.000Z',
      env: { STELLA_HOME: home, STELLA_AOC_BATCH_SIZE: String(BATCH) },
    });
    service = createAocService(ctx);
    dir = join(home, 'docs');
    writeFixtures(dir);
  });
  after(() => t.close());

  const inTenant = <T>(fn: (tx: Queryable) => Promise<T>, as = tenant) => t.db.transaction(fn, { tenant: as });

  /** The documents guarded for a vendor, in file order, as a writer's input. */
  const prepared = async (vendor: string, as = tenant) => {
    const docs: PreparedDocument[] = [];
    for (const file of readdirSync(dir).sort()) {
      const p = await service.prepare(
        as,
        { bytes: readFileSync(join(dir, file)), proposal: { source: { vendor } }, kind: 'advisory', location: file },
        { connector: 'test', version: '1' },
      );
      assert.ok(p.ok, file);
      docs.push(p.doc);
    }
    return docs;
  };
  /** A vendor's revision-1 rows as the writer would make them. */
  const rawRows = (docs: readonly PreparedDocument[], as = tenant) =>
    docs.map((d) => ({
      envelope: {
        ...d.envelope,
        id: recordId('advisory_raw', d.envelope.source.vendor, d.envelope.upstream.upstream_id, 1),
        tenant: as,
        supersedes: null,
      },
      revision: 1,
      raw: d.raw,
      packages: d.packages,
    }));

  /**
   * A vendor's lookup rows as `upstream_id alias|package` lines, next to the same lines derived from
   * the stored rows (distinct aliases of the linkset, distinct packages), both sorted.
   */
  const lookups = (vendor: string, as = tenant) =>
    inTenant(async (tx) => {
      const lines = async (sql: string) =>
        (await tx.query<{ line: string }>(sql, [vendor])).rows.map((r) => r.line).sort();
      return {
        alias: await lines(
          `select r.upstream_id || ' ' || k.alias as line from advisory_raw_alias k
             join advisory_raw r on r.tenant = k.tenant and r.id = k.id where r.source_vendor = $1`,
        ),
        expectedAlias: await lines(
          `select distinct r.upstream_id || ' ' || a as line
             from advisory_raw r cross join lateral jsonb_array_elements_text(r.linkset -> 'aliases') a
            where r.source_vendor = $1`,
        ),
        package: await lines(
          `select r.upstream_id || ' ' || k.package as line from advisory_raw_package k
             join advisory_raw r on r.tenant = k.tenant and r.id = k.id where r.source_vendor = $1`,
        ),
        expectedPackage: await lines(
          `select distinct r.upstream_id || ' ' || p as line from advisory_raw r cross join lateral unnest(r.packages) p
            where r.source_vendor = $1`,
        ),
      };
    }, as);

  test('the fill triggers are statement triggers reading a transition table', async () => {
    const { rows } = await t.db.query<{ name: string; per_row: boolean; new_table: string | null }>(
      `select tgname as name, (tgtype & 1) = 1 as per_row, tgnewtable as new_table from pg_trigger
        where tgname like '%\\_fill' order by tgname`,
    );
    assert.deepEqual(
      rows,
      ['advisory_raw_alias_fill', 'advisory_raw_package_fill', 'vex_raw_alias_fill', 'vex_raw_package_fill'].map(
        (name) => ({ name, per_row: false, new_table: 'new_rows' }),
      ),
    );
  });

  test('connector, API batch, mirror import, INSERT over unnest() and a hand-written INSERT give the same lookup rows', async () => {
    // The connector: COPY-staged batches on PostgreSQL, INSERT over unnest() on PGlite.
    const summary = await runConnector(ctx, service, { tenant, vendor: 'via-connector', input: dir, kind: 'advisory' });
    assert.equal(summary.written, DOCUMENTS);
    // The API's batch door, written in batches of aoc.batchSize.
    const api = await service.ingest(
      tenant,
      readdirSync(dir)
        .sort()
        .map((file) => ({
          bytes: readFileSync(join(dir, file)),
          proposal: { source: { vendor: 'via-api' } },
          kind: 'advisory' as const,
          location: file,
        })),
      { initiator: 'api', connector: 'api', version: '1', atomic: false },
    );
    assert.equal(api.results.filter((r) => r.result === 'ok').length, DOCUMENTS);
    // A mirror import, in two calls of one transaction as a bundle's batches are (on PostgreSQL the
    // second stages again after the first has moved its rows).
    const replicas = rawRows(await prepared('via-mirror')).map((r) => ({ envelope: r.envelope, raw: r.raw }));
    const mirrored = await inTenant(async (tx) => {
      const first = await importRawRecords(tx, tenant, 'advisory_raw', replicas.slice(0, BATCH));
      const second = await importRawRecords(tx, tenant, 'advisory_raw', replicas.slice(BATCH));
      return { inserted: first.inserted + second.inserted };
    });
    assert.equal(mirrored.inserted, DOCUMENTS);
    // The INSERT over unnest() (PGlite's path), here on either backend: a Queryable cannot COPY.
    const unnestRows = rawRows(await prepared('via-unnest'));
    await inTenant((tx) => insertRows({ query: (text, params) => tx.query(text, params) }, 'advisory_raw', unnestRows));
    // By hand, one statement for all rows, each linkset naming its aliases and packages twice.
    await inTenant((tx) =>
      tx.query(
        `insert into advisory_raw (tenant, id, revision, source_vendor, source_connector, source_version,
             source_stream, upstream_id, document_version, retrieved_at, content_hash, signature, content_format,
             spec_version, raw, schema_validation, identifiers, linkset, packages, supersedes)
         select tenant, 'advisory_raw:by-hand:' || upstream_id || ':1', revision, 'by-hand', source_connector,
                source_version, source_stream, upstream_id, document_version, retrieved_at, content_hash, signature,
                content_format, spec_version, raw, schema_validation, identifiers,
                jsonb_set(linkset, '{aliases}', (linkset -> 'aliases') || (linkset -> 'aliases')),
                packages || packages, null
           from advisory_raw where source_vendor = 'via-connector'`,
      ),
    );

    const connector = await lookups('via-connector');
    assert.ok(connector.alias.length > DOCUMENTS, 'every document has at least one alias, most several');
    assert.ok(connector.package.length >= DOCUMENTS);
    assert.deepEqual(connector.alias, connector.expectedAlias);
    assert.deepEqual(connector.package, connector.expectedPackage);
    for (const vendor of ['via-api', 'via-mirror', 'via-unnest', 'by-hand']) {
      assert.deepEqual(await lookups(vendor), connector, vendor);
    }
  });

  test('the lookup rows are written under the inserting tenant and only that tenant sees them', async () => {
    const records = rawRows(await prepared('via-connector', otherTenant), otherTenant);
    await inTenant(
      (tx) =>
        importRawRecords(
          tx,
          otherTenant,
          'advisory_raw',
          records.map((r) => ({ envelope: r.envelope, raw: r.raw })),
        ),
      otherTenant,
    );
    const other = await lookups('via-connector', otherTenant);
    assert.deepEqual(other, await lookups('via-connector'));
    const count = (as: string) =>
      inTenant(
        async (tx) =>
          (
            await tx.query<{ n: number }>(
              `select count(*)::int as n from advisory_raw_alias where tenant = $1 and id like 'advisory_raw:via-connector:%'`,
              [otherTenant],
            )
          ).rows[0]!.n,
        as,
      );
    assert.equal(await count(otherTenant), other.alias.length);
    assert.equal(await count(tenant), 0, "the policy hides the other tenant's lookup rows");
  });
});
