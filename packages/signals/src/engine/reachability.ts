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
  /**
   * `package`: the advisory's symbols are not in the graph, so the target stands in for them at
   * package level (the top level of the package's bundled code): reachable only says the package
   * is, so its confidence is halved and VEX does not call it affected; unreachable still holds.
   */
  precision?: 'package';
}

/** Confidence of a package-level target that is reachable, relative to a symbol-level one. */
export const PACKAGE_PRECISION_FACTOR = 0.5;

export interface TargetState {
  target: string;
  advisoryId?: string;
  package?: string;
  precision?: 'package';
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
  const { csr, hits } = input;
  const scope: TargetScope = {
    csr,
    index: input.index,
    searches: csr && (input.searches ?? { strict: bfs(csr, false), loose: bfs(csr, true) }),
    entrySet: new Set(csr ? Array.from(csr.entries) : []),
    hits,
    hasRuntime: hits.size > 0,
    options,
    unknowns: [],
  };
  const states = input.targets.map((target) => {
    const state = targetState(scope, target);
    if (target.precision !== 'package') return state;
    state.precision = 'package';
    if (state.reachable === true) {
      state.confidence = confidenceOf(options, state.confidence * PACKAGE_PRECISION_FACTOR);
      state.score = round(state.confidence * state.weight);
    }
    return state;
  });
  const { unknowns } = scope;
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

/** What every target of one computation shares; `unknowns` collects the targets found unknown. */
interface TargetScope {
  csr: CsrGraph | undefined;
  index: Map<string, number> | undefined;
  searches: { strict: BfsResult; loose: BfsResult } | undefined;
  entrySet: Set<number>;
  hits: ReadonlyMap<string, number>;
  hasRuntime: boolean;
  options: ScoringOptions;
  unknowns: ReachabilityResult['unknowns'];
}

/** A target as the state computation sees it: its label, its members shown in the state, its hits. */
interface TargetSeen {
  target: Target;
  label: string;
  base: Pick<TargetState, 'target' | 'advisoryId' | 'package'>;
  hits: number;
  runtimeState: LatticeState;
}

function confidenceOf(options: ScoringOptions, c: number): number {
  return round(clamp(c, options.minConfidence, options.maxConfidence));
}

function targetState(scope: TargetScope, target: Target): TargetState {
  const { csr, index, searches, options } = scope;
  const label = target.symbolId ?? `${target.package ?? 'unknown'}#${target.advisoryId ?? 'no-symbol'}`;
  const hits = target.symbolId ? (scope.hits.get(target.symbolId) ?? 0) : 0;
  const seen: TargetSeen = {
    target,
    label,
    base: {
      target: label,
      ...(target.advisoryId ? { advisoryId: target.advisoryId } : {}),
      ...(target.package ? { package: target.package } : {}),
    },
    hits,
    runtimeState:
      hits > 0
        ? 'RuntimeObserved'
        : scope.hasRuntime && options.runtimeAbsenceIsEvidence
          ? 'RuntimeUnobserved'
          : 'Unknown',
  };
  if (!target.symbolId) return unknownState(scope, seen, 'no_symbol_data');
  if (!csr || !index || !searches) return unknownState(scope, seen, 'graph_missing');
  const node = index.get(target.symbolId);
  if (node === undefined) return unknownState(scope, seen, 'symbol_not_in_graph');
  if (searches.strict.parent[node] !== UNREACHED)
    return reachableState(scope, seen, csr, pathTo(searches.strict.parent, node));
  if (searches.loose.parent[node] !== UNREACHED) {
    // Only a heuristic (dynamic) edge leads here: neither reachable nor unreachable is proven.
    const s = unknownState(scope, seen, 'dynamic_edge_only');
    if (s.bucket === 'unknown') s.path = pathTo(searches.loose.parent, node).map((i) => csr.ids[i]!);
    return s;
  }
  const confidence = confidenceOf(options, options.unreachableConfidence);
  return {
    ...seen.base,
    reachable: false,
    bucket: 'unreachable',
    state: join('StaticallyUnreachable', seen.runtimeState),
    weight: options.weights.unreachable,
    confidence,
    score: round(confidence * options.weights.unreachable),
    path: [],
    evidence: { runtimeHits: hits > 0 ? [{ symbolId: target.symbolId, hitCount: hits }] : [] },
  };
}

/** A target the graph cannot place; observed at runtime it still counts as reached (a runtime-only node). */
function unknownState(scope: TargetScope, seen: TargetSeen, reason: UnknownReason): TargetState {
  const { options } = scope;
  const w = options.weights;
  const { target } = seen;
  if (seen.hits > 0) {
    const confidence = confidenceOf(options, options.reachableConfidence + options.runtimeBonus);
    return {
      ...seen.base,
      reachable: true,
      bucket: 'runtime',
      state: seen.runtimeState,
      weight: w.runtime,
      confidence,
      score: round(confidence * w.runtime),
      path: [target.symbolId!],
      evidence: { runtimeHits: [{ symbolId: target.symbolId!, hitCount: seen.hits }] },
    };
  }
  scope.unknowns.push({
    symbolId: seen.label,
    reason,
    ...(target.advisoryId ? { advisoryId: target.advisoryId } : {}),
  });
  const confidence = confidenceOf(options, options.minConfidence);
  return {
    ...seen.base,
    reachable: null,
    bucket: 'unknown',
    state: seen.runtimeState,
    weight: w.unknown,
    confidence,
    score: round(confidence * w.unknown),
    path: [],
    evidence: { runtimeHits: [] },
    unknownReason: reason,
  };
}

/** A target on a static path from an entrypoint: its bucket from the path and the hits along it. */
function reachableState(scope: TargetScope, seen: TargetSeen, csr: CsrGraph, pathNodes: number[]): TargetState {
  const { options } = scope;
  const path = pathNodes.map((i) => csr.ids[i]!);
  const runtimeHits = path.flatMap((id) => {
    const h = scope.hits.get(id) ?? 0;
    return h > 0 ? [{ symbolId: id, hitCount: h }] : [];
  });
  const bucket: Bucket = scope.entrySet.has(pathNodes[0]!)
    ? 'entrypoint'
    : runtimeHits.length > 0
      ? 'runtime'
      : path.length <= 2
        ? 'direct'
        : 'unknown';
  const confidence = confidenceOf(
    options,
    options.reachableConfidence + (runtimeHits.length > 0 ? options.runtimeBonus : 0),
  );
  return {
    ...seen.base,
    reachable: true,
    bucket,
    state: join('StaticallyReachable', seen.runtimeState),
    weight: options.weights[bucket],
    confidence,
    score: round(confidence * options.weights[bucket]),
    path,
    evidence: { runtimeHits },
  };
}
