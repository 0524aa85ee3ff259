// Durations as operators type them in flags, selectors and query parameters: a whole number and a
// unit, `30s`, `15m`, `24h`, `7d`, `2w`. One parser, so every command and route reads them alike.

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
// Nine digits of weeks is already past any date a timestamp can hold; longer is a typo or an attack.
const DURATION = /^(\d{1,9})\s*([smhdw])$/;

/** Seconds in `text` (`24h` → 86400), or undefined when it is not a duration. */
export function durationSeconds(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_SECONDS[m[2]!]! : undefined;
}
