import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixedClock } from '@stella/core';
import { type TestDb, testBackend, testDb } from '@stella/testkit';
import { migrate } from '../src/db/index.ts';
import {
  createOutboxDispatcher,
  createTimeline,
  eventHash,
  GENESIS_HASH,
  type Timeline,
  type TimelineEvent,
  verifyChain,
} from '../src/timeline/index.ts';

const platform = [{ module: 'platform', migrations: new URL('../migrations/', import.meta.url) }];

describe(`timeline and outbox on ${testBackend()}`, () => {
  let t: TestDb;
  let timeline: Timeline;
  const clock = fixedClock('2026-01-02T03:04:05.000Z');

  before(async () => {
    t = await testDb();
    await migrate(t.db, platform);
    timeline = createTimeline(t.db, clock);
  });
  after(() => t.close());

  const all = async (tenant: string): Promise<TimelineEvent[]> => {
    const out: TimelineEvent[] = [];
    for await (const e of timeline.stream(tenant, {})) out.push(e);
    return out;
  };

  test('events chain per tenant from the genesis hash', async () => {
    for (let i = 0; i < 3; i++) await timeline.record('acme', { category: 'runtime', kind: 'k', details: { i } });
    const events = await all('acme');
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3],
    );
    assert.equal(events[0]!.prevHash, GENESIS_HASH);
    assert.equal(events[1]!.prevHash, events[0]!.hash);
    assert.equal(events[2]!.prevHash, events[1]!.hash);
    assert.deepEqual(verifyChain(events), { ok: true, checked: 3, head: events[2]!.hash });
  });

  test('tenants have independent chains that cannot see each other', async () => {
    await timeline.record('globex', { category: 'runtime', kind: 'k', details: { g: 1 } });
    const globex = await all('globex');
    assert.equal(globex.length, 1);
    assert.equal(globex[0]!.seq, 1);
    assert.equal(globex[0]!.prevHash, GENESIS_HASH);
    assert.ok((await all('acme')).every((e) => e.tenant === 'acme'));
    assert.equal(
      await timeline.get('globex', (await all('acme'))[0]!.eventId),
      undefined,
      "another tenant's id is not found",
    );
  });

  test('verifyChain names the first broken event for each kind of tampering', async () => {
    const events = await all('acme');
    const [a, b, c] = events as [TimelineEvent, TimelineEvent, TimelineEvent];
    const altered = verifyChain([a, { ...b, details: { i: 99 } }, c]);
    assert.equal(altered.ok, false);
    assert.equal(altered.brokenAt?.seq, 2);
    assert.match(altered.brokenAt!.reason, /altered/);
    const removed = verifyChain([a, c]);
    assert.equal(removed.brokenAt?.seq, 3);
    assert.match(removed.brokenAt!.reason, /sequence gap/);
    const swapped = verifyChain([b, a, c]);
    assert.equal(swapped.ok, false);
    assert.equal(swapped.brokenAt?.seq, 2);
    const relinked = verifyChain([a, b, { ...c, prevHash: a.hash }]);
    assert.match(relinked.brokenAt!.reason, /prevHash/);
  });

  test('the hash is a pure function of the event content', async () => {
    const [a] = await all('acme');
    const { hash, ...rest } = a!;
    assert.equal(eventHash(rest), hash);
    assert.equal(eventHash({ ...rest, details: { ...rest.details } }), hash);
    assert.notEqual(eventHash({ ...rest, kind: 'other' }), hash);
  });

  test('invalid tenant, category and kind are rejected before anything is written', async () => {
    for (const [tenant, category, kind] of [
      ['Acme', 'runtime', 'k'],
      ['acme', 'Runtime Events', 'k'],
      ['acme', 'runtime', 'no spaces'],
    ] as const) {
      await assert.rejects(timeline.record(tenant, { category, kind, details: {} }), { code: 'ERR_VALIDATION' });
    }
    assert.equal((await all('acme')).length, 3);
  });

  test('concurrent appends for one tenant give a gap-free valid chain', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        timeline.record('initech', { category: 'runtime', kind: 'k', details: { i } }),
      ),
    );
    const events = await all('initech');
    assert.equal(events.length, 20);
    assert.equal(verifyChain(events).ok, true);
  });

  test('stream pages through more than one export page in chain order', async () => {
    await t.db.transaction(
      async (tx) => {
        for (let i = 0; i < 1200; i++)
          await timeline.append(tx, 'umbrella', { category: 'runtime', kind: 'bulk', details: { i } });
      },
      { tenant: 'umbrella' },
    );
    const events = await all('umbrella');
    assert.equal(events.length, 1200);
    assert.deepEqual(
      events.map((e) => (e.details as { i: number }).i),
      Array.from({ length: 1200 }, (_, i) => i),
    );
    assert.equal(verifyChain(events).ok, true);
  });

  test('the outbox delivers committed messages once to topic and catch-all subscribers', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const outbox = createOutboxDispatcher(t.db, (e) => errors.push(e));
    outbox.subscribe('thing.changed', async (m) => {
      seen.push(`topic:${(m.payload as { n: number }).n}`);
    });
    outbox.subscribe('*', async (m) => {
      seen.push(`all:${m.topic}`);
    });
    await t.db.transaction((tx) => timeline.publish(tx, 'acme', 'thing.changed', { n: 1 }), { tenant: 'acme' });
    await assert.rejects(
      t.db.transaction(
        async (tx) => {
          await timeline.publish(tx, 'acme', 'thing.changed', { n: 2 });
          throw new Error('rolled back');
        },
        { tenant: 'acme' },
      ),
    );
    assert.equal(await outbox.drain(), 1);
    assert.deepEqual(seen, ['topic:1', 'all:thing.changed']);
    assert.equal(await outbox.drain(), 0, 'a delivered message is not delivered again');
    assert.deepEqual(errors, []);
  });

  test('a failing subscriber leaves the message pending with the error recorded', async () => {
    const errors: unknown[] = [];
    const outbox = createOutboxDispatcher(t.db, (e) => errors.push(e));
    outbox.subscribe('fragile', async () => {
      throw new Error('subscriber down');
    });
    const id = await t.db.transaction((tx) => timeline.publish(tx, 'acme', 'fragile', {}), { tenant: 'acme' });
    assert.equal(await outbox.drain(), 0);
    assert.equal(errors.length, 1);
    const row = await t.db.transaction(
      (tx) =>
        tx.query<{ attempts: number; last_error: string; delivered_at: Date | null }>(
          'select attempts, last_error, delivered_at from outbox where id = $1',
          [id],
        ),
      { tenant: 'acme' },
    );
    assert.deepEqual(row.rows[0], { attempts: 1, last_error: 'subscriber down', delivered_at: null });
    assert.equal(await outbox.drain(), 0, 'the failed message waits out its backoff');
  });
});
