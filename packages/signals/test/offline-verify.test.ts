// SPDX-License-Identifier: Apache-2.0
// The offline bundle checks on their own (no database, no files): manifest forms, hash comparison,
// DSSE over the trace's digest, and the time anchor against the staleness budget.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { dsseSign, IN_TOTO_PAYLOAD_TYPE } from '@stella/core';
import { checkDsse, checkManifestHashes, checkTimeAnchor, parseBundleManifest } from '../src/offline/verify.ts';

const HEX = 'ab'.repeat(32);
const manifestOf = (value: unknown) => parseBundleManifest(Buffer.from(JSON.stringify(value)), 'manifest.json');

describe('offline bundle manifest', () => {
  test('the list form and the {path: sha256} map form read the same, hashes lowercased and unprefixed', () => {
    const listed = manifestOf({
      files: [{ path: 'runtime.ndjson', sha256: `sha256:${HEX.toUpperCase()}` }],
      timeAnchor: { issuedAt: '2026-12-01T00:00:00Z' },
    });
    const mapped = manifestOf({
      files: { 'runtime.ndjson': `SHA256:${HEX.toUpperCase()}` },
      generatedAt: '2026-12-01T00:00:00Z',
    });
    assert.deepEqual(listed.files, [{ path: 'runtime.ndjson', sha256: HEX }]);
    assert.deepEqual(mapped.files, listed.files);
    assert.equal(mapped.anchor, listed.anchor);
  });

  test('a file without a hash, a non-string hash, no files or unreadable JSON is a usage error', () => {
    for (const bad of [
      { files: [{ path: 'runtime.ndjson' }] },
      { files: { 'runtime.ndjson': 42 } },
      { files: [] },
      {},
    ]) {
      assert.throws(() => manifestOf(bad), { code: 'ERR_USAGE' }, JSON.stringify(bad));
    }
    assert.throws(() => parseBundleManifest(Buffer.from('{'), 'manifest.json'), { code: 'ERR_USAGE' });
  });

  test('hashes: the trace must be listed, every listed file present and equal', () => {
    const manifest = manifestOf({ files: { 'runtime.ndjson': HEX, 'graph.json': HEX } });
    assert.deepEqual(
      checkManifestHashes(manifest, 'manifest.json', 'runtime.ndjson', () => HEX),
      { refused: false },
    );
    const unlisted = checkManifestHashes(manifest, 'manifest.json', 'other.ndjson', () => HEX);
    assert.equal(unlisted.refused && unlisted.reason, 'runtime_not_in_manifest');
    const missing = checkManifestHashes(manifest, 'manifest.json', 'runtime.ndjson', (f) =>
      f.path === 'graph.json' ? undefined : HEX,
    );
    assert.equal(missing.refused && missing.reason, 'file_missing');
    const changed = checkManifestHashes(manifest, 'manifest.json', 'runtime.ndjson', () => 'cd'.repeat(32));
    assert.ok(changed.refused);
    assert.equal(changed.reason, 'hash_mismatch');
    assert.equal(changed.error.code, 'ERR_SIGNALS_MANIFEST_MISMATCH');
  });
});

describe('offline DSSE and time anchor', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const trusted = [{ keyid: 'site-key', publicKey }];
  const envelopeOver = (digest: string) =>
    JSON.stringify(
      dsseSign(
        IN_TOTO_PAYLOAD_TYPE,
        Buffer.from(JSON.stringify({ subject: [{ name: 'runtime.ndjson', digest: { sha256: digest } }] })),
        [{ keyid: 'site-key', privateKey }],
      ),
    );

  test('a trusted envelope naming the trace verifies; another digest, another key or bad bytes do not', () => {
    assert.deepEqual(checkDsse(envelopeOver(HEX), 'bundle.dsse.json', trusted, HEX), {
      refused: false,
      keyid: 'site-key',
    });
    const otherDigest = checkDsse(envelopeOver(HEX), 'bundle.dsse.json', trusted, 'cd'.repeat(32));
    assert.equal(otherDigest.refused && otherDigest.reason, 'dsse_subject_mismatch');
    const stranger = [{ keyid: 'site-key', publicKey: generateKeyPairSync('ed25519').publicKey }];
    const untrusted = checkDsse(envelopeOver(HEX), 'bundle.dsse.json', stranger, HEX);
    assert.equal(untrusted.refused && untrusted.reason, 'dsse_invalid');
    const garbage = checkDsse('not json', 'bundle.dsse.json', trusted, HEX);
    assert.equal(garbage.refused && garbage.reason, 'dsse_invalid');
    const unreadable = checkDsse(new Error('EACCES'), 'bundle.dsse.json', trusted, HEX);
    assert.equal(unreadable.refused && unreadable.reason, 'dsse_invalid');
  });

  test('the anchor must be present and within the budget; staleness is whole seconds', () => {
    const now = new Date('2026-12-03T00:00:00Z');
    assert.deepEqual(checkTimeAnchor('2026-12-02T23:59:00.500Z', now, 3600), {
      refused: false,
      anchorMs: Date.parse('2026-12-02T23:59:00.500Z'),
      stalenessSeconds: 59,
    });
    const stale = checkTimeAnchor('2026-11-01T00:00:00Z', now, 3600);
    assert.ok(stale.refused);
    assert.equal(stale.reason, 'time_anchor_stale');
    assert.equal(stale.details.staleness_seconds, 32 * 86400);
    const absent = checkTimeAnchor(undefined, now, 3600);
    assert.equal(absent.refused && absent.reason, 'time_anchor_missing');
    const unparsable = checkTimeAnchor('yesterday', now, 3600);
    assert.equal(unparsable.refused && unparsable.reason, 'time_anchor_missing');
  });
});
