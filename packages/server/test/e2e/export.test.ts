// Export Center acceptance (issue 5), as a new user would try it: fixtures ingested by the CLI, a
// json:raw profile, `run submit --watch`, download, offline verify (ours and openssl), reproducible
// digests, tar listing, tenant isolation; then the bad inputs and faults.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { testBackend } from '@stella/testkit';
import {
  clientToken,
  ingestAllFixtures,
  runCli,
  startTestServer,
  type TestServer,
  verifyBundleWithOpenssl,
} from '../helpers.ts';

const PROFILE = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'raw-all', labels: { team: 'secops' } },
  spec: { kind: 'json', variant: 'raw', distribution: ['http'], compression: { codec: 'zstd', level: 3 } },
};

describe(`Export Center acceptance on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  let otherToken: string;
  let work: string;
  const otherSecret = 'globex-export-secret-0123456789';
  const cli = (args: string[]) => runCli(t, args);
  const api = async (path: string, init: RequestInit & { tenantToken?: string; tenant?: string } = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${init.tenantToken ?? token}`,
        'x-stella-tenant': init.tenant ?? (init.tenantToken ? 'globex' : 'default'),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string> | undefined),
      },
    });

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(otherSecret)}"\n      tenants: [globex]\n      scopes: [export:profile:manage, export:run, export:read, export:download]\n`;
    t = await startTestServer({ STELLA_EXPORT_KEEPALIVE_SECONDS: '1' }, yaml);
    token = await t.token();
    otherToken = await clientToken(t.base, 'globex-bot', otherSecret);
    work = join(t.home, 'work');
    mkdirSync(work);
    assert.ok((await ingestAllFixtures(t)) > 350);
  });
  after(() => t.close());

  let firstRun: string;
  let bundleFile: string;

  test('create a profile, submit --watch with progress, download, verify (stella and openssl), tar shows fixed owners and time', async () => {
    const profileFile = join(work, 'profile.json');
    writeFileSync(profileFile, JSON.stringify(PROFILE));
    const created = await cli(['export', 'profile', 'create', '--file', profileFile]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created raw-all@r1/);
    // The same document again is a no-op (200, still r1); other content under the name is a conflict.
    const again = await cli(['export', 'profile', 'create', '--file', profileFile]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /raw-all@r1 already holds this document: unchanged/);
    const changedFile = join(work, 'profile-changed.json');
    writeFileSync(
      changedFile,
      JSON.stringify({ ...PROFILE, metadata: { ...PROFILE.metadata, labels: { team: 'x' } } }),
    );
    const conflict = await cli(['export', 'profile', 'create', '--file', changedFile]);
    assert.equal(conflict.code, 25, conflict.stderr);
    assert.match(conflict.stderr, /^stella: ERR_EXPORT_007: profile raw-all already exists with other content/m);
    const list = await cli(['export', 'profile', 'list']);
    assert.match(list.stdout, /^PROFILE\s+KIND\s+VARIANT\s+DISTRIBUTION\s+RETENTION/m);
    assert.match(list.stdout, /raw-all\s+json\s+raw\s+http\s+default/);

    const submitted = await cli(['export', 'run', 'submit', '--profile', 'raw-all', '--watch']);
    assert.equal(submitted.code, 0, submitted.stdout + submitted.stderr);
    assert.match(submitted.stderr, /\[#+\.*\]\s+\d+%/, 'a progress bar on stderr');
    assert.match(submitted.stderr, /100%/);
    firstRun = /^(run-[0-9a-z]{26}) succeeded sha256:[0-9a-f]{64}$/m.exec(submitted.stdout)?.[1] ?? '';
    assert.ok(firstRun, submitted.stdout);

    bundleFile = join(work, 'bundle.tar.zst');
    const dl = await cli(['export', 'download', firstRun, '--output', bundleFile]);
    assert.equal(dl.code, 0, dl.stderr);
    const verified = await cli(['export', 'verify', bundleFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const keyFile = join(work, 'export-center.pub');
    assert.equal((await cli(['export', 'keys', '--output', keyFile])).code, 0);
    assert.equal((await cli(['export', 'verify', bundleFile, '--key', keyFile])).code, 0);

    const listing = execFileSync('tar', ['--zstd', '-tvf', bundleFile], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(listing.length >= 9, listing.join('\n'));
    const times = new Set(listing.map((l) => l.split(/\s+/).slice(3, 5).join(' ')));
    assert.equal(times.size, 1, 'one fixed mtime for every entry');
    for (const line of listing) assert.match(line, /^-rw-r--r-- root\/root /);
    const names = listing.map((l) => l.split(/\s+/).at(-1));
    assert.deepEqual(names, [...names].sort());
    for (const name of [
      'checksums.txt',
      'data/raw/advisories.jsonl',
      'data/raw/vex.jsonl',
      'export.json',
      'provenance.json',
      'signatures/export.sig',
    ]) {
      assert.ok(names.includes(name), name);
    }

    const dir = join(work, 'x');
    mkdirSync(dir);
    execFileSync('tar', ['--zstd', '-xf', bundleFile, '-C', dir]);
    verifyBundleWithOpenssl(dir, keyFile);
    const manifest = JSON.parse(readFileSync(join(dir, 'export.json'), 'utf8')) as {
      exportId: string;
      tenant: string;
      contents: { path: string; records: number }[];
    };
    assert.equal(manifest.tenant, 'default');
    const advisories = manifest.contents.find((c) => c.path === 'data/raw/advisories.jsonl')!.records;
    assert.ok(advisories > 200, `${advisories} advisories`);
    // Every JSONL record carries the upstream bytes; their hash is the stored content hash.
    const line = readFileSync(join(dir, 'data/raw/advisories.jsonl'), 'utf8').split('\n')[0]!;
    const record = JSON.parse(line) as { content: { raw: string }; upstream: { content_hash: string } };
    assert.equal(
      `sha256:${(await import('node:crypto')).createHash('sha256').update(record.content.raw).digest('hex')}`,
      record.upstream.content_hash,
    );
    const provenance = JSON.parse(readFileSync(join(dir, 'provenance.json'), 'utf8')) as {
      _type: string;
      subject: { name: string }[];
      predicate: { buildDefinition: { resolvedDependencies: { name: string; digest: { sha256: string } }[] } };
    };
    assert.equal(provenance._type, 'https://in-toto.io/Statement/v1');
    assert.ok(provenance.subject.some((s) => s.name === 'export.json'));
    const [materials] = provenance.predicate.buildDefinition.resolvedDependencies;
    assert.equal(materials?.name, 'provenance/materials.jsonl');
    const materialBytes = readFileSync(join(dir, 'provenance/materials.jsonl'));
    assert.equal(
      materials.digest.sha256,
      (await import('node:crypto')).createHash('sha256').update(materialBytes).digest('hex'),
    );
    const lines = materialBytes.toString('utf8').trim().split('\n');
    assert.ok(lines.length > 300);
    assert.match(lines[0]!, /^\{"digest":\{"sha256":"[0-9a-f]{64}"\},"name":"advisory_raw:/);
  });

  test('the same inputs give the same bundle digest; the run, manifest and provenance are served', async () => {
    const again = await cli(['export', 'run', 'submit', '--profile', 'raw-all', '--watch', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as { runId: string; bundle: { digest: string } };
    const first = (await (await api(`/api/export/runs/${firstRun}`)).json()) as {
      bundle: { digest: string };
      exportId: string;
      status: string;
    };
    assert.equal(first.status, 'succeeded');
    assert.equal(second.bundle.digest, first.bundle.digest);
    const manifest = await api(`/api/export/runs/${firstRun}/manifest`);
    assert.equal(manifest.status, 200);
    const etag = manifest.headers.get('etag')!;
    assert.equal(
      (await api(`/api/export/runs/${firstRun}/manifest`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    assert.equal(((await manifest.json()) as { exportId: string }).exportId, first.exportId);
    const provenance = await api(`/api/export/runs/${firstRun}/provenance`);
    assert.equal(provenance.status, 200);
  });

  test('download honours Range and ETag', async () => {
    const whole = readFileSync(bundleFile);
    const head = await api(`/api/export/runs/${firstRun}/download`, { headers: { range: 'bytes=10-99' } });
    assert.equal(head.status, 206);
    assert.equal(head.headers.get('content-range'), `bytes 10-99/${whole.length}`);
    assert.deepEqual(Buffer.from(await head.arrayBuffer()), whole.subarray(10, 100));
    const etag = head.headers.get('etag')!;
    assert.equal(
      (await api(`/api/export/runs/${firstRun}/download`, { headers: { 'if-none-match': etag } })).status,
      304,
    );
    const bad = await api(`/api/export/runs/${firstRun}/download`, {
      headers: { range: `bytes=${whole.length + 5}-` },
    });
    assert.equal(bad.status, 416);
    assert.equal(((await bad.json()) as { code: string }).code, 'ERR_EXPORT_010');
  });

  test('SSE replays stored events and resumes after Last-Event-ID', async () => {
    const res = await api(`/api/export/runs/${firstRun}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text();
    const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual([types[0], types[1]], ['queued', 'started']);
    assert.ok(types.includes('progress') && types.includes('artifact_ready'));
    assert.equal(types.at(-1), 'completed');
    const ready = /event: artifact_ready\ndata: (.*)/.exec(text)![1]!;
    const artifact = JSON.parse(ready) as { url: string; sha256: string; type: string };
    assert.equal(artifact.url, `/api/export/runs/${firstRun}/download`);
    assert.equal(artifact.type, 'bundle');
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const resumed = await (
      await api(`/api/export/runs/${firstRun}/events`, { headers: { 'last-event-id': String(ids.at(-2)) } })
    ).text();
    assert.deepEqual(
      [...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
      [ids.at(-1)],
    );
  });

  test('another tenant sees none of these profiles or runs', async () => {
    const profiles = (await (await api('/api/export/profiles', { tenantToken: otherToken })).json()) as {
      items: unknown[];
    };
    assert.deepEqual(profiles.items, []);
    const runs = (await (await api('/api/export/runs', { tenantToken: otherToken })).json()) as { items: unknown[] };
    assert.deepEqual(runs.items, []);
    const profile = await api('/api/export/profiles/raw-all', { tenantToken: otherToken });
    assert.equal(profile.status, 404);
    assert.equal(((await profile.json()) as { code: string }).code, 'ERR_EXPORT_002');
    const submit = await api('/api/export/runs', {
      tenantToken: otherToken,
      method: 'POST',
      body: JSON.stringify({ profileId: 'raw-all' }),
    });
    assert.equal(submit.status, 404);
    for (const path of ['', '/download', '/manifest', '/events']) {
      const res = await api(`/api/export/runs/${firstRun}${path}`, { tenantToken: otherToken });
      assert.equal(res.status, 404, path);
    }
    const selectors = await api('/api/export/runs', {
      method: 'POST',
      body: JSON.stringify({ profileId: 'raw-all', selectors: { tenant: 'globex' } }),
    });
    assert.equal(selectors.status, 400);
  });

  test('an invalid profile is refused with every schema error listed', async () => {
    const res = await api('/api/export/profiles', {
      method: 'POST',
      body: JSON.stringify({
        apiVersion: 'stellaops.io/export.v2',
        kind: 'ExportProfile',
        metadata: { name: 'X' },
        spec: { kind: 'json', variant: 'raw', distribution: [], bogus: 1 },
      }),
    });
    assert.equal(res.status, 400);
    const problem = (await res.json()) as { code: string; errors: { pointer: string }[] };
    assert.equal(problem.code, 'ERR_EXPORT_001');
    const pointers = problem.errors.map((e) => e.pointer).sort();
    for (const p of ['/apiVersion', '/metadata/name', '/spec', '/spec/distribution'])
      assert.ok(pointers.includes(p), `${p} in ${pointers}`);
    const file = join(work, 'bad.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'x' }));
    const local = await cli(['export', 'profile', 'create', '--file', file]);
    assert.equal(local.code, 2);
    assert.match(local.stderr, /\/apiVersion/);
  });

  test('updates make revisions; runs record theirs; clone and archive', async () => {
    const keepOne = JSON.stringify({ ...PROFILE, spec: { ...PROFILE.spec, retention: { mode: 'count', value: 1 } } });
    const updated = await api('/api/export/profiles/raw-all', {
      method: 'PUT',
      body: keepOne,
    });
    assert.equal(updated.status, 201);
    assert.equal(((await updated.json()) as { revision: string }).revision, 'r2');
    const same = await api('/api/export/profiles/raw-all', {
      method: 'PUT',
      body: keepOne,
    });
    assert.equal(same.status, 200);
    // The same document written as YAML is the same revision, over the API and from a .yaml file.
    const keepOneYaml = [
      'apiVersion: stellaops.io/export.v1',
      'kind: ExportProfile',
      'metadata:',
      '  name: raw-all',
      '  labels: {team: secops}',
      'spec:',
      '  kind: json',
      '  variant: raw',
      '  distribution: [http]',
      '  compression: {codec: zstd, level: 3}',
      '  retention: {mode: count, value: 1}',
      '',
    ].join('\n');
    const asYaml = await api('/api/export/profiles/raw-all', {
      method: 'PUT',
      body: keepOneYaml,
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(asYaml.status, 200, await asYaml.clone().text());
    assert.equal(((await asYaml.json()) as { revision: string }).revision, 'r2');
    const yamlFile = join(work, 'raw-all.yaml');
    writeFileSync(yamlFile, keepOneYaml);
    const fromFile = await cli(['export', 'profile', 'update', 'raw-all', '--file', yamlFile, '--json']);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal((JSON.parse(fromFile.stdout) as { revision: string }).revision, 'r2');
    // Duplicate keys and alias bombs are refused as malformed, before any schema check.
    for (const bad of [
      `${keepOneYaml}kind: ExportProfile\n`,
      `a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n`,
    ]) {
      const refused = await api('/api/export/profiles/raw-all', {
        method: 'PUT',
        body: bad,
        headers: { 'content-type': 'application/yaml' },
      });
      assert.equal(refused.status, 400);
      assert.equal(((await refused.json()) as { code: string }).code, 'ERR_MALFORMED_BODY');
    }
    const r1 = (await (await api('/api/export/profiles/raw-all?revision=r1')).json()) as { document: { spec: object } };
    assert.deepEqual(r1.document.spec, PROFILE.spec);
    const run = (await (await api(`/api/export/runs/${firstRun}`)).json()) as { profileRevision: string };
    assert.equal(run.profileRevision, 'r1');
    assert.equal((await cli(['export', 'profile', 'clone', 'raw-all', '--name', 'raw-copy'])).code, 0);
    assert.equal((await cli(['export', 'profile', 'archive', 'raw-copy'])).code, 0);
    const archived = await api('/api/export/runs', { method: 'POST', body: JSON.stringify({ profileId: 'raw-copy' }) });
    assert.equal(archived.status, 409);
  });

  test('empty selectors fail with ERR_EXPORT_EMPTY unless allowEmpty', async () => {
    const submit = (...extra: string[]) =>
      cli(['export', 'run', 'submit', '--profile', 'raw-all', '--watch', ...extra]);
    const empty = await submit('--selectors', 'sources=no-such-source');
    assert.equal(empty.code, 27, empty.stdout + empty.stderr);
    assert.match(empty.stderr, /ERR_EXPORT_EMPTY/);
    const allowed = await submit('--selectors', 'sources=no-such-source', '--allow-empty');
    assert.equal(allowed.code, 0, allowed.stderr);
    const narrow = await submit('--selectors', 'sources=osv-go', 'ecosystems=golang', '--json');
    assert.equal(narrow.code, 0, narrow.stderr);
    const view = JSON.parse(narrow.stdout) as { records: number };
    assert.ok(view.records > 0 && view.records < 300, String(view.records));
  });

  test('retention keeps the latest bundle, expires the rest (410), and the timeline records every transition', async () => {
    const pruned = await cli(['export', 'retention', 'run', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr);
    const report = JSON.parse(pruned.stdout) as { pruned: { runId: string }[] };
    assert.ok(report.pruned.some((p) => p.runId === firstRun));
    const first = (await (await api(`/api/export/runs/${firstRun}`)).json()) as { status: string };
    assert.equal(first.status, 'expired');
    const gone = await api(`/api/export/runs/${firstRun}/download`);
    assert.equal(gone.status, 410);
    assert.equal(((await gone.json()) as { code: string }).code, 'ERR_EXPORT_008');
    const latest = (await (await api('/api/export/runs?profile=raw-all&status=succeeded')).json()) as {
      items: { runId: string }[];
    };
    assert.equal(latest.items.length, 1);
    assert.equal((await api(`/api/export/runs/${latest.items[0]!.runId}/download`)).status, 200);
    const events = (await (await api('/api/v1/timeline/events?category=export&limit=1000')).json()) as {
      items: { kind: string }[];
    };
    const kinds = new Set(events.items.map((e) => e.kind));
    for (const k of [
      'export.profile.created',
      'export.run.queued',
      'export.run.started',
      'export.run.succeeded',
      'export.run.failed',
      'export.run.expired',
    ]) {
      assert.ok(kinds.has(k), `${k} in ${[...kinds]}`);
    }
  });

  test('quota 0 pauses the tenant with 429 ERR_EXPORT_QUOTA and quota headers; replay resubmits', async () => {
    assert.equal((await cli(['export', 'quota', 'set', '--runs-per-day', '0'])).code, 0);
    const refused = await api('/api/export/runs', { method: 'POST', body: JSON.stringify({ profileId: 'raw-all' }) });
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as { code: string }).code, 'ERR_EXPORT_QUOTA');
    assert.equal(refused.headers.get('x-stella-quota-limit'), '0');
    assert.equal(refused.headers.get('x-stella-quota-remaining'), '0');
    assert.ok(Number(refused.headers.get('x-stella-quota-reset')) > Date.now() / 1000);
    assert.equal((await cli(['export', 'quota', 'set', '--runs-per-day', '100'])).code, 0);
    const replay = await cli(['export', 'run', 'replay', firstRun, '--watch', '--json']);
    assert.equal(replay.code, 0, replay.stderr);
    const view = JSON.parse(replay.stdout) as { replayOf: string; priority: string; profileRevision: string };
    assert.equal(view.replayOf, firstRun);
    assert.equal(view.priority, 'catch-up');
    assert.equal(view.profileRevision, 'r1');
  });

  test('a flipped byte makes verify exit 3 naming the file', async () => {
    const dir = join(work, 'x');
    const path = join(dir, 'data/raw/vex.jsonl');
    const bytes = readFileSync(path);
    bytes[10] = bytes[10]! ^ 0x01;
    writeFileSync(path, bytes);
    const r = await cli(['export', 'verify', dir]);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /data\/raw\/vex\.jsonl/);
  });

  test('metrics carry the runbook names', async () => {
    const metricsText = async () =>
      (
        await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${await t.token('metrics:read')}` } })
      ).text();
    const lastRetention = (text: string) =>
      Number(/^exporter_retention_last_run_timestamp_seconds (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
    // The tenant's `stella export retention run` above set it, and every run moves it on, whatever it
    // pruned (the runbook: set on every run, so ExportCenterRetentionStale clears).
    const before = lastRetention(await metricsText());
    assert.ok(before > 0, `exporter_retention_last_run_timestamp_seconds ${before}`);
    const again = await cli(['export', 'retention', 'run', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const text = await metricsText();
    assert.ok(lastRetention(text) > before, `${lastRetention(text)} after ${before}`);
    for (const name of [
      'exporter_run_duration_seconds_bucket{le="1",profile_kind="json:raw"}',
      'exporter_run_failures_total{error_code="ERR_EXPORT_EMPTY",profile="raw-all"} 1',
      'exporter_run_bytes_total',
      'exporter_retention_pruned_total',
      'exporter_jobs_ready',
    ]) {
      assert.ok(text.includes(name), name);
    }
  });

  test('run lists page by cursor, newest first; a forged cursor is a 400', async () => {
    // The runbook's "Run stuck in `pending`": pending is queued.
    const pending = await api('/api/export/runs?status=pending');
    assert.equal(pending.status, 200);
    assert.deepEqual(await pending.json(), await (await api('/api/export/runs?status=queued')).json());
    assert.equal((await api('/api/export/runs?status=stuck')).status, 400);
    const all = (await (await api('/api/export/runs?limit=200')).json()) as { items: { runId: string }[] };
    assert.ok(all.items.length >= 4);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page = (await (await api(`/api/export/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
        items: { runId: string }[];
        nextCursor: string | null;
      };
      seen.push(...page.items.map((r) => r.runId));
      cursor = page.nextCursor;
    }
    assert.deepEqual(
      seen,
      all.items.map((r) => r.runId),
    );
    const bad = await api('/api/export/runs?cursor=bm90LWEtY3Vyc29y');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'ERR_EXPORT_001');
  });
});
