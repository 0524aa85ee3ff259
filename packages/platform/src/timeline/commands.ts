// `stella timeline list|verify|checkpoint|checkpoints|prune`: read the tenant timeline, check its hash
// chain offline (from genesis, or from the signed checkpoint retention pruned up to), sign its head
// and apply retention.
import { readFileSync } from 'node:fs';
import { type DsseTrustedKey, Errors } from '@stella/core';
import type { Command } from 'commander';
import { type ApiClient, type CliCtx, CliError, counterOnStderr, createApiClient, printResult } from '../cli/index.ts';
import { keyIdOf } from '../signing/index.ts';
import type { TimelineEvent } from './chain.ts';
import { type TimelineCheckpoint, type TimelineVerdict, timelineVerifier } from './checkpoint.ts';
import { type PruneReport, trustedKeys } from './checkpoints.ts';
import { checkpointFromWire, fromWire, type WireCheckpoint, type WireEvent } from './wire.ts';

/** POST /api/v1/timeline/prune: the report with null for what did not happen. */
type WirePruneReport = Omit<PruneReport, 'cutoff' | 'throughSeq'> & {
  cutoff: string | null;
  throughSeq: number | null;
};

type CheckpointPage = {
  items: WireCheckpoint[];
  nextCursor: string | null;
  keys: { keyid: string; publicKeyPem: string; status: string }[];
};

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
    .description(
      'Download the tenant timeline and its signed checkpoints and verify the hash chain, from genesis or from the checkpoint retention pruned up to (exit 3 when broken or a checkpoint does not verify)',
    )
    .option(
      '--public-key <file...>',
      "PEM public keys that may sign checkpoints (default: the tenant's `timeline` keys of every status, as the server lists them)",
    )
    .action(async (flags: { publicKey?: string[] }) => {
      const opts = globals();
      const client = createApiClient(io, opts);
      // Checkpoints before events, as on the server: every event a listed checkpoint covers is then in the export.
      const { checkpoints, keys } = await readCheckpoints(client);
      const trusted = flags.publicKey ? flags.publicKey.map(readPublicKey) : trustedKeys(keys);
      const response = await client.request('GET', '/api/v1/timeline/export', { scope: 'timeline:read' });
      const progress = counterOnStderr(io, opts, 'events read');
      const verifier = timelineVerifier(opts.tenant, checkpoints, trusted);
      for (const event of readEvents(await response.text(), progress.tick)) if (!verifier.push(event)) break;
      const verdict = verifier.verdict();
      progress.done();
      printResult(io, opts, verdict, () => describeVerdict(verdict));
      if (verdict.ok) return;
      // A checkpoint that does not verify is named first: a chain break it causes (an anchor that no
      // longer vouches for the pruned events) is its consequence.
      if (verdict.invalidCheckpoint) {
        throw new CliError(
          Errors.timelineCheckpointInvalid,
          `timeline checkpoint ${verdict.invalidCheckpoint.checkpointId} (seq ${verdict.invalidCheckpoint.seq}) does not verify: ${verdict.invalidCheckpoint.reason}`,
        );
      }
      throw new CliError(Errors.timelineChain, 'timeline chain does not verify');
    });

  timeline
    .command('checkpoint')
    .description("Sign the tenant's chain head now (needs authority:admin); nothing new when it has not moved")
    .action(async () => {
      const opts = globals();
      const result = await createApiClient(io, opts).json<{ written: boolean; checkpoint: WireCheckpoint | null }>(
        'POST',
        '/api/v1/timeline/checkpoints',
        { scope: 'authority:admin' },
      );
      printResult(io, opts, result, () => {
        const c = result.checkpoint;
        if (!c) return 'no checkpoint: the timeline has no events yet';
        const line = `seq ${c.seq}  ${c.head_hash}  ${c.created_at}  ${c.checkpoint_id}  signed by ${c.keyid}`;
        return result.written ? `checkpoint written: ${line}` : `head unchanged since checkpoint: ${line}`;
      });
    });

  timeline
    .command('checkpoints')
    .description('List the signed checkpoints (oldest first)')
    .option('--limit <n>', 'page size', '100')
    .option('--cursor <cursor>', 'nextCursor of a previous page')
    .action(async (flags: { limit: string; cursor?: string }) => {
      const opts = globals();
      const page = await createApiClient(io, opts).json<CheckpointPage>('GET', '/api/v1/timeline/checkpoints', {
        scope: 'timeline:read',
        query: { limit: flags.limit, cursor: flags.cursor },
      });
      printResult(io, opts, page, () =>
        [
          ...page.items.map((c) => `seq ${c.seq}  ${c.created_at}  ${c.head_hash}  ${c.checkpoint_id}  ${c.keyid}`),
          page.nextCursor ? `(more: --cursor ${page.nextCursor})` : `(${page.items.length} checkpoints)`,
        ].join('\n'),
      );
    });

  timeline
    .command('prune')
    .description(
      'Apply timeline.retentionDays to the tenant now (needs authority:admin): events older than that go, up to the newest checkpoint signed before the cutoff',
    )
    .action(async () => {
      const opts = globals();
      const report = await createApiClient(io, opts).json<WirePruneReport>('POST', '/api/v1/timeline/prune', {
        scope: 'authority:admin',
      });
      printResult(io, opts, report, () => {
        if (report.retentionDays === 0) return 'retention is off (timeline.retentionDays = 0): nothing pruned';
        if (report.throughSeq === null) {
          return `no checkpoint signed before ${report.cutoff}: nothing pruned (checkpoints: stella timeline checkpoints)`;
        }
        return `pruned ${report.prunedEvents} events and ${report.prunedCheckpoints} older checkpoints through seq ${report.throughSeq} (older than ${report.cutoff})`;
      });
    });
}

/** Every retained checkpoint, page by page, and the tenant's `timeline` keys listed with them. */
async function readCheckpoints(
  client: ApiClient,
): Promise<{ checkpoints: TimelineCheckpoint[]; keys: CheckpointPage['keys'] }> {
  const checkpoints: TimelineCheckpoint[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await client.json<CheckpointPage>('GET', '/api/v1/timeline/checkpoints', {
      scope: 'timeline:read',
      query: { limit: 1000, cursor },
    });
    checkpoints.push(...page.items.map(checkpointFromWire));
    if (!page.nextCursor) return { checkpoints, keys: page.keys };
    cursor = page.nextCursor;
  }
}

function readPublicKey(path: string): DsseTrustedKey {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
    return { keyid: keyIdOf(pem), publicKey: pem };
  } catch (error) {
    throw new CliError(
      Errors.usage,
      `--public-key ${path}: not a readable PEM public key (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
}

function describeVerdict(verdict: TimelineVerdict): string {
  const from =
    verdict.from === 'checkpoint' && verdict.anchor
      ? `from checkpoint ${verdict.anchor.checkpointId} (seq ${verdict.anchor.seq}, signed by ${verdict.anchor.keyid})`
      : 'from genesis';
  if (verdict.ok) {
    return `timeline chain OK: ${verdict.checked} events ${from}, head ${verdict.head}; ${verdict.checkpoints} signed checkpoints verified`;
  }
  const lines: string[] = [];
  const { brokenAt, invalidCheckpoint } = verdict;
  if (invalidCheckpoint) {
    lines.push(
      `timeline checkpoint INVALID: ${invalidCheckpoint.checkpointId} at seq ${invalidCheckpoint.seq}: ${invalidCheckpoint.reason}`,
    );
  }
  if (brokenAt && brokenAt.eventId !== invalidCheckpoint?.checkpointId) {
    lines.push(`timeline chain BROKEN at seq ${brokenAt.seq} (${brokenAt.eventId}): ${brokenAt.reason}`);
  }
  return lines.join('\n');
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
