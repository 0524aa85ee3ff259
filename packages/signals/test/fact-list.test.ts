// The list of subjects with a fact (GET /signals/facts): subject-key byte order, cursor pages that
// neither skip nor repeat a subject, the counts read from each fact, and another tenant's subjects
// never listed (row-level security on the PostgreSQL backend).
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import { testBackend } from '@stella/testkit';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../src/runtime/stream.ts';
import { type Harness, sampleGraph, startHarness } from './harness.ts';

const ndjson = (events: unknown[]) => Buffer.from(events.map((e) => `${JSON.stringify(e)}\n`).join(''));

describe(`subjects with a fact, paged, on ${testBackend()}`, () => {
  let h: Harness;

  /** A runtime batch for `scanId` on the sample graph, then its fact computed with `targets`. */
  const factFor = async (tenant: string, callgraphId: string, scanId: string, targets: string[]) => {
    const batch = await readRuntimeStream(Readable.from([ndjson([{ symbolId: 'app:handler', hitCount: 1 }])]), {
      gzip: false,
      limits: {
        ...runtimeStreamLimits(h.config, new Date('2026-01-02T03:04:05.000Z')),
        maxUploadBytes: 1024 * 1024,
        maxDecompressedBytes: 1024 * 1024,
        maxLineBytes: 4096,
        maxEvents: 1000,
      },
      spoolDir: runtimeSpoolDir(h.config),
    });
    try {
      await h.signals.ingestRuntime(tenant, { callgraphId, subject: { scanId }, batch });
    } finally {
      await batch.dispose();
    }
    await h.signals.recompute(tenant, { subjectKey: scanId, targets });
  };

  before(async () => {
    h = await startHarness();
    const acme = (await h.signals.ingestCallgraph('acme', sampleGraph())).callgraphId;
    const globex = (await h.signals.ingestCallgraph('globex', sampleGraph())).callgraphId;
    // Byte order puts '-' < '.' < '_'; a locale collation ignores punctuation and would order them a, b, c.
    for (const scanId of ['scan_a', 'scan-b', 'scan.c'])
      await factFor('acme', acme, scanId, ['lib:vulnSink', 'lib:vulnSink2', 'lib:missing']);
    await factFor('globex', globex, 'scan-globex', ['lib:vulnSink']);
  });
  after(() => h.close());

  test('pages follow subject-key byte order to the end, each subject once, with the counts of its fact', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await h.signals.listFacts('acme', { limit: 2, ...(cursor ? { cursor } : {}) });
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((s) => s.subjectKey));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, ['scan-b', 'scan.c', 'scan_a']);
    assert.equal(pages, 2);

    const [first] = (await h.signals.listFacts('acme', { limit: 1 })).items;
    const fact = await h.signals.getFact('acme', first!.subjectKey);
    assert.deepEqual(first, {
      subjectKey: fact.subjectKey,
      subject: (fact.document as { subject: Record<string, string> }).subject,
      factVersion: fact.factVersion,
      digest: fact.digest,
      score: fact.score,
      // vulnSink is on main → handler → parse; vulnSink2 only under the unreachable deadFn; missing is not in the graph.
      targets: 3,
      reachableTargets: 1,
      unknownsCount: 1,
      computedAt: fact.computedAt,
    });
  });

  test('the last page has no cursor, a cursor past the end gives an empty page, and bad text is refused', async () => {
    const all = await h.signals.listFacts('acme', { limit: 1000 });
    assert.equal(all.items.length, 3);
    assert.equal(all.nextCursor, null);
    assert.deepEqual(await h.signals.listFacts('acme', { limit: 10, cursor: 'zzz' }), { items: [], nextCursor: null });
    await assert.rejects(
      h.signals.listFacts('acme', { limit: 10, cursor: 'a\u0000b' }),
      (e: StellaError) => e instanceof StellaError && e.code === 'ERR_INVALID_TEXT',
    );
  });

  test('a tenant lists only its own subjects, and one with none gets an empty page', async () => {
    const globex = await h.signals.listFacts('globex', { limit: 100 });
    assert.deepEqual(
      globex.items.map((s) => s.subjectKey),
      ['scan-globex'],
    );
    assert.deepEqual(await h.signals.listFacts('initech', { limit: 100 }), { items: [], nextCursor: null });
  });
});
