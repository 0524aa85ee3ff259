// Group commit of runtime batches: the pure core (who goes with whom, lanes, isolation of a failing
// item), then on a real database: batches that arrive while a transaction is in flight share the next
// one and one timeline event, and a batch whose CAS write fails is refused alone, leaving nothing
// behind, while every other batch of its group is committed and acknowledged once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { BlobStore } from '@stella/platform';
import { testBackend } from '@stella/testkit';
import { RuntimeAggregate } from '../src/runtime/events.ts';
import { createGroupCommitter } from '../src/runtime/group-commit.ts';
import { type Harness, sampleGraph, secondService, startHarness, withPut } from './harness.ts';

function deferred() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
}

describe('group commit core', () => {
  test('a lone item starts at once; items arriving meanwhile go together in the next group', async () => {
    const groups: string[][] = [];
    const gate = deferred();
    const committer = createGroupCommitter<string, string>(
      async (_key, items) => {
        groups.push([...items]);
        if (groups.length === 1) await gate.released;
        return items.map((item) => `ok:${item}`);
      },
      { lanes: 1, maxGroup: 3 },
    );
    const results = ['a', 'b', 'c', 'd', 'e'].map((item) => committer.submit('t', item));
    assert.deepEqual(groups, [['a']], 'the first item did not wait for others');
    gate.release();
    assert.deepEqual(await Promise.all(results), ['ok:a', 'ok:b', 'ok:c', 'ok:d', 'ok:e']);
    assert.deepEqual(groups, [['a'], ['b', 'c', 'd'], ['e']], 'at most maxGroup items per group, in arrival order');
  });

  test('lanes bound the groups in flight per key; keys do not wait for each other', async () => {
    let inFlight = 0;
    let most = 0;
    const gate = deferred();
    const committer = createGroupCommitter<number, number>(
      async (key, items) => {
        if (key !== 'slow') return items.map((n) => n * 2);
        inFlight++;
        most = Math.max(most, inFlight);
        await gate.released;
        inFlight--;
        return items.map((n) => n * 2);
      },
      { lanes: 2, maxGroup: 1 },
    );
    const slow = [1, 2, 3].map((n) => committer.submit('slow', n));
    assert.equal(await committer.submit('other', 21), 42, 'another key is not held up by a busy one');
    gate.release();
    assert.deepEqual(await Promise.all(slow), [2, 4, 6]);
    assert.equal(most, 2);
  });

  test('a failed group is committed again item by item: only the item at fault fails', async () => {
    const gate = deferred();
    const committed: string[][] = [];
    const committer = createGroupCommitter<string, string>(
      async (_key, items) => {
        if (items[0] === 'first') await gate.released;
        if (items.includes('bad')) throw new Error('bad item');
        committed.push([...items]);
        return [...items];
      },
      { lanes: 1, maxGroup: 10 },
    );
    const first = committer.submit('t', 'first');
    const rest = ['x', 'bad', 'y'].map((item) => committer.submit('t', item).then(String, (e: Error) => e.message));
    gate.release();
    assert.equal(await first, 'first');
    assert.deepEqual(await Promise.all(rest), ['x', 'bad item', 'y']);
    assert.deepEqual(committed, [['first'], ['x'], ['y']]);
  });
});

describe(`runtime batches committed as a group on ${testBackend()}`, () => {
  let h: Harness;
  let callgraphId = '';
  before(async () => {
    h = await startHarness();
    callgraphId = (await h.signals.ingestCallgraph('acme', sampleGraph())).callgraphId;
  });
  after(() => h.close());

  /**
   * A CAS that holds every runtime write until `n` have started (so every batch has been handed to
   * the committer before any transaction can finish) and fails the write of `failDigest`.
   */
  function barrierBlobs(n: number, failDigest?: string): BlobStore {
    const inner = h.blobs;
    const all = deferred();
    let started = 0;
    return withPut(inner, async (namespace, body, options) => {
      if (namespace === 'reachability/runtime') {
        if (++started === n) all.release();
        await all.released;
        if (options?.expectedDigest === failDigest) throw new Error('disk full (injected)');
      }
      return inner.put(namespace, body, options);
    });
  }

  const batch = (symbol: string, hits: number) => {
    const aggregate = new RuntimeAggregate();
    aggregate.add(symbol, hits, undefined);
    return { aggregate, bytes: Buffer.from(`${JSON.stringify({ hitCount: hits, symbolId: symbol })}\n`) };
  };

  async function ingestedEvents(since: number) {
    const events = await h.timeline.list('acme', { kind: 'reach.runtime.ingested', limit: 1000 });
    return events
      .filter((e) => Number(e.seq) > since)
      .map((e) => e.details as { batches: { ingestId: string; subjectKey: string }[]; events: number });
  }
  const lastSeq = async () =>
    Math.max(0, ...(await h.timeline.list('acme', { limit: 1000 })).map((e) => Number(e.seq)));
  const hitsOf = async (subjectKey: string) =>
    (
      await h.t.db.transaction(
        (tx) =>
          tx.query<{ n: string }>(
            'select coalesce(sum(hit_count), 0)::text as n from signals_runtime_facts where subject_key = $1',
            [subjectKey],
          ),
        { tenant: 'acme' },
      )
    ).rows[0]!.n;

  test('batches that arrive together share a transaction and one timeline event listing each batch once', async () => {
    const since = await lastSeq();
    const n = 8;
    const signals = secondService(h, { blobs: barrierBlobs(n) });
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        signals.ingestRuntime('acme', {
          callgraphId,
          subject: { scanId: `group-${i % 3}` },
          batch: batch('lib:parse', i + 1),
        }),
      ),
    );
    assert.ok(results.every((r) => r.status === 'applied' && !r.duplicate));
    const events = await ingestedEvents(since);
    const listed = events.flatMap((e) => e.batches.map((b) => b.ingestId)).sort();
    assert.deepEqual(listed, results.map((r) => r.ingestId).sort(), 'every batch listed exactly once');
    assert.ok(events.length < n, `${n} batches in ${events.length} events`);
    assert.ok(Math.max(...events.map((e) => e.batches.length)) > 1);
    for (const e of events) {
      const keys = e.batches.map((b) => b.subjectKey);
      assert.deepEqual(keys, [...keys].sort(), 'batches are written in subject-key order');
      assert.equal(e.events, e.batches.length, 'one event per batch here');
    }
    // group-0 got batches 1, 4 and 7 (hits 1 + 4 + 7).
    assert.equal(await hitsOf('group-0'), '12');
    // The same batches again are duplicates, counted nothing, and add no timeline event.
    const again = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.signals.ingestRuntime('acme', {
          callgraphId,
          subject: { scanId: `group-${i % 3}` },
          batch: batch('lib:parse', i + 1),
        }),
      ),
    );
    assert.ok(again.every((r) => r.duplicate));
    assert.deepEqual(
      again.map((r) => r.ingestId),
      results.map((r) => r.ingestId),
    );
    assert.equal((await ingestedEvents(since)).length, events.length);
    assert.equal(await hitsOf('group-0'), '12');
  });

  test('a batch whose CAS write fails is refused alone; the rest of its group commits and is acknowledged once', async () => {
    const since = await lastSeq();
    const n = 6;
    const batches = Array.from({ length: n }, (_, i) => batch('lib:helper', 100 + i));
    const bad = batches[3]!;
    const badDigest = `sha256:${createHash('sha256').update(bad.bytes).digest('hex')}`;
    const signals = secondService(h, { blobs: barrierBlobs(n, badDigest) });
    const outcomes = await Promise.allSettled(
      batches.map((b, i) =>
        signals.ingestRuntime('acme', { callgraphId, subject: { scanId: `fail-${i % 2}` }, batch: b }),
      ),
    );
    const refused = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [i] : []));
    assert.deepEqual(refused, [3]);
    assert.match(String((outcomes[3] as PromiseRejectedResult).reason), /disk full/);
    const accepted = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    assert.ok(accepted.every((r) => r.status === 'applied' && !r.duplicate));
    const listed = (await ingestedEvents(since)).flatMap((e) => e.batches.map((b) => b.ingestId)).sort();
    assert.deepEqual(listed, accepted.map((r) => r.ingestId).sort());
    // fail-1 got batches 1, 3 and 5; 3 was refused: 101 + 105.
    assert.equal(await hitsOf('fail-1'), '206');
    assert.equal(await hitsOf('fail-0'), String(100 + 102 + 104));
    const rows = await h.t.db.transaction(
      (tx) =>
        tx.query<{ n: number }>('select count(*)::int as n from signals_runtime_ingests where content_sha256 = $1', [
          badDigest,
        ]),
      { tenant: 'acme' },
    );
    assert.equal(rows.rows[0]!.n, 0, 'nothing of the refused batch is stored');
    // Sent again once the disk is fine, it lands once.
    const retried = await h.signals.ingestRuntime('acme', { callgraphId, subject: { scanId: 'fail-1' }, batch: bad });
    assert.equal(retried.duplicate, false);
    assert.equal(await hitsOf('fail-1'), String(101 + 103 + 105));
  });
});
