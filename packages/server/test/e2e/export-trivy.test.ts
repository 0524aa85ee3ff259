// The trivy:db export end to end (issue 14), as a Trivy user in an air-gapped network would take it:
// the advisory fixtures ingested, a trivy:db run downloaded and verified (stella, openssl, sha256sum),
// the database opened by Debian's Go bbolt and replayed with Trivy's own lookups (testkit's trivycheck)
// for the fixture packages, two runs giving the same bytes, the OCI artifact pushed to a real registry
// and read back by skopeo, the same artifact written as an OCI layout by `stella export trivy-oci` and
// copied through the registry with its digests intact; then an unsupported schema pin, a tampered
// bundle, and a registry that refuses the push.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  advisoryFixtures,
  type RegistryServer,
  runSkopeo,
  startRegistry,
  type TrivyFinding,
  testBackend,
  trivyCheck,
  trivyLookup,
  trivyOsLookup,
} from '@stella/testkit';
import { runCli, startTestServer, type TestServer, verifyBundleWithOpenssl } from '../helpers.ts';

const FIXTURES = advisoryFixtures();
/** What each fixture family is ingested as; malformed fixtures are rejected by ingest, as they should be. */
const SOURCES: readonly (readonly [string, string])[] = [
  ['ghsa', 'ghsa'],
  ['go-vulndb', 'osv-go/current'],
  ['osv', 'osv-misc'],
  ['redhat', 'csaf/redhat-via-anchore-vunnel'],
  ['nvd', 'nvd-api-2.0'],
  ['cve', 'cve5'],
];
const MALFORMED = /sad-|\.txt$|LICENSE|NOTICE|PROVENANCE/;
const profile = (name: string, distribution: string[], extra: Record<string, unknown> = {}) => ({
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name },
  spec: { kind: 'trivy', variant: 'db', distribution, ...extra },
});
/** skopeo that must succeed. */
async function skopeo(...args: string[]) {
  const r = await runSkopeo(...args);
  assert.equal(r.code, 0, `skopeo ${args.join(' ')}: ${r.stderr}`);
  return r;
}
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

interface RunView {
  runId: string;
  exportId: string;
  status: string;
  errorCode: string | null;
  errors: { code: string; message: string }[];
  bundle: { digest: string } | null;
  outputs: { driver: string; status: string; target: string | null; error: string | null }[];
}

describe(`trivy:db export on ${testBackend()}`, () => {
  let t: TestServer;
  let registry: RegistryServer;
  let work: string;
  let first: RunView;
  const logs: Record<string, unknown>[] = [];
  const cli = (args: string[]) => runCli(t, args);
  const createProfile = async (doc: object) => {
    const file = join(work, `${(doc as { metadata: { name: string } }).metadata.name}.json`);
    writeFileSync(file, JSON.stringify(doc));
    const created = await cli(['export', 'profile', 'create', '--file', file]);
    assert.equal(created.code, 0, created.stderr);
  };
  const submit = async (name: string) => {
    const r = await cli(['--json', 'export', 'run', 'submit', '--profile', name, '--watch']);
    return JSON.parse(r.stdout) as RunView;
  };
  const download = async (run: RunView, name: string) => {
    const file = join(work, `${name}.tar.zst`);
    assert.equal((await cli(['export', 'download', run.runId, '--output', file])).code, 0);
    const dir = join(work, name);
    mkdirSync(dir);
    execFileSync('tar', ['--zstd', '-xf', file, '-C', dir]);
    return { file, dir };
  };

  before(async () => {
    registry = await startRegistry();
    t = await startTestServer({ STELLA_EXPORT_OCI_REGISTRY: registry.url }, undefined, { logs });
    work = join(t.home, 'work');
    mkdirSync(work);
    for (const [source, dir] of SOURCES) {
      const r = await cli(['sources', 'ingest', '--source', source, '--input', join(FIXTURES, dir), '--json']);
      const report = JSON.parse(r.stdout) as { written: number; rejected: { location: string | null }[] };
      assert.ok(report.written > 0, `${dir}: ${r.stdout}`);
      for (const rejected of report.rejected) assert.match(String(rejected.location), MALFORMED, r.stdout);
    }
    await createProfile(profile('trivy-db', ['http', 'oci']));
  });
  after(async () => {
    await t?.close();
    await registry?.stop().catch(() => {});
  });

  /** Replays Trivy's library lookup for one package and keeps what it reports per vulnerability id. */
  const lookup = async (db: string, ecosystem: string, pkg: string) =>
    new Map((await trivyLookup(db, ecosystem, pkg)).map((f: TrivyFinding) => [`${f.bucket}|${f.vulnerabilityId}`, f]));

  test('a trivy:db run: verified and signed, and Trivy’s lookups find the fixture advisories', async () => {
    first = await submit('trivy-db');
    assert.equal(first.status, 'succeeded', JSON.stringify(first));
    const { file, dir } = await download(first, 'first');
    const keyFile = join(work, 'export-center.pub');
    assert.equal((await cli(['export', 'keys', '--output', keyFile])).code, 0);
    const verified = await cli(['export', 'verify', file, '--key', keyFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /ok\s+signatures\/trivy-db\.sig\s+detached signature over trivy\/db\.bundle/);
    assert.match(verified.stdout, /trivy\/db\.bundle\s+Trivy DB/);
    verifyBundleWithOpenssl(dir, keyFile);
    const sig = join(work, 'trivy-db.sig.der');
    writeFileSync(sig, Buffer.from(readFileSync(join(dir, 'signatures/trivy-db.sig'), 'utf8').trim(), 'base64'));
    const openssl = execFileSync(
      'openssl',
      ['dgst', '-sha256', '-verify', keyFile, '-signature', sig, join(dir, 'trivy/db.bundle')],
      { encoding: 'utf8' },
    );
    assert.match(openssl, /Verified OK/);

    const cache = join(work, 'cache', 'db');
    mkdirSync(cache, { recursive: true });
    execFileSync('tar', ['-xzf', join(dir, 'trivy/db.bundle'), '-C', cache]);
    assert.deepEqual(readdirSync(cache).sort(), ['metadata.json', 'trivy.db']);
    const metadata = JSON.parse(readFileSync(join(cache, 'metadata.json'), 'utf8'));
    assert.equal(metadata.Version, 2);
    assert.equal(metadata.DownloadedAt, '0001-01-01T00:00:00Z');
    const db = join(cache, 'trivy.db');
    const counts = await trivyCheck(db);
    assert.ok(counts.advisories > 0 && counts.vulnerabilities > 0, JSON.stringify(counts));
    await checkLookups(db);
    checkReport(dir);
  });

  async function checkLookups(db: string): Promise<void> {
    const semver = await lookup(db, 'npm', 'semver');
    const found = semver.get('npm::GitHub Security Advisory npm|CVE-2022-25883');
    assert.ok(found, JSON.stringify([...semver.keys()]));
    assert.deepEqual(found.advisory.VulnerableVersions, ['>=7.0.0, <7.5.2', '>=6.0.0, <6.3.1', '<5.7.2']);
    assert.deepEqual(found.advisory.PatchedVersions, ['7.5.2', '6.3.1', '5.7.2']);
    assert.equal(found.dataSource?.ID, 'ghsa');
    assert.equal(found.vulnerability?.Severity, 'MEDIUM');
    assert.ok(found.vulnerability?.Title);
    const regexp = (await lookup(db, 'npm', 'path-to-regexp')).get('npm::GitHub Security Advisory npm|CVE-2024-45296');
    assert.deepEqual(regexp?.advisory.PatchedVersions, ['0.1.10', '1.9.0', '8.0.0', '3.3.0', '6.3.0']);
    const net = (await lookup(db, 'go', 'golang.org/x/net')).get('go::The Go Vulnerability Database|CVE-2023-45288');
    assert.deepEqual(net?.advisory.VulnerableVersions, ['<0.23.0']);
    const requests = await lookup(db, 'pip', 'requests');
    assert.deepEqual(requests.get('pip::GitHub Security Advisory pip|CVE-2023-32681')?.advisory.VulnerableVersions, [
      '>=2.3.0, <2.31.0',
    ]);
    const log4j = await lookup(db, 'maven', 'org.apache.logging.log4j:log4j-core');
    const log4shell = log4j.get('maven::GitHub Security Advisory Maven|CVE-2021-44228');
    assert.deepEqual(log4shell?.advisory.VulnerableVersions, ['>=2.13.0, <2.15.0', '<2.3.1', '>=2.4, <2.12.2']);
    assert.ok(log4shell?.vulnerability?.CVSS, 'Log4Shell carries its CVSS');
    // Nothing leaks across ecosystems: the npm prefix does not reach pip's requests.
    assert.equal((await trivyLookup(db, 'npm', 'requests')).length, 0);
    const alma = await trivyOsLookup(db, 'alma 8', 'python3-requests');
    assert.equal(alma.find((f) => f.vulnerabilityId === 'CVE-2023-32681')?.advisory.FixedVersion, '2.20.0-3.el8_8');
  }

  /** report.json: what was left out, by reason; withdrawn Go advisories and Red Hat CSAF among them. */
  function checkReport(dir: string): void {
    const report = JSON.parse(readFileSync(join(dir, 'trivy/report.json'), 'utf8')) as {
      schemaVersion: number;
      skippedByReason: Record<string, number>;
      skipped: { upstreamId: string; reason: string }[];
    };
    assert.equal(report.schemaVersion, 2);
    assert.ok((report.skippedByReason.withdrawn ?? 0) >= 17, JSON.stringify(report.skippedByReason));
    assert.ok(report.skipped.some((s) => s.reason === 'format-unsupported'));
    const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
      contents: { path: string; signature?: string; contentType: string }[];
    };
    const entry = manifest.contents.find((c) => c.path === 'trivy/db.bundle');
    assert.equal(entry?.signature, 'signatures/trivy-db.sig');
    assert.equal(entry?.contentType, 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip');
  }

  test('a second run gives the same bundle bytes', async () => {
    const again = await submit('trivy-db');
    assert.equal(again.status, 'succeeded');
    assert.equal(again.exportId, first.exportId);
    assert.equal(again.bundle?.digest, first.bundle?.digest);
  });

  test('the OCI artifact: pushed as Trivy pulls it, and the same manifest from trivy-oci through skopeo', async () => {
    const oci = first.outputs.find((o) => o.driver === 'oci');
    assert.equal(oci?.status, 'succeeded', JSON.stringify(first.outputs));
    const repository = `${registry.host}/stella/exports/default/trivy-db`;
    assert.match(oci!.target!, new RegExp(`^${repository}:${first.exportId}@sha256:`));
    const pushed = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repository}:2`);
    const manifest = JSON.parse(pushed.stdout) as {
      artifactType: string;
      layers: { mediaType: string; digest: string; annotations: Record<string, string> }[];
    };
    assert.equal(manifest.artifactType, 'application/vnd.aquasec.trivy.config.v1+json');
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip');
    assert.equal(manifest.layers[0]!.annotations['org.opencontainers.image.title'], 'db.tar.gz');
    assert.equal(manifest.layers[0]!.digest, sha256(readFileSync(join(work, 'first', 'trivy/db.bundle'))));
    assert.equal(oci!.target!.split('@')[1], sha256(Buffer.from(pushed.stdout)));

    const layout = join(work, 'layout');
    const written = await cli(['--json', 'export', 'trivy-oci', join(work, 'first.tar.zst'), '--output', layout]);
    assert.equal(written.code, 0, written.stderr);
    const { manifestDigest } = JSON.parse(written.stdout) as { manifestDigest: string };
    assert.equal(manifestDigest, sha256(Buffer.from(pushed.stdout)), 'the layout holds the manifest the driver pushed');
    const local = await skopeo('inspect', '--raw', `oci:${layout}:2`);
    assert.equal(local.stdout, pushed.stdout);
    await skopeo('copy', '--dest-tls-verify=false', `oci:${layout}:2`, `docker://${registry.host}/mirror/trivy-db:2`);
    const back = join(work, 'back');
    await skopeo('copy', '--src-tls-verify=false', `docker://${registry.host}/mirror/trivy-db:2`, `oci:${back}:2`);
    assert.equal((await skopeo('inspect', '--raw', `oci:${back}:2`)).stdout, pushed.stdout);
    const layer = manifest.layers[0]!.digest.slice('sha256:'.length);
    assert.deepEqual(
      readFileSync(join(back, 'blobs/sha256', layer)),
      readFileSync(join(layout, 'blobs/sha256', layer)),
    );
  });

  test('a schema this build cannot write fails the run with ERR_EXPORT_UNSUPPORTED_SCHEMA and the runbook’s log key', async () => {
    await createProfile(profile('trivy-v3', ['http'], { schemaVersion: 3 }));
    const run = await submit('trivy-v3');
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'ERR_EXPORT_UNSUPPORTED_SCHEMA');
    assert.match(run.errors[0]!.message, /schemaVersion to 2/);
    const line = logs.find((l) => l.msg === 'export run failed' && l.runId === run.runId);
    assert.equal(line?.key, 'adapter.trivy.unsupported_schema_version', JSON.stringify(line));
    const refused = await cli(['export', 'profile', 'create', '--file', writeProfile('json-pinned')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /schemaVersion applies to trivy profiles only/);
  });

  const writeProfile = (name: string) => {
    const file = join(work, `${name}.json`);
    const doc = profile(name, ['http'], { schemaVersion: 2 });
    writeFileSync(file, JSON.stringify({ ...doc, spec: { ...doc.spec, kind: 'json', variant: 'raw' } }));
    return file;
  };

  test('a tampered db.bundle fails verification, naming it', async () => {
    const dir = join(work, 'first');
    const bundle = join(dir, 'trivy/db.bundle');
    const bytes = readFileSync(bundle);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    writeFileSync(bundle, bytes);
    const verified = await cli(['export', 'verify', dir]);
    assert.equal(verified.code, 3, verified.stdout);
    assert.match(verified.stdout, /FAIL\s+signatures\/trivy-db\.sig\s+detached signature over trivy\/db\.bundle/);
    assert.match(verified.stdout, /FAIL\s+trivy\/db\.bundle\s+checksums\.txt/);
  });

  test('a registry that refuses the push: errorCode=distribution, the bundle still downloadable', async () => {
    await registry.stop();
    await createProfile(profile('trivy-pushed', ['http', 'oci']));
    const run = await submit('trivy-pushed');
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'distribution');
    assert.match(run.errors[0]!.message, /still downloadable/);
    const { dir } = await download(run, 'refused');
    assert.ok(readFileSync(join(dir, 'trivy/db.bundle')).length > 0);
  });
});
