// The json:policy export end to end (issue 13 item 5), as an operator would run it: the example app's
// advisories and SBOM ingested, its policy published and activated, a json:policy profile run with
// `run submit --watch`, downloaded and verified (stella and openssl), the bundle's signed snapshot and
// evaluated findings checked, a second run giving the same digest; then the policySnapshotMode
// refusals and another tenant that has no snapshot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { RECOMPUTE_QUEUE } from '@stella/findings';
import { testBackend } from '@stella/testkit';
import {
  clientToken,
  runCli,
  startTestServer,
  type TestServer,
  verifyBundleWithOpenssl,
  verifyDsseWithOpenssl,
} from '../helpers.ts';

const EXAMPLE = new URL('../../../../examples/node-app/', import.meta.url);
const POLICY_PROFILE = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'policy-all' },
  spec: { kind: 'json', variant: 'policy', distribution: ['http'], compression: { codec: 'zstd', level: 3 } },
};
const EXPECTED_VERDICTS = [
  ['CVE-2022-25883', 'pass'],
  ['CVE-2024-45296', 'fail'],
  ['CVE-2025-46653', 'warn'],
  ['GHSA-ghmj-crg5-xw2j', 'warn'],
];
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface Envelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}
interface Evaluation {
  id: string;
  vulnerabilityId: string;
  snapshotId: string;
  policy: { verdict: string; rule: string };
}
interface RunView {
  runId: string;
  status: string;
  policySnapshotId: string | null;
  bundle: { digest: string };
}

describe(`json:policy export on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  let otherToken: string;
  let work: string;
  let snapshotId: string;
  const otherSecret = 'globex-policy-export-secret-0123456789';
  const cli = (args: string[]) => runCli(t, args);
  const api = (path: string, init: RequestInit & { as?: string } = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${init.as ?? token}`,
        'x-stella-tenant': init.as ? 'globex' : 'default',
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
  const createProfile = async (doc: object, as?: string) => {
    const res = await api('/api/export/profiles', { method: 'POST', body: JSON.stringify(doc), ...(as ? { as } : {}) });
    assert.equal(res.status, 201, await res.text());
  };
  const submit = (body: object, as?: string) =>
    api('/api/export/runs', { method: 'POST', body: JSON.stringify(body), ...(as ? { as } : {}) });

  /**
   * Waits (bounded) until the four findings carry verdicts and nothing is left to recompute them: every
   * recompute rewrites evaluatedAt, so a late one (an ingest event the outbox delivers after the
   * activation) would change the rows between two runs, and with them, rightly, the bundle.
   */
  const settle = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { items } = (await (await api('/findings')).json()) as { items: { verdict: string | null }[] };
      const settled = items.length === 4 && items.every((f) => f.verdict !== null);
      if (settled && (await recomputesPending()) === 0) return;
      if (Date.now() > deadline) assert.fail(`findings did not settle: ${JSON.stringify(items)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  /** Undelivered outbox events of the tenant (each may queue a recompute) plus queued or running recomputes. */
  const recomputesPending = async () => {
    const { db, queue } = t.server.ctx;
    const outbox = await db.transaction(
      (tx) => tx.query<{ n: number }>('select count(*)::int as n from outbox where delivered_at is null'),
      { tenant: 'default' },
    );
    const recompute = (await queue.stats()).find((s) => s.queue === RECOMPUTE_QUEUE);
    return outbox.rows[0]!.n + (recompute ? recompute.queued + recompute.active : 0);
  };

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(otherSecret)}"\n      tenants: [globex]\n      scopes: [export:profile:manage, export:run, export:read, export:download]\n`;
    t = await startTestServer({}, yaml);
    token = await t.token();
    otherToken = await clientToken(t.base, 'globex-bot', otherSecret);
    work = join(t.home, 'work');
    mkdirSync(work);
    const advisories = await cli([
      'sources',
      'ingest',
      '--source',
      'ghsa',
      '--input',
      join(EXAMPLE.pathname, 'advisories'),
    ]);
    assert.equal(advisories.code, 0, advisories.stdout + advisories.stderr);
    const sbom = await cli(['sbom', 'ingest', new URL('sbom.cdx.json', EXAMPLE).pathname]);
    assert.equal(sbom.code, 0, sbom.stderr);
    const publish = await cli(['--json', 'policy', 'publish', new URL('policy.yaml', EXAMPLE).pathname, '--activate']);
    assert.equal(publish.code, 0, publish.stderr);
    snapshotId = (JSON.parse(publish.stdout) as { id: string }).id;
    await settle();
  });
  after(() => t.close());

  let firstRun: RunView;

  test('a json:policy run: verified bundle with the signed snapshot and the evaluated findings', async () => {
    const profileFile = join(work, 'policy-profile.json');
    writeFileSync(profileFile, JSON.stringify(POLICY_PROFILE));
    const created = await cli(['export', 'profile', 'create', '--file', profileFile]);
    assert.equal(created.code, 0, created.stderr);
    const submitted = await cli(['--json', 'export', 'run', 'submit', '--profile', 'policy-all', '--watch']);
    assert.equal(submitted.code, 0, submitted.stdout + submitted.stderr);
    firstRun = JSON.parse(submitted.stdout) as RunView;
    assert.equal(firstRun.status, 'succeeded');
    assert.equal(firstRun.policySnapshotId, snapshotId, 'no id given: the active snapshot is recorded on the run');

    const bundleFile = join(work, 'policy.tar.zst');
    assert.equal((await cli(['export', 'download', firstRun.runId, '--output', bundleFile])).code, 0);
    const verified = await cli(['export', 'verify', bundleFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const keyFile = join(work, 'export-center.pub');
    assert.equal((await cli(['export', 'keys', '--output', keyFile])).code, 0);
    const dir = join(work, 'x');
    mkdirSync(dir);
    execFileSync('tar', ['--zstd', '-xf', bundleFile, '-C', dir]);
    verifyBundleWithOpenssl(dir, keyFile);
    await checkSnapshotFile(dir);
    checkEvaluations(dir);
    checkManifests(dir);
  });

  /** data/policy/snapshot.json is the active snapshot, and its DSSE envelope verifies with openssl over PAE. */
  async function checkSnapshotFile(dir: string): Promise<void> {
    const text = readFileSync(join(dir, 'data/policy/snapshot.json'), 'utf8');
    assert.ok(text.endsWith('}\n'));
    const snapshot = JSON.parse(text) as { id: string; policy: unknown; envelope: Envelope; signerKeyid: string };
    assert.equal(snapshot.id, snapshotId);
    const payload = Buffer.from(snapshot.envelope.payload, 'base64');
    assert.deepEqual(JSON.parse(payload.toString('utf8')), snapshot.policy);
    assert.equal(`sha256:${sha256(payload)}`, snapshot.id, 'the id is the digest of the signed canonical policy');
    const keys = (await (await api('/policy/keys')).json()) as { keys: { keyid: string; publicKeyPem: string }[] };
    const key = keys.keys.find((k) => k.keyid === snapshot.envelope.signatures[0]!.keyid);
    assert.ok(key, 'the signing key is listed');
    assert.equal(key.keyid, snapshot.signerKeyid);
    verifyDsseWithOpenssl(snapshot.envelope, key.publicKeyPem);
  }

  /** data/policy/evaluations.jsonl: the four findings in id order with their verdicts; materials name each line by digest. */
  function checkEvaluations(dir: string): void {
    const lines = readFileSync(join(dir, 'data/policy/evaluations.jsonl'), 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'every line ends with a newline');
    const evaluations = lines.map((l) => JSON.parse(l) as Evaluation);
    assert.deepEqual(
      evaluations.map((e) => e.id),
      evaluations.map((e) => e.id).sort(),
    );
    assert.deepEqual(evaluations.map((e) => [e.vulnerabilityId, e.policy.verdict]).sort(), EXPECTED_VERDICTS);
    assert.ok(evaluations.every((e) => e.snapshotId === snapshotId));
    const materials = readFileSync(join(dir, 'provenance/materials.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; uri: string; digest: { sha256: string } });
    assert.deepEqual(
      materials.find((m) => m.name === snapshotId),
      { name: snapshotId, uri: `stella://policy_snapshot/${snapshotId}`, digest: { sha256: snapshotId.slice(7) } },
    );
    lines.forEach((line, i) => {
      const material = materials.find((m) => m.name === evaluations[i]!.id);
      assert.equal(material?.digest.sha256, sha256(line));
    });
    assert.ok(
      materials.some((m) => m.uri.startsWith('stella://advisory_raw/')),
      'json:raw materials are kept',
    );
  }

  /** export.json and provenance.json name the snapshot; the counts cover the policy files. */
  function checkManifests(dir: string): void {
    const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
      policySnapshotId: string;
      profile: { kind: string; variant: string };
      counts: Record<string, number>;
    };
    assert.equal(manifest.policySnapshotId, snapshotId);
    assert.deepEqual([manifest.profile.kind, manifest.profile.variant], ['json', 'policy']);
    assert.equal(manifest.counts['data/policy/evaluations.jsonl'], 4);
    assert.equal(manifest.counts['data/policy/snapshot.json'], 1);
    assert.equal(manifest.counts['data/raw/advisories.jsonl'], 4);
    const provenance = JSON.parse(readFileSync(join(dir, 'provenance.json'), 'utf8')) as {
      predicate: { buildDefinition: { buildType: string; resolvedDependencies: { name: string; uri: string }[] } };
    };
    const { buildType, resolvedDependencies } = provenance.predicate.buildDefinition;
    assert.match(buildType, /json-policy\/v1$/);
    assert.deepEqual(
      resolvedDependencies.map((d) => d.uri.replace(/exports\/exp-[0-9a-f]+/, 'exports/…')),
      ['stella://exports/…/provenance/materials.jsonl', `stella://policy_snapshot/${snapshotId}`],
    );
  }

  test('the same rows give the same bundle digest; a replay keeps the snapshot id', async () => {
    const again = await cli(['--json', 'export', 'run', 'submit', '--profile', 'policy-all', '--watch']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as RunView).bundle.digest, firstRun.bundle.digest);
    const replay = await cli(['--json', 'export', 'run', 'replay', firstRun.runId, '--watch']);
    assert.equal(replay.code, 0, replay.stderr);
    const replayed = JSON.parse(replay.stdout) as RunView;
    assert.equal(replayed.policySnapshotId, snapshotId);
    assert.equal(replayed.bundle.digest, firstRun.bundle.digest);
    const shown = await cli(['--json', 'export', 'run', 'show', replayed.runId]);
    assert.equal((JSON.parse(shown.stdout) as RunView).policySnapshotId, snapshotId);
  });

  test('policySnapshotMode: required needs a known id, none refuses one; the CLI passes --policy-snapshot', async () => {
    const spec = (name: string, variant: string, mode: string) => ({
      ...POLICY_PROFILE,
      metadata: { name },
      spec: { ...POLICY_PROFILE.spec, variant, policySnapshotMode: mode },
    });
    await createProfile(spec('policy-required', 'policy', 'required'));
    await createProfile(spec('raw-none', 'raw', 'none'));
    const problem = async (res: Response) =>
      (await res.json()) as { code: string; detail: string; errors?: { pointer: string }[] };

    const missing = await submit({ profileId: 'policy-required' });
    assert.equal(missing.status, 400);
    const missingProblem = await problem(missing);
    assert.equal(missingProblem.code, 'ERR_EXPORT_001');
    assert.match(missingProblem.detail, /policySnapshotId: the profile requires a policy snapshot id/);
    assert.deepEqual(
      missingProblem.errors?.map((e) => e.pointer),
      ['/policySnapshotId'],
    );

    const unknown = await submit({ profileId: 'policy-required', policySnapshotId: `sha256:${'0'.repeat(64)}` });
    assert.equal(unknown.status, 404);
    assert.equal((await problem(unknown)).code, 'ERR_POLICY_NOT_FOUND');

    const forbidden = await submit({ profileId: 'raw-none', policySnapshotId: snapshotId });
    assert.equal(forbidden.status, 400);
    const forbiddenProblem = await problem(forbidden);
    assert.equal(forbiddenProblem.code, 'ERR_EXPORT_001');
    assert.match(forbiddenProblem.detail, /policySnapshotMode: none/);
    assert.deepEqual(
      forbiddenProblem.errors?.map((e) => e.pointer),
      ['/policySnapshotId'],
    );

    const given = await cli([
      '--json',
      'export',
      'run',
      'submit',
      '--profile',
      'policy-required',
      '--policy-snapshot',
      snapshotId,
      '--watch',
    ]);
    assert.equal(given.code, 0, given.stderr);
    const run = JSON.parse(given.stdout) as RunView;
    assert.equal(run.policySnapshotId, snapshotId);
    assert.equal(run.bundle.digest === firstRun.bundle.digest, false, 'another profile, another bundle');
  });

  test("another tenant has no active snapshot and cannot name this tenant's", async () => {
    await createProfile(POLICY_PROFILE, otherToken);
    const none = await submit({ profileId: 'policy-all' }, otherToken);
    assert.equal(none.status, 400);
    const detail = ((await none.json()) as { detail: string }).detail;
    assert.match(detail, /pass policySnapshotId or activate a policy \(`stella policy publish <file> --activate`\)/);
    const foreign = await submit({ profileId: 'policy-all', policySnapshotId: snapshotId }, otherToken);
    assert.equal(foreign.status, 404);
    assert.equal(((await foreign.json()) as { code: string }).code, 'ERR_POLICY_NOT_FOUND');
  });
});
