// Content-addressed storage: the BlobStore port, `cas://` URIs, and the filesystem and S3 backends.
import { join } from 'node:path';
import type { Config } from '../config/index.ts';
import { createFsBlobStore, type FsBlobStoreOptions } from './fs.ts';
import type { BlobStore } from './port.ts';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3.ts';

export type { FsBlobStoreOptions } from './fs.ts';
export { createFsBlobStore } from './fs.ts';
export type { BlobReferences, CasMaintenance, CollectReport, LayoutReport } from './maintenance.ts';
export { createCasMaintenance } from './maintenance.ts';
export type { BlobBody, BlobHead, BlobStore, PutOptions, PutResult } from './port.ts';
export type { S3BlobStoreOptions } from './s3.ts';
export { createS3BlobStore, parseS3Url } from './s3.ts';
export type { TenantBlobs } from './tenant.ts';
export { TENANT_ROOT, tenantBlobs, tenantNamespace, tenantUri } from './tenant.ts';
export type { CasAddress } from './uri.ts';
export { assertNamespace, formatCasUri, parseCasUri } from './uri.ts';

export type BlobStoreOptions = ({ kind: 'fs' } & FsBlobStoreOptions) | ({ kind: 's3' } & S3BlobStoreOptions);

export function createBlobStore(options: BlobStoreOptions): BlobStore {
  if (options.kind === 'fs') return createFsBlobStore({ root: options.root });
  const { kind: _kind, ...s3Options } = options;
  return createS3BlobStore(s3Options);
}

/** The CAS a configuration names: the S3 bucket of cas.url, else $STELLA_HOME/cas. */
export function openBlobStore(config: Pick<Config, 'cas' | 'home'>): BlobStore {
  const { cas } = config;
  if (!cas.url) return createFsBlobStore({ root: join(config.home, 'cas') });
  return createS3BlobStore({
    url: cas.url,
    endpoint: cas.endpoint || undefined,
    region: cas.region,
    accessKeyId: cas.accessKeyId || undefined,
    secretAccessKey: cas.secretAccessKey || undefined,
  });
}
