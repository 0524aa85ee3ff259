// SPDX-License-Identifier: Apache-2.0
// AOC HTTP routes: ingest (one raw document, or an NDJSON batch of envelopes), read the raw stores
// back byte for byte, revision history, cross-source linkset queries, sources and verification.
// Routes are thin: typed from their TypeBox schemas, one service call, the answer.
import type { Config, HttpApp } from '@stella/platform';
import type { AocService } from '../service.ts';
import { registerIngestRoutes } from './ingest.ts';
import { registerLinksetRoutes } from './linksets.ts';
import { registerRecordRoutes } from './records.ts';
import { registerSourceRoutes } from './sources.ts';
import { registerVerifyRoutes } from './verify.ts';

export function registerAocRoutes(app: HttpApp, service: AocService, limits: Config['limits']): void {
  // In this order: the OpenAPI document lists paths as they were registered.
  registerIngestRoutes(app, service, limits);
  registerRecordRoutes(app, service);
  registerLinksetRoutes(app, service);
  registerSourceRoutes(app, service);
  registerVerifyRoutes(app, service);
}
