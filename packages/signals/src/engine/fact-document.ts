// The pure core of a recompute: a subject's inputs (graph, targets, runtime hits and summary,
// scoring) become its reachability fact document, its canonical bytes and their digest, and the
// digest of the inputs that decides whether a stored fact is still current. No I/O, no clock: the
// same inputs give the same bytes.
import { canonicalDigest, canonicalJson, sha256Hex } from '@stella/core';
import type { LoadedGraph } from '../callgraphs/graphs.ts';
import type { SignalsConfig } from '../context.ts';
import { computeReachability, type ReachabilityResult, type ScoringOptions, type Target } from './reachability.ts';

/** Named in every fact and in its inputs digest: a new engine version recomputes every fact. */
export const ENGINE_VERSION = 'stella.reachability/1';

/** The runtime side of a subject as the fact reports it (sql/runtime.ts runtimeSummary). */
export interface RuntimeSummary {
  symbols: number;
  totalHits: number;
  runtimeOnly: number;
  lastSeen: string | null;
  ingests: string[];
}

export interface FactSubject {
  subjectKey: string;
  subject: Record<string, string>;
  callgraphId: string;
  runtimeVersion: number;
}

export interface FactInputs {
  subject: FactSubject;
  graphHash: string | null;
  /** The decoded graph; undefined when the subject has none, or its blob is unreadable. */
  graph: LoadedGraph | undefined;
  targets: readonly Target[];
  /** request, advisories or observed: where the targets came from. */
  targetsSource: string;
  /** symbolId → hit count, for the subject. */
  hits: ReadonlyMap<string, number>;
  runtime: RuntimeSummary;
  scoring: ScoringOptions;
}

export interface FactDocument {
  /** The engine's answer (states, score, unknowns), stored beside the document. */
  result: ReachabilityResult;
  document: Record<string, unknown>;
  /** The document as canonical JSON: what goes to CAS. */
  bytes: Buffer;
  /** sha256 of bytes: the fact's digest and ETag. */
  digest: string;
}

/** The scoring options from the configuration (signals.weight*, *Confidence, runtime*). */
export function scoringOf(config: SignalsConfig): ScoringOptions {
  return {
    weights: {
      entrypoint: config.weightEntrypoint,
      direct: config.weightDirect,
      runtime: config.weightRuntime,
      unknown: config.weightUnknown,
      unreachable: config.weightUnreachable,
    },
    reachableConfidence: config.reachableConfidence,
    unreachableConfidence: config.unreachableConfidence,
    runtimeBonus: config.runtimeBonus,
    minConfidence: config.minConfidence,
    maxConfidence: config.maxConfidence,
    unknownsPressureCeiling: config.unknownsPressureCeiling,
    runtimeAbsenceIsEvidence: config.runtimeAbsenceIsEvidence,
  };
}

/**
 * The digest of what a fact is computed from: a stored fact with the same inputs digest is what a
 * recompute would write again, so it is kept without computing.
 */
export function factInputsDigest(inputs: {
  graphHash: string | null;
  graphLoaded: boolean;
  runtimeVersion: number;
  targets: readonly Target[];
  scoring: ScoringOptions;
}): string {
  return canonicalDigest({
    engine: ENGINE_VERSION,
    graphHash: inputs.graphHash,
    graphLoaded: inputs.graphLoaded,
    runtimeVersion: inputs.runtimeVersion,
    targets: inputs.targets,
    scoring: inputs.scoring,
  });
}

/** Computes reachability and writes the fact document (schema stella.signals.reachability-fact.v1). */
export function buildFactDocument(inputs: FactInputs): FactDocument {
  const { subject, graph, runtime, scoring } = inputs;
  const result = computeReachability(
    {
      csr: graph?.csr,
      index: graph?.index,
      targets: inputs.targets,
      hits: inputs.hits,
      ...(graph ? { searches: graph.searches } : {}),
    },
    scoring,
  );
  const document = {
    schema: 'stella.signals.reachability-fact.v1',
    subjectKey: subject.subjectKey,
    subject: subject.subject,
    callgraphId: subject.callgraphId,
    graphHash: inputs.graphHash,
    states: result.states,
    score: result.score,
    unknownsCount: result.unknowns.length,
    unknowns: result.unknowns,
    runtimeFacts: {
      symbols: runtime.symbols,
      totalHits: runtime.totalHits,
      runtimeOnlySymbols: runtime.runtimeOnly,
      lastSeen: runtime.lastSeen,
    },
    provenance: {
      engine: ENGINE_VERSION,
      targetsSource: inputs.targetsSource,
      runtimeIngests: runtime.ingests,
      runtimeVersion: subject.runtimeVersion,
      scoringDigest: canonicalDigest(scoring),
    },
  };
  const bytes = Buffer.from(canonicalJson(document), 'utf8');
  return { result, document, bytes, digest: `sha256:${sha256Hex(bytes)}` };
}
