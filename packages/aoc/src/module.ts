// SPDX-License-Identifier: Apache-2.0
// The AOC as a room of the server: raw stores, ingest/read/verify routes, scheduled connectors and
// the `stella sources` / `stella aoc` verbs.
import type { Ctx, Module } from '@stella/platform';
import { registerAocCommands } from './commands.ts';
import { registerConnectorJobs } from './connector-runner.ts';
import { registerAocRoutes } from './routes.ts';
import { type AocService, createAocService } from './service.ts';
import { configuredSources } from './sources.ts';
import { retrofitSupersedes } from './sql/retrofit.ts';

const services = new WeakMap<Ctx, AocService>();

/** One service per server context, shared by routes and jobs. */
export function aocService(ctx: Ctx): AocService {
  let service = services.get(ctx);
  if (!service) {
    service = createAocService(ctx);
    services.set(ctx, service);
  }
  return service;
}

export const aocModule: Module = {
  name: 'aoc',
  dependsOn: ['platform'],
  migrations: new URL('../migrations/', import.meta.url),
  async start(ctx) {
    if (ctx.config.aoc.allowSupersedesRetrofit) {
      const tenants = [
        'default',
        ...ctx.config.auth.clients.flatMap((c) => c.tenants),
        ...configuredSources(ctx.config).map(([, s]) => s.tenant),
      ];
      const linked = await retrofitSupersedes(ctx.db, tenants);
      ctx.logger.warn(
        { linked },
        'AOC_ALLOW_SUPERSEDES_RETROFIT is on: missing supersedes links filled; turn it off after cutover',
      );
    }
    if (!ctx.config.aoc.guardEnabled) {
      ctx.logger.warn(
        'AOC_GUARD_ENABLED=false: the write guard is off; only database constraints protect the raw stores',
      );
    }
  },
  routes(app, ctx) {
    registerAocRoutes(app, ctx, aocService(ctx));
  },
  async jobs(queue, ctx) {
    await registerConnectorJobs(queue, ctx, aocService(ctx));
  },
  commands(program, cli) {
    registerAocCommands(program, cli);
  },
};
