// SPDX-License-Identifier: Apache-2.0
// `stella offline import|status` (runbook §7.2 "restore"): the disconnected side of a mirror. Both open
// this home's database directly (the server must be stopped on an embedded home), never the network.
import { existsSync } from 'node:fs';
import { Errors } from '@stella/core';
import { type CliCtx, CliError, counterOnStderr, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { readKeyFlag } from '../bundle/command.ts';
import { importMirrorBundle, mirrorImportLog } from '../mirror/import.ts';

interface ImportFlags {
  bundle: string;
  trustRoot: string;
  dryRun?: boolean;
  tenant?: string;
}

export function registerOfflineCommands(program: Command, cli: CliCtx): void {
  const { io, globals, loadConfig, migrate } = cli;
  const offline = program
    .command('offline')
    .description('Disconnected sites: apply mirror bundles to this home (runbook: docs/runbooks/export.md §7.2)');

  offline
    .command('import')
    .description(
      'Verify a mirror:full or mirror:delta bundle against a pinned key and apply it to the local database in one transaction (full first, then deltas in order)',
    )
    .requiredOption('--bundle <file|dir>', 'mirror bundle (.tar.zst, .tar.gz, .tar) or an extracted bundle directory')
    .requiredOption(
      '--trust-root <pub.pem>',
      "the exporting stella's export-center public key (`stella export keys --output <file>` on the connected side)",
    )
    .option('--dry-run', 'verify and check continuity, write every record, then roll back: prints what would change')
    .option('--tenant <id>', 'tenant to import into (defaults to the global --tenant)')
    .action(async (flags: ImportFlags) => {
      const opts = globals();
      if (!existsSync(flags.bundle))
        throw new CliError(Errors.fileNotFound, `${flags.bundle}: no such file or directory`);
      const trustRootPem = (await readKeyFlag(flags.trustRoot)) as string;
      const { config } = loadConfig();
      const counter = counterOnStderr(io, opts, 'records');
      const receipt = await importMirrorBundle({
        config,
        tenant: flags.tenant ?? opts.tenant,
        bundlePath: flags.bundle,
        trustRootPem,
        dryRun: flags.dryRun === true,
        migrate,
        logTo: io.stderr,
        onRecords: (n) => {
          for (let i = 0; i < n; i++) counter.tick();
        },
      });
      counter.done();
      printResult(io, opts, receipt, () => {
        const what = `${receipt.mode} bundle ${receipt.exportId}${receipt.baseExportId ? ` (on ${receipt.baseExportId})` : ''}`;
        if (receipt.status === 'already-applied')
          return `${what} was applied to tenant ${receipt.tenant} before: nothing to do`;
        const counts = `${receipt.records.inserted} records new, ${receipt.records.present} already here, ${receipt.tombstones} tombstones`;
        return receipt.status === 'dry-run'
          ? `dry run: ${what} verifies and would apply: ${counts}; nothing was written`
          : `applied ${what} to tenant ${receipt.tenant} as #${receipt.seq}: ${counts}; key ${receipt.keyid}`;
      });
    });

  offline
    .command('status')
    .description('The mirror bundles applied to this home, oldest first; the last one is the base the next delta needs')
    .option('--tenant <id>', 'tenant (defaults to the global --tenant)')
    .action(async (flags: { tenant?: string }) => {
      const opts = globals();
      const { config } = loadConfig();
      const rows = await mirrorImportLog(config, flags.tenant ?? opts.tenant, migrate);
      printResult(io, opts, rows, () =>
        rows.length === 0
          ? 'no mirror bundle applied yet: import a mirror:full bundle first'
          : rows
              .map(
                (r) =>
                  `#${r.seq}  ${r.imported_at}  ${r.mode.padEnd(5)}  ${r.export_id}${r.base_export_id ? ` on ${r.base_export_id}` : ''}  +${r.records_inserted} records, ${r.tombstones} tombstones`,
              )
              .join('\n'),
      );
    });
}
