// SPDX-License-Identifier: Apache-2.0
// The policy result as Markdown for a CI pull-request comment: the overall result, counts per subject,
// then the findings that fail or warn, worst first. Deterministic (same input, same bytes), so a CI
// job can update its comment only when the result changed; capped below the comment size forges allow.
import type { EvidenceFinding } from '../evidence/model.ts';
import { type PolicyDecision, type PolicySummary, summarize } from './evaluate.ts';
import type { Policy, Verdict } from './schema.ts';
import { severityRank } from './severity.ts';

export interface MarkdownSummaryInput {
  policy: Policy;
  policyDigest: string;
  subjects: Array<{ name: string; findings: Array<EvidenceFinding & { decision: PolicyDecision }> }>;
}

/** Rows in the findings table; GitHub refuses comments over 65,536 characters and a reader stops far sooner. */
export const MAX_FINDING_ROWS = 100;

const ICON = { ok: '✅', warn: '⚠️', fail: '❌' } as const;
const VERDICT_RANK: Record<Verdict, number> = { fail: 0, warn: 1, pass: 2 };

/** Table cell text: pipes escaped, HTML and line breaks neutralised, so a crafted purl cannot break the table. */
export function escapeCell(text: string): string {
  return text
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('`', '\\`')
    .replace(/\r\n|\r|\n/g, ' ');
}

function resultOf(summary: PolicySummary): keyof typeof ICON {
  if (summary.thresholdCrossed) return 'fail';
  return summary.counts.fail + summary.counts.warn > 0 ? 'warn' : 'ok';
}

type Row = { subject: string; finding: EvidenceFinding & { decision: PolicyDecision } };

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function byConcern(a: Row, b: Row): number {
  const [x, y] = [a.finding, b.finding];
  return (
    VERDICT_RANK[x.decision.verdict] - VERDICT_RANK[y.decision.verdict] ||
    severityRank(y.decision.severity) - severityRank(x.decision.severity) ||
    compareText(x.component.purl, y.component.purl) ||
    compareText(x.vulnerabilityId, y.vulnerabilityId) ||
    compareText(a.subject, b.subject)
  );
}

function findingRow(row: Row, withSubject: boolean): string {
  const { finding } = row;
  const d = finding.decision;
  const cells = [
    finding.component.purl,
    finding.vulnerabilityId,
    d.severity,
    d.reachability,
    d.vexStatus,
    d.verdict,
    d.rule,
    finding.fixedVersions.join(', ') || '—',
  ];
  return `| ${(withSubject ? [row.subject, ...cells] : cells).map(escapeCell).join(' | ')} |`;
}

export function markdownSummary(input: MarkdownSummaryInput): string {
  const summaries = input.subjects.map((s) =>
    summarize(
      s.findings.map((f) => f.decision),
      input.policy,
    ),
  );
  const results = summaries.map(resultOf);
  const overall = results.includes('fail') ? 'fail' : results.includes('warn') ? 'warn' : 'ok';
  const title = { ok: 'passed', warn: 'passed with warnings', fail: 'failed' }[overall];
  const out = [
    `## ${ICON[overall]} stella policy ${title}`,
    '',
    `Policy \`${escapeCell(input.policy.metadata.name)}\` (\`${escapeCell(input.policyDigest)}\`), thresholds: fail ≤ ${input.policy.thresholds?.fail ?? 0}, warn ≤ ${input.policy.thresholds?.warn ?? '∞'}.`,
    '',
    '| subject | fail | warn | pass | result |',
    '|---|---:|---:|---:|---|',
    ...input.subjects.map((s, i) => {
      const { counts, crossed } = summaries[i] as PolicySummary;
      const note = crossed.length > 0 ? ` (${crossed.join(', ')} threshold crossed)` : '';
      return `| ${escapeCell(s.name)} | ${counts.fail} | ${counts.warn} | ${counts.pass} | ${ICON[results[i] ?? 'ok']}${note} |`;
    }),
  ];
  const rows = input.subjects
    .flatMap((s) => s.findings.map((finding) => ({ subject: s.name, finding })))
    .filter((r) => r.finding.decision.verdict !== 'pass')
    .sort(byConcern);
  if (rows.length === 0) return `${out.join('\n')}\n`;
  const withSubject = input.subjects.length > 1;
  const header = ['package', 'vulnerability', 'severity', 'reachability', 'VEX', 'verdict', 'rule', 'fixed in'];
  const columns = withSubject ? ['subject', ...header] : header;
  out.push('', '### Findings that fail or warn', '', `| ${columns.join(' | ')} |`, `|${'---|'.repeat(columns.length)}`);
  for (const row of rows.slice(0, MAX_FINDING_ROWS)) out.push(findingRow(row, withSubject));
  if (rows.length > MAX_FINDING_ROWS) out.push('', `…and ${rows.length - MAX_FINDING_ROWS} more not shown.`);
  return `${out.join('\n')}\n`;
}
