// SPDX-License-Identifier: Apache-2.0
// What the findings room needs from the VEX store, as a port the server wires to the AOC room's door
// (vexForPackages): head VEX documents naming a package, verbatim, with the identity and hash a
// statement cites. Findings never reads another room's tables.
import type { Db } from '@stella/platform';

/** A head VEX document as the AOC door describes it, without its text. */
export interface VexRecord {
  /** The raw record id (`vex_raw:{vendor}:{upstream id}:{revision}`). */
  recordId: string;
  vendor: string;
  upstreamId: string;
  revision: number;
  /** sha256 of the verbatim document, as stored. */
  contentHash: string;
  /** OPENVEX, CSAF_VEX or CYCLONEDX_VEX: how the document is read. */
  format: string;
  specVersion: string;
  /** Every vulnerability id the document names. */
  aliases: string[];
  /** The package-level purls of the query this document names. */
  packages: string[];
}

export interface VexRecordWithRaw extends VexRecord {
  /** The document exactly as received. */
  raw: string;
}

export interface VexSource {
  /** Head VEX documents naming any of these purls' packages (version and qualifiers ignored). */
  vexForPackages(db: Db, tenant: string, purls: readonly string[]): Promise<VexRecordWithRaw[]>;
}
