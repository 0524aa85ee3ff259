// Environment-wide fixed-window counters in Valkey/Redis, shared by every router instance, behind a
// circuit breaker. Any Valkey failure yields "no answer" so the limiter fails open.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { WindowOutcome, WindowRule, WindowRuleOutcome } from './sliding-window.ts';

/**
 * Checks every window before counting, then INCRs and sets the expiry in the same atomic step: a request
 * denied by one rule must not use up another rule's quota, and a key without a TTL would never go away.
 * PEXPIRE of one window length, set when the key is created inside its window, outlives the window.
 * KEYS: one counter per rule. ARGV: window ms for each key, then max_requests for each key.
 * Returns {denied (0|1), count_1..count_n}: counts after the increment, or before it when denied.
 */
const FIXED_WINDOW_SCRIPT = `
local n = #KEYS
local counts = {}
local denied = 0
for i = 1, n do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] >= tonumber(ARGV[n + i]) then denied = 1 end
end
if denied == 0 then
  for i = 1, n do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[i]) end
  end
end
table.insert(counts, 1, denied)
return counts
`;
const FIXED_WINDOW_SHA = createHash('sha1').update(FIXED_WINDOW_SCRIPT).digest('hex');

/**
 * A Valkey round trip on the router's network takes a few ms; past 250 ms the call is treated as failed,
 * so a degraded Valkey adds at most this much to a request before the breaker stops asking it.
 */
const COMMAND_TIMEOUT_MS = 250;
/** Connecting to a live Valkey takes well under a second; a dead host must not hold start-up longer. */
const CONNECT_TIMEOUT_MS = 2000;
/** Reconnect backoff cap: short enough that a restarted Valkey is back in use within a breaker timeout. */
const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * An ioredis client tuned for the limiter: while disconnected, commands fail at once (no offline queue,
 * one attempt), so requests are allowed immediately instead of waiting for Valkey to come back.
 * `connection` is `valkey_connection`: `host:port` or a redis:// / rediss:// URL.
 */
export function createValkeyClient(connection: string, options: { commandTimeoutMs?: number } = {}): Redis {
  const url = /^rediss?:\/\//.test(connection) ? connection : `redis://${connection}`;
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // Connection errors also reach the limiter as failed commands, which it counts; without a listener
  // ioredis prints every failed reconnect to stderr.
  client.on('error', () => {});
  return client;
}

export type CircuitState = 'closed' | 'open' | 'half-open';
/** Gauge values for router_ratelimit_circuit_state. */
export const CIRCUIT_STATE_VALUE: Readonly<Record<CircuitState, number>> = { closed: 0, open: 1, 'half-open': 2 };

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long it stays open (skipping the call) before one probe is let through. */
  openMs: number;
  /** A probe that has not settled by then counts as failed, so a hung Valkey cannot hold it half-open. */
  probeTimeoutMs: number;
  now: () => number;
}

export type BreakerResult<T> =
  | { status: 'ok'; value: T }
  | { status: 'failed'; error: unknown }
  | { status: 'skipped' };

export interface CircuitBreaker {
  state(): CircuitState;
  run<T>(call: () => Promise<T>): Promise<BreakerResult<T>>;
}

export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  let mode: 'closed' | 'open' = 'closed';
  let consecutiveFailures = 0;
  let openedAtMs = 0;
  let probeInFlight = false;

  const state = (): CircuitState =>
    mode === 'open' && options.now() - openedAtMs >= options.openMs ? 'half-open' : mode;

  const fail = () => {
    consecutiveFailures += 1;
    if (mode === 'open' || consecutiveFailures >= options.failureThreshold) {
      mode = 'open';
      openedAtMs = options.now();
    }
  };
  const succeed = () => {
    mode = 'closed';
    consecutiveFailures = 0;
  };

  return {
    state,
    async run(call) {
      const current = state();
      if (current === 'open') return { status: 'skipped' };
      if (current === 'half-open') {
        // One probe at a time: the rest keep failing open until it tells whether Valkey is back.
        if (probeInFlight) return { status: 'skipped' };
        probeInFlight = true;
        try {
          const value = await withTimeout(call(), options.probeTimeoutMs);
          succeed();
          return { status: 'ok', value };
        } catch (error) {
          fail();
          return { status: 'failed', error };
        } finally {
          probeInFlight = false;
        }
      }
      try {
        const value = await call();
        succeed();
        return { status: 'ok', value };
      } catch (error) {
        fail();
        return { status: 'failed', error };
      }
    },
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Valkey probe did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface EnvironmentStoreOptions {
  redis: Redis;
  bucket: string;
  breaker: CircuitBreaker;
  /** Called for every failed Valkey call (not for calls the open breaker skipped). */
  onError: (error: unknown) => void;
}

export interface EnvironmentStore {
  /**
   * Counts one request against every rule of `target` for `key`, atomically across instances.
   * undefined: Valkey was skipped or failed, and the caller must fail open.
   */
  consume(target: string, key: string, rules: readonly WindowRule[], nowMs: number): Promise<WindowOutcome | undefined>;
}

export function createEnvironmentStore(options: EnvironmentStoreOptions): EnvironmentStore {
  const { redis, bucket, breaker } = options;

  async function evaluate(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await redis.evalsha(FIXED_WINDOW_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // A restarted or flushed Valkey forgets loaded scripts; send the body once and it is cached again.
      if (!String((error as Error)?.message).startsWith('NOSCRIPT')) throw error;
      return redis.eval(FIXED_WINDOW_SCRIPT, keys.length, ...keys, ...args);
    }
  }

  return {
    async consume(target, key, rules, nowMs) {
      if (rules.length === 0) return { allowed: true, rules: [] };
      const windows = rules.map((rule) => {
        const startMs = Math.floor(nowMs / rule.windowMs) * rule.windowMs;
        return { rule, startMs, resetAtMs: startMs + rule.windowMs };
      });
      // <bucket>:<scope>:<key>:<windowStart>, where scope is the target plus the window length: two rules
      // of one target can start a window at the same second and must not share a counter.
      const keys = windows.map(
        (w) => `${bucket}:${target}/${w.rule.windowMs / 1000}s:${key}:${Math.floor(w.startMs / 1000)}`,
      );
      const args = [...rules.map((r) => String(r.windowMs)), ...rules.map((r) => String(r.maxRequests))];
      const result = await breaker.run(() => evaluate(keys, args));
      if (result.status === 'skipped') return undefined;
      if (result.status === 'failed') {
        options.onError(result.error);
        return undefined;
      }
      const reply = result.value;
      if (!Array.isArray(reply) || reply.length !== rules.length + 1) {
        options.onError(new Error(`unexpected reply from the rate-limit script: ${JSON.stringify(reply)}`));
        return undefined;
      }
      const denied = Number(reply[0]) === 1;
      const outcomes = windows.map((w, i): WindowRuleOutcome => {
        const stored = Number(reply[i + 1]);
        const exceeded = denied && stored >= w.rule.maxRequests;
        return {
          rule: w.rule,
          current: denied ? stored + 1 : stored,
          remaining: Math.max(0, w.rule.maxRequests - (denied ? stored + 1 : stored)),
          resetAtMs: w.resetAtMs,
          exceeded,
          retryAfterMs: exceeded ? Math.max(1, w.resetAtMs - nowMs) : 0,
        };
      });
      return { allowed: !denied, rules: outcomes };
    },
  };
}
