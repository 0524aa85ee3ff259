// SPDX-License-Identifier: Apache-2.0
// `stella scan <sbom> [--policy <file>]`: the SBOM's components matched against the advisories on the
// server, with VEX and reachability joined, without storing the SBOM (runbook: docs/runbooks/sbom.md).
// A table by default; with --json one object per finding on its own line, then nothing else, so `jq`
// reads the stream. With --policy each finding gets the policy's verdict and the rule that decided
// it (evaluated here: commands/evaluate.ts). What could not be decided is summed up on stderr.
// Exit 0 when the scan ran (and the policy's thresholds hold), 1 over a threshold, 2 for bad input.
import { basename } from 'node:path';
import { type CliCtx, log } from '@stella/platform';
import { type Command, Option } from 'commander';
import type { EvidenceReport } from '../evidence/join.ts';
import type { EvidenceFinding } from '../evidence/model.ts';
import { type PolicyDecision, summarize } from '../policy/index.ts';
import { type DecidedFinding, decide, enforceThresholds, scanFile } from './evaluate.ts';
import { evaluationTime, loadPolicyFile } from './policy-file.ts';

function jsonLine(f: EvidenceFinding, decision: PolicyDecision | undefined): string {
  return JSON.stringify({
    purl: f.component.purl,
    vulnerabilityId: f.vulnerabilityId,
    aliases: f.aliases,
    severity: f.sources.flatMap((s) => s.severity.map((v) => ({ source: s.vendor, ...v }))),
    fixedVersions: f.fixedVersions,
    reachability: f.reachability,
    vex: f.vex.map(({ issuer, status, justification, vulnerabilityId, product, recordId }) => ({
      issuer,
      status,
      ...(justification ? { justification } : {}),
      vulnerabilityId,
      product,
      recordId,
    })),
    ...(decision ? { verdict: decision } : {}),
    sources: f.sources.map(({ recordId, vendor, upstreamId, contentHash }) => ({
      recordId,
      vendor,
      upstreamId,
      contentHash,
    })),
  });
}

function table(report: EvidenceReport, decided: readonly DecidedFinding[] | undefined): string {
  if (report.findings.length === 0) return `no findings in ${report.components} components`;
  const rows = report.findings.map((f, i) => {
    const d = decided?.[i]?.decision;
    return [
      f.component.purl,
      f.vulnerabilityId,
      f.fixedVersions.join(', ') || '-',
      f.reachability.state,
      f.vex.map((v) => `${v.status}(${v.issuer})`).join(' ') || '-',
      ...(decided ? [d?.verdict ?? '-', d?.rule ?? '-'] : []),
      f.sources.map((s) => `${s.vendor}:${s.upstreamId}`).join(' '),
    ];
  });
  const header = [
    'PACKAGE',
    'VULNERABILITY',
    'FIXED IN',
    'REACHABILITY',
    'VEX',
    ...(decided ? ['VERDICT', 'RULE'] : []),
    'SOURCES',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [
    line(header),
    ...rows.map(line),
    '',
    `${report.findings.length} findings in ${report.components} components`,
  ].join('\n');
}

function summary(report: EvidenceReport): string[] {
  const notes: string[] = [];
  const reasons = new Map<string, number>();
  for (const u of report.undecided) reasons.set(u.reason, (reasons.get(u.reason) ?? 0) + 1);
  if (reasons.size > 0)
    notes.push(`undecided (not guessed): ${[...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  const formats = Object.entries(report.notEvaluated);
  if (formats.length > 0)
    notes.push(`advisories not evaluated, by format: ${formats.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  if (report.vexUnreadable?.length)
    notes.push(`VEX documents not read: ${report.vexUnreadable.map((v) => `${v.recordId} (${v.reason})`).join(', ')}`);
  if (report.subjectKey === null) notes.push('no subject (the SBOM names no root): reachability is unknown');
  else if (report.fact === null) notes.push(`no reachability fact for subject ${report.subjectKey}`);
  return notes;
}

interface ScanFlags {
  policy?: string;
  at?: string;
}

async function scanCommand(cli: CliCtx, file: string, flags: ScanFlags): Promise<void> {
  const opts = cli.globals();
  const at = evaluationTime(flags.at);
  // The policy is read first: a policy with errors is reported before the server is asked anything.
  const loaded = flags.policy === undefined ? undefined : loadPolicyFile(flags.policy, at);
  const report = await scanFile(cli, file);
  const decided = loaded ? decide(report.findings, loaded.policy, at) : undefined;
  cli.io.stdout.write(
    opts.json
      ? report.findings.map((f, i) => `${jsonLine(f, decided?.[i]?.decision)}\n`).join('')
      : `${table(report, decided)}\n`,
  );
  for (const note of summary(report)) log(cli.io, opts, `${basename(file)}: ${note}`);
  if (loaded) {
    const result = summarize(
      (decided ?? []).map((f) => f.decision),
      loaded.policy,
    );
    const { counts } = result;
    log(
      cli.io,
      opts,
      `policy ${loaded.policy.metadata.name}: ${counts.fail} fail, ${counts.warn} warn, ${counts.pass} pass`,
    );
    enforceThresholds(loaded.policy, [{ name: basename(file), summary: result }]);
  }
}

export function registerScanCommand(program: Command, cli: CliCtx): void {
  program
    .command('scan <sbom>')
    .description(
      'Match an SBOM (CycloneDX or SPDX JSON) against the advisories on the server, with VEX and reachability, without storing it; exit 1 over the --policy thresholds',
    )
    .option(
      '--policy <file>',
      'evaluate each finding under this policy file (docs/policy.md); exit 1 over its thresholds',
    )
    .addOption(
      new Option('--at <time>', 'evaluate exception expiry at this time instead of now (env STELLA_POLICY_AT)').default(
        cli.io.env.STELLA_POLICY_AT,
      ),
    )
    .action((file: string, flags: ScanFlags) => scanCommand(cli, file, flags));
}
