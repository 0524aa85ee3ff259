// SPDX-License-Identifier: Apache-2.0
// `POST /aoc/verify`: re-check the stored raw rows; VEX rows only for a caller who may read them.
import type { HttpApp } from '@stella/platform';
import type { AocService } from '../service.ts';
import { VerifyRequestSchema } from '../verify/run.ts';
import { tags } from './options.ts';
import { hasScope, header, tenantOf } from './request.ts';

export function registerVerifyRoutes(app: HttpApp, service: AocService): void {
  app.post(
    '/aoc/verify',
    {
      config: { auth: { scopes: ['aoc:verify', 'advisory:read'] } },
      schema: {
        tags,
        summary: 'Re-check stored raw rows: hashes of the stored bytes, forbidden keys, supersedes chains',
        body: VerifyRequestSchema,
      },
    },
    async (request) =>
      service.verify(tenantOf(request), request.body, {
        initiator: header(request, 'x-stella-initiator'),
        includeVex: hasScope(request, 'vex:read'),
      }),
  );
}
