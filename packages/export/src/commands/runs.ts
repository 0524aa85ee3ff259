// SPDX-License-Identifier: Apache-2.0
// `stella export run …`: submit (optionally watched to the end), watch, list, show, cancel, replay.
import { Errors } from '@stella/core';
import { type CliCtx, CliError, createApiClient, log, printResult } from '@stella/platform';
import { type Command, Option } from 'commander';
import type { RunView } from '../service/index.ts';
import { exitForRun, watchRun } from './watch.ts';

function parseSelectors(pairs: string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliError(Errors.usage, `--selectors takes key=value pairs, not ${JSON.stringify(pair)}`);
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    out[key] = ['sources', 'ecosystems', 'purls'].includes(key) ? value.split(',').filter(Boolean) : value;
  }
  return out;
}

function runLine(r: RunView): string {
  return `${r.runId}  ${r.status.padEnd(9)}  ${r.profileId}@${r.profileRevision}  ${String(r.progress.percent).padStart(3)}%  ${r.createdAt}${r.errorCode ? `  ${r.errorCode}` : ''}${r.policySnapshotId ? `  policy ${r.policySnapshotId}` : ''}`;
}

function registerRunFollowing(run: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  /** Follows a run to its end, prints its final state, and exits with its code. */
  const follow = async (client: ReturnType<typeof api>, runId: string) => {
    const final = await watchRun(client, io, globals().quiet || globals().json, runId);
    printResult(
      io,
      globals(),
      final,
      () => `${final.runId} ${final.status}${final.bundle ? ` ${final.bundle.digest}` : ''}`,
    );
    exitForRun(final);
  };
  run
    .command('submit')
    .description('Submit a run; prints the run id (--watch follows it to the end)')
    .requiredOption('--profile <id>', 'profile id')
    .option('--selectors <key=value...>', 'since=7d until=… sources=a,b ecosystems=npm,golang purls=pkg:npm/x')
    .addOption(
      new Option('--priority <priority>', 'normal | catch-up (runs before normal runs)').choices([
        'normal',
        'catch-up',
      ]),
    )
    .option('--allow-empty', 'succeed with an empty bundle when the selectors match nothing')
    .addOption(
      new Option(
        '--policy-snapshot <id>',
        "policy snapshot id (sha256:…) to evaluate under; json:policy defaults to the tenant's active one (env STELLA_EXPORT_POLICY_SNAPSHOT)",
      ).default(io.env.STELLA_EXPORT_POLICY_SNAPSHOT),
    )
    .option(
      '--base <exportId>',
      'mirror:delta: the export to build against (default: the newest stored mirror export; exit 29 ERR_EXPORT_BASE_MISSING when none)',
    )
    .option('--watch', 'follow the run with a progress bar; exit code from its final state')
    .action(
      async (flags: {
        base?: string;
        profile: string;
        selectors?: string[];
        priority?: string;
        allowEmpty?: boolean;
        policySnapshot?: string;
        watch?: boolean;
      }) => {
        const client = api();
        const submitted = await client.json<{ runId: string; status: string }>('POST', '/api/export/runs', {
          body: {
            profileId: flags.profile,
            selectors: parseSelectors(flags.selectors),
            ...(flags.allowEmpty ? { allowEmpty: true } : {}),
            ...(flags.priority ? { priority: flags.priority } : {}),
            ...(flags.policySnapshot ? { policySnapshotId: flags.policySnapshot } : {}),
            ...(flags.base ? { baseExportId: flags.base } : {}),
          },
        });
        if (!flags.watch) {
          printResult(io, globals(), submitted, () => submitted.runId);
          return;
        }
        log(io, globals(), `submitted ${submitted.runId}`);
        await follow(client, submitted.runId);
      },
    );
  run
    .command('watch')
    .description('Follow a run (SSE) with a progress bar; exit 0 when it succeeds, its error code otherwise')
    .argument('<runId>')
    .action(async (runId: string) => {
      await follow(api(), runId);
    });
}

function registerRunManagement(run: Command, cli: CliCtx): void {
  const { io, globals } = cli;
  const api = () => createApiClient(io, globals());
  run
    .command('list')
    .description('List runs, newest first')
    .option('--profile <id>')
    .option(
      '--status <status>',
      "queued (or pending, the runbook's word) | running | succeeded | failed | cancelled | expired",
    )
    .option('--limit <n>', 'page size (max 200)', '50')
    .action(async (flags: { profile?: string; status?: string; limit: string }) => {
      const result = await api().json<{ items: RunView[] }>('GET', '/api/export/runs', {
        query: { profile: flags.profile, status: flags.status, limit: flags.limit },
      });
      printResult(io, globals(), result, () => result.items.map(runLine).join('\n') || '(no runs)');
    });
  run
    .command('show')
    .description('Show one run')
    .argument('<runId>')
    .action(async (runId: string) => {
      const view = await api().json<RunView>('GET', `/api/export/runs/${encodeURIComponent(runId)}`);
      printResult(io, globals(), view, () => JSON.stringify(view, null, 2));
    });
  run
    .command('cancel')
    .description('Cancel a queued or running run')
    .argument('<runId>')
    .action(async (runId: string) => {
      const view = await api().json<RunView>('POST', `/api/export/runs/${encodeURIComponent(runId)}/cancel`);
      printResult(io, globals(), view, () => `${view.runId} ${view.status}`);
    });
  run
    .command('replay')
    .description('Resubmit a run with the same profile revision and selectors (runbook §7.1)')
    .argument('<runId>')
    .option('--watch', 'follow the new run')
    .action(async (runId: string, flags: { watch?: boolean }) => {
      const client = api();
      const submitted = await client.json<{ runId: string }>(
        'POST',
        `/api/export/runs/${encodeURIComponent(runId)}/replay`,
      );
      if (!flags.watch) {
        printResult(io, globals(), submitted, () => submitted.runId);
        return;
      }
      const final = await watchRun(client, io, globals().quiet || globals().json, submitted.runId);
      printResult(io, globals(), final, () => `${final.runId} ${final.status}`);
      exitForRun(final);
    });
}

export function registerRunCommands(exportCmd: Command, cli: CliCtx): void {
  const run = exportCmd.command('run').description('Export runs');
  registerRunFollowing(run, cli);
  registerRunManagement(run, cli);
}
