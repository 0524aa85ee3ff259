import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sha256Digest, sha256Hex } from '@stella/core';
import { type S3Server, scratchDir, startS3 } from '@stella/testkit';
import { type BlobStore, createBlobStore, parseCasUri } from '../src/blob/index.ts';
import { describeBlobStoreContract, hashStream } from './blob-contract.ts';

const MiB = 1024 * 1024;
const PREFIX = 'stella/cas';

interface S3Fixture {
  s3: S3Server;
  client: S3Client;
  store: BlobStore;
  stagingDir: string;
  keyOf(uri: string): string;
  stop(): Promise<void>;
}

async function s3Fixture(): Promise<S3Fixture> {
  const s3 = await startS3();
  const stagingDir = scratchDir('stella-blob-s3-staging-');
  const store = createBlobStore({
    kind: 's3',
    url: `s3://${s3.bucket}/${PREFIX}/`,
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    stagingDir,
  });
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    s3,
    client,
    store,
    stagingDir,
    keyOf(uri) {
      const { namespace, hex } = parseCasUri(uri);
      return `${PREFIX}/${namespace}/${hex.slice(0, 2)}/${hex}`;
    },
    async stop() {
      client.destroy();
      await s3.stop();
    },
  };
}

describeBlobStoreContract('S3 (s3rver)', async () => {
  const f = await s3Fixture();
  return {
    store: f.store,
    corrupt: async (uri, bytes) => {
      await f.client.send(new PutObjectCommand({ Bucket: f.s3.bucket, Key: f.keyOf(uri), Body: bytes }));
    },
    leftovers: async () => readdirSync(f.stagingDir),
    cleanup: () => f.stop(),
  };
});

describe('S3 blob store layout, multipart and configuration', () => {
  let f: S3Fixture;
  let s3: S3Server;
  let client: S3Client;
  let store: BlobStore;
  let stagingDir: string;
  before(async () => {
    f = await s3Fixture();
    ({ s3, client, store, stagingDir } = f);
  });
  after(() => f.stop());

  test('put stores the object under <prefix>/<namespace>/<hh>/<hex> and reads it back verified', async () => {
    const body = Buffer.from('a VEX statement');
    const hex = sha256Hex(body);
    const result = await store.put('vex', body);
    assert.deepEqual(result, { uri: `cas://vex/${hex}`, digest: sha256Digest(body), size: body.length, created: true });
    const raw = await client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/vex/${hex.slice(0, 2)}/${hex}` }),
    );
    assert.equal(raw.ContentLength, body.length);
    assert.deepEqual(await store.getBytes(result.uri), body);
    assert.equal((await store.head(result.uri))?.size, body.length);
    assert.deepEqual(await hashStream(await store.get(result.uri)), { hex, size: body.length });
    assert.deepEqual(readdirSync(stagingDir), []);
  });

  test('a 12 MiB streamed body, larger than one 5 MiB upload part, round-trips with the createHash digest', async () => {
    const chunks = Array.from({ length: 12 }, () => randomBytes(MiB));
    const expected = createHash('sha256');
    for (const chunk of chunks) expected.update(chunk);
    const expectedHex = expected.digest('hex');
    const result = await store.put('large', Readable.from(chunks), { expectedDigest: expectedHex });
    assert.equal(result.digest, `sha256:${expectedHex}`);
    assert.equal(result.size, 12 * MiB);
    assert.deepEqual(await hashStream(await store.get(result.uri)), { hex: expectedHex, size: 12 * MiB });
    assert.deepEqual(readdirSync(stagingDir), []);
  });

  test('a store URL that is not s3://bucket/prefix is a configuration error', () => {
    for (const url of ['https://bucket/prefix', 's3:///prefix', 'not a url']) {
      assert.throws(() => createBlobStore({ kind: 's3', url, endpoint: s3.endpoint }), { code: 'ERR_CONFIG' }, url);
    }
  });
});
