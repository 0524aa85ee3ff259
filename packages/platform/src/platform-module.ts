// The platform's own routes and jobs: timeline, the orchestrator's dead-letter operations and the
// tenants' signing keys.
import { registerConfigCommands } from './config/commands.ts';
import type { Module } from './module.ts';
import { registerOrchestratorCommands } from './queue/commands.ts';
import { registerDeadLetterRoutes } from './queue/index.ts';
import { registerKeyCommands } from './signing/commands.ts';
import { registerSigningKeyRoutes } from './signing/routes.ts';
import { registerTimelineCommands } from './timeline/commands.ts';
import { registerTimelineRoutes } from './timeline/index.ts';

export const platformModule: Module = {
  name: 'platform',
  migrations: new URL('../migrations/', import.meta.url),
  routes(app, ctx) {
    registerTimelineRoutes(app, { db: ctx.db, timeline: ctx.timeline, pageSize: ctx.config.timeline.pageSize });
    registerDeadLetterRoutes(app, { queue: ctx.queue, timeline: ctx.timeline });
    registerSigningKeyRoutes(app, ctx.db);
  },
  commands(program, cli) {
    registerTimelineCommands(program, cli);
    registerOrchestratorCommands(program, cli);
    registerConfigCommands(program, cli);
    registerKeyCommands(program, cli);
  },
};
