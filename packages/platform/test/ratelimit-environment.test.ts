// Environment scope against a real redis-server: a window shared by two limiter instances, rule
// inheritance at environment scope, the activation gate, fail-open and the circuit breaker.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { freePort, type RedisServer, startRedis, waitFor } from '@stella/testkit';
import Fastify from 'fastify';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { createRateLimiter, createValkeyClient, type RateLimitConfig, rateLimitHook } from '../src/ratelimit/index.ts';

/** A minute boundary, so 60 s windows start exactly here. */
const T0 = 1_700_000_040_000;
/** ioredis reconnects with a backoff capped at 2 s; 10 s is ample without hanging the suite. */
async function connectedClient(url: string): Promise<Redis> {
  const client = createValkeyClient(url);
  await waitFor('the Valkey client to connect', () => client.status === 'ready');
  return client;
}

async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = await registry.getSingleMetric(name)?.get();
  const row = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return row?.value ?? 0;
}

function environmentConfig(bucket: string, overrides: Partial<RateLimitConfig> = {}): RateLimitConfig {
  return {
    process_back_pressure_when_more_than_per_5min: 0,
    ...overrides,
    for_environment: {
      valkey_connection: '',
      valkey_bucket: bucket,
      circuit_breaker: { failure_threshold: 3, timeout_seconds: 30, half_open_timeout: 10 },
      rules: [{ per_seconds: 60, max_requests: 3 }],
      ...overrides.for_environment,
    },
  };
}

describe('environment rate limiting on redis-server', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const client = async () => {
    const c = await connectedClient(server.url);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await server.stop();
  });

  test('two limiter instances share one environment window', async () => {
    const bucket = `test-${randomUUID()}`;
    const clock = { t: T0 };
    const [redisA, redisB] = [await client(), await client()];
    const config = environmentConfig(bucket);
    const a = createRateLimiter(config, { redis: redisA, registry: new Registry(), now: () => clock.t });
    const b = createRateLimiter(config, { redis: redisB, registry: new Registry(), now: () => clock.t });
    const request = { microservice: 'scanner', path: '/api/scans' };

    for (const remaining of [2, 1, 0]) {
      const d = await a.check(request);
      assert.equal(d.allowed, true);
      assert.equal(d.scope, 'environment');
      assert.equal(d.remaining, remaining);
    }
    const denied = await b.check(request);
    assert.deepEqual(denied, {
      allowed: false,
      scope: 'environment',
      limit: 3,
      remaining: 0,
      resetAt: (T0 + 60_000) / 1000,
      retryAfterSeconds: 60,
      windowSeconds: 60,
      current: 4,
    });
    assert.equal((await b.check({ ...request, key: 'tenant-b' })).allowed, true, 'another client key counts apart');

    // <bucket>:<scope>:<key>:<windowStart>, expiring with its window; the denial did not add to it.
    const key = `${bucket}:scanner/60s::${T0 / 1000}`;
    assert.equal(await redisA.get(key), '3');
    const ttl = await redisA.pttl(key);
    assert.ok(ttl > 0 && ttl <= 60_000, `ttl ${ttl}`);

    clock.t = T0 + 60_000;
    const next = await b.check(request);
    assert.equal(next.allowed, true, 'a new fixed window starts from zero');
    assert.equal(next.remaining, 2);
    await a.close();
    await b.close();
  });

  test('route and microservice rules replace their parents at environment scope', async () => {
    const config = environmentConfig(`test-${randomUUID()}`, {
      for_environment: {
        valkey_connection: '',
        valkey_bucket: `test-${randomUUID()}`,
        circuit_breaker: { failure_threshold: 3, timeout_seconds: 30, half_open_timeout: 10 },
        rules: [{ per_seconds: 60, max_requests: 2 }],
        microservices: {
          scanner: {
            rules: [{ per_seconds: 60, max_requests: 5 }],
            routes: {
              submit: { pattern: '/api/scans', match_type: 'exact', rules: [{ per_seconds: 60, max_requests: 10 }] },
            },
          },
        },
      },
    });
    const limiter = createRateLimiter(config, { redis: await client(), registry: new Registry(), now: () => T0 });
    const allowedCount = async (microservice: string, path: string) => {
      let n = 0;
      while ((await limiter.check({ microservice, path })).allowed) n++;
      return n;
    };
    assert.equal(await allowedCount('export', '/x'), 2, 'an unconfigured microservice gets the environment rules');
    // Merging with the parent would cap these at 2 and 5.
    assert.equal(await allowedCount('scanner', '/api/reports'), 5, 'the microservice rules replace the environment');
    assert.equal(await allowedCount('scanner', '/API/Scans/'), 10, 'the route rules replace the microservice');
    await limiter.close();
  });

  test('environment checks start only past the activation gate', async () => {
    const config = environmentConfig(`test-${randomUUID()}`, { process_back_pressure_when_more_than_per_5min: 3 });
    config.for_environment!.rules = [{ per_seconds: 60, max_requests: 1 }];
    const limiter = createRateLimiter(config, { redis: await client(), registry: new Registry(), now: () => T0 });
    const request = { microservice: 'scanner', path: '/' };
    for (let i = 0; i < 3; i++) {
      const d = await limiter.check(request);
      assert.equal(d.allowed, true);
      assert.equal(d.scope, 'none', `request ${i + 1} is under the gate, so Valkey is not asked`);
    }
    const first = await limiter.check(request);
    assert.equal(first.scope, 'environment', 'the 4th request in 5 min opens the gate');
    assert.equal(first.allowed, true);
    assert.equal((await limiter.check(request)).allowed, false);
    await limiter.close();
  });

  test('the Fastify hook answers an environment denial with the spec body', async () => {
    const config = environmentConfig(`test-${randomUUID()}`);
    config.for_environment!.rules = [{ per_seconds: 60, max_requests: 1 }];
    const limiter = createRateLimiter(config, { redis: await client(), registry: new Registry(), now: () => T0 });
    const app = Fastify();
    app.addHook('onRequest', rateLimitHook(limiter, { microservice: () => 'scanner' }));
    app.get('/api/scans', async () => ({ ok: true }));
    assert.equal((await app.inject({ url: '/api/scans' })).statusCode, 200);
    const res = await app.inject({ url: '/api/scans?page=2' });
    assert.equal(res.statusCode, 429);
    assert.equal(res.headers['retry-after'], '60');
    assert.deepEqual(res.json(), {
      error: 'rate_limit_exceeded',
      message: 'Rate limit exceeded. Try again in 60 seconds.',
      retryAfter: 60,
      limit: 1,
      current: 2,
      window: 60,
      scope: 'environment',
    });
    await app.close();
    await limiter.close();
  });

  test('after an outage the breaker half-opens, probes a restarted server and closes', async () => {
    const own = await startRedis();
    const redis = createValkeyClient(own.url);
    await waitFor('the Valkey client to connect', () => redis.status === 'ready');
    const clock = { t: T0 };
    const registry = new Registry();
    const config = environmentConfig(`test-${randomUUID()}`);
    config.for_environment!.rules = [{ per_seconds: 60, max_requests: 100 }];
    const limiter = createRateLimiter(config, { redis, registry, now: () => clock.t });
    const request = { microservice: 'scanner', path: '/' };
    let restarted: RedisServer | undefined;
    try {
      assert.equal((await limiter.check(request)).scope, 'environment');

      await own.stop();
      await waitFor('the client to notice the outage', () => redis.status !== 'ready');
      for (let i = 0; i < 3; i++) assert.equal((await limiter.check(request)).allowed, true);
      assert.equal(await metricValue(registry, 'router_ratelimit_valkey_errors_total'), 3);
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 1);

      restarted = await startRedis({ port: own.port });
      await waitFor('the client to reconnect', () => redis.status === 'ready');
      assert.equal((await limiter.check(request)).scope, 'none', 'still open: Valkey is not asked yet');

      clock.t += 30_000;
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 2, 'half-open after timeout_seconds');
      const probe = await limiter.check(request);
      assert.equal(probe.scope, 'environment', 'the probe reached the restarted server');
      assert.equal(probe.remaining, 99, 'the restarted server kept no counts');
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 0);
      assert.equal(await metricValue(registry, 'router_ratelimit_valkey_errors_total'), 3);
    } finally {
      await limiter.close();
      redis.disconnect();
      await restarted?.stop();
    }
  });
});

describe('environment rate limiting with Valkey unreachable', () => {
  test('fails open, counts errors, opens the breaker, stops calling Valkey, then half-opens', async () => {
    const redis = createValkeyClient(`127.0.0.1:${await freePort()}`); // nothing listens there
    let calls = 0;
    const evalsha = redis.evalsha;
    Object.assign(redis, {
      evalsha(...args: unknown[]) {
        calls++;
        return Reflect.apply(evalsha, redis, args);
      },
    });
    const clock = { t: T0 };
    const registry = new Registry();
    const config = environmentConfig(`test-${randomUUID()}`, {
      for_instance: { rules: [{ per_seconds: 60, max_requests: 100 }] },
    });
    // With Valkey up, the second request would be denied.
    config.for_environment!.rules = [{ per_seconds: 60, max_requests: 1 }];
    const limiter = createRateLimiter(config, { redis, registry, now: () => clock.t });
    const request = { microservice: 'scanner', path: '/' };
    try {
      for (let i = 1; i <= 3; i++) {
        const d = await limiter.check(request);
        assert.equal(d.allowed, true, 'fail open');
        assert.equal(d.scope, 'instance', 'instance limits still apply while Valkey is away');
        assert.equal(await metricValue(registry, 'router_ratelimit_valkey_errors_total'), i);
      }
      assert.equal(calls, 3);
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 1, 'open after failure_threshold');

      for (let i = 0; i < 5; i++) assert.equal((await limiter.check(request)).allowed, true);
      assert.equal(calls, 3, 'an open breaker does not call Valkey');
      assert.equal(await metricValue(registry, 'router_ratelimit_valkey_errors_total'), 3);

      clock.t += 29_999;
      await limiter.check(request);
      assert.equal(calls, 3, 'still open just before timeout_seconds');
      clock.t += 1;
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 2);
      assert.equal((await limiter.check(request)).allowed, true);
      assert.equal(calls, 4, 'half-open lets exactly one probe through');
      assert.equal(await metricValue(registry, 'router_ratelimit_valkey_errors_total'), 4);
      assert.equal(await metricValue(registry, 'router_ratelimit_circuit_state'), 1, 'a failed probe reopens it');
      await limiter.check(request);
      assert.equal(calls, 4);
      assert.equal(
        await metricValue(registry, 'router_ratelimit_decisions_total', { scope: 'instance', decision: 'allow' }),
        11,
      );
    } finally {
      await limiter.close();
      redis.disconnect();
    }
  });
});
