// SPDX-License-Identifier: Apache-2.0
// @stella/signals: callgraphs, runtime facts, reachability, fact events and offline runtime ingest.

// The id derivation lives in @stella/core (pure) so producers such as the observer need no rooms.
export { SYMBOL_TUPLES, symbolId } from '@stella/core';
export { addOfflineIngestCommand } from './commands.ts';
export type { LatticeState } from './engine/lattice.ts';
export { join as joinLattice, LATTICE_STATES } from './engine/lattice.ts';
export type {
  Bucket,
  ReachabilityResult,
  ScoringOptions,
  Target,
  TargetState,
  UnknownReason,
} from './engine/reachability.ts';
export { bfs, computeReachability } from './engine/reachability.ts';
export type { AdvisorySymbols, VulnerableSymbols } from './engine/targets.ts';
export { SignalsErrors } from './errors.ts';
export { createNatsBridge, FACT_DLQ_SUBJECT, FACT_SUBJECT } from './events.ts';
export type { ReachabilityFact } from './facts/door.ts';
export { reachabilityFact } from './facts/door.ts';
export type { CsrGraph } from './graph/csr.ts';
export { decodeCsr, encodeCsr, toCsr } from './graph/csr.ts';
export type { CanonicalGraph } from './graph/model.ts';
export { normalizeGraph } from './graph/normalize.ts';
export { parseCallgraphBody } from './graph/parse.ts';
export type { SignalsModuleOptions } from './module.ts';
export { createSignalsModule, signalsOf } from './module.ts';
export type { Signals } from './service.ts';
export { createSignals, FACT_TOPIC } from './service.ts';
export { toCycloneDx, toOpenVex } from './vex.ts';
