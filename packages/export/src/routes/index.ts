// SPDX-License-Identifier: Apache-2.0
// The Export Center API (spec §2.3, base /api/export): profiles, runs, the SSE event stream,
// manifests, provenance, bundle download with Range and ETag, signing keys, quota and retention.
// Routes are thin: typed from their TypeBox schemas, one service call, the answer.
import type { Config, HttpApp } from '@stella/platform';
import type { RetentionService } from '../retention.ts';
import type { ExportService } from '../service/index.ts';
import { registerArtefactRoutes } from './artefacts.ts';
import { registerEventRoutes } from './events.ts';
import { registerProfileRoutes } from './profiles.ts';
import { registerRunRoutes } from './runs.ts';
import { registerTenantRoutes } from './tenant.ts';

export interface ExportRouteDeps {
  service: ExportService;
  retention: RetentionService;
  config: Config;
}

export async function registerExportRoutes(app: HttpApp, deps: ExportRouteDeps): Promise<void> {
  // In this order: the OpenAPI document lists paths as they were registered.
  registerProfileRoutes(app, deps.service);
  registerRunRoutes(app, deps.service);
  registerEventRoutes(app, deps.service, deps.config.export.keepaliveSeconds);
  registerArtefactRoutes(app, deps.service);
  registerTenantRoutes(app, deps.service, deps.retention);
}
