// Identifiers: ULIDs for time-ordered records (timeline events), UUID v4 for event-bus ids.
import { randomUUID } from 'node:crypto';
import { monotonicFactory, ulid as plainUlid } from 'ulid';

const monotonic = monotonicFactory();

/** A ULID; monotonic within this process so ids sort in creation order even within one millisecond. */
export function newUlid(time?: number): string {
  return time === undefined ? monotonic() : plainUlid(time);
}

export function newUuid(): string {
  return randomUUID();
}

export const TENANT_ID_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export function isTenantId(value: string): boolean {
  return value.length <= 63 && TENANT_ID_RE.test(value);
}
