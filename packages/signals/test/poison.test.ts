// State that one bad input or one failure could leave behind for every later request: a parked
// runtime batch that cannot be attached must not fail its graph's ingest nor keep the other batches
// parked, and ingesting many graphs must not keep them all decoded in memory.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { normalizeGraph } from '../src/graph/normalize.ts';
import { parseCallgraphBody } from '../src/graph/parse.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../src/runtime/stream.ts';
import { type Harness, sampleGraph, startHarness } from './harness.ts';

const TENANT = 'acme';

describe(`signals state after failures, on ${testBackend()}`, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  const park = async (graphHash: string, scanId: string, symbolId: string) => {
    const batch = await readRuntimeStream(
      Readable.from([Buffer.from(`${JSON.stringify({ symbolId, hitCount: 1 })}\n`)]),
      {
        gzip: false,
        limits: runtimeStreamLimits(h.config, new Date('2026-01-02T03:04:05.000Z')),
        spoolDir: runtimeSpoolDir(h.config),
      },
    );
    try {
      return await h.signals.ingestRuntime(TENANT, { graphHash, subject: { scanId }, batch });
    } finally {
      await batch.dispose();
    }
  };
  const statusOf = async (ingestId: string) =>
    (
      await h.t.db.transaction(
        (tx) =>
          tx.query<{ status: string }>('select status from signals_runtime_ingests where ingest_id = $1', [ingestId]),
        { tenant: TENANT },
      )
    ).rows[0]?.status;

  test('a parked batch whose blob is gone does not fail its graph ingest, nor keep the other batch parked', async () => {
    const graph = sampleGraph({ component: 'parked' });
    const { graphHash } = normalizeGraph(parseCallgraphBody(graph), { maxNodes: 100, maxEdges: 100 });
    const good = await park(graphHash, 'parked-good', 'lib:helper');
    const lost = await park(graphHash, 'parked-lost', 'lib:parse');
    assert.equal(good.status, 'orphan');
    assert.ok(await h.blobs.delete(lost.casUri));

    const stored = await h.signals.ingestCallgraph(TENANT, graph);
    assert.equal(stored.created, true);
    assert.equal(stored.orphansAttached, 1);
    assert.equal(await statusOf(good.ingestId), 'applied');
    assert.equal(await statusOf(lost.ingestId), 'orphan');
    // The orphan job (retried by the queue) names what is still parked.
    await assert.rejects(h.signals.attachOrphans(TENANT, graphHash), /1 of 1 runtime batches .* could not be attached/);
  });

  test('a parked batch that began with a byte order mark is attached when its graph arrives', async () => {
    const graph = sampleGraph({ component: 'parked-bom' });
    const { graphHash } = normalizeGraph(parseCallgraphBody(graph), { maxNodes: 100, maxEdges: 100 });
    const batch = await readRuntimeStream(
      Readable.from([Buffer.from('\uFEFF{"symbolId":"lib:helper","hitCount":2}\n')]),
      {
        gzip: false,
        limits: runtimeStreamLimits(h.config, new Date('2026-01-02T03:04:05.000Z')),
        spoolDir: runtimeSpoolDir(h.config),
      },
    );
    let parked: Awaited<ReturnType<typeof h.signals.ingestRuntime>>;
    try {
      parked = await h.signals.ingestRuntime(TENANT, { graphHash, subject: { scanId: 'parked-bom' }, batch });
    } finally {
      await batch.dispose();
    }
    assert.equal(parked.status, 'orphan');
    const stored = await h.signals.ingestCallgraph(TENANT, graph);
    assert.equal(stored.orphansAttached, 1);
    assert.equal(await statusOf(parked.ingestId), 'applied');
  });

  test('ingesting more graphs than the graph cache holds evicts the oldest', async () => {
    const misses = async () => {
      const metric = await h.metrics.getSingleMetric('stella_signals_cache_requests_total')!.get();
      return metric.values.find((v) => v.labels.cache === 'graph' && v.labels.result === 'miss')?.value ?? 0;
    };
    const first = await h.signals.ingestCallgraph(TENANT, sampleGraph({ component: 'cache-0' }));
    for (let i = 1; i <= 8; i++) await h.signals.ingestCallgraph(TENANT, sampleGraph({ component: `cache-${i}` }));
    const before = await misses();
    await h.signals.coverage(TENANT, first.callgraphId, ['app:main']);
    assert.equal(await misses(), before + 1, 'the first graph was evicted, not kept with the eight after it');
  });
});
