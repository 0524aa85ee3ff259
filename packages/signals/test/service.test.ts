import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { dsseVerify, parseDsseEnvelope, StellaError, sha256Digest } from '@stella/core';
import { createSigningKeyStore } from '@stella/platform';
import { testBackend } from '@stella/testkit';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../src/runtime/stream.ts';
import { type Harness, sampleGraph, secondService, startHarness } from './harness.ts';

const line = (o: unknown) => `${JSON.stringify(o)}\n`;
const ndjson = (events: unknown[]) => Buffer.from(events.map(line).join(''));

describe(`signals service on ${testBackend()}`, () => {
  let h: Harness;
  const limits = () => ({
    ...runtimeStreamLimits(h.config, new Date('2026-01-02T03:04:05.000Z')),
    maxUploadBytes: 10 * 1024 * 1024,
    maxDecompressedBytes: 16 * 1024 * 1024,
    maxLineBytes: 4096,
    maxEvents: 100_000,
    maxHitCount: 1_000_000,
  });
  const spool = (bytes: Buffer, gzip = false) =>
    readRuntimeStream(Readable.from([bytes]), { gzip, limits: limits(), spoolDir: runtimeSpoolDir(h.config) });
  const ingest = async (
    tenant: string,
    input: { callgraphId?: string; graphHash?: string; ingestId?: string },
    bytes: Buffer,
    subject = { scanId: 'scan-1' },
  ) => {
    const batch = await spool(bytes);
    try {
      return await h.signals.ingestRuntime(tenant, { ...input, subject, batch });
    } finally {
      await batch.dispose();
    }
  };
  const count = async (tenant: string, table: string) =>
    (await h.t.db.transaction((tx) => tx.query<{ n: number }>(`select count(*)::int as n from ${table}`), { tenant }))
      .rows[0]!.n;
  const casCount = async (namespace: string) => {
    let n = 0;
    for await (const _ of h.blobs.list(namespace)) n++;
    return n;
  };

  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  let callgraphId = '';
  let graphHash = '';

  test('callgraph ingest stores canonical bytes under the graph hash, a signed manifest, and is idempotent', async () => {
    const first = await h.signals.ingestCallgraph('acme', sampleGraph());
    callgraphId = first.callgraphId;
    graphHash = first.graphHash;
    assert.equal(first.created, true);
    assert.match(first.callgraphId, /^cg-[0-9a-z]{26}$/);
    assert.equal(first.casUri, `cas://reachability/graphs/${graphHash.slice(7)}`);
    assert.equal(sha256Digest(await h.blobs.getBytes(first.casUri)), graphHash);
    const again = await h.signals.ingestCallgraph('acme', {
      ...sampleGraph(),
      nodes: [...sampleGraph().nodes].reverse(),
    });
    assert.equal(again.created, false);
    assert.equal(again.callgraphId, first.callgraphId);

    const { manifest, dsse } = await h.signals.getManifest('acme', callgraphId);
    assert.equal(manifest.digest, graphHash);
    const keys = await createSigningKeyStore(h.t.db).listPublicKeys('acme');
    assert.equal(keys.length, 1);
    const verdict = dsseVerify(
      parseDsseEnvelope(dsse),
      keys.map((k) => ({ keyid: k.keyid, publicKey: k.publicKeyPem })),
    );
    assert.equal(verdict.verified, true);
    // Another tenant's key does not verify it.
    await createSigningKeyStore(h.t.db).getSigner('globex', 'signals-graph');
    const other = await createSigningKeyStore(h.t.db).listPublicKeys('globex');
    assert.equal(
      dsseVerify(
        parseDsseEnvelope(dsse),
        other.map((k) => ({ keyid: k.keyid, publicKey: k.publicKeyPem })),
      ).verified,
      false,
    );
  });

  test("another tenant's callgraph id is not found (404, not 403)", async () => {
    await assert.rejects(h.signals.getCallgraph('globex', callgraphId), (e: StellaError) => e.status === 404);
    await assert.rejects(
      ingest('globex', { callgraphId }, ndjson([{ symbolId: 'app:main', hitCount: 1 }])),
      (e: StellaError) => e.code === 'ERR_SIGNALS_CALLGRAPH_NOT_FOUND',
    );
    assert.equal(await count('acme', 'signals_callgraphs'), 1);
    assert.equal(await count('globex', 'signals_callgraphs'), 0);
  });

  test('runtime batches aggregate per symbol, a retried batch does not double count, and the timeline records it', async () => {
    const events = [
      { symbolId: 'lib:parse', hitCount: 2, observedAt: '2026-01-01T00:00:00Z' },
      { symbolId: 'lib:parse', hitCount: 1, observedAt: '2026-01-01T01:00:00Z' },
      { symbolId: 'app:notInGraph', hitCount: 4 },
    ];
    const first = await ingest('acme', { callgraphId }, ndjson(events));
    assert.equal(first.status, 'applied');
    assert.equal(first.subjectKey, 'scan-1');
    assert.equal(first.events, 3);
    assert.equal(first.symbols, 2);
    assert.equal(first.casUri, `cas://reachability/runtime/${first.contentSha256.slice(7)}`);
    const retry = await ingest('acme', { callgraphId }, ndjson(events));
    assert.equal(retry.duplicate, true);
    assert.equal(retry.ingestId, first.ingestId);
    const byHeader = await ingest(
      'acme',
      { callgraphId, ingestId: first.ingestId },
      ndjson([{ symbolId: 'lib:parse', hitCount: 50 }]),
    );
    assert.equal(byHeader.duplicate, true, 'the same X-Ingest-Id is the same batch');
    const hits = await h.t.db.transaction(
      (tx) =>
        tx.query<{ symbol_id: string; hit_count: string; in_graph: boolean }>(
          'select symbol_id, hit_count::text, in_graph from signals_runtime_facts order by symbol_id',
        ),
      { tenant: 'acme' },
    );
    assert.deepEqual(hits.rows, [
      { symbol_id: 'app:notInGraph', hit_count: '4', in_graph: false },
      { symbol_id: 'lib:parse', hit_count: '3', in_graph: true },
    ]);
    const events2 = await h.timeline.list('acme', { kind: 'reach.runtime.ingested', limit: 100 });
    assert.equal(events2.length, 1);
    assert.deepEqual(
      (events2[0]!.details.batches as { casDigest: string; ingestId: string }[]).map((b) => [b.casDigest, b.ingestId]),
      [[first.contentSha256, first.ingestId]],
    );
  });

  test('a batch larger than the in-memory spool spills to a file and is stored byte for byte', async () => {
    const events = Array.from({ length: 60_000 }, (_, i) => ({
      symbolId: `lib:spill${i % 300}`,
      hitCount: 1,
      containerId: 'c'.repeat(40),
    }));
    const bytes = ndjson(events);
    assert.ok(bytes.length > 4 * 1024 * 1024);
    const result = await ingest('acme', { callgraphId }, bytes, { scanId: 'spill' });
    assert.equal(result.events, 60_000);
    assert.equal(result.symbols, 300);
    assert.equal(result.contentSha256, sha256Digest(bytes));
    assert.deepEqual(await h.blobs.getBytes(result.casUri), bytes);
  });

  test('bad batches are refused with the line named and leave nothing behind', async () => {
    const before = {
      ingests: await count('acme', 'signals_runtime_ingests'),
      blobs: await casCount('reachability/runtime'),
    };
    const cases: [Buffer, RegExp, number][] = [
      [Buffer.from(`${line({ symbolId: 'a', hitCount: 1 })}{not json\n`), /^line 2 is not valid JSON/, 400],
      [ndjson([{ symbolId: 'a', hitCount: 1 }, { hitCount: 1 }]), /^runtime fact on line 2 is missing symbolId$/, 400],
      [ndjson([{ symbolId: 'a', hitCount: -1 }]), /hitCount must be an integer from 0 to 1000000/, 400],
      [ndjson([{ symbolId: 'a', hitCount: 1e12 }]), /hitCount must be an integer/, 400],
      [ndjson([{ symbolId: 'a', hitCount: 1, observedAt: '2099-01-01T00:00:00Z' }]), /lies in the future/, 400],
      [Buffer.from('\n\n'), /^runtime fact stream was empty$/, 400],
      [Buffer.from(`{"symbolId":"${'x'.repeat(5000)}","hitCount":1}\n`), /longer than 4096 bytes/, 413],
    ];
    for (const [bytes, pattern, status] of cases) {
      await assert.rejects(
        spool(bytes),
        (e: StellaError) => e instanceof StellaError && pattern.test(e.message) && e.status === status,
        String(pattern),
      );
    }
    // Gzip bombs, about 50 KiB compressed and 50 MiB inflated: bare newlines are refused at the line
    // count (signals.maxLines, a million) after about 1 MiB; blank lines of 4,000 spaces, few enough,
    // at the 16 MiB decompression cap.
    const newlines = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x0a));
    assert.ok(newlines.length < 100 * 1024);
    await assert.rejects(
      spool(newlines),
      (e: StellaError) => e.status === 413 && /more than 1000000 lines \(signals\.maxLines\)/.test(e.message),
    );
    const blankLine = Buffer.concat([Buffer.alloc(4000, 0x20), Buffer.from('\n')]);
    const spaces = gzipSync(
      Buffer.concat(Array.from({ length: Math.ceil((50 * 1024 * 1024) / 4001) }, () => blankLine)),
    );
    assert.ok(spaces.length < 100 * 1024);
    await assert.rejects(
      spool(spaces),
      (e: StellaError) => e.status === 413 && /decompresses to more than 16777216 bytes/.test(e.message),
    );
    // gzip is recognised by its magic bytes even without Content-Encoding.
    const zipped = await spool(gzipSync(ndjson([{ symbolId: 'a', hitCount: 1 }])));
    assert.equal(zipped.aggregate.events, 1);
    await zipped.dispose();
    assert.equal(await count('acme', 'signals_runtime_ingests'), before.ingests);
    assert.equal(await casCount('reachability/runtime'), before.blobs);
  });

  test('recompute is incremental, and a runtime hit on a statically unreachable symbol makes it Contested', async () => {
    const targets = ['lib:vulnSink', 'lib:vulnSink2', 'app:reflect', 'lib:absent'];
    const first = await h.signals.recompute('acme', { subjectKey: 'scan-1', targets });
    assert.equal(first.subjects[0]!.status, 'updated');
    assert.equal(first.subjects[0]!.factVersion, 1);
    const fact = await h.signals.getFact('acme', 'scan-1');
    const states = fact.document.states as { target: string; state: string; bucket: string; path: string[] }[];
    const sink = states.find((s) => s.target === 'lib:vulnSink')!;
    assert.equal(sink.bucket, 'runtime');
    assert.deepEqual(sink.path, ['lib:vulnSink', 'lib:parse', 'app:handler', 'app:main']);
    assert.equal(states.find((s) => s.target === 'lib:vulnSink2')!.state, 'StaticallyUnreachable');
    assert.deepEqual(
      (await h.signals.listUnknowns('acme', 'scan-1')).map((u) => `${u.symbolId}:${u.reason}`),
      ['app:reflect:dynamic_edge_only', 'lib:absent:symbol_not_in_graph'],
    );

    const scan1 = (r: { subjects: { subjectKey: string; status: string; factVersion?: number }[] }) =>
      r.subjects.find((s) => s.subjectKey === 'scan-1')!;
    await h.signals.recompute('acme', {});
    const second = await h.signals.recompute('acme', {});
    assert.ok(
      second.subjects.every((s) => s.status === 'unchanged'),
      'nothing changed, nothing recomputed',
    );

    await ingest('acme', { callgraphId }, ndjson([{ symbolId: 'lib:vulnSink2', hitCount: 1 }]));
    const third = await h.signals.recompute('acme', {});
    assert.equal(scan1(third).status, 'updated');
    assert.equal(scan1(third).factVersion, 2);
    assert.equal(
      third.subjects.find((s) => s.subjectKey === 'spill')!.status,
      'unchanged',
      'only the changed subject is recomputed',
    );
    const after = await h.signals.getFact('acme', 'scan-1');
    const contested = (after.document.states as { target: string; state: string }[]).find(
      (s) => s.target === 'lib:vulnSink2',
    )!;
    assert.equal(contested.state, 'Contested');

    // Events: one per fact version, each with the spec §1.5 envelope.
    const outbox = await h.t.db.transaction(
      (tx) =>
        tx.query<{ payload: Record<string, unknown> }>(
          `select payload from outbox where topic = 'signals.fact.updated.v1' order by id`,
        ),
      { tenant: 'acme' },
    );
    const reach = outbox.rows
      .map((r) => r.payload)
      .filter((p) => p.fact_kind === 'reachability' && p.subject_key === 'scan-1');
    assert.deepEqual(
      reach.map((p) => p.fact_version),
      [1, 2],
    );
    assert.equal(reach[1]!.digest, after.digest);
    assert.match(String(reach[0]!.event_id), /^[0-9a-f-]{36}$/);
    assert.equal(reach[0]!.subject_key, 'scan-1');
    assert.equal(sha256Digest(await h.blobs.getBytes(after.casUri)), after.digest);

    // Recomputes racing on the same inputs make no second version and no second event.
    const raced = await Promise.all([
      h.signals.recompute('acme', { subjectKey: 'scan-1', force: true }),
      h.signals.recompute('acme', { subjectKey: 'scan-1', force: true }),
    ]);
    assert.deepEqual(
      raced.map((r) => r.subjects[0]!.status),
      ['unchanged', 'unchanged'],
    );
    assert.equal((await h.signals.getFact('acme', 'scan-1')).factVersion, 2);
  });

  test('a trace for an unknown graph hash waits as an orphan and is attached when the graph arrives', async () => {
    const graph = sampleGraph({ component: 'late' });
    const { normalizeGraph } = await import('../src/graph/normalize.ts');
    const { parseCallgraphBody } = await import('../src/graph/parse.ts');
    const futureHash = normalizeGraph(parseCallgraphBody(graph), { maxNodes: 100, maxEdges: 100 }).graphHash;
    const orphan = await ingest('acme', { graphHash: futureHash }, ndjson([{ symbolId: 'lib:helper', hitCount: 5 }]), {
      scanId: 'late-scan',
    } as never);
    assert.equal(orphan.status, 'orphan');
    assert.equal(orphan.callgraphId, null);
    const metrics = await h.metrics.getSingleMetricAsString('stella_reachability_orphan_traces_total');
    assert.match(metrics, /stella_reachability_orphan_traces_total 1/);
    // A parked batch still shows the sensor is alive: the last-batch time is the (fixed) clock's.
    const lastBatch = await h.metrics.getSingleMetric('stella_signals_runtime_last_batch_timestamp_seconds')!.get();
    assert.equal(lastBatch.values[0]?.value, h.clock.now().getTime() / 1000);
    await assert.rejects(h.signals.attachOrphans('acme', futureHash), /not ingested yet/);
    const stored = await h.signals.ingestCallgraph('acme', graph);
    assert.equal(stored.graphHash, futureHash);
    assert.equal(stored.orphansAttached, 1);
    const report = await h.signals.recompute('acme', { subjectKey: 'late-scan' });
    assert.equal(report.subjects[0]!.status, 'updated');
    const fact = await h.signals.getFact('acme', 'late-scan');
    assert.equal((fact.document.runtimeFacts as { totalHits: number }).totalHits, 5);
    assert.equal(fact.document.callgraphId, stored.callgraphId);
  });

  test("a union set's facts_runtime.ndjson is ingested for the subject given with it, and only counted without one", async () => {
    const union = (extra: string) => ({
      schema: 'union-v0.1',
      meta: { component: `union-${extra}`, entryPoints: ['u:a'] },
      files: {
        'nodes.ndjson': '{"symbol_id":"u:a"}\n{"symbol_id":"u:b"}\n',
        'edges.ndjson': '{"from":"u:a","to":"u:b","edge_type":"call"}\n',
        'facts_runtime.ndjson': '{"symbol_id":"u:b","hit_count":4}\n{"symbol_id":"u:b","hit_count":1}\n',
      },
    });
    const ignored = await h.signals.ingestCallgraph('acme', union('1'));
    assert.equal(ignored.runtimeFactsIgnored, 2);
    assert.equal(ignored.runtime, undefined);
    const applied = await h.signals.ingestCallgraph('acme', union('2'), { subject: { scanId: 'union-scan' } });
    assert.equal(applied.runtime?.status, 'applied');
    assert.equal(applied.runtime?.events, 2);
    const hits = await h.t.db.transaction(
      (tx) =>
        tx.query<{ n: string }>(
          `select hit_count::text as n from signals_runtime_facts where subject_key = 'union-scan'`,
        ),
      { tenant: 'acme' },
    );
    assert.deepEqual(hits.rows, [{ n: '5' }]);
    await assert.rejects(
      h.signals.ingestCallgraph(
        'acme',
        {
          ...union('3'),
          files: { ...union('3').files, 'facts_runtime.ndjson': '{"symbol_id":"u:b","hit_count":-2}\n' },
        },
        { subject: { scanId: 'x' } },
      ),
      /hitCount must be an integer/,
    );
  });

  test('a graph whose CAS blobs are gone makes its targets unknown (graph_missing) instead of failing', async () => {
    const cg = await h.signals.ingestCallgraph('acme', sampleGraph({ component: 'vanishing' }));
    await ingest('acme', { callgraphId: cg.callgraphId }, ndjson([{ symbolId: 'lib:parse', hitCount: 1 }]), {
      scanId: 'vanish',
    });
    assert.equal(await h.blobs.delete(cg.csrUri), true);
    // A fresh service (as after a restart) has no cached copy of the graph.
    const fresh = secondService(h);
    await fresh.recompute('acme', { subjectKey: 'vanish', targets: ['lib:vulnSink'] });
    const unknowns = await fresh.listUnknowns('acme', 'vanish');
    assert.deepEqual(
      unknowns.map((u) => `${u.symbolId}:${u.reason}`),
      ['lib:vulnSink:graph_missing'],
    );
  });

  test('a service built without a vulnerable-symbols source refuses default targets instead of guessing', async () => {
    const cg = await h.signals.ingestCallgraph('acme', sampleGraph({ component: 'no-advisories' }));
    await ingest('acme', { callgraphId: cg.callgraphId }, ndjson([{ symbolId: 'lib:parse', hitCount: 1 }]), {
      scanId: 'no-advisories',
    });
    const bare = secondService(h, { advisories: false });
    // The graph names packages, so its default targets need the advisories: a coded failure, no fact.
    await assert.rejects(bare.recompute('acme', { subjectKey: 'no-advisories' }), { code: 'ERR_INTERNAL' });
    // Explicit targets need no advisories.
    const report = await bare.recompute('acme', { subjectKey: 'no-advisories', targets: ['lib:vulnSink'] });
    assert.equal(report.subjects[0]?.status, 'updated');
  });

  test('the same inputs give the same fact bytes in a fresh database', async () => {
    const other = await startHarness();
    try {
      const cg = await other.signals.ingestCallgraph('acme', sampleGraph());
      assert.equal(cg.graphHash, graphHash);
      const mine = await h.signals.getFact('acme', 'scan-1');
      // Replay the same batches in the same order.
      const replay = async (bytes: Buffer) => {
        const batch = await spool(bytes);
        try {
          await other.signals.ingestRuntime('acme', {
            callgraphId: cg.callgraphId,
            subject: { scanId: 'scan-1' },
            batch,
          });
        } finally {
          await batch.dispose();
        }
      };
      await replay(
        ndjson([
          { symbolId: 'lib:parse', hitCount: 2, observedAt: '2026-01-01T00:00:00Z' },
          { symbolId: 'lib:parse', hitCount: 1, observedAt: '2026-01-01T01:00:00Z' },
          { symbolId: 'app:notInGraph', hitCount: 4 },
        ]),
      );
      await replay(ndjson([{ symbolId: 'lib:vulnSink2', hitCount: 1 }]));
      await other.signals.recompute('acme', {
        subjectKey: 'scan-1',
        targets: ['lib:vulnSink', 'lib:vulnSink2', 'app:reflect', 'lib:absent'],
      });
      const theirs = await other.signals.getFact('acme', 'scan-1');
      assert.equal(theirs.digest, mine.digest);
    } finally {
      await other.close();
    }
  });
});
