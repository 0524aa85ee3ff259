// SPDX-License-Identifier: Apache-2.0
// The connector's write path on a real database (issue 17): on PostgreSQL batches go in by COPY into a
// staging table and one INSERT … SELECT under the store's constraints, two batches in flight on two
// connections; on PGlite by one INSERT, one batch at a time. Either way: rows byte-identical, cursors
// committed with their batch and in order, idempotent re-runs, the same ERR_AOC codes for refusals,
// and a crash between COPY and INSERT leaves nothing behind.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StellaError } from '@stella/core';
import { type Ctx, type Db, openPostgres, type Tx } from '@stella/platform';
import {
  advisoryFixtures,
  migrateRooms,
  roomCtx,
  scratchDir,
  type TestDb,
  testBackend,
  testDb,
  waitFor,
} from '@stella/testkit';
import type { PreparedDocument } from '../src/ingest/prepare.ts';
import { writeDocuments } from '../src/ingest/store.ts';
import { createAocMetrics } from '../src/metrics.ts';
import { aocModule } from '../src/module.ts';
import { createAocService } from '../src/service.ts';
import { runConnector } from '../src/sources/runner.ts';
import { loadCursor } from '../src/sql/connector-state.ts';
import { insertStaged, stageRows } from '../src/sql/raw.ts';

const tenant = 'default';
const BATCH = 4;
const backend = testBackend();
const concurrent = backend === 'postgres';

/** What the test sees of the write transactions, and a hook before each one's rows go in. */
interface WriteSpy {
  copies: number;
  /** Write transactions that reached their rows, in the order they did. */
  writes: number;
  open: number;
  maxOpen: number;
  /** `rows` is the write's rows as sent (COPY text or INSERT parameters), to tell the batches apart. */
  beforeRows?: ((write: number, rows: string) => Promise<void>) | undefined;
}

/** The Db with every transaction watched: copyFrom counted, and the row write of each announced. */
function watched(db: Db, spy: WriteSpy): Db {
  const rowsGoIn = async (rows: string) => {
    const write = ++spy.writes;
    await spy.beforeRows?.(write, rows);
  };
  const wrap = (tx: Tx): Tx => ({
    async query(text, params) {
      if (/^\s*insert into (advisory|vex)_raw /.test(text)) await rowsGoIn(JSON.stringify(params ?? []));
      return tx.query(text, params);
    },
    exec: (sql) => tx.exec(sql),
    ...(tx.copyFrom
      ? {
          async copyFrom(sql: string, chunks: Iterable<string> | AsyncIterable<string>) {
            spy.copies++;
            if (sql.startsWith('copy aoc_staging_') && Array.isArray(chunks)) await rowsGoIn(chunks.join(''));
            return tx.copyFrom!(sql, chunks);
          },
        }
      : {}),
  });
  return {
    ...db,
    query: (text, params) => db.query(text, params),
    transaction: (fn, options) =>
      db.transaction(async (tx) => {
        spy.open++;
        spy.maxOpen = Math.max(spy.maxOpen, spy.open);
        try {
          return await fn(wrap(tx));
        } finally {
          spy.open--;
        }
      }, options),
  };
}

/** OSV documents from the Go fixtures with new ids; raw text with tabs, CRLF and escapes in strings. */
function writeDocumentsDir(dir: string, count: number, prefix: string): string[] {
  const fixtures = `${advisoryFixtures()}/osv-go/current`;
  const templates = readdirSync(fixtures)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .slice(0, 8)
    .map((f) => JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as Record<string, unknown>);
  mkdirSync(dir, { recursive: true });
  const ids: string[] = [];
  for (let n = 0; n < count; n++) {
    const id = `${prefix}-${String(n).padStart(4, '0')}`;
    const doc = {
      ...templates[n % templates.length],
      id,
      details: `tab\there, newline\nthere, CR\r, backslash \\ and \\N and \\. — n=${n}`,
    };
    // Literal tabs and CRLF as JSON whitespace: COPY must carry them as escapes and give them back.
    const text = JSON.stringify(doc, null, '\t').replaceAll('\n', '\r\n');
    writeFileSync(join(dir, `${id}.json`), text);
    ids.push(id);
  }
  return ids;
}

describe(`connector writes on ${backend} (${concurrent ? 'COPY, two batches in flight' : 'INSERT, one batch'})`, () => {
  let t: TestDb;
  let home: string;
  let spy: WriteSpy;
  let ctx: Ctx;

  const service = () => createAocService(ctx);
  const count = async (sql: string) =>
    (await t.db.transaction((tx) => tx.query<{ n: number }>(`select count(*)::int as n from ${sql}`), { tenant }))
      .rows[0]!.n;
  const run = (vendor: string, input: string) =>
    runConnector(ctx, service(), { tenant, vendor, input, kind: 'advisory' });
  /** The documents of each aoc.raw.ingested event of a vendor, in timeline order. */
  const ingestedBatches = async (vendor: string) =>
    (
      await t.db.transaction(
        (tx) =>
          tx.query<{ ids: string[] }>(
            `select array(select d ->> 'id' from jsonb_array_elements(details -> 'documents') d) as ids
               from timeline_events
              where kind = 'aoc.raw.ingested' and details ->> 'initiator' = $1 order by seq`,
            [`connector:${vendor}`],
          ),
        { tenant },
      )
    ).rows.map((r) => r.ids.map((id) => id.split(':')[2]!));

  before(async () => {
    t = await testDb();
    await migrateRooms(t.db, [aocModule]);
    home = scratchDir('stella-aoc-copy-');
    spy = { copies: 0, writes: 0, open: 0, maxOpen: 0 };
    ctx = roomCtx(watched(t.db, spy), {
      rooms: [aocModule],
      now: '2026-12-05T00:00:00.000Z',
      env: { STELLA_HOME: home, STELLA_AOC_BATCH_SIZE: String(BATCH) },
    });
  });
  after(() => t.close());

  /** The directory's documents, guarded (all must pass): the writer's input without a connector. */
  const prepareDir = async (dir: string, vendor: string) => {
    const svc = service();
    const prepared: PreparedDocument[] = [];
    for (const file of readdirSync(dir).sort()) {
      const bytes = readFileSync(join(dir, file));
      const p = await svc.prepare(
        tenant,
        { bytes, proposal: { source: { vendor } }, kind: 'advisory', location: file },
        {
          connector: 'test',
          version: '1',
        },
      );
      assert.ok(p.ok);
      prepared.push(p.doc);
    }
    return prepared;
  };
  const writeDeps = (db: Db) => ({ db, timeline: ctx.timeline, metrics: createAocMetrics(ctx.metrics, false) });

  const reset = () => {
    Object.assign(spy, { copies: 0, writes: 0, open: 0, maxOpen: 0, beforeRows: undefined });
  };

  test('every document lands once and byte for byte; batches commit in order with their cursor; a re-run adds nothing', async () => {
    reset();
    const dir = join(home, 'ordered');
    const ids = writeDocumentsDir(dir, 5 * BATCH + 2, 'GO-COPY');
    if (concurrent) {
      // Batch 1 holds its rows until batch 2's rows go in too: a writer with one batch in flight never
      // gets there and the wait fails at its deadline.
      spy.beforeRows = async (write) => {
        if (write === 1) await waitFor('a second batch writing while the first is open', () => spy.writes >= 2);
      };
    }
    const summary = await run('copy-order', dir);
    assert.equal(summary.written, ids.length);
    assert.deepEqual(summary.rejected, []);
    assert.equal(summary.cursor, `${ids.at(-1)}.json`);
    if (concurrent) {
      assert.ok(spy.copies >= 6, `every batch by COPY (${spy.copies})`);
      assert.equal(spy.maxOpen, 2, 'two write transactions open at once, never more');
    } else {
      assert.equal(spy.copies, 0, 'PGlite has no COPY');
      assert.equal(spy.maxOpen, 1);
    }
    // The witnesses, in timeline order, are the batches in input order: batch n+1 committed after batch n.
    const batches = await ingestedBatches('copy-order');
    assert.deepEqual(batches.flat(), ids);
    assert.deepEqual(
      batches.map((b) => b.length),
      [BATCH, BATCH, BATCH, BATCH, BATCH, 2],
    );
    const stored = await t.db.transaction(
      (tx) =>
        tx.query<{ upstream_id: string; raw: string; content_hash: string; packages: string[] }>(
          `select upstream_id, raw, content_hash, packages from advisory_raw where source_vendor = 'copy-order' order by upstream_id`,
        ),
      { tenant },
    );
    assert.equal(stored.rows.length, ids.length);
    for (const row of stored.rows) {
      const bytes = readFileSync(join(dir, `${row.upstream_id}.json`));
      assert.equal(row.raw, bytes.toString('utf8'), `${row.upstream_id} verbatim`);
      assert.equal(row.content_hash, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
      assert.ok(row.packages.length > 0 && row.packages.every((p) => p.startsWith('pkg:golang/')), row.packages.join());
    }
    assert.equal((await count(`advisory_raw_alias where id like 'advisory_raw:copy-order:%'`)) > 0, true);
    const again = await runConnector(ctx, service(), {
      tenant,
      vendor: 'copy-order',
      input: dir,
      kind: 'advisory',
      restart: true,
    });
    assert.equal(again.written, 0);
    assert.equal(again.noop, ids.length);
    assert.equal(await count(`advisory_raw where source_vendor = 'copy-order'`), ids.length);
  });

  test('a refused document is reported and the rest of its batch lands; NUL (as \\u0000) is refused as before', async () => {
    reset();
    const dir = join(home, 'poisoned');
    const ids = writeDocumentsDir(dir, 2 * BATCH, 'GO-POISON');
    writeFileSync(join(dir, 'GO-POISON-0001a.json'), '{"id":"GO-POISON-NUL","modified":"x","details":"a\\u0000b"}');
    writeFileSync(join(dir, 'GO-POISON-0002a.json'), '{"id": "GO-POISON-BROKEN",');
    const summary = await run('copy-poison', dir);
    assert.deepEqual(
      summary.rejected.map((r) => [r.location, r.code]),
      [
        ['GO-POISON-0001a.json', 'ERR_INVALID_TEXT'],
        ['GO-POISON-0002a.json', 'ERR_AOC_MALFORMED_DOCUMENT'],
      ],
    );
    assert.equal(summary.written, ids.length);
    assert.equal(await count(`advisory_raw where source_vendor = 'copy-poison'`), ids.length);
  });

  test('an earlier batch that fails takes the later one down with it: no cursor passes rows that did not commit', async () => {
    reset();
    const dir = join(home, 'faulty');
    const ids = writeDocumentsDir(dir, 3 * BATCH, 'GO-FAULT');
    spy.beforeRows = async (_write, rows) => {
      // Batch 1 by its first document, not by which write came first: with two in flight, batch 2's
      // rows may go in before batch 1's.
      if (!rows.includes(':GO-FAULT-0000:')) return;
      // On PostgreSQL batch 2's rows are in (waiting for batch 1's commit) when batch 1 fails.
      if (concurrent) await waitFor('batch 2 writing', () => spy.writes >= 2);
      throw new Error('injected fault in batch 1');
    };
    await assert.rejects(run('copy-fault', dir), /injected fault in batch 1/);
    assert.equal(await count(`advisory_raw where source_vendor = 'copy-fault'`), 0, 'batch 2 rolled back');
    const state = await t.db.transaction((tx) => loadCursor(tx, { tenant, vendor: 'copy-fault', input: dir }), {
      tenant,
    });
    assert.equal(state?.cursor ?? null, null, 'no cursor saved past the failed batch');
    spy.beforeRows = undefined;
    const resumed = await run('copy-fault', dir);
    assert.equal(resumed.written, ids.length);
    assert.deepEqual((await ingestedBatches('copy-fault')).flat(), ids);
  });

  test('a row the store refuses maps to the same ERR_AOC code on this path, and its batch writes nothing', async () => {
    reset();
    const dir = join(home, 'tampered');
    writeDocumentsDir(dir, 3, 'GO-TAMPER');
    const prepared = await prepareDir(dir, 'copy-tamper');
    const write = (docs: PreparedDocument[]) => writeDocuments(writeDeps(ctx.db), tenant, docs, { initiator: 'test' });
    const tampered = (doc: PreparedDocument, change: (d: PreparedDocument) => void) => {
      const copy = structuredClone(doc);
      change(copy);
      return copy;
    };
    const [a, b, c] = prepared as [PreparedDocument, PreparedDocument, PreparedDocument];
    const cases: Array<[string, PreparedDocument]> = [
      [
        'ERR_AOC_005',
        tampered(b, (d) => {
          d.envelope.upstream.content_hash = `sha256:${'0'.repeat(64)}`;
        }),
      ],
      [
        'ERR_AOC_001',
        tampered(b, (d) => {
          (d.envelope.linkset as unknown as Record<string, unknown>).severity = 'HIGH';
        }),
      ],
    ];
    for (const [code, bad] of cases) {
      await assert.rejects(write([a, bad, c]), (error: StellaError) => {
        assert.equal(error.code, code);
        assert.match(error.message, /refused by the database/);
        return true;
      });
      assert.equal(await count(`advisory_raw where source_vendor = 'copy-tamper'`), 0);
    }
    assert.equal((await write([a, b, c])).filter((r) => r.result === 'ok').length, 3);
  });

  test('a crash between COPY and INSERT leaves nothing visible, and the retry lands once', {
    skip: !concurrent && 'needs copyFrom',
  }, async () => {
    reset();
    const dir = join(home, 'crash');
    writeDocumentsDir(dir, 3, 'GO-CRASH');
    const prepared = await prepareDir(dir, 'copy-crash');
    const rows = prepared.map((d) => ({
      envelope: {
        ...d.envelope,
        id: `advisory_raw:copy-crash:${d.envelope.upstream.upstream_id}:1`,
        tenant,
        supersedes: null,
      },
      revision: 1,
      raw: d.raw,
      packages: d.packages,
    }));
    // The session dies after its COPY (its backend terminated from another connection): the
    // transaction never reaches the INSERT or its commit.
    await assert.rejects(
      t.db.transaction(
        async (tx) => {
          await stageRows(tx as Tx & Required<Pick<Tx, 'copyFrom'>>, 'advisory_raw', rows);
          const staged = await tx.query<{ n: number; pid: number }>(
            'select count(*)::int as n, pg_backend_pid() as pid from aoc_staging_advisory_raw',
          );
          assert.equal(staged.rows[0]!.n, 3);
          await t.db.query('select pg_terminate_backend($1)', [staged.rows[0]!.pid]);
          await insertStaged(tx, 'advisory_raw');
        },
        { tenant },
      ),
    );
    // The staging table lives as long as its session, so the rest runs on one connection: a
    // transaction that stops after its COPY by throwing, one that commits without its INSERT, and
    // then the writes, which would move any row left staged into the store.
    const session = await openPostgres({ url: t.url!, poolSize: 1 });
    try {
      const stage = (tx: Tx) => stageRows(tx as Tx & Required<Pick<Tx, 'copyFrom'>>, 'advisory_raw', rows);
      await assert.rejects(
        session.transaction(
          async (tx) => {
            await stage(tx);
            throw new Error('stopped after COPY');
          },
          { tenant },
        ),
        /stopped after COPY/,
      );
      await session.transaction(stage, { tenant });
      const staged = await session.transaction(
        (tx) => tx.query<{ n: number }>('select count(*)::int as n from aoc_staging_advisory_raw'),
        { tenant },
      );
      assert.equal(staged.rows[0]!.n, 0, 'nothing staged outlives its transaction');
      assert.equal(await count(`advisory_raw where source_vendor = 'copy-crash'`), 0);
      assert.equal(await count(`advisory_raw_alias where id like 'advisory_raw:copy-crash:%'`), 0);
      assert.equal(
        (
          await t.db.query<{ n: number }>(
            `select count(*)::int as n from pg_class where relname like 'aoc_staging_%' and relpersistence <> 't'`,
          )
        ).rows[0]!.n,
        0,
        'staging tables are temporary: no other session sees what is staged',
      );
      const first = await writeDocuments(writeDeps(session), tenant, prepared, { initiator: 'test' });
      assert.deepEqual(
        first.map((r) => r.result),
        ['ok', 'ok', 'ok'],
      );
      const retry = await writeDocuments(writeDeps(session), tenant, prepared, { initiator: 'test' });
      assert.deepEqual(
        retry.map((r) => r.result),
        ['noop', 'noop', 'noop'],
      );
    } finally {
      await session.close();
    }
    assert.equal(await count(`advisory_raw where source_vendor = 'copy-crash'`), 3);
  });
});
