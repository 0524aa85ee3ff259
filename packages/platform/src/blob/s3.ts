// S3-compatible BlobStore (AWS S3, MinIO, s3rver): objects live at `<prefix>/<namespace>/<hh>/<sha256hex>`.
// Path-style addressing, because MinIO and s3rver do not serve virtual-hosted bucket names.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Errors, StellaError } from '@stella/core';
import { casNotFound, putStaged, readVerified, type StagedBody, verifyingStream } from './fs.ts';
import type { BlobBody, BlobHead, BlobStore, PutOptions, PutResult } from './port.ts';
import { assertNamespace, formatCasUri, parseCasUri } from './uri.ts';

export interface S3BlobStoreOptions {
  /** `s3://<bucket>/<prefix>`; the prefix may be empty. */
  url: string;
  /** For S3-compatible servers, e.g. `http://127.0.0.1:9000`; AWS S3 when omitted. */
  endpoint?: string;
  region?: string;
  /** Both or neither; when omitted the AWS SDK's default credential chain applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Local directory where uploads are hashed before they are sent; the OS temp directory by default. */
  stagingDir?: string;
}

const OBJECT_SUFFIX_RE = /^([0-9a-f]{2})\/([0-9a-f]{64})$/;

export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const { bucket, prefix } = parseS3Url(options.url);
  const stagingDir = options.stagingDir ?? join(tmpdir(), 'stella-cas-staging');
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    throw new StellaError(Errors.config, 'S3 blob store needs both accessKeyId and secretAccessKey, or neither');
  }
  const bucketAt: Bucket = { client: newS3Client(options), bucket, prefix };
  return {
    put: (namespace: string, body: BlobBody, putOptions: PutOptions = {}) =>
      putObject(bucketAt, stagingDir, namespace, body, putOptions),
    get: (uri: string) => getVerified(bucketAt, uri),
    getBytes: (uri: string, maxBytes?: number) => getObjectBytes(bucketAt, uri, maxBytes),
    getRange: (uri: string, start: number, end: number) => getObjectRange(bucketAt, uri, start, end),
    head: (uri: string) => headObject(bucketAt, uri),
    delete: (uri: string) => deleteObject(bucketAt, uri),
    list: (namespace: string) => listObjects(bucketAt, namespace),
  };
}

/** The bucket the store writes to, the key prefix inside it, and the client that reaches it. */
interface Bucket {
  client: S3Client;
  bucket: string;
  prefix: string;
}

function newS3Client(options: S3BlobStoreOptions): S3Client {
  return new S3Client({
    region: options.region ?? 'us-east-1',
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    forcePathStyle: true,
    ...(options.accessKeyId !== undefined && options.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
      : {}),
    // The SDK's default CRC trailers (aws-chunked bodies) are not understood by s3rver or older MinIO;
    // integrity is ours anyway: every read is checked against the sha256 in the key.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

function namespacePrefix(prefix: string, namespace: string): string {
  return prefix === '' ? `${namespace}/` : `${prefix}/${namespace}/`;
}

function keyOf(at: Bucket, namespace: string, hex: string): string {
  return `${namespacePrefix(at.prefix, namespace)}${hex.slice(0, 2)}/${hex}`;
}

async function getObject(
  at: Bucket,
  uri: string,
): Promise<{ body: Readable; size: number | undefined; hex: string; modified: Date | undefined }> {
  const { namespace, hex } = parseCasUri(uri);
  try {
    const response = await at.client.send(new GetObjectCommand({ Bucket: at.bucket, Key: keyOf(at, namespace, hex) }));
    return { body: response.Body as Readable, size: response.ContentLength, hex, modified: response.LastModified };
  } catch (error) {
    if (isMissing(error)) throw casNotFound(uri, error);
    throw error;
  }
}

/** The stored object's last write when its bytes hash to its key, else undefined (missing or corrupted). */
async function objectMatches(at: Bucket, uri: string): Promise<{ modified: Date | undefined } | undefined> {
  let object: Awaited<ReturnType<typeof getObject>>;
  try {
    object = await getObject(at, uri);
  } catch (error) {
    if ((error as StellaError).code === Errors.casNotFound.code) return undefined;
    throw error;
  }
  const hash = createHash('sha256');
  for await (const chunk of object.body as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex') === object.hex ? { modified: object.modified } : undefined;
}

async function headObject(at: Bucket, uri: string): Promise<BlobHead | undefined> {
  const { namespace, hex } = parseCasUri(uri);
  try {
    const response = await at.client.send(new HeadObjectCommand({ Bucket: at.bucket, Key: keyOf(at, namespace, hex) }));
    return { size: response.ContentLength ?? 0, modified: response.LastModified ?? new Date(0) };
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

function putObject(
  at: Bucket,
  stagingDir: string,
  namespace: string,
  body: BlobBody,
  putOptions: PutOptions,
): Promise<PutResult> {
  // The key is the digest, which is only known once the whole body has been read. Hashing into a
  // local temporary file first means a digest mismatch or an oversized body never reaches the bucket
  // and the object is written once under its final key (a PUT is atomic in S3). Streaming straight
  // to S3 would need a temporary key plus a server-side copy, and a crash would strand the temporary
  // object. Upload then sends the staged file in bounded parts: one PUT when small, multipart when large.
  let matchedModified: Date | undefined;
  const write = async (staged: StagedBody) => {
    await new Upload({
      client: at.client,
      params: {
        Bucket: at.bucket,
        Key: keyOf(at, namespace, staged.hex),
        Body: createReadStream(staged.path),
        ContentType: 'application/octet-stream',
      },
    }).done();
  };
  return putStaged(stagingDir, namespace, body, putOptions, {
    matches: async (uri) => {
      const match = await objectMatches(at, uri);
      matchedModified = match?.modified;
      return match !== undefined;
    },
    write,
    // S3 has no portable touch (a copy onto itself needs REPLACE metadata, which not every store
    // accepts), so an object last written over an hour ago is written again from the staged file;
    // the collector's grace period is a day, so fresher objects are left alone.
    async refresh(staged) {
      if (matchedModified === undefined || Date.now() - matchedModified.getTime() > REFRESH_AFTER_MS) {
        await write(staged);
      }
    },
  });
}

const REFRESH_AFTER_MS = 3_600_000;

async function getVerified(at: Bucket, uri: string): Promise<Readable> {
  const { body, hex } = await getObject(at, uri);
  return verifyingStream(body, hex, uri);
}

async function getObjectBytes(at: Bucket, uri: string, maxBytes?: number): Promise<Buffer> {
  const { body, size, hex } = await getObject(at, uri);
  if (maxBytes !== undefined && size !== undefined && size > maxBytes) {
    body.destroy();
    throw new StellaError(Errors.bodyTooLarge, `CAS object ${uri} is ${size} bytes, over the limit of ${maxBytes}`);
  }
  return readVerified(verifyingStream(body, hex, uri), uri, maxBytes);
}

async function getObjectRange(at: Bucket, uri: string, start: number, end: number): Promise<Readable> {
  const { namespace, hex } = parseCasUri(uri);
  try {
    const response = await at.client.send(
      new GetObjectCommand({ Bucket: at.bucket, Key: keyOf(at, namespace, hex), Range: `bytes=${start}-${end}` }),
    );
    return response.Body as Readable;
  } catch (error) {
    if (isMissing(error)) throw casNotFound(uri, error);
    throw error;
  }
}

async function deleteObject(at: Bucket, uri: string): Promise<boolean> {
  // S3 answers DeleteObject the same whether or not the key existed, so ask first.
  const existed = (await headObject(at, uri)) !== undefined;
  if (!existed) return false;
  const { namespace, hex } = parseCasUri(uri);
  await at.client.send(new DeleteObjectCommand({ Bucket: at.bucket, Key: keyOf(at, namespace, hex) }));
  return true;
}

async function* listObjects(at: Bucket, namespace: string): AsyncIterable<string> {
  assertNamespace(namespace);
  const keyPrefix = namespacePrefix(at.prefix, namespace);
  let continuationToken: string | undefined;
  do {
    const page = await at.client.send(
      new ListObjectsV2Command({ Bucket: at.bucket, Prefix: keyPrefix, ContinuationToken: continuationToken }),
    );
    for (const { Key } of page.Contents ?? []) {
      // Keys of nested namespaces share the prefix; only `<hh>/<hex>` directly below it are ours.
      const [, fanout, hex] = OBJECT_SUFFIX_RE.exec(Key?.slice(keyPrefix.length) ?? '') ?? [];
      if (fanout !== undefined && hex?.startsWith(fanout)) yield formatCasUri(namespace, hex);
    }
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken !== undefined);
}

/** Splits `s3://bucket/prefix` into its bucket and its prefix without surrounding slashes. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new StellaError(Errors.config, `not a URL: ${JSON.stringify(url)}; use s3://<bucket>/<prefix>`, {
      cause: error,
    });
  }
  if (parsed.protocol !== 's3:' || parsed.hostname === '' || parsed.search !== '' || parsed.hash !== '') {
    throw new StellaError(Errors.config, `not an S3 URL: ${JSON.stringify(url)}; use s3://<bucket>/<prefix>`);
  }
  return { bucket: parsed.hostname, prefix: decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '') };
}

function isMissing(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return (
    candidate?.name === 'NoSuchKey' || candidate?.name === 'NotFound' || candidate?.$metadata?.httpStatusCode === 404
  );
}
