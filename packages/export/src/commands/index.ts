// SPDX-License-Identifier: Apache-2.0
// `stella export …` (spec §2.4, runbook §4–§8): profiles, runs (submit, watch with a progress bar,
// list, cancel, replay), download with digest check, offline verify, keys, quota and retention.
import type { CliCtx } from '@stella/platform';
import type { Command } from 'commander';
import { registerDecryptCommand, registerTrivyOciCommand, registerVerifyCommand } from '../bundle/index.ts';
import { registerDownloadCommand, registerKeysCommand } from './bundles.ts';
import { registerMirrorVerifyCommand, registerOfflineCommands } from './offline.ts';
import { registerProfileCommands } from './profiles.ts';
import { registerRunCommands } from './runs.ts';
import { registerQuotaCommands, registerRetentionCommand } from './tenant.ts';

export function registerExportCommands(program: Command, cli: CliCtx): void {
  const exportCmd = program
    .command('export')
    .description(
      'Export Center: profiles, runs, bundles, offline verification and retention (runbook: docs/runbooks/export.md)',
    );
  // In this order: `stella export --help` lists the verbs as they were registered.
  registerProfileCommands(exportCmd, cli);
  registerRunCommands(exportCmd, cli);
  registerDownloadCommand(exportCmd, cli);
  registerVerifyCommand(exportCmd, cli);
  registerDecryptCommand(exportCmd, cli);
  registerMirrorVerifyCommand(exportCmd, 'mirror-validate', cli);
  registerTrivyOciCommand(exportCmd, cli);
  registerKeysCommand(exportCmd, cli);
  registerQuotaCommands(exportCmd, cli);
  registerRetentionCommand(exportCmd, cli);
  registerOfflineCommands(program, cli);
}
