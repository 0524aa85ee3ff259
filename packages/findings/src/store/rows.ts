// SPDX-License-Identifier: Apache-2.0
// The pure half of a recompute: the rows a subject's evidence report gives under a policy (or none),
// and the timeline entries their difference from the stored rows makes. A row's id hashes the
// subject, purl and vulnerability, so the same finding in the subject's next SBOM keeps its id and
// its verdict history on the timeline.
import { createHash } from 'node:crypto';
import { canonicalJson } from '@stella/core';
import type { EvidenceReport } from '../evidence/join.ts';
import type { EvidenceFinding } from '../evidence/model.ts';
import type { FindingRow } from '../sql/findings.ts';

/** What the policy said about a finding, as a row and the document keep it. */
export interface StoredDecision {
  verdict: 'pass' | 'warn' | 'fail';
  rule: string;
  [key: string]: unknown;
}

export interface Evaluation {
  severity: string;
  vexStatus: string;
  decision: StoredDecision | null;
}

export interface RowsInput {
  report: EvidenceReport;
  subjectKey: string;
  sbomId: string;
  snapshotId: string | null;
  evaluatedAt: string;
  evaluate(finding: EvidenceFinding): Evaluation;
}

export function findingId(subjectKey: string, purl: string, vulnerabilityId: string): string {
  const hex = createHash('sha256').update(`${subjectKey}\u0000${purl}\u0000${vulnerabilityId}`).digest('hex');
  return `finding:${hex}`;
}

export function findingRows(input: RowsInput): FindingRow[] {
  const rows = input.report.findings.map((finding): FindingRow => {
    const { severity, vexStatus, decision } = input.evaluate(finding);
    const id = findingId(input.subjectKey, finding.component.purl, finding.vulnerabilityId);
    return {
      id,
      subject_key: input.subjectKey,
      sbom_id: input.sbomId,
      purl: finding.component.purl,
      vulnerability_id: finding.vulnerabilityId,
      severity,
      reachability: finding.reachability.state,
      vex_status: vexStatus,
      verdict: decision?.verdict ?? null,
      rule: decision?.rule ?? null,
      snapshot_id: input.snapshotId,
      fact_digest: finding.reachability.fact?.digest ?? null,
      document: {
        id,
        subjectKey: input.subjectKey,
        sbomId: input.sbomId,
        ...finding,
        severity,
        vexStatus,
        policy: decision,
        snapshotId: input.snapshotId,
        evaluatedAt: input.evaluatedAt,
      },
      evaluated_at: input.evaluatedAt,
    };
  });
  // Two components with the same purl in one SBOM are one finding per vulnerability.
  const unique = new Map(rows.map((r) => [r.id, r]));
  return [...unique.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface TimelineChange {
  kind: 'policy.verdict' | 'finding.resolved';
  details: Record<string, unknown>;
}

/**
 * `policy.verdict` for every finding whose verdict is new or changed (under a policy), and
 * `finding.resolved` for every stored finding the new rows no longer have.
 */
export function verdictChanges(before: readonly FindingRow[], after: readonly FindingRow[]): TimelineChange[] {
  const previous = new Map(before.map((r) => [r.id, r]));
  const changes: TimelineChange[] = [];
  for (const row of after) {
    const old = previous.get(row.id);
    previous.delete(row.id);
    if (row.verdict === null || (old && old.verdict === row.verdict && old.rule === row.rule)) continue;
    changes.push({
      kind: 'policy.verdict',
      details: {
        findingId: row.id,
        subjectKey: row.subject_key,
        sbomId: row.sbom_id,
        purl: row.purl,
        vulnerabilityId: row.vulnerability_id,
        verdict: row.verdict,
        previous: old?.verdict ?? null,
        rule: row.rule,
        snapshotId: row.snapshot_id,
        reachability: row.reachability,
        vexStatus: row.vex_status,
        factDigest: row.fact_digest,
      },
    });
  }
  for (const old of previous.values())
    changes.push({
      kind: 'finding.resolved',
      details: {
        findingId: old.id,
        subjectKey: old.subject_key,
        purl: old.purl,
        vulnerabilityId: old.vulnerability_id,
        previous: old.verdict,
      },
    });
  return changes;
}

/** What a row says, its evaluation time aside: two recomputes that agree write nothing. */
const contentOf = (row: FindingRow) => {
  const { evaluatedAt: _, ...document } = row.document;
  return canonicalJson({ ...row, evaluated_at: null, document });
};

/**
 * The new rows that differ from the stored ones (or are new). An unchanged finding keeps its row and
 * its evaluated_at: the time its content was last computed, which is what an export evaluates it at.
 */
export function changedRows(before: readonly FindingRow[], after: readonly FindingRow[]): FindingRow[] {
  const stored = new Map(before.map((r) => [r.id, contentOf(r)]));
  return after.filter((row) => stored.get(row.id) !== contentOf(row));
}
