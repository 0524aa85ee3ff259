// The reachability engine: one breadth-first search from all entrypoints over the CSR graph (sources
// and neighbours in node order, so parents and witness paths are deterministic), a second one that
// may also follow heuristic edges, then per target a bucket, weight, confidence, score, lattice state
// and a shortest witness path sink → entry with the runtime hits on it (spec §1.4, govulncheck style).
import { type CsrGraph, EDGE_HEURISTIC } from '../graph/csr.ts';
import { join, type LatticeState } from './lattice.ts';

export type Bucket = 'entrypoint' | 'direct' | 'runtime' | 'unknown' | 'unreachable';
export type UnknownReason = 'no_symbol_data' | 'symbol_not_in_graph' | 'graph_missing' | 'dynamic_edge_only';

export interface ScoringOptions {
  weights: Record<Bucket, number>;
  reachableConfidence: number;
  unreachableConfidence: number;
  runtimeBonus: number;
  minConfidence: number;
  maxConfidence: number;
  unknownsPressureCeiling: number;
  runtimeAbsenceIsEvidence: boolean;
}

export interface Target {
  /** Symbol id (or a name resolved to one); undefined when the advisory carries no symbol data. */
  symbolId?: string;
  advisoryId?: string;
  package?: string;
}

export interface TargetState {
  target: string;
  advisoryId?: string;
  package?: string;
  reachable: boolean | null;
  bucket: Bucket;
  state: LatticeState;
  weight: number;
  confidence: number;
  score: number;
  /** Sink first, entrypoint last. */
  path: string[];
  evidence: { runtimeHits: { symbolId: string; hitCount: number }[] };
  unknownReason?: UnknownReason;
}

export interface ReachabilityResult {
  states: TargetState[];
  score: number;
  unknowns: { symbolId: string; reason: UnknownReason; advisoryId?: string }[];
}

export interface BfsResult {
  /** Parent node number on a shortest path, -1 for entrypoints, -2 for unreached. */
  parent: Int32Array;
}

export const UNREACHED = -2;
const ENTRY = -1;

export function bfs(csr: CsrGraph, followHeuristic: boolean): BfsResult {
  const n = csr.ids.length;
  const parent = new Int32Array(n).fill(UNREACHED);
  const queue = new Uint32Array(n);
  let head = 0;
  let tail = 0;
  const entries = Array.from(csr.entries).sort((a, b) => a - b);
  for (const e of entries) {
    if (parent[e] !== UNREACHED) continue;
    parent[e] = ENTRY;
    queue[tail++] = e;
  }
  const { offsets, targets, flags } = csr;
  while (head < tail) {
    const u = queue[head++]!;
    const end = offsets[u + 1]!;
    for (let k = offsets[u]!; k < end; k++) {
      if (!followHeuristic && (flags[k]! & EDGE_HEURISTIC) !== 0) continue;
      const v = targets[k]!;
      if (parent[v] !== UNREACHED) continue;
      parent[v] = u;
      queue[tail++] = v;
    }
  }
  return { parent };
}

function pathTo(parent: Int32Array, node: number): number[] {
  const path: number[] = [];
  let cursor = node;
  while (cursor >= 0) {
    path.push(cursor);
    const p = parent[cursor]!;
    if (p === ENTRY) break;
    cursor = p;
  }
  return path;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number) => Math.round(v * 1e6) / 1e6;

export interface EngineInput {
  /** undefined when the subject has no graph (or its blob is gone). */
  csr: CsrGraph | undefined;
  index: Map<string, number> | undefined;
  targets: readonly Target[];
  /** symbolId → hit count, for the subject. */
  hits: ReadonlyMap<string, number>;
  /** Precomputed searches, reused across subjects of the same graph. */
  searches?: { strict: BfsResult; loose: BfsResult };
}

export function computeReachability(input: EngineInput, options: ScoringOptions): ReachabilityResult {
  const { csr, index, hits } = input;
  const searches = csr && (input.searches ?? { strict: bfs(csr, false), loose: bfs(csr, true) });
  const entrySet = new Set(csr ? Array.from(csr.entries) : []);
  const hasRuntime = hits.size > 0;
  const states: TargetState[] = [];
  const unknowns: ReachabilityResult['unknowns'] = [];
  const w = options.weights;
  const conf = (c: number) => round(clamp(c, options.minConfidence, options.maxConfidence));

  for (const target of input.targets) {
    const label = target.symbolId ?? `${target.package ?? 'unknown'}#${target.advisoryId ?? 'no-symbol'}`;
    const base = {
      target: label,
      ...(target.advisoryId ? { advisoryId: target.advisoryId } : {}),
      ...(target.package ? { package: target.package } : {}),
    };
    const targetHits = target.symbolId ? (hits.get(target.symbolId) ?? 0) : 0;
    const runtimeState: LatticeState =
      targetHits > 0
        ? 'RuntimeObserved'
        : hasRuntime && options.runtimeAbsenceIsEvidence
          ? 'RuntimeUnobserved'
          : 'Unknown';
    const unknownState = (reason: UnknownReason): TargetState => {
      if (targetHits > 0) {
        // Observed but not in the graph: a runtime-only node, still counted as observed.
        const confidence = conf(options.reachableConfidence + options.runtimeBonus);
        return {
          ...base,
          reachable: true,
          bucket: 'runtime',
          state: runtimeState,
          weight: w.runtime,
          confidence,
          score: round(confidence * w.runtime),
          path: [target.symbolId!],
          evidence: { runtimeHits: [{ symbolId: target.symbolId!, hitCount: targetHits }] },
        };
      }
      unknowns.push({ symbolId: label, reason, ...(target.advisoryId ? { advisoryId: target.advisoryId } : {}) });
      const confidence = conf(options.minConfidence);
      return {
        ...base,
        reachable: null,
        bucket: 'unknown',
        state: runtimeState,
        weight: w.unknown,
        confidence,
        score: round(confidence * w.unknown),
        path: [],
        evidence: { runtimeHits: [] },
        unknownReason: reason,
      };
    };

    if (!target.symbolId) {
      states.push(unknownState('no_symbol_data'));
      continue;
    }
    if (!csr || !index || !searches) {
      states.push(unknownState('graph_missing'));
      continue;
    }
    const node = index.get(target.symbolId);
    if (node === undefined) {
      states.push(unknownState('symbol_not_in_graph'));
      continue;
    }
    if (searches.strict.parent[node] === UNREACHED) {
      if (searches.loose.parent[node] !== UNREACHED) {
        // Only a heuristic (dynamic) edge leads here: neither reachable nor unreachable is proven.
        const s = unknownState('dynamic_edge_only');
        if (s.bucket === 'unknown') s.path = pathTo(searches.loose.parent, node).map((i) => csr.ids[i]!);
        states.push(s);
        continue;
      }
      const confidence = conf(options.unreachableConfidence);
      states.push({
        ...base,
        reachable: false,
        bucket: 'unreachable',
        state: join('StaticallyUnreachable', runtimeState),
        weight: w.unreachable,
        confidence,
        score: round(confidence * w.unreachable),
        path: [],
        evidence: { runtimeHits: targetHits > 0 ? [{ symbolId: target.symbolId, hitCount: targetHits }] : [] },
      });
      continue;
    }
    const pathNodes = pathTo(searches.strict.parent, node);
    const path = pathNodes.map((i) => csr.ids[i]!);
    const runtimeHits = path.flatMap((id) => {
      const h = hits.get(id) ?? 0;
      return h > 0 ? [{ symbolId: id, hitCount: h }] : [];
    });
    const bucket: Bucket = entrySet.has(node)
      ? 'entrypoint'
      : runtimeHits.length > 0
        ? 'runtime'
        : path.length <= 2
          ? 'direct'
          : 'unknown';
    const confidence = conf(options.reachableConfidence + (runtimeHits.length > 0 ? options.runtimeBonus : 0));
    states.push({
      ...base,
      reachable: true,
      bucket,
      state: join('StaticallyReachable', runtimeState),
      weight: w[bucket],
      confidence,
      score: round(confidence * w[bucket]),
      path,
      evidence: { runtimeHits },
    });
  }

  states.sort((a, b) =>
    a.target < b.target ? -1 : a.target > b.target ? 1 : (a.advisoryId ?? '') < (b.advisoryId ?? '') ? -1 : 1,
  );
  unknowns.sort((a, b) => (a.symbolId < b.symbolId ? -1 : a.symbolId > b.symbolId ? 1 : a.reason < b.reason ? -1 : 1));
  const mean = states.length ? states.reduce((s, t) => s + t.score, 0) / states.length : 0;
  const pressure = Math.min(
    options.unknownsPressureCeiling,
    unknowns.length / Math.max(1, states.length + unknowns.length),
  );
  return { states, score: round(mean * (1 - pressure)), unknowns };
}
