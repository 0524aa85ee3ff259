// Router rate limiting (spec §4): per-instance sliding window plus environment-wide Valkey fixed window,
// configured by the `rate_limiting:` block and enforced by a Fastify onRequest hook.
export type {
  CompiledRateLimitConfig,
  CompiledRoute,
  RateLimitConfig,
  RateLimitRuleConfig,
  ResolvedRules,
  RouteMatchType,
} from './config.ts';
export { compileRateLimitConfig, RateLimitConfigSchema, resolveEnvironmentRules } from './config.ts';
export type { CircuitState } from './environment-store.ts';
export { createValkeyClient } from './environment-store.ts';
export type {
  RateLimitDecision,
  RateLimiter,
  RateLimiterDeps,
  RateLimitRequest,
  RateLimitScope,
} from './limiter.ts';
export { createRateLimiter } from './limiter.ts';
export type { RateLimitExceededBody, RateLimitHookOptions } from './plugin.ts';
export { rateLimitHook } from './plugin.ts';
export type { SlidingWindowLimiter, WindowOutcome, WindowRule, WindowRuleOutcome } from './sliding-window.ts';
export { createSlidingWindowLimiter } from './sliding-window.ts';
