// SPDX-License-Identifier: Apache-2.0
// `stella export quota show|set` and `stella export retention run`.
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, printResult } from '@stella/platform';
import type { Command } from 'commander';

export function registerQuotaCommands(exportCmd: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  const quota = exportCmd.command('quota').description("The tenant's export quota (runs per UTC day)");
  quota.command('show').action(async () => {
    const q = await api().json<{ limit: number; remaining: number; reset: number }>('GET', '/api/export/quota');
    printResult(
      io,
      globals(),
      q,
      () => `limit ${q.limit}/day, remaining ${q.remaining}, resets ${new Date(q.reset * 1000).toISOString()}`,
    );
  });
  quota
    .command('set')
    .description('Set runs per day; 0 pauses submissions (KMS outage, runbook §7.3)')
    .requiredOption('--runs-per-day <n>', 'runs per UTC day (0 pauses)')
    .action(async (flags: { runsPerDay: string }) => {
      const n = Number(flags.runsPerDay);
      if (!Number.isInteger(n) || n < 0) throw new CliError(Errors.usage, '--runs-per-day must be an integer ≥ 0');
      const q = await api().json<{ limit: number; remaining: number }>('PUT', '/api/export/quota', {
        body: { runsPerDay: n },
      });
      printResult(io, globals(), q, () =>
        n === 0 ? 'export submissions paused (quota 0)' : `quota set to ${q.limit}/day (${q.remaining} left today)`,
      );
    });
}

export function registerRetentionCommand(exportCmd: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  exportCmd
    .command('retention')
    .description('Retention')
    .command('run')
    .description("Prune this tenant's bundles by each profile's retention now (the nightly job does every tenant)")
    .action(async () => {
      const report = await api().json<{
        pruned: { runId: string; profileId: string; reason: string }[];
        blobsDeleted: number;
      }>('POST', '/api/export/retention/run');
      printResult(io, globals(), report, () =>
        report.pruned.length === 0
          ? 'nothing to prune'
          : [
              ...report.pruned.map((p) => `expired ${p.runId} (${p.profileId}): ${p.reason}`),
              `${report.blobsDeleted} blobs deleted`,
            ].join('\n'),
      );
    });
}
