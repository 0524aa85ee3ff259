// SPDX-License-Identifier: Apache-2.0
// The AOC as a room of the server: raw stores, ingest/read/verify routes, scheduled connectors and
// the `stella sources` / `stella aoc` verbs.
import type { Ctx, Module } from '@stella/platform';
import { registerAocCommands } from './commands/index.ts';
import { aocConfig } from './config.ts';
import { registerAocRoutes } from './routes/index.ts';
import { type AocService, createAocService } from './service.ts';
import { defineConnectorQueues, registerConnectorJobs } from './sources/runner.ts';
import { configuredSources } from './sources/settings.ts';
import { retrofitSupersedes } from './sql/retrofit.ts';

const services = new WeakMap<Ctx, AocService>();
const VERIFY_QUEUE = 'aoc.verify';

/** Tenants this server knows from its configuration: the bootstrap tenant, clients and sources. */
function knownTenants(ctx: Ctx): string[] {
  return [
    ...new Set([
      'default',
      ...ctx.config.auth.clients.flatMap((c) => c.tenants),
      ...configuredSources(ctx.config).map(([, s]) => s.tenant),
    ]),
  ].sort();
}

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
  config: aocConfig,
  dependsOn: ['platform'],
  migrations: new URL('../migrations/', import.meta.url),
  async start(ctx) {
    if (ctx.config.aoc.allowSupersedesRetrofit) {
      const linked = await retrofitSupersedes(ctx.db, knownTenants(ctx));
      ctx.logger.warn(
        { linked },
        'AOC_ALLOW_SUPERSEDES_RETROFIT is on: missing supersedes links filled; turn it off after cutover',
      );
    }
    // Defined in every target: an api-only process queues runs that workers pick up.
    await defineConnectorQueues(ctx.queue, ctx);
    await ctx.queue.define(VERIFY_QUEUE, { policy: 'singleton' });
    if (!ctx.config.aoc.guardEnabled) {
      ctx.logger.warn(
        'AOC_GUARD_ENABLED=false: the write guard is off; only database constraints protect the raw stores',
      );
    }
  },
  routes(app, ctx) {
    registerAocRoutes(app, aocService(ctx), ctx.config.limits);
  },
  async jobs(queue, ctx) {
    await registerConnectorJobs(queue, ctx, aocService(ctx));
    // Nightly verification of the last day's rows, as the runbook's CI job would run it.
    await queue.work(VERIFY_QUEUE, async () => {
      const reports = [];
      for (const tenant of knownTenants(ctx)) {
        const report = await aocService(ctx).verify(
          tenant,
          { since: '24h' },
          { initiator: 'scheduled', includeVex: true },
        );
        if (!report.ok)
          ctx.logger.error({ tenant, byCode: report.byCode }, 'scheduled AOC verification found violations');
        reports.push({ tenant, ok: report.ok, byCode: report.byCode });
      }
      return reports;
    });
    await queue.schedule(VERIFY_QUEUE, '30 2 * * *', {});
  },
  commands(program, cli) {
    registerAocCommands(program, cli);
  },
};
