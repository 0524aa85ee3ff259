// SPDX-License-Identifier: Apache-2.0
// Tenant-wide export routes: the signing keys that verify bundles, the run quota, and retention.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { RetentionService } from '../retention.ts';
import { type ExportService, quotaHeaders } from '../service/index.ts';
import { manage, read, tags } from './options.ts';
import { actorOf, tenantOf } from './request.ts';

export function registerTenantRoutes(app: HttpApp, service: ExportService, retention: RetentionService): void {
  app.get(
    '/api/export/keys',
    {
      config: read,
      schema: { tags, summary: "The tenant's export-center public keys (PEM); bundles ship the signing key too" },
    },
    async (request) => service.signingKeys(tenantOf(request)),
  );

  app.get(
    '/api/export/quota',
    { config: read, schema: { tags, summary: "The tenant's run quota for today" } },
    async (request, reply) => {
      const quota = await service.quota(tenantOf(request));
      reply.headers(quotaHeaders(quota));
      return quota;
    },
  );

  app.put(
    '/api/export/quota',
    {
      config: { auth: { scopes: ['orch:quota'] } },
      schema: {
        tags,
        summary: "Set the tenant's runs per UTC day; 0 pauses submissions (runbook §7.3)",
        body: Type.Object({ runsPerDay: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
      },
    },
    async (request, reply) => {
      const quota = await service.setQuota(tenantOf(request), request.body.runsPerDay, actorOf(request));
      reply.headers(quotaHeaders(quota));
      return quota;
    },
  );

  app.post(
    '/api/export/retention/run',
    { config: manage, schema: { tags, summary: "Prune the tenant's bundles by each profile's retention now" } },
    async (request) => retention.prune(tenantOf(request)),
  );
}
