// The recompute the synthetic-graph benchmarks time (signals and scale): load CSR bytes into arrays
// and an id index, then two BFS and the target states, with signals' default scoring. A module of
// its own, so a recompute child process loads nothing else and its peak RSS is the recompute's.
import { bfs, computeReachability, decodeCsr, type ScoringOptions } from '@stella/signals';

const scoring: ScoringOptions = {
  weights: { entrypoint: 1, direct: 0.85, runtime: 0.45, unknown: 0.5, unreachable: 0 },
  reachableConfidence: 0.75,
  unreachableConfidence: 0.25,
  runtimeBonus: 0.15,
  minConfidence: 0.05,
  maxConfidence: 0.99,
  unknownsPressureCeiling: 0.35,
  runtimeAbsenceIsEvidence: false,
};

const round = (v: number) => Number(v.toFixed(1));

/** `runs` recomputes from the CSR bytes: medians and bests of the load, the recompute and both. */
export function timeRecomputes(
  bytes: Buffer,
  targets: { symbolId: string }[],
  hits: Map<string, number>,
  runs: number,
) {
  const times: { load: number; compute: number; total: number }[] = [];
  let reachable = 0;
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    const csr = decodeCsr(bytes);
    const index = new Map<string, number>();
    for (let k = 0; k < csr.ids.length; k++) index.set(csr.ids[k]!, k);
    const b = performance.now();
    const result = computeReachability(
      { csr, index, targets, hits, searches: { strict: bfs(csr, false), loose: bfs(csr, true) } },
      scoring,
    );
    const c = performance.now();
    reachable = result.states.filter((s) => s.reachable).length;
    times.push({ load: b - a, compute: c - b, total: c - a });
  }
  const stat = (key: 'load' | 'compute' | 'total') => {
    const sorted = times.map((t) => t[key]).sort((x, y) => x - y);
    return { median: round(sorted[Math.floor(sorted.length / 2)]!), best: round(sorted[0]!) };
  };
  return {
    reachableTargets: reachable,
    recomputeFromLoadedMs: stat('compute'),
    loadMs: stat('load'),
    recomputeIncludingLoadMs: stat('total'),
  };
}
