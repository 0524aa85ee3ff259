// SPDX-License-Identifier: Apache-2.0
// The findings room as a module of the server: SBOM storage, its routes and `stella sbom`, and the
// ecosystem version comparators with `stella versions`. Matching and policy (issue 13) add tables,
// routes and jobs.
import type { Ctx, Module } from '@stella/platform';
import { registerSbomCommands } from './commands/sbom.ts';
import { registerVersionsCommands } from './commands/versions.ts';
import { findingsConfig } from './config.ts';
import { registerSbomRoutes } from './routes/sboms.ts';
import { createFindingsService, type FindingsService } from './service.ts';

const services = new WeakMap<Ctx, FindingsService>();

/** The findings service of a running server: one per context, shared by routes and tests. */
export function findingsOf(ctx: Ctx): FindingsService {
  let service = services.get(ctx);
  if (!service) {
    service = createFindingsService({
      db: ctx.db,
      blobs: ctx.blobs,
      timeline: ctx.timeline,
      clock: ctx.clock,
      maxSbomBytes: ctx.config.findings.maxSbomBytes,
      jsonLimits: {
        maxDepth: ctx.config.limits.jsonDepth,
        maxKeys: ctx.config.limits.jsonKeys,
        maxStringLength: ctx.config.limits.jsonStringLength,
      },
    });
    services.set(ctx, service);
  }
  return service;
}

export const findingsModule: Module = {
  name: 'findings',
  config: findingsConfig,
  dependsOn: ['platform'],
  migrations: new URL('../migrations/', import.meta.url),
  routes(app, ctx) {
    registerSbomRoutes(app, findingsOf(ctx), ctx.config.findings.maxSbomBytes);
  },
  commands(program, cli) {
    registerVersionsCommands(program, cli);
    registerSbomCommands(program, cli);
  },
};
