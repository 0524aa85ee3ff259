// `stella keys rotate --purpose export-center` as the acceptance asks: a bundle exported before the
// rotation still verifies after it (with stella, with the old public key, and with openssl); bundles
// made after it are signed by the new key, which the old key file does not verify; `stella keys list`
// and /api/export/keys show the retired key beside the active one.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testBackend } from '@stella/testkit';
import { ingestAllFixtures, runCli, startTestServer, type TestServer, verifyBundleWithOpenssl } from '../helpers.ts';

interface KeyView {
  keyid: string;
  purpose: string;
  status: 'active' | 'retired';
}

describe(`signing key rotation (${testBackend()})`, () => {
  let t: TestServer;
  let work: string;
  const cli = (...args: string[]) => runCli(t, args);

  /** Submits a run of the profile, waits for it and downloads its bundle to `name`. */
  async function exportBundle(name: string): Promise<string> {
    const submitted = await cli('export', 'run', 'submit', '--profile', 'rotation-raw', '--watch');
    assert.equal(submitted.code, 0, submitted.stdout + submitted.stderr);
    const runId = /^(run-[0-9a-z]{26}) succeeded/m.exec(submitted.stdout)?.[1];
    assert.ok(runId, submitted.stdout);
    const file = join(work, name);
    assert.equal((await cli('export', 'download', runId, '--output', file)).code, 0);
    return file;
  }

  before(async () => {
    t = await startTestServer();
    work = join(t.home, 'work');
    mkdirSync(work);
    assert.ok((await ingestAllFixtures(t)) > 350);
    const profile = join(work, 'profile.yaml');
    (await import('node:fs')).writeFileSync(
      profile,
      'apiVersion: stellaops.io/export.v1\nkind: ExportProfile\nmetadata: {name: rotation-raw}\nspec: {kind: json, variant: raw, distribution: [http]}\n',
    );
    assert.equal((await cli('export', 'profile', 'create', '--file', profile)).code, 0);
  });
  after(() => t?.close());

  test('a bundle signed before the rotation verifies after it; later bundles carry the new key', async () => {
    const before = await exportBundle('before.tar.zst');
    const oldKey = join(work, 'old.pub');
    assert.equal((await cli('export', 'keys', '--output', oldKey)).code, 0);
    const listed = JSON.parse((await cli('keys', 'list', '--purpose', 'export-center', '--json')).stdout) as {
      keys: KeyView[];
    };
    assert.deepEqual(
      listed.keys.map((k) => k.status),
      ['active'],
    );
    const oldId = listed.keys[0]!.keyid;

    const rotated = await cli('keys', 'rotate', '--purpose', 'export-center', '--json');
    assert.equal(rotated.code, 0, rotated.stderr);
    const { active, retired } = JSON.parse(rotated.stdout) as { active: KeyView[]; retired: string[] };
    assert.deepEqual(retired, [oldId]);
    assert.equal(active.length, 1);
    assert.notEqual(active[0]!.keyid, oldId);

    // Before: verifies with stella (the server lists the retired key), with the old key file, with openssl.
    assert.equal((await cli('export', 'verify', before)).code, 0);
    assert.equal((await cli('export', 'verify', before, '--key', oldKey)).code, 0);
    const extracted = join(work, 'before');
    mkdirSync(extracted);
    execFileSync('tar', ['--zstd', '-xf', before, '-C', extracted]);
    verifyBundleWithOpenssl(extracted, oldKey);

    // After: signed by the new key; the old key file refuses it (exit 3), the new one accepts it.
    const after = await exportBundle('after.tar.zst');
    assert.equal((await cli('export', 'verify', after)).code, 0);
    assert.equal((await cli('export', 'verify', after, '--key', oldKey)).code, 3);
    const newKey = join(work, 'new.pub');
    assert.equal((await cli('export', 'keys', '--output', newKey)).code, 0);
    assert.equal((await cli('export', 'verify', after, '--key', newKey)).code, 0);

    const keys = JSON.parse((await cli('keys', 'list', '--purpose', 'export-center', '--json')).stdout) as {
      keys: KeyView[];
    };
    assert.deepEqual(
      keys.keys.map((k) => [k.keyid, k.status]).sort(),
      [
        [oldId, 'retired'],
        [active[0]!.keyid, 'active'],
      ].sort(),
    );
  });

  test('refusals: a purpose with no key yet, a malformed purpose, a token without authority:admin', async () => {
    const none = await cli('keys', 'rotate', '--purpose', 'never-used');
    assert.equal(none.code, 4, none.stderr);
    const bad = await cli('keys', 'rotate', '--purpose', 'Not A Purpose');
    assert.equal(bad.code, 2, bad.stderr);
    const reader = await t.token('evidence:read');
    const refused = await fetch(`${t.base}/api/v1/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reader}`, 'x-stella-tenant': 'default', 'content-type': 'application/json' },
      body: JSON.stringify({ purpose: 'export-center' }),
    });
    assert.equal(refused.status, 403);
  });
});
