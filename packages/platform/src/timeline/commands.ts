// `stella timeline list|verify`: read the tenant timeline and check its hash chain offline.
import { Errors } from '@stella/core';
import type { Command } from 'commander';
import { type CliCtx, CliError, counterOnStderr, createApiClient, printResult } from '../cli/index.ts';
import { type TimelineEvent, verifyChain } from './chain.ts';
import { fromWire, type WireEvent } from './wire.ts';

export function registerTimelineCommands(program: Command, { io, globals }: CliCtx): void {
  const timeline = program.command('timeline').description('The append-only, hash-chained event timeline');

  timeline
    .command('list')
    .description('List events (oldest first)')
    .option('--category <category>')
    .option('--kind <kind>')
    .option('--since <time>', 'RFC 3339 lower bound')
    .option('--until <time>', 'RFC 3339 upper bound (exclusive)')
    .option('--trace-id <id>')
    .option('--limit <n>', 'page size', '100')
    .option('--cursor <cursor>', 'nextCursor of a previous page')
    .action(async (flags: Record<string, string | undefined>) => {
      const opts = globals();
      const page = await createApiClient(io, opts).json<{ items: WireEvent[]; nextCursor: string | null }>(
        'GET',
        '/api/v1/timeline/events',
        {
          scope: 'timeline:read',
          query: {
            category: flags.category,
            kind: flags.kind,
            since: flags.since,
            until: flags.until,
            traceId: flags.traceId,
            limit: flags.limit,
            cursor: flags.cursor,
          },
        },
      );
      printResult(io, opts, page, () =>
        [
          ...page.items.map(
            (e) => `${e.timestamp}  ${e.event_id}  ${e.category}/${e.kind}  ${JSON.stringify(e.details)}`,
          ),
          page.nextCursor ? `(more: --cursor ${page.nextCursor})` : `(${page.items.length} events)`,
        ].join('\n'),
      );
    });

  timeline
    .command('verify')
    .description('Download the tenant timeline and verify its hash chain (exit 3 when broken)')
    .action(async () => {
      const opts = globals();
      const response = await createApiClient(io, opts).request('GET', '/api/v1/timeline/export', {
        scope: 'timeline:read',
      });
      const progress = counterOnStderr(io, opts, 'events read');
      const verdict = verifyChain(readEvents(await response.text(), progress.tick));
      progress.done();
      printResult(io, opts, verdict, () =>
        verdict.ok
          ? `timeline chain OK: ${verdict.checked} events, head ${verdict.head}`
          : `timeline chain BROKEN at seq ${verdict.brokenAt?.seq} (${verdict.brokenAt?.eventId}): ${verdict.brokenAt?.reason}`,
      );
      if (!verdict.ok) throw new CliError(Errors.timelineChain, 'timeline chain does not verify');
    });
}

/** Parses the NDJSON export line by line; verifyChain consumes it lazily. */
function* readEvents(text: string, tick: () => void): Generator<TimelineEvent> {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (!line) continue;
    tick();
    yield fromWire(JSON.parse(line) as WireEvent);
  }
}
