// The platform's own routes and jobs: timeline (with its signed checkpoints and retention), the
// orchestrator's dead-letter operations and the tenants' signing keys.
import { registerCasCommands } from './blob/commands.ts';
import { registerCasRoutes } from './blob/routes.ts';
import { registerConfigCommands } from './config/commands.ts';
import type { Ctx, Module } from './module.ts';
import { registerOrchestratorCommands } from './queue/commands.ts';
import { registerDeadLetterRoutes } from './queue/index.ts';
import { registerKeyCommands } from './signing/commands.ts';
import { createSigningKeyStore } from './signing/index.ts';
import { registerSigningKeyRoutes } from './signing/routes.ts';
import { registerTimelineCommands } from './timeline/commands.ts';
import {
  createTimelineCheckpoints,
  defineTimelineQueues,
  registerTimelineJobs,
  registerTimelineRoutes,
  type TimelineCheckpoints,
} from './timeline/index.ts';

const CAS_GC_QUEUE = 'platform.cas-gc';

const checkpointServices = new WeakMap<Ctx, TimelineCheckpoints>();

/** One checkpoint service per server context, shared by routes and jobs (its metrics register once). */
function timelineCheckpoints(ctx: Ctx): TimelineCheckpoints {
  let service = checkpointServices.get(ctx);
  if (!service) {
    service = createTimelineCheckpoints({
      db: ctx.db,
      clock: ctx.clock,
      timeline: ctx.timeline,
      signing: createSigningKeyStore(ctx.db),
      metrics: ctx.metrics,
      logger: ctx.logger,
    });
    checkpointServices.set(ctx, service);
  }
  return service;
}

export const platformModule: Module = {
  name: 'platform',
  migrations: new URL('../migrations/', import.meta.url),
  async start(ctx) {
    await ctx.queue.define(CAS_GC_QUEUE, { policy: 'singleton' });
    // The metrics register in every target, so /metrics lists them before the first checkpoint.
    timelineCheckpoints(ctx);
    await defineTimelineQueues(ctx.queue);
  },
  async jobs(queue, ctx) {
    await queue.work(CAS_GC_QUEUE, () => ctx.cas.collect(ctx.config.cas.gcGraceSeconds));
    await queue.schedule(CAS_GC_QUEUE, ctx.config.cas.gcCron, {});
    await registerTimelineJobs(queue, {
      checkpoints: timelineCheckpoints(ctx),
      config: ctx.config.timeline,
      logger: ctx.logger,
    });
  },
  routes(app, ctx) {
    registerCasRoutes(app, ctx.cas, ctx.config.cas.gcGraceSeconds);
    registerTimelineRoutes(app, {
      db: ctx.db,
      timeline: ctx.timeline,
      checkpoints: timelineCheckpoints(ctx),
      pageSize: ctx.config.timeline.pageSize,
      retentionDays: ctx.config.timeline.retentionDays,
    });
    registerDeadLetterRoutes(app, { queue: ctx.queue, timeline: ctx.timeline });
    registerSigningKeyRoutes(app, ctx.db);
  },
  commands(program, cli) {
    registerTimelineCommands(program, cli);
    registerOrchestratorCommands(program, cli);
    registerConfigCommands(program, cli);
    registerKeyCommands(program, cli);
    registerCasCommands(program, cli);
  },
};
