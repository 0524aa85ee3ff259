// The BlobStore port: content-addressed storage where an object's address is the sha256 of its bytes,
// so every read can be verified against the address it was asked for.
import type { Readable } from 'node:stream';
import type { Sha256Digest } from '@stella/core';

/** Bytes in memory, a Node stream, or any async source of chunks; streams are never fully buffered. */
export type BlobBody = Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface PutOptions {
  /** `sha256:<hex>` or bare hex; a mismatch fails the put with ERR_CAS_DIGEST_MISMATCH and stores nothing. */
  expectedDigest?: string;
  /** Upper bound on the body; exceeding it fails with ERR_BODY_TOO_LARGE and stores nothing. */
  maxBytes?: number;
}

export interface PutResult {
  /** `cas://<namespace>/<sha256hex>` */
  uri: string;
  digest: Sha256Digest;
  size: number;
  /** False when an intact object with this digest was already stored. */
  created: boolean;
}

export interface BlobHead {
  size: number;
  /** When the object was last written: garbage collection spares objects younger than its grace period. */
  modified: Date;
}

export interface BlobStore {
  /**
   * Stores the body under its digest. Storing bytes that are already there refreshes the object's
   * modified time, so a collector that saw it unreferenced cannot remove it while a new reference to
   * it is about to commit (within the collector's grace period).
   */
  put(namespace: string, body: BlobBody, options?: PutOptions): Promise<PutResult>;
  /** Streams the object; the stream errors with ERR_CAS_DIGEST_MISMATCH at its end if the bytes at rest changed. */
  get(uri: string): Promise<Readable>;
  /**
   * Streams bytes start..end (inclusive) of the object, for HTTP Range answers. A part cannot be
   * checked against the digest; clients verify the whole download against the object's digest.
   */
  getRange(uri: string, start: number, end: number): Promise<Readable>;
  /** Reads and verifies the whole object; refuses objects over maxBytes with ERR_BODY_TOO_LARGE. */
  getBytes(uri: string, maxBytes?: number): Promise<Buffer>;
  /** Size and last write of the object; a put of bytes already stored counts as a write (see put). */
  head(uri: string): Promise<BlobHead | undefined>;
  /** True when an object was removed. */
  delete(uri: string): Promise<boolean>;
  /** URIs of every object stored directly in the namespace (not in nested namespaces). */
  list(namespace: string): AsyncIterable<string>;
}
