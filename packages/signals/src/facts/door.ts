// SPDX-License-Identifier: Apache-2.0
// Signals' public answer to "how reachable is each vulnerable target of this subject?", for the
// findings room: the subject's current fact (its version and digest, so a finding can cite it) and
// its per-target states with witness paths. A read of the stored fact only; it never waits for or
// starts a recompute, so a caller sees exactly what GET /signals/facts/{subjectKey} serves.
import type { Db } from '@stella/platform';
import type { TargetState } from '../engine/reachability.ts';
import { selectFact } from '../sql/facts.ts';

export interface ReachabilityFact {
  subjectKey: string;
  factVersion: number;
  digest: string;
  computedAt: string;
  states: TargetState[];
}

/** The stored fact of a subject, or undefined when there is none. */
export async function reachabilityFact(
  db: Db,
  tenant: string,
  subjectKey: string,
): Promise<ReachabilityFact | undefined> {
  const row = await db.transaction((tx) => selectFact(tx, tenant, subjectKey), { tenant });
  if (!row) return undefined;
  const states = (row.document as { states?: TargetState[] }).states ?? [];
  return {
    subjectKey: row.subjectKey,
    factVersion: row.factVersion,
    digest: row.digest,
    computedAt: row.computedAt,
    states,
  };
}
