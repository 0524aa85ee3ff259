// Export distribution and faults (issue 5): object (s3rver) and oci (Debian's docker-registry)
// drivers end to end, the object store down (errorCode=distribution, bundle still downloadable),
// the signing key unusable (errorCode=signing), cancellation and Idempotency-Key on submission.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import {
  advisoryFixtures,
  type RegistryServer,
  runSkopeo,
  type S3Server,
  startRegistry,
  startS3,
  testBackend,
} from '@stella/testkit';
import { clientToken, runCli, startTestServer, type TestServer } from '../helpers.ts';

const ACME_SECRET = 'acme-export-secret-0123456789';

const profile = (name: string, distribution: string[]) => ({
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name },
  spec: { kind: 'json', variant: 'raw', distribution },
});

describe(`Export distribution and faults on ${testBackend()}`, () => {
  let t: TestServer;
  let s3: S3Server;
  let registry: RegistryServer;
  let token: string;
  const api = async (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        'x-stella-tenant': 'default',
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });
  const waitRun = async (runId: string) => {
    for (;;) {
      const run = (await (await api(`/api/export/runs/${runId}`)).json()) as {
        status: string;
        errorCode: string | null;
        errors: { code: string; message: string }[];
        outputs: { driver: string; status: string; target: string | null; error: string | null }[];
        bundle: { digest: string } | null;
        exportId: string;
      };
      if (!['queued', 'running'].includes(run.status)) return run;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const submit = async (
    profileId: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) => {
    const res = await api('/api/export/runs', {
      method: 'POST',
      body: JSON.stringify({ profileId, ...extra }),
      headers,
    });
    assert.equal(res.status, 202, await res.clone().text());
    return (await res.json()) as { runId: string };
  };

  before(async () => {
    s3 = await startS3();
    registry = await startRegistry();
    const yaml = `auth:\n  clients:\n    - clientId: acme-bot\n      secretHash: "${await hashSecret(ACME_SECRET)}"\n      tenants: [acme]\n      scopes: [export:profile:manage, export:run, export:read, export:download]\n`;
    t = await startTestServer(
      {
        STELLA_EXPORT_OBJECT_STORE_URL: `s3://${s3.bucket}/exports`,
        STELLA_EXPORT_OBJECT_STORE_ENDPOINT: s3.endpoint,
        STELLA_EXPORT_OBJECT_STORE_ACCESS_KEY_ID: s3.accessKeyId,
        STELLA_EXPORT_OBJECT_STORE_SECRET_ACCESS_KEY: s3.secretAccessKey,
        STELLA_EXPORT_OCI_REGISTRY: registry.url,
      },
      yaml,
    );
    token = await t.token();
    const r = await runCli(t, [
      'sources',
      'ingest',
      '--source',
      'osv-go',
      '--input',
      join(advisoryFixtures(), 'osv-go/current'),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    for (const [name, dist] of [
      ['everywhere', ['http', 'object', 'oci']],
      ['object-only', ['object']],
    ] as const) {
      assert.equal(
        (await api('/api/export/profiles', { method: 'POST', body: JSON.stringify(profile(name, [...dist])) })).status,
        201,
      );
    }
  });
  // Whatever before() got to start is stopped, even when a later step of it failed.
  after(async () => {
    await t?.close();
    await registry?.stop();
    await s3?.stop().catch(() => {});
  });

  test('object and oci drivers publish the bundle; skopeo reads the pushed artifact', async () => {
    const { runId } = await submit('everywhere');
    const run = await waitRun(runId);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const byDriver = Object.fromEntries(run.outputs.map((o) => [o.driver, o]));
    assert.equal(byDriver.http?.status, 'succeeded');
    assert.equal(byDriver.object?.status, 'succeeded');
    assert.equal(byDriver.oci?.status, 'succeeded');
    assert.match(
      byDriver.oci!.target!,
      new RegExp(`${registry.host}/stella/exports/default/everywhere:${run.exportId}@sha256:`),
    );
    const inspect = await runSkopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${registry.host}/stella/exports/default/everywhere:${run.exportId}`,
    );
    assert.equal(inspect.code, 0, inspect.stderr);
    const manifest = JSON.parse(inspect.stdout) as { artifactType: string; layers: { digest: string }[] };
    assert.equal(manifest.artifactType, 'application/vnd.stellaops.export.v1+json');
    assert.ok(manifest.layers.some((l) => l.digest === run.bundle!.digest));
  });

  test('object store down: errorCode=distribution, the bundle stays downloadable over http', async () => {
    await s3.stop();
    const { runId } = await submit('object-only');
    const run = await waitRun(runId);
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'distribution');
    assert.equal(run.errors[0]?.code, 'ERR_EXPORT_006');
    assert.match(run.errors[0]!.message, /stella export download/);
    const download = await api(`/api/export/runs/${runId}/download`);
    assert.equal(download.status, 200);
    assert.equal(download.headers.get('x-stella-bundle-digest'), run.bundle!.digest);
    await download.arrayBuffer();
    const watch = await runCli(t, ['export', 'run', 'watch', runId]);
    assert.equal(watch.code, 24, watch.stderr);
    assert.match(watch.stderr, /errorCode=distribution/);
  });

  test('Idempotency-Key: the same submission twice is one run', async () => {
    const key = crypto.randomUUID();
    const a = await submit('everywhere', {}, { 'idempotency-key': key });
    const b = await submit('everywhere', {}, { 'idempotency-key': key });
    assert.equal(a.runId, b.runId);
    await waitRun(a.runId);
  });

  test('cancelling a queued or running run; a finished one answers 409', async () => {
    const { runId } = await submit('everywhere');
    const cancel = await api(`/api/export/runs/${runId}/cancel`, { method: 'POST' });
    const body = (await cancel.json()) as { status: string; code?: string };
    if (cancel.status === 200) {
      assert.equal(body.status, 'cancelled');
      const run = await waitRun(runId);
      assert.equal(run.status, 'cancelled');
      const events = await (await api(`/api/export/runs/${runId}/events`)).text();
      assert.doesNotMatch(events, /event: completed/);
    } else {
      // The worker finished first: the run is terminal and cancel is refused.
      assert.equal(cancel.status, 409);
      assert.equal(body.code, 'ERR_EXPORT_007');
    }
    const again = await api(`/api/export/runs/${runId}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
  });

  test('an unusable signing key fails the run with errorCode=signing', async () => {
    // Tenant acme's stored export key is damaged before its first run: the key store cannot load it.
    await t.server.ctx.db.transaction(
      (q) =>
        q.query(
          `insert into signing_keys (tenant, keyid, purpose, algorithm, public_key_pem, private_key_pem)
           values ('acme', 'sha256:${'0'.repeat(64)}', 'export-center', 'ecdsa-p256', 'not a pem', 'not a pem')`,
        ),
      { tenant: 'acme' },
    );
    const acme = await clientToken(t.base, 'acme-bot', ACME_SECRET);
    const call = (path: string, body?: unknown) =>
      fetch(`${t.base}${path}`, {
        method: body ? 'POST' : 'GET',
        headers: { authorization: `Bearer ${acme}`, 'x-stella-tenant': 'acme', 'content-type': 'application/json' },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
    assert.equal((await call('/api/export/profiles', profile('acme-raw', ['http']))).status, 201);
    const { runId } = (await (await call('/api/export/runs', { profileId: 'acme-raw', allowEmpty: true })).json()) as {
      runId: string;
    };
    let run: { status: string; errorCode: string | null; errors: { code: string }[] };
    do {
      await new Promise((r) => setTimeout(r, 100));
      run = (await (await call(`/api/export/runs/${runId}`)).json()) as typeof run;
    } while (run.status === 'queued' || run.status === 'running');
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'signing');
    assert.equal(run.errors[0]?.code, 'ERR_EXPORT_005');
  });
});
