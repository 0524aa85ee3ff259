// SPDX-License-Identifier: Apache-2.0
// The `object` distribution driver: stores the bundle and its export.json in the configured S3-compatible
// bucket through the platform BlobStore, content-addressed under `exports/<tenant>/<profile>`.
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { StellaError } from '@stella/core';
import { type BlobStore, createS3BlobStore, parseCasUri, parseS3Url } from '@stella/platform';
import type { ExportConfig } from '../config.ts';
import { ExportErrors } from '../errors.ts';
import type { DistributionDriver, DistributionInput, DistributionResult } from './types.ts';

type ObjectStoreConfig = ExportConfig['objectStore'];

/** A bucket that has not taken the bundle in 60 s plus 1 s per MiB is treated as down. */
const BASE_TIMEOUT_MS = 60_000;
const MIN_BYTES_PER_SECOND = 1024 * 1024;

export interface ObjectDriverOptions {
  /** Overrides the time allowance above (tests). */
  timeoutMs?: number;
}

export function createObjectDriver(config: ObjectStoreConfig, options: ObjectDriverOptions = {}): DistributionDriver {
  let store: BlobStore | undefined;
  // Created on first use, so a bad bucket URL fails the runs that use it (errorCode=distribution) rather
  // than the worker's start.
  const storeOf = (): BlobStore => {
    store ??= createS3BlobStore({
      url: config.url,
      ...(config.endpoint === '' ? {} : { endpoint: config.endpoint }),
      region: config.region,
      ...(config.accessKeyId === '' && config.secretAccessKey === ''
        ? {}
        : { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }),
    });
    return store;
  };

  return {
    name: 'object',
    async push(input: DistributionInput, signal?: AbortSignal): Promise<DistributionResult> {
      const started = performance.now();
      const namespace = `exports/${input.tenant}/${input.profileName}`;
      const where = `${bucketLabel(config.url)}/${namespace}`;
      const timeoutMs = options.timeoutMs ?? BASE_TIMEOUT_MS + (input.bundle.bytes / MIN_BYTES_PER_SECOND) * 1000;
      try {
        const put = async () => {
          const blobs = storeOf();
          const bundle = await blobs.put(namespace, createReadStream(input.bundle.path), {
            expectedDigest: input.bundle.digest,
          });
          await blobs.put(namespace, input.manifest.bytes, { expectedDigest: input.manifest.digest });
          return bundle.uri;
        };
        const uri = await withDeadline(put, timeoutMs, signal);
        return {
          driver: 'object',
          target: objectLocation(config.url, uri),
          digest: input.bundle.digest,
          seconds: (performance.now() - started) / 1000,
        };
      } catch (error) {
        if (signal?.aborted && error === signal.reason) throw error;
        const reason = error instanceof DeadlineExceeded ? `no answer within ${timeoutMs} ms` : describe(error);
        throw new StellaError(ExportErrors.distribution, `object store push to ${where} failed: ${reason}`, {
          cause: error,
        });
      }
    },
  };
}

/** `s3://bucket/prefix/<namespace>/<hh>/<hex>`: the object's key, as the S3 BlobStore lays it out. */
function objectLocation(url: string, casUri: string): string {
  const { bucket, prefix } = parseS3Url(url);
  const { namespace, hex } = parseCasUri(casUri);
  return `s3://${bucket}/${prefix === '' ? '' : `${prefix}/`}${namespace}/${hex.slice(0, 2)}/${hex}`;
}

/** `s3://bucket/prefix` for messages; a URL that does not parse is not echoed (it is config, not ours). */
function bucketLabel(url: string): string {
  try {
    const { bucket, prefix } = parseS3Url(url);
    return `s3://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
  } catch {
    return 'export.objectStore.url (not an s3:// URL)';
  }
}

function describe(error: unknown): string {
  const err = error as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  const message = err.message || err.name || String(error);
  if (err.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) {
    return `connection refused (${message}); is the object store running?`;
  }
  return status === undefined ? message : `${message} (HTTP ${status})`;
}

class DeadlineExceeded extends Error {}

/**
 * The S3 client has no overall deadline (a black-holed endpoint waits for the OS connect timeout), so the
 * run gives up on its own; the abandoned request fails later without touching the run.
 */
function withDeadline<T>(start: () => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(() => reject(new DeadlineExceeded())), timeoutMs);
    const onAbort = () => finish(() => reject(signal?.reason));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // Settling twice is harmless, and these handlers also keep an abandoned put from being unhandled.
    start().then(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
  });
}
