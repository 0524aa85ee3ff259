// SPDX-License-Identifier: Apache-2.0
// `stella offline import|status` (runbook §7.2 "restore"): the disconnected side of a mirror. Both open
// this home's database directly (the server must be stopped on an embedded home), never the network.
import { existsSync, readFileSync } from 'node:fs';
import { durationSeconds, Errors } from '@stella/core';
import { type CliCtx, CliError, counterOnStderr, log, printResult } from '@stella/platform';
import type { Command } from 'commander';
import { readKeyFlag } from '../bundle/command.ts';
import { checkLines, openBundle } from '../bundle/index.ts';
import { ExportErrors } from '../errors.ts';
import { importMirrorBundle, mirrorImportLog } from '../mirror/import.ts';
import { type MirrorVerifyReport, verifyMirror } from '../mirror/verify.ts';
import { registerKitCommand } from './kit.ts';

interface ImportFlags {
  bundle: string;
  trustRoot: string;
  tufRoot?: string;
  stalenessBudget?: string;
  dryRun?: boolean;
  tenant?: string;
}

/** `--staleness-budget`: seconds, or a number with s, m, h or d. */
function budgetSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = /^\d+$/.test(text.trim()) ? Number(text.trim()) : durationSeconds(text);
  if (seconds === undefined) {
    throw new CliError(Errors.usage, `--staleness-budget ${text}: give seconds or a duration such as 12h or 30d`);
  }
  return seconds;
}

function readTufRoot(path: string | undefined): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(ExportErrors.verifyKey, `--tuf-root ${path}: cannot be read: ${(error as Error).message}`);
  }
}

const STALENESS_HELP =
  'refuse a time anchor older than this: seconds or 12h, 30d (default export.mirror.stalenessBudgetSeconds, 30d)';

export function registerOfflineCommands(program: Command, cli: CliCtx): void {
  const mirror = program
    .command('mirror')
    .description('Mirror bundles: offline verification (runbook: docs/runbooks/export.md §8.2)');
  registerMirrorVerifyCommand(mirror, 'verify', cli);
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
    .option(
      '--tuf-root <root.json>',
      "a TUF root.json to trust (the offline kit's); default: the bundle's own, hashed in the signed export.json",
    )
    .option('--staleness-budget <duration>', STALENESS_HELP)
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
        ...(flags.tufRoot ? { tufRoot: readTufRoot(flags.tufRoot) as Buffer } : {}),
        ...(flags.stalenessBudget ? { stalenessBudgetSeconds: budgetSeconds(flags.stalenessBudget) as number } : {}),
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
          : `applied ${what} to tenant ${receipt.tenant} as #${receipt.seq}: ${counts}; anchored ${receipt.anchorTime} (${receipt.stalenessSeconds} s old); key ${receipt.keyid}`;
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
                  `#${r.seq}  ${r.imported_at}  ${r.mode.padEnd(5)}  ${r.export_id}${r.base_export_id ? ` on ${r.base_export_id}` : ''}  +${r.records_inserted} records, ${r.tombstones} tombstones, anchored ${r.anchor_time} (${Math.floor((Date.now() - Date.parse(r.anchor_time)) / 1000)} s ago)`,
              )
              .join('\n'),
      );
    });

  registerKitCommand(offline, cli);
}

interface MirrorVerifyFlags {
  key?: string;
  tufRoot?: string;
  base?: string;
  stalenessBudget?: string;
  format?: 'table' | 'json';
}

function verifyTable(report: MirrorVerifyReport): string {
  const lines = checkLines(report.checks);
  if (report.ok)
    lines.push(
      `mirror bundle verified: ${report.mode} export ${report.exportId}, anchored ${report.anchorTime} (${report.stalenessSeconds} s old)`,
    );
  return lines.join('\n');
}

/** `stella mirror verify` and its runbook alias `stella export mirror-validate`: exit 0 valid, 3 invalid. */
export function registerMirrorVerifyCommand(parent: Command, name: string, cli: CliCtx): Command {
  const { io, globals, loadConfig } = cli;
  return parent
    .command(name)
    .description(
      'Verify a mirror bundle offline: Export Center signatures and checksums, TUF metadata (tuf-js), DSSE envelopes, every file hash, the time anchor against a staleness budget, and with --base delta continuity (exit 0 valid, 3 invalid)',
    )
    .argument('<bundle>', 'mirror bundle (.tar.zst, .tar.gz, .tar) or an extracted bundle directory')
    .option(
      '--key <pub.pem>',
      "pin the exporting stella's export-center public key (default: the bundled one; integrity, not origin)",
    )
    .option(
      '--tuf-root <root.json>',
      "pin a TUF root.json (default: the bundle's tuf/root.json; integrity, not origin)",
    )
    .option('--base <bundle>', 'the base of a delta: check the delta names its export id and manifest digest')
    .option('--staleness-budget <duration>', STALENESS_HELP)
    .option('--format <format>', 'table | json (default table; --json implies json)')
    .action(async (target: string, flags: MirrorVerifyFlags) => {
      const opts = globals();
      const json = opts.json || flags.format === 'json';
      for (const path of [target, flags.base])
        if (path && !existsSync(path)) throw new CliError(Errors.fileNotFound, `${path}: no such file or directory`);
      const exportKeyPem = await readKeyFlag(flags.key);
      const trustedRoot = readTufRoot(flags.tufRoot);
      const budget = budgetSeconds(flags.stalenessBudget) ?? loadConfig().config.export.mirror.stalenessBudgetSeconds;
      const opened = await openBundle(target);
      const base = flags.base ? await openBundle(flags.base) : undefined;
      let report: MirrorVerifyReport;
      try {
        report = await verifyMirror(opened.dir, {
          ...(exportKeyPem === undefined ? {} : { exportKeyPem }),
          ...(trustedRoot ? { trustedRoot } : {}),
          ...(base ? { baseDir: base.dir } : {}),
          now: new Date(),
          stalenessBudgetSeconds: budget,
        });
      } finally {
        await opened.cleanup();
        await base?.cleanup();
      }
      printResult(io, { ...opts, json }, report, () => verifyTable(report));
      if (report.ok && !(report.pinned.exportKey && report.pinned.tufRoot))
        log(
          io,
          opts,
          'note: trusted keys shipped inside the bundle; this proves integrity, not origin. Pin them with --key and --tuf-root.',
        );
      const failed = report.checks.find((c) => !c.ok);
      if (failed)
        throw new CliError(
          ExportErrors.verify,
          `verification failed: ${failed.file}: ${failed.reason ?? `${failed.check} failed`}`,
        );
    });
}
