// The router rate-limit configuration in the spec's YAML shape (`rate_limiting:` block, snake_case),
// validated once and compiled at start-up so a bad rule or regex stops the process, not a request.
import { Errors, StellaError } from '@stella/core';
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/** A day: longer windows are quotas, not rate limits, and each window's Valkey key lives that long. */
const MAX_WINDOW_SECONDS = 86_400;
/** Each rule costs one counter per key per request; more than a handful of windows is a config mistake. */
const MAX_RULES = 16;
/** Prefix and regex routes are scanned per request, so a microservice's route table stays small. */
const MAX_ROUTES_PER_MICROSERVICE = 256;
/** Patterns are paths or short regexes; the cap keeps a pasted blob out of the per-request matcher. */
const MAX_PATTERN_LENGTH = 1024;
/** Far above any real limit, and below what the instance window's 32-bit slot counters can hold. */
const MAX_REQUESTS_PER_WINDOW = 1_000_000_000;

const RuleSchema = Type.Object(
  {
    per_seconds: Type.Integer({ minimum: 1, maximum: MAX_WINDOW_SECONDS, description: 'Window length in seconds.' }),
    max_requests: Type.Integer({
      minimum: 1,
      maximum: MAX_REQUESTS_PER_WINDOW,
      description: 'Requests allowed per window.',
    }),
  },
  { additionalProperties: false },
);

const RulesSchema = Type.Array(RuleSchema, {
  maxItems: MAX_RULES,
  description: 'ANDed: a request is denied when any rule is exceeded. Empty or absent: the parent level applies.',
});

const RouteSchema = Type.Object(
  {
    pattern: Type.String({ minLength: 1, maxLength: MAX_PATTERN_LENGTH }),
    match_type: Type.Enum(['exact', 'prefix', 'regex']),
    rules: Type.Optional(RulesSchema),
  },
  { additionalProperties: false },
);

const MicroserviceSchema = Type.Object(
  {
    rules: Type.Optional(RulesSchema),
    routes: Type.Optional(Type.Record(Type.String(), RouteSchema, { maxProperties: MAX_ROUTES_PER_MICROSERVICE })),
  },
  { additionalProperties: false },
);

const CircuitBreakerSchema = Type.Object(
  {
    failure_threshold: Type.Optional(
      Type.Integer({ minimum: 1, default: 5, description: 'Consecutive Valkey errors that open it.' }),
    ),
    timeout_seconds: Type.Optional(
      Type.Integer({ minimum: 1, default: 30, description: 'How long it stays open before a probe.' }),
    ),
    half_open_timeout: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: 10,
        description: 'Seconds a half-open probe may take before it counts as a failure and reopens the breaker.',
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const RateLimitConfigSchema = Type.Object(
  {
    process_back_pressure_when_more_than_per_5min: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 5000,
        description: 'Environment checks start once this instance saw more requests than this in 5 min; 0 = always.',
      }),
    ),
    for_instance: Type.Optional(Type.Object({ rules: Type.Optional(RulesSchema) }, { additionalProperties: false })),
    for_environment: Type.Optional(
      Type.Object(
        {
          valkey_connection: Type.Optional(
            Type.String({
              default: '',
              description: '`host:port` or redis:// URL for createValkeyClient; empty when the caller passes a client.',
            }),
          ),
          valkey_bucket: Type.Optional(
            Type.String({ minLength: 1, maxLength: 128, default: 'stella-router-rate-limit' }),
          ),
          circuit_breaker: Type.Optional(CircuitBreakerSchema),
          rules: Type.Optional(RulesSchema),
          microservices: Type.Optional(Type.Record(Type.String(), MicroserviceSchema)),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** The block as written in stella.yaml: keys with a default may be left out. */
export type RateLimitConfig = Static<typeof RateLimitConfigSchema>;
/** After Value.Default every defaulted key is present. */
type WithDefaults = RateLimitConfig & {
  process_back_pressure_when_more_than_per_5min: number;
  for_environment?: Required<
    Pick<NonNullable<RateLimitConfig['for_environment']>, 'valkey_connection' | 'valkey_bucket'>
  > & {
    circuit_breaker: Required<NonNullable<NonNullable<RateLimitConfig['for_environment']>['circuit_breaker']>>;
  };
};
export type RateLimitRuleConfig = Static<typeof RuleSchema>;
export type RouteMatchType = 'exact' | 'prefix' | 'regex';

export interface CompiledRule {
  readonly perSeconds: number;
  readonly windowMs: number;
  readonly maxRequests: number;
}

export interface CompiledRoute {
  readonly name: string;
  readonly matchType: RouteMatchType;
  readonly pattern: string;
  /** Empty: the microservice (or environment) rules apply to paths this route matches. */
  readonly rules: readonly CompiledRule[];
  readonly prefix?: string;
  readonly regex?: RegExp;
}

export interface CompiledMicroservice {
  readonly rules: readonly CompiledRule[];
  /** Keyed by the normalised path (lower case, no trailing slash). */
  readonly exact: ReadonlyMap<string, CompiledRoute>;
  /** Longest prefix first, so the first hit is the winner. */
  readonly prefixes: readonly CompiledRoute[];
  /** Longest pattern first; ties keep declaration order. */
  readonly regexes: readonly CompiledRoute[];
}

export interface CompiledEnvironment {
  readonly connection: string;
  readonly bucket: string;
  readonly circuitBreaker: {
    readonly failureThreshold: number;
    readonly openMs: number;
    readonly probeTimeoutMs: number;
  };
  readonly rules: readonly CompiledRule[];
  readonly microservices: ReadonlyMap<string, CompiledMicroservice>;
}

export interface CompiledRateLimitConfig {
  readonly compiled: true;
  readonly activationThreshold: number;
  readonly instanceRules: readonly CompiledRule[];
  readonly environment: CompiledEnvironment | undefined;
}

/**
 * Validates the `rate_limiting` block (or a document holding it) and precompiles route matchers.
 * null/undefined means "no limits", which is what the config loader yields when the block is absent.
 */
export function compileRateLimitConfig(input: unknown): CompiledRateLimitConfig {
  if (input === null || input === undefined) {
    return { compiled: true, activationThreshold: 0, instanceRules: [], environment: undefined };
  }
  const block = unwrap(input);
  const withDefaults = Value.Default(RateLimitConfigSchema, structuredClone(block));
  const errors = [...Value.Errors(RateLimitConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const first = errors.find((e) => e.keyword !== 'boolean' && e.keyword !== 'anyOf') ?? errors[0]!;
    const params = first.params as { additionalProperties?: string[]; allowedValues?: unknown[] };
    const path = [
      'rate_limiting',
      ...first.instancePath.split('/').filter(Boolean),
      ...(params.additionalProperties ?? []).slice(0, 1),
    ];
    const allowed = params.allowedValues ? ` (${params.allowedValues.join(', ')})` : '';
    throw new StellaError(Errors.config, `invalid configuration: ${path.join('.')} ${first.message}${allowed}`);
  }
  const config = withDefaults as WithDefaults;
  const env = config.for_environment;
  return {
    compiled: true,
    activationThreshold: config.process_back_pressure_when_more_than_per_5min,
    instanceRules: compileRules(config.for_instance?.rules),
    environment: env && {
      connection: env.valkey_connection,
      bucket: env.valkey_bucket,
      circuitBreaker: {
        failureThreshold: env.circuit_breaker.failure_threshold,
        openMs: env.circuit_breaker.timeout_seconds * 1000,
        probeTimeoutMs: env.circuit_breaker.half_open_timeout * 1000,
      },
      rules: compileRules(env.rules),
      microservices: new Map(
        Object.entries(env.microservices ?? {}).map(([name, svc]) => [name, compileMicroservice(name, svc)]),
      ),
    },
  };
}

function unwrap(input: unknown): unknown {
  if (typeof input === 'object' && input !== null && 'rate_limiting' in input) {
    return (input as { rate_limiting: unknown }).rate_limiting ?? {};
  }
  return input;
}

/**
 * Rules sharing a window count the same requests, so they collapse to the strictest one; otherwise
 * one request would be counted twice against a shared counter.
 */
function compileRules(rules: readonly RateLimitRuleConfig[] | undefined): CompiledRule[] {
  const byWindow = new Map<number, number>();
  for (const rule of rules ?? []) {
    const current = byWindow.get(rule.per_seconds);
    byWindow.set(rule.per_seconds, current === undefined ? rule.max_requests : Math.min(current, rule.max_requests));
  }
  return [...byWindow]
    .sort(([a], [b]) => a - b)
    .map(([perSeconds, maxRequests]) => ({ perSeconds, windowMs: perSeconds * 1000, maxRequests }));
}

type MicroserviceConfig = NonNullable<NonNullable<RateLimitConfig['for_environment']>['microservices']>[string];

function compileMicroservice(service: string, svc: MicroserviceConfig): CompiledMicroservice {
  const exact = new Map<string, CompiledRoute>();
  const prefixes: CompiledRoute[] = [];
  const regexes: CompiledRoute[] = [];
  for (const [name, route] of Object.entries(svc.routes ?? {})) {
    const where = `rate_limiting.for_environment.microservices.${service}.routes.${name}`;
    const base = { name, matchType: route.match_type, pattern: route.pattern, rules: compileRules(route.rules) };
    if (route.match_type === 'exact') {
      const key = normalizeExactPath(route.pattern);
      const clash = exact.get(key);
      if (clash) {
        throw new StellaError(
          Errors.config,
          `invalid configuration: ${where}.pattern matches the same path as route ${clash.name}; merge the two routes`,
        );
      }
      exact.set(key, base);
    } else if (route.match_type === 'prefix') {
      // The docs write prefixes as `/api/scans/*`; the star only marks "anything after", it is not a glob.
      prefixes.push({ ...base, prefix: route.pattern.endsWith('*') ? route.pattern.slice(0, -1) : route.pattern });
    } else {
      let regex: RegExp;
      try {
        regex = new RegExp(route.pattern);
      } catch (error) {
        throw new StellaError(
          Errors.config,
          `invalid configuration: ${where}.pattern is not a valid regular expression (${(error as Error).message})`,
          { cause: error },
        );
      }
      regexes.push({ ...base, regex });
    }
  }
  // Array.prototype.sort is stable, so equal lengths keep the order they were declared in.
  prefixes.sort((a, b) => b.prefix!.length - a.prefix!.length);
  regexes.sort((a, b) => b.pattern.length - a.pattern.length);
  return { rules: compileRules(svc.rules), exact, prefixes, regexes };
}

/** Exact matching ignores case and a trailing slash, so `/API/Scans/` and `/api/scans` are one route. */
export function normalizeExactPath(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '') || '/';
}

/** The route a path falls under: exact beats the longest prefix, which beats the longest regex. */
export function matchRoute(svc: CompiledMicroservice, path: string): CompiledRoute | undefined {
  const exact = svc.exact.get(normalizeExactPath(path));
  if (exact) return exact;
  for (const route of svc.prefixes) if (path.startsWith(route.prefix!)) return route;
  for (const route of svc.regexes) if (route.regex!.test(path)) return route;
  return undefined;
}

export interface ResolvedRules {
  /**
   * The counter namespace, URI-encoded: the microservice, or `<microservice>/<route>` when the route
   * supplied the rules. Environment defaults are counted per microservice, like an override would be.
   */
  readonly target: string;
  readonly level: 'route' | 'microservice' | 'environment';
  readonly rules: readonly CompiledRule[];
}

/**
 * Environment-scope rules for a request. Each level replaces its parent (no merging); a level that
 * gives no rules falls through to the next less specific one.
 */
export function resolveEnvironmentRules(
  env: CompiledEnvironment,
  microservice: string,
  path: string,
): ResolvedRules | undefined {
  const svc = env.microservices.get(microservice);
  const route = svc && matchRoute(svc, path);
  // Encoded so a name holding `/` or `:` cannot collide with another target in the Valkey key.
  const service = encodeURIComponent(microservice);
  if (route && route.rules.length > 0) {
    return { target: `${service}/${encodeURIComponent(route.name)}`, level: 'route', rules: route.rules };
  }
  if (svc && svc.rules.length > 0) return { target: service, level: 'microservice', rules: svc.rules };
  if (env.rules.length > 0) return { target: service, level: 'environment', rules: env.rules };
  return undefined;
}
