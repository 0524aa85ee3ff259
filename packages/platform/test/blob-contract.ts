// The BlobStore port's contract, run against every backend by its own test file (blob-fs, blob-s3).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { sha256Digest, sha256Hex } from '@stella/core';
import { type BlobStore, formatCasUri } from '../src/blob/index.ts';

export interface BlobContractHarness {
  store: BlobStore;
  /** Replaces the stored bytes of an object behind the store's back. */
  corrupt(uri: string, bytes: Buffer): Promise<void>;
  /** Temporary or partial files a refused put must not leave behind. */
  leftovers(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export async function hashStream(stream: AsyncIterable<Uint8Array>): Promise<{ hex: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { hex: hash.digest('hex'), size };
}

export async function collect(uris: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const uri of uris) all.push(uri);
  return all;
}

export function describeBlobStoreContract(label: string, makeHarness: () => Promise<BlobContractHarness>): void {
  describe(`BlobStore contract: ${label}`, () => {
    let h: BlobContractHarness;
    let store: BlobStore;
    before(async () => {
      h = await makeHarness();
      store = h.store;
    });
    after(() => h.cleanup());

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

    test('expectedDigest accepts sha256:<hex> and bare hex; a malformed one is a validation error', async () => {
      const body = Buffer.from('expected');
      assert.equal((await store.put('expect', body, { expectedDigest: sha256Digest(body) })).created, true);
      assert.equal((await store.put('expect', body, { expectedDigest: sha256Hex(body) })).created, false);
      await assert.rejects(store.put('expect', Buffer.from('x'), { expectedDigest: 'sha256:abc' }), {
        code: 'ERR_VALIDATION',
      });
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
      assert.deepEqual(await h.leftovers(), []);
    });

    test('maxBytes is enforced while streaming and leaves nothing behind', async () => {
      const chunks = [Buffer.alloc(600, 1), Buffer.alloc(600, 2)];
      await assert.rejects(store.put('capped', Readable.from(chunks), { maxBytes: 1000 }), {
        code: 'ERR_BODY_TOO_LARGE',
      });
      assert.deepEqual(await collect(store.list('capped')), []);
      assert.deepEqual(await h.leftovers(), []);
      const atLimit = await store.put('capped', Readable.from(chunks), { maxBytes: 1200 });
      assert.equal(atLimit.size, 1200);
    });

    test('bytes corrupted at rest fail getBytes and error the get() stream; a new put repairs them', async () => {
      const body = Buffer.from('evidence that must not change');
      const { uri } = await store.put('corrupt', body);
      const tampered = Buffer.from(body);
      tampered[0] = tampered[0]! ^ 0xff;
      await h.corrupt(uri, tampered);

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

    test('getRange streams exactly the inclusive byte range', async () => {
      const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));
      const { uri } = await store.put('ranged', bytes);
      const read = async (start: number, end: number) => {
        const chunks: Buffer[] = [];
        for await (const chunk of await store.getRange(uri, start, end)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      };
      assert.deepEqual(await read(10, 99), bytes.subarray(10, 100));
      assert.deepEqual(await read(4095, 4095), bytes.subarray(4095));
      assert.deepEqual(await read(0, 4095), bytes);
    });

    test('missing objects: get and getBytes throw ERR_CAS_NOT_FOUND, head is undefined, delete is false', async () => {
      const uri = formatCasUri('absent', sha256Hex('never stored'));
      await assert.rejects(store.getRange(uri, 0, 1), { code: 'ERR_CAS_NOT_FOUND' });
      await assert.rejects(store.get(uri), { code: 'ERR_CAS_NOT_FOUND' });
      await assert.rejects(store.getBytes(uri), { code: 'ERR_CAS_NOT_FOUND' });
      assert.equal(await store.head(uri), undefined);
      assert.equal(await store.delete(uri), false);
    });

    test('head gives the size and the time of the last write', async () => {
      const before = Date.now();
      const { uri } = await store.put('headed', Buffer.from('sized and dated'));
      const head = await store.head(uri);
      assert.equal(head?.size, 'sized and dated'.length);
      assert.ok(head.modified instanceof Date);
      // Whole seconds on S3 (Last-Modified is an HTTP date); a minute covers clock skew between store and test.
      assert.ok(Math.abs(head.modified.getTime() - before) < 60_000, head.modified.toISOString());
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
      await assert.rejects(collect(store.list('a//b')), { code: 'ERR_VALIDATION' });
    });
  });
}
