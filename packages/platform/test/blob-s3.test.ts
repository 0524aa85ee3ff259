import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { sha256Digest, sha256Hex } from '@stella/core';
import { type S3Server, startS3 } from '@stella/testkit';
import { type BlobStore, createBlobStore, formatCasUri, parseCasUri } from '../src/blob/index.ts';

const MiB = 1024 * 1024;
const PREFIX = 'stella/cas';

async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { hex: hash.digest('hex'), size };
}

async function collect(uris: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const uri of uris) all.push(uri);
  return all;
}

describe('S3 blob store against s3rver', () => {
  let s3: S3Server;
  let client: S3Client;
  let store: BlobStore;
  let stagingDir: string;

  before(async () => {
    s3 = await startS3();
    stagingDir = mkdtempSync(join(tmpdir(), 'stella-blob-s3-staging-'));
    store = createBlobStore({
      kind: 's3',
      url: `s3://${s3.bucket}/${PREFIX}/`,
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      stagingDir,
    });
    client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });
  after(async () => {
    client?.destroy();
    await s3?.stop();
    rmSync(stagingDir, { recursive: true, force: true });
  });

  const keyOf = (uri: string) => {
    const { namespace, hex } = parseCasUri(uri);
    return `${PREFIX}/${namespace}/${hex.slice(0, 2)}/${hex}`;
  };
  async function keysUnder(namespace: string): Promise<string[]> {
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${PREFIX}/${namespace}/` }));
    return (page.Contents ?? []).map((object) => object.Key ?? '');
  }

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
    assert.deepEqual(await store.head(result.uri), { size: body.length });
    assert.deepEqual(await hashStream(await store.get(result.uri)), { hex, size: body.length });
    assert.deepEqual(readdirSync(stagingDir), []);
  });

  test('putting the same content again is idempotent', async () => {
    const body = Buffer.from('twice over S3');
    const first = await store.put('idem', body);
    const second = await store.put('idem', Readable.from([body]));
    assert.equal(first.created, true);
    assert.deepEqual(second, { ...first, created: false });
    assert.deepEqual(await keysUnder('idem'), [keyOf(first.uri)]);
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

  test('an expectedDigest mismatch throws ERR_CAS_DIGEST_MISMATCH and uploads nothing', async () => {
    const body = Buffer.from('sent');
    await assert.rejects(store.put('mismatch', body, { expectedDigest: sha256Digest('promised') }), {
      code: 'ERR_CAS_DIGEST_MISMATCH',
    });
    assert.deepEqual(await keysUnder('mismatch'), []);
    assert.equal(await store.head(formatCasUri('mismatch', sha256Hex(body))), undefined);
    assert.deepEqual(readdirSync(stagingDir), []);
  });

  test('maxBytes is enforced and nothing is uploaded', async () => {
    await assert.rejects(
      store.put('capped', Readable.from([Buffer.alloc(700), Buffer.alloc(700)]), { maxBytes: 1024 }),
      {
        code: 'ERR_BODY_TOO_LARGE',
      },
    );
    assert.deepEqual(await keysUnder('capped'), []);
    assert.deepEqual(readdirSync(stagingDir), []);
  });

  test('an object replaced behind the store’s back fails getBytes and errors get(); a new put repairs it', async () => {
    const body = Buffer.from('the real attestation');
    const { uri } = await store.put('corrupt', body);
    await client.send(
      new PutObjectCommand({ Bucket: s3.bucket, Key: keyOf(uri), Body: Buffer.from('a forged attestation') }),
    );

    await assert.rejects(store.getBytes(uri), { code: 'ERR_CAS_DIGEST_MISMATCH' });
    await assert.rejects(hashStream(await store.get(uri)), { code: 'ERR_CAS_DIGEST_MISMATCH' });

    const repaired = await store.put('corrupt', body);
    assert.equal(repaired.created, true);
    assert.deepEqual(await store.getBytes(uri), body);
  });

  test('getBytes refuses objects over its maxBytes', async () => {
    const { uri } = await store.put('bounded-read', Buffer.alloc(4096, 3));
    await assert.rejects(store.getBytes(uri, 4095), { code: 'ERR_BODY_TOO_LARGE' });
    assert.equal((await store.getBytes(uri, 4096)).length, 4096);
  });

  test('missing objects: get and getBytes throw ERR_CAS_NOT_FOUND, head is undefined, delete is false', async () => {
    const uri = formatCasUri('absent', sha256Hex('never stored'));
    await assert.rejects(store.get(uri), { code: 'ERR_CAS_NOT_FOUND' });
    await assert.rejects(store.getBytes(uri), { code: 'ERR_CAS_NOT_FOUND' });
    assert.equal(await store.head(uri), undefined);
    assert.equal(await store.delete(uri), false);
  });

  test('delete removes the object once', async () => {
    const { uri } = await store.put('deletable', Buffer.from('short-lived'));
    assert.equal(await store.delete(uri), true);
    assert.equal(await store.head(uri), undefined);
    assert.equal(await store.delete(uri), false);
    assert.deepEqual(await keysUnder('deletable'), []);
  });

  test('list yields only the namespace’s own objects, not nested namespaces’', async () => {
    const outer = await Promise.all(['a', 'b', 'c'].map((s) => store.put('reachability', Buffer.from(s))));
    const inner = await store.put('reachability/graphs', Buffer.from('graph'));
    assert.deepEqual(await collect(store.list('reachability')), outer.map((r) => r.uri).sort());
    assert.deepEqual(await collect(store.list('reachability/graphs')), [inner.uri]);
    assert.deepEqual(await collect(store.list('never-used')), []);
  });

  test('malformed URIs and namespaces are validation errors', async () => {
    const hex = sha256Hex('x');
    for (const uri of [`cas://../x/${hex}`, `cas://x/${hex}ab`, `s3://x/${hex}`]) {
      await assert.rejects(store.getBytes(uri), { code: 'ERR_VALIDATION' }, uri);
      await assert.rejects(store.head(uri), { code: 'ERR_VALIDATION' }, uri);
      await assert.rejects(store.delete(uri), { code: 'ERR_VALIDATION' }, uri);
    }
    await assert.rejects(store.put('x/../y', Buffer.from('x')), { code: 'ERR_VALIDATION' });
  });

  test('a store URL that is not s3://bucket/prefix is a configuration error', () => {
    for (const url of ['https://bucket/prefix', 's3:///prefix', 'not a url']) {
      assert.throws(() => createBlobStore({ kind: 's3', url, endpoint: s3.endpoint }), { code: 'ERR_CONFIG' }, url);
    }
  });
});
