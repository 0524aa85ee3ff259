// SPDX-License-Identifier: Apache-2.0
// SBOM storage on a real database (PGlite or PostgreSQL, as the non-superuser app role), a real
// filesystem CAS and the real timeline: npm's own SBOMs of examples/node-app stored and read back,
// idempotent re-ingest, subjects, tenant isolation (RLS), append-only tables, and all-or-nothing writes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_JSON_LIMITS, fixedClock } from '@stella/core';
import {
  createFsBlobStore,
  createTimeline,
  migrate,
  platformModule,
  type Timeline,
  tenantBlobs,
} from '@stella/platform';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { findingsMigrations } from '../src/module.ts';
import type { ParsedSbom, SbomComponent } from '../src/sbom/model.ts';
import { createFindingsService, type FindingsService, writeSbom } from '../src/service.ts';
import { ROWS_PER_INSERT } from '../src/sql/sboms.ts';
import { NODE_APP_EDGE_COUNT, NODE_APP_PURLS, nodeAppSbom } from './node-app.ts';

const CDX = nodeAppSbom('sbom.cdx.json');
const SPDX = nodeAppSbom('sbom.spdx.json');
const provenance = { clientId: 'test-client', filename: 'sbom.cdx.json' };
const tenant = 'default';
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

function cyclonedx(root: object | undefined, components: object[] = []): Buffer {
  return Buffer.from(
    JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      version: 1,
      ...(root ? { metadata: { component: root } } : {}),
      components,
    }),
  );
}

describe(`SBOM storage on ${testBackend()}`, () => {
  let t: TestDb;
  let timeline: Timeline;
  let service: FindingsService;
  const count = async (sql: string, forTenant = tenant) =>
    Number(
      (
        await t.db.transaction((tx) => tx.query<{ n: number }>(`select count(*)::int as n from ${sql}`), {
          tenant: forTenant,
        })
      ).rows[0]!.n,
    );

  before(async () => {
    t = await testDb();
    await migrate(t.db, [
      { module: 'platform', migrations: platformModule.migrations! },
      { module: 'findings', migrations: findingsMigrations.migrations, dependsOn: ['platform'] },
    ]);
    const home = scratchDir('stella-findings-');
    timeline = createTimeline(t.db, fixedClock('2026-01-02T03:04:05.000Z'));
    const clock = fixedClock('2026-01-02T03:04:05.000Z');
    service = createFindingsService({
      db: t.db,
      blobs: tenantBlobs(createFsBlobStore({ root: `${home}/cas` })),
      timeline,
      clock: {
        now: () => {
          clock.advance(1000);
          return clock.now();
        },
      },
      jsonLimits: DEFAULT_JSON_LIMITS,
      maxSbomBytes: 1024 * 1024,
    });
  });
  after(() => t.close());

  test("npm's CycloneDX SBOM: 62 components and the root, edges, subject from the root, raw bytes kept", async () => {
    const result = await service.ingestSbom(tenant, CDX, { subject: {}, provenance });
    assert.equal(result.id, `sbom:sha256:${sha256(CDX)}`);
    assert.equal(result.contentHash, `sha256:${sha256(CDX)}`);
    assert.equal(result.duplicate, false);
    assert.equal(result.subjectKey, 'stella-example-node-app|1.0.0');
    assert.equal(result.format, 'cyclonedx');
    assert.equal(result.specVersion, '1.5');
    assert.equal(result.components, 62);
    assert.equal(result.edges, NODE_APP_EDGE_COUNT);
    assert.deepEqual(result.root, {
      name: 'node-app',
      version: '1.0.0',
      purl: 'pkg:npm/stella-example-node-app@1.0.0',
    });
    assert.deepEqual(result.provenance, provenance);
    assert.equal(result.size, CDX.length);
    const components = await service.sbomComponents(tenant, result.id, { limit: 100 });
    assert.equal(components.items.length, 63);
    assert.equal(components.items[0]!.root, true);
    assert.deepEqual(
      components.items
        .slice(1)
        .map((c) => c.purl)
        .sort(),
      NODE_APP_PURLS,
    );
    assert.ok(components.items.every((c) => c.ecosystem === 'npm' && c.identifiedBy === 'purl'));
    assert.equal(await count(`sbom_edge where sbom_id = '${result.id}'`), NODE_APP_EDGE_COUNT);
    const raw = await service.rawSbom(tenant, result.id);
    assert.ok(raw.bytes.equals(CDX));
    assert.equal(raw.contentHash, result.contentHash);
    const events = await timeline.list(tenant, { kind: 'sbom.ingested', limit: 10 });
    assert.equal(events.length, 1);
    assert.equal(events[0]!.details.id, result.id);
  });

  test('the same bytes again are the same SBOM: duplicate, nothing written', async () => {
    const before = [await count('sbom_document'), await count('sbom_component'), await count('sbom_edge')];
    const events = (await timeline.list(tenant, { limit: 100 })).length;
    const again = await service.ingestSbom(tenant, CDX, { subject: { imageDigest: 'sha256:ignored' }, provenance });
    assert.equal(again.duplicate, true);
    assert.equal(again.subjectKey, 'stella-example-node-app|1.0.0');
    assert.deepEqual([await count('sbom_document'), await count('sbom_component'), await count('sbom_edge')], before);
    assert.equal((await timeline.list(tenant, { limit: 100 })).length, events);
  });

  test("npm's SPDX SBOM reads as the same tree under the same subject", async () => {
    const result = await service.ingestSbom(tenant, SPDX, { subject: {}, provenance });
    assert.equal(result.format, 'spdx');
    assert.equal(result.subjectKey, 'stella-example-node-app|1.0.0');
    assert.equal(result.components, 62);
    assert.equal(result.edges, NODE_APP_EDGE_COUNT);
    const listed = await service.listSboms(tenant, { subject: 'stella-example-node-app|1.0.0' });
    assert.deepEqual(
      listed.items.map((r) => r.format),
      ['spdx', 'cyclonedx'],
      'newest first',
    );
  });

  test('components and SBOMs page with cursors; a bad cursor is a coded 400', async () => {
    const id = `sbom:sha256:${sha256(CDX)}`;
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.sbomComponents(tenant, id, { limit: 4, cursor });
      assert.ok(page.items.length <= 4);
      seen.push(...page.items.map((c) => c.ord));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    assert.deepEqual(
      seen,
      Array.from({ length: 63 }, (_, i) => i),
    );
    const first = await service.listSboms(tenant, { limit: 1 });
    assert.ok(first.nextCursor);
    const second = await service.listSboms(tenant, { limit: 1, cursor: first.nextCursor });
    assert.notEqual(second.items[0]!.id, first.items[0]!.id);
    await assert.rejects(service.sbomComponents(tenant, id, { cursor: 'bm9wZQ' }), { code: 'ERR_INVALID_CURSOR' });
  });

  test('subjects: explicit wins, a container root is keyed by its digest, none is ERR_SBOM_SUBJECT_REQUIRED', async () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const lib = { 'bom-ref': 'a', type: 'library', name: 'a', version: '1', purl: 'pkg:npm/a@1' };
    const explicit = await service.ingestSbom(tenant, cyclonedx(undefined, [lib]), {
      subject: { component: 'My-App', version: '2.0' },
      provenance,
    });
    assert.equal(explicit.subjectKey, 'my-app|2.0');
    const oci = await service.ingestSbom(
      tenant,
      cyclonedx({ 'bom-ref': 'img', type: 'container', name: 'img', purl: `pkg:oci/img@${digest}` }, [lib]),
      { subject: {}, provenance },
    );
    assert.equal(oci.subjectKey, digest);
    const hashed = await service.ingestSbom(
      tenant,
      cyclonedx({
        'bom-ref': 'img',
        type: 'container',
        name: 'img',
        hashes: [{ alg: 'SHA-256', content: 'CD'.repeat(32) }],
      }),
      { subject: {}, provenance },
    );
    assert.equal(hashed.subjectKey, `sha256:${'cd'.repeat(32)}`);
    const before = await count('sbom_document');
    await assert.rejects(
      service.ingestSbom(tenant, cyclonedx(undefined, [lib, { ...lib, 'bom-ref': 'b' }]), { subject: {}, provenance }),
      {
        code: 'ERR_SBOM_SUBJECT_REQUIRED',
      },
    );
    assert.equal(await count('sbom_document'), before);
  });

  test('bad input: malformed JSON, an unsupported format, NUL or a lone surrogate, too many bytes; nothing stored', async () => {
    const before = await count('sbom_document');
    await assert.rejects(service.ingestSbom(tenant, Buffer.from('{"bomFormat":'), { subject: {}, provenance }), {
      code: 'ERR_MALFORMED_BODY',
    });
    await assert.rejects(
      service.ingestSbom(tenant, Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.0"}'), {
        subject: {},
        provenance,
      }),
      { code: 'ERR_SBOM_UNSUPPORTED' },
    );
    // Text the database cannot store is refused by the JSON reader (parseJsonWithLimits), before any write.
    const lib = (name: string) => ({ 'bom-ref': 'x', name, version: '1', purl: 'pkg:npm/x@1' });
    for (const name of ['a\\u0000b', '\\ud800']) {
      const text = `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[${JSON.stringify(lib('n')).replace('"n"', `"${name}"`)}]}`;
      await assert.rejects(service.ingestSbom(tenant, Buffer.from(text), { subject: { scanId: 's' }, provenance }), {
        code: 'ERR_INVALID_TEXT',
      });
    }
    await assert.rejects(service.ingestSbom(tenant, Buffer.from('[1,2]'), { subject: {}, provenance }), {
      code: 'ERR_SBOM_UNSUPPORTED',
    });
    await assert.rejects(service.ingestSbom(tenant, Buffer.alloc(1024 * 1024 + 1, 32), { subject: {}, provenance }), {
      code: 'ERR_BODY_TOO_LARGE',
    });
    assert.equal(await count('sbom_document'), before);
  });

  test('another tenant sees none of it: 404 and empty lists (row level security)', async () => {
    const id = `sbom:sha256:${sha256(CDX)}`;
    await assert.rejects(service.getSbom('globex', id), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(service.sbomComponents('globex', id, {}), { code: 'ERR_NOT_FOUND' });
    await assert.rejects(service.rawSbom('globex', id), { code: 'ERR_NOT_FOUND' });
    assert.equal((await service.listSboms('globex', {})).items.length, 0);
    assert.equal(await count('sbom_component', 'globex'), 0);
    // The same bytes are a separate SBOM of the other tenant.
    const theirs = await service.ingestSbom('globex', CDX, { subject: {}, provenance });
    assert.equal(theirs.duplicate, false);
  });

  test('the database refuses UPDATE and DELETE on every SBOM table, as the app role', async () => {
    const id = `sbom:sha256:${sha256(CDX)}`;
    for (const statement of [
      `update sbom_document set subject_key = 'x' where id = '${id}'`,
      `delete from sbom_document where id = '${id}'`,
      `update sbom_component set name = 'x' where sbom_id = '${id}'`,
      `delete from sbom_component where sbom_id = '${id}'`,
      `update sbom_edge set to_ord = 0 where sbom_id = '${id}'`,
      `delete from sbom_edge where sbom_id = '${id}'`,
    ]) {
      await assert.rejects(
        t.db.transaction((tx) => tx.query(statement), { tenant }),
        /append-only/,
        statement,
      );
    }
    assert.equal(await count(`sbom_component where sbom_id = '${id}'`), 63);
  });

  test('a component refused midway (after whole batches went in) leaves no document, component or edge', async () => {
    const component = (i: number): SbomComponent => ({
      ref: `c${i}`,
      name: `c${i}`,
      version: '1.0.0',
      purl: `pkg:npm/c${i}@1.0.0`,
      ecosystem: 'npm',
      packageName: `c${i}`,
      identifiedBy: 'purl',
    });
    const n = ROWS_PER_INSERT * 2 + 500;
    const components = Array.from({ length: n }, (_, i) => component(i));
    // Past the first two batches, a row the table's CHECK refuses.
    components[ROWS_PER_INSERT * 2 + 100] = { ...component(0), ref: 'bad', identifiedBy: 'guess' as 'purl' };
    const parsed: ParsedSbom = {
      format: 'cyclonedx',
      specVersion: '1.6',
      documentId: undefined,
      root: undefined,
      components,
      edges: [{ from: 'c0', to: 'c1' }],
      issues: [],
    };
    const hash = `sha256:${sha256('half-written')}`;
    const events = (await timeline.list(tenant, { limit: 100 })).length;
    await assert.rejects(
      t.db.transaction(
        (tx) =>
          writeSbom(
            tx,
            { timeline },
            tenant,
            {
              id: `sbom:${hash}`,
              subject_key: 'half|1',
              format: 'cyclonedx',
              spec_version: '1.6',
              document_id: null,
              content_hash: hash,
              raw_uri: 'cas://findings/sbom/none',
              size: 1,
              component_count: n,
              edge_count: 1,
              root: null,
              issues: [],
              provenance,
              ingested_at: '2026-01-02T03:04:05.000Z',
            },
            parsed,
          ),
        { tenant },
      ),
      /identified_by/,
    );
    assert.equal(await count(`sbom_document where id = 'sbom:${hash}'`), 0);
    assert.equal(await count(`sbom_component where sbom_id = 'sbom:${hash}'`), 0);
    assert.equal(await count(`sbom_edge where sbom_id = 'sbom:${hash}'`), 0);
    assert.equal((await timeline.list(tenant, { limit: 100 })).length, events);
  });
});
