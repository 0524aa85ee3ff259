// The platform's own routes and jobs: timeline and the orchestrator's dead-letter operations.
import { registerConfigCommands } from './config/commands.ts';
import type { Module } from './module.ts';
import { registerOrchestratorCommands } from './queue/commands.ts';
import { registerDeadLetterRoutes } from './queue/index.ts';
import { registerTimelineCommands } from './timeline/commands.ts';
import { registerTimelineRoutes } from './timeline/index.ts';

export const platformModule: Module = {
  name: 'platform',
  migrations: new URL('../migrations/', import.meta.url),
  routes(app, ctx) {
    registerTimelineRoutes(app, { db: ctx.db, timeline: ctx.timeline, pageSize: ctx.config.timeline.pageSize });
    registerDeadLetterRoutes(app, { queue: ctx.queue, timeline: ctx.timeline });
  },
  commands(program, cli) {
    registerTimelineCommands(program, cli);
    registerOrchestratorCommands(program, cli);
    registerConfigCommands(program, cli);
  },
};
