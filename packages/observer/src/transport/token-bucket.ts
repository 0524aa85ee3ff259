// SPDX-License-Identifier: Apache-2.0
// The sampler's rate guard (seed 001 `Sampler:MaxEventsPerSecond`): a token bucket refilled at the
// rate and holding one second's worth, so a burst after a quiet second passes and a sustained flood
// is cut to the rate. Pure: the caller passes the time, so tests drive it without waiting.
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly ratePerSecond: number;

  constructor(ratePerSecond: number, nowMs: number) {
    this.ratePerSecond = ratePerSecond;
    this.tokens = ratePerSecond;
    this.last = nowMs;
  }

  /** Takes one token if there is one; false means the event is dropped (rate_limit). */
  take(nowMs: number): boolean {
    // A clock stepping back (NTP) must not mint tokens or stall the bucket; the gap just counts as zero.
    const elapsed = Math.max(0, nowMs - this.last);
    this.last = Math.max(this.last, nowMs);
    this.tokens = Math.min(this.ratePerSecond, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
