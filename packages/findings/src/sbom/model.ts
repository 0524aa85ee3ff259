// SPDX-License-Identifier: Apache-2.0
// What stella reads out of an SBOM, whatever its format: the subject it describes, its components
// with the coordinates advisories are matched on, and the dependency edges between them. The
// document itself is kept verbatim beside this; nothing here is ever written back into it.

export type SbomFormat = 'cyclonedx' | 'spdx';

export interface SbomComponent {
  /** The component's id inside the document (CycloneDX bom-ref, SPDX SPDXID), unique per document. */
  ref: string;
  name: string;
  version: string | undefined;
  /** The canonical purl, when the document gave a valid one. */
  purl: string | undefined;
  /** The OSV ecosystem the purl names (npm, PyPI, Debian:12, …); undefined when none is known. */
  ecosystem: string | undefined;
  /** The package name as OSV writes it in that ecosystem (`@scope/name`, `group:artifact`, …). */
  packageName: string;
  /** How advisories can find it: by purl, or only by name and version (a lower-confidence match). */
  identifiedBy: 'purl' | 'name-version';
  /** The component's CPE as the document gives it (CycloneDX `cpe`, SPDX cpe23Type/cpe22Type), for VEX by CPE. */
  cpe?: string;
}

export interface SbomEdge {
  /** The ref of the component that depends on `to`. */
  from: string;
  to: string;
}

export type SbomIssueKind =
  | 'unnamed-component'
  | 'missing-purl'
  | 'invalid-purl'
  | 'unknown-ecosystem'
  | 'duplicate-ref'
  | 'duplicate-purl'
  | 'dangling-edge'
  | 'cycle';

/** Something a reader of the SBOM should know; reported with the ingest, never a reason to refuse it. */
export interface SbomIssue {
  kind: SbomIssueKind;
  ref?: string;
  detail: string;
}

export interface ParsedSbom {
  format: SbomFormat;
  specVersion: string;
  /** CycloneDX serialNumber or SPDX documentNamespace, when present. */
  documentId: string | undefined;
  /** The component the SBOM describes (CycloneDX metadata.component, SPDX DESCRIBES), if named. */
  root: SbomComponent | undefined;
  /** Every other component, in document order, duplicates of a ref removed. */
  components: SbomComponent[];
  /** Dependency edges between refs of the root and the components, each once, sorted. */
  edges: SbomEdge[];
  issues: SbomIssue[];
}
