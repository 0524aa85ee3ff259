// SPDX-License-Identifier: Apache-2.0
// What `stella scan --policy` and `stella policy simulate` share: the server's evidence (a scan
// report: matches, VEX statements, reachability) evaluated here, in the CLI, under a local policy
// file, so a CI job can try a policy change before publishing it and needs no write scope. The
// verdicts are the ones the server would give under the same policy at the same time.
import { type CliCtx, CliError, createApiClient } from '@stella/platform';
import { FindingsErrors } from '../errors.ts';
import type { EvidenceReport } from '../evidence/join.ts';
import type { EvidenceFinding } from '../evidence/model.ts';
import { evaluateFinding, type Policy, type PolicyDecision, type PolicySummary } from '../policy/index.ts';
import { readSbomFile } from './sbom.ts';

// A large SBOM takes a while to match; the client's default 60 s would cut it off.
const SCAN_TIMEOUT_MS = 10 * 60 * 1000;

export type DecidedFinding = EvidenceFinding & { decision: PolicyDecision };

/** The evidence report of an SBOM file, from POST /findings/scan (nothing is stored). */
export async function scanFile(cli: CliCtx, file: string): Promise<EvidenceReport> {
  return createApiClient(cli.io, cli.globals()).json<EvidenceReport>('POST', '/findings/scan', {
    scope: 'advisory:read',
    rawBody: { contentType: 'application/json', data: readSbomFile(file) },
    timeoutMs: SCAN_TIMEOUT_MS,
  });
}

export function decide(findings: readonly EvidenceFinding[], policy: Policy, at: Date): DecidedFinding[] {
  return findings.map((finding) => ({ ...finding, decision: evaluateFinding(policy, finding, at) }));
}

/** Exit 1 (ERR_POLICY_THRESHOLD) when any subject crossed a threshold, naming each. */
export function enforceThresholds(policy: Policy, results: Array<{ name: string; summary: PolicySummary }>): void {
  const crossed = results.filter((r) => r.summary.thresholdCrossed);
  if (crossed.length === 0) return;
  const fail = policy.thresholds?.fail ?? 0;
  const warn = policy.thresholds?.warn;
  const describe = ({ name, summary }: (typeof crossed)[number]) =>
    `${name}: ${summary.counts.fail} fail (threshold ${fail}), ${summary.counts.warn} warn (threshold ${warn ?? 'none'})`;
  throw new CliError(
    FindingsErrors.policyThreshold,
    `policy ${policy.metadata.name} crossed its thresholds: ${crossed.map(describe).join('; ')}`,
  );
}
