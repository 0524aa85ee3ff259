// Which key signs a mirror bundle (issue 15 item 3, seed 003): MIRROR_SIGN_KEY_B64 when set (its public
// key is the one in tuf/keys/ and the TUF root); with REQUIRE_PROD_SIGNING=1 and no such key the run
// fails with errorCode=signing instead of signing with a key stella generated.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { advisoryFixtures, testBackend } from '@stella/testkit';
import { runCli, startTestServer, type TestServer } from '../helpers.ts';

const profile = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'mirror-full' },
  spec: { kind: 'mirror', variant: 'full', distribution: ['http'] },
};

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const t = await startTestServer(env);
  const input = join(advisoryFixtures(), 'osv-go', 'current');
  assert.equal((await runCli(t, ['sources', 'ingest', '--source', 'go-vulndb', '--input', input])).code, 0);
  const file = join(t.home, 'profile.json');
  writeFileSync(file, JSON.stringify(profile));
  assert.equal((await runCli(t, ['export', 'profile', 'create', '--file', file])).code, 0);
  return t;
}

const submit = async (t: TestServer) => {
  const r = await runCli(t, ['--json', 'export', 'run', 'submit', '--profile', 'mirror-full', '--watch']);
  return { ...r, run: JSON.parse(r.stdout || '{}') as { runId: string; status: string; errorCode: string | null } };
};

describe(`mirror signing keys on ${testBackend()}`, () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const t of servers) await t.close();
  });

  test('MIRROR_SIGN_KEY_B64 signs the DSSE envelopes, the time anchor and the TUF metadata', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const t = await serverWith({ MIRROR_SIGN_KEY_B64: Buffer.from(pem).toString('base64') });
    servers.push(t);
    const r = await submit(t);
    assert.equal(r.run.status, 'succeeded', r.stderr);
    const file = join(t.home, 'full.tar.zst');
    assert.equal((await runCli(t, ['export', 'download', r.run.runId, '--output', file])).code, 0);
    const dir = join(t.home, 'full');
    mkdirSync(dir);
    execFileSync('tar', ['--zstd', '-xf', file, '-C', dir]);
    const keys = readdirSync(join(dir, 'tuf/keys'));
    assert.equal(keys.length, 1);
    const shipped = createPublicKey(readFileSync(join(dir, 'tuf/keys', keys[0]!), 'utf8'));
    assert.ok(shipped.equals(publicKey), 'the configured key, not a generated one');
    const verified = await runCli(t, ['mirror', 'verify', file, '--tuf-root', join(dir, 'tuf/root.json')]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  });

  test('REQUIRE_PROD_SIGNING=1 without a mirror key fails the run with errorCode=signing', async () => {
    const t = await serverWith({ REQUIRE_PROD_SIGNING: '1' });
    servers.push(t);
    const r = await submit(t);
    assert.equal(r.run.status, 'failed', r.stdout);
    assert.equal(r.run.errorCode, 'signing');
    assert.match(r.stderr + r.stdout, /MIRROR_SIGN_KEY_B64/);
  });
});
