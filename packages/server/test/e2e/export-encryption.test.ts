// Encrypted export bundles end to end (issue 15, docs/encryption.md), with keys made by Debian's
// age-keygen and bundles opened by Debian's age, as an operator would: json:raw with its data files
// encrypted one by one (mode aes-gcm), a mirror:full encrypted whole (mode age) that `age -d` opens,
// an aes-gcm mirror chain (full, then a delta built on it) imported at a disconnected site after
// `stella export decrypt`, and the profiles encryption refuses. Signatures cover the plaintext, so
// every bundle verifies after decrypting, and the plaintext is the same bytes run after run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { advisoryFixtures, testBackend } from '@stella/testkit';
import { disconnectedSite, runCli, runCliIn, startTestServer, type TestServer } from '../helpers.ts';

const GO = join(advisoryFixtures(), 'osv-go');

interface RunView {
  runId: string;
  exportId: string;
  status: string;
  errorCode: string | null;
  errors: { code: string; message: string }[];
  bundle: { digest: string; fileName: string } | null;
}
interface Provenance {
  predicate: {
    buildDefinition: {
      internalParameters: {
        environment?: {
          encryption: {
            mode: string;
            scope: string;
            runId?: string;
            recipients: { recipient: string; wrappedKey?: string }[];
            files?: string[];
          };
        };
      };
    };
  };
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe(`encrypted export bundles on ${testBackend()}`, () => {
  let t: TestServer;
  let work: string;
  const keys: Record<'alice' | 'bob' | 'mallory', { file: string; recipient: string }> = {} as never;
  const cli = (args: string[]) => runCli(t, args);
  const profileFile = (name: string, spec: Record<string, unknown>) => {
    const file = join(work, `${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: 'stellaops.io/export.v1', kind: 'ExportProfile', metadata: { name }, spec }),
    );
    return file;
  };
  const createProfile = async (name: string, spec: Record<string, unknown>) => {
    const r = await cli(['export', 'profile', 'create', '--file', profileFile(name, spec)]);
    assert.equal(r.code, 0, r.stderr);
  };
  const submit = async (name: string) => {
    const r = await cli(['--json', 'export', 'run', 'submit', '--profile', name, '--watch']);
    return { code: r.code, run: JSON.parse(r.stdout || '{}') as RunView, stderr: r.stderr };
  };
  const download = async (run: RunView, name: string) => {
    const file = join(work, name);
    const r = await cli(['export', 'download', run.runId, '--output', file]);
    assert.equal(r.code, 0, r.stderr);
    return file;
  };
  const decrypt = (file: string, identity: string, output?: string) =>
    cli(['export', 'decrypt', file, '--identity', identity, ...(output ? ['--output', output] : [])]);
  const verify = (file: string) => cli(['export', 'verify', file, '--key', join(work, 'export-center.pub')]);
  const member = (archive: string, path: string) =>
    execFileSync('tar', ['--zstd', '-xOf', archive, path], { maxBuffer: 64 * 1024 * 1024 });
  const provenanceOf = (archive: string) =>
    JSON.parse(member(archive, 'provenance.json').toString('utf8')) as Provenance;
  const timelineKinds = async () => {
    const token = await t.token();
    const response = await fetch(`${t.base}/api/v1/timeline/events?category=export&limit=1000`, {
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
    });
    return ((await response.json()) as { items: { kind: string; details: Record<string, unknown> }[] }).items;
  };

  before(async () => {
    t = await startTestServer();
    work = join(t.home, 'work');
    mkdirSync(work);
    for (const name of ['alice', 'bob', 'mallory'] as const) {
      const file = join(work, `${name}.txt`);
      execFileSync('age-keygen', ['-o', file], { stdio: 'ignore' });
      keys[name] = { file, recipient: execFileSync('age-keygen', ['-y', file], { encoding: 'utf8' }).trim() };
    }
    for (const id of readdirSync(join(GO, 'history'))) {
      const oldest = readdirSync(join(GO, 'history', id)).sort()[0]!;
      const r = await cli(['sources', 'ingest', '--source', 'go-vulndb', '--input', join(GO, 'history', id, oldest)]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await cli(['export', 'keys', '--output', join(work, 'export-center.pub')])).code, 0);
  });
  after(() => t.close());

  describe('json:raw, data files encrypted one by one (mode aes-gcm)', () => {
    let bundle: string;
    let run: RunView;

    before(async () => {
      await createProfile('raw-sealed', {
        kind: 'json',
        variant: 'raw',
        distribution: ['http'],
        encryption: { enabled: true, mode: 'aes-gcm', recipientKeys: [keys.bob.recipient, keys.alice.recipient] },
      });
      const submitted = await submit('raw-sealed');
      run = submitted.run;
      assert.equal(run.status, 'succeeded', submitted.stderr);
      bundle = await download(run, 'raw-sealed.tar.zst');
    });

    test('the data file is ciphertext; provenance names both recipients, sorted, and Debian age unwraps the data key', () => {
      const data = member(bundle, 'data/raw/advisories.jsonl');
      assert.throws(() => JSON.parse(data.toString('utf8').split('\n')[0]!), 'not readable JSONL');
      const exportJson = JSON.parse(member(bundle, 'export.json').toString('utf8')) as {
        contents: { path: string; bytes: number }[];
      };
      const listed = exportJson.contents.find((c) => c.path === 'data/raw/advisories.jsonl')!;
      assert.equal(
        data.length,
        listed.bytes + 12 + 16,
        'nonce ‖ ciphertext ‖ tag around the plaintext export.json records',
      );
      const encryption = provenanceOf(bundle).predicate.buildDefinition.internalParameters.environment!.encryption;
      assert.equal(encryption.mode, 'age');
      assert.equal(encryption.scope, 'files');
      assert.equal(encryption.runId, run.runId);
      assert.deepEqual(encryption.files, ['data/raw/advisories.jsonl', 'data/raw/vex.jsonl']);
      assert.deepEqual(
        encryption.recipients.map((r) => r.recipient),
        [keys.alice.recipient, keys.bob.recipient].sort(),
      );
      const wrapped = join(work, 'bob.dek.age');
      const bobs = encryption.recipients.find((r) => r.recipient === keys.bob.recipient)!;
      writeFileSync(wrapped, Buffer.from(bobs.wrappedKey!, 'base64'));
      assert.equal(execFileSync('age', ['-d', '-i', keys.bob.file, wrapped]).length, 32);
    });

    test('verify says to decrypt first; a wrong identity is refused and writes nothing', async () => {
      const before = await verify(bundle);
      assert.equal(before.code, 3, before.stderr);
      assert.match(before.stdout + before.stderr, /encrypted .*stella export decrypt/);
      const output = join(work, 'mallory-out.tar.zst');
      const wrong = await decrypt(bundle, keys.mallory.file, output);
      assert.equal(wrong.code, 3, wrong.stderr);
      assert.match(wrong.stderr, /ERR_EXPORT_DECRYPT: no identity matches recipients/);
      assert.equal(existsSync(output), false);
      assert.deepEqual(
        readdirSync(work).filter((f) => f.endsWith('.partial')),
        [],
      );
      const notAKey = join(work, 'not-a-key.txt');
      writeFileSync(notAKey, 'hello\n');
      const bad = await decrypt(bundle, notAKey, output);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /ERR_EXPORT_DECRYPT_IDENTITY/);
    });

    test('either recipient decrypts to the same plaintext bundle, which verifies; a replay decrypts to the same data', async () => {
      const byAlice = join(work, 'raw-alice.tar.zst');
      const r = await decrypt(bundle, keys.alice.file, byAlice);
      assert.equal(r.code, 0, r.stderr);
      const verified = await verify(byAlice);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const byDefault = await decrypt(bundle, keys.bob.file);
      assert.equal(byDefault.code, 0, byDefault.stderr);
      assert.equal(sha256(join(work, 'raw-sealed-decrypted.tar.zst')), sha256(byAlice));
      // The plaintext lines are the raw records, as an unencrypted json:raw carries them.
      const lines = member(byAlice, 'data/raw/advisories.jsonl').toString('utf8').trim().split('\n');
      assert.equal(lines.length, 8);

      const replayed = await cli(['--json', 'export', 'run', 'replay', run.runId, '--watch']);
      assert.equal(replayed.code, 0, replayed.stderr);
      const again = await download(JSON.parse(replayed.stdout) as RunView, 'raw-sealed-2.tar.zst');
      assert.notEqual(sha256(again), sha256(bundle), 'a fresh data key and nonces per run');
      const againPlain = join(work, 'raw-alice-2.tar.zst');
      assert.equal((await decrypt(again, keys.alice.file, againPlain)).code, 0);
      // provenance.json (and checksums.txt, which hashes it) carries this run's wrapped keys.
      for (const path of ['export.json', 'data/raw/advisories.jsonl', 'data/raw/vex.jsonl']) {
        assert.deepEqual(member(againPlain, path), member(byAlice, path), path);
      }
    });

    test('decrypt refuses an altered file, a provenance naming a path outside the bundle, a plain bundle and an existing output', async () => {
      const extracted = join(work, 'raw-sealed-dir');
      mkdirSync(extracted);
      execFileSync('tar', ['--zstd', '-xf', bundle, '-C', extracted]);
      const data = join(extracted, 'data/raw/advisories.jsonl');
      const original = readFileSync(data);
      const flipped = Buffer.from(original);
      flipped[flipped.length - 20]! ^= 1;
      writeFileSync(data, flipped);
      const out = join(work, 'altered-out.tar.zst');
      const altered = await decrypt(extracted, keys.alice.file, out);
      assert.equal(altered.code, 3, altered.stderr);
      assert.match(altered.stderr, /ERR_EXPORT_DECRYPT/);
      assert.equal(existsSync(out), false, 'nothing is written');
      writeFileSync(data, original);

      const provenancePath = join(extracted, 'provenance.json');
      const provenance = readFileSync(provenancePath, 'utf8');
      const record = JSON.parse(provenance) as Provenance;
      record.predicate.buildDefinition.internalParameters.environment!.encryption.files = ['../outside.jsonl'];
      writeFileSync(provenancePath, JSON.stringify(record));
      const escaping = await decrypt(extracted, keys.alice.file, out);
      assert.equal(escaping.code, 3, escaping.stderr);
      assert.match(escaping.stderr, /provenance lists "\.\.\/outside\.jsonl" as encrypted/);
      assert.equal(existsSync(join(work, 'outside.jsonl')), false);
      writeFileSync(provenancePath, provenance);

      const plain = await decrypt(join(work, 'raw-alice.tar.zst'), keys.alice.file, out);
      assert.equal(plain.code, 3, plain.stderr);
      assert.match(plain.stderr, /is not encrypted/);
      const existing = await decrypt(bundle, keys.alice.file, join(work, 'raw-alice.tar.zst'));
      assert.equal(existing.code, 2, existing.stderr);
      assert.match(existing.stderr, /already exists/);
    });
  });

  describe('mirror:full encrypted whole (mode age)', () => {
    let sealed: string;

    before(async () => {
      await createProfile('mirror-age', {
        kind: 'mirror',
        variant: 'full',
        distribution: ['http'],
        encryption: { enabled: true, mode: 'age', recipientKeys: [keys.alice.recipient] },
      });
    });

    test("Debian's age -d opens it, the plaintext passes mirror verify, and two runs give the same plaintext", async () => {
      const first = await submit('mirror-age');
      assert.equal(first.run.status, 'succeeded', first.stderr);
      assert.match(first.run.bundle!.fileName, /^mirror-\d{8}-full\.tar\.zst\.age$/);
      sealed = await download(first.run, first.run.bundle!.fileName);
      const plain = join(work, 'mirror-age.tar.zst');
      execFileSync('age', ['-d', '-i', keys.alice.file, '-o', plain, sealed]);
      const verified = await cli(['mirror', 'verify', plain, '--key', join(work, 'export-center.pub')]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const encryption = provenanceOf(plain).predicate.buildDefinition.internalParameters.environment!.encryption;
      assert.deepEqual(encryption, { mode: 'age', scope: 'bundle', recipients: [{ recipient: keys.alice.recipient }] });

      const ours = join(work, 'mirror-age-ours.tar.zst');
      assert.equal((await decrypt(sealed, keys.alice.file, ours)).code, 0);
      assert.equal(sha256(ours), sha256(plain), 'stella export decrypt and age -d agree');

      const second = await submit('mirror-age');
      assert.equal(second.run.status, 'succeeded', second.stderr);
      const sealed2 = await download(second.run, 'second.tar.zst.age');
      const plain2 = join(work, 'mirror-age-2.tar.zst');
      execFileSync('age', ['-d', '-i', keys.alice.file, '-o', plain2, sealed2]);
      assert.equal(sha256(plain2), sha256(plain), 'the plaintext bundle is the same bytes');

      const events = await timelineKinds();
      const enabled = events.filter((e) => e.kind === 'mirror.encryption.enabled');
      assert.equal(enabled.length, 2);
      assert.equal(enabled[0]!.details.mode, 'age');
    });

    test('verify, import and a wrong identity on the age file: each says what to do, nothing is written', async () => {
      const v = await verify(sealed);
      assert.equal(v.code, 3, v.stderr);
      assert.match(v.stderr, /age-encrypted bundle .*stella export decrypt/);
      const out = join(work, 'mallory.tar.zst');
      const wrong = await decrypt(sealed, keys.mallory.file, out);
      assert.equal(wrong.code, 3, wrong.stderr);
      assert.match(wrong.stderr, /ERR_EXPORT_DECRYPT/);
      assert.equal(existsSync(out), false);
      assert.throws(() => execFileSync('age', ['-d', '-i', keys.mallory.file, sealed], { stdio: 'pipe' }));
    });

    test('a mirror:delta on an age-encrypted base is refused with ERR_EXPORT_BASE_MISSING and the remedy', async () => {
      await createProfile('mirror-age-delta', { kind: 'mirror', variant: 'delta', distribution: ['http'] });
      const r = await submit('mirror-age-delta');
      assert.equal(r.run.status, 'failed', r.stderr);
      assert.equal(r.run.errors[0]?.code, 'ERR_EXPORT_BASE_MISSING');
      assert.match(r.run.errors[0]!.message, /encrypted whole with age .*aes-gcm/);
    });
  });

  describe('an aes-gcm mirror chain at a disconnected site', () => {
    let env: Record<string, string | undefined>;
    let closeSite: () => Promise<void>;

    before(async () => {
      ({ env, close: closeSite } = await disconnectedSite('stella-site-'));
      const encryption = { enabled: true, mode: 'aes-gcm', recipientKeys: [keys.bob.recipient] };
      await createProfile('mirror-gcm', { kind: 'mirror', variant: 'full', distribution: ['http'], encryption });
      await createProfile('mirror-gcm-delta', { kind: 'mirror', variant: 'delta', distribution: ['http'], encryption });
    });
    after(() => closeSite());

    test('full, then a delta built on the encrypted full; refused encrypted, imported once decrypted', async () => {
      const full = await submit('mirror-gcm');
      assert.equal(full.run.status, 'succeeded', full.stderr);
      const ingested = await cli(['sources', 'ingest', '--source', 'go-vulndb', '--input', join(GO, 'current')]);
      assert.equal(ingested.code, 0, ingested.stderr);
      const delta = await submit('mirror-gcm-delta');
      assert.equal(delta.run.status, 'succeeded', delta.stderr);
      const fullFile = await download(full.run, 'gcm-full.tar.zst');
      const deltaFile = await download(delta.run, 'gcm-delta.tar.zst');
      const shard = member(deltaFile, 'data/raw/advisories/0000.jsonl.zst');
      assert.notEqual(shard.readUInt32LE(12), 0xfd2fb528, 'the shard is not a readable zstd frame');

      const trust = ['--trust-root', join(work, 'export-center.pub')];
      const refused = await runCliIn(env, ['offline', 'import', '--bundle', fullFile, ...trust]);
      assert.equal(refused.code, 3, refused.stderr);
      assert.match(refused.stderr, /encrypted .*stella export decrypt/);
      assert.equal((await runCliIn(env, ['offline', 'status', '--json'])).stdout.includes(full.run.exportId), false);

      for (const [file, plain] of [
        [fullFile, join(work, 'gcm-full-plain.tar.zst')],
        [deltaFile, join(work, 'gcm-delta-plain.tar.zst')],
      ] as const) {
        assert.equal((await decrypt(file, keys.bob.file, plain)).code, 0);
        const r = await runCliIn(env, ['offline', 'import', '--bundle', plain, ...trust]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }
      const status = await runCliIn(env, ['offline', 'status', '--json']);
      assert.ok(status.stdout.includes(full.run.exportId) && status.stdout.includes(delta.run.exportId), status.stdout);

      // An Offline Kit of this chain keeps the bundles encrypted and tells the site how to decrypt them.
      const kitDir = join(work, 'kit');
      const kit = await cli(['offline', 'kit', 'build', '--output', kitDir]);
      assert.equal(kit.code, 0, kit.stderr);
      const manifest = JSON.parse(readFileSync(join(kitDir, 'kit.json'), 'utf8')) as {
        mirror: { path: string; exportId: string; encrypted: boolean }[];
      };
      assert.deepEqual(
        manifest.mirror.map((m) => [m.exportId, m.encrypted]),
        [
          [full.run.exportId, true],
          [delta.run.exportId, true],
        ],
      );
      assert.equal(sha256(join(kitDir, manifest.mirror[0]!.path)), sha256(fullFile));
      const readme = readFileSync(join(kitDir, 'README.md'), 'utf8');
      for (const m of manifest.mirror) {
        const plain = `plain/${m.path.slice('mirror/'.length)}`;
        assert.ok(readme.includes(`stella export decrypt ${m.path} --identity key.txt --output ${plain}`), readme);
        assert.ok(readme.includes(`stella offline import --bundle ${plain} `), readme);
      }
      assert.ok(existsSync(join(kitDir, 'trust/tuf-root.json')), 'the TUF root is readable in an aes-gcm bundle');
    });
  });

  test('trivy:db with aes-gcm: the DB bundle is ciphertext; decrypted, its signature and database check out', async () => {
    await createProfile('trivy-sealed', {
      kind: 'trivy',
      variant: 'db',
      distribution: ['http'],
      encryption: { enabled: true, recipientKeys: [keys.alice.recipient] },
    });
    const submitted = await submit('trivy-sealed');
    assert.equal(submitted.run.status, 'succeeded', submitted.stderr);
    const file = await download(submitted.run, 'trivy-sealed.tar.zst');
    const encryption = provenanceOf(file).predicate.buildDefinition.internalParameters.environment!.encryption;
    assert.ok(encryption.files!.includes('trivy/db.bundle'), String(encryption.files));
    const sealedDb = member(file, 'trivy/db.bundle');
    assert.notEqual(sealedDb.subarray(12, 14).toString('hex'), '1f8b', 'not a readable gzip tarball');
    const plain = join(work, 'trivy-plain.tar.zst');
    assert.equal((await decrypt(file, keys.alice.file, plain)).code, 0);
    const verified = await verify(plain);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.equal(member(plain, 'trivy/db.bundle').subarray(0, 2).toString('hex'), '1f8b');
  });

  describe('profiles encryption refuses', () => {
    test('a kms:// key (strict by default), and a Trivy DB pushed to OCI in clear', async () => {
      const kms = profileFile('kms-only', {
        kind: 'json',
        variant: 'raw',
        distribution: ['http'],
        encryption: { enabled: true, recipientKeys: ['kms://export/envelope', keys.alice.recipient] },
      });
      assert.equal((await cli(['export', 'profile', 'create', '--file', kms])).code, 0);
      const strict = await submit('kms-only');
      assert.equal(strict.code, 2, strict.stderr);
      assert.match(strict.stderr, /ERR_EXPORT_001.*KMS is not available in this build/s);

      await createProfile('kms-lenient', {
        kind: 'json',
        variant: 'raw',
        distribution: ['http'],
        encryption: { enabled: true, strict: false, recipientKeys: ['kms://export/envelope', keys.alice.recipient] },
      });
      const lenient = await submit('kms-lenient');
      assert.equal(lenient.run.status, 'succeeded', lenient.stderr);
      const file = await download(lenient.run, 'lenient.tar.zst');
      const recipients =
        provenanceOf(file).predicate.buildDefinition.internalParameters.environment!.encryption.recipients;
      assert.deepEqual(
        recipients.map((r) => r.recipient),
        [keys.alice.recipient],
      );

      await createProfile('trivy-oci-sealed', {
        kind: 'trivy',
        variant: 'db',
        distribution: ['http', 'oci'],
        encryption: { enabled: true, mode: 'age', recipientKeys: [keys.alice.recipient] },
      });
      const trivy = await submit('trivy-oci-sealed');
      assert.equal(trivy.code, 2, trivy.stderr);
      assert.match(trivy.stderr, /\/spec\/distribution.*Trivy pulls in clear/s);
    });
  });
});
