import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixedClock, pae } from '@stella/core';
import { scratchDir, type TestDb, testBackend, testDb } from '@stella/testkit';
import { migrate } from '../src/db/index.ts';
import { createLogger } from '../src/http/index.ts';
import { createMetricsRegistry, type Registry } from '../src/metrics/index.ts';
import { createSigningKeyStore, type SigningKeyStore } from '../src/signing/index.ts';
import {
  CHECKPOINT_PAYLOAD_TYPE,
  createOutboxDispatcher,
  createTimeline,
  createTimelineCheckpoints,
  eventHash,
  GENESIS_HASH,
  type Timeline,
  type TimelineCheckpoints,
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
  describe('signed checkpoints and retention', () => {
    let signing: SigningKeyStore;
    let checkpoints: TimelineCheckpoints;
    let metrics: Registry;
    const DAY = 86_400_000;

    before(() => {
      signing = createSigningKeyStore(t.db);
      metrics = createMetricsRegistry({ defaultMetrics: false });
      checkpoints = createTimelineCheckpoints({
        db: t.db,
        clock,
        timeline,
        signing,
        metrics,
        logger: createLogger({ level: 'silent' }),
      });
    });

    const record = async (tenant: string, n: number) => {
      for (let i = 0; i < n; i++) await timeline.record(tenant, { category: 'runtime', kind: 'k', details: { i } });
    };
    const metric = async (name: string) =>
      (await metrics.getSingleMetric(name)!.get()).values.reduce((sum, v) => sum + v.value, 0);
    const seqs = async (tenant: string) => (await all(tenant)).map((e) => e.seq);

    test('a checkpoint signs the chain head with the tenant timeline key; openssl verifies it over the DSSE PAE', async () => {
      await record('ckpt-sign', 3);
      const written = await checkpoints.write('ckpt-sign');
      assert.equal(written.written, true);
      const checkpoint = written.checkpoint!;
      const events = await all('ckpt-sign');
      assert.equal(checkpoint.seq, 3);
      assert.equal(checkpoint.headHash, events[2]!.hash);
      assert.equal(checkpoint.eventCount, 3);
      assert.equal(checkpoint.createdAt, clock.now().toISOString());
      assert.equal(checkpoint.envelope.payloadType, CHECKPOINT_PAYLOAD_TYPE);
      const payload = Buffer.from(checkpoint.envelope.payload, 'base64');
      assert.deepEqual(JSON.parse(payload.toString('utf8')), {
        createdAt: checkpoint.createdAt,
        eventCount: 3,
        headHash: events[2]!.hash,
        seq: 3,
        tenant: 'ckpt-sign',
      });
      const keys = await checkpoints.keys('ckpt-sign');
      assert.deepEqual(
        keys.map((k) => [k.purpose, k.status, k.algorithm, k.keyid]),
        [['timeline', 'active', 'ed25519', checkpoint.keyid]],
      );

      // Independently of our code: openssl checks the signature over PAE(type, payload) with the public key.
      const work = scratchDir('stella-checkpoint-');
      writeFileSync(join(work, 'timeline.pub.pem'), keys[0]!.publicKeyPem);
      writeFileSync(join(work, 'sig.bin'), Buffer.from(checkpoint.envelope.signatures[0]!.sig, 'base64'));
      const opensslVerify = (message: Buffer) => {
        writeFileSync(join(work, 'pae.bin'), message);
        return execFileSync(
          'openssl',
          ['pkeyutl', '-verify', '-pubin', '-inkey', join(work, 'timeline.pub.pem'), '-rawin'].concat([
            '-in',
            join(work, 'pae.bin'),
            '-sigfile',
            join(work, 'sig.bin'),
          ]),
          { stdio: ['ignore', 'pipe', 'pipe'] },
        ).toString();
      };
      assert.match(opensslVerify(pae(CHECKPOINT_PAYLOAD_TYPE, payload)), /Signature Verified Successfully/);
      const forged = Buffer.from(payload.toString('utf8').replace('"seq":3', '"seq":4'));
      assert.throws(
        () => opensslVerify(pae(CHECKPOINT_PAYLOAD_TYPE, forged)),
        (error: { status?: number; stdout?: Buffer }) =>
          error.status === 1 && /Signature Verification Failure/.test(String(error.stdout)),
      );
      assert.equal(await metric('stella_timeline_checkpoints_total'), 1);
    });

    test('a checkpoint is written only when the head moved', async () => {
      const again = await checkpoints.write('ckpt-sign');
      assert.equal(again.written, false);
      assert.equal(again.checkpoint?.seq, 3);
      assert.deepEqual(await checkpoints.write('ckpt-empty'), { written: false, checkpoint: undefined });
      await record('ckpt-sign', 1);
      const moved = await checkpoints.write('ckpt-sign');
      assert.equal(moved.written, true);
      assert.equal(moved.checkpoint?.seq, 4);
      assert.deepEqual(
        (await checkpoints.list('ckpt-sign', { limit: 10 })).map((c) => c.seq),
        [3, 4],
      );
    });

    test('the checkpoint job signs each tenant whose head moved once its newest checkpoint is an interval old', async () => {
      await record('ckpt-job', 2);
      const first = await checkpoints.writeDue(3600);
      assert.ok(
        first.some((c) => c.tenant === 'ckpt-job' && c.seq === 2),
        'a tenant never checkpointed is due',
      );
      await record('ckpt-job', 1);
      clock.advance(1800_000);
      assert.ok(!(await checkpoints.writeDue(3600)).some((c) => c.tenant === 'ckpt-job'), 'half an interval: not due');
      // The minute cron fires a few seconds early or late: a checkpoint due within its margin is written.
      clock.advance(1800_000 - 10_000);
      const due = await checkpoints.writeDue(3600);
      assert.deepEqual(
        due.filter((c) => c.tenant === 'ckpt-job').map((c) => c.seq),
        [3],
      );
      clock.advance(3600_000);
      assert.ok(!(await checkpoints.writeDue(3600)).some((c) => c.tenant === 'ckpt-job'), 'head unchanged: none');
    });

    test('a tenant whose key cannot be used fails the checkpoint job after the other tenants got theirs', async () => {
      await record('ckpt-fault-a', 1);
      await record('ckpt-fault-b', 1);
      const faulty = createTimelineCheckpoints({
        db: t.db,
        clock,
        timeline,
        signing: {
          ...signing,
          getSigner: (tenant, purpose, algorithm) =>
            tenant === 'ckpt-fault-a'
              ? Promise.reject(new Error('sealed key failed authentication'))
              : signing.getSigner(tenant, purpose, algorithm),
        },
        metrics: createMetricsRegistry({ defaultMetrics: false }),
        logger: createLogger({ level: 'silent' }),
      });
      await assert.rejects(faulty.writeDue(3600), /timeline checkpoint failed for 1 tenant\(s\): ckpt-fault-a$/);
      assert.deepEqual(
        (await checkpoints.list('ckpt-fault-b', { limit: 10 })).map((c) => c.seq),
        [1],
      );
      assert.deepEqual(await checkpoints.list('ckpt-fault-a', { limit: 10 }), []);
    });

    test('prune deletes old events only up to the newest checkpoint signed before the cutoff; verify stays green', async () => {
      const tenant = 'ckpt-prune';
      await record(tenant, 5);
      const c1 = (await checkpoints.write(tenant)).checkpoint!;
      clock.advance(10 * DAY);
      await record(tenant, 3);
      const c2 = (await checkpoints.write(tenant)).checkpoint!;
      clock.advance(DAY);
      await record(tenant, 2);
      const prunedBefore = await metric('stella_timeline_pruned_events_total');

      // Cutoff 6 days after c1 and 4 days before c2: events 1..5 go, everything after stays.
      const report = await checkpoints.prune(tenant, 5);
      assert.equal(report.throughSeq, c1.seq);
      assert.equal(report.prunedEvents, 5);
      assert.equal(report.prunedCheckpoints, 0);
      assert.equal(report.cutoff, new Date(clock.now().getTime() - 5 * DAY).toISOString());
      assert.deepEqual(await seqs(tenant), [6, 7, 8, 9, 10, 11]);
      const pruneEvent = (await all(tenant)).at(-1)!;
      assert.equal(pruneEvent.kind, 'timeline.pruned');
      assert.deepEqual(pruneEvent.details, {
        throughSeq: 5,
        checkpointId: c1.checkpointId,
        events: 5,
        checkpoints: 0,
        retentionDays: 5,
        cutoff: report.cutoff,
      });
      assert.equal((await metric('stella_timeline_pruned_events_total')) - prunedBefore, 5);

      const verdict = await checkpoints.verify(tenant);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal(verdict.from, 'checkpoint');
      assert.equal(verdict.anchor?.checkpointId, c1.checkpointId);
      assert.equal(verdict.checked, 6);
      assert.equal(verdict.checkpoints, 2);

      assert.equal((await checkpoints.prune(tenant, 5)).prunedEvents, 0, 'a second pass finds nothing more');
      assert.deepEqual(await seqs(tenant), [6, 7, 8, 9, 10, 11], 'and records nothing');

      // Later, c2 is older than the cutoff: events 6..8 go and c1, which covers only deleted events, too.
      clock.advance(5 * DAY);
      const later = await checkpoints.prune(tenant, 5);
      assert.deepEqual([later.throughSeq, later.prunedEvents, later.prunedCheckpoints], [c2.seq, 3, 1]);
      assert.deepEqual(
        (await checkpoints.list(tenant, { limit: 10 })).map((c) => c.seq),
        [8],
      );
      const after = await checkpoints.verify(tenant);
      assert.equal(after.ok, true, JSON.stringify(after));
      assert.equal(after.anchor?.checkpointId, c2.checkpointId);
    });

    test('prune deletes nothing without a checkpoint older than the cutoff, or with retention off', async () => {
      const tenant = 'ckpt-none';
      await record(tenant, 4);
      clock.advance(30 * DAY);
      const none = await checkpoints.prune(tenant, 1);
      assert.deepEqual([none.throughSeq, none.prunedEvents], [undefined, 0]);
      assert.deepEqual(await seqs(tenant), [1, 2, 3, 4]);
      // A checkpoint signed now is newer than the cutoff: the events it covers are old, but stay.
      await checkpoints.write(tenant);
      assert.equal((await checkpoints.prune(tenant, 1)).prunedEvents, 0);
      clock.advance(2 * DAY);
      const off = await checkpoints.prune(tenant, 0);
      assert.deepEqual(off, {
        tenant,
        retentionDays: 0,
        cutoff: undefined,
        throughSeq: undefined,
        prunedEvents: 0,
        prunedCheckpoints: 0,
      });
      assert.deepEqual(await seqs(tenant), [1, 2, 3, 4]);
      assert.equal((await checkpoints.verify(tenant)).from, 'genesis');
    });

    test('a key rotation between checkpoints: both verify, the anchor by its now retired key', async () => {
      const tenant = 'ckpt-rotate';
      await record(tenant, 2);
      const before = (await checkpoints.write(tenant)).checkpoint!;
      const rotated = await signing.rotate(tenant, 'timeline');
      assert.deepEqual(rotated.retired, [before.keyid]);
      clock.advance(2 * DAY);
      await record(tenant, 2);
      const afterRotation = (await checkpoints.write(tenant)).checkpoint!;
      assert.notEqual(afterRotation.keyid, before.keyid);
      assert.equal(afterRotation.keyid, rotated.active[0]!.keyid);
      assert.equal((await checkpoints.prune(tenant, 1)).throughSeq, before.seq);
      const verdict = await checkpoints.verify(tenant);
      assert.equal(verdict.ok, true, JSON.stringify(verdict));
      assert.equal(verdict.anchor?.keyid, before.keyid);
      assert.equal(verdict.checkpoints, 2);
      assert.deepEqual((await checkpoints.keys(tenant)).map((k) => k.status).sort(), ['active', 'retired']);
    });

    test("another tenant's checkpoints are invisible (row-level security)", async () => {
      assert.deepEqual(await checkpoints.list('ckpt-stranger', { limit: 100 }), []);
      const counted = async (tenant?: string) =>
        (
          await t.db.transaction(
            (tx) =>
              tx.query<{ tenant: string; n: number }>(
                'select tenant, count(*)::int as n from timeline_checkpoints group by tenant order by tenant',
              ),
            tenant ? { tenant } : {},
          )
        ).rows;
      assert.deepEqual(await counted('ckpt-stranger'), []);
      assert.deepEqual(await counted(), [], 'no tenant: no rows');
      assert.deepEqual(
        (await counted('ckpt-sign')).map((r) => r.tenant),
        ['ckpt-sign'],
      );
      // The jobs' maintenance read lists every tenant's head, and nothing more.
      const maintenance = await t.db.transaction(async (tx) => {
        await tx.query(`select set_config('app.timeline_maintenance', 'on', true)`);
        const heads = await tx.query<{ tenant: string }>('select tenant from timeline_heads');
        const events = await tx.query<{ n: number }>('select count(*)::int as n from timeline_events');
        const written = await tx.query(`update timeline_heads set seq = seq where tenant = 'ckpt-sign'`);
        return { heads: heads.rows.map((r) => r.tenant), events: events.rows[0]!.n, updated: written.rowCount };
      });
      assert.ok(maintenance.heads.includes('ckpt-sign') && maintenance.heads.includes('acme'));
      assert.equal(maintenance.events, 0);
      assert.equal(maintenance.updated, 0, 'the maintenance policy admits reads only');
    });

    test('the database refuses changed checkpoints, and deletes outside the prune step or past the newest checkpoint', async () => {
      const tenant = 'ckpt-guard';
      await record(tenant, 3);
      await checkpoints.write(tenant);
      await record(tenant, 2);
      const inTenant = (sql: string, prune = false) =>
        t.db.transaction(
          async (tx) => {
            if (prune) await tx.query(`select set_config('app.timeline_prune', 'on', true)`);
            return tx.query(sql);
          },
          { tenant },
        );
      await assert.rejects(inTenant(`update timeline_checkpoints set created_at = now()`), /append-only/);
      await assert.rejects(inTenant('delete from timeline_checkpoints'), /append-only/);
      await assert.rejects(inTenant('delete from timeline_checkpoints', true), /append-only/, 'the only checkpoint');
      await assert.rejects(inTenant('delete from timeline_events where seq <= 3'), /append-only/);
      await assert.rejects(inTenant('delete from timeline_events where seq = 4', true), /append-only/);
      await assert.rejects(inTenant('delete from timeline_events', true), /append-only/);
      assert.deepEqual(await seqs(tenant), [1, 2, 3, 4, 5]);
    });

    test('a checkpoint whose signature was altered in the database fails verification with its id', async () => {
      const tenant = 'ckpt-tamper';
      await record(tenant, 3);
      const checkpoint = (await checkpoints.write(tenant)).checkpoint!;
      assert.equal((await checkpoints.verify(tenant)).ok, true);
      const sig = Buffer.from(checkpoint.envelope.signatures[0]!.sig, 'base64');
      sig[0] = sig[0]! ^ 0xff;
      const envelope = {
        ...checkpoint.envelope,
        signatures: [{ keyid: checkpoint.keyid, sig: sig.toString('base64') }],
      };
      await t.db.transaction(
        async (tx) => {
          // Someone with the database's owner role: the append-only trigger is switched off around the edit.
          await tx.query('alter table timeline_checkpoints disable trigger timeline_checkpoints_append_only');
          await tx.query('update timeline_checkpoints set envelope = $2 where tenant = $1', [
            tenant,
            JSON.stringify(envelope),
          ]);
          await tx.query('alter table timeline_checkpoints enable trigger timeline_checkpoints_append_only');
        },
        { tenant },
      );
      const verdict = await checkpoints.verify(tenant);
      assert.equal(verdict.ok, false);
      assert.equal(verdict.invalidCheckpoint?.checkpointId, checkpoint.checkpointId);
      assert.match(verdict.invalidCheckpoint!.reason, /signature does not verify/);
      assert.equal(verdict.checked, 3, 'the events themselves verified');
    });
  });
});
