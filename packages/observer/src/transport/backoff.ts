// SPDX-License-Identifier: Apache-2.0
// When to try a spooled batch again: exponential backoff with full jitter between 1 s and 60 s, or the
// server's Retry-After on 429/503. Pure functions; the caller passes the random source and the time.

/** First retry: soon enough that a restarting server is caught within seconds. */
export const BACKOFF_BASE_MS = 1000;
/** Cap: an observer waiting longer than a minute would let the spool fill during a short outage. */
export const BACKOFF_MAX_MS = 60_000;
/** A Retry-After beyond an hour is taken as an hour: the spool cap decides what survives that long. */
export const RETRY_AFTER_MAX_MS = 3_600_000;

/**
 * Delay before retry number `attempt` (1 for the first retry): a ceiling of 1 s doubling up to 60 s,
 * and a delay drawn between half the ceiling and the ceiling, so observers restarted together by one
 * deployment do not retry in lockstep, yet none retries sooner than half the schedule.
 */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 16);
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Retry-After (RFC 9110 §10.2.3) in milliseconds from `nowMs`: delay-seconds or an HTTP date.
 * Undefined when absent or unreadable; a date in the past is 0; capped at RETRY_AFTER_MAX_MS.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, RETRY_AFTER_MAX_MS);
  // Only the HTTP-date forms: Date.parse alone would also accept "1" or "2025" as dates.
  if (!/^[A-Za-z]{3},? /.test(text) && !/GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), RETRY_AFTER_MAX_MS);
}
