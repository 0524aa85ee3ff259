// SPDX-License-Identifier: Apache-2.0
// `stella observe [--callgraph-id ID] [--scan-id ID | --component NAME --version V] -- <command…>`: runs
// a Node.js command with the runtime observer loaded (NODE_OPTIONS --import), pointed at this
// stella with a token of the CLI's credentials (scope signals:write), so the functions the command
// really runs stream to Signals for that subject. Signals forwarded; the exit status is the child's.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Errors } from '@stella/core';
import { type ApiClient, type CliCtx, CliError, createApiClient, log } from '@stella/platform';
import type { Command } from 'commander';

interface ObserveFlags {
  callgraphId?: string;
  scanId?: string;
  component?: string;
  version?: string;
  profile?: string;
  analysisId?: string;
}

const REGISTER = fileURLToPath(import.meta.resolve('@stella/observer/register'));

export interface ObservedTarget {
  callgraphId: string;
  scanId?: string | undefined;
  component?: string | undefined;
  version?: string | undefined;
  profile?: string;
  analysisId?: string;
}

/**
 * The environment that loads the observer into a Node.js child and points it at this stella: the
 * register module, the server, a token of the CLI's credentials (scope signals:write), the tenant,
 * the callgraph and the subject.
 */
export async function observerEnv(
  io: CliCtx['io'],
  opts: ReturnType<CliCtx['globals']>,
  client: ApiClient,
  target: ObservedTarget,
): Promise<Record<string, string | undefined>> {
  return {
    ...io.env,
    NODE_OPTIONS: `${io.env.NODE_OPTIONS ?? ''} --import=${REGISTER}`.trim(),
    STELLA_OBSERVER_ENDPOINT: opts.server,
    STELLA_OBSERVER_TOKEN: await client.token('signals:write'),
    STELLA_OBSERVER_TENANT: opts.tenant,
    STELLA_OBSERVER_CALLGRAPH_ID: target.callgraphId,
    ...(target.scanId
      ? { STELLA_OBSERVER_SCAN_ID: target.scanId }
      : { STELLA_OBSERVER_COMPONENT: target.component, STELLA_OBSERVER_VERSION: target.version }),
    ...(target.profile ? { STELLA_OBSERVER_PROFILE: target.profile } : {}),
    ...(target.analysisId ? { STELLA_OBSERVER_ANALYSIS_ID: target.analysisId } : {}),
  };
}

export function registerObserveCommand(program: Command, { io, globals }: CliCtx): void {
  program
    .command('observe')
    .description(
      'Run a Node.js command under the runtime observer: the functions it runs stream to Signals (packages/observer/README.md)',
    )
    .option('--callgraph-id <id>', 'the Signals callgraph the events belong to (env STELLA_OBSERVER_CALLGRAPH_ID)')
    .option('--scan-id <id>', 'subject: a scan id')
    .option('--component <name>', 'subject: component name (with --version)')
    .option('--version <version>', 'subject: component version (with --component)')
    .option('--profile <profile>', 'function (binary coverage, default) or counts (block counts, costlier)')
    .option('--analysis-id <id>', 'sent as X-Analysis-Id')
    .argument('<command...>', 'the command to run, after --')
    .action(async (command: string[], flags: ObserveFlags) => {
      const opts = globals();
      const callgraphId = flags.callgraphId ?? io.env.STELLA_OBSERVER_CALLGRAPH_ID;
      if (!callgraphId)
        throw new CliError(Errors.usage, '--callgraph-id is required (POST the graph first; its callgraphId)');
      if (!flags.scanId && !(flags.component && flags.version)) {
        throw new CliError(Errors.usage, 'name the subject: --scan-id ID, or --component NAME --version V');
      }
      const env = await observerEnv(io, opts, createApiClient(io, opts), {
        callgraphId,
        ...(flags.scanId ? { scanId: flags.scanId } : { component: flags.component, version: flags.version }),
        ...(flags.profile ? { profile: flags.profile } : {}),
        ...(flags.analysisId ? { analysisId: flags.analysisId } : {}),
      });
      log(io, opts, `observing ${command.join(' ')} → ${opts.server} (callgraph ${callgraphId})`);
      const child = spawn(command[0]!, command.slice(1), { env, stdio: 'inherit' });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
        (resolve, reject) => {
          child.on('error', reject);
          child.on('exit', (c, s) => resolve({ code: c, signal: s }));
        },
      )
        .catch((error: Error) => {
          throw new CliError(Errors.usage, `${command[0]}: cannot be run: ${error.message}`, { cause: error });
        })
        .finally(() => {
          process.off('SIGINT', forward);
          process.off('SIGTERM', forward);
        });
      // Ended by a forwarded SIGTERM/SIGINT is how an observed server stops: not a failure.
      if (signal === 'SIGTERM' || signal === 'SIGINT') return;
      if (signal || code !== 0) {
        throw new CliError(
          Errors.childFailed,
          `${command.join(' ')} ended ${signal ? `by ${signal}` : `with status ${code}`}`,
        );
      }
    });
}
