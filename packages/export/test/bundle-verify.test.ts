// SPDX-License-Identifier: Apache-2.0
// Offline verification of signed bundles: openssl accepts export.sig, a good bundle verifies as a
// file and as a directory, and every tampering names the file to distrust. Hostile archives
// (traversal, absolute names, links, too many or too large entries) are refused with ERR_EXPORT_009.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gzipSync, constants as zlibConstants, zstdCompressSync } from 'node:zlib';
import { StellaError } from '@stella/core';
import { scratchDir } from '@stella/testkit';
import { pack as tarPack } from 'tar-stream';
import { type BundleFile, openBundle, type VerifyReport, verifyBundle } from '../src/bundle/index.ts';
import { bundleFiles, testSigner, writeArchive, writeDir } from './bundle-fixtures/kit.ts';

const signer = testSigner();
const other = testSigner();

function failures(report: VerifyReport): { file: string; reason?: string }[] {
  return report.checks.filter((c) => !c.ok).map((c) => ({ file: c.file, reason: c.reason }));
}

function failedFiles(report: VerifyReport): string[] {
  return [...new Set(failures(report).map((f) => f.file))].sort();
}

function flipByte(dir: string, path: string, at = 10): void {
  const full = join(dir, ...path.split('/'));
  const bytes = readFileSync(full);
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(full, bytes);
}

describe('signatures/* as independent tools read them', () => {
  test('openssl verifies export.sig over export.json with export-center.pub', () => {
    const dir = writeDir(bundleFiles(signer));
    const sig = join(scratchDir(), 'export.sig.der');
    writeFileSync(sig, Buffer.from(readFileSync(join(dir, 'signatures/export.sig'), 'ascii').trim(), 'base64'));
    const out = execFileSync(
      'openssl',
      [
        'dgst',
        '-sha256',
        '-verify',
        join(dir, 'signatures/export-center.pub'),
        '-signature',
        sig,
        join(dir, 'export.json'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), 'Verified OK');
  });

  test('sha256sum -c accepts checksums.txt; the signature files are canonical JSON plus a newline', () => {
    const files = bundleFiles(signer);
    const dir = writeDir(files);
    const out = execFileSync('sha256sum', ['-c', 'checksums.txt'], { cwd: dir, encoding: 'utf8' });
    assert.deepEqual(out.trim().split('\n'), [
      'data/raw/advisories.jsonl: OK',
      'data/raw/vex.jsonl: OK',
      'export.json: OK',
      'provenance.json: OK',
    ]);
    const envelope = readFileSync(join(dir, 'signatures/export.dsse.json'), 'utf8');
    assert.ok(envelope.endsWith('}\n'));
    assert.deepEqual(Object.keys(JSON.parse(envelope)), ['payload', 'payloadType', 'signatures']);
    assert.deepEqual(
      files.map((f) => f.path),
      [
        'checksums.txt',
        'data/raw/advisories.jsonl',
        'data/raw/vex.jsonl',
        'export.json',
        'provenance.json',
        'signatures/export-center.pub',
        'signatures/export.dsse.json',
        'signatures/export.sig',
        'signatures/provenance.dsse.json',
      ],
    );
  });
});

describe('verifyBundle on a good bundle', () => {
  for (const codec of ['zstd', 'gzip', 'none'] as const) {
    test(`${codec} archive verifies with the bundled key, and the temporary extraction is removed`, async () => {
      const path = await writeArchive(bundleFiles(signer), codec);
      const report = await verifyBundle(path);
      assert.deepEqual(failures(report), []);
      assert.equal(report.ok, true);
      assert.equal(report.exportId, 'exp-test-0001');
      assert.equal(report.keyid, signer.keyid);
      assert.equal(report.trustedKey, 'bundled');
    });
  }

  test('an extracted directory verifies; with the publisher key given, trust is "given"', async () => {
    const dir = writeDir(bundleFiles(signer));
    const bundled = await verifyBundle(dir);
    assert.equal(bundled.ok, true);
    const given = await verifyBundle(dir, { publicKeyPem: signer.publicKeyPem });
    assert.equal(given.ok, true);
    assert.equal(given.trustedKey, 'given');
    const checked = new Set(given.checks.map((c) => c.file));
    for (const file of ['signatures/export.sig', 'signatures/export.dsse.json', 'signatures/provenance.dsse.json'])
      assert.ok(checked.has(file), `${file} is checked`);
  });

  test('openBundle extracts only the archive members into a fresh directory and cleans it up', async () => {
    const files = bundleFiles(signer);
    const opened = await openBundle(await writeArchive(files, 'zstd'));
    assert.equal(opened.format, 'tar+zstd');
    const listed = (readdirSync(opened.dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(opened.dir.length + 1))
      .sort();
    assert.deepEqual(listed, files.map((f) => f.path).sort());
    await opened.cleanup();
    assert.throws(() => readdirSync(opened.dir), /ENOENT/);
  });
});

describe('verifyBundle names the tampered file', () => {
  test('a flipped byte in a data file', async () => {
    const dir = writeDir(bundleFiles(signer));
    flipByte(dir, 'data/raw/vex.jsonl');
    const report = await verifyBundle(dir);
    assert.equal(report.ok, false);
    assert.deepEqual(failedFiles(report), ['data/raw/vex.jsonl']);
  });

  test('a flipped byte in export.json fails its checksum and both signatures over it', async () => {
    const dir = writeDir(bundleFiles(signer));
    flipByte(dir, 'export.json', 30);
    const report = await verifyBundle(dir);
    assert.equal(report.ok, false);
    assert.deepEqual(failedFiles(report), ['export.json', 'signatures/export.sig']);
    assert.ok(failures(report).some((f) => f.reason === 'export.json differs from the signed payload'));
  });

  test('a flipped byte inside a tar.zst member is caught after extraction', async () => {
    const files = bundleFiles(signer).map((f) =>
      f.path === 'data/raw/advisories.jsonl' ? { ...f, bytes: Buffer.from(f.bytes).fill(0x41, 5, 6) } : f,
    );
    const report = await verifyBundle(await writeArchive(files, 'zstd'));
    assert.deepEqual(failedFiles(report), ['data/raw/advisories.jsonl']);
  });

  test('export.sig swapped for a signature by another key', async () => {
    const files = bundleFiles(signer);
    const exportJson = files.find((f) => f.path === 'export.json')!.bytes;
    const swapped: BundleFile[] = files.map((f) =>
      f.path === 'signatures/export.sig'
        ? { ...f, bytes: Buffer.from(`${other.signBytes(exportJson).toString('base64')}\n`) }
        : f,
    );
    const report = await verifyBundle(writeDir(swapped));
    assert.equal(report.ok, false);
    assert.deepEqual(failures(report), [
      { file: 'signatures/export.sig', reason: `signature does not verify with key ${signer.keyid}` },
    ]);
  });

  test('a DSSE envelope signed by another key', async () => {
    const files = bundleFiles(signer);
    const provenance = files.find((f) => f.path === 'provenance.json')!.bytes;
    const envelope = other.signDsse('application/vnd.in-toto+json', provenance);
    const swapped = files.map((f) =>
      f.path === 'signatures/provenance.dsse.json' ? { ...f, bytes: Buffer.from(JSON.stringify(envelope)) } : f,
    );
    assert.deepEqual(failedFiles(await verifyBundle(writeDir(swapped))), ['signatures/provenance.dsse.json']);
  });

  test('a tampered provenance.json', async () => {
    const dir = writeDir(bundleFiles(signer));
    const path = join(dir, 'provenance.json');
    writeFileSync(path, readFileSync(path, 'utf8').replace('"tenant":"acme"', '"tenant":"evil"'));
    const report = await verifyBundle(dir);
    assert.equal(report.ok, false);
    assert.deepEqual(failedFiles(report), ['provenance.json']);
    assert.ok(failures(report).some((f) => f.reason === 'provenance.json differs from the signed payload'));
  });

  test('a consistent re-hash of a data file still fails: checksums.txt and the signed manifest disagree', async () => {
    const files = bundleFiles(signer);
    const dir = writeDir(files);
    flipByte(dir, 'data/raw/advisories.jsonl');
    const fresh = execFileSync('sha256sum', ['data/raw/advisories.jsonl'], { cwd: dir, encoding: 'utf8' });
    const checksums = readFileSync(join(dir, 'checksums.txt'), 'utf8').replace(/^.*advisories.jsonl\n/m, fresh);
    writeFileSync(join(dir, 'checksums.txt'), checksums);
    const report = await verifyBundle(dir);
    assert.deepEqual(failedFiles(report), ['data/raw/advisories.jsonl']);
    assert.ok(report.checks.some((c) => !c.ok && c.check.startsWith('export.json contents[]')));
  });

  test('an extra file that checksums.txt does not list', async () => {
    const dir = writeDir([...bundleFiles(signer), { path: 'data/raw/extra.jsonl', bytes: Buffer.from('{}\n') }]);
    const report = await verifyBundle(dir);
    assert.deepEqual(failures(report), [
      { file: 'data/raw/extra.jsonl', reason: 'file is not listed in checksums.txt' },
    ]);
  });

  test('a symlink in an extracted directory is not followed', async () => {
    const dir = writeDir(bundleFiles(signer));
    const target = join(dir, 'data/raw/vex.jsonl');
    const real = join(scratchDir(), 'vex.jsonl');
    renameSync(target, real);
    symlinkSync(real, target);
    const report = await verifyBundle(dir);
    assert.deepEqual(failedFiles(report), ['data/raw/vex.jsonl']);
    assert.ok(failures(report).some((f) => f.reason === 'not a regular file (link or device)'));
  });

  test('a missing data file', async () => {
    const files = bundleFiles(signer).filter((f) => f.path !== 'data/raw/vex.jsonl');
    assert.deepEqual(failedFiles(await verifyBundle(writeDir(files))), ['data/raw/vex.jsonl']);
  });

  test('a different trusted key fails every signature and reports that the bundled key differs', async () => {
    const report = await verifyBundle(writeDir(bundleFiles(signer)), { publicKeyPem: other.publicKeyPem });
    assert.equal(report.ok, false);
    assert.equal(report.trustedKey, 'given');
    assert.equal(report.keyid, other.keyid);
    assert.deepEqual(failedFiles(report), [
      'signatures/export.dsse.json',
      'signatures/export.sig',
      'signatures/provenance.dsse.json',
    ]);
    const note = report.checks.find((c) => c.file === 'signatures/export-center.pub');
    assert.match(note?.reason ?? '', new RegExp(`bundled key ${signer.keyid} differs`));
  });

  test('a bundle whose own key was replaced verifies against itself only: the given key catches it', async () => {
    // An attacker re-signs everything with their key and ships it as export-center.pub.
    const forged = bundleFiles(other);
    assert.equal((await verifyBundle(writeDir(forged))).ok, true);
    const pinned = await verifyBundle(writeDir(forged), { publicKeyPem: signer.publicKeyPem });
    assert.equal(pinned.ok, false);
  });
});

/** A raw tar built without the writer's checks, as an attacker would. */
async function hostileTar(
  entries: {
    name: string;
    type?: 'file' | 'symlink' | 'directory' | 'link';
    body?: string;
    linkname?: string;
    size?: number;
  }[],
): Promise<Buffer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  const collected = new Promise<void>((resolve, reject) => {
    pack.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, type }, Buffer.from(e.body ?? 'x'));
    else pack.entry({ name: e.name, type, ...(e.linkname ? { linkname: e.linkname } : {}) });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

async function refusal(archive: Buffer, limits = {}): Promise<StellaError> {
  const path = join(scratchDir('stella-bundle-hostile-'), 'bundle.tar.zst');
  writeFileSync(path, archive);
  try {
    await openBundle(path, limits);
  } catch (error) {
    assert.ok(error instanceof StellaError, `a StellaError, got ${(error as Error).message}`);
    assert.equal(error.code, 'ERR_EXPORT_009');
    assert.equal(error.exit, 3);
    return error;
  }
  assert.fail('the archive was accepted');
}

describe('hostile archives are refused with ERR_EXPORT_009', () => {
  const zstd = (b: Buffer) => zstdCompressSync(b, { params: { [zlibConstants.ZSTD_c_compressionLevel]: 3 } });

  test('a ../ path', async () => {
    const error = await refusal(zstd(await hostileTar([{ name: '../evil.txt' }])));
    assert.match(error.message, /\.\.\/evil\.txt: refused \('\.\.' segment\)/);
  });

  test('a nested ../ path in a gzip archive', async () => {
    const error = await refusal(gzipSync(await hostileTar([{ name: 'data/../../evil.txt' }])));
    assert.match(error.message, /data\/\.\.\/\.\.\/evil\.txt/);
  });

  test('an absolute path', async () => {
    const error = await refusal(await hostileTar([{ name: '/etc/evil' }]));
    assert.match(error.message, /\/etc\/evil: refused \(absolute path\)/);
  });

  test('a symlink, a hard link', async () => {
    let error = await refusal(await hostileTar([{ name: 'export.json', type: 'symlink', linkname: '/etc/passwd' }]));
    assert.match(error.message, /export\.json: refused \(symlink entries are not allowed/);
    error = await refusal(await hostileTar([{ name: 'a', type: 'link', linkname: '/etc/passwd' }]));
    assert.match(error.message, /a: refused \(link entries/);
  });

  test('a name that appears twice', async () => {
    const error = await refusal(await hostileTar([{ name: 'export.json' }, { name: 'export.json', body: 'evil' }]));
    assert.match(error.message, /export\.json: refused \(appears twice/);
  });

  test('more entries than allowed', async () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ name: `data/f${i}` }));
    const error = await refusal(zstd(await hostileTar(many)), { maxEntries: 10 });
    assert.match(error.message, /more than 10 entries/);
    assert.equal(error.details?.entry, 'data/f10');
  });

  test('an entry over the size limit, and files over the total limit', async () => {
    let error = await refusal(await hostileTar([{ name: 'data/big', body: 'x'.repeat(2000) }]), {
      maxEntryBytes: 1000,
    });
    assert.match(error.message, /data\/big: refused \(2000 bytes, over the 1000-byte entry limit\)/);
    const two = [
      { name: 'a', body: 'x'.repeat(600) },
      { name: 'b', body: 'x'.repeat(600) },
    ];
    error = await refusal(zstd(await hostileTar(two)), { maxTotalBytes: 1000 });
    assert.match(error.message, /b: refused \(archive files exceed 1000 bytes/);
  });

  test('a decompression bomb of empty tar blocks stops at the raw byte cap', async () => {
    const zeros = zstd(Buffer.alloc(64 * 1024 * 1024));
    const error = await refusal(zeros, { maxEntries: 10, maxTotalBytes: 1024 * 1024 });
    assert.match(error.message, /decompressed archive exceeds/);
  });

  test('verifyBundle refuses the same archives; a non-bundle file is refused too', async () => {
    const path = join(scratchDir(), 'evil.tar');
    writeFileSync(path, await hostileTar([{ name: '../evil.txt' }]));
    await assert.rejects(verifyBundle(path), { code: 'ERR_EXPORT_009' });
    writeFileSync(path, 'hello');
    await assert.rejects(verifyBundle(path), { code: 'ERR_EXPORT_009', message: /not a bundle/ });
  });
});
