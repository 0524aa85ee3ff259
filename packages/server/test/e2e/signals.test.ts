// Signals end to end against a real server: the examples and error cases of seeds 000 and 001, the
// callgraph routes, reachability facts surviving a restart, VEX validated against the published
// schemas, tenant isolation, and the offline/CLI verbs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { hashSecret } from '@stella/authority';
import { advisoryFixtures } from '@stella/testkit';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { capture, startTestServer, type TestServer } from '../helpers.ts';

const SCHEMAS = `${advisoryFixtures()}/schemas`;

function graph() {
  return {
    schema: 'stella.callgraph.v1',
    metadata: { language: 'Python', component: 'web', version: '1.0.0' },
    nodes: [
      { id: 'pkg:python/app:main', name: 'main' },
      { id: 'pkg:python/django.views:View.as_view', name: 'View.as_view', purl: 'pkg:pypi/django@4.2.7' },
      { id: 'pkg:python/django.utils:parse', name: 'parse', purl: 'pkg:pypi/django@4.2.7' },
      { id: 'pkg:python/django.utils:unused', name: 'unused', purl: 'pkg:pypi/django@4.2.7' },
    ],
    edges: [
      { sourceId: 'pkg:python/app:main', targetId: 'pkg:python/django.views:View.as_view', kind: 'static' },
      { sourceId: 'pkg:python/django.views:View.as_view', targetId: 'pkg:python/django.utils:parse', kind: 'static' },
    ],
    entrypoints: [{ nodeId: 'pkg:python/app:main', kind: 'http', order: 0 }],
  };
}

const event = {
  symbolId: 'pkg:python/django.views:View.as_view',
  codeId: 'buildid-abc123',
  purl: 'pkg:pypi/django@4.2.7',
  loaderBase: '0x7f23c01000',
  processId: 214,
  processName: 'uwsgi',
  containerId: 'c123',
  socketAddress: '10.0.0.5:8443',
  hitCount: 3,
  observedAt: '2025-11-26T12:00:00Z',
  metadata: { pid: '214' },
};

describe('signals end to end', () => {
  let t: TestServer;
  let token: string;
  let globexToken: string;
  const globexSecret = 'globex-secret-value-0123456789';

  const call = (path: string, init: RequestInit & { tenantToken?: string } = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${init.tenantToken ?? token}`,
        'x-stella-tenant': init.tenantToken ? 'globex' : 'default',
        ...(init.headers as Record<string, string>),
      },
    });
  const json = (path: string, body: unknown, init: RequestInit & { tenantToken?: string } = {}) =>
    call(path, {
      ...init,
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    });

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(globexSecret)}"\n      tenants: [globex]\n      scopes: [signals:read, signals:write]\n`;
    // A small decompression cap keeps the gzip-bomb case fast; the default is 256 MiB.
    t = await startTestServer({ STELLA_SIGNALS_MAX_DECOMPRESSED_BYTES: String(8 * 1024 * 1024) }, yaml);
    token = await t.token();
    const res = await fetch(`${t.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'globex-bot',
        client_secret: globexSecret,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    globexToken = ((await res.json()) as { access_token: string }).access_token;
  });
  after(() => t.close());

  let callgraphId = '';
  let graphHash = '';

  test('POST /signals/callgraphs answers 202 with callgraphId, graphHash and Location; GET and /manifest read it back', async () => {
    const res = await json('/signals/callgraphs', graph());
    assert.equal(res.status, 202);
    const body = (await res.json()) as { callgraphId: string; graphHash: string; nodeCount: number };
    callgraphId = body.callgraphId;
    graphHash = body.graphHash;
    assert.equal(res.headers.get('location'), `/signals/callgraphs/${callgraphId}`);
    assert.equal(body.nodeCount, 4);
    const got = (await (await call(`/signals/callgraphs/${callgraphId}`)).json()) as {
      graphHash: string;
      packages: string[];
    };
    assert.equal(got.graphHash, graphHash);
    assert.deepEqual(got.packages, ['pkg:pypi/django']);
    const byHash = await call(`/signals/callgraphs/${graphHash}`);
    assert.equal(byHash.status, 200);
    const manifest = (await (await call(`/signals/callgraphs/${callgraphId}/manifest`)).json()) as {
      manifest: { digest: string };
      dsse: { signatures: unknown[] };
    };
    assert.equal(manifest.manifest.digest, graphHash);
    assert.equal(manifest.dsse.signatures.length, 1);
    const bad = await json('/signals/callgraphs', {
      ...graph(),
      edges: [{ sourceId: 'pkg:python/app:main', targetId: 'ghost' }],
    });
    assert.equal(bad.status, 400);
    const problem = (await bad.json()) as { code: string; detail: string };
    assert.equal(problem.code, 'ERR_SIGNALS_CALLGRAPH_INVALID');
    assert.match(problem.detail, /target "ghost" is not a node/);
  });

  test("another tenant's callgraph id is 404, not 403", async () => {
    const res = await call(`/signals/callgraphs/${callgraphId}`, { tenantToken: globexToken });
    assert.equal(res.status, 404);
    const ingest = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=s`, {
      tenantToken: globexToken,
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify(event)}\n`,
    });
    assert.equal(ingest.status, 404);
  });

  test('seed 001 smoke test: gzip NDJSON with callgraphId, component and version answers 202 with the SubjectKey', async () => {
    const res = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&component=web&version=1.0.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: gzipSync(`${JSON.stringify(event)}\n`, { level: 6 }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const body = (await res.json()) as { SubjectKey: string; subjectKey: string; events: number };
    assert.equal(body.SubjectKey, 'web|1.0.0');
    assert.equal(body.events, 1);
    // X-Callgraph-Id works as well as the query parameter.
    const viaHeader = await call('/signals/runtime-facts/ndjson?scanId=scan-42', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'x-callgraph-id': callgraphId, 'x-analysis-id': 'an-1' },
      body: `${JSON.stringify({ ...event, hitCount: 1 })}\n`,
    });
    assert.equal(viaHeader.status, 202);
  });

  test('seed 001 errors are 400 with exactly the documented messages', async () => {
    const post = (query: string, body: string) =>
      call(`/signals/runtime-facts/ndjson${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
    const cases: [Response, string][] = [
      [await post('?scanId=s', `${JSON.stringify(event)}\n`), 'callgraphId is required'],
      [await post(`?callgraphId=${callgraphId}&scanId=s`, ''), 'runtime fact stream was empty'],
      [
        await post(`?callgraphId=${callgraphId}`, `${JSON.stringify(event)}\n`),
        'Subject must include scanId/imageDigest/component+version',
      ],
      [
        await post(`?callgraphId=${callgraphId}&scanId=s`, `${JSON.stringify(event)}\n{"hitCount":1}\n`),
        'runtime fact on line 2 is missing symbolId',
      ],
      [
        await post(`?callgraphId=${callgraphId}&scanId=s`, `${JSON.stringify(event)}\nnot json\n`),
        'line 2 is not valid JSON; the batch was rejected and nothing was stored',
      ],
      [await json('/signals/runtime-facts', { subject: { scanId: 's' }, events: [event] }), 'callgraphId is required'],
      [
        await json('/signals/runtime-facts', { callgraphId, subject: { scanId: 's' }, events: [] }),
        'runtime fact stream was empty',
      ],
      [
        await json('/signals/runtime-facts', { callgraphId, subject: {}, events: [event] }),
        'Subject must include scanId/imageDigest/component+version',
      ],
    ];
    for (const [res, message] of cases) {
      assert.equal(res.status, 400, message);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const problem = (await res.json()) as { detail: string; code: string };
      assert.equal(problem.detail, message);
      assert.equal(problem.code, 'ERR_SIGNALS_RUNTIME_INVALID');
    }
    const ok = await json('/signals/runtime-facts', {
      callgraphId,
      subject: { imageDigest: 'sha256:abc' },
      events: [event],
    });
    assert.equal(ok.status, 202);
    assert.equal(((await ok.json()) as { subjectKey: string }).subjectKey, 'sha256:abc');
  });

  test('an oversize upload and a gzip bomb are refused with 413', async () => {
    // Blank lines of 4,000 spaces: few enough lines that the decompression cap, not signals.maxLines, stops it.
    const blank = Buffer.concat([Buffer.alloc(4000, 0x20), Buffer.from('\n')]);
    const bomb = gzipSync(Buffer.concat(Array.from({ length: Math.ceil((64 * 1024 * 1024) / 4001) }, () => blank)));
    assert.ok(bomb.length < 1024 * 1024);
    const res = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=bomb`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
      body: bomb,
    });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { detail: string }).detail, /decompresses to more than/);
    // A 2 GB upload is refused from its Content-Length before a byte of it is read.
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${t.base}/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=big`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'x-stella-tenant': 'default',
          'content-type': 'application/x-ndjson',
          'content-length': String(2 * 1024 ** 3),
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write('{"symbolId":"a","hitCount":1}\n');
    });
    assert.equal(status, 413);
  });

  test('seed 000: /api/v1/runtime-facts?graph_hash= takes a gzip trace and answers Content-SHA256 (of the bytes sent), X-Decoded-SHA256, X-Graph-Hash, X-Ingest-Id', async () => {
    const trace = `${JSON.stringify({ symbolId: 'pkg:python/django.utils:parse', hitCount: 2 })}\n`;
    const file = join(t.home, 'seed-000-trace.ndjson.gz');
    writeFileSync(file, gzipSync(trace));
    const res = await call(`/api/v1/runtime-facts?graph_hash=${graphHash}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: readFileSync(file),
    });
    assert.equal(res.status, 202, await res.clone().text());
    // The seed's check, as written: sha256sum of the uploaded file equals Content-SHA256.
    assert.equal(
      res.headers.get('content-sha256'),
      execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0],
    );
    assert.equal(res.headers.get('x-decoded-sha256'), createHash('sha256').update(trace).digest('hex'));
    assert.equal(res.headers.get('x-graph-hash'), graphHash);
    const ingestId = res.headers.get('x-ingest-id');
    assert.match(String(ingestId), /^ing-[0-9a-f]{32}$/);
    // Retrying the same trace does not count twice.
    const again = await call(`/api/v1/runtime-facts?graph_hash=${graphHash}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: gzipSync(trace),
    });
    assert.equal(again.headers.get('x-ingest-id'), ingestId);
    assert.equal(((await again.json()) as { duplicate: boolean }).duplicate, true);
    const timeline = (await (await call('/api/v1/timeline/events?kind=reach.runtime.ingested')).json()) as {
      items: { details: { batches: { ingestId: string; casDigest: string }[] } }[];
    };
    assert.ok(
      timeline.items.some((e) =>
        e.details.batches.some(
          (b) =>
            b.ingestId === ingestId && b.casDigest === `sha256:${createHash('sha256').update(trace).digest('hex')}`,
        ),
      ),
    );
  });

  test('facts: recompute gives states with witness paths, a Contested target, unknowns, VEX that validates, and survives a restart', async () => {
    const targets = [
      { symbolId: 'pkg:python/django.utils:parse', advisoryId: 'GHSA-reach-able1' },
      { symbolId: 'pkg:python/django.utils:unused', advisoryId: 'GHSA-not-reach01' },
      { symbolId: 'pkg:python/django.utils:missing', advisoryId: 'GHSA-unknown-001' },
    ];
    const res = await json('/signals/reachability/recompute', { subjectKey: 'web|1.0.0', targets, wait: true });
    assert.equal(res.status, 200, await res.clone().text());
    const factRes = await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}`);
    assert.equal(factRes.status, 200);
    const fact = (await factRes.json()) as {
      fact_version: number;
      states: { target: string; state: string; bucket: string; path: string[] }[];
      unknownsCount: number;
      digest: string;
    };
    assert.ok(fact.fact_version >= 1);
    const parse = fact.states.find((s) => s.target === 'pkg:python/django.utils:parse')!;
    assert.equal(parse.bucket, 'runtime');
    assert.deepEqual(parse.path, [
      'pkg:python/django.utils:parse',
      'pkg:python/django.views:View.as_view',
      'pkg:python/app:main',
    ]);
    assert.equal(
      fact.states.find((s) => s.target === 'pkg:python/django.utils:unused')!.state,
      'StaticallyUnreachable',
    );
    assert.equal(fact.unknownsCount, 1);
    const unknowns = (await (await call(`/signals/unknowns/${encodeURIComponent('web|1.0.0')}`)).json()) as {
      unknowns: { reason: string }[];
    };
    assert.deepEqual(
      unknowns.unknowns.map((u) => u.reason),
      ['symbol_not_in_graph'],
    );

    const openvexSchema = JSON.parse(readFileSync(join(SCHEMAS, 'openvex/openvex_json_schema.json'), 'utf8'));
    const ajv20 = new Ajv2020({ strict: false, allErrors: true });
    formats.default(ajv20);
    ajv20.addFormat('iri', true);
    const openvex = (await (
      await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}/vex?format=openvex`)
    ).json()) as { statements: { vulnerability: { name: string }; status: string; justification?: string }[] };
    assert.ok(ajv20.validate(openvexSchema, openvex), JSON.stringify(ajv20.errors));
    const status = Object.fromEntries(openvex.statements.map((s) => [s.vulnerability.name, s.status]));
    assert.deepEqual(status, {
      'GHSA-not-reach01': 'not_affected',
      'GHSA-reach-able1': 'affected',
      'GHSA-unknown-001': 'under_investigation',
    });
    assert.equal(
      openvex.statements.find((s) => s.status === 'not_affected')!.justification,
      'vulnerable_code_not_in_execute_path',
    );

    const ajv7 = new Ajv({ strict: false, allErrors: true });
    formats.default(ajv7);
    for (const f of ['spdx.schema.json', 'jsf-0.82.schema.json'])
      ajv7.addSchema(JSON.parse(readFileSync(join(SCHEMAS, 'cyclonedx-1.6', f), 'utf8')), f);
    const cdxSchema = JSON.parse(readFileSync(join(SCHEMAS, 'cyclonedx-1.6/bom-1.6.schema.json'), 'utf8'));
    const cdxRes = await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}/vex?format=cyclonedx`);
    const cdx = (await cdxRes.json()) as {
      components: { evidence?: { callstack: { frames: { function: string }[] } } }[];
      vulnerabilities: { id: string; analysis: { state: string } }[];
    };
    assert.ok(ajv7.validate(cdxSchema, cdx), JSON.stringify(ajv7.errors));
    const frames = cdx.components.flatMap((c) => c.evidence?.callstack.frames.map((f) => f.function) ?? []);
    assert.deepEqual(frames, parse.path);
    assert.deepEqual(
      cdx.vulnerabilities.map((v) => v.analysis.state),
      ['not_affected', 'exploitable', 'in_triage'],
    );
    // The VEX is a function of the fact: asking twice gives the same bytes.
    const again = await (await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}/vex?format=cyclonedx`)).text();
    assert.equal(again, JSON.stringify(cdx));

    // A runtime hit on the statically unreachable symbol makes it Contested (fact_version 2).
    const hit = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&component=web&version=1.0.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ symbolId: 'pkg:python/django.utils:unused', hitCount: 1 })}\n`,
    });
    assert.equal(hit.status, 202);
    await json('/signals/reachability/recompute', { subjectKey: 'web|1.0.0', wait: true });
    await t.restart();
    token = await t.token();
    const after = (await (await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}`)).json()) as typeof fact;
    assert.equal(after.fact_version, fact.fact_version + 1);
    assert.equal(after.states.find((s) => s.target === 'pkg:python/django.utils:unused')!.state, 'Contested');
    const etag = (await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}`)).headers.get('etag');
    assert.equal(etag, `"${after.digest}"`);
    const notModified = await call(`/signals/facts/${encodeURIComponent('web|1.0.0')}`, {
      headers: { 'if-none-match': etag! },
    });
    assert.equal(notModified.status, 304);
    const missing = await call('/signals/facts/nobody');
    assert.equal(missing.status, 404);
  });

  test('the recompute job runs after a runtime upload without being asked; ?wait= answers once it has', async () => {
    const res = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=auto-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify(event)}\n`,
    });
    assert.equal(res.status, 202);
    // Right after the upload the job may or may not have run: pending (202), never 404.
    const now = await call('/signals/facts/auto-1');
    assert.ok([200, 202].includes(now.status), `status ${now.status}`);
    if (now.status === 202) assert.equal(now.headers.get('retry-after'), '2');
    const waited = await call('/signals/facts/auto-1?wait=30');
    assert.equal(waited.status, 200, 'the queued recompute produced a fact within the wait');
    const fact = (await waited.json()) as { subjectKey: string; runtimeFacts: { totalHits: number } };
    assert.deepEqual([fact.subjectKey, fact.runtimeFacts.totalHits], ['auto-1', 3]);
  });

  test('stella graph verify, attest runtime and the offline ingest with manifest, DSSE and time anchor', async () => {
    const { makeProgram } = await import('@stella/cli');
    const run = async (argv: string[], env: Record<string, string> = {}) => {
      let out = '';
      let err = '';
      const io = {
        argv,
        env: { STELLA_HOME: t.home, STELLA_SERVER: t.base, STELLA_TOKEN: token, ...env },
        stdout: {
          write: (s: string) => {
            out += s;
            return true;
          },
        } as never,
        stderr: {
          write: (s: string) => {
            err += s;
            return true;
          },
        } as never,
      };
      const code = await makeProgram(io).run();
      return { code, out, err };
    };
    const trace = join(t.home, 'runtime-trace.ndjson.gz');
    writeFileSync(
      trace,
      gzipSync(
        [
          { symbolId: 'pkg:python/django.utils:parse', hitCount: 4 },
          { symbolId: 'pkg:python/app:main', hitCount: 1 },
          { symbolId: 'pkg:python/elsewhere:x', hitCount: 1 },
        ]
          .map((e) => `${JSON.stringify(e)}\n`)
          .join(''),
        { level: 6 },
      ),
    );
    const verify = await run(['--json', 'graph', 'verify', '--runtime', trace, '--graph', graphHash]);
    assert.equal(verify.code, 0, verify.err);
    const coverage = JSON.parse(verify.out) as { symbols: number; mapped: number };
    assert.deepEqual([coverage.symbols, coverage.mapped], [3, 2]);

    // Trust roots: a local key pair; the bundle DSSE is signed with it by `stella attest runtime --key`.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const keyFile = join(t.home, 'signer.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(t.home, 'trust.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    const dsse = join(t.home, 'runtime.dsse.json');
    const attest = await run(['attest', 'runtime', '--bundle', dsse, '--runtime', trace, '--key', keyFile]);
    assert.equal(attest.code, 0, attest.err);
    // And the server-key variant signs too.
    const serverSigned = await run([
      'attest',
      'runtime',
      '--bundle',
      join(t.home, 'server.dsse.json'),
      '--runtime',
      trace,
    ]);
    assert.equal(serverSigned.code, 0, serverSigned.err);

    // Online upload of the same trace file through the CLI (seed 000 route underneath).
    const online = await run([
      '--json',
      'signals',
      'ingest-runtime',
      '--graph-hash',
      graphHash,
      '--runtime',
      trace,
      '--scan-id',
      'cli-scan',
    ]);
    assert.equal(online.code, 0, online.err);
    const uploaded = JSON.parse(online.out) as { status: string; subjectKey: string; events: number };
    assert.deepEqual([uploaded.status, uploaded.subjectKey, uploaded.events], ['applied', 'cli-scan', 3]);
    const missingGraph = await run([
      'signals',
      'ingest-runtime',
      '--graph-hash',
      `sha256:${'1'.repeat(64)}`,
      '--runtime',
      trace,
      '--scan-id',
      'later',
    ]);
    assert.equal(missingGraph.code, 0, 'a trace for a graph not ingested yet is parked, not refused');

    const sha = createHash('sha256').update(readFileSync(trace)).digest('hex');
    const manifest = (anchor: string, hash = sha) =>
      JSON.stringify({ files: [{ path: 'runtime-trace.ndjson.gz', sha256: hash }], timeAnchor: { issuedAt: anchor } });
    const manifestFile = join(t.home, 'manifest.json');
    // The offline tool opens the database itself, so the server stops first (PGlite is single-process).
    await t.server.close();
    const offlineEnv = {
      STELLA_SIGNALS_TRUST_ROOTS_PATH: join(t.home, 'trust.pem'),
      ...(t.databaseUrl ? { STELLA_DATABASE_URL: t.databaseUrl } : {}),
    };
    const offline = (extra: string[] = []) =>
      run(
        [
          '--json',
          '--tenant',
          'default',
          'signals-offline',
          'ingest-runtime',
          '--graph-hash',
          graphHash,
          '--runtime',
          trace,
          '--manifest',
          manifestFile,
          ...extra,
        ],
        offlineEnv,
      );

    writeFileSync(manifestFile, manifest(new Date().toISOString(), '0'.repeat(64)));
    const wrong = await offline();
    assert.equal(wrong.code, 3, wrong.err);
    assert.match(wrong.err, /ERR_SIGNALS_MANIFEST_MISMATCH: hash mismatch for runtime-trace\.ndjson\.gz/);

    writeFileSync(manifestFile, manifest('2020-01-01T00:00:00Z'));
    const stale = await offline();
    assert.equal(stale.code, 3);
    assert.match(stale.err, /ERR_SIGNALS_TIME_ANCHOR_STALE: .* s old/);

    writeFileSync(manifestFile, manifest(new Date(Date.now() - 60_000).toISOString()));
    const forged = join(t.home, 'forged.dsse.json');
    const envelope = JSON.parse(readFileSync(dsse, 'utf8'));
    envelope.signatures[0].sig = Buffer.alloc(64, 1).toString('base64');
    writeFileSync(forged, JSON.stringify(envelope));
    const badSig = await offline(['--dsse', forged]);
    assert.equal(badSig.code, 3);
    assert.match(badSig.err, /ERR_SIGNALS_DSSE_INVALID/);

    const good = await offline(['--dsse', dsse, '--scan-id', 'offline-scan']);
    assert.equal(good.code, 0, good.err);
    // The seed 000 command as written, through the `signals-offline` binary (here in-process).
    const { runSignalsOffline } = await import('@stella/cli');
    let seedOut = '';
    let seedErr = '';
    const seedCode = await runSignalsOffline({
      argv: [
        '--json',
        'ingest-runtime',
        '--tenant',
        'default',
        '--graph-hash',
        graphHash,
        '--runtime',
        trace,
        '--manifest',
        manifestFile,
      ],
      env: { STELLA_HOME: t.home, ...offlineEnv },
      stdout: {
        write: (x: string) => {
          seedOut += x;
          return true;
        },
      } as never,
      stderr: {
        write: (x: string) => {
          seedErr += x;
          return true;
        },
      } as never,
    });
    assert.equal(seedCode, 0, seedErr);
    const seedReceipt = JSON.parse(seedOut) as { status: string; subjectKey: string; tenant: string };
    assert.deepEqual(
      [seedReceipt.status, seedReceipt.subjectKey, seedReceipt.tenant],
      ['applied', graphHash, 'default'],
    );
    const receipt = JSON.parse(good.out) as {
      ingestId: string;
      graphHash: string;
      casDigest: string;
      tenant: string;
      staleness_seconds: number;
      dsse: { verified: boolean };
      status: string;
    };
    assert.equal(receipt.graphHash, graphHash);
    assert.equal(receipt.tenant, 'default');
    assert.equal(receipt.status, 'applied');
    assert.equal(receipt.dsse.verified, true);
    assert.ok(receipt.staleness_seconds >= 60 && receipt.staleness_seconds < 600);

    await t.restart();
    token = await t.token();
    // The offline import computed the fact itself: no worker had heard of the trace.
    const offlineFact = await call('/signals/facts/offline-scan');
    assert.equal(offlineFact.status, 200, await offlineFact.clone().text());
    assert.equal(((await offlineFact.json()) as { runtimeFacts: { symbols: number } }).runtimeFacts.symbols, 3);
    const failures = (await (await call('/api/v1/timeline/events?kind=runtime.ingest.failed')).json()) as {
      items?: { details: { reason: string } }[];
      events?: { details: { reason: string } }[];
    };
    const reasons = (failures.items ?? failures.events ?? []).map((e) => e.details.reason).sort();
    assert.deepEqual(reasons, ['dsse_invalid', 'hash_mismatch', 'time_anchor_stale']);
  });
});

/** Waiting fact requests the server holds now (its /metrics gauge). */
async function factWaiters(base: string, token: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  return Number(/^stella_signals_fact_waiters (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Polls the gauge until a request waits (it has read the fact once and sleeps). */
async function untilWaiting(base: string, token: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await factWaiters(base, token)) < 1) {
    assert.ok(Date.now() < deadline, 'a fact request should be waiting');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('signals facts while the recompute is pending (API-only server: the queued recompute never runs by itself)', () => {
  let t: TestServer;
  let token: string;
  let callgraphId = '';
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', ...(init.headers as object) },
    });

  before(async () => {
    t = await startTestServer({ STELLA_SERVER_TARGET: 'api' });
    token = await t.token();
    const res = await call('/signals/callgraphs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(graph()),
    });
    assert.equal(res.status, 202);
    callgraphId = ((await res.json()) as { callgraphId: string }).callgraphId;
  });
  after(() => t.close());

  test('404 for a subject nothing was sent for; 202 with Retry-After and the pending state once runtime facts were accepted', async () => {
    const missing = await call('/signals/facts/nobody');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'ERR_SIGNALS_FACT_NOT_FOUND');
    assert.equal((await call('/signals/facts/nobody?wait=1')).status, 404, 'nothing to wait for');

    const before = Date.now();
    const ingest = await call(`/signals/runtime-facts/ndjson?callgraphId=${callgraphId}&scanId=scan-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify(event)}\n`,
    });
    assert.equal(ingest.status, 202);
    const pending = await call('/signals/facts/scan-1');
    assert.equal(pending.status, 202);
    assert.equal(pending.headers.get('retry-after'), '2');
    assert.match(String(pending.headers.get('content-type')), /^application\/json/);
    const body = (await pending.json()) as Record<string, unknown>;
    assert.deepEqual(
      { ...body, since: typeof body.since },
      {
        subjectKey: 'scan-1',
        status: 'pending',
        waitingFor: 'recompute',
        since: 'string',
        retryAfterSeconds: 2,
        factVersion: null,
      },
    );
    assert.ok(Date.parse(String(body.since)) >= before - 5_000, 'since is when the batch was accepted');
    const vex = await call('/signals/facts/scan-1/vex?format=openvex');
    assert.equal(vex.status, 202);
    assert.equal(((await vex.json()) as { status: string }).status, 'pending');

    const started = Date.now();
    const timedOut = await call('/signals/facts/scan-1?wait=1');
    assert.equal(timedOut.status, 202, 'still pending at the deadline');
    assert.ok(Date.now() - started >= 900, 'it waited about a second');
    const tooLong = await call('/signals/facts/scan-1?wait=31');
    assert.equal(tooLong.status, 400);
  });

  test('?wait= answers 200 with the fact as soon as the recompute commits', async () => {
    const waiting = call('/signals/facts/scan-1?wait=20');
    await untilWaiting(t.base, token);
    const recompute = await call('/signals/reachability/recompute', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subjectKey: 'scan-1', wait: true }),
    });
    assert.equal(recompute.status, 200, await recompute.clone().text());
    const computed = ((await recompute.json()) as { subjects: { digest: string; factVersion: number }[] }).subjects[0]!;
    const res = await waiting;
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), `"${computed.digest}"`);
    const fact = (await res.json()) as { fact_version: number; digest: string; subjectKey: string };
    assert.deepEqual([fact.subjectKey, fact.fact_version, fact.digest], ['scan-1', 1, computed.digest]);
    assert.equal(await factWaiters(t.base, token), 0);
    // With the fact current, ?wait= answers at once.
    assert.equal((await call('/signals/facts/scan-1?wait=30')).status, 200);
  });

  test('runtime facts parked for a graph not ingested yet answer 202 waiting for the callgraph; shutdown ends a wait at once', async () => {
    const graphHash = `sha256:${'1'.repeat(64)}`;
    const parked = await call(`/api/v1/runtime-facts?graph_hash=${graphHash}&scanId=parked-1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify({ symbolId: 'pkg:python/app:main', hitCount: 1 })}\n`,
    });
    assert.equal(parked.status, 202);
    assert.equal(((await parked.json()) as { status: string }).status, 'orphan');
    const pending = await call('/signals/facts/parked-1');
    assert.equal(pending.status, 202);
    assert.equal(pending.headers.get('retry-after'), '30');
    const body = (await pending.json()) as { waitingFor: string; graphHash: string };
    assert.deepEqual([body.waitingFor, body.graphHash], ['callgraph', graphHash]);

    const started = Date.now();
    const waiting = call('/signals/facts/parked-1?wait=30');
    await untilWaiting(t.base, token);
    await t.restart();
    const answered = await waiting;
    assert.equal(answered.status, 202);
    assert.ok(Date.now() - started < 10_000, 'the wait ended with the server, not at its deadline');
    token = await t.token();
  });
});

describe('signals-offline beside a running embedded server', () => {
  let t: TestServer;
  let token: string;

  // The embedded database on both test legs: its single-process lock is what this is about.
  before(async () => {
    t = await startTestServer({ STELLA_DATABASE_URL: '' });
    token = await t.token();
  });
  after(() => t.close());

  test('refuses with ERR_SIGNALS_HOME_IN_USE naming the pid and the exact commands, and the stella command it names works', async () => {
    const res = await fetch(`${t.base}/signals/callgraphs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default', 'content-type': 'application/json' },
      body: JSON.stringify(graph()),
    });
    const { graphHash } = (await res.json()) as { graphHash: string };
    const trace = join(t.home, 'runtime-trace.ndjson');
    writeFileSync(trace, `${JSON.stringify({ symbolId: 'pkg:python/django.utils:parse', hitCount: 2 })}\n`);
    const manifest = join(t.home, 'manifest.json');
    const sha = createHash('sha256').update(readFileSync(trace)).digest('hex');
    writeFileSync(
      manifest,
      JSON.stringify({
        files: [{ path: 'runtime-trace.ndjson', sha256: sha }],
        timeAnchor: { issuedAt: new Date().toISOString() },
      }),
    );
    const { runSignalsOffline } = await import('@stella/cli');
    const out = capture();
    const err = capture();
    const code = await runSignalsOffline({
      argv: [
        'ingest-runtime',
        '--tenant',
        'default',
        '--graph-hash',
        graphHash,
        '--runtime',
        trace,
        '--manifest',
        manifest,
        '--scan-id',
        'offline-1',
      ],
      env: { STELLA_HOME: t.home, STELLA_SERVER: t.base },
      stdout: out.stream,
      stderr: err.stream,
    });
    assert.equal(code, 1, err.text());
    assert.equal(out.text(), '');
    const stella = `npx stella --server ${t.base} --tenant default signals ingest-runtime --graph-hash ${graphHash} --runtime ${trace} --scan-id offline-1`;
    assert.equal(
      err.text(),
      [
        `signals-offline: ERR_SIGNALS_HOME_IN_USE: the stella server with pid ${process.pid} is running on ${t.home} and owns its embedded database, so the offline ingest cannot open it. Either:`,
        `  - stop that server (Ctrl-C where it runs, or \`kill ${process.pid}\`) and run this command again; or`,
        "  - send the same trace through the running server's API (it does not check the bundle's manifest, DSSE or time anchor; this command does):",
        `      ${stella}`,
        '    which is the same as',
        `      curl -fsS -X POST '${t.base}/api/v1/runtime-facts?graph_hash=${graphHash.replace(':', '%3A')}&scanId=offline-1' -H "Authorization: Bearer $(npx stella --server ${t.base} --tenant default auth token --scope signals:write)" -H 'X-Stella-Tenant: default' -H 'Content-Type: application/x-ndjson' --data-binary @${trace}`,
        '',
      ].join('\n'),
    );

    // The named command, run as it is printed (in-process), ingests the trace through the server.
    const { makeProgram } = await import('@stella/cli');
    const cliOut = capture();
    const cliErr = capture();
    const argv = stella.split(' ').slice(2);
    const online = await makeProgram({
      argv: ['--json', ...argv],
      env: { STELLA_HOME: t.home },
      stdout: cliOut.stream,
      stderr: cliErr.stream,
    }).run();
    assert.equal(online, 0, cliErr.text());
    assert.deepEqual(
      [JSON.parse(cliOut.text()).status, JSON.parse(cliOut.text()).subjectKey],
      ['applied', 'offline-1'],
    );
    const fact = await fetch(`${t.base}/signals/facts/offline-1?wait=30`, {
      headers: { authorization: `Bearer ${token}`, 'x-stella-tenant': 'default' },
    });
    assert.equal(fact.status, 200);
  });
});
