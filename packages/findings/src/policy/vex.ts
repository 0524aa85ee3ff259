// SPDX-License-Identifier: Apache-2.0
// The effective VEX status of a finding. Statements are kept as their issuers wrote them, conflicting
// ones side by side; only the policy's trust rules resolve them: untrusted issuers are ignored, the
// statements of the highest trust present decide, and if those disagree the status is `conflict`.
import type { VexStatement, VexStatus } from '../evidence/model.ts';
import { type CompiledGlob, compileGlob } from './glob.ts';
import type { Policy, TrustLevel } from './schema.ts';

export type EffectiveVexStatus = VexStatus | 'none' | 'conflict';

const RANK: Record<TrustLevel, number> = { untrusted: 0, low: 1, medium: 2, high: 3 };

export interface TrustResolver {
  trustOf(issuer: string): TrustLevel;
}

export function trustResolver(vex: Policy['vex']): TrustResolver {
  const rules: { issuer: CompiledGlob; trust: TrustLevel }[] = (vex?.trust ?? []).map((entry) => ({
    issuer: compileGlob(entry.issuer),
    trust: entry.trust,
  }));
  const fallback: TrustLevel = vex?.default ?? 'low';
  return {
    trustOf: (issuer) => rules.find((rule) => rule.issuer.test(issuer))?.trust ?? fallback,
  };
}

export function effectiveVexStatus(statements: readonly VexStatement[], trust: TrustResolver): EffectiveVexStatus {
  let best = 0;
  let statuses = new Set<VexStatus>();
  for (const statement of statements) {
    const rank = RANK[trust.trustOf(statement.issuer)];
    if (rank === 0 || rank < best) continue;
    if (rank > best) {
      best = rank;
      statuses = new Set();
    }
    statuses.add(statement.status);
  }
  if (statuses.size === 0) return 'none';
  if (statuses.size > 1) return 'conflict';
  return [...statuses][0] ?? 'none';
}
