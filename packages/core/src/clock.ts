// Time enters the system through this port so tests and reproducible builds can pin it.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export function fixedClock(at: Date | string): Clock & { advance(ms: number): void } {
  let current = new Date(at).getTime();
  return {
    now: () => new Date(current),
    advance(ms: number) {
      current += ms;
    },
  };
}

/** RFC 3339 UTC with a trailing Z and millisecond precision. */
export function isoUtc(date: Date): string {
  return date.toISOString();
}
