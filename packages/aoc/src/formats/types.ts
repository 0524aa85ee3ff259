// SPDX-License-Identifier: Apache-2.0
// What a format parser tells ingestion about one upstream document. Parsers read the upstream
// body; they never change it. Everything here ends up in the envelope next to the verbatim bytes.

/** `content.format` values, as stored and queried. */
export type ContentFormat = 'OSV' | 'CSAF' | 'CSAF_VEX' | 'OPENVEX' | 'CYCLONEDX_VEX' | 'CVE5' | 'NVD';

/** Which raw store a document belongs to. */
export type DocumentKind = 'advisory' | 'vex';

export interface LinksetReference {
  type: string;
  url: string;
}

/**
 * A vulnerable-symbol fact for reachability (Go vulndb `ecosystem_specific.imports[].symbols`,
 * OSV `affected_functions`, …). `pointer` is the JSON pointer of the symbol list in the raw document.
 */
export interface LinksetSymbols {
  /** purl of the affected package when the document gives one, else `ecosystem/name`. */
  package: string;
  /** Import path / module the symbols live in (Go: imports[].path), when given. */
  path?: string;
  symbols: string[];
  pointer: string;
}

export interface Linkset {
  /** Canonical purls: `pkg:type/namespace/name@version`, qualifiers and subpath stripped, sorted, unique. */
  purls: string[];
  /** CPE 2.3 formatted strings, sorted, unique. */
  cpes: string[];
  /** Every vulnerability id the document names (CVE, GHSA, GO-, PYSEC-, vendor ids), sorted, unique. */
  aliases: string[];
  references: LinksetReference[];
  symbols: LinksetSymbols[];
  /** Sorted, unique JSON pointers (RFC 6901) into the raw document of every value extracted above. */
  reconciled_from: string[];
}

export interface Identifiers {
  /** As provided: trimmed, order kept, duplicates allowed. */
  cve: string[];
  ghsa: string[];
  aliases: string[];
}

export interface SchemaAnnotation {
  /** Name of the schema used (e.g. `osv`, `csaf-2.0`, `openvex`, `cyclonedx-1.6`), or null when none applies. */
  schema: string | null;
  valid: boolean | null;
  /** At most 20 ajv errors as `{pointer, message}`. */
  errors: Array<{ pointer: string; message: string }>;
}

export interface Recognised {
  kind: DocumentKind;
  format: ContentFormat;
  specVersion: string;
  /** The upstream's own id of the document (OSV id, CSAF tracking.id, OpenVEX @id, CVE id, CycloneDX serialNumber…). */
  upstreamId: string;
  /** The upstream's revision marker (OSV `modified`, CSAF `tracking.version`, OpenVEX `version`…), or null. */
  documentVersion: string | null;
  /** True when the upstream marks the record withdrawn / rejected / revoked. */
  withdrawn: boolean;
  identifiers: Identifiers;
  linkset: Linkset;
  schema: SchemaAnnotation;
}
