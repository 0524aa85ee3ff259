// Rate-limit configuration: validation errors name the key, regexes compile at start-up, routes
// resolve exact > longest prefix > longest regex, and each level replaces its parent's rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import {
  compileRateLimitConfig,
  createRateLimiter,
  type RateLimitConfig,
  resolveEnvironmentRules,
} from '../src/ratelimit/index.ts';

const minute = { per_seconds: 60, max_requests: 600 };

function environmentWith(microservices: NonNullable<RateLimitConfig['for_environment']>['microservices']) {
  const compiled = compileRateLimitConfig({
    for_environment: { valkey_connection: '127.0.0.1:6379', rules: [minute], microservices },
  });
  assert.ok(compiled.environment);
  return compiled.environment;
}

describe('rate-limit config validation', () => {
  test('defaults follow the spec: bucket, breaker 5/30/10 and the activation gate', () => {
    const compiled = compileRateLimitConfig({ rate_limiting: { for_environment: { rules: [minute] } } });
    assert.equal(compiled.activationThreshold, 5000);
    assert.equal(compiled.environment?.bucket, 'stella-router-rate-limit');
    assert.deepEqual(compiled.environment?.circuitBreaker, {
      failureThreshold: 5,
      openMs: 30_000,
      probeTimeoutMs: 10_000,
    });
    assert.deepEqual(compiled.environment?.rules, [{ perSeconds: 60, windowMs: 60_000, maxRequests: 600 }]);
  });

  test('null config means no limits', () => {
    const compiled = compileRateLimitConfig(null);
    assert.deepEqual(compiled.instanceRules, []);
    assert.equal(compiled.environment, undefined);
  });

  test('an out-of-range rule is rejected with the key that holds it', () => {
    assert.throws(
      () => compileRateLimitConfig({ for_instance: { rules: [{ per_seconds: 60, max_requests: 0 }] } }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.match(error.message, /rate_limiting\.for_instance\.rules\.0\.max_requests/);
        return true;
      },
    );
  });

  test('an unknown key is rejected by name', () => {
    assert.throws(
      () => compileRateLimitConfig({ for_instance: { rules: [], burst: 5 } }),
      /rate_limiting\.for_instance\.burst/,
    );
  });

  test('an unknown match_type is rejected', () => {
    assert.throws(
      () =>
        compileRateLimitConfig({
          for_environment: { microservices: { scanner: { routes: { r: { pattern: '/x', match_type: 'glob' } } } } },
        }),
      /rate_limiting\.for_environment\.microservices\.scanner\.routes\.r\.match_type .*\(exact, prefix, regex\)/,
    );
  });

  test('an invalid regex fails at compile time, naming the route', () => {
    const config = {
      for_environment: {
        microservices: { scanner: { routes: { scan_by_id: { pattern: '^/api/scans/(', match_type: 'regex' } } } },
      },
    };
    assert.throws(
      () => compileRateLimitConfig(config),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'ERR_CONFIG');
        assert.match(
          error.message,
          /microservices\.scanner\.routes\.scan_by_id\.pattern is not a valid regular expression/,
        );
        return true;
      },
    );
    // The limiter compiles too, so a bad pattern stops start-up rather than the first matching request.
    assert.throws(() => createRateLimiter(config as RateLimitConfig, { registry: new Registry() }), /scan_by_id/);
  });

  test('two exact routes for the same path (case and trailing slash ignored) are rejected', () => {
    assert.throws(
      () =>
        environmentWith({
          scanner: {
            routes: {
              one: { pattern: '/api/scans', match_type: 'exact', rules: [minute] },
              two: { pattern: '/API/Scans/', match_type: 'exact', rules: [minute] },
            },
          },
        }),
      /routes\.two\.pattern matches the same path as route one/,
    );
  });

  test('rules with the same window collapse to the strictest, so one request is not counted twice', () => {
    const compiled = compileRateLimitConfig({
      for_instance: {
        rules: [
          { per_seconds: 60, max_requests: 100 },
          { per_seconds: 1, max_requests: 10 },
          { per_seconds: 60, max_requests: 40 },
        ],
      },
    });
    assert.deepEqual(compiled.instanceRules, [
      { perSeconds: 1, windowMs: 1000, maxRequests: 10 },
      { perSeconds: 60, windowMs: 60_000, maxRequests: 40 },
    ]);
  });
});

describe('route precedence', () => {
  const rule = (n: number) => [{ per_seconds: 1, max_requests: n }];
  // Declared shortest first, so a "first declared wins" matcher would pick the wrong ones.
  const env = environmentWith({
    scanner: {
      rules: rule(1),
      routes: {
        regex_short: { pattern: '^/(api|v2)/', match_type: 'regex', rules: rule(2) },
        regex_long: { pattern: '^/(api|v2)/scans/[a-f0-9-]+$', match_type: 'regex', rules: rule(3) },
        prefix_short: { pattern: '/api/*', match_type: 'prefix', rules: rule(4) },
        prefix_long: { pattern: '/api/scans/*', match_type: 'prefix', rules: rule(5) },
        exact: { pattern: '/api/scans/abc', match_type: 'exact', rules: rule(6) },
      },
    },
  });
  const winner = (path: string) => resolveEnvironmentRules(env, 'scanner', path)?.target;

  test('exact beats prefix and regex, ignoring case and a trailing slash', () => {
    assert.equal(winner('/api/scans/abc'), 'scanner/exact');
    assert.equal(winner('/API/Scans/ABC/'), 'scanner/exact');
    assert.equal(winner('/api/scans/abc//'), 'scanner/exact');
  });

  test('the longest prefix wins, and any prefix beats a regex', () => {
    assert.equal(winner('/api/scans/def'), 'scanner/prefix_long'); // regex_long matches too
    assert.equal(winner('/api/other'), 'scanner/prefix_short');
  });

  test('prefix matching is literal: the trailing * is not a glob and case matters', () => {
    assert.equal(winner('/api/scans'), 'scanner/prefix_short');
    assert.equal(winner('/API/scans/def'), 'scanner'); // no prefix or regex matches upper case
  });

  test('the longest regex pattern wins among regexes', () => {
    assert.equal(winner('/v2/scans/abc-123'), 'scanner/regex_long');
    assert.equal(winner('/v2/other'), 'scanner/regex_short');
  });

  test('no route match falls back to the microservice rules', () => {
    const resolved = resolveEnvironmentRules(env, 'scanner', '/health');
    assert.equal(resolved?.level, 'microservice');
    assert.equal(resolved?.rules[0]?.maxRequests, 1);
  });
});

describe('rule inheritance replaces, never merges', () => {
  const env = environmentWith({
    scanner: {
      rules: [{ per_seconds: 10, max_requests: 5 }],
      routes: {
        submit: { pattern: '/api/scans', match_type: 'exact', rules: [{ per_seconds: 1, max_requests: 50 }] },
        status: { pattern: '/api/scans/*', match_type: 'prefix', rules: [] },
      },
    },
    quiet: {
      routes: { ping: { pattern: '/ping', match_type: 'exact', rules: [{ per_seconds: 5, max_requests: 1 }] } },
    },
  });

  test('a route with rules uses only them', () => {
    const resolved = resolveEnvironmentRules(env, 'scanner', '/api/scans');
    assert.deepEqual(resolved, {
      target: 'scanner/submit',
      level: 'route',
      rules: [{ perSeconds: 1, windowMs: 1000, maxRequests: 50 }],
    });
  });

  test('a microservice with rules uses only them, not the environment rules', () => {
    const resolved = resolveEnvironmentRules(env, 'scanner', '/api/reports');
    assert.deepEqual(resolved?.rules, [{ perSeconds: 10, windowMs: 10_000, maxRequests: 5 }]);
  });

  test('a level without rules falls through to the next less specific one, sharing its counter', () => {
    const resolved = resolveEnvironmentRules(env, 'scanner', '/api/scans/123');
    assert.equal(resolved?.level, 'microservice');
    assert.equal(resolved?.target, 'scanner');
    const inherited = resolveEnvironmentRules(env, 'quiet', '/other');
    assert.equal(inherited?.level, 'environment');
    assert.deepEqual(inherited?.rules, [{ perSeconds: 60, windowMs: 60_000, maxRequests: 600 }]);
  });

  test('an unconfigured microservice gets the environment rules under its own counter', () => {
    const resolved = resolveEnvironmentRules(env, 'export/center', '/x');
    assert.equal(resolved?.level, 'environment');
    assert.equal(resolved?.target, 'export%2Fcenter');
  });
});
