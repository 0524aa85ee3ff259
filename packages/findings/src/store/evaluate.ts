// SPDX-License-Identifier: Apache-2.0
// The policy binding of stored findings: a snapshot's policy evaluates each finding at the recompute's
// time, and its decision is kept whole (it names every fact it read). Without an active snapshot a
// finding still gets the severity and effective VEX status the filters need, read as a policy with no
// trust rules would read them (every issuer `low`), and no verdict.
import type { EvidenceFinding } from '../evidence/model.ts';
import { evaluateFinding, findingLevel, type Policy } from '../policy/index.ts';
import { effectiveVexStatus, trustResolver } from '../policy/vex.ts';
import type { SnapshotRow } from '../sql/policy.ts';
import type { Evaluation } from './rows.ts';

const defaultTrust = trustResolver(undefined);

export function evaluatorFor(snapshot: SnapshotRow | undefined, at: Date): (finding: EvidenceFinding) => Evaluation {
  if (!snapshot)
    return (finding) => ({
      severity: findingLevel(finding.sources),
      vexStatus: effectiveVexStatus(finding.vex, defaultTrust),
      decision: null,
    });
  // Stored as the canonical JSON of a policy parsePolicy accepted; read back as that policy.
  const policy = snapshot.policy as unknown as Policy;
  return (finding) => {
    const decision = evaluateFinding(policy, finding, at);
    return { severity: decision.severity, vexStatus: decision.vexStatus, decision: { ...decision } };
  };
}
