// Mirror bundles end to end (issue 15), as the operator of a disconnected site would take them: the
// oldest revisions of the eight Go vulndb advisories with a history ingested, a mirror:full run, then
// the current vulndb ingested (two of its 172 documents, both withdrawals, supersede two of them; the
// other six ids are not in the current vulndb) and a mirror:delta run on the full one. Both verify offline; the full carries the eight
// records, the delta the 172 new ones and tombstones for the two withdrawn; the indexes describe the
// whole state, so a second delta builds on the first. A delta without any stored mirror export is
// refused with ERR_EXPORT_BASE_MISSING.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AocEnvelope, importRawRecords, type ReplicaRecord } from '@stella/aoc';
import { openDatabase } from '@stella/platform';
import { advisoryFixtures, testBackend } from '@stella/testkit';
import { parse as parseYaml } from 'yaml';
import { loadServerConfig } from '../../src/index.ts';
import {
  disconnectedSite,
  runCli,
  runCliIn,
  startTestServer,
  type TestServer,
  verifyBundleWithOpenssl,
  verifyDsseWithOpenssl,
} from '../helpers.ts';

const GO = join(advisoryFixtures(), 'osv-go');
const profile = (name: string, variant: 'full' | 'delta') => ({
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name },
  spec: { kind: 'mirror', variant, distribution: ['http'] },
});

interface RunView {
  runId: string;
  exportId: string;
  status: string;
  errorCode: string | null;
  baseExportId: string | null;
  bundle: { digest: string; fileName: string } | null;
}
interface IndexFile {
  family: string;
  store: string;
  records: { id: string; contentHash: string; supersedes?: string; shard?: string }[];
}

describe(`mirror bundles on ${testBackend()}`, () => {
  let t: TestServer;
  let work: string;
  let full: RunView;
  let delta: RunView;
  let delta2: RunView;
  const cli = (args: string[]) => runCli(t, args);
  const submit = async (name: string, extra: string[] = []) => {
    const r = await cli(['--json', 'export', 'run', 'submit', '--profile', name, ...extra, '--watch']);
    return { code: r.code, run: JSON.parse(r.stdout || '{}') as RunView, stderr: r.stderr };
  };
  /** Downloads (as <name>.tar.zst: two deltas of one day share a file name), verifies and extracts a bundle. */
  const extract = async (run: RunView, name: string) => {
    const file = join(work, `${name}.tar.zst`);
    assert.equal((await cli(['export', 'download', run.runId, '--output', file])).code, 0);
    const verified = await cli(['export', 'verify', file, '--key', join(work, 'export-center.pub')]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const dir = join(work, name);
    mkdirSync(dir);
    execFileSync('tar', ['--zstd', '-xf', file, '-C', dir]);
    verifyBundleWithOpenssl(dir, join(work, 'export-center.pub'));
    return dir;
  };
  const index = (dir: string) =>
    JSON.parse(readFileSync(join(dir, 'indexes/advisories.index.json'), 'utf8')) as IndexFile;
  /** Every line of every shard, decompressed by the zstd CLI. */
  const shardLines = (dir: string) =>
    readdirSync(join(dir, 'data/raw/advisories'))
      .sort()
      .flatMap((name) =>
        execFileSync('zstd', ['-dc', join(dir, 'data/raw/advisories', name)], { encoding: 'utf8' })
          .trim()
          .split('\n'),
      )
      .map((line) => JSON.parse(line) as { id: string; supersedes: string | null; content: { raw: string } });

  before(async () => {
    t = await startTestServer();
    work = join(t.home, 'work');
    mkdirSync(work);
    for (const id of readdirSync(join(GO, 'history'))) {
      const oldest = readdirSync(join(GO, 'history', id)).sort()[0]!;
      const r = await cli(['sources', 'ingest', '--source', 'go-vulndb', '--input', join(GO, 'history', id, oldest)]);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const [name, variant] of [
      ['mirror-full', 'full'],
      ['mirror-delta', 'delta'],
    ] as const) {
      const file = join(work, `${name}.json`);
      writeFileSync(file, JSON.stringify(profile(name, variant)));
      assert.equal((await cli(['export', 'profile', 'create', '--file', file])).code, 0);
    }
    assert.equal((await cli(['export', 'keys', '--output', join(work, 'export-center.pub')])).code, 0);
  });
  after(() => t.close());

  test('a delta before any mirror export is refused with ERR_EXPORT_BASE_MISSING', async () => {
    const refused = await submit('mirror-delta');
    assert.equal(refused.code, 29, refused.stderr);
    assert.match(refused.stderr, /ERR_EXPORT_BASE_MISSING/);
    assert.match(refused.stderr, /run mirror:full first/);
    const kit = await cli(['offline', 'kit', 'build', '--output', join(work, 'no-kit')]);
    assert.equal(kit.code, 29, kit.stderr);
    assert.match(kit.stderr, /ERR_EXPORT_BASE_MISSING: tenant default has no stored mirror:full export/);
    assert.equal(existsSync(join(work, 'no-kit')), false);
  });

  test('offline kit build refuses a --verifier-tenant that is not a tenant id before asking the server', async () => {
    const kit = await cli(['offline', 'kit', 'build', '--output', join(work, 'bad-kit'), '--verifier-tenant', '../x']);
    assert.equal(kit.code, 2, kit.stderr);
    assert.match(kit.stderr, /--verifier-tenant \.\.\/x: not a tenant id/);
    assert.equal(existsSync(join(work, 'bad-kit')), false);
  });

  test('mirror:full carries every record, sharded, with an index of the state; verified offline', async () => {
    const submitted = await submit('mirror-full');
    full = submitted.run;
    assert.equal(full.status, 'succeeded', submitted.stderr);
    assert.match(full.bundle!.fileName, /^mirror-\d{8}-full\.tar\.zst$/);
    const dir = await extract(full, 'full');
    const lines = shardLines(dir);
    assert.equal(lines.length, 8);
    assert.deepEqual(
      lines.map((l) => l.id),
      lines.map((l) => l.id).sort(),
    );
    const state = index(dir);
    assert.equal(state.records.length, 8);
    assert.ok(state.records.every((r) => r.shard === 'data/raw/advisories/0000.jsonl.zst'));
    const manifest = parseYaml(readFileSync(join(dir, 'manifest.yaml'), 'utf8')) as {
      mode: string;
      counts: Record<string, { records: number; carried: number; tombstones: number }>;
    };
    assert.equal(manifest.mode, 'full');
    assert.deepEqual(manifest.counts.advisories, { records: 8, carried: 8, tombstones: 0 });
    // The raw text is the fixture's, byte for byte.
    const history = join(GO, 'history', 'GO-2022-0617');
    const fixture = readFileSync(join(history, readdirSync(history).sort()[0]!), 'utf8');
    assert.ok(lines.some((l) => l.content.raw === fixture));
  });

  test('mirror:delta carries only the new revisions and tombstones the records withdrawn upstream', async () => {
    const ingested = await cli(['sources', 'ingest', '--source', 'go-vulndb', '--input', join(GO, 'current')]);
    assert.equal(ingested.code, 0, ingested.stderr);
    const submitted = await submit('mirror-delta');
    delta = submitted.run;
    assert.equal(delta.status, 'succeeded', submitted.stderr);
    assert.equal(delta.baseExportId, full.exportId, 'the newest mirror export is the base');
    assert.match(delta.bundle!.fileName, /^mirror-\d{8}-delta\.tar\.zst$/);
    const dir = await extract(delta, 'delta');
    const carried = shardLines(dir);
    assert.equal(carried.length, 172);
    const fixture = readFileSync(join(GO, 'current', 'GO-2024-2687.json'), 'utf8');
    assert.ok(carried.some((l) => l.content.raw === fixture));
    const exportJson = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
      delta: { baseExportId: string; baseManifestDigest: string; tombstones: { id: string; supersededBy?: string }[] };
    };
    assert.equal(exportJson.delta.baseExportId, full.exportId);
    // Two of the 172 are revisions of records in the base, and both withdraw them.
    const withdrawn = carried.filter((l) => l.supersedes);
    assert.deepEqual(
      withdrawn.map((l) => JSON.parse(l.content.raw).id as string),
      ['GO-2022-0617', 'GO-2024-2445'],
    );
    assert.deepEqual(
      exportJson.delta.tombstones.map((s) => [s.id, s.supersededBy]).sort(),
      withdrawn.map((l) => [l.supersedes, l.id]).sort(),
      'each tombstone names the revision that withdrew it',
    );
    const state = index(dir);
    assert.equal(state.records.length, 180, 'the index is the whole state after the delta');
    assert.deepEqual(
      state.records.filter((r) => r.shard).map((r) => r.id),
      carried.map((l) => l.id),
    );
  });

  test('a second delta builds on the first: nothing changed, nothing carried', async () => {
    const submitted = await submit('mirror-delta', ['--base', delta.exportId]);
    delta2 = submitted.run;
    assert.equal(submitted.run.status, 'succeeded', submitted.stderr);
    assert.equal(submitted.run.baseExportId, delta.exportId);
    const dir = await extract(submitted.run, 'delta2');
    assert.equal(existsSync(join(dir, 'data')), false, 'no data files');
    const exportJson = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
      delta: { tombstones: unknown[] };
    };
    assert.deepEqual(exportJson.delta.tombstones, []);
  });

  test('mirror verify: TUF through tuf-js from a pinned root, both DSSE envelopes (openssl too), every file, the time anchor, delta continuity', async () => {
    const pub = join(work, 'export-center.pub');
    const root = join(work, 'full', 'tuf/root.json');
    const verify = (target: string, extra: string[] = []) =>
      cli(['mirror', 'verify', target, '--key', pub, '--tuf-root', root, ...extra]);
    for (const [name, extra] of [
      ['full', []],
      ['delta', ['--base', join(work, 'full.tar.zst')]],
      ['delta2', ['--base', join(work, 'delta.tar.zst')]],
    ] as const) {
      const r = await verify(join(work, `${name}.tar.zst`), [...extra]);
      assert.equal(r.code, 0, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /mirror bundle verified/);
    }
    const alias = await cli(['export', 'mirror-validate', join(work, 'delta'), '--base', join(work, 'full')]);
    assert.equal(alias.code, 0, alias.stdout + alias.stderr);
    assert.match(alias.stderr, /integrity, not origin/, 'nothing pinned: the note says so');
    // The mirror key's signatures, checked by openssl alone.
    const keys = readdirSync(join(work, 'full', 'tuf/keys'));
    assert.equal(keys.length, 1);
    const mirrorKey = readFileSync(join(work, 'full', 'tuf/keys', keys[0]!), 'utf8');
    for (const envelope of ['mirror/manifest.dsse.json', 'mirror/bundle.dsse.json', 'time-anchor.token.dsse.json'])
      verifyDsseWithOpenssl(JSON.parse(readFileSync(join(work, 'full', envelope), 'utf8')), mirrorKey);
    const manifest = JSON.parse(readFileSync(join(work, 'full', 'mirror/manifest.json'), 'utf8')) as {
      files: { path: string }[];
    };
    assert.ok(manifest.files.some((f) => f.path === 'data/raw/advisories/0000.jsonl.zst'));
    const anchor = JSON.parse(readFileSync(join(work, 'full', 'time-anchor.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(anchor).sort(), [
      'anchorTime',
      'format',
      'signatureFingerprint',
      'source',
      'tokenDigest',
    ]);

    const skipped = await verify(join(work, 'delta2.tar.zst'), ['--base', join(work, 'full.tar.zst')]);
    assert.equal(skipped.code, 3, 'the second delta does not build on the full bundle');
    assert.match(skipped.stdout, /FAIL .*delta continuity/);
    const stale = await verify(join(work, 'full.tar.zst'), ['--staleness-budget', '0']);
    assert.equal(stale.code, 3, stale.stdout);
    assert.match(stale.stdout, /FAIL .*time-anchor\.json/);
    const tampered = join(work, 'full-tampered');
    cpSync(join(work, 'full'), tampered, { recursive: true });
    const index = join(tampered, 'indexes/advisories.index.json');
    writeFileSync(index, readFileSync(index, 'utf8').replace('"records":[', '"records":[ '));
    const flipped = await verify(tampered);
    assert.equal(flipped.code, 3);
    assert.match(flipped.stdout, /FAIL +indexes\/advisories\.index\.json +mirror manifest sha256 and size/);
    const badBudget = await verify(join(work, 'full.tar.zst'), ['--staleness-budget', 'soon']);
    assert.equal(badBudget.code, 2, badBudget.stderr);
    assert.match(badBudget.stderr, /--staleness-budget soon: give seconds or a duration/);
    const missingRoot = await cli([
      'mirror',
      'verify',
      join(work, 'full.tar.zst'),
      '--tuf-root',
      join(work, 'nope.json'),
    ]);
    assert.equal(missingRoot.code, 2, missingRoot.stderr);
    assert.match(missingRoot.stderr, /ERR_EXPORT_VERIFY_KEY: --tuf-root .*nope\.json: cannot be read/);
    const otherRoot = await verify(join(work, 'full.tar.zst'), ['--tuf-root', join(work, 'export-center.pub')]);
    assert.equal(otherRoot.code, 3, 'a root that is not TUF metadata is refused');
  });

  describe('a disconnected site', () => {
    let site: string;
    let env: Record<string, string | undefined>;
    let closeSite: () => Promise<void>;
    const bundle = (name: string) => join(work, `${name}.tar.zst`);
    const pub = () => join(work, 'export-center.pub');
    const offline = (args: string[]) => runCliIn(env, ['offline', ...args]);
    const importJson = async (args: string[]) => {
      const r = await offline(['import', '--json', ...args]);
      return { ...r, receipt: r.code === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : {} };
    };
    /** The site's advisory_raw rows, read straight from its database. */
    const siteRows = async () => {
      const db = await openDatabase(loadServerConfig({ env }).config);
      try {
        return await db.transaction(
          async (tx) =>
            (
              await tx.query<{ id: string; content_hash: string; supersedes: string | null; raw: string }>(
                'select id, content_hash, supersedes, raw from advisory_raw order by id',
              )
            ).rows,
          { tenant: 'default' },
        );
      } finally {
        await db.close();
      }
    };

    before(async () => {
      ({ home: site, env, close: closeSite } = await disconnectedSite('stella-site-'));
    });
    after(() => closeSite());

    test('a delta before its full bundle is refused with ERR_EXPORT_BASE_MISSING, and quarantined', async () => {
      const r = await offline(['import', '--bundle', bundle('delta'), '--trust-root', pub()]);
      assert.equal(r.code, 29, r.stderr);
      assert.match(r.stderr, /ERR_EXPORT_BASE_MISSING/);
      assert.match(r.stderr, /import the mirror:full bundle first/);
      assert.match(r.stderr, /"event":"mirror.delta.apply_failed"/);
      assert.equal(readdirSync(join(site, 'offline', 'quarantine')).length, 1);
    });

    test('a bundle signed by another key, or with one byte changed, is refused and nothing is written', async () => {
      const other = join(site, 'other.pub');
      writeFileSync(
        other,
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
      );
      const wrongKey = await offline(['import', '--bundle', bundle('full'), '--trust-root', other]);
      assert.equal(wrongKey.code, 3, wrongKey.stderr);
      assert.match(wrongKey.stderr, /ERR_EXPORT_009/);
      const tampered = join(site, 'tampered');
      cpSync(join(work, 'full'), tampered, { recursive: true });
      const shard = join(tampered, 'data/raw/advisories/0000.jsonl.zst');
      const bytes = readFileSync(shard);
      bytes[bytes.length - 5]! ^= 1;
      writeFileSync(shard, bytes);
      const flipped = await offline(['import', '--bundle', tampered, '--trust-root', pub()]);
      assert.equal(flipped.code, 3, flipped.stderr);
      assert.match(flipped.stderr, /0000\.jsonl\.zst/);
      assert.deepEqual(await siteRows(), []);
      const status = await offline(['status', '--json']);
      assert.deepEqual(JSON.parse(status.stdout), []);
    });

    test('a hostile archive (a symlink entry) is refused before anything is read', async () => {
      const evil = join(site, 'evil');
      mkdirSync(evil);
      symlinkSync('/etc/passwd', join(evil, 'export.json'));
      execFileSync('tar', ['-cf', join(site, 'evil.tar'), '-C', evil, 'export.json']);
      const r = await offline(['import', '--bundle', join(site, 'evil.tar'), '--trust-root', pub()]);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /ERR_EXPORT_009.*symlink/);
    });

    test('full, then the deltas in order: the site holds the same records, byte for byte', async () => {
      const first = await importJson(['--bundle', bundle('full'), '--trust-root', pub()]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.receipt.status, 'applied');
      assert.deepEqual(first.receipt.records, { inserted: 8, present: 0 });
      const again = await importJson(['--bundle', bundle('full'), '--trust-root', pub()]);
      assert.equal(again.receipt.status, 'already-applied', again.stderr);

      const early = await offline(['import', '--bundle', bundle('delta2'), '--trust-root', pub()]);
      assert.equal(early.code, 29, 'the second delta cannot skip the first');
      assert.match(early.stderr, /apply the deltas in order/);

      const dry = await importJson(['--bundle', bundle('delta'), '--trust-root', pub(), '--dry-run']);
      assert.equal(dry.receipt.status, 'dry-run', dry.stderr);
      assert.deepEqual(dry.receipt.records, { inserted: 172, present: 0 });
      assert.equal((await siteRows()).length, 8, 'a dry run writes nothing');

      const second = await importJson(['--bundle', bundle('delta'), '--trust-root', pub()]);
      assert.equal(second.receipt.status, 'applied', second.stderr);
      assert.equal(second.receipt.tombstones, 2);
      const third = await importJson(['--bundle', join(work, 'delta2'), '--trust-root', pub()]);
      assert.equal(third.receipt.status, 'applied', third.stderr);
      assert.equal(third.receipt.baseExportId, delta.exportId);
      assert.deepEqual(third.receipt.records, { inserted: 0, present: 0 });

      const status = JSON.parse((await offline(['status', '--json'])).stdout) as { export_id: string; seq: number }[];
      assert.deepEqual(
        status.map((r) => [r.seq, r.export_id]),
        [
          [1, full.exportId],
          [2, delta.exportId],
          [3, delta2.exportId],
        ],
      );
      assert.deepEqual(
        readFileSync(join(site, 'offline', 'appliedExportIds.log'), 'utf8')
          .trim()
          .split('\n'),
        [full.exportId, delta.exportId, delta2.exportId],
      );
      // What the site holds is what the bundles carried: 180 records, ids, chains and raw text unchanged.
      const carried = [...shardLines(join(work, 'full')), ...shardLines(join(work, 'delta'))]
        .map((l) => ({ id: l.id, supersedes: l.supersedes ?? null, raw: l.content.raw }))
        .sort((a, b) => (a.id < b.id ? -1 : 1));
      const rows = (await siteRows()).sort((a, b) => (a.id < b.id ? -1 : 1));
      assert.equal(rows.length, 180);
      assert.deepEqual(
        rows.map((r) => ({ id: r.id, supersedes: r.supersedes, raw: r.raw })),
        carried,
      );
    });

    test("the AOC import door refuses a record whose text does not match its hash, a diverged record, another store's id", async () => {
      const [line] = shardLines(join(work, 'full'));
      const envelope = line as unknown as AocEnvelope;
      const db = await openDatabase(loadServerConfig({ env }).config);
      const attempt = (store: 'advisory_raw' | 'vex_raw', records: ReplicaRecord[]) =>
        db.transaction((tx) => importRawRecords(tx, 'default', store, records), { tenant: 'default' });
      try {
        assert.deepEqual(await attempt('advisory_raw', [{ envelope, raw: line!.content.raw }]), {
          inserted: 0,
          present: 1,
        });
        const edited = `${line!.content.raw} `;
        await assert.rejects(attempt('advisory_raw', [{ envelope, raw: edited }]), (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_AOC_005');
          assert.match(e.message, /raw text hashes to sha256:/);
          return true;
        });
        const rehashed = {
          ...envelope,
          upstream: {
            ...envelope.upstream,
            content_hash: `sha256:${createHash('sha256').update(edited).digest('hex')}`,
          },
        };
        await assert.rejects(
          attempt('advisory_raw', [{ envelope: rehashed, raw: edited }]),
          (e: Error & { code?: string }) => {
            assert.equal(e.code, 'ERR_AOC_003');
            assert.match(e.message, /diverged/);
            return true;
          },
        );
        await assert.rejects(attempt('vex_raw', [{ envelope, raw: line!.content.raw }]), /is not an id of vex_raw/);
      } finally {
        await db.close();
      }
      assert.equal((await siteRows()).length, 180, 'nothing of a refused batch is written');
    });
  });
  describe('an Offline Kit', () => {
    let env: Record<string, string | undefined>;
    let closeSite: () => Promise<void>;

    before(async () => {
      ({ env, close: closeSite } = await disconnectedSite('stella-kit-site-'));
    });
    after(() => closeSite());

    test('kit build gathers the chain in order with its trust roots; a fresh site restores from it as its README says', async () => {
      const kitDir = join(work, 'kit');
      const built = await cli([
        '--json',
        'offline',
        'kit',
        'build',
        '--output',
        kitDir,
        '--verifier-tenant',
        'default',
      ]);
      assert.equal(built.code, 0, built.stderr);
      const kit = JSON.parse(readFileSync(join(kitDir, 'kit.json'), 'utf8')) as {
        mirror: { path: string; exportId: string; kind: string; encrypted: boolean }[];
        files: { path: string }[];
      };
      assert.deepEqual(
        kit.mirror.map((m) => [m.kind, m.exportId]),
        [
          ['mirror:full', full.exportId],
          ['mirror:delta', delta.exportId],
          ['mirror:delta', delta2.exportId],
        ],
      );
      assert.deepEqual(
        readdirSync(join(kitDir, 'mirror')).sort(),
        kit.mirror.map((m) => m.path.slice('mirror/'.length)),
      );
      // The operator's first step, with coreutils.
      execFileSync('sha256sum', ['--quiet', '-c', 'checksums.txt'], { cwd: kitDir });
      assert.equal(
        readFileSync(join(kitDir, 'trust/export-center.pub'), 'utf8'),
        readFileSync(join(work, 'export-center.pub'), 'utf8'),
      );
      assert.equal(
        readFileSync(join(kitDir, 'trust/tuf-root.json'), 'utf8'),
        readFileSync(join(work, 'full', 'tuf/root.json'), 'utf8'),
      );
      assert.ok(readdirSync(join(kitDir, 'trust/signals')).length > 0, 'the Signals trust roots');
      const report = JSON.parse(readFileSync(join(kitDir, 'reports/aoc-verify.json'), 'utf8')) as {
        violations: unknown[];
        checked: Record<string, number>;
      };
      assert.deepEqual(report.violations, []);
      assert.equal(report.checked.advisory_raw, 180);
      for (const name of [
        'apply-aoc-constraints.sql',
        'apply-aoc-constraints.sh',
        'check-advisory-raw-duplicates.sql',
      ]) {
        assert.ok(existsSync(join(kitDir, 'ops/devops/scripts', name)), name);
      }
      const readme = readFileSync(join(kitDir, 'README.md'), 'utf8');

      // Restore exactly as the README says: every `stella offline import` line, in its order.
      const imports = readme
        .split('\n')
        .filter((l) => l.startsWith('stella offline import '))
        .map((l) => l.slice('stella '.length).split(' '));
      assert.equal(imports.length, 3, readme);
      for (const args of imports) {
        const r = await runCliIn(
          env,
          args.map((a) => (a.includes('/') ? join(kitDir, a) : a)),
        );
        assert.equal(r.code, 0, r.stdout + r.stderr);
      }
      const status = JSON.parse((await runCliIn(env, ['offline', 'status', '--json'])).stdout) as {
        export_id: string;
      }[];
      assert.deepEqual(
        status.map((r) => r.export_id),
        [full.exportId, delta.exportId, delta2.exportId],
      );

      const again = await cli(['offline', 'kit', 'build', '--output', kitDir]);
      assert.equal(again.code, 2, 'an existing kit is never overwritten');

      // The verifier credentials work against a stella configured with the kit's auth.clients entry.
      const secretFile = join(kitDir, 'credentials/credentials.json');
      assert.equal(statSync(secretFile).mode & 0o777, 0o600);
      const { clientId, clientSecret } = (
        JSON.parse(readFileSync(secretFile, 'utf8')) as {
          clients: Record<string, { clientId: string; clientSecret: string }>;
        }
      ).clients['stella-aoc-verify']!;
      assert.equal(clientId, 'stella-aoc-verify-default');
      assert.ok(!readFileSync(join(kitDir, 'credentials/auth-clients.yaml'), 'utf8').includes(clientSecret));
      const offlineStella = await startTestServer(
        {},
        readFileSync(join(kitDir, 'credentials/auth-clients.yaml'), 'utf8'),
      );
      try {
        const verified = await runCliIn(
          { STELLA_SERVER: offlineStella.base, STELLA_CLIENT_ID: clientId, STELLA_CLIENT_SECRET: clientSecret },
          ['aoc', 'verify', '--since', '30d'],
        );
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        const ingest = await runCliIn(
          { STELLA_SERVER: offlineStella.base, STELLA_CLIENT_ID: clientId, STELLA_CLIENT_SECRET: clientSecret },
          ['sources', 'ingest', '--source', 'go-vulndb', '--input', join(GO, 'current')],
        );
        assert.notEqual(ingest.code, 0, 'the verifier is read-only');
      } finally {
        await offlineStella.close();
      }
      const plain = join(work, 'kit-no-credentials');
      assert.equal((await cli(['offline', 'kit', 'build', '--output', plain])).code, 0);
      assert.equal(existsSync(join(plain, 'credentials')), false, 'credentials only when asked');
    });
  });
});
