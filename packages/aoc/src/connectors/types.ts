// SPDX-License-Identifier: Apache-2.0
// The port between "where upstream documents come from" and the AOC write path. A connector only
// fetches and hands over bytes exactly as published; the caller runs the guard and stores, so a
// connector can never write around the contract.

export interface FetchedDocument {
  /** Path relative to the input root (POSIX separators), or an absolute URL; `archive!/entry` for zips. */
  location: string;
  /** Exact bytes as published. A `.json.gz` file or a gzip Content-Encoding is unwrapped: the record is the JSON. */
  bytes: Uint8Array;
  /** RFC 3339 UTC, from the injected clock. */
  retrievedAt: string;
  /** Resume token: all documents up to and including this one are done. Opaque to the caller. */
  cursor: string;
  /** A detached `.asc` next to the document, or the document itself when it is a DSSE envelope. */
  signature?: { format: 'pgp' | 'dsse'; bytes: Uint8Array; location: string };
  /** From `.sha256`/`.sha512` sidecars or ROLIE `hash` links; the hex is as published (checked by the caller). */
  declaredDigest?: { algorithm: 'sha256' | 'sha512'; hex: string; location: string };
}

export interface FetchLimits {
  /** Largest single document (after gzip is unwrapped). */
  documentBytes: number;
  /** Largest total a listing, feed or archive may expand to. */
  decompressedBytes: number;
  /** Most entries an archive may hold. */
  archiveEntries: number;
}

export interface FetchProgress {
  done: number;
  total?: number;
  location: string;
}

/** Something the connector saw and deliberately did not hand over (symlink out of the root…). */
export interface FetchSkip {
  location: string;
  reason: string;
}

export interface FetchOptions {
  input: string;
  cursor?: string;
  signal?: AbortSignal;
  now: () => Date;
  limits: FetchLimits;
  onProgress?: (p: FetchProgress) => void;
  /** Optional: told about every file or entry that was skipped on purpose, so an operator can audit it. */
  onSkip?: (s: FetchSkip) => void;
  fetch?: typeof fetch;
}

export interface Connector {
  name: string;
  version: string;
  fetch(options: FetchOptions): AsyncIterable<FetchedDocument>;
}
