// No request can crash, hang or poison the server (issue 11), replayed against a real server on the
// suite's backend: each hostile input gets its coded problem+json answer within a bounded wait, /readyz
// stays 200 after it, nothing is stored for the bad document and the good ones beside it land. Covers
// the JSON nesting that hung PGlite, text PostgreSQL refuses (lone surrogates, NUL in bodies, paths and
// queries), tampered cursors, unreadably long ids, Node's own 4xx answers, gzip, slow bodies, prototype
// keys and path traversal.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeProgram } from '@stella/cli';
import { testBackend } from '@stella/testkit';
import { capture, runCli, startTestServer, type TestServer } from '../helpers.ts';

/** How long any answer may take; never a timing assertion, only a bound on the wait. */
const ANSWER_WITHIN_MS = 5000;
const PROBLEM = 'application/problem+json; charset=utf-8';

/** A minimal OSV record: id and modified are all the recogniser needs. */
function osv(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: '1.6.0',
    id,
    modified: '2025-01-01T00:00:00Z',
    summary: `test ${id.slice(0, 16)}`,
    ...extra,
  };
}

/** `{"a":{"a":…1…}}` nested `depth` levels, as text (JSON.stringify would recurse). */
function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** OSV text whose database_specific nests `depth` levels: the document that froze the server. */
function deepOsv(id: string, depth: number): string {
  const head = JSON.stringify(osv(id)).slice(0, -1);
  return `${head},"database_specific":${nested(depth)}}`;
}

describe(`hostile input on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const auth = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    'x-stella-tenant': 'default',
    ...extra,
  });
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${t.base}${path}`, { ...init, signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });

  async function expectProblem(res: Response, status: number, code: string, what: string) {
    const text = await res.text();
    assert.equal(res.status, status, `${what}: ${text.slice(0, 300)}`);
    assert.equal(res.headers.get('content-type'), PROBLEM, what);
    const problem = JSON.parse(text) as { code: string; status: number; violations?: unknown[] };
    assert.equal(problem.code, code, `${what}: ${text.slice(0, 300)}`);
    assert.equal(problem.status, status, what);
    return problem;
  }

  async function assertReady(what: string) {
    const res = await call('/readyz');
    assert.equal(res.status, 200, `readyz after ${what}: ${await res.text()}`);
  }

  async function stored(vendor: string): Promise<string[]> {
    const res = await call(`/advisories/raw?source=${encodeURIComponent(vendor)}&limit=500`, { headers: auth() });
    assert.equal(res.status, 200);
    const page = (await res.json()) as { items: Array<{ upstream: { upstream_id: string } }> };
    return page.items.map((i) => i.upstream.upstream_id).sort();
  }

  const ingest = (body: string | Buffer, vendor: string, extra: Record<string, string> = {}) =>
    call('/ingest/advisory', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json', 'x-stella-source-vendor': vendor, ...extra }),
      body,
    });

  const batch = (lines: unknown[]) =>
    call('/ingest/advisory/batch', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/x-ndjson' }),
      body: `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`,
    });

  /** An envelope line carrying the document bytes exactly (base64), as `stella sources ingest` sends them. */
  const envelopeLine = (vendor: string, text: string) =>
    JSON.stringify({
      source: { vendor },
      content: { raw: Buffer.from(text).toString('base64'), encoding: 'base64' },
    });

  before(async () => {
    t = await startTestServer();
    token = await t.token();
  });
  after(() => t.close());

  test('a document nesting 6,000 levels is ERR_LIMIT_JSON_DEPTH at once; the server stays up; a sane depth is stored', async () => {
    const deep = deepOsv('HOSTILE-DEEP-1', 6000);
    await expectProblem(await ingest(deep, 'deep'), 400, 'ERR_LIMIT_JSON_DEPTH', 'raw body');
    await assertReady('a deep document');
    // Again: a server that looped on the first one would not answer the second.
    await expectProblem(await ingest(deep, 'deep'), 400, 'ERR_LIMIT_JSON_DEPTH', 'raw body, again');
    const envelope = await call('/ingest/advisory', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/vnd.stella.aoc-envelope+json' }),
      body: `{"source":{"vendor":"deep"},"content":{"raw":${deep}}}`,
    });
    await expectProblem(envelope, 400, 'ERR_LIMIT_JSON_DEPTH', 'envelope with the document as JSON');
    const lines = await batch([
      envelopeLine('deep', JSON.stringify(osv('HOSTILE-DEEP-OK'))),
      envelopeLine('deep', deep),
    ]);
    const problem = await expectProblem(lines, 400, 'ERR_LIMIT_JSON_DEPTH', 'batch');
    assert.deepEqual(
      (problem.violations as Array<{ code: string; location: string }>).map((v) => [v.code, v.location]),
      [['ERR_LIMIT_JSON_DEPTH', 'line 2']],
    );
    await assertReady('deep documents');
    assert.deepEqual(await stored('deep'), []);
    const sane = await ingest(deepOsv('HOSTILE-DEEP-2', 100), 'deep');
    assert.equal(sane.status, 201, await sane.text());
    assert.deepEqual(await stored('deep'), ['HOSTILE-DEEP-2']);
  });

  test('deep JSON in any JSON body (timeline details, recompute targets) is refused at the door', async () => {
    const timeline = await call('/timeline/events', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json' }),
      body: `{"category":"test","kind":"deep","details":${nested(5000)}}`,
    });
    await expectProblem(timeline, 400, 'ERR_LIMIT_JSON_DEPTH', 'timeline details');
    const targets = await call('/signals/reachability/recompute', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json' }),
      body: `{"targets":${'['.repeat(5000)}${']'.repeat(5000)},"wait":true}`,
    });
    await expectProblem(targets, 400, 'ERR_LIMIT_JSON_DEPTH', 'recompute targets');
    const lone = await call('/timeline/events', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json' }),
      body: '{"category":"test","kind":"lone","details":{"note":"\\ud800"}}',
    });
    await expectProblem(lone, 400, 'ERR_INVALID_TEXT', 'timeline lone surrogate');
    const events = (await (await call('/api/v1/timeline/events?category=test', { headers: auth() })).json()) as {
      items: unknown[];
    };
    assert.deepEqual(events.items, []);
    await assertReady('deep bodies');
  });

  test('a lone surrogate or NUL is refused per document: the batch names its line, the CLI stores the good ones', async () => {
    const lone =
      '{"schema_version":"1.6.0","id":"HOSTILE-LONE-1","modified":"2025-01-01T00:00:00Z","details":"\\ud800"}';
    const nul =
      '{"schema_version":"1.6.0","id":"HOSTILE-NUL-1","modified":"2025-01-01T00:00:00Z","details":"a\\u0000b"}';
    await expectProblem(await ingest(lone, 'poison'), 400, 'ERR_INVALID_TEXT', 'lone surrogate');
    await expectProblem(await ingest(nul, 'poison'), 400, 'ERR_INVALID_TEXT', 'NUL');
    const good = (n: number) => JSON.stringify(osv(`HOSTILE-GOOD-${n}`));
    const problem = await expectProblem(
      await batch([envelopeLine('poison', good(1)), envelopeLine('poison', lone), envelopeLine('poison', good(2))]),
      400,
      'ERR_INVALID_TEXT',
      'batch',
    );
    assert.deepEqual(
      (problem.violations as Array<{ location: string }>).map((v) => v.location),
      ['line 2'],
    );
    assert.deepEqual(await stored('poison'), [], 'a batch is all or nothing');
    await assertReady('poisoned documents');

    const dir = mkdtempSync(join(tmpdir(), 'stella-hostile-'));
    try {
      for (const n of [1, 2, 3]) writeFileSync(join(dir, `good-${n}.json`), good(n));
      writeFileSync(join(dir, 'bad.json'), lone);
      const r = await runCli(t, ['sources', 'ingest', '--source', 'poison', '--input', dir, '--json']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const report = JSON.parse(r.stdout) as { written: number; rejected: Array<{ location: string; code: string }> };
      assert.equal(report.written, 3);
      assert.deepEqual(
        report.rejected.map((x) => [x.location, x.code]),
        [['bad.json', 'ERR_INVALID_TEXT']],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await stored('poison'), ['HOSTILE-GOOD-1', 'HOSTILE-GOOD-2', 'HOSTILE-GOOD-3']);
  });

  test('content.raw as a list is ERR_AOC_002; as a scalar it is unreadable; nothing is stored', async () => {
    const doc = osv('HOSTILE-LIST-1');
    const envelope = (raw: unknown) =>
      call('/ingest/advisory', {
        method: 'POST',
        headers: auth({ 'content-type': 'application/vnd.stella.aoc-envelope+json' }),
        body: JSON.stringify({ source: { vendor: 'list' }, content: { raw } }),
      });
    await expectProblem(await envelope([doc, doc]), 400, 'ERR_AOC_002', 'raw as an array');
    await expectProblem(await envelope(42), 400, 'ERR_AOC_MALFORMED_DOCUMENT', 'raw as a number');
    const lines = await batch([
      JSON.stringify({ source: { vendor: 'list' }, content: { raw: doc } }),
      JSON.stringify({ source: { vendor: 'list' }, content: { raw: [doc] } }),
    ]);
    const problem = await expectProblem(lines, 400, 'ERR_AOC_002', 'batch');
    assert.deepEqual(
      (problem.violations as Array<{ code: string; location: string }>).map((v) => [v.code, v.location]),
      [['ERR_AOC_002', 'line 2']],
    );
    assert.deepEqual(await stored('list'), []);
  });

  test('an upstream id too long to read back is refused at ingest; the longest that fits is stored and readable', async () => {
    const huge = await ingest(JSON.stringify(osv('A'.repeat(100_000))), 'longid');
    const problem = await expectProblem(huge, 400, 'ERR_LIMIT_IDENTIFIER_LENGTH', '100,000-character id');
    assert.ok(JSON.stringify(problem).length < 20_000, 'the answer does not echo the id');
    // advisory_raw:longid:<id>:<revision up to 10 digits> must fit limits.identifierLength (1024).
    const fits = `GO-${'a/b:'.repeat(247)}cd`;
    assert.equal(`advisory_raw:longid:${fits}:9999999999`.length, 1024);
    await expectProblem(
      await ingest(JSON.stringify(osv(`${fits}x`)), 'longid'),
      400,
      'ERR_LIMIT_IDENTIFIER_LENGTH',
      'record id one past the cap',
    );
    const ok = await ingest(JSON.stringify(osv(fits)), 'longid');
    const written = await ok.text();
    assert.equal(ok.status, 201, written);
    const { id } = JSON.parse(written) as { id: string };
    const back = await call(`/advisories/raw/${encodeURIComponent(id)}`, { headers: auth() });
    assert.equal(back.status, 200, await back.text());
    const raw = await call(`/advisories/raw/${encodeURIComponent(id)}/raw`, { headers: auth() });
    assert.equal(raw.status, 200);
    const history = await call(`/advisories/raw/history?source=longid&upstream_id=${encodeURIComponent(fits)}`, {
      headers: auth(),
    });
    assert.equal(history.status, 200);
    assert.deepEqual(await stored('longid'), [fits]);
    // The list cursor carries that id and stays usable.
    await ingest(JSON.stringify(osv(`${fits.slice(0, -2)}zz`)), 'longid');
    const first = (await (await call('/advisories/raw?source=longid&limit=1', { headers: auth() })).json()) as {
      nextCursor: string;
    };
    const next = await call(`/advisories/raw?source=longid&limit=1&cursor=${first.nextCursor}`, { headers: auth() });
    assert.equal(next.status, 200, await next.text());
  });

  test('NUL or an over-long value in any path parameter or query parameter of any route is a coded 400', async () => {
    const spec = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }> }>>;
    };
    const pairs: Array<{ method: string; name: string; url: (value: string) => string; what: string }> = [];
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!['get', 'post', 'put', 'delete', 'patch'].includes(method)) continue;
        const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
        const fill = (target: string | undefined, value: string) =>
          path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === target ? value : 'x'));
        for (const name of names) {
          pairs.push({ method, name, url: (v) => fill(name, v), what: `${method} ${path} {${name}}` });
        }
        for (const p of operation.parameters ?? []) {
          if (p.in !== 'query') continue;
          pairs.push({
            method,
            name: p.name,
            url: (v) => `${fill(undefined, '')}?${p.name}=${v}`,
            what: `${method} ${path} ?${p.name}`,
          });
        }
      }
    }
    assert.ok(pairs.length >= 29, `found only ${pairs.length} route/parameter pairs`);
    for (const pair of pairs) {
      const init = { method: pair.method.toUpperCase(), headers: auth() };
      await expectProblem(await call(pair.url('a%00b'), init), 400, 'ERR_INVALID_TEXT', `${pair.what} NUL`);
      // A cursor may carry a whole id, base64-encoded, so its own cap is longer (2 × 1024 + 128).
      await expectProblem(
        await call(pair.url('x'.repeat(pair.name === 'cursor' ? 2177 : 1025)), init),
        400,
        'ERR_LIMIT_IDENTIFIER_LENGTH',
        `${pair.what} long`,
      );
    }
    await expectProblem(await call('/advisories/raw/%E0%A4%A', { headers: auth() }), 400, 'ERR_BAD_REQUEST', 'bad %');
    await assertReady('NUL everywhere');
  });

  test('a tampered cursor is a coded 400 on every list route', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const tampered = [
      'zzzz',
      b64('["not a time","advisory_raw:x:y:1"]'),
      b64('["2025-13-45T00:00:00.000Z","x"]'),
      b64('["2025-01-01T00:00:00.000Z","a\\u0000b"]'),
      b64('["2025-01-01T00:00:00.000Z","\\ud800"]'),
      b64('{"$where":"1"}'),
    ];
    const routes: Array<[string, string]> = [
      ['/advisories/raw', 'ERR_INVALID_CURSOR'],
      ['/vex/raw', 'ERR_INVALID_CURSOR'],
      ['/api/v1/timeline/events', 'ERR_INVALID_CURSOR'],
      ['/api/export/runs', 'ERR_EXPORT_001'],
      ['/sboms', 'ERR_INVALID_CURSOR'],
    ];
    for (const [route, code] of routes) {
      for (const cursor of tampered) {
        await expectProblem(
          await call(`${route}?cursor=${cursor}`, { headers: auth() }),
          400,
          code,
          `${route} ${cursor}`,
        );
      }
    }
    await assertReady('tampered cursors');
  });

  test('__proto__ keys never pollute: refused in JSON bodies, an unknown field in an envelope, data inside a document', async () => {
    const timeline = await call('/timeline/events', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json' }),
      body: '{"category":"test","kind":"proto","details":{"__proto__":{"polluted":true}}}',
    });
    await expectProblem(timeline, 400, 'ERR_MALFORMED_BODY', 'timeline __proto__');
    const envelope = await call('/ingest/advisory', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/vnd.stella.aoc-envelope+json' }),
      body: `{"__proto__":{"polluted":true},"source":{"vendor":"proto"},"content":{"raw":${JSON.stringify(osv('HOSTILE-PROTO-1'))}}}`,
    });
    await expectProblem(envelope, 400, 'ERR_AOC_007', 'envelope __proto__');
    const inside = await ingest(
      '{"schema_version":"1.6.0","id":"HOSTILE-PROTO-2","modified":"2025-01-01T00:00:00Z","database_specific":{"__proto__":{"polluted":true}}}',
      'proto',
    );
    assert.equal(inside.status, 201, await inside.text());
    assert.deepEqual(await stored('proto'), ['HOSTILE-PROTO-2']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });

  test('gzip bodies: truncated is coded, a bomb stops at the document cap, a good one lands', async () => {
    const good = gzipSync(JSON.stringify(osv('HOSTILE-GZIP-1')));
    const truncated = good.subarray(0, good.length - 12);
    await expectProblem(
      await ingest(truncated, 'gzip', { 'content-encoding': 'gzip' }),
      400,
      'ERR_AOC_MALFORMED_DOCUMENT',
      'truncated gzip',
    );
    const bomb = gzipSync(
      Buffer.concat([Buffer.from('{"id":"GO-BOMB","modified":"x","pad":"'), Buffer.alloc(20 << 20, 0x61)]),
    );
    await expectProblem(
      await ingest(bomb, 'gzip', { 'content-encoding': 'gzip' }),
      413,
      'ERR_AOC_DOCUMENT_TOO_LARGE',
      'gzip bomb',
    );
    await expectProblem(
      await ingest(good, 'gzip', { 'content-encoding': 'br' }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
      'unknown encoding',
    );
    // Chunked, without Content-Length: the cap (limits.documentBytes, 16 MiB) is counted while reading,
    // the 413 is written, and the 8 MiB the client still sends after it are drained, not reset (EPIPE).
    const chunk = Buffer.alloc(1 << 20, 0x20);
    let sent = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        if (sent > 24 << 20) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await call('/ingest/advisory', {
      method: 'POST',
      headers: auth({ 'content-type': 'application/json', 'x-stella-source-vendor': 'gzip' }),
      body: endless,
      duplex: 'half',
    } as RequestInit);
    await expectProblem(streamed, 413, 'ERR_BODY_TOO_LARGE', 'chunked body over the cap');
    const ok = await ingest(good, 'gzip', { 'content-encoding': 'gzip' });
    assert.equal(ok.status, 201, await ok.text());
    assert.deepEqual(await stored('gzip'), ['HOSTILE-GZIP-1']);
    await assertReady('gzip bodies');
  });

  test('framework refusals are problem+json: unknown content type, malformed JSON, empty JSON body', async () => {
    const post = (type: string, body: string) =>
      call('/timeline/events', { method: 'POST', headers: auth({ 'content-type': type }), body });
    await expectProblem(await post('application/x-unknown', 'x'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'content type');
    await expectProblem(await post('application/json', '{"category":'), 400, 'ERR_MALFORMED_BODY', 'malformed');
    await expectProblem(await post('application/json', ''), 400, 'ERR_MALFORMED_BODY', 'empty');
  });

  test("Node's own answers are problem+json: oversized headers (431), malformed HTTP (400)", async () => {
    const port = Number(new URL(t.base).port);
    const big = await rawExchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /);
    assert.match(big, /\r\ncontent-type: application\/problem\+json; charset=utf-8\r\n/i);
    assert.match(big, /"code":"ERR_HEADERS_TOO_LARGE"/);
    const garbage = await rawExchange(port, 'GET /healthz HTTP/1.1\r\nHost x\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 /);
    assert.match(garbage, /"code":"ERR_BAD_REQUEST"/);
    await assertReady("Node's refusals");
  });

  test('a stalled, partial body does not hold up other requests', async () => {
    const port = Number(new URL(t.base).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /ingest/advisory HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nX-Stella-Source-Vendor: slow\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"id":"GO-SLOW","modified":"',
    );
    try {
      await assertReady('a stalled body');
      const other = await ingest(JSON.stringify(osv('HOSTILE-BESIDE-SLOW')), 'slow');
      assert.equal(other.status, 201);
    } finally {
      socket.destroy();
    }
    await assertReady('a client that gave up');
    assert.deepEqual(await stored('slow'), ['HOSTILE-BESIDE-SLOW']);
  });

  test("the CLI's zip reader honours limits.archiveEntries and limits.decompressedBytes from the configuration", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-hostile-zip-'));
    try {
      mkdirSync(join(dir, 'docs'));
      // Five documents of about 400 bytes: 2 KB in all, over the smallest decompressedBytes (1024).
      for (const n of [1, 2, 3, 4, 5]) {
        const text = JSON.stringify(osv(`HOSTILE-ZIP-${n}`, { details: 'x'.repeat(300) }));
        writeFileSync(join(dir, 'docs', `HOSTILE-ZIP-${n}.json`), text);
      }
      execFileSync('zip', ['-q', '-r', join(dir, 'all.zip'), '.'], { cwd: join(dir, 'docs') });
      const cli = async (env: Record<string, string>) => {
        const out = capture();
        const err = capture();
        const code = await makeProgram({
          argv: ['sources', 'ingest', '--dry-run', '--source', 'zip', '--input', join(dir, 'all.zip'), '--json'],
          env: { STELLA_HOME: join(dir, 'home'), ...env },
          stdout: out.stream,
          stderr: err.stream,
        }).run();
        return { code, output: out.text() + err.text() };
      };
      const fine = await cli({});
      assert.equal(fine.code, 0, fine.output);
      const entries = await cli({ STELLA_LIMITS_ARCHIVE_ENTRIES: '3' });
      assert.equal(entries.code, 2, entries.output);
      assert.match(entries.output, /ERR_AOC_HOSTILE_ARCHIVE: .*5 entries, more than the cap of 3/);
      const expanded = await cli({ STELLA_LIMITS_DECOMPRESSED_BYTES: '1024' });
      assert.equal(expanded.code, 2, expanded.output);
      assert.match(expanded.output, /more than the cap of 1024 bytes in total/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('path traversal in ids finds nothing and reads no file', async () => {
    const attempts = [
      '/advisories/raw/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
      '/advisories/raw/..%2F..%2F..%2F..%2Fetc%2Fpasswd/raw',
      '/vex/raw/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/api/v1/timeline/events/..%2F..%2Fetc%2Fpasswd',
      '/api/export/runs/..%2F..%2F..%2Fetc%2Fpasswd',
      '/advisories/raw/../../../etc/passwd',
    ];
    for (const path of attempts) {
      const res = await call(path, { headers: auth() });
      const body = await res.text();
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status} ${body.slice(0, 200)}`);
      assert.equal(res.headers.get('content-type'), PROBLEM, path);
      assert.ok(!body.includes('root:'), path);
    }
    await assertReady('path traversal');
  });
});

/** Raw bytes on a socket; resolves with what the server wrote before it closed (bounded wait). */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
    socket.on('close', () => resolve(answer));
    socket.setTimeout(ANSWER_WITHIN_MS, () => {
      socket.destroy();
      resolve(answer);
    });
    socket.end(request, 'latin1');
  });
}
