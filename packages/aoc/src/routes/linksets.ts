// SPDX-License-Identifier: Apache-2.0
// Link-not-merge over HTTP: every source naming the same vulnerability or package, side by side.
import type { HttpApp } from '@stella/platform';
import Type from 'typebox';
import type { AocService } from '../service.ts';
import { tags } from './options.ts';
import { hasScope, tenantOf } from './request.ts';

export function registerLinksetRoutes(app: HttpApp, service: AocService): void {
  app.get(
    '/v1/lnm/linksets',
    {
      config: { auth: { scopes: ['advisory:read'] } },
      schema: {
        tags,
        summary: 'Link-not-merge: every source that names the same vulnerability or package, side by side',
        querystring: Type.Object({
          cve: Type.Optional(Type.String()),
          ghsa: Type.Optional(Type.String()),
          alias: Type.Optional(Type.String()),
          purl: Type.Optional(Type.String()),
          source: Type.Optional(Type.String()),
          includeVex: Type.Optional(Type.Boolean({ default: true })),
          page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
          pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
      },
    },
    async (request) =>
      service.reads.linksets(tenantOf(request), request.query, { canReadVex: hasScope(request, 'vex:read') }),
  );
}
