// The wire shapes the Reachability page reads, as packages/signals/src/routes declare them.

/** One subject of GET /signals/facts. */
export interface FactSummary {
  subjectKey: string;
  subject: Record<string, string> | null;
  factVersion: number;
  digest: string;
  score: number;
  targets: number;
  reachableTargets: number;
  unknownsCount: number;
  computedAt: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A target's state in a fact (signals engine/reachability.ts TargetState). */
export interface TargetState {
  target: string;
  advisoryId?: string;
  package?: string;
  precision?: 'package';
  reachable: boolean | null;
  bucket: string;
  state: string;
  weight: number;
  confidence: number;
  score: number;
  /** Sink first, entrypoint last, as the engine writes it. */
  path: string[];
  evidence: { runtimeHits: { symbolId: string; hitCount: number }[] };
  unknownReason?: string;
}

/** GET /signals/facts/{subjectKey} when a fact is stored (the fact document with its version). */
export interface Fact {
  status?: undefined;
  subjectKey: string;
  subject?: Record<string, string>;
  callgraphId: string;
  graphHash: string | null;
  states: TargetState[];
  score: number;
  unknownsCount: number;
  runtimeFacts: { symbols: number; totalHits: number; runtimeOnlySymbols: number; lastSeen: string | null };
  provenance: { engine: string; targetsSource: string };
  fact_version: number;
  digest: string;
  computedAt: string;
}

/** The 202 answer while a subject's fact is pending. */
export interface PendingFact {
  status: 'pending';
  subjectKey: string;
  waitingFor: 'recompute' | 'callgraph';
  since: string;
  retryAfterSeconds: number;
  factVersion: number | null;
  graphHash?: string;
}

/** GET /signals/unknowns/{subjectKey}. */
export interface Unknown {
  symbolId: string;
  reason: string;
  origin: string;
  callgraphId: string | null;
  advisoryId: string | null;
}

/** The OpenVEX document of GET /signals/facts/{subjectKey}/vex, as far as the page lists it. */
export interface OpenVex {
  statements: {
    vulnerability: { name: string };
    products: { '@id': string }[];
    status: string;
    status_notes?: string;
    justification?: string;
    impact_statement?: string;
    action_statement?: string;
  }[];
}
