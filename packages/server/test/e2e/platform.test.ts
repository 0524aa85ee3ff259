import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeProgram } from '@stella/cli';
import { type S3Server, scratchDir, startS3, testBackend } from '@stella/testkit';
import { capture, startTestServer, type TestServer } from '../helpers.ts';

describe(`platform end to end on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const auth = () => ({ authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' });

  before(async () => {
    t = await startTestServer();
    token = await t.token();
  });
  after(() => t.close());

  test('health, readiness, metrics and OpenAPI answer', async () => {
    assert.equal((await fetch(`${t.base}/healthz`)).status, 200);
    const ready = await fetch(`${t.base}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.database, 'ok');
    assert.equal((await fetch(`${t.base}/metrics`)).status, 401, 'metrics need a token');
    const metrics = await (
      await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${await t.token('metrics:read')}` } })
    ).text();
    assert.match(metrics, /stella_http_requests_total/);
    assert.match(metrics, /# TYPE stella_queue_jobs gauge/);
    assert.match(metrics, /stella_process_resident_memory_bytes/);
    const openapi = (await (await fetch(`${t.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths['/api/v1/timeline/events']);
    assert.ok(openapi.paths['/token']);
  });

  test('the bootstrap credentials file is private to its owner', () => {
    const mode = statSync(join(t.home, 'credentials.json')).mode & 0o777;
    assert.equal(mode, 0o600);
  });

  test('timeline: append, list with cursor paging, fetch with ETag, export', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${t.base}/timeline/events`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'x-stella-trace-id': 'trace-e2e' },
        body: JSON.stringify({ category: 'runtime', kind: 'reach.runtime.ingested', details: { i } }),
      });
      assert.equal(res.status, 201);
      const event = (await res.json()) as { event_id: string; seq: number; trace_id: string };
      assert.equal(event.trace_id, 'trace-e2e');
      ids.push(event.event_id);
    }
    const page1 = (await (
      await fetch(`${t.base}/api/v1/timeline/events?limit=3&kind=reach.runtime.ingested`, { headers: auth() })
    ).json()) as { items: { event_id: string }[]; nextCursor: string };
    assert.deepEqual(
      page1.items.map((e) => e.event_id),
      ids.slice(0, 3),
    );
    const page2 = (await (
      await fetch(`${t.base}/api/v1/timeline/events?limit=3&kind=reach.runtime.ingested&cursor=${page1.nextCursor}`, {
        headers: auth(),
      })
    ).json()) as { items: { event_id: string }[]; nextCursor: string | null };
    assert.deepEqual(
      page2.items.map((e) => e.event_id),
      ids.slice(3),
    );
    assert.equal(page2.nextCursor, null);

    const one = await fetch(`${t.base}/api/v1/timeline/events/${ids[0]}`, { headers: auth() });
    assert.equal(one.status, 200);
    const etag = one.headers.get('etag')!;
    assert.match(etag, /^"sha256:[0-9a-f]{64}"$/);
    const again = await fetch(`${t.base}/api/v1/timeline/events/${ids[0]}`, {
      headers: { ...auth(), 'if-none-match': etag },
    });
    assert.equal(again.status, 304);

    const exported = await fetch(`${t.base}/api/v1/timeline/export`, { headers: auth() });
    assert.match(exported.headers.get('content-type') ?? '', /^application\/x-ndjson/);
    const lines = (await exported.text()).trim().split('\n');
    assert.ok(lines.length >= 5);
    const seqs = lines.map((l) => (JSON.parse(l) as { seq: number }).seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      'chain order',
    );

    // The server's check (the console's button) agrees with the export: every event, the last hash.
    const verified = await fetch(`${t.base}/api/v1/timeline/verify`, { headers: auth() });
    assert.equal(verified.status, 200);
    const last = JSON.parse(lines.at(-1)!) as { hash: string };
    const verdict = (await verified.json()) as { ok: boolean; checked: number; head: string };
    assert.equal(verdict.ok, true);
    assert.ok(verdict.checked >= lines.length);
    assert.equal(verdict.head === last.hash || verdict.checked > lines.length, true);
  });

  test('Idempotency-Key: a repeat returns the first answer and writes nothing twice', async () => {
    const post = (key: string, details: Record<string, unknown>) =>
      fetch(`${t.base}/timeline/events`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ category: 'runtime', kind: 'idempotent.append', details }),
      });
    const key = crypto.randomUUID();
    const first = await post(key, { n: 1 });
    assert.equal(first.status, 201);
    const firstBody = await first.text();
    const repeat = await post(key, { n: 1 });
    assert.equal(repeat.status, 201);
    assert.equal(repeat.headers.get('idempotency-replayed'), 'true');
    assert.equal(repeat.headers.get('location'), first.headers.get('location'));
    assert.equal(await repeat.text(), firstBody, 'the same bytes');
    const listed = (await (
      await fetch(`${t.base}/api/v1/timeline/events?kind=idempotent.append`, { headers: auth() })
    ).json()) as { items: unknown[] };
    assert.equal(listed.items.length, 1);

    const reused = await post(key, { n: 2 });
    assert.equal(reused.status, 422);
    assert.equal(((await reused.json()) as { code: string }).code, 'ERR_IDEMPOTENCY_KEY_REUSED');
    const malformed = await post('not a key!', { n: 3 });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { code: string }).code, 'ERR_IDEMPOTENCY_KEY_INVALID');

    const failedKey = crypto.randomUUID();
    const invalid = await fetch(`${t.base}/timeline/events`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json', 'idempotency-key': failedKey },
      body: JSON.stringify({ category: 'runtime', kind: 'Bad Kind', details: {} }),
    });
    assert.equal(invalid.status, 400);
    assert.equal((await post(failedKey, { n: 4 })).status, 201, 'a key whose request was refused is not consumed');
  });

  test('tokens for another tenant, missing scopes and forged tokens are refused', async () => {
    const other = await fetch(`${t.base}/api/v1/timeline/events`, {
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'globex' },
    });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(((await other.json()) as { code: string }).code, 'ERR_AUTH_TENANT_FORBIDDEN');

    const alt = await fetch(`${t.base}/api/v1/timeline/events`, {
      headers: { authorization: `Bearer ${token}`, 'x-stellaops-tenant': 'default' },
    });
    assert.equal(alt.status, 200, 'X-StellaOps-Tenant is accepted too');

    const narrow = await t.token('orch:read');
    const scoped = await fetch(`${t.base}/api/v1/timeline/events`, {
      headers: { authorization: `Bearer ${narrow}`, 'x-stella-tenant': 'default' },
    });
    assert.equal(scoped.status, 403);
    assert.equal(((await scoped.json()) as { code: string }).code, 'ERR_AUTH_SCOPE');

    const missing = await fetch(`${t.base}/api/v1/timeline/events`);
    assert.equal(missing.status, 401);
    assert.equal(((await missing.json()) as { code: string }).code, 'ERR_AUTH_MISSING_TOKEN');

    const [h, p] = token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), tid: 'globex' })).toString('base64url')}.${token.split('.')[2]}`;
    for (const bad of [none, forged, 'not-a-jwt']) {
      const res = await fetch(`${t.base}/api/v1/timeline/events`, {
        headers: { authorization: `Bearer ${bad}`, 'x-stella-tenant': 'default' },
      });
      assert.equal(res.status, 401, bad.slice(0, 20));
      assert.equal(((await res.json()) as { code: string }).code, 'ERR_AUTH_INVALID_TOKEN');
    }
  });

  test('bad requests get coded problems and change nothing', async () => {
    const before = (await (await fetch(`${t.base}/api/v1/timeline/events?limit=1000`, { headers: auth() })).json()) as {
      items: unknown[];
    };
    const post = (body: string, type = 'application/json') =>
      fetch(`${t.base}/timeline/events`, { method: 'POST', headers: { ...auth(), 'content-type': type }, body });

    const malformed = await post('{"category": ');
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { code: string }).code, 'ERR_MALFORMED_BODY');

    const wrongType = await post('category=x', 'application/xml');
    assert.equal(wrongType.status, 415);
    assert.equal(((await wrongType.json()) as { code: string }).code, 'ERR_UNSUPPORTED_MEDIA_TYPE');

    const invalid = await post(JSON.stringify({ category: 'Bad Category', kind: 'x', details: {} }));
    assert.equal(invalid.status, 400);
    assert.equal(((await invalid.json()) as { code: string }).code, 'ERR_VALIDATION');

    const huge = await post(
      JSON.stringify({ category: 'runtime', kind: 'x', details: { pad: 'x'.repeat(11 * 1024 * 1024) } }),
    );
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as { code: string }).code, 'ERR_BODY_TOO_LARGE');

    const unknown = await fetch(`${t.base}/no/such/route`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { code: string }).code, 'ERR_ROUTE_NOT_FOUND');

    const badCursor = await fetch(`${t.base}/api/v1/timeline/events?cursor=zzzz`, { headers: auth() });
    assert.equal(badCursor.status, 400);

    const after = (await (await fetch(`${t.base}/api/v1/timeline/events?limit=1000`, { headers: auth() })).json()) as {
      items: unknown[];
    };
    assert.equal(after.items.length, before.items.length, 'no event was written by a refused request');
  });

  test('a failed transaction leaves neither the change, its timeline event nor its outbox message', async () => {
    const { db, timeline } = t.server.ctx;
    const count = async () =>
      db.transaction(
        async (tx) => {
          const events = await tx.query<{ n: number }>('select count(*)::int as n from timeline_events');
          const outbox = await tx.query<{ n: number }>('select count(*)::int as n from outbox');
          return [events.rows[0]!.n, outbox.rows[0]!.n];
        },
        { tenant: 'default' },
      );
    const beforeCounts = await count();
    await assert.rejects(
      db.transaction(
        async (tx) => {
          await timeline.append(tx, 'default', { category: 'runtime', kind: 'crash.test', details: {} });
          await timeline.publish(tx, 'default', 'crash.test', {});
          throw new Error('crash between the write and the commit');
        },
        { tenant: 'default' },
      ),
      /crash between/,
    );
    assert.deepEqual(await count(), beforeCounts);
  });

  test('the timeline is append-only even for the application role', async () => {
    await assert.rejects(
      t.server.ctx.db.transaction((tx) => tx.query(`update timeline_events set details = '{}'`), { tenant: 'default' }),
      /append-only/,
    );
    await assert.rejects(
      t.server.ctx.db.transaction((tx) => tx.query('delete from timeline_events'), { tenant: 'default' }),
      /append-only/,
    );
  });

  test('the CLI prints a token, lists and verifies the timeline', async () => {
    const env = { STELLA_HOME: t.home, STELLA_SERVER: t.base };
    const run = async (argv: string[]) => {
      const out = capture();
      const err = capture();
      const code = await makeProgram({ argv, env, stdout: out.stream, stderr: err.stream }).run();
      return { code, out: out.text(), err: err.text() };
    };
    const tok = await run(['auth', 'token']);
    assert.equal(tok.code, 0, tok.err);
    assert.match(tok.out.trim(), /^[\w-]+\.[\w-]+\.[\w-]+$/);

    const list = await run(['--json', 'timeline', 'list', '--kind', 'reach.runtime.ingested']);
    assert.equal(list.code, 0, list.err);
    assert.ok((JSON.parse(list.out) as { items: unknown[] }).items.length >= 5);

    const verify = await run(['timeline', 'verify']);
    assert.equal(verify.code, 0, verify.err);
    assert.match(verify.out, /timeline chain OK/);

    const foreign = await run(['--tenant', 'globex', 'timeline', 'list']);
    assert.equal(foreign.code, 71, 'auth errors exit 71');

    const offline = await run(['--server', 'http://127.0.0.1:9', 'timeline', 'list']);
    assert.equal(offline.code, 70, 'transport errors exit 70');

    const usage = await run(['timeline', 'nonsense']);
    assert.equal(usage.code, 2);

    // Without --server/STELLA_SERVER the CLI goes where `stella serve` would listen: the same port setting.
    const port = new URL(t.base).port;
    const byPort = capture();
    const byPortErr = capture();
    const byPortCode = await makeProgram({
      argv: ['timeline', 'verify'],
      env: { STELLA_HOME: t.home, STELLA_SERVER_PORT: port },
      stdout: byPort.stream,
      stderr: byPortErr.stream,
    }).run();
    assert.equal(byPortCode, 0, byPortErr.text());
    assert.match(byPort.text(), /timeline chain OK/);
    const wrongPort = await makeProgram({
      argv: ['timeline', 'verify'],
      env: { STELLA_HOME: t.home, STELLA_SERVER_PORT: '9' },
      stdout: capture().stream,
      stderr: byPortErr.stream,
    }).run();
    assert.equal(wrongPort, 70, 'port 9 is not the server: transport error');
    assert.match(byPortErr.text(), /cannot reach http:\/\/127\.0\.0\.1:9\b/);

    const help = capture();
    const helpCode = await makeProgram({
      argv: ['--help'],
      env: { ...env, STELLA_CLIENT_SECRET: 'never-print-me', STELLA_TOKEN: 'never-print-me-either' },
      stdout: help.stream,
      stderr: help.stream,
    }).run();
    assert.equal(helpCode, 0);
    assert.match(help.text(), /STELLA_CLIENT_SECRET/);
    assert.ok(!help.text().includes('never-print-me'), 'secrets from the environment never appear in --help');
  });

  test('key rotation keeps old tokens valid and publishes both keys', async () => {
    const oldToken = await t.token();
    const rotated = await fetch(`${t.base}/api/v1/authority/keys/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${oldToken}` },
    });
    assert.equal(rotated.status, 200, await rotated.clone().text());
    const keys = (await (await fetch(`${t.base}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
    assert.ok(keys.keys.length >= 2);
    const still = await fetch(`${t.base}/api/v1/timeline/events`, {
      headers: { authorization: `Bearer ${oldToken}`, 'x-stella-tenant': 'default' },
    });
    assert.equal(still.status, 200);
    token = await t.token();
  });

  test('a second server on the same home or port is refused with an actionable message', async () => {
    const { loadServerConfig } = await import('../../src/index.ts');
    const { startServer } = await import('../../src/index.ts');
    if (testBackend() === 'pglite') {
      const sameHome = loadServerConfig({
        env: { STELLA_HOME: t.home, STELLA_SERVER_PORT: '0', STELLA_LOG_LEVEL: 'silent' },
      });
      await assert.rejects(startServer({ config: sameHome.config }), /another stella server .* is using/);
    }
    const port = new URL(t.base).port;
    const samePort = loadServerConfig({
      env: {
        STELLA_HOME: scratchDir('stella-port-'),
        STELLA_SERVER_PORT: port,
        STELLA_LOG_LEVEL: 'silent',
        // Another home on the same database needs the KEK its keys are sealed with.
        STELLA_KEK: readFileSync(join(t.home, 'keys', 'kek'), 'utf8').trim(),
        ...(t.databaseUrl ? { STELLA_DATABASE_URL: t.databaseUrl } : {}),
      },
    });
    await assert.rejects(startServer({ config: samePort.config }), /already in use: stop the other server/);
  });

  test('a restart reuses the same data and credentials', async () => {
    const count = async () =>
      (
        (await (await fetch(`${t.base}/api/v1/timeline/events?limit=1000`, { headers: auth() })).json()) as {
          items: unknown[];
        }
      ).items.length;
    const before = await count();
    await t.restart();
    token = await t.token();
    assert.equal(await count(), before);
  });
});

describe(`rate limiting end to end on ${testBackend()}`, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer(
      {},
      [
        'rate_limiting:',
        '  process_back_pressure_when_more_than_per_5min: 0',
        '  for_instance:',
        '    rules: [ { per_seconds: 60, max_requests: 3 } ]',
      ].join('\n'),
    );
  });
  after(() => t.close());

  test('the fourth request in a minute is denied with 429 and the spec body', async () => {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 4; i++) {
      last = await fetch(`${t.base}/healthz`);
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
    assert.equal(last!.headers.get('x-ratelimit-limit'), '3');
    const body = (await last!.json()) as { error: string; scope: string };
    assert.equal(body.error, 'rate_limit_exceeded');
    assert.equal(body.scope, 'instance');
  });
});

describe(`S3-compatible CAS end to end on ${testBackend()}`, () => {
  let t: TestServer;
  let s3: S3Server;
  before(async () => {
    s3 = await startS3();
    t = await startTestServer({
      STELLA_CAS_URL: `s3://${s3.bucket}/stella`,
      STELLA_CAS_ENDPOINT: s3.endpoint,
      STELLA_CAS_ACCESS_KEY_ID: s3.accessKeyId,
      STELLA_CAS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  });
  after(async () => {
    await t.close();
    await s3.stop();
  });

  test('the server stores and verifies blobs in the bucket and reports it ready', async () => {
    const ready = (await (await fetch(`${t.base}/readyz`)).json()) as { checks: Record<string, string> };
    assert.equal(ready.checks.cas, 'ok');
    const blobs = t.server.ctx.blobs.forTenant('default');
    const put = await blobs.put('evidence', Buffer.from('hello evidence'));
    assert.match(put.uri, /^cas:\/\/evidence\/[0-9a-f]{64}$/);
    assert.equal((await blobs.getBytes(put.uri)).toString(), 'hello evidence');
  });

  test('readiness fails when the bucket is gone', async () => {
    await s3.stop();
    const res = await fetch(`${t.base}/readyz`);
    assert.equal(res.status, 503);
    s3 = await startS3();
  });
});
