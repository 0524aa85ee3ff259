// Throttling of client authentication at POST /token. Failed secret checks back off exponentially per
// (client id, source address), with a looser tier per address; scrypt checks run a few at a time so
// guessing cannot fill the thread pool every other request shares. A client presenting its correct
// secret is recognised by its verifier before any of this (tokens.ts) and is never held up by the
// failures of others, not even a guesser using its client id from the same address.

export interface TokenThrottleOptions {
  /** Failed checks per (client id, address) answered at once; later ones wait 1, 2, 4 … s. */
  failuresBeforeBackoff: number;
  /** Longest wait imposed after a failure. */
  backoffMaxSeconds: number;
  /** scrypt checks running at once, process-wide. */
  secretCheckConcurrency: number;
  /** Milliseconds; injectable for tests. */
  now?: () => number;
  /** Called for every refusal, e.g. to count it in a metric. */
  onRefused?: (reason: ThrottleReason) => void;
}

export type ThrottleReason = 'client_backoff' | 'address_backoff' | 'busy';

export interface ThrottleRefusal {
  refused: true;
  reason: ThrottleReason;
  retryAfterSeconds: number;
}

export interface TokenThrottleStats {
  /** (client id, address) and address entries remembered. */
  tracked: number;
  checksRunning: number;
  /** Most scrypt checks that ever ran at once. */
  peakChecksRunning: number;
  pending: number;
}

export interface TokenThrottle {
  /**
   * Runs `check` (a scrypt verification) for this client id and address unless the pair or the address
   * is backing off, and records its outcome. Checks of one pair run one after another, so a burst
   * cannot slip many guesses in before the first failure is counted.
   */
  run(clientId: string, address: string, check: () => Promise<boolean>): Promise<boolean | ThrottleRefusal>;
  stats(): TokenThrottleStats;
}

/**
 * Entries per tier. Each is under 200 bytes, so memory stays around 2 MB whatever the traffic; when
 * full, the entry idle longest is forgotten, which at worst gives that pair its free failures again.
 */
const MAX_TRACKED = 10_000;
/** An address may fail this many times as many checks as a pair before it backs off as a whole. */
const ADDRESS_FACTOR = 10;
/** Failures are forgotten after this long without another (or twice the longest wait if longer). */
const FORGET_MS = 15 * 60 * 1000;
/**
 * Requests waiting for or running a check, process-wide. Beyond it the answer is an immediate 429:
 * queueing more would only hold sockets and memory while the clients time out anyway.
 */
const MAX_PENDING = 256;

interface FailureEntry {
  failures: number;
  lastFailureMs: number;
  blockedUntilMs: number;
}

class FailureBook {
  readonly #entries = new Map<string, FailureEntry>();
  readonly #free: number;
  readonly #maxMs: number;
  readonly #forgetMs: number;

  constructor(free: number, maxSeconds: number) {
    this.#free = free;
    this.#maxMs = maxSeconds * 1000;
    this.#forgetMs = Math.max(FORGET_MS, 2 * this.#maxMs);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Seconds until the key may be checked again; 0 when it may be now. */
  waitSeconds(key: string, nowMs: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    if (nowMs - entry.lastFailureMs > this.#forgetMs) {
      this.#entries.delete(key);
      return 0;
    }
    return entry.blockedUntilMs > nowMs ? Math.ceil((entry.blockedUntilMs - nowMs) / 1000) : 0;
  }

  fail(key: string, nowMs: number): void {
    const entry = this.#entries.get(key) ?? { failures: 0, lastFailureMs: nowMs, blockedUntilMs: 0 };
    if (nowMs - entry.lastFailureMs > this.#forgetMs) entry.failures = 0;
    entry.failures += 1;
    entry.lastFailureMs = nowMs;
    const over = entry.failures - this.#free;
    if (over >= 0) entry.blockedUntilMs = nowMs + Math.min(this.#maxMs, 1000 * 2 ** Math.min(over, 30));
    // Re-inserted so the Map's order is least recently failed first, which is what eviction drops.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > MAX_TRACKED) this.#entries.delete(this.#entries.keys().next().value!);
  }

  clear(key: string): void {
    this.#entries.delete(key);
  }
}

export function createTokenThrottle(options: TokenThrottleOptions): TokenThrottle {
  const now = options.now ?? Date.now;
  const pairs = new FailureBook(options.failuresBeforeBackoff, options.backoffMaxSeconds);
  const addresses = new FailureBook(options.failuresBeforeBackoff * ADDRESS_FACTOR, options.backoffMaxSeconds);
  const tails = new Map<string, Promise<void>>();
  const waiting: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  let pending = 0;

  const refuse = (reason: ThrottleReason, retryAfterSeconds: number): ThrottleRefusal => {
    options.onRefused?.(reason);
    return { refused: true, reason, retryAfterSeconds: Math.max(1, retryAfterSeconds) };
  };
  const acquire = async () => {
    if (running >= options.secretCheckConcurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    running += 1;
    peak = Math.max(peak, running);
  };
  const release = () => {
    running -= 1;
    waiting.shift()?.();
  };

  return {
    async run(clientId, address, check) {
      if (pending >= MAX_PENDING) return refuse('busy', 1);
      const pairKey = `${clientId}\u0000${address}`;
      pending += 1;
      const previous = tails.get(pairKey) ?? Promise.resolve();
      let done!: () => void;
      const mine = new Promise<void>((resolve) => {
        done = resolve;
      });
      const tail = previous.then(() => mine);
      tails.set(pairKey, tail);
      try {
        await previous;
        const at = now();
        const pairWait = pairs.waitSeconds(pairKey, at);
        if (pairWait > 0) return refuse('client_backoff', pairWait);
        const addressWait = addresses.waitSeconds(address, at);
        if (addressWait > 0) return refuse('address_backoff', addressWait);
        await acquire();
        let ok: boolean;
        try {
          ok = await check();
        } finally {
          release();
        }
        if (ok) {
          pairs.clear(pairKey);
        } else {
          pairs.fail(pairKey, now());
          addresses.fail(address, now());
        }
        return ok;
      } finally {
        pending -= 1;
        done();
        if (tails.get(pairKey) === tail) tails.delete(pairKey);
      }
    },
    stats: () => ({ tracked: pairs.size + addresses.size, checksRunning: running, peakChecksRunning: peak, pending }),
  };
}

/**
 * The address a failure is counted against. An IPv6 host usually holds a whole /64, so counting per
 * address would hand it 2^64 fresh starts; IPv4-mapped IPv6 addresses count as the IPv4 address.
 */
export function throttleAddress(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
