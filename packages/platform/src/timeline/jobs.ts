// The timeline's scheduled work: signed checkpoints every timeline.checkpointIntervalSeconds and the
// daily retention pass (timeline.retentionDays). Both are pg-boss crons, so with several workers one
// of them runs each firing.
import type { Logger } from '../http/logger.ts';
import type { JobQueue } from '../queue/index.ts';
import type { TimelineCheckpoints } from './checkpoints.ts';

export const CHECKPOINT_QUEUE = 'timeline.checkpoint';
export const RETENTION_QUEUE = 'timeline.retention';
/** Daily in the quiet hours (UTC), after the export retention (03:15) and CAS collection (03:45) of the default configuration. */
export const RETENTION_CRON = '30 4 * * *';

/**
 * The cron the checkpoint job is checked on: every N minutes, N the largest divisor of 60 no longer
 * than the interval, so an interval of 3600 s or more is checked hourly and a shorter one often enough
 * to keep it. Each run signs only the tenants whose newest checkpoint is as old as the interval.
 */
export function checkpointCron(intervalSeconds: number): string {
  const minutes = Math.floor(intervalSeconds / 60);
  const every = [60, 30, 20, 15, 12, 10, 6, 5, 4, 3, 2, 1].find((d) => d <= minutes) ?? 1;
  if (every === 60) return '0 * * * *';
  return every === 1 ? '* * * * *' : `*/${every} * * * *`;
}

/** Defined in every target: an api-only process still answers for queues that workers run. */
export async function defineTimelineQueues(queue: JobQueue): Promise<void> {
  await queue.define(CHECKPOINT_QUEUE, { policy: 'singleton' });
  await queue.define(RETENTION_QUEUE, { policy: 'singleton' });
}

export async function registerTimelineJobs(
  queue: JobQueue,
  deps: {
    checkpoints: TimelineCheckpoints;
    config: { checkpointIntervalSeconds: number; retentionDays: number };
    logger: Logger;
  },
): Promise<void> {
  const { checkpoints, config, logger } = deps;
  await queue.work(CHECKPOINT_QUEUE, async () => {
    const written = await checkpoints.writeDue(config.checkpointIntervalSeconds);
    return { written: written.map((c) => ({ tenant: c.tenant, seq: c.seq })) };
  });
  await queue.work(RETENTION_QUEUE, async () => {
    if (config.retentionDays <= 0) return { retentionDays: 0 };
    const reports = await checkpoints.pruneAll(config.retentionDays);
    const events = reports.reduce((sum, r) => sum + r.prunedEvents, 0);
    logger.info({ tenants: reports.length, events, retentionDays: config.retentionDays }, 'timeline retention ran');
    return { retentionDays: config.retentionDays, pruned: reports.map((r) => [r.tenant, r.prunedEvents]) };
  });
  await queue.schedule(CHECKPOINT_QUEUE, checkpointCron(config.checkpointIntervalSeconds));
  // Scheduled even with retention off: pg-boss keeps a schedule across restarts, and a pass with
  // retentionDays 0 does nothing, so turning retention on needs only the configuration.
  await queue.schedule(RETENTION_QUEUE, RETENTION_CRON);
}
