// The reachability scoring the synthetic-graph benchmarks recompute with (signals' defaults), in a
// module of its own so a recompute child process loads nothing else.
import type { ScoringOptions } from '@stella/signals';

export const scoring: ScoringOptions = {
  weights: { entrypoint: 1, direct: 0.85, runtime: 0.45, unknown: 0.5, unreachable: 0 },
  reachableConfidence: 0.75,
  unreachableConfidence: 0.25,
  runtimeBonus: 0.15,
  minConfidence: 0.05,
  maxConfidence: 0.99,
  unknownsPressureCeiling: 0.35,
  runtimeAbsenceIsEvidence: false,
};
