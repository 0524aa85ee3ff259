// `stella orchestrator deadletter list|retry`: inspect and redrive jobs that exhausted their retries.

import { Errors } from '@stella/core';
import type { Command } from 'commander';
import { type CliCtx, CliError, createApiClient, printResult } from '../cli/index.ts';

interface DeadLetterView {
  id: string;
  queue: string;
  error: string | null;
  failedAt: string | null;
  retryCount: number;
}

export function registerOrchestratorCommands(program: Command, { io, globals }: CliCtx): void {
  const dlq = program
    .command('orchestrator')
    .description('Job queue operations')
    .command('deadletter')
    .description('Jobs that failed every retry');

  dlq
    .command('list')
    .option('--limit <n>', 'at most this many', '50')
    .option('--queue <name>', 'only this queue')
    .action(async (flags: { limit: string; queue?: string }) => {
      const opts = globals();
      const result = await createApiClient(io, opts).json<{ items: DeadLetterView[] }>(
        'GET',
        '/orchestrator/deadletter',
        {
          scope: 'orch:read',
          query: { limit: flags.limit, queue: flags.queue },
        },
      );
      printResult(io, opts, result, () =>
        result.items.length === 0
          ? 'no dead letters'
          : result.items
              .map((d) => `${d.id}  ${d.queue}  retries=${d.retryCount}  ${d.failedAt ?? ''}  ${d.error ?? ''}`)
              .join('\n'),
      );
    });

  dlq
    .command('retry')
    .option('--queue <name>', 'only this queue')
    .option('--id <ids...>', 'only these job ids')
    .option('--reason <text>', 'operator reason, recorded on the timeline (env STELLA_OPERATOR_REASON)')
    .option('--ticket <id>', 'change ticket (env STELLA_OPERATOR_TICKET)')
    .action(async (flags: { queue?: string; id?: string[]; reason?: string; ticket?: string }) => {
      const opts = globals();
      const reason = flags.reason ?? io.env.STELLA_OPERATOR_REASON;
      if (!reason)
        throw new CliError(Errors.usage, '--reason is required: it is recorded with the retry on the timeline');
      const ticket = flags.ticket ?? io.env.STELLA_OPERATOR_TICKET;
      const result = await createApiClient(io, opts).json<{ retried: number }>(
        'POST',
        '/orchestrator/deadletter/retry',
        {
          scope: 'orch:operate',
          body: { queue: flags.queue, ids: flags.id },
          headers: { 'x-stella-operator-reason': reason, ...(ticket ? { 'x-stella-operator-ticket': ticket } : {}) },
        },
      );
      printResult(io, opts, result, () => `re-queued ${result.retried} job(s)`);
    });
}
