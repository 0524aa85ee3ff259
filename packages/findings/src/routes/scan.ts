// SPDX-License-Identifier: Apache-2.0
// Scan routes: the findings of a stored SBOM, and of an SBOM sent now (stored nowhere).
import { type HttpApp, tenantOf } from '@stella/platform';
import type { ScanService } from '../scan/service.ts';
import { acceptSbomBodies } from './sboms.ts';
import { ScanReportSchema, scanDocumentScope, scanStoredScope, scanTags } from './scan-schemas.ts';
import { SbomParams, ScanQuery } from './schemas.ts';

interface ScanDocumentRoute {
  Body: Buffer;
  Querystring: ScanQuery;
}

export function registerScanRoutes(app: HttpApp, scans: ScanService, maxSbomBytes: number): void {
  app.get(
    '/sboms/:id/findings',
    {
      config: scanStoredScope,
      schema: {
        tags: scanTags,
        summary: "A stored SBOM's components matched against the advisories that name their packages",
        params: SbomParams,
        response: { 200: ScanReportSchema },
      },
    },
    async (request) => scans.scanStored(tenantOf(request), request.params.id),
  );

  app.register(async (scope) => {
    acceptSbomBodies(scope);
    scope.post<ScanDocumentRoute>(
      '/findings/scan',
      {
        bodyLimit: maxSbomBytes,
        config: scanDocumentScope,
        schema: {
          tags: scanTags,
          summary: 'Scan an SBOM sent in the body (CycloneDX or SPDX JSON) without storing it',
          description:
            "Findings with their VEX statements and reachability. The subject (whose Signals fact gives reachability) is scanId, else imageDigest, else component+version from the query; without them the SBOM's root.",
          querystring: ScanQuery,
          response: { 200: ScanReportSchema },
        },
      },
      async (request) => scans.scanDocument(tenantOf(request), request.body, request.query),
    );
  });
}
