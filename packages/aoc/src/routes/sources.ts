// SPDX-License-Identifier: Apache-2.0
// Source routes: the tenant's configured sources with their connector state, and a run queued now.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { AocService } from '../service.ts';
import { tags } from './options.ts';
import { tenantOf } from './request.ts';

export function registerSourceRoutes(app: HttpApp, service: AocService): void {
  app.get(
    '/aoc/sources',
    {
      config: { auth: { scopes: ['advisory:read'] } },
      schema: {
        tags,
        summary: 'Configured sources of this tenant with their connector state (cursor, last run, last error)',
      },
    },
    async (request) => service.sources.list(tenantOf(request)),
  );

  app.post(
    '/aoc/sources/:vendor/run',
    {
      config: { auth: { scopes: ['advisory:ingest'] } },
      schema: {
        tags,
        summary: 'Queue a run of a configured source now (resumes from its cursor unless restart is true)',
        params: Type.Object({ vendor: Type.String() }),
        body: Type.Optional(Type.Object({ restart: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
        response: { 202: Type.Object({ vendor: Type.String(), jobId: Type.Union([Type.String(), Type.Null()]) }) },
      },
    },
    async (request, reply) => {
      const queued = await service.sources.runNow(tenantOf(request), request.params.vendor, {
        restart: request.body?.restart === true,
      });
      reply.code(202);
      return queued;
    },
  );
}
