// SPDX-License-Identifier: Apache-2.0
// `stella scan <sbom>`: the SBOM's components matched against the advisories on the server, without
// storing the SBOM (runbook: docs/runbooks/sbom.md). A table by default; with --json one object per
// finding on its own line, then nothing else, so `jq` reads the stream. What could not be decided is
// summed up on stderr. Exit 0 when the scan ran (the policy verdicts and their threshold come with
// `--policy`, issue 13); 2 for an SBOM the server refuses.
import { basename } from 'node:path';
import { type CliCtx, createApiClient, log } from '@stella/platform';
import type { Command } from 'commander';
import type { Finding, ScanReport } from '../scan/scan.ts';
import { readSbomFile } from './sbom.ts';

// A large SBOM takes a while to match; the client's default 60 s would cut it off.
const SCAN_TIMEOUT_MS = 10 * 60 * 1000;

function jsonLine(f: Finding): string {
  return JSON.stringify({
    purl: f.component.purl,
    vulnerabilityId: f.vulnerabilityId,
    aliases: f.aliases,
    severity: f.sources.flatMap((s) => s.severity.map((v) => ({ source: s.vendor, ...v }))),
    fixedVersions: f.fixedVersions,
    sources: f.sources.map(({ recordId, vendor, upstreamId, contentHash }) => ({
      recordId,
      vendor,
      upstreamId,
      contentHash,
    })),
  });
}

function table(report: ScanReport): string {
  if (report.findings.length === 0) return `no findings in ${report.components} components`;
  const rows = report.findings.map((f) => [
    f.component.purl,
    f.vulnerabilityId,
    f.fixedVersions.join(', ') || '-',
    f.sources.map((s) => `${s.vendor}:${s.upstreamId}`).join(' '),
  ]);
  const header = ['PACKAGE', 'VULNERABILITY', 'FIXED IN', 'SOURCES'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [
    line(header),
    ...rows.map(line),
    '',
    `${report.findings.length} findings in ${report.components} components`,
  ].join('\n');
}

function summary(report: ScanReport): string[] {
  const notes: string[] = [];
  const reasons = new Map<string, number>();
  for (const u of report.undecided) reasons.set(u.reason, (reasons.get(u.reason) ?? 0) + 1);
  if (reasons.size > 0)
    notes.push(`undecided (not guessed): ${[...reasons].map(([reason, n]) => `${reason} ${n}`).join(', ')}`);
  const formats = Object.entries(report.notEvaluated);
  if (formats.length > 0)
    notes.push(`advisories not evaluated, by format: ${formats.map(([f, n]) => `${f} ${n}`).join(', ')}`);
  return notes;
}

async function scanCommand({ io, globals }: CliCtx, file: string): Promise<void> {
  const opts = globals();
  const bytes = readSbomFile(file);
  const report = await createApiClient(io, opts).json<ScanReport>('POST', '/findings/scan', {
    scope: 'advisory:read',
    rawBody: { contentType: 'application/json', data: bytes },
    timeoutMs: SCAN_TIMEOUT_MS,
  });
  io.stdout.write(opts.json ? report.findings.map((f) => `${jsonLine(f)}\n`).join('') : `${table(report)}\n`);
  for (const note of summary(report)) log(io, opts, `${basename(file)}: ${note}`);
}

export function registerScanCommand(program: Command, cli: CliCtx): void {
  program
    .command('scan <sbom>')
    .description('Match an SBOM (CycloneDX or SPDX JSON) against the advisories on the server, without storing it')
    .action((file: string) => scanCommand(cli, file));
}
