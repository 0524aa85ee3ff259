// SPDX-License-Identifier: Apache-2.0
// The Export Center as a room of the server: its tables, the /api/export routes, the run worker on
// a per-tenant-limited queue, the nightly retention pruner and the `stella export` verbs.
import { type Ctx, createSigningKeyStore, type Module, type SigningKeyStore } from '@stella/platform';
import { registerExportCommands } from './commands/index.ts';
import { exportConfig } from './config.ts';
import { createExportMetrics, type ExportMetrics } from './metrics.ts';
import { createRetention, type RetentionService } from './retention.ts';
import { registerExportRoutes } from './routes/index.ts';
import { createExportService, type ExportService, RUN_QUEUE } from './service/index.ts';
import { runBlobUris } from './sql/runs.ts';
import { createExportWorker, failAbandonedRun } from './worker.ts';

const RETENTION_QUEUE = 'export.retention';

interface RoomState {
  service: ExportService;
  retention: RetentionService;
  signing: SigningKeyStore;
  metrics: ExportMetrics;
}

const rooms = new WeakMap<Ctx, RoomState>();

function room(ctx: Ctx): RoomState {
  let state = rooms.get(ctx);
  if (!state) {
    const metrics = createExportMetrics(ctx.metrics, ctx.queue, RUN_QUEUE);
    const signing = createSigningKeyStore(ctx.db);
    const service = createExportService({
      db: ctx.db,
      queue: ctx.queue,
      timeline: ctx.timeline,
      clock: ctx.clock,
      blobs: ctx.blobs,
      signing,
      defaultRunsPerDay: ctx.config.export.quotaRunsPerDay,
      maxQueuedRuns: ctx.config.export.maxQueuedRuns,
    });
    state = {
      service,
      metrics,
      signing,
      retention: createRetention({
        db: ctx.db,
        blobs: ctx.blobs,
        timeline: ctx.timeline,
        clock: ctx.clock,
        metrics,
        logger: ctx.logger,
        keepDeltas: ctx.config.export.keepDeltas,
        defaults: ctx.config.export.retention,
      }),
    };
    rooms.set(ctx, state);
  }
  return state;
}

/** The export service of a running server (tests and in-process use). */
export function exportOf(ctx: Ctx): { service: ExportService; retention: RetentionService } {
  const { service, retention } = room(ctx);
  return { service, retention };
}

export const exportModule: Module = {
  name: 'export',
  config: exportConfig,
  migrations: new URL('../migrations/', import.meta.url),
  dependsOn: ['platform', 'aoc', 'findings'],
  blobReferences: { namespaces: ['exports'], uris: runBlobUris },
  async start(ctx) {
    room(ctx);
    // Defined in every target: an api-only process queues runs that workers pick up.
    await ctx.queue.define(RUN_QUEUE, {
      concurrencyKeyLimit: ctx.config.export.maxActiveRuns,
      retryLimit: ctx.config.export.runRetryLimit,
      heartbeatSeconds: ctx.config.export.heartbeatSeconds,
    });
    await ctx.queue.define(RETENTION_QUEUE, { policy: 'singleton' });
  },
  async routes(app, ctx) {
    const state = room(ctx);
    await registerExportRoutes(app, { service: state.service, retention: state.retention, config: ctx.config });
  },
  async jobs(queue, ctx) {
    const state = room(ctx);
    const worker = createExportWorker({
      service: state.service,
      blobs: ctx.blobs,
      signing: state.signing,
      config: ctx.config,
      metrics: state.metrics,
      logger: ctx.logger,
      db: ctx.db,
      clock: ctx.clock,
      attempts: ctx.config.export.runRetryLimit + 1,
    });
    await queue.work<{ tenant: string; runId: string }>(
      RUN_QUEUE,
      (job) => worker.execute(job.data.tenant, job.data.runId, job.retryCount),
      { concurrency: ctx.config.export.workerConcurrency },
    );
    // A run whose last attempt was killed: the queue dead-letters the job, this closes the run.
    queue.onDeadLetter(RUN_QUEUE, (letter) =>
      failAbandonedRun({ service: state.service, metrics: state.metrics, logger: ctx.logger }, letter),
    );
    await queue.work(RETENTION_QUEUE, async () => {
      const reports = await state.retention.pruneAll();
      return reports.map((r) => ({ tenant: r.tenant, pruned: r.pruned.length }));
    });
    await queue.schedule(RETENTION_QUEUE, ctx.config.export.retentionCron, {});
  },
  commands(program, cli) {
    registerExportCommands(program, cli);
  },
};
