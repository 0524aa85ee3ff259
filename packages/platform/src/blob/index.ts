// Content-addressed storage: the BlobStore port, `cas://` URIs, and the filesystem and S3 backends.
import { createFsBlobStore, type FsBlobStoreOptions } from './fs.ts';
import type { BlobStore } from './port.ts';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3.ts';

export type { FsBlobStoreOptions } from './fs.ts';
export { createFsBlobStore } from './fs.ts';
export type { BlobBody, BlobStore, PutOptions, PutResult } from './port.ts';
export type { S3BlobStoreOptions } from './s3.ts';
export { createS3BlobStore, parseS3Url } from './s3.ts';
export type { CasAddress } from './uri.ts';
export { assertNamespace, formatCasUri, parseCasUri } from './uri.ts';

export type BlobStoreOptions = ({ kind: 'fs' } & FsBlobStoreOptions) | ({ kind: 's3' } & S3BlobStoreOptions);

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  if (options.kind === 'fs') return createFsBlobStore({ root: options.root });
  const { kind: _kind, ...s3Options } = options;
  return createS3BlobStore(s3Options);
}
