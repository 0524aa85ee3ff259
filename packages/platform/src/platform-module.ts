// The platform's own routes and jobs: timeline, the orchestrator's dead-letter operations and the
// tenants' signing keys.
import { registerCasCommands } from './blob/commands.ts';
import { registerCasRoutes } from './blob/routes.ts';
import { registerConfigCommands } from './config/commands.ts';
import type { Module } from './module.ts';
import { registerOrchestratorCommands } from './queue/commands.ts';
import { registerDeadLetterRoutes } from './queue/index.ts';
import { registerKeyCommands } from './signing/commands.ts';
import { registerSigningKeyRoutes } from './signing/routes.ts';
import { registerTimelineCommands } from './timeline/commands.ts';
import { registerTimelineRoutes } from './timeline/index.ts';

const CAS_GC_QUEUE = 'platform.cas-gc';

export const platformModule: Module = {
  name: 'platform',
  migrations: new URL('../migrations/', import.meta.url),
  async start(ctx) {
    await ctx.queue.define(CAS_GC_QUEUE, { policy: 'singleton' });
  },
  async jobs(queue, ctx) {
    await queue.work(CAS_GC_QUEUE, () => ctx.cas.collect(ctx.config.cas.gcGraceSeconds));
    await queue.schedule(CAS_GC_QUEUE, ctx.config.cas.gcCron, {});
  },
  routes(app, ctx) {
    registerCasRoutes(app, ctx.cas, ctx.config.cas.gcGraceSeconds);
    registerTimelineRoutes(app, { db: ctx.db, timeline: ctx.timeline, pageSize: ctx.config.timeline.pageSize });
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
