// The router rate limiter: the per-instance sliding window first, then, past the activation gate, the
// environment-wide Valkey window for the request's route, microservice or environment rules.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type CompiledRateLimitConfig,
  compileRateLimitConfig,
  type RateLimitConfig,
  resolveEnvironmentRules,
} from './config.ts';
import { CIRCUIT_STATE_VALUE, createCircuitBreaker, createEnvironmentStore } from './environment-store.ts';
import { createSlidingWindowLimiter, type WindowOutcome, type WindowRuleOutcome } from './sliding-window.ts';

/** The activation gate looks at the last 5 minutes, as its config key says. */
const ACTIVATION_WINDOW_MS = 5 * 60 * 1000;
/**
 * Distinct microservice label values per registry. The name comes from the request's routing, so an
 * unbounded set would let traffic grow the metrics without limit; the rest are reported as "other".
 */
const MAX_MICROSERVICE_LABELS = 64;
/** Client keys longer than this are hashed, so a huge key cannot bloat memory or Valkey key names. */
const MAX_CLIENT_KEY_LENGTH = 128;

export type RateLimitScope = 'instance' | 'environment' | 'none';

export interface RateLimitRequest {
  microservice: string;
  /** URL path without the query string. */
  path: string;
  /** Who is counted (client id, tenant). Absent: everyone calling the microservice shares one count. */
  key?: string;
}

/**
 * limit/remaining/current/windowSeconds/resetAt describe the most restrictive rule that applied; on a
 * denial, the exceeded rule with the longest wait. With scope "none" no rule applied and they are 0.
 */
export interface RateLimitDecision {
  allowed: boolean;
  scope: RateLimitScope;
  limit: number;
  remaining: number;
  /** Unix seconds. */
  resetAt: number;
  /** 0 when allowed. */
  retryAfterSeconds: number;
  windowSeconds: number;
  /** Requests in the window, counting this one. */
  current: number;
}

export interface RateLimiterDeps {
  /** Environment limits need it; without one they are off and only instance limits apply. Not closed by close(). */
  redis?: Redis;
  registry: Registry;
  now?: () => number;
}

export interface RateLimiter {
  check(request: RateLimitRequest): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export function createRateLimiter(
  config: RateLimitConfig | CompiledRateLimitConfig | null | undefined,
  deps: RateLimiterDeps,
): RateLimiter {
  const compiled = isCompiled(config) ? config : compileRateLimitConfig(config);
  const now = deps.now ?? Date.now;
  const metrics = metricsFor(deps.registry);

  const instance = compiled.instanceRules.length > 0 ? createSlidingWindowLimiter(compiled.instanceRules) : undefined;
  const activationGate =
    compiled.activationThreshold > 0
      ? createSlidingWindowLimiter([{ windowMs: ACTIVATION_WINDOW_MS, maxRequests: Number.MAX_SAFE_INTEGER }])
      : undefined;

  const env = compiled.environment;
  const breaker = env && createCircuitBreaker({ ...env.circuitBreaker, now: () => now() });
  const store =
    env &&
    breaker &&
    deps.redis &&
    createEnvironmentStore({
      redis: deps.redis,
      bucket: env.bucket,
      breaker,
      onError: () => metrics.valkeyErrors.inc(),
    });
  const circuitSource = () => (breaker ? CIRCUIT_STATE_VALUE[breaker.state()] : CIRCUIT_STATE_VALUE.closed);
  metrics.circuitSource = circuitSource;

  const configured = new Set(env?.microservices.keys() ?? []);
  const label = (microservice: string): string => {
    if (configured.has(microservice) || metrics.labels.has(microservice)) return microservice;
    if (metrics.labels.size < MAX_MICROSERVICE_LABELS) {
      metrics.labels.add(microservice);
      return microservice;
    }
    return 'other';
  };
  const finish = (request: RateLimitRequest, decision: RateLimitDecision): RateLimitDecision => {
    metrics.decisions.inc({
      scope: decision.scope,
      decision: decision.allowed ? 'allow' : 'deny',
      microservice: label(request.microservice),
    });
    return decision;
  };

  return {
    async check(request) {
      const nowMs = now();
      const clientKey = boundClientKey(request.key);
      // Counted before the instance check: the gate measures the traffic this instance sees, served or not.
      const recent = activationGate?.tryAcquire('', nowMs).rules[0]?.current ?? 0;

      const applied: Array<{ scope: RateLimitScope; outcome: WindowRuleOutcome }> = [];
      if (instance) {
        const outcome = instance.tryAcquire(`${request.microservice}\u0000${clientKey}`, nowMs);
        if (!outcome.allowed) return finish(request, denial('instance', outcome, nowMs));
        for (const o of outcome.rules) applied.push({ scope: 'instance', outcome: o });
      }

      const gateOpen = compiled.activationThreshold === 0 || recent > compiled.activationThreshold;
      if (store && env && gateOpen) {
        const resolved = resolveEnvironmentRules(env, request.microservice, request.path);
        if (resolved) {
          const outcome = await store.consume(resolved.target, encodeURIComponent(clientKey), resolved.rules, nowMs);
          if (outcome && !outcome.allowed) return finish(request, denial('environment', outcome, nowMs));
          for (const o of outcome?.rules ?? []) applied.push({ scope: 'environment', outcome: o });
        }
      }
      return finish(request, allowance(applied));
    },
    async close() {
      instance?.clear();
      activationGate?.clear();
      if (metrics.circuitSource === circuitSource) metrics.circuitSource = undefined;
    },
  };
}

function isCompiled(config: unknown): config is CompiledRateLimitConfig {
  return typeof config === 'object' && config !== null && (config as { compiled?: unknown }).compiled === true;
}

function boundClientKey(key: string | undefined): string {
  if (key === undefined) return '';
  return key.length > MAX_CLIENT_KEY_LENGTH ? `sha256-${createHash('sha256').update(key).digest('hex')}` : key;
}

/** Every rule must hold, so the client has to wait for the slowest exceeded rule to free up. */
function denial(scope: RateLimitScope, outcome: WindowOutcome, nowMs: number): RateLimitDecision {
  const exceeded = outcome.rules.filter((o) => o.exceeded);
  const worst = exceeded.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
  return {
    allowed: false,
    scope,
    limit: worst.rule.maxRequests,
    remaining: 0,
    resetAt: Math.ceil((nowMs + worst.retryAfterMs) / 1000),
    retryAfterSeconds: Math.ceil(worst.retryAfterMs / 1000),
    windowSeconds: worst.rule.windowMs / 1000,
    current: worst.current,
  };
}

/** The rule with the fewest requests left is the one a client will hit first; ties go to the longer window. */
function allowance(applied: Array<{ scope: RateLimitScope; outcome: WindowRuleOutcome }>): RateLimitDecision {
  if (applied.length === 0) {
    return {
      allowed: true,
      scope: 'none',
      limit: 0,
      remaining: 0,
      resetAt: 0,
      retryAfterSeconds: 0,
      windowSeconds: 0,
      current: 0,
    };
  }
  const tightest = applied.reduce((a, b) =>
    b.outcome.remaining < a.outcome.remaining ||
    (b.outcome.remaining === a.outcome.remaining && b.outcome.rule.windowMs > a.outcome.rule.windowMs)
      ? b
      : a,
  );
  const { outcome } = tightest;
  return {
    allowed: true,
    scope: tightest.scope,
    limit: outcome.rule.maxRequests,
    remaining: outcome.remaining,
    resetAt: Math.ceil(outcome.resetAtMs / 1000),
    retryAfterSeconds: 0,
    windowSeconds: outcome.rule.windowMs / 1000,
    current: outcome.current,
  };
}

interface RateLimitMetrics {
  decisions: Counter<'scope' | 'decision' | 'microservice'>;
  valkeyErrors: Counter;
  /** The latest limiter on this registry reports its breaker; a second limiter on one registry is rare. */
  circuitSource: (() => number) | undefined;
  labels: Set<string>;
}

// One set per registry: prom-client refuses to register a metric name twice, and a process may build a
// second limiter (reload, tests) on the same registry.
const metricsByRegistry = new WeakMap<Registry, RateLimitMetrics>();

function metricsFor(registry: Registry): RateLimitMetrics {
  const existing = metricsByRegistry.get(registry);
  if (existing) return existing;
  const metrics: RateLimitMetrics = {
    decisions: new Counter({
      name: 'router_ratelimit_decisions_total',
      help: 'Router rate-limit decisions by scope (instance, environment, none), decision (allow, deny) and microservice.',
      labelNames: ['scope', 'decision', 'microservice'],
      registers: [registry],
    }),
    valkeyErrors: new Counter({
      name: 'router_ratelimit_valkey_errors_total',
      help: 'Failed Valkey calls of the environment rate limiter; each one was allowed through (fail open).',
      registers: [registry],
    }),
    circuitSource: undefined,
    labels: new Set(),
  };
  new Gauge({
    name: 'router_ratelimit_circuit_state',
    help: 'Valkey circuit breaker of the environment rate limiter: 0 closed, 1 open, 2 half-open.',
    registers: [registry],
    collect() {
      this.set(metrics.circuitSource?.() ?? 0);
    },
  });
  metricsByRegistry.set(registry, metrics);
  return metrics;
}
