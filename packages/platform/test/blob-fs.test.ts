import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sha256Digest, sha256Hex } from '@stella/core';
import { scratchDir, waitFor } from '@stella/testkit';
import { type BlobStore, createBlobStore, formatCasUri, parseCasUri } from '../src/blob/index.ts';
import { collect, describeBlobStoreContract, hashStream } from './blob-contract.ts';

const MiB = 1024 * 1024;

function stagedFiles(root: string): string[] {
  try {
    return readdirSync(join(root, '.tmp'));
  } catch {
    return [];
  }
}

function objectFile(root: string, uri: string): string {
  const { namespace, hex } = parseCasUri(uri);
  return join(root, ...namespace.split('/'), hex.slice(0, 2), hex);
}

describe('cas:// URIs', () => {
  const hex = sha256Hex('x');

  test('format and parse round-trip for nested namespaces, and sha256: is accepted on parse', () => {
    for (const namespace of ['sbom', 'reachability/graphs', 'a/b.c/d_e-f', '0']) {
      const uri = formatCasUri(namespace, hex);
      assert.equal(uri, `cas://${namespace}/${hex}`);
      assert.deepEqual(parseCasUri(uri), { namespace, hex, digest: `sha256:${hex}` });
      assert.deepEqual(parseCasUri(`cas://${namespace}/sha256:${hex}`), parseCasUri(uri));
    }
  });

  test('malformed URIs are rejected with ERR_VALIDATION', () => {
    const bad = [
      `cas://../x/${hex}`,
      `cas://x/../y/${hex}`,
      `cas://x/..y/${hex}`,
      `cas://./${hex}`,
      `cas://.tmp/${hex}`,
      `cas:///${hex}`,
      `cas://x//y/${hex}`,
      `cas://x/${hex}/`,
      `cas://${hex}`,
      `cas://Upper/${hex}`,
      `cas://x y/${hex}`,
      `cas://x/${hex.slice(1)}`,
      `cas://x/${hex}0`,
      `cas://x/${hex.toUpperCase()}`,
      `cas://x/sha512:${hex}`,
      `s3://x/${hex}`,
      `x/${hex}`,
      '',
    ];
    for (const uri of bad) {
      assert.throws(() => parseCasUri(uri), { code: 'ERR_VALIDATION' }, uri);
    }
    assert.throws(() => formatCasUri('ok', 'A'.repeat(64)), { code: 'ERR_VALIDATION' });
    assert.throws(() => formatCasUri('x/../y', hex), { code: 'ERR_VALIDATION' });
  });
});

describeBlobStoreContract('filesystem', async () => {
  const root = scratchDir('stella-blob-fs-');
  return {
    store: createBlobStore({ kind: 'fs', root }),
    corrupt: async (uri, bytes) => writeFileSync(objectFile(root, uri), bytes),
    leftovers: async () => stagedFiles(root),
    cleanup: async () => {},
  };
});

describe('filesystem blob store layout and streaming', () => {
  const root = scratchDir('stella-blob-fs-');
  const store: BlobStore = createBlobStore({ kind: 'fs', root });

  test('put stores bytes at <root>/<namespace>/<hh>/<hex> and reads them back verified', async () => {
    const body = Buffer.from('an SBOM, say');
    const hex = sha256Hex(body);
    const result = await store.put('sbom/cyclonedx', body);
    assert.deepEqual(result, {
      uri: `cas://sbom/cyclonedx/${hex}`,
      digest: sha256Digest(body),
      size: body.length,
      created: true,
    });
    assert.deepEqual(readFileSync(join(root, 'sbom', 'cyclonedx', hex.slice(0, 2), hex)), body);
    assert.deepEqual(await store.getBytes(result.uri), body);
    assert.equal((await store.head(result.uri))?.size, body.length);
    assert.deepEqual(await hashStream(await store.get(result.uri)), { hex, size: body.length });
    assert.deepEqual(stagedFiles(root), []);
  });

  test('a 20 MiB body is streamed to disk, hidden until complete, and digested like crypto.createHash', async () => {
    const chunkCount = 20;
    const chunks = Array.from({ length: chunkCount }, () => randomBytes(MiB));
    const expected = createHash('sha256');
    for (const chunk of chunks) expected.update(chunk);
    const expectedHex = expected.digest('hex');
    const uri = formatCasUri('large', expectedHex);
    let checkedMidway = false;
    async function* body() {
      for (const [index, chunk] of chunks.entries()) {
        yield chunk;
        if (index === chunkCount / 2) {
          // Earlier chunks must already be on disk in staging while the body is still being produced,
          // and the object must not be visible yet.
          await waitFor('staged bytes on disk', () =>
            stagedFiles(root).some((name) => statSync(join(root, '.tmp', name)).size >= 4 * MiB),
          );
          assert.equal(await store.head(uri), undefined);
          assert.deepEqual(await collect(store.list('large')), []);
          await assert.rejects(store.getBytes(uri), { code: 'ERR_CAS_NOT_FOUND' });
          checkedMidway = true;
        }
      }
    }
    const result = await store.put('large', body(), { expectedDigest: `sha256:${expectedHex}` });
    assert.equal(checkedMidway, true);
    assert.deepEqual(result, { uri, digest: `sha256:${expectedHex}`, size: chunkCount * MiB, created: true });
    assert.deepEqual(await hashStream(await store.get(uri)), { hex: expectedHex, size: chunkCount * MiB });
    assert.deepEqual(stagedFiles(root), []);
  });

  test('the staging directory is not a namespace', async () => {
    await assert.rejects(store.put('.tmp', Buffer.from('x')), { code: 'ERR_VALIDATION' });
  });
});
