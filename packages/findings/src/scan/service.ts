// SPDX-License-Identifier: Apache-2.0
// Scanning as a service: an SBOM (sent now, or stored before) read into components, the advisories
// naming their packages fetched through the advisory port, the pure scan core run over them, and
// the evidence joined: the VEX documents naming the same packages through the VEX port (their
// statements applied per finding) and the reachability fact of the SBOM's subject through Signals'.
// Nothing is stored: a scan is a view of what the stores hold at this moment.
import { type JsonLimits, StellaError, type SubjectRef } from '@stella/core';
import type { Db } from '@stella/platform';
import { type EvidenceReport, joinEvidence } from '../evidence/join.ts';
import type { VexStatement } from '../evidence/model.ts';
import type { ReachabilitySource } from '../evidence/reachability.ts';
import type { ParsedSbom, SbomComponent } from '../sbom/model.ts';
import { sbomSubjectKey } from '../sbom/subject.ts';
import { type FindingsService, readSbom } from '../service.ts';
import { applicableStatements, readVexRecords, type SkippedVexRecord, type VexSource } from '../vex/index.ts';
import type { AdvisorySource } from './advisories.ts';
import { type Finding, scanComponents } from './scan.ts';

export interface ScanDeps {
  db: Db;
  advisories: AdvisorySource;
  reachability: ReachabilitySource;
  vex: VexSource;
  sboms: FindingsService;
  jsonLimits: JsonLimits;
}

export interface ScanService {
  /** Scans an SBOM document without storing it; its subject from `subject`, else its root. */
  scanDocument(tenant: string, bytes: Buffer, subject?: SubjectRef): Promise<EvidenceReport>;
  /** Scans a stored SBOM (404 for an id of another tenant) about the subject it was stored for. */
  scanStored(tenant: string, sbomId: string): Promise<EvidenceReport>;
}

/** The subject a document is about, or undefined when neither the caller nor its root names one. */
function subjectOf(subject: SubjectRef, parsed: ParsedSbom, doc: unknown): string | undefined {
  try {
    return sbomSubjectKey(subject, parsed, doc);
  } catch (error) {
    if (error instanceof StellaError) return undefined;
    throw error;
  }
}

/**
 * The statements that apply to a finding, looked up by the package they name (purl products) plus
 * every CPE-named one, then decided by applicableStatements.
 */
function vexLookup(
  statements: readonly VexStatement[],
  components: readonly SbomComponent[],
  keyOf: (purl: string) => string | undefined,
): (finding: Finding) => VexStatement[] {
  const byPackage = new Map<string, VexStatement[]>();
  const byCpe: VexStatement[] = [];
  for (const statement of statements) {
    const key = statement.product.startsWith('pkg:') ? keyOf(statement.product) : undefined;
    if (key === undefined) byCpe.push(statement);
    else (byPackage.get(key) ?? byPackage.set(key, []).get(key)!).push(statement);
  }
  const cpeOf = new Map(components.flatMap((c) => (c.cpe ? [[c.ref, c.cpe] as const] : [])));
  return (finding) => {
    const { purl, version, ref } = finding.component;
    const candidates = [...(byPackage.get(keyOf(purl) ?? '') ?? []), ...byCpe];
    if (candidates.length === 0) return [];
    const cpe = cpeOf.get(ref);
    return applicableStatements(
      candidates,
      { purl, version, ...(cpe ? { cpe } : {}) },
      { id: finding.vulnerabilityId, aliases: finding.aliases },
    );
  };
}

export function createScanService(deps: ScanDeps): ScanService {
  const keyOf = (purl: string) => deps.advisories.packageKeys([purl])[0];
  const scan = async (tenant: string, parsed: ParsedSbom, subjectKey: string | undefined) => {
    const purls = parsed.components.flatMap((c) => c.purl ?? []);
    const advisories = await deps.advisories.advisoriesForPackages(deps.db, tenant, purls);
    const report = scanComponents(parsed.components, advisories, keyOf, deps.jsonLimits);
    const skipped: SkippedVexRecord[] = [];
    const documents = report.findings.length > 0 ? await deps.vex.vexForPackages(deps.db, tenant, purls) : [];
    const statements = readVexRecords(documents, deps.jsonLimits, skipped);
    const fact = subjectKey ? await deps.reachability.reachabilityFact(deps.db, tenant, subjectKey) : undefined;
    const joined = joinEvidence(report, {
      subjectKey,
      fact,
      vexFor: vexLookup(statements, parsed.components, keyOf),
      packageKeyOf: keyOf,
    });
    return { ...joined, vexUnreadable: skipped };
  };
  return {
    async scanDocument(tenant, bytes, subject = {}) {
      const { doc, parsed } = readSbom(bytes, deps.jsonLimits);
      return scan(tenant, parsed, subjectOf(subject, parsed, doc));
    },
    async scanStored(tenant, sbomId) {
      const record = await deps.sboms.getSbom(tenant, sbomId);
      const { bytes } = await deps.sboms.rawSbom(tenant, sbomId);
      return scan(tenant, readSbom(bytes, deps.jsonLimits).parsed, record.subjectKey);
    },
  };
}
