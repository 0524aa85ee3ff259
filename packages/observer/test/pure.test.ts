// SPDX-License-Identifier: Apache-2.0
// The observer's pure parts: token bucket, CPU window, backoff, Retry-After, batch order and encoding.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  BACKOFF_MAX_MS,
  backoffDelay,
  CpuGuard,
  encodeBody,
  GZIP_THRESHOLD_BYTES,
  parseRetryAfter,
  type RuntimeEvent,
  sortEvents,
  TokenBucket,
  toNdjson,
} from '../src/index.ts';

test('token bucket: one second of burst, then the rate; a clock stepping back mints nothing', () => {
  const bucket = new TokenBucket(5, 0);
  const taken = Array.from({ length: 8 }, () => bucket.take(0)).filter(Boolean).length;
  assert.equal(taken, 5);
  assert.equal(bucket.take(199), false, 'less than one token refilled');
  assert.equal(bucket.take(200), true, '200 ms at 5/s is one token');
  assert.equal(bucket.take(-10_000), false);
  assert.equal(Array.from({ length: 10 }, () => bucket.take(60_000)).filter(Boolean).length, 5, 'capped at the burst');
});

test('CPU guard: the share of one core over a 10 s window, forgotten as the window slides', () => {
  const guard = new CpuGuard(35);
  guard.add(3_000_000, 1_000); // 3 s of CPU in a 10 s window: 30 %
  assert.equal(guard.percent(1_000), 30);
  assert.equal(guard.over(1_000), false);
  guard.add(1_000_000, 2_000);
  assert.equal(guard.over(2_000), true);
  assert.equal(guard.over(11_500), false, 'the first slice left the window');
  assert.equal(guard.percent(30_000), 0);
});

test('backoff: 1 s doubling to 60 s, jittered between half and the whole ceiling', () => {
  assert.deepEqual(
    [1, 2, 3, 7, 20].map((n) => backoffDelay(n, () => 1)),
    [1000, 2000, 4000, BACKOFF_MAX_MS, BACKOFF_MAX_MS],
  );
  assert.deepEqual(
    [1, 2, 7].map((n) => backoffDelay(n, () => 0)),
    [500, 1000, 30_000],
  );
  assert.equal(
    backoffDelay(0, () => 1),
    1000,
    'attempt 0 is treated as the first',
  );
});

test('Retry-After: delay-seconds, HTTP date, past dates, garbage and the cap', () => {
  const now = Date.parse('2026-01-05T10:00:00Z');
  assert.equal(parseRetryAfter('3', now), 3000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Mon, 05 Jan 2026 10:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Mon, 05 Jan 2026 09:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('999999', now), 3_600_000);
  for (const bad of [undefined, null, '', 'soon', '-1', '1.5', '2026-01-05'])
    assert.equal(parseRetryAfter(bad, now), undefined);
});

test('batches sort by observedAt then symbolId, stably, and serialise with sorted keys', () => {
  const e = (symbolId: string, observedAt: string, hitCount = 1): RuntimeEvent => ({ symbolId, observedAt, hitCount });
  const events = [
    e('b', '2026-01-05T10:00:01Z'),
    e('b', '2026-01-05T10:00:00Z', 2),
    e('a', '2026-01-05T10:00:01Z'),
    e('b', '2026-01-05T10:00:00Z', 3),
  ];
  assert.deepEqual(
    sortEvents(events).map((x) => `${x.observedAt.slice(17, 19)}${x.symbolId}${x.hitCount}`),
    ['00b2', '00b3', '01a1', '01b1'],
  );
  assert.equal(
    toNdjson([
      { symbolId: 's', observedAt: '2026-01-05T10:00:00Z', hitCount: 1, metadata: { z: '1', a: '2' } },
    ]).toString(),
    '{"hitCount":1,"metadata":{"a":"2","z":"1"},"observedAt":"2026-01-05T10:00:00Z","symbolId":"s"}\n',
  );
});

test('bodies over 64 KiB are gzip (level 6, the same bytes every time); smaller ones are sent as they are', () => {
  const small = Buffer.alloc(GZIP_THRESHOLD_BYTES, 'a');
  assert.deepEqual(encodeBody(small), { body: small, gzip: false });
  const large = Buffer.alloc(GZIP_THRESHOLD_BYTES + 1, 'a');
  const encoded = encodeBody(large);
  assert.equal(encoded.gzip, true);
  assert.deepEqual(gunzipSync(encoded.body), large);
  assert.deepEqual(encodeBody(large).body, encoded.body);
});

test('spool: opening removes a stale temp file (a crashed write) but leaves a fresh one (another observer writing now)', async () => {
  const { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { Spool } = await import('../src/transport/spool.ts');
  const dir = mkdtempSync(join(tmpdir(), 'stella-spool-'));
  try {
    writeFileSync(join(dir, '.tmp-stale.batch'), 'x');
    const old = new Date(Date.now() - 120_000);
    utimesSync(join(dir, '.tmp-stale.batch'), old, old);
    writeFileSync(join(dir, '.tmp-fresh.batch'), 'x');
    new Spool(dir, 1 << 20).openSync();
    assert.deepEqual(readdirSync(dir).sort(), ['.tmp-fresh.batch', 'rejected']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
