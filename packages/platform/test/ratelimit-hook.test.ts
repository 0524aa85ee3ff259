// The Fastify onRequest hook over real HTTP injection: X-RateLimit-* headers when allowed, and on a
// denial a 429 with Retry-After, the same headers and exactly the spec's JSON body.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createRateLimiter, type RateLimiter, rateLimitHook } from '../src/ratelimit/index.ts';

const T0 = 1_700_000_040_000;

describe('rate-limit Fastify hook', () => {
  let app: FastifyInstance;
  let limiter: RateLimiter;
  let handled = 0;

  before(async () => {
    limiter = createRateLimiter(
      {
        process_back_pressure_when_more_than_per_5min: 0,
        for_instance: { rules: [{ per_seconds: 60, max_requests: 2 }] },
      },
      { registry: new Registry(), now: () => T0 },
    );
    app = Fastify();
    app.addHook(
      'onRequest',
      rateLimitHook(limiter, {
        microservice: (req) => (req.url.startsWith('/health') ? 'unlimited' : 'scanner'),
        key: (req) => req.headers['x-stella-tenant'] as string | undefined,
      }),
    );
    app.get('/api/scans', async () => {
      handled++;
      return { ok: true };
    });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await limiter.close();
  });

  test('allowed requests carry X-RateLimit-* and reach the handler; the next one gets the 429 contract', async () => {
    const tenant = { 'x-stella-tenant': 'acme' };
    for (const remaining of ['1', '0']) {
      const res = await app.inject({ url: '/api/scans', headers: tenant });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-ratelimit-limit'], '2');
      assert.equal(res.headers['x-ratelimit-remaining'], remaining);
      assert.equal(res.headers['x-ratelimit-reset'], String((T0 + 60_000) / 1000));
    }
    assert.equal(handled, 2);

    const res = await app.inject({ url: '/api/scans', headers: tenant });
    assert.equal(res.statusCode, 429);
    assert.equal(handled, 2, 'the route handler did not run');
    assert.equal(res.headers['retry-after'], '60');
    assert.equal(res.headers['x-ratelimit-limit'], '2');
    assert.equal(res.headers['x-ratelimit-remaining'], '0');
    assert.equal(res.headers['x-ratelimit-reset'], String((T0 + 60_000) / 1000));
    assert.match(String(res.headers['content-type']), /^application\/json\b/);
    assert.deepEqual(JSON.parse(res.body), {
      error: 'rate_limit_exceeded',
      message: 'Rate limit exceeded. Try again in 60 seconds.',
      retryAfter: 60,
      limit: 2,
      current: 3,
      window: 60,
      scope: 'instance',
    });
    assert.deepEqual(Object.keys(JSON.parse(res.body)), [
      'error',
      'message',
      'retryAfter',
      'limit',
      'current',
      'window',
      'scope',
    ]);
  });

  test('another tenant key is counted on its own', async () => {
    const res = await app.inject({ url: '/api/scans', headers: { 'x-stella-tenant': 'globex' } });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-remaining'], '1');
  });

  test('a request no rule covers gets no X-RateLimit-* headers', async () => {
    const unlimited = createRateLimiter(null, { registry: new Registry() });
    const bare = Fastify();
    bare.addHook('onRequest', rateLimitHook(unlimited, { microservice: () => 'scanner' }));
    bare.get('/health', async () => 'ok');
    const res = await bare.inject({ url: '/health' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-ratelimit-limit'], undefined);
    await bare.close();
  });
});
