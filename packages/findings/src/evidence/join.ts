// SPDX-License-Identifier: Apache-2.0
// The join, pure: each finding of a scan with the VEX statements that apply to it and its
// reachability in the subject's fact. The scan's own findings, undecided and not-evaluated counts
// pass through unchanged; the subject and the fact the states came from are named once on the report.
import type { Finding, ScanReport } from '../scan/scan.ts';
import type { EvidenceFinding, VexStatement } from './model.ts';
import { reachabilityOf, type SubjectFact } from './reachability.ts';

export interface EvidenceReport extends Omit<ScanReport, 'findings'> {
  /** The subject the SBOM is about, as Signals keys it; null when it names none. */
  subjectKey: string | null;
  /** The reachability fact joined, by version and digest; null when the subject has none. */
  fact: { factVersion: number; digest: string } | null;
  findings: EvidenceFinding[];
  /** VEX documents naming a component that could not be read (malformed, over the caps), with the reason. */
  vexUnreadable?: { recordId: string; reason: string }[];
}

export interface EvidenceInput {
  subjectKey: string | undefined;
  fact: SubjectFact | undefined;
  /** The statements applicable to a finding (its product and vulnerability, aliases included). */
  vexFor(finding: Finding): VexStatement[];
  packageKeyOf(purl: string): string | undefined;
}

export function joinEvidence(report: ScanReport, input: EvidenceInput): EvidenceReport {
  const findings = report.findings.map(
    (finding): EvidenceFinding => ({
      ...finding,
      vex: input.vexFor(finding),
      reachability: reachabilityOf(finding, input.subjectKey, input.fact, input.packageKeyOf),
    }),
  );
  return {
    ...report,
    subjectKey: input.subjectKey ?? null,
    fact: input.fact ? { factVersion: input.fact.factVersion, digest: input.fact.digest } : null,
    findings,
  };
}
