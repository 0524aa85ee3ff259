// SPDX-License-Identifier: Apache-2.0
// The bbolt writer checked by an independent implementation: Debian's Go bbolt (packages/testkit/tools/boltcheck)
// opens each database, runs its consistency check and dumps every bucket and key; that dump must equal
// our reader's. Also: byte-identical output for equal input, refusal of corrupt files, and random trees.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runGoTool, scratchDir } from '@stella/testkit';
import fc from 'fast-check';
import { type BoltBucket, BoltFormatError, boltBucket, boltDump, openBolt, writeBolt } from '../src/bolt/index.ts';

const dir = scratchDir('stella-bolt-');

async function goDump(file: string): Promise<string[]> {
  const { stdout, stderr, code } = await runGoTool('boltcheck', [file]);
  if (code !== 0) throw new Error(`boltcheck ${file} failed: ${stderr || `exit code ${code}`}`);
  return stdout === '' ? [] : stdout.trimEnd().split('\n');
}

function ourDump(file: string): string[] {
  const reader = openBolt(file);
  try {
    return boltDump(reader);
  } finally {
    reader.close();
  }
}

let counter = 0;
async function written(root: BoltBucket): Promise<string> {
  const file = join(dir, `db-${counter++}.db`);
  await writeBolt(root, file);
  return file;
}

/** Writes `root`, then asserts Go's check passes and both dumps agree; returns the file and dump. */
async function agreeWithGo(root: BoltBucket): Promise<{ file: string; dump: string[] }> {
  const file = await written(root);
  const dump = ourDump(file);
  assert.deepEqual(await goDump(file), dump);
  return { file, dump };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function trivyShaped(): BoltBucket {
  const advisory = { PatchedVersions: ['7.5.2', '6.3.1', '5.7.2'], VulnerableVersions: ['>=7.0.0, <7.5.2'] };
  return boltBucket([
    ['npm::GitHub Security Advisory npm', boltBucket([['semver', boltBucket([['CVE-2022-25883', json(advisory)]])]])],
    ['vulnerability', boltBucket([['CVE-2022-25883', json({ Title: 'semver ReDoS', Severity: 'MEDIUM' })]])],
    [
      'data-source',
      boltBucket([['npm::GitHub Security Advisory npm', json({ ID: 'ghsa', Name: 'GitHub Security Advisory npm' })]]),
    ],
  ]);
}

describe('bbolt writer checked by Go bbolt: bucket shapes', () => {
  test('an empty root is four pages: metas, freelist, one empty leaf', async () => {
    const { file, dump } = await agreeWithGo(boltBucket());
    assert.deepEqual(dump, []);
    assert.equal(statSync(file).size, 4 * 4096);
  });

  test('one bucket with a few keys, read back by get', async () => {
    const { file, dump } = await agreeWithGo(
      boltBucket([
        [
          'b',
          boltBucket([
            ['k1', Buffer.from('v1')],
            ['k0', Buffer.alloc(0)],
          ]),
        ],
      ]),
    );
    assert.equal(dump.length, 3);
    const reader = openBolt(file);
    assert.equal(reader.get(['b'], 'k1')?.toString(), 'v1');
    assert.equal(reader.get(['b'], 'k0')?.length, 0);
    assert.equal(reader.get(['b'], 'k2'), undefined);
    assert.equal(reader.get(['nope'], 'k1'), undefined);
    reader.close();
  });

  test('nested buckets, inline and page-backed, with sequences', async () => {
    const leafy = boltBucket(Array.from({ length: 200 }, (_, i) => [`key-${i}`, Buffer.from(`value-${i}`)] as const));
    const root = boltBucket([
      [
        'a',
        boltBucket([
          ['b', boltBucket([['c', boltBucket([['deep', Buffer.from('x')]])]])],
          ['big', leafy],
        ]),
      ],
      ['empty', boltBucket()],
    ]);
    root.entries.set('seq', { entries: new Map(), sequence: 42n });
    const { file, dump } = await agreeWithGo(root);
    assert.ok(dump.includes(`bucket /${Buffer.from('empty').toString('hex')}`));
    const reader = openBolt(file);
    assert.equal(reader.get(['a', 'b', 'c'], 'deep')?.toString(), 'x');
    assert.equal(reader.get(['a', 'big'], 'key-199')?.toString(), 'value-199');
    assert.ok(reader.hasBucket(['seq']));
    reader.close();
  });
});

describe('bbolt writer checked by Go bbolt: sizes and byte order', () => {
  test('10,000 keys split into many leaves under branch pages, every key found by get', async () => {
    const entries = Array.from(
      { length: 10_000 },
      (_, i) => [`pkg-${i}`, json({ i, pad: 'x'.repeat(i % 50) })] as const,
    );
    const { file, dump } = await agreeWithGo(boltBucket([['many', boltBucket(entries)]]));
    assert.equal(dump.length, 10_001);
    const reader = openBolt(file);
    assert.ok(reader.meta.pageCount > 150, `expected many pages, got ${reader.meta.pageCount}`);
    for (const [key, value] of entries.filter((_, i) => i % 97 === 0)) {
      assert.deepEqual(reader.get(['many'], key), value);
    }
    reader.close();
  });

  test('a 5 MB value goes to overflow pages between small keys', async () => {
    const big = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(Math.imul(i, 0x9e3779b1) >>> 0, i);
    const root = boltBucket([
      [
        'blob',
        boltBucket([
          ['a', Buffer.from('1')],
          ['big', big],
          ['z', Buffer.from('2')],
        ]),
      ],
    ]);
    const { file, dump } = await agreeWithGo(root);
    assert.ok(dump.some((line) => line.endsWith(sha256(big))));
    const reader = openBolt(file);
    assert.deepEqual(reader.get(['blob'], 'big'), big);
    assert.ok(statSync(file).size > big.length);
    reader.close();
  });

  test('a database over 100 MB is streamed to disk, never held whole in memory', async () => {
    // 105 keys share one 1 MB buffer, so the input is small while the file is not.
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    const entries = Array.from({ length: 105 }, (_, i) => [`layer-${String(i).padStart(3, '0')}`, chunk] as const);
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const file = join(dir, 'large.db');
    const { bytes } = await writeBolt(boltBucket([['large', boltBucket(entries)]]), file);
    const growth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    assert.ok(bytes > 100 * 1024 * 1024 && statSync(file).size === bytes);
    assert.ok(growth < 48 * 1024 * 1024, `peak memory grew by ${growth} bytes while writing ${bytes}`);
    assert.deepEqual(await goDump(file), ourDump(file));
  });

  test('binary keys with odd bytes sort byte-wise, not by JS string order', async () => {
    const keys = [
      Buffer.from([0x00]),
      Buffer.from([0xff, 0xfe]),
      Buffer.from([0x7f]),
      Buffer.from([0x80]),
      Buffer.from('é'),
      Buffer.from('\u{1F600}'),
      Buffer.from('Z'),
      Buffer.from([0x00, 0x00]),
    ];
    const bucket = boltBucket(keys.map((k, i) => [k, Buffer.from([i])] as const));
    bucket.entries.set('\uFFFD', Buffer.from('s'));
    const { dump } = await agreeWithGo(boltBucket([[Buffer.from([0xde, 0xad]), bucket]]));
    const keyHex = dump.slice(1).map((line) => line.split(' ')[2]!);
    assert.deepEqual(
      keyHex,
      [...keyHex].sort((a, b) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))),
    );
  });
});

describe('bbolt writer checked by Go bbolt: Trivy-shaped data, determinism', () => {
  test('trivy-shaped database: Trivy lookups resolve', async () => {
    const { file, dump } = await agreeWithGo(trivyShaped());
    assert.equal(dump.filter((line) => line.startsWith('bucket')).length, 4);
    assert.equal(dump.length, 7);
    const reader = openBolt(file);
    const advisory = reader.get(['npm::GitHub Security Advisory npm', 'semver'], 'CVE-2022-25883');
    assert.deepEqual(JSON.parse(advisory!.toString()).PatchedVersions, ['7.5.2', '6.3.1', '5.7.2']);
    assert.equal(JSON.parse(reader.get(['vulnerability'], 'CVE-2022-25883')!.toString()).Severity, 'MEDIUM');
    reader.close();
  });

  test('the same input twice gives identical bytes', async () => {
    const input = () => {
      const root = trivyShaped();
      const many = Array.from({ length: 2000 }, (_, i) => [`k${i}`, Buffer.from(String(i))] as const);
      root.entries.set('extra', boltBucket([...many, ['large', Buffer.alloc(10_000, 1)]]));
      return root;
    };
    const first = readFileSync(await written(input()));
    const second = readFileSync(await written(input()));
    assert.equal(sha256(first), sha256(second));
  });
});

describe('bbolt writer checked by Go bbolt: random trees', () => {
  test('random bucket trees agree with Go (a few dozen runs)', async () => {
    await fc.assert(
      fc.asyncProperty(rootArbitrary(), async (root) => {
        await agreeWithGo(root);
      }),
      { numRuns: 30 },
    );
  });
});

describe('bbolt reader', () => {
  test('random bucket trees round-trip through writer and reader, byte-identical when written twice', async () => {
    await fc.assert(
      fc.asyncProperty(rootArbitrary(), async (root) => {
        const file = await written(root);
        const reader = openBolt(file);
        try {
          assert.deepEqual([...reader.walk()].map(plain), expectedWalk(root, []));
          assert.ok(readFileSync(file).equals(readFileSync(await written(root))), 'same tree, same bytes');
        } finally {
          reader.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  test('refuses a corrupted meta checksum on both metas, falls back when one survives', async () => {
    const file = await written(trivyShaped());
    const bytes = readFileSync(file);
    bytes[16 + 20] = (bytes[16 + 20]! + 1) & 0xff;
    writeFileSync(file, bytes);
    assert.equal(ourDump(file).length, 7, 'meta 1 still valid');
    bytes[4096 + 16 + 20] = (bytes[4096 + 16 + 20]! + 1) & 0xff;
    writeFileSync(file, bytes);
    assert.throws(
      () => openBolt(file),
      (error: Error) => {
        assert.ok(error instanceof BoltFormatError);
        assert.match(error.message, /meta 0: checksum mismatch; meta 1: checksum mismatch/);
        return true;
      },
    );
  });

  test('refuses a truncated file, a non-bbolt file and a page pointing to itself', async () => {
    const file = await written(
      boltBucket([['many', boltBucket(Array.from({ length: 500 }, (_, i) => [`k${i}`, Buffer.alloc(20)] as const))]]),
    );
    const cyclic = join(dir, 'cyclic.db');
    const bytes = readFileSync(file);
    const reader = openBolt(file);
    // Pages are written children first: the bucket's branch page comes just before the root leaf.
    const rootPage = reader.meta.root - 1;
    reader.close();
    // Point the branch page's first child at itself.
    const rootAt = rootPage * 4096;
    assert.equal(bytes.readUInt16LE(rootAt + 8), 0x01);
    bytes.writeBigUInt64LE(BigInt(rootPage), rootAt + 16 + 8);
    writeFileSync(cyclic, bytes);
    assert.throws(() => ourDump(cyclic), /referenced twice/);
    truncateSync(file, statSync(file).size - 4096);
    assert.throws(() => openBolt(file), /truncated bbolt file/);
    const foreign = join(dir, 'foreign.db');
    writeFileSync(foreign, Buffer.alloc(8192, 7));
    assert.throws(() => openBolt(foreign), /bad magic/);
  });

  test('refuses values at the root, empty keys and duplicate key encodings', async () => {
    await assert.rejects(writeBolt(boltBucket([['k', Buffer.from('v')]]), join(dir, 'x.db')), /only buckets/);
    await assert.rejects(writeBolt(boltBucket([['', boltBucket()]]), join(dir, 'x.db')), /must not be empty/);
    const duplicate = boltBucket([
      [
        'b',
        boltBucket([
          ['k', Buffer.from('1')],
          [Buffer.from('k'), Buffer.from('2')],
        ]),
      ],
    ]);
    await assert.rejects(writeBolt(duplicate, join(dir, 'x.db')), /duplicate bbolt key 6b/);
  });
});

type Walked = { path: string[]; key: string; value?: string; bucket: boolean };

function plain(entry: { path: Buffer[]; key: Buffer; value?: Buffer; bucket: boolean }): Walked {
  return {
    path: entry.path.map((p) => p.toString('hex')),
    key: entry.key.toString('hex'),
    bucket: entry.bucket,
    ...(entry.value ? { value: entry.value.toString('hex') } : {}),
  };
}

/** The walk the reader must produce for `bucket`: depth-first, keys in byte order. */
function expectedWalk(bucket: BoltBucket, path: string[]): Walked[] {
  const sorted = [...bucket.entries].map(([k, v]) => [Buffer.from(k as Uint8Array), v] as const);
  sorted.sort((a, b) => Buffer.compare(a[0], b[0]));
  return sorted.flatMap(([key, value]) => {
    const hex = key.toString('hex');
    if (value instanceof Uint8Array)
      return [{ path, key: hex, bucket: false, value: Buffer.from(value).toString('hex') }];
    return [{ path, key: hex, bucket: true }, ...expectedWalk(value, [...path, hex])];
  });
}

/** Random trees: byte keys (unique by content), values up to a page and a half, depth ≤ 3. */
function rootArbitrary(): fc.Arbitrary<BoltBucket> {
  const key = fc.uint8Array({ minLength: 1, maxLength: 40 });
  const value = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 6000 }));
  const { tree } = fc.letrec<{ tree: BoltBucket; node: Uint8Array | BoltBucket }>((tie) => ({
    tree: fc
      .uniqueArray(fc.tuple(key, tie('node')), {
        maxLength: 30,
        selector: ([k]) => Buffer.from(k).toString('hex'),
      })
      .map((entries) => ({ entries: new Map<Uint8Array, Uint8Array | BoltBucket>(entries) })),
    node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, value, tie('tree')),
  }));
  return fc
    .uniqueArray(fc.tuple(key, tree), { maxLength: 6, selector: ([k]) => Buffer.from(k).toString('hex') })
    .map((entries) => ({ entries: new Map<Uint8Array, BoltBucket>(entries) }));
}
