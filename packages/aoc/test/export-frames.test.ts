// SPDX-License-Identifier: Apache-2.0
// Export frames (migration 0006, issue 17): each record's json:raw line is made once, at ingest, as
// the text around its raw document, and the database splices it with to_json(raw). The line it gives
// must be the one the export made before, canonicalJson of the envelope as read back with
// content.raw set, for any document text (escapes, separators, astral characters, a BOM); a frame
// that does not say what the record's columns say is reported by `stella aoc verify`, a record
// without one (stored before 0006) is exported the old way, and on PostgreSQL one export reads one
// snapshot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { canonicalJson, sha256Digest } from '@stella/core';
import type { Queryable } from '@stella/platform';
import { migrateRooms, roomCtx, type TestDb, testBackend, testDb } from '@stella/testkit';
import { aocModule } from '../src/module.ts';
import {
  forEachHeadLinePage,
  type RawExportLine,
  type RawSelectors,
  streamRawForExport,
} from '../src/read/export-feed.ts';
import { type AocService, createAocService } from '../src/service.ts';
import { ENVELOPE_COLUMNS, type EnvelopeRow, envelopeFromRow } from '../src/sql/raw.ts';

const tenant = 'default';
const concurrent = testBackend() === 'postgres';

/** An OSV document whose text needs every kind of JSON string escape, and more. */
function osv(id: string, details: string, prefix = ''): Buffer {
  const doc = {
    schema_version: '1.6.0',
    id,
    modified: '2026-11-30T12:00:00Z',
    aliases: [`CVE-2026-${id.slice(-4)}`],
    summary: 'quote " backslash \\ slash / tab \t',
    details,
    affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [] }],
  };
  // Upstream spacing kept as sent: the raw text is the record, not its parse.
  return Buffer.from(`${prefix}${JSON.stringify(doc, null, 3)}\r\n`, 'utf8');
}

const TRICKY = [
  'controls \u0001\u0007\b\f\u001f end',
  'line\nbreaks\r\nand \u2028 \u2029 separators',
  'astral 😀 𝄞, combining é, rtl \u202e text',
  '<script>alert(1)</script> & \u007f del',
];

describe(`export frames on ${testBackend()}`, () => {
  let t: TestDb;
  let service: AocService;

  before(async () => {
    t = await testDb();
    await migrateRooms(t.db, [aocModule]);
    service = createAocService(roomCtx(t.db, { rooms: [aocModule], now: '2026-12-05T10:11:12.345Z' }));
    const docs = TRICKY.map((details, n) => ({
      bytes: osv(`OSV-FRAME-000${n}`, details, n === 0 ? '\uFEFF' : ''),
      proposal: {
        source: { vendor: 'frames', ...(n === 1 ? { stream: 'nightly' } : {}) },
        // A time with microseconds and an offset: the envelope keeps what a read gives back.
        upstream: n === 2 ? { retrieved_at: '2026-11-30T13:14:15.123456+02:00', document_version: '7' } : {},
      },
      kind: 'advisory' as const,
    }));
    const { results, rejected } = await service.ingest(tenant, docs, {
      initiator: 'test',
      connector: 'test',
      version: '1',
      atomic: true,
    });
    assert.deepEqual(rejected, []);
    assert.equal(results.filter((r) => r.result === 'ok').length, TRICKY.length);
  });
  after(() => t.close());

  const inTenant = <T>(fn: (tx: Queryable) => Promise<T>) => t.db.transaction(fn, { tenant });

  /** The json:raw line as the export made it before frames: the envelope read back, content.raw set. */
  const referenceLines = () =>
    inTenant(async (tx) => {
      // The raw text as bytes: PGlite's result decoder drops a U+FEFF that starts a text value.
      const { rows } = await tx.query<EnvelopeRow & { bytes: Uint8Array }>(
        `select ${ENVELOPE_COLUMNS}, convert_to(raw, 'UTF8') as bytes from advisory_raw order by (id collate "C")`,
      );
      return rows.map((row) => {
        const envelope = envelopeFromRow(row);
        const raw = Buffer.from(row.bytes).toString('utf8');
        return { id: row.id, line: canonicalJson({ ...envelope, content: { ...envelope.content, raw } }) };
      });
    });

  const exported = async (
    pageSize = 2,
    onPage?: (page: RawExportLine[]) => Promise<void>,
    selectors: RawSelectors = {},
  ) => {
    const lines: RawExportLine[] = [];
    await forEachHeadLinePage(t.db, tenant, 'advisory_raw', selectors, pageSize, async (page) => {
      lines.push(...page);
      await onPage?.(page);
    });
    return lines;
  };

  test('the line the database splices is the canonical JSON of the envelope with its raw text', async () => {
    const { rows } = await inTenant((tx) =>
      tx.query<{ framed: number }>('select count(*)::int as framed from advisory_raw where export_head is not null'),
    );
    assert.equal(rows[0]!.framed, TRICKY.length, 'every ingested record has a frame');
    const reference = await referenceLines();
    const lines = await exported();
    assert.deepEqual(
      lines.map((l) => ({ id: l.id, line: l.line.toString('utf8') })),
      reference,
    );
    // The other export read (mirrors) gives the raw text exactly as stored, a leading BOM too.
    for await (const page of streamRawForExport(t.db, tenant, 'advisory_raw', {}, 3)) {
      for (const record of page) assert.equal(sha256Digest(record.raw), record.envelope.upstream.content_hash);
    }
    const third = lines.find((l) => l.id.includes('0002'))!;
    assert.equal(third.retrievedAt, '2026-11-30T11:14:15.123Z');
    assert.match(third.line.toString('utf8'), /"retrieved_at":"2026-11-30T11:14:15\.123Z"/);
  });

  test('a frame that does not say what the columns say is reported by verify; a record without one is exported the old way', async () => {
    const copy = (vendor: string, head: string, tail: string) =>
      inTenant((tx) =>
        tx.query(
          `insert into advisory_raw (tenant, id, revision, source_vendor, source_connector, source_version,
               source_stream, upstream_id, document_version, retrieved_at, content_hash, signature, content_format,
               spec_version, raw, schema_validation, identifiers, linkset, packages, supersedes, ingested_at,
               export_head, export_tail)
           select tenant, 'advisory_raw:${vendor}:' || upstream_id || ':1', revision, '${vendor}', source_connector,
                  source_version, source_stream, upstream_id, document_version, retrieved_at, content_hash, signature,
                  content_format, spec_version, raw, schema_validation, identifiers, linkset, packages, null,
                  ingested_at, ${head}, ${tail}
             from advisory_raw where source_vendor = 'frames' and upstream_id = 'OSV-FRAME-0000'`,
        ),
      );
    // Stored before frames existed: no frame.
    await copy('by-hand', 'null', 'null');
    // The frame of the record it was copied from, which names another vendor and id.
    await copy('by-hand-copied', 'export_head', 'export_tail');
    // Framed for its own vendor and id, with a severity smuggled into the linkset's text.
    await copy(
      'by-hand-smuggled',
      'export_head',
      `replace(replace(export_tail, '"frames"', '"by-hand-smuggled"'), '"linkset":{', '"linkset":{"severity":"critical",')`,
    );
    await copy('by-hand-half', 'export_head', 'null');
    await copy('by-hand-broken', 'export_head', `'}'`);
    const report = await service.verify(
      tenant,
      { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' },
      { initiator: 'cli', includeVex: false },
    );
    const frames = report.violations.filter((v) => v.path === '/export_frame');
    assert.deepEqual(
      frames.map((v) => [v.code, v.source]).sort(),
      ['by-hand-broken', 'by-hand-copied', 'by-hand-half', 'by-hand-smuggled'].map((s) => ['ERR_AOC_005', s]),
    );
    const tampered = new Set(frames.map((v) => v.id));
    const reference = (await referenceLines()).filter((l) => !tampered.has(l.id));
    const lines = (await exported()).filter((l) => !tampered.has(l.id));
    assert.equal(lines.length, TRICKY.length + 1);
    assert.deepEqual(
      lines.map((l) => ({ id: l.id, line: l.line.toString('utf8') })),
      reference,
    );
  });

  test(
    concurrent
      ? 'one export reads one snapshot: a document ingested while it reads is not in it'
      : 'PGlite reads page by page: a document ingested between pages after the cursor is in the export',
    async () => {
      const before = (await exported()).map((l) => l.id);
      let ingested = false;
      const lines = await exported(1, async () => {
        if (ingested) return;
        ingested = true;
        const { results } = await service.ingest(
          tenant,
          [{ bytes: osv('OSV-FRAME-9999', 'late'), proposal: { source: { vendor: 'zz-late' } }, kind: 'advisory' }],
          { initiator: 'test', connector: 'test', version: '1', atomic: true },
        );
        assert.equal(results[0]!.result, 'ok');
      });
      const late = 'advisory_raw:zz-late:OSV-FRAME-9999:1';
      assert.deepEqual(
        lines.map((l) => l.id),
        concurrent ? before : [...before, late],
      );
      assert.ok(
        (await exported()).some((l) => l.id === late),
        'the next export has it',
      );
    },
  );

  test('selectors reach the query as values, whatever they hold', async () => {
    const ids = async (selectors: RawSelectors) => (await exported(3, undefined, selectors)).map((l) => l.id);
    const all = await ids({});
    assert.deepEqual(
      await ids({ sources: ['frames'] }),
      all.filter((id) => id.includes(':frames:')),
    );
    assert.deepEqual(await ids({ sources: ["frames' or 'x'='x", 'a"b\\c', '{,}'] }), []);
    assert.deepEqual(await ids({ since: '2999-01-01T00:00:00Z' }), []);
    assert.deepEqual(await ids({ since: '2026-12-05T00:00:00Z', purls: ['pkg:npm/left-pad'] }), all);
    assert.deepEqual(await ids({ ecosystems: ['pypi'] }), []);
  });

  test('an export that stops mid-read leaves the database as it was: the read ends, the next one works', async () => {
    const all = await exported();
    let pages = 0;
    await assert.rejects(
      exported(1, async () => {
        pages++;
        throw new Error('disk full');
      }),
      /disk full/,
    );
    assert.equal(pages, 1);
    // Every pooled connection still answers (none left in COPY mode or in a failed transaction).
    for (let i = 0; i < 4; i++)
      assert.deepEqual(
        (await exported()).map((l) => l.id),
        all.map((l) => l.id),
      );
  });
});
