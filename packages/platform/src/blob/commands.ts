// `stella cas gc [--grace <duration>]`: removes CAS objects nothing references (platform administrator).
import { durationSeconds, Errors } from '@stella/core';
import type { Command } from 'commander';
import { type CliCtx, CliError, createApiClient, printResult } from '../cli/index.ts';
import type { CollectReport } from './maintenance.ts';

export function registerCasCommands(program: Command, { io, globals }: CliCtx): void {
  const cas = program.command('cas').description('Content-addressed storage upkeep (scope tenant:admin)');
  cas
    .command('gc')
    .description(
      'Remove objects that no row or timeline event of their tenant references and that are older than the grace period',
    )
    .option('--grace <duration>', 'keep unreferenced objects younger than this (e.g. 24h, 2d; at least 1h)', '')
    .action(async (flags: { grace: string }) => {
      const opts = globals();
      const graceSeconds = flags.grace ? durationSeconds(flags.grace) : undefined;
      if (flags.grace && (graceSeconds === undefined || graceSeconds < 3600)) {
        throw new CliError(Errors.usage, `--grace ${flags.grace}: give a duration of at least 1h, such as 24h or 7d`);
      }
      const body = graceSeconds === undefined ? {} : { graceSeconds };
      // Not tenant-scoped: the collector visits every tenant.
      const report = await createApiClient(io, { ...opts, tenant: '' }).json<CollectReport & { graceSeconds: number }>(
        'POST',
        '/admin/cas/gc',
        { scope: 'tenant:admin', body },
      );
      printResult(
        io,
        opts,
        report,
        () =>
          `${report.deleted} objects removed (${report.deletedBytes} bytes) of ${report.scanned} scanned in ${report.tenants} tenants; ` +
          `${report.young} unreferenced but younger than ${report.graceSeconds} s kept`,
      );
    });
}
