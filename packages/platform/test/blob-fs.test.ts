import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sha256Digest, sha256Hex } from '@stella/core';
import { type BlobStore, createBlobStore, formatCasUri, parseCasUri } from '../src/blob/index.ts';

const MiB = 1024 * 1024;

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

async function pollUntil(check: () => boolean, what: string, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function stagedFiles(root: string): string[] {
  try {
    return readdirSync(join(root, '.tmp'));
  } catch {
    return [];
  }
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

describe('filesystem blob store', () => {
  let root: string;
  let store: BlobStore;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'stella-blob-fs-'));
    store = createBlobStore({ kind: 'fs', root });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

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
    assert.deepEqual(await store.head(result.uri), { size: body.length });
    assert.deepEqual(await hashStream(await store.get(result.uri)), { hex, size: body.length });
    assert.deepEqual(stagedFiles(root), []);
  });

  test('putting the same content again is idempotent', async () => {
    const body = Buffer.from('same bytes twice');
    const first = await store.put('idem', body);
    const second = await store.put('idem', Readable.from([body]));
    assert.equal(first.created, true);
    assert.deepEqual(second, { ...first, created: false });
    assert.deepEqual(await collect(store.list('idem')), [first.uri]);
  });

  test('streams and async iterables hash to the same digest as the bytes', async () => {
    const parts = [Buffer.from('part one, '), Buffer.from('part two, '), Buffer.from('part three')];
    const whole = Buffer.concat(parts);
    async function* generated() {
      yield* parts;
    }
    const fromStream = await store.put('forms', Readable.from(parts));
    const fromIterable = await store.put('forms', generated());
    assert.equal(fromStream.digest, sha256Digest(whole));
    assert.equal(fromIterable.digest, sha256Digest(whole));
    assert.equal(fromStream.size, whole.length);
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
          await pollUntil(
            () => stagedFiles(root).some((name) => statSync(join(root, '.tmp', name)).size >= 4 * MiB),
            'staged bytes on disk',
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

  test('expectedDigest accepts sha256:<hex> and bare hex', async () => {
    const body = Buffer.from('expected');
    assert.equal((await store.put('expect', body, { expectedDigest: sha256Digest(body) })).created, true);
    assert.equal((await store.put('expect', body, { expectedDigest: sha256Hex(body) })).created, false);
  });

  test('an expectedDigest mismatch throws ERR_CAS_DIGEST_MISMATCH and leaves nothing behind', async () => {
    const body = Buffer.from('what was sent');
    const claimed = sha256Hex('what was promised');
    await assert.rejects(store.put('mismatch', Readable.from([body]), { expectedDigest: `sha256:${claimed}` }), {
      code: 'ERR_CAS_DIGEST_MISMATCH',
    });
    assert.deepEqual(await collect(store.list('mismatch')), []);
    assert.equal(await store.head(formatCasUri('mismatch', sha256Hex(body))), undefined);
    assert.equal(await store.head(formatCasUri('mismatch', claimed)), undefined);
    assert.deepEqual(stagedFiles(root), []);
  });

  test('a malformed expectedDigest is a validation error', async () => {
    await assert.rejects(store.put('expect', Buffer.from('x'), { expectedDigest: 'sha256:abc' }), {
      code: 'ERR_VALIDATION',
    });
  });

  test('maxBytes is enforced while streaming and leaves nothing behind', async () => {
    const chunks = [Buffer.alloc(600, 1), Buffer.alloc(600, 2)];
    await assert.rejects(store.put('capped', Readable.from(chunks), { maxBytes: 1000 }), {
      code: 'ERR_BODY_TOO_LARGE',
    });
    assert.deepEqual(await collect(store.list('capped')), []);
    assert.deepEqual(stagedFiles(root), []);
    const atLimit = await store.put('capped', Readable.from(chunks), { maxBytes: 1200 });
    assert.equal(atLimit.size, 1200);
  });

  test('bytes corrupted at rest fail getBytes and error the get() stream; a new put repairs them', async () => {
    const body = Buffer.from('evidence that must not change');
    const { uri } = await store.put('corrupt', body);
    const { hex } = parseCasUri(uri);
    const file = join(root, 'corrupt', hex.slice(0, 2), hex);
    const tampered = Buffer.from(body);
    tampered[0] = tampered[0]! ^ 0xff;
    writeFileSync(file, tampered);

    await assert.rejects(store.getBytes(uri), { code: 'ERR_CAS_DIGEST_MISMATCH' });
    await assert.rejects(hashStream(await store.get(uri)), { code: 'ERR_CAS_DIGEST_MISMATCH' });

    const repaired = await store.put('corrupt', body);
    assert.equal(repaired.created, true);
    assert.deepEqual(await store.getBytes(uri), body);
  });

  test('getBytes refuses objects over its maxBytes', async () => {
    const { uri } = await store.put('bounded-read', Buffer.alloc(2048, 7));
    await assert.rejects(store.getBytes(uri, 2047), { code: 'ERR_BODY_TOO_LARGE' });
    assert.equal((await store.getBytes(uri, 2048)).length, 2048);
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
    assert.deepEqual(await collect(store.list('deletable')), []);
  });

  test('list yields only the namespace’s own objects, not nested namespaces’', async () => {
    const outer = await Promise.all(['a', 'b', 'c'].map((s) => store.put('reachability', Buffer.from(s))));
    const inner = await store.put('reachability/graphs', Buffer.from('graph'));
    assert.deepEqual(await collect(store.list('reachability')), outer.map((r) => r.uri).sort());
    assert.deepEqual(await collect(store.list('reachability/graphs')), [inner.uri]);
    assert.deepEqual(await collect(store.list('never-used')), []);
  });

  test('malformed URIs and namespaces are validation errors on every operation', async () => {
    const hex = sha256Hex('x');
    for (const uri of [`cas://../x/${hex}`, `cas://x/${hex.slice(2)}`, `file:///etc/${hex}`]) {
      await assert.rejects(store.get(uri), { code: 'ERR_VALIDATION' }, uri);
      await assert.rejects(store.getBytes(uri), { code: 'ERR_VALIDATION' }, uri);
      await assert.rejects(store.head(uri), { code: 'ERR_VALIDATION' }, uri);
      await assert.rejects(store.delete(uri), { code: 'ERR_VALIDATION' }, uri);
    }
    await assert.rejects(store.put('../escape', Buffer.from('x')), { code: 'ERR_VALIDATION' });
    await assert.rejects(store.put('.tmp', Buffer.from('x')), { code: 'ERR_VALIDATION' });
    await assert.rejects(collect(store.list('a//b')), { code: 'ERR_VALIDATION' });
  });
});
