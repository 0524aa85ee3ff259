// Per-instance sliding window: allow N then deny with a retry-after, slide rather than reset, AND the
// rules, report the most restrictive one, bound memory. Time is a fake clock; nothing sleeps.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createRateLimiter, createSlidingWindowLimiter, type RateLimitRuleConfig } from '../src/ratelimit/index.ts';

/** A minute boundary, so window arithmetic in the assertions stays readable. */
const T0 = 1_700_000_040_000;

function instanceLimiter(rules: RateLimitRuleConfig[]) {
  const clock = { t: T0 };
  const registry = new Registry();
  const limiter = createRateLimiter(
    { process_back_pressure_when_more_than_per_5min: 0, for_instance: { rules } },
    { registry, now: () => clock.t },
  );
  const check = (key?: string) => limiter.check({ microservice: 'scanner', path: '/api/scans', key });
  return { clock, registry, limiter, check };
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const row = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return row?.value ?? 0;
}

describe('instance sliding window', () => {
  test('allows N, denies the next with a retry-after, and allows again once the window has passed', async () => {
    const { clock, check } = instanceLimiter([{ per_seconds: 60, max_requests: 3 }]);
    for (const remaining of [2, 1, 0]) {
      const d = await check();
      assert.equal(d.allowed, true);
      assert.equal(d.scope, 'instance');
      assert.equal(d.limit, 3);
      assert.equal(d.remaining, remaining);
    }
    const denied = await check();
    assert.deepEqual(denied, {
      allowed: false,
      scope: 'instance',
      limit: 3,
      remaining: 0,
      resetAt: (T0 + 60_000) / 1000,
      retryAfterSeconds: 60,
      windowSeconds: 60,
      current: 4,
    });

    clock.t = T0 + 59_999;
    assert.equal((await check()).allowed, false, 'still inside the window');
    clock.t = T0 + 60_000;
    const again = await check();
    assert.equal(again.allowed, true);
    assert.equal(again.remaining, 2, 'the three old requests have all left the window');
  });

  test('the window slides: only the oldest requests have to leave, not the whole window', async () => {
    const { clock, check } = instanceLimiter([{ per_seconds: 60, max_requests: 3 }]);
    await check();
    await check();
    clock.t = T0 + 30_000;
    await check();
    clock.t = T0 + 40_000;
    const denied = await check();
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterSeconds, 20, 'the two requests of T0 leave at T0+60 s');

    clock.t = T0 + 60_000;
    assert.equal((await check()).allowed, true);
    assert.equal((await check()).allowed, true);
    const full = await check();
    assert.equal(full.allowed, false, 'a fixed window would have reset to zero here');
    assert.equal(full.retryAfterSeconds, 30, 'the request of T0+30 s leaves at T0+90 s');
  });

  test('a denied request is not counted against the window', async () => {
    const { clock, check } = instanceLimiter([{ per_seconds: 10, max_requests: 1 }]);
    await check();
    for (let i = 0; i < 5; i++) {
      clock.t += 1000;
      assert.equal((await check()).allowed, false);
    }
    clock.t = T0 + 10_000;
    assert.equal((await check()).allowed, true, 'retries while denied did not extend the wait');
  });

  test('each key (client) has its own window', async () => {
    const { check } = instanceLimiter([{ per_seconds: 60, max_requests: 1 }]);
    assert.equal((await check('tenant-a')).allowed, true);
    assert.equal((await check('tenant-a')).allowed, false);
    assert.equal((await check('tenant-b')).allowed, true);
  });

  test('rules are ANDed and a denial carries the most restrictive retry-after', async () => {
    const { clock, check } = instanceLimiter([
      { per_seconds: 1, max_requests: 2 },
      { per_seconds: 10, max_requests: 3 },
    ]);
    await check();
    await check();
    const shortOnly = await check();
    assert.equal(shortOnly.allowed, false, 'the 1 s rule alone denies');
    assert.equal(shortOnly.windowSeconds, 1);
    assert.equal(shortOnly.retryAfterSeconds, 1);

    clock.t = T0 + 1000;
    assert.equal((await check()).allowed, true);
    clock.t = T0 + 1100;
    const longOnly = await check();
    assert.equal(longOnly.allowed, false, 'the 1 s rule allows, the 10 s rule denies');
    assert.equal(longOnly.windowSeconds, 10);
    assert.equal(longOnly.retryAfterSeconds, 9);
  });

  test('when several rules are exceeded, the longest wait wins', async () => {
    const { check } = instanceLimiter([
      { per_seconds: 1, max_requests: 2 },
      { per_seconds: 10, max_requests: 2 },
    ]);
    await check();
    await check();
    const denied = await check();
    assert.equal(denied.allowed, false);
    assert.equal(denied.retryAfterSeconds, 10);
    assert.equal(denied.windowSeconds, 10);
    assert.equal(denied.limit, 2);
  });

  test('an allowed decision reports the rule with the fewest requests left', async () => {
    const { check } = instanceLimiter([
      { per_seconds: 1, max_requests: 10 },
      { per_seconds: 60, max_requests: 3 },
    ]);
    const d = await check();
    assert.equal(d.limit, 3);
    assert.equal(d.remaining, 2);
    assert.equal(d.windowSeconds, 60);
    assert.equal(d.resetAt, (T0 + 60_000) / 1000);
  });

  test('without rules every request is allowed with scope none', async () => {
    const limiter = createRateLimiter(null, { registry: new Registry() });
    const d = await limiter.check({ microservice: 'scanner', path: '/' });
    assert.equal(d.allowed, true);
    assert.equal(d.scope, 'none');
  });

  test('decisions are counted by scope, decision and microservice', async () => {
    const { registry, check } = instanceLimiter([{ per_seconds: 60, max_requests: 1 }]);
    await check();
    await check();
    await check();
    const labels = { scope: 'instance', microservice: 'scanner' };
    assert.equal(await counterValue(registry, 'router_ratelimit_decisions_total', { ...labels, decision: 'allow' }), 1);
    assert.equal(await counterValue(registry, 'router_ratelimit_decisions_total', { ...labels, decision: 'deny' }), 2);
  });

  test('the microservice label is bounded; unknown names beyond the cap become "other"', async () => {
    const registry = new Registry();
    const limiter = createRateLimiter(
      { for_instance: { rules: [{ per_seconds: 60, max_requests: 10 }] } },
      { registry, now: () => T0 },
    );
    for (let i = 0; i < 100; i++) await limiter.check({ microservice: `svc-${i}`, path: '/' });
    const metric = await registry.getSingleMetric('router_ratelimit_decisions_total')?.get();
    const names = new Set(metric?.values.map((v) => v.labels.microservice));
    assert.ok(names.size <= 65, `got ${names.size} label values`);
    assert.ok(names.has('other'));
  });
});

describe('sliding window memory bound', () => {
  test('keys idle longer than the largest window are evicted', () => {
    const window = createSlidingWindowLimiter([
      { windowMs: 1000, maxRequests: 5 },
      { windowMs: 5000, maxRequests: 50 },
    ]);
    for (let i = 0; i < 500; i++) window.tryAcquire(`k${i}`, T0);
    assert.equal(window.size(), 500);
    window.tryAcquire('late', T0 + 4000);
    assert.equal(window.size(), 501, 'still inside the 5 s window');
    window.tryAcquire('later', T0 + 5001);
    assert.equal(window.size(), 2, 'only keys seen within the last 5 s remain');
  });

  test('past maxKeys the least recently seen key goes first', () => {
    const window = createSlidingWindowLimiter([{ windowMs: 60_000, maxRequests: 1 }], { maxKeys: 10 });
    for (let i = 0; i < 10; i++) window.tryAcquire(`k${i}`, T0);
    window.tryAcquire('k0', T0 + 1); // k0 denied but now most recently seen
    window.tryAcquire('k10', T0 + 2); // evicts k1, the least recently seen
    assert.equal(window.size(), 10);
    assert.equal(window.tryAcquire('k0', T0 + 3).allowed, false, 'k0 kept its count');
    assert.equal(window.tryAcquire('k1', T0 + 4).allowed, true, 'k1 was evicted and starts afresh');
  });
});
