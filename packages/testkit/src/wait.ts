// One way for a test to wait: poll a probe until it answers, with a deadline, never a bare sleep and
// never an unbounded loop. A missed deadline fails with what was awaited and the state last seen.

export interface WaitOptions {
  /** Give up after this long. Default 10 s: long enough for a loaded 2-core CI machine, short enough to fail fast. */
  deadlineMs?: number;
  /** Pause between probes. Default 10 ms. */
  intervalMs?: number;
}

const DEFAULT_DEADLINE_MS = 10_000;
const DEFAULT_INTERVAL_MS = 10;

/**
 * Calls probe until it returns something other than undefined, null or false, and returns that. `what`
 * names the awaited state; as a function it is called on failure, so it can describe what was seen.
 */
export async function waitFor<T>(
  what: string | (() => string),
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitOptions = {},
): Promise<T> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() >= deadline) {
      throw new Error(`waited ${deadlineMs} ms for ${typeof what === 'function' ? what() : what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
