// SPDX-License-Identifier: Apache-2.0
// The reachability of a finding, read from the Signals fact of the SBOM's subject. A fact holds one
// state per target (a vulnerable symbol of an advisory, or the advisory alone when it names no
// symbols); a finding's targets are those whose advisory id is the finding's id, an alias, or a
// source's upstream id, and whose package (when the target names one) is the component's.
// Several targets combine without the lattice: one reachable target makes the vulnerability
// reachable (the strongest evidence and its witness path are kept); only when every target is
// unreachable is the finding unreachable; anything else is unknown. The fact is cited by version and
// digest, so a verdict can be traced to the exact evidence it was made from.
import type { Db } from '@stella/platform';
import type { Finding } from '../scan/scan.ts';
import type { FindingReachability, ReachabilityState } from './model.ts';

/** The parts of a Signals target state the join reads (Signals' TargetState, structurally). */
export interface FactTargetState {
  advisoryId?: string;
  package?: string;
  state: string;
  path: string[];
}

/** A subject's fact as the Signals door answers it (reachabilityFact). */
export interface SubjectFact {
  subjectKey: string;
  factVersion: number;
  digest: string;
  states: FactTargetState[];
}

// Strongest first within each class: confirmed evidence beats a runtime observation beats the graph.
const REACHABLE = ['ConfirmedReachable', 'RuntimeObserved', 'StaticallyReachable'];
const UNREACHABLE = ['StaticallyUnreachable', 'ConfirmedUnreachable'];

export function stateClass(lattice: string): ReachabilityState {
  if (REACHABLE.includes(lattice)) return 'reachable';
  if (UNREACHABLE.includes(lattice)) return 'unreachable';
  return 'unknown';
}

const rank = (list: string[], state: string) => {
  const i = list.indexOf(state);
  return i < 0 ? list.length : i;
};

/** The finding's targets in the fact. */
function targetsOf(
  finding: Finding,
  fact: SubjectFact,
  packageKeyOf: (purl: string) => string | undefined,
): FactTargetState[] {
  const ids = new Set(
    [finding.vulnerabilityId, ...finding.aliases, ...finding.sources.map((s) => s.upstreamId)].map((id) =>
      id.toUpperCase(),
    ),
  );
  const component = packageKeyOf(finding.component.purl);
  return fact.states.filter(
    (s) =>
      s.advisoryId !== undefined &&
      ids.has(s.advisoryId.toUpperCase()) &&
      (s.package === undefined || packageKeyOf(s.package) === component),
  );
}

export function reachabilityOf(
  finding: Finding,
  subjectKey: string | undefined,
  fact: SubjectFact | undefined,
  packageKeyOf: (purl: string) => string | undefined,
): FindingReachability {
  const unknown = (reason: FindingReachability['reason']): FindingReachability => ({
    state: 'unknown',
    lattice: 'Unknown',
    path: [],
    ...(reason ? { reason } : {}),
  });
  if (subjectKey === undefined) return unknown('no-subject');
  if (fact === undefined) return unknown('no-fact');
  const cite = { subjectKey: fact.subjectKey, digest: fact.digest, factVersion: fact.factVersion };
  const targets = targetsOf(finding, fact, packageKeyOf);
  if (targets.length === 0) return { ...unknown('no-target'), fact: cite };
  const reachable = targets
    .filter((t) => stateClass(t.state) === 'reachable')
    .sort((a, b) => rank(REACHABLE, a.state) - rank(REACHABLE, b.state));
  const best = reachable[0];
  if (best) return { state: 'reachable', lattice: best.state, path: best.path, fact: cite };
  if (targets.every((t) => stateClass(t.state) === 'unreachable')) {
    // The weakest proof of absence is what the whole finding can claim.
    const weakest = targets.map((t) => t.state).sort((a, b) => rank(UNREACHABLE, a) - rank(UNREACHABLE, b))[0]!;
    return { state: 'unreachable', lattice: weakest, path: [], fact: cite };
  }
  const undecided = targets.find((t) => stateClass(t.state) === 'unknown')!;
  return { state: 'unknown', lattice: undecided.state, path: [], fact: cite };
}

/** What the findings room needs from Signals, as a port the server wires to its door (reachabilityFact). */
export interface ReachabilitySource {
  reachabilityFact(db: Db, tenant: string, subjectKey: string): Promise<SubjectFact | undefined>;
}
