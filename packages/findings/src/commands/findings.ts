// SPDX-License-Identifier: Apache-2.0
// `stella findings list|show|recompute`: the stored findings on the server (runbook:
// docs/runbooks/findings.md). list pages through every match unless --limit caps it.
import { type CliCtx, createApiClient, printResult } from '@stella/platform';
import type { Command } from 'commander';
import type { StoredFinding } from '../store/service.ts';

interface ListFlags {
  subject?: string;
  severity?: string;
  reachability?: string;
  verdict?: string;
  vulnerability?: string;
  limit?: string;
}

const PAGE = 1000;

function table(items: readonly StoredFinding[]): string {
  const header = ['PACKAGE', 'VULNERABILITY', 'SEVERITY', 'REACHABILITY', 'VEX', 'VERDICT', 'RULE', 'ID'];
  const rows = items.map((f) => [
    f.purl,
    f.vulnerabilityId,
    f.severity,
    f.reachability,
    f.vexStatus,
    f.verdict ?? '-',
    f.rule ?? '-',
    f.id,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line), '', `${items.length} findings`].join('\n');
}

async function listCommand({ io, globals }: CliCtx, flags: ListFlags): Promise<void> {
  const api = createApiClient(io, globals());
  const cap = flags.limit === undefined ? Number.POSITIVE_INFINITY : Number(flags.limit);
  const items: StoredFinding[] = [];
  let cursor: string | undefined;
  do {
    const { limit: _, ...filters } = flags;
    const page = await api.json<{ items: StoredFinding[]; nextCursor: string | null }>('GET', '/findings', {
      scope: 'findings:read',
      query: { ...filters, limit: Math.min(PAGE, cap - items.length), cursor },
    });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < cap);
  printResult(io, globals(), { items }, () => table(items));
}

async function showCommand({ io, globals }: CliCtx, id: string): Promise<void> {
  const finding = await createApiClient(io, globals()).json<Record<string, unknown>>(
    'GET',
    `/findings/${encodeURIComponent(id)}`,
    { scope: 'findings:read' },
  );
  io.stdout.write(`${JSON.stringify(finding, null, 2)}\n`);
}

interface RecomputeAnswer {
  jobId?: string | null;
  results?: { subjectKey: string; findings: number; written: number; changes: number; snapshotId: string | null }[];
}

function describeRecompute(answer: RecomputeAnswer): string {
  if (answer.results)
    return answer.results
      .map(
        (r) =>
          `${r.subjectKey}: ${r.findings} findings, ${r.written} written, ${r.changes} verdict changes, policy ${r.snapshotId ?? 'none'}`,
      )
      .join('\n');
  return answer.jobId ? `queued recompute ${answer.jobId}` : 'a recompute of the same scope is already queued';
}

async function recomputeCommand({ io, globals }: CliCtx, flags: { subject?: string; wait?: boolean }): Promise<void> {
  const answer = await createApiClient(io, globals()).json<RecomputeAnswer>('POST', '/findings/recompute', {
    scope: 'findings:write',
    body: { ...(flags.subject ? { subject: flags.subject } : {}), ...(flags.wait ? { wait: true } : {}) },
    timeoutMs: flags.wait ? 10 * 60 * 1000 : undefined,
  });
  printResult(io, globals(), answer, () => describeRecompute(answer));
}

export function registerFindingsCommands(program: Command, cli: CliCtx): void {
  const findings = program
    .command('findings')
    .description('Stored findings, kept current by the server (runbook: docs/runbooks/findings.md)');
  findings
    .command('list')
    .description('List stored findings: PACKAGE VULNERABILITY SEVERITY REACHABILITY VEX VERDICT RULE ID')
    .option('--subject <key>', 'only this subject key (image digest, or component|version)')
    .option('--severity <level>', 'critical, high, medium, low, none or unknown')
    .option('--reachability <state>', 'reachable, unreachable or unknown')
    .option('--verdict <verdict>', 'pass, warn or fail')
    .option('--vulnerability <id>', 'one vulnerability id')
    .option('--limit <n>', 'at most this many (default: all)')
    .action((flags: ListFlags) => listCommand(cli, flags));
  findings
    .command('show')
    .description('One finding with its evidence (sources, VEX statements, reachability) and decision, as JSON')
    .argument('<id>', 'the finding id (finding:…)')
    .action((id: string) => showCommand(cli, id));
  findings
    .command('recompute')
    .description('Queue a recompute of the stored findings (they also recompute by themselves on every change)')
    .option('--subject <key>', 'only this subject key')
    .option('--wait', 'run it now and print what changed, instead of queueing it')
    .action((flags: { subject?: string; wait?: boolean }) => recomputeCommand(cli, flags));
}
