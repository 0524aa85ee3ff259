// Per-instance sliding-window counters: each window is a ring of slots, so memory per key is fixed
// whatever max_requests is, and keys idle longer than the largest window are evicted.

/**
 * Slots per window. A request leaves the window within 1/30 of its length of the exact time (2 s on a
 * 60 s rule); more slots buy precision with 12 bytes per slot, per rule, per key.
 */
const SLOTS = 30;
/**
 * Upper bound on live keys (microservice x client key). A flood of distinct keys evicts the least
 * recently seen one instead of growing memory; at 16 rules this is at most ~58 MB, typically ~4 MB.
 */
const DEFAULT_MAX_KEYS = 10_000;

export interface WindowRule {
  readonly windowMs: number;
  readonly maxRequests: number;
}

export interface WindowRuleOutcome {
  readonly rule: WindowRule;
  /** Requests in the window, counting this one (also when it was denied and not recorded). */
  readonly current: number;
  readonly remaining: number;
  /** When the oldest counted request leaves the window (ms since the epoch). */
  readonly resetAtMs: number;
  readonly exceeded: boolean;
  /** For an exceeded rule: how long until one more request fits. 0 otherwise. */
  readonly retryAfterMs: number;
}

export interface WindowOutcome {
  readonly allowed: boolean;
  readonly rules: readonly WindowRuleOutcome[];
}

export interface SlidingWindowLimiter {
  /** Counts the request against every rule when all allow it; a denied request is not recorded. */
  tryAcquire(key: string, nowMs: number): WindowOutcome;
  /** Live keys, for tests and diagnostics. */
  size(): number;
  clear(): void;
}

interface Ring {
  /** Slot number (time / slot length) each cell holds; NaN marks a never-used cell. */
  readonly slotIds: Float64Array;
  readonly counts: Uint32Array;
}

interface KeyState {
  lastSeenMs: number;
  readonly rings: Ring[];
}

export function createSlidingWindowLimiter(
  rules: readonly WindowRule[],
  options: { maxKeys?: number } = {},
): SlidingWindowLimiter {
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  const idleMs = Math.max(0, ...rules.map((r) => r.windowMs));
  // Map iteration order is insertion order; re-inserting on every touch keeps it least-recently-seen first,
  // so eviction only ever looks at the head.
  const keys = new Map<string, KeyState>();

  function evict(nowMs: number): void {
    for (const [key, state] of keys) {
      if (nowMs - state.lastSeenMs <= idleMs && keys.size <= maxKeys) break;
      keys.delete(key);
    }
  }

  return {
    tryAcquire(key, nowMs) {
      const state = keys.get(key) ?? { lastSeenMs: nowMs, rings: rules.map(newRing) };
      keys.delete(key);
      state.lastSeenMs = nowMs;
      keys.set(key, state);
      evict(nowMs);

      const outcomes = rules.map((rule, i) => inspect(state.rings[i]!, rule, nowMs));
      const allowed = outcomes.every((o) => !o.exceeded);
      if (allowed) for (let i = 0; i < rules.length; i++) record(state.rings[i]!, rules[i]!, nowMs);
      return { allowed, rules: outcomes };
    },
    size: () => keys.size,
    clear: () => keys.clear(),
  };
}

function newRing(): Ring {
  return { slotIds: new Float64Array(SLOTS).fill(Number.NaN), counts: new Uint32Array(SLOTS) };
}

function slotOf(nowMs: number, rule: WindowRule): number {
  return Math.floor((nowMs * SLOTS) / rule.windowMs);
}

/** Time at which a slot stops being inside the window. */
function slotExpiryMs(slot: number, rule: WindowRule): number {
  return Math.ceil(((slot + SLOTS) * rule.windowMs) / SLOTS);
}

function cell(slot: number): number {
  return ((slot % SLOTS) + SLOTS) % SLOTS;
}

function countAt(ring: Ring, slot: number): number {
  const i = cell(slot);
  return ring.slotIds[i] === slot ? ring.counts[i]! : 0;
}

function inspect(ring: Ring, rule: WindowRule, nowMs: number): WindowRuleOutcome {
  const current = slotOf(nowMs, rule);
  const oldest = current - SLOTS + 1;
  let inWindow = 0;
  let oldestUsed: number | undefined;
  for (let slot = oldest; slot <= current; slot++) {
    const n = countAt(ring, slot);
    if (n > 0 && oldestUsed === undefined) oldestUsed = slot;
    inWindow += n;
  }
  const resetAtMs = oldestUsed === undefined ? nowMs + rule.windowMs : slotExpiryMs(oldestUsed, rule);
  if (inWindow < rule.maxRequests) {
    return {
      rule,
      current: inWindow + 1,
      remaining: rule.maxRequests - inWindow - 1,
      resetAtMs,
      exceeded: false,
      retryAfterMs: 0,
    };
  }
  // One more request fits once enough of the oldest slots have slid out to bring the count below the limit.
  const mustLeave = inWindow - rule.maxRequests + 1;
  let left = 0;
  let retryAtMs = nowMs + rule.windowMs;
  for (let slot = oldest; slot <= current; slot++) {
    left += countAt(ring, slot);
    if (left >= mustLeave) {
      retryAtMs = slotExpiryMs(slot, rule);
      break;
    }
  }
  return {
    rule,
    current: inWindow + 1,
    remaining: 0,
    resetAtMs: retryAtMs,
    exceeded: true,
    retryAfterMs: Math.max(1, retryAtMs - nowMs),
  };
}

function record(ring: Ring, rule: WindowRule, nowMs: number): void {
  const slot = slotOf(nowMs, rule);
  const i = cell(slot);
  if (ring.slotIds[i] !== slot) {
    ring.slotIds[i] = slot;
    ring.counts[i] = 0;
  }
  ring.counts[i] = (ring.counts[i] ?? 0) + 1;
}
