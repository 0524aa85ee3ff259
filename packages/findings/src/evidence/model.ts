// SPDX-License-Identifier: Apache-2.0
// A finding with its evidence joined: the scan's match (scan/scan.ts: component, vulnerability,
// aliases, sources with ranges and severities), the VEX statements that apply to it (each kept as
// its issuer wrote it, conflicting ones side by side), and the reachability Signals computed for the
// SBOM's subject. The policy reads exactly this; nothing here is merged or re-scored.
import type { Finding } from '../scan/scan.ts';

export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';
export type VexFormat = 'OPENVEX' | 'CSAF_VEX' | 'CYCLONEDX_VEX';

/** One statement of a raw VEX document that names the finding's product and vulnerability. */
export interface VexStatement {
  /** The raw record id (`vex_raw:{vendor}:{upstream id}:{revision}`), its vendor, upstream id and hash. */
  recordId: string;
  vendor: string;
  upstreamId: string;
  contentHash: string;
  format: VexFormat;
  /** Who makes the statement, as the document names it (OpenVEX author, CSAF publisher, CycloneDX manufacturer…). */
  issuer: string;
  /** The vulnerability id as the statement spells it (CVE, GHSA, vendor id). */
  vulnerabilityId: string;
  status: VexStatus;
  justification?: string;
  impact?: string;
  action?: string;
  /** The product identifier of the statement that matched the component (a purl or a CPE). */
  product: string;
  /** When the statement (or, failing that, its document) was last made, as written. */
  timestamp?: string;
  /** JSON pointer (RFC 6901) of the statement in the raw document. */
  pointer: string;
}

/**
 * reachable: StaticallyReachable, RuntimeObserved, ConfirmedReachable. unreachable: StaticallyUnreachable,
 * ConfirmedUnreachable. unknown: Unknown, RuntimeUnobserved (absence at runtime alone proves nothing),
 * Contested, and every finding whose subject has no fact or whose fact has no target for it.
 */
export type ReachabilityState = 'reachable' | 'unreachable' | 'unknown';

export interface FindingReachability {
  state: ReachabilityState;
  /** The Signals lattice state joined over the vulnerability's targets; `Unknown` without a fact. */
  lattice: string;
  /** A witness path, sink first, entrypoint last, when a target is reachable. */
  path: string[];
  /** The fact the state was read from. */
  fact?: { subjectKey: string; digest: string; factVersion: number };
  /** Why the state is unknown when no target in a fact decided it. */
  reason?: 'no-subject' | 'no-fact' | 'no-target';
}

export interface EvidenceFinding extends Finding {
  vex: VexStatement[];
  reachability: FindingReachability;
}
