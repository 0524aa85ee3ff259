// SPDX-License-Identifier: Apache-2.0
// Scanning as a service: an SBOM (sent now, or stored before) read into components, the advisories
// naming their packages fetched through the advisory port, and the pure scan core run over them.
// Nothing is stored: a scan is a view of what the stores hold at this moment.
import type { JsonLimits } from '@stella/core';
import type { Db } from '@stella/platform';
import type { SbomComponent } from '../sbom/model.ts';
import { type FindingsService, readSbom } from '../service.ts';
import type { AdvisorySource } from './advisories.ts';
import { type ScanReport, scanComponents } from './scan.ts';

export interface ScanDeps {
  db: Db;
  advisories: AdvisorySource;
  sboms: FindingsService;
  jsonLimits: JsonLimits;
}

export interface ScanService {
  /** Scans an SBOM document without storing it. */
  scanDocument(tenant: string, bytes: Buffer): Promise<ScanReport>;
  /** Scans a stored SBOM (404 for an id of another tenant). */
  scanStored(tenant: string, sbomId: string): Promise<ScanReport>;
}

export function createScanService(deps: ScanDeps): ScanService {
  const scan = async (tenant: string, bytes: Buffer): Promise<ScanReport> => {
    const { parsed } = readSbom(bytes, deps.jsonLimits);
    const components: SbomComponent[] = parsed.components;
    const purls = components.flatMap((c) => c.purl ?? []);
    const advisories = await deps.advisories.advisoriesForPackages(deps.db, tenant, purls);
    const keyOf = (purl: string) => deps.advisories.packageKeys([purl])[0];
    return scanComponents(components, advisories, keyOf, deps.jsonLimits);
  };
  return {
    scanDocument: scan,
    async scanStored(tenant, sbomId) {
      const { bytes } = await deps.sboms.rawSbom(tenant, sbomId);
      return scan(tenant, bytes);
    },
  };
}
