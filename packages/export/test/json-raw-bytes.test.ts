// The bytes json:raw writes for a fixed input, pinned: the upstream fixtures ingested at a fixed time
// give these JSONL and materials files, digest for digest, on both backends and at any page size.
// The digests were taken from the writer that serialised every record through canonicalJson; a faster
// path (lines cached, streamed from the database, built off the main thread) must keep them, because
// a bundle digest is the proof of a replay and a mirror site compares them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { aocModule, aocService, runConnector } from '@stella/aoc';
import { advisoryFixtures, migrateRooms, roomCtx, scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import type { SerialiseContext } from '../src/adapters/adapter.ts';
import { jsonRawAdapter } from '../src/adapters/json-raw.ts';
import type { ExportProfile } from '../src/profiles/schema.ts';

const TENANT = 'default';

/**
 * path → [sha256 digest, records], as the writer before the byte-stream change wrote them (commit
 * b07d2dd). A change of the AOC envelope itself (what a linkset holds, say) moves them on purpose;
 * nothing in the export path may.
 */
const PINNED: Record<string, [string, number]> = {
  'data/raw/advisories.jsonl': ['sha256:2008527951d6ba34e9d05666965defd700bd25f07be9b5500374ceaebd583e8a', 190],
  'data/raw/vex.jsonl': ['sha256:9cc6332aaec4df0b221e8c07bc91493c033220a3f30ce01ffcae4122880c667f', 10],
  'provenance/materials.jsonl': ['sha256:786757205dcf2768d1506c867fde655f375a46dd97964aeed37d562c0ad3fe93', 200],
};

describe(`json:raw bytes on ${testBackend()}`, () => {
  let t: TestDb;
  type Ctx = Parameters<typeof aocService>[0];
  let ctx: Ctx;

  before(async () => {
    t = await testDb();
    await migrateRooms(t.db, [aocModule]);
    ctx = roomCtx(t.db, { rooms: [aocModule], now: '2026-12-05T00:00:00.000Z' });
    const fixtures = advisoryFixtures();
    for (const [vendor, dir, kind] of [
      ['osv', 'osv-go/current', 'advisory'],
      ['ghsa', 'ghsa', 'advisory'],
      ['openvex', 'openvex', 'vex'],
    ] as const) {
      const summary = await runConnector(ctx, aocService(ctx), {
        tenant: TENANT,
        vendor,
        input: join(fixtures, dir),
        kind,
      });
      assert.ok(summary.written > 0, `${dir}: ${JSON.stringify(summary)}`);
    }
  });
  after(() => t.close());

  async function serialise(pageSize: number) {
    const profile = {
      apiVersion: 'stella.export/v1',
      kind: 'ExportProfile',
      metadata: { name: 'raw' },
      spec: { kind: 'json', variant: 'raw', include: ['advisories', 'vex'] },
    } as unknown as ExportProfile;
    const context: SerialiseContext = {
      db: t.db,
      tenant: TENANT,
      profile,
      selectors: { tenant: TENANT },
      policySnapshotId: null,
      baseExportId: null,
      fixedTime: undefined,
      config: {} as SerialiseContext['config'],
      platformSigner: () => Promise.reject(new Error('json:raw signs nothing itself')),
      loadBase: () => Promise.reject(new Error('json:raw has no base')),
      stagingDir: scratchDir('stella-json-raw-stage-'),
      pageSize,
      progress: async () => {},
    };
    const selection = await jsonRawAdapter.select(context);
    const output = await jsonRawAdapter.serialise(context, selection);
    return Object.fromEntries(output.files.map((f) => [f.path, [f.digest, f.records]]));
  }

  test('the fixtures give the pinned files, whatever the page size', async () => {
    const files = await serialise(500);
    assert.deepEqual(files, PINNED);
    assert.deepEqual(await serialise(7), files, 'page boundaries change nothing');
  });
});
