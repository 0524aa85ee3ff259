// CAS keys carry the tenant: tenant views that cannot reach across tenants, the resumable move from the
// shared layout, and the collector of unreferenced objects, on a real database (both backends) and a
// real filesystem store. References come from a test table under the same row-level security and
// tenant trigger as the rooms' tables, and from timeline events.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixedClock, sha256Hex } from '@stella/core';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import {
  type BlobReferences,
  type BlobStore,
  createCasMaintenance,
  createFsBlobStore,
  createMetricsRegistry,
  createTimeline,
  formatCasUri,
  migrate,
  parseCasUri,
  platformModule,
  type Queryable,
  tenantBlobs,
} from '../src/index.ts';
import { collect } from './blob-contract.ts';

const silent = { info() {}, warn() {} };
const NOW = new Date('2026-12-06T00:00:00Z');

/** A room's table of references: RLS by tenant and the cas_note_tenant trigger, as rooms declare them. */
async function createRefTable(db: TestDb['db']): Promise<void> {
  await db.transaction((tx) =>
    tx.exec(`
      create table test_refs (tenant text not null, uri text not null);
      alter table test_refs enable row level security;
      alter table test_refs force row level security;
      create policy test_refs_tenant on test_refs
        using (tenant = current_setting('app.tenant', true))
        with check (tenant = current_setting('app.tenant', true));
      create trigger test_refs_cas_tenant after insert on test_refs
        for each statement execute function cas_note_tenant();
    `),
  );
}

const source: BlobReferences = {
  namespaces: ['docs', 'evidence/receipts'],
  async uris(q: Queryable) {
    const { rows } = await q.query<{ uri: string }>('select uri from test_refs');
    return rows.map((r) => r.uri);
  },
};

function reference(db: TestDb['db'], tenant: string, uri: string): Promise<unknown> {
  return db.transaction((tx) => tx.query('insert into test_refs (tenant, uri) values ($1, $2)', [tenant, uri]), {
    tenant,
  });
}

/** Back-dates an object of the filesystem store so the collector's grace period has passed. */
function age(root: string, physicalUri: string, days: number): void {
  const { namespace, hex } = parseCasUri(physicalUri);
  const when = new Date(NOW.getTime() - days * 86_400_000);
  utimesSync(join(root, ...namespace.split('/'), hex.slice(0, 2), hex), when, when);
}

describe('tenant views of the CAS', () => {
  const root = scratchDir('stella-cas-tenants-');
  const cas = tenantBlobs(createFsBlobStore({ root }));
  const acme = cas.forTenant('acme');
  const globex = cas.forTenant('globex');

  test('logical URIs in and out; objects live under tenants/<tenant>/<namespace>', async () => {
    const put = await acme.put('docs', Buffer.from('acme document'));
    assert.equal(put.uri, formatCasUri('docs', sha256Hex('acme document')));
    assert.equal(put.created, true);
    const hex = sha256Hex('acme document');
    assert.ok(existsSync(join(root, 'tenants', 'acme', 'docs', hex.slice(0, 2), hex)));
    assert.ok(!existsSync(join(root, 'docs')), 'nothing in the shared layout');
    assert.equal((await acme.getBytes(put.uri)).toString(), 'acme document');
    assert.equal((await acme.head(put.uri))?.size, 'acme document'.length);
    assert.deepEqual(await collect(acme.list('docs')), [put.uri]);
  });

  test('another tenant cannot read, list, delete or probe the object, even with its URI', async () => {
    const { uri } = await acme.put('docs', Buffer.from('secret of acme'));
    await assert.rejects(globex.getBytes(uri), { code: 'ERR_CAS_NOT_FOUND' });
    await assert.rejects(globex.get(uri), { code: 'ERR_CAS_NOT_FOUND' });
    assert.equal(await globex.head(uri), undefined);
    assert.equal(await globex.delete(uri), false);
    assert.deepEqual(await collect(globex.list('docs')), []);
    // Storing the same bytes tells globex nothing: its own object is created, not found.
    const again = await globex.put('docs', Buffer.from('secret of acme'));
    assert.equal(again.uri, uri);
    assert.equal(again.created, true);
    assert.equal((await acme.getBytes(uri)).toString(), 'secret of acme');
  });

  test('the tenant root is reserved and tenant ids are checked', async () => {
    await assert.rejects(acme.put('tenants/globex/docs', Buffer.from('x')), { code: 'ERR_VALIDATION' });
    await assert.rejects(acme.getBytes(formatCasUri('tenants/globex/docs', sha256Hex('x'))), {
      code: 'ERR_VALIDATION',
    });
    assert.throws(() => cas.forTenant('../acme'), { code: 'ERR_VALIDATION' });
    assert.throws(() => cas.forTenant('Acme'), { code: 'ERR_VALIDATION' });
  });

  test('storing bytes already there refreshes the object, so the collector sees a fresh write', async () => {
    const { uri } = await acme.put('docs', Buffer.from('refreshed'));
    age(root, `cas://tenants/acme/docs/${parseCasUri(uri).hex}`, 10);
    assert.ok((await acme.head(uri))!.modified.getTime() < Date.now() - 9 * 86_400_000);
    assert.equal((await acme.put('docs', Buffer.from('refreshed'))).created, false);
    assert.ok((await acme.head(uri))!.modified.getTime() > Date.now() - 60_000);
  });
});

describe('CAS maintenance', () => {
  let t: TestDb;
  let root: string;
  let store: BlobStore;

  before(async () => {
    t = await testDb();
    await migrate(t.db, [{ module: 'platform', migrations: platformModule.migrations! }]);
    await createRefTable(t.db);
    root = scratchDir('stella-cas-maintenance-');
    store = createFsBlobStore({ root });
  });
  after(() => t.close());

  const maintenance = (over: Partial<Parameters<typeof createCasMaintenance>[0]> = {}) =>
    createCasMaintenance({ db: t.db, store, sources: [source], logger: silent, clock: fixedClock(NOW), ...over });

  test('the tenants that hold references are listed by the trigger, without reading their rows', async () => {
    await reference(t.db, 'acme', formatCasUri('docs', sha256Hex('none yet')));
    await createTimeline(t.db, fixedClock(NOW)).record('initech', {
      category: 'test',
      kind: 'test.noted',
      details: {},
    });
    assert.deepEqual(await maintenance().tenants(), ['acme', 'initech']);
    await t.db.transaction((tx) => tx.query('delete from test_refs'), { tenant: 'acme' });
  });

  test('the layout move copies every reference into its tenant, resumes after a failure, then drops the shared layout', async () => {
    // The shared layout as an earlier version wrote it: one object referenced by two tenants, one by
    // acme only, a receipt only the timeline references, one lost before the move, one unreferenced.
    const shared = await store.put('docs', Buffer.from('shared by acme and globex'));
    const acmeOnly = await store.put('docs', Buffer.from('acme only'));
    const receipt = await store.put('evidence/receipts', Buffer.from('{"receipt":1}'));
    const orphan = await store.put('docs', Buffer.from('referenced by nobody'));
    const lost = formatCasUri('docs', sha256Hex('lost before the move'));
    for (const uri of [shared.uri, acmeOnly.uri, lost]) await reference(t.db, 'acme', uri);
    await reference(t.db, 'globex', shared.uri);
    await createTimeline(t.db, fixedClock(NOW)).record('globex', {
      category: 'evidence',
      kind: 'signals.ingest.receipt',
      details: { receiptUri: receipt.uri },
    });

    // A store that fails the third copy: the move stops there, as if the process had been killed.
    let puts = 0;
    const failing: BlobStore = {
      ...store,
      put: async (namespace, body, options) => {
        if (++puts === 3) throw new Error('killed (injected)');
        return store.put(namespace, body, options);
      },
    };
    await assert.rejects(maintenance({ store: failing }).migrateLayout(), /killed/);
    for (const uri of [shared.uri, acmeOnly.uri, receipt.uri]) assert.ok(await store.head(uri), 'shared layout kept');

    const report = await maintenance().migrateLayout();
    assert.deepEqual(report, { ran: true, copied: 2, missing: 1, removed: 4 });
    const acme = tenantBlobs(store).forTenant('acme');
    const globex = tenantBlobs(store).forTenant('globex');
    assert.equal((await acme.getBytes(shared.uri)).toString(), 'shared by acme and globex');
    assert.equal((await globex.getBytes(shared.uri)).toString(), 'shared by acme and globex');
    assert.equal((await acme.getBytes(acmeOnly.uri)).toString(), 'acme only');
    assert.equal(await globex.head(acmeOnly.uri), undefined, 'only the tenants that reference an object get it');
    assert.equal((await globex.getBytes(receipt.uri)).toString(), '{"receipt":1}');
    for (const uri of [shared.uri, acmeOnly.uri, receipt.uri, orphan.uri]) {
      assert.equal(await store.head(uri), undefined, `shared layout emptied: ${uri}`);
    }
    // Done once: later starts skip it.
    assert.deepEqual(await maintenance().migrateLayout(), { ran: false, copied: 0, missing: 0, removed: 0 });
  });

  test('the collector removes old unreferenced objects of every tenant and keeps referenced and young ones', async () => {
    const metrics = createMetricsRegistry({ defaultMetrics: false });
    const acme = tenantBlobs(store).forTenant('acme');
    const kept = await acme.put('docs', Buffer.from('still referenced'));
    await reference(t.db, 'acme', kept.uri);
    const stale = await acme.put('docs', Buffer.from('dropped a week ago'));
    const young = await acme.put('docs', Buffer.from('written an hour ago, its row not yet committed'));
    const receipt = await tenantBlobs(store).forTenant('globex').put('evidence/receipts', Buffer.from('old receipt'));
    const other = await acme.put('elsewhere', Buffer.from('in a namespace no room declares'));
    for (const uri of [kept.uri, stale.uri, receipt.uri, other.uri]) {
      age(root, `cas://tenants/${uri === receipt.uri ? 'globex' : 'acme'}/${uri.slice('cas://'.length)}`, 7);
    }
    age(root, `cas://tenants/acme/${young.uri.slice('cas://'.length)}`, 1 / 24);

    const report = await maintenance({ metrics }).collect(86_400);
    assert.equal(report.deleted, 2, JSON.stringify(report));
    assert.equal(report.young, 1);
    assert.equal(await acme.head(stale.uri), undefined);
    assert.equal(await tenantBlobs(store).forTenant('globex').head(receipt.uri), undefined);
    assert.ok(await acme.head(kept.uri), 'referenced');
    assert.ok(await acme.head(young.uri), 'younger than the grace period');
    assert.ok(await acme.head(other.uri), 'outside the declared namespaces');
    // The timeline's receipt of the move test is still referenced and kept.
    assert.equal((await collect(tenantBlobs(store).forTenant('globex').list('evidence/receipts'))).length, 1);
    const deleted = (await metrics.getSingleMetric('stella_cas_gc_deleted_total')!.get()).values[0]!.value;
    assert.equal(deleted, 2);
  });
});

describe('CAS layout move killed with SIGKILL', () => {
  const skip = testBackend() === 'pglite' ? 'a second process needs PostgreSQL (PGlite is in-process)' : false;
  let t: TestDb;
  before(async () => {
    if (skip) return;
    t = await testDb();
    await migrate(t.db, [{ module: 'platform', migrations: platformModule.migrations! }]);
    await createRefTable(t.db);
  });
  after(() => t?.close());

  test('a process killed part-way leaves every reference readable, and the next run finishes the move', {
    skip,
  }, async () => {
    const root = scratchDir('stella-cas-kill-');
    const store = createFsBlobStore({ root });
    const uris: string[] = [];
    for (let i = 0; i < 20; i++) {
      const { uri } = await store.put('docs', Buffer.from(`document ${i}`));
      uris.push(uri);
      await reference(t.db, i % 2 ? 'acme' : 'globex', uri);
    }
    const child = spawn(
      process.execPath,
      [new URL('./fixtures/cas-move/move.ts', import.meta.url).pathname, t.url!, root],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('copied 5\n')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', () => reject(new Error(`the mover ended before 5 copies: ${out}`)));
    });
    assert.equal(await exited, 'SIGKILL');
    assert.ok(!out.includes('done'), out);

    const view = (i: number) => tenantBlobs(store).forTenant(i % 2 ? 'acme' : 'globex');
    // Killed mid-way: each reference is readable from the tenant layout or still from the shared one.
    let moved = 0;
    for (const [i, uri] of uris.entries()) {
      if (await view(i).head(uri)) moved++;
      else assert.ok(await store.head(uri), `reference ${i} is in neither layout`);
    }
    // The kill lands during the pause after the fifth copy, or (on a loaded machine) a copy or two later.
    assert.ok(moved >= 5 && moved < 20, `${moved} moved before the kill`);
    const report = await createCasMaintenance({
      db: t.db,
      store,
      sources: [source],
      logger: silent,
      clock: fixedClock(NOW),
    }).migrateLayout();
    assert.equal(report.copied, 20 - moved, JSON.stringify(report));
    assert.equal(report.removed, 20);
    for (const [i, uri] of uris.entries()) {
      assert.equal((await view(i).getBytes(uri)).toString(), `document ${i}`);
      assert.equal(await store.head(uri), undefined);
    }
  });
});
