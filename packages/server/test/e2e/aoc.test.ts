// AOC ingestion end to end on the suite's backend: verbatim storage (sha256 equals the fixture
// MANIFEST), idempotent re-ingest, revision chains from real upstream history, the guard's coded
// refusals, database-level enforcement against hand-written SQL, cross-source linkset queries, the
// CLI (`sources ingest`, `--dry-run`, `aoc verify`) and tamper detection.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { advisoriesForPackages, aocModule } from '@stella/aoc';
import { dsseSign, IN_TOTO_PAYLOAD_TYPE } from '@stella/core';
import { advisoryFixtures, findPostgresBin, scratchDir, testBackend } from '@stella/testkit';
import { fixtureSources, runCli, startTestServer, superuserUrl, type TestServer, tamper } from '../helpers.ts';

const FIXTURES = `${advisoryFixtures()}/`;
const manifest = new Map(
  readFileSync(join(FIXTURES, 'MANIFEST.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split('\t'))
    .map(([path, , sha]) => [path!, sha!]),
);

describe(`AOC ingestion on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  const headers = (extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`,
    'x-stella-tenant': 'default',
    ...extra,
  });

  async function ingest(kind: 'advisory' | 'vex', body: string | Buffer, extra: Record<string, string> = {}) {
    return fetch(`${t.base}/ingest/${kind}`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json', 'x-stella-source-vendor': 'test', ...extra }),
      body,
    });
  }

  const cli = (args: string[]) => runCli(t, args);

  before(async () => {
    t = await startTestServer();
    token = await t.token();
  });
  after(() => t.close());

  test('a document is stored verbatim: GET /raw returns the exact bytes; re-ingest is a no-op', async () => {
    const rel = 'ghsa/via-trivy-db/GHSA-4v7x-pqxf-cx7m.json';
    const path = join(FIXTURES, rel);
    const bytes = readFileSync(path);
    const first = await ingest('advisory', bytes, { 'x-stella-source-vendor': 'ghsa' });
    assert.equal(first.status, 201, await first.clone().text());
    const written = (await first.json()) as { id: string; result: string; revision: number; contentHash: string };
    assert.equal(written.result, 'ok');
    assert.equal(written.revision, 1);
    assert.equal(written.contentHash, `sha256:${manifest.get(rel)}`);
    const raw = await fetch(`${t.base}/advisories/raw/${encodeURIComponent(written.id)}/raw`, { headers: headers() });
    assert.equal(raw.status, 200);
    const back = Buffer.from(await raw.arrayBuffer());
    assert.equal(createHash('sha256').update(back).digest('hex'), manifest.get(rel));
    const envelope = (await (
      await fetch(`${t.base}/advisories/raw/${encodeURIComponent(written.id)}`, { headers: headers() })
    ).json()) as {
      source: { vendor: string };
      upstream: { upstream_id: string };
      content: { format: string };
      linkset: { aliases: string[] };
      supersedes: string | null;
    };
    assert.equal(envelope.source.vendor, 'ghsa');
    assert.equal(envelope.upstream.upstream_id, 'GHSA-4v7x-pqxf-cx7m');
    assert.equal(envelope.content.format, 'OSV');
    assert.ok(envelope.linkset.aliases.includes('CVE-2023-45288'));
    assert.equal(envelope.supersedes, null);
    const again = await ingest('advisory', bytes, { 'x-stella-source-vendor': 'ghsa' });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { result: string }).result, 'noop');
  });

  test('real upstream history becomes a chain whose head is the current file; A→B→A is a recorded no-op', async () => {
    const id = 'GO-2024-2445';
    const dir = join(FIXTURES, 'osv-go/history', id);
    const revisions = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
    for (const file of revisions) {
      const res = await ingest('advisory', readFileSync(join(dir, file)), {
        'x-stella-source-vendor': 'go-vulndb',
        'x-stella-retrieved-at': `${file.slice(0, 4)}-${file.slice(4, 6)}-${file.slice(6, 8)}T${file.slice(9, 11)}:${file.slice(11, 13)}:${file.slice(13, 15)}Z`,
      });
      assert.ok(res.status === 201 || res.status === 200, await res.text());
    }
    const current = readFileSync(join(FIXTURES, 'osv-go/current', `${id}.json`));
    await ingest('advisory', current, { 'x-stella-source-vendor': 'go-vulndb' });
    const history = (await (
      await fetch(`${t.base}/advisories/raw/history?source=go-vulndb&upstream_id=${id}`, { headers: headers() })
    ).json()) as {
      head: string;
      revisions: Array<{ id: string; supersedes: string | null; upstream: { content_hash: string } }>;
    };
    const head = history.revisions.at(-1)!;
    assert.equal(head.upstream.content_hash, `sha256:${createHash('sha256').update(current).digest('hex')}`);
    for (const [i, r] of history.revisions.entries()) {
      assert.equal(r.supersedes, i === 0 ? null : history.revisions[i - 1]!.id);
    }
    // Revert to the first revision: the content is already in the chain, so it is a no-op (spec §3.3
    // idempotency key); the response says it is not the head and the timeline records the revert.
    const revert = await ingest('advisory', readFileSync(join(dir, revisions[0]!)), {
      'x-stella-source-vendor': 'go-vulndb',
    });
    assert.equal(revert.status, 200);
    const body = (await revert.json()) as { result: string; head: boolean; id: string };
    assert.deepEqual([body.result, body.head, body.id], ['noop', false, history.revisions[0]!.id]);
    const events = (await (
      await fetch(`${t.base}/api/v1/timeline/events?kind=aoc.raw.revert_observed`, { headers: headers() })
    ).json()) as { items: Array<{ details: { documents: Array<{ matches: string; head: string }> } }> };
    assert.deepEqual(events.items.at(-1)!.details.documents[0], {
      matches: history.revisions[0]!.id,
      head: history.head,
      content_hash: history.revisions[0]!.upstream.content_hash,
    });
  });

  test('the guard refuses with coded problems and writes nothing', async () => {
    const doc = readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json'), 'utf8');
    const envelope = (extra: Record<string, unknown>) =>
      fetch(`${t.base}/ingest/advisory`, {
        method: 'POST',
        headers: headers({ 'content-type': 'application/vnd.stella.aoc-envelope+json' }),
        body: JSON.stringify({ source: { vendor: 'guarded' }, content: { raw: doc }, ...extra }),
      });
    const forbidden = await envelope({ severity: 'critical' });
    assert.equal(forbidden.status, 400);
    const problem = (await forbidden.json()) as {
      code: string;
      violations: Array<{ code: string; path: string; message: string }>;
    };
    assert.equal(problem.code, 'ERR_AOC_001');
    assert.deepEqual(problem.violations[0], {
      code: 'ERR_AOC_001',
      path: '/severity',
      message: problem.violations[0]!.message,
    } as never);
    const nested = await envelope({ linkset: { effective_status: 'fixed' } });
    assert.equal(((await nested.json()) as { code: string }).code, 'ERR_AOC_001');
    const unknown = await envelope({ opinion: 'x' });
    assert.equal(((await unknown.json()) as { code: string }).code, 'ERR_AOC_007');
    const tenant = await envelope({ tenant: 'other' });
    assert.equal(tenant.status, 403);
    const badHash = await envelope({ upstream: { content_hash: `sha256:${'0'.repeat(64)}` } });
    assert.equal(badHash.status, 422);
    assert.equal(((await badHash.json()) as { code: string }).code, 'ERR_AOC_005');
    const noVendor = await ingest('advisory', doc, { 'x-stella-source-vendor': '' });
    assert.equal(((await noVendor.json()) as { code: string }).code, 'ERR_AOC_004');
    for (const [body, what] of [
      ['{"id": "GO-1", "id": "GO-2"}', /duplicate key/],
      ['{"id": "GO-1",', /malformed JSON/],
      [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), /invalid UTF-8/],
    ] as const) {
      const res = await ingest('advisory', body);
      assert.equal(res.status, 400);
      const p = (await res.json()) as { code: string; detail: string };
      assert.equal(p.code, 'ERR_AOC_MALFORMED_DOCUMENT');
      assert.match(p.detail, what);
    }
    const gz = gzipSync(readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json')));
    const truncated = await ingest('advisory', gz.subarray(0, gz.length - 20), { 'content-encoding': 'gzip' });
    assert.equal(truncated.status, 400);
    assert.equal(((await truncated.json()) as { code: string }).code, 'ERR_AOC_MALFORMED_DOCUMENT');
    const bomb = await ingest('advisory', gzipSync(Buffer.alloc(300 * 1024 * 1024, 32)), {
      'content-encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    const otherTenant = await ingest('advisory', doc, { 'x-stella-tenant': 'acme' });
    assert.equal(otherTenant.status, 403);
    const vexToAdvisory = await ingest(
      'advisory',
      readFileSync(join(FIXTURES, 'openvex/go-vex-testdata/v001-1.vex.json')),
    );
    assert.equal(vexToAdvisory.status, 422);
    const huge = await ingest('advisory', `{"id":"GO-1","pad":"${'x'.repeat(17 * 1024 * 1024)}"}`);
    assert.equal(huge.status, 413);
    const list = (await (await fetch(`${t.base}/advisories/raw?source=guarded`, { headers: headers() })).json()) as {
      items: unknown[];
    };
    assert.equal(list.items.length, 0);
  });

  test('a listing (envelopes built as JSON by the database) says exactly what each record says, minus the upstream body', async () => {
    const a = readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json'));
    const b = readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0241.json'));
    // A stream and a retrieval time with microseconds on one, neither on the other.
    const first = await ingest('advisory', a, {
      'x-stella-source-vendor': 'listed',
      'x-stella-source-stream': 'nightly',
      'x-stella-retrieved-at': '2026-01-05T10:00:00.123456Z',
      'x-stella-document-version': '7',
    });
    assert.equal(first.status, 201, await first.clone().text());
    const second = await ingest('advisory', b, { 'x-stella-source-vendor': 'listed' });
    assert.equal(second.status, 201, await second.clone().text());
    const listed = await fetch(`${t.base}/advisories/raw?source=listed&limit=1`, { headers: headers() });
    assert.equal(listed.headers.get('content-type'), 'application/json; charset=utf-8');
    const page1 = (await listed.json()) as { items: { id: string }[]; nextCursor: string | null };
    assert.equal(page1.items.length, 1);
    assert.ok(page1.nextCursor);
    const page2 = (await (
      await fetch(`${t.base}/advisories/raw?source=listed&limit=1&cursor=${encodeURIComponent(page1.nextCursor)}`, {
        headers: headers(),
      })
    ).json()) as { items: { id: string }[]; nextCursor: string | null };
    assert.equal(page2.items.length, 1);
    assert.equal(page2.nextCursor, null);
    for (const item of [...page1.items, ...page2.items]) {
      const record = (await (await fetch(`${t.base}/advisories/raw/${item.id}`, { headers: headers() })).json()) as {
        content: Record<string, unknown>;
      };
      delete record.content.raw;
      assert.deepEqual(item, record);
      // Member order too: clients that hash or diff listings see the same text either way.
      assert.equal(JSON.stringify(item), JSON.stringify(record));
    }
    const withStream = page1.items[0] as unknown as { source: { stream?: string }; upstream: { retrieved_at: string } };
    assert.equal(withStream.source.stream, 'nightly');
    assert.equal(withStream.upstream.retrieved_at, '2026-01-05T10:00:00.123Z');
    assert.equal((page2.items[0] as unknown as { source: { stream?: string } }).source.stream, undefined);
    // By CVE, through the alias lookup: only the record whose linkset names it.
    const byCve = (await (
      await fetch(`${t.base}/advisories/raw?cve=CVE-2020-29242&source=listed`, { headers: headers() })
    ).json()) as { items: { id: string; upstream: { upstream_id: string } }[] };
    assert.deepEqual(
      byCve.items.map((i) => i.upstream.upstream_id),
      ['GO-2021-0097'],
    );
  });

  test('an NDJSON batch is all or nothing', async () => {
    const a = readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json'), 'utf8');
    const line = (extra: object) => JSON.stringify({ source: { vendor: 'batch' }, content: { raw: a }, ...extra });
    const bad = await fetch(`${t.base}/ingest/advisory/batch`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/x-ndjson' }),
      body: `${line({})}\n${line({ cvss: 9.8 })}\n`,
    });
    assert.equal(bad.status, 400);
    const problem = (await bad.json()) as { violations: Array<{ location: string }> };
    assert.equal(problem.violations[0]!.location, 'line 2');
    const list = (await (await fetch(`${t.base}/advisories/raw?source=batch`, { headers: headers() })).json()) as {
      items: unknown[];
    };
    assert.equal(list.items.length, 0);
    const good = await fetch(`${t.base}/ingest/advisory/batch`, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/x-ndjson' }),
      body: `${line({})}\n`,
    });
    assert.equal(good.status, 200);
    assert.equal(((await good.json()) as { written: number }).written, 1);
  });

  test('the database refuses hand-written rows that break the contract, and UPDATE/DELETE', async () => {
    const db = t.server.ctx.db;
    const insert = (hash: string, linkset: string) =>
      db.transaction(
        (tx) =>
          tx.query(
            `insert into advisory_raw (tenant, id, revision, source_vendor, source_connector, source_version, upstream_id,
               retrieved_at, content_hash, signature, content_format, spec_version, raw, schema_validation, identifiers,
               linkset, packages)
             values ('default', 'advisory_raw:sql:X-1:1', 1, 'sql', 'psql', '1', 'X-1', now(), $1,
               '{"present":false}', 'OSV', '1.0.0', '{"id":"X-1"}', '{}', '{}', $2::jsonb, '{}')`,
            [hash, linkset],
          ),
        { tenant: 'default' },
      );
    const okLinkset = '{"purls":[],"cpes":[],"aliases":[],"references":[],"reconciled_from":[]}';
    const goodHash = `sha256:${createHash('sha256').update('{"id":"X-1"}').digest('hex')}`;
    await assert.rejects(insert(`sha256:${'1'.repeat(64)}`, okLinkset), /err_aoc_005/);
    await assert.rejects(
      insert(goodHash, '{"purls":[],"cpes":[],"aliases":[],"references":[],"reconciled_from":[],"severity":"high"}'),
      /err_aoc_001/,
    );
    await assert.rejects(insert(goodHash, '{"purls":[]}'), /check constraint "advisory_raw_err_aoc_004_provenance"/);
    await insert(goodHash, okLinkset);
    await assert.rejects(
      db.transaction((tx) => tx.query(`update advisory_raw set raw = '{}' where id = 'advisory_raw:sql:X-1:1'`), {
        tenant: 'default',
      }),
      /append-only/,
    );
    await assert.rejects(
      db.transaction((tx) => tx.query(`delete from advisory_raw where id = 'advisory_raw:sql:X-1:1'`), {
        tenant: 'default',
      }),
      /append-only/,
    );
    // A row that satisfies every constraint but was never ingested has no witness on the timeline.
    const slipped = await cli(['aoc', 'verify', '--since', '1h', '--sources', 'sql', '--json']);
    assert.equal(slipped.code, 14, slipped.stdout);
    const report = JSON.parse(slipped.stdout) as { violations: Array<{ code: string; id: string; message: string }> };
    assert.deepEqual(
      report.violations.map((v) => [v.code, v.id]),
      [['ERR_AOC_004', 'advisory_raw:sql:X-1:1']],
    );
    assert.match(report.violations[0]!.message, /written outside stella/);
  });

  test('the same CVE is found across sources with one linkset query', async () => {
    for (const [vendor, rel] of [
      ['cve', 'cve5/CVE-2021-44228.json'],
      ['ghsa', 'ghsa/advisory-database'],
      ['redhat', 'csaf/redhat-via-anchore-vunnel'],
      ['cyclonedx', 'cyclonedx-vex/bom-examples/CISA-Use-Cases/Case-1'],
      ['go-vulndb', 'osv-go/current/GO-2024-2687.json'],
    ] as const) {
      const r = await cli(['sources', 'ingest', '--source', vendor, '--input', join(FIXTURES, rel), '--json']);
      assert.ok(r.code === 0, `${vendor}: ${r.stdout}${r.stderr}`);
    }
    const groups = async (cve: string) =>
      (await (await fetch(`${t.base}/v1/lnm/linksets?cve=${cve}`, { headers: headers() })).json()) as {
        sources: string[];
      };
    const log4shell = await groups('CVE-2021-44228');
    for (const vendor of ['cve', 'ghsa'])
      assert.ok(log4shell.sources.includes(vendor), JSON.stringify(log4shell.sources));
    const net = await groups('CVE-2023-45288');
    for (const vendor of ['ghsa', 'go-vulndb']) assert.ok(net.sources.includes(vendor), JSON.stringify(net.sources));
  });

  test('advisoriesForPackages: head advisories naming a package, verbatim with their hashes, by tenant', async () => {
    // GO-2024-2687 (go-vulndb, ingested above) names golang.org/x/net.
    const found = await advisoriesForPackages(t.server.ctx.db, 'default', [
      'pkg:golang/golang.org/x/net@v0.17.0',
      'not a purl',
    ]);
    const ids = found.map((a) => `${a.vendor}:${a.upstreamId}`);
    assert.ok(ids.includes('go-vulndb:GO-2024-2687'), ids.join(' '));
    for (const advisory of found) {
      assert.equal(advisory.contentHash, `sha256:${createHash('sha256').update(advisory.raw).digest('hex')}`);
      assert.deepEqual(advisory.packages, ['pkg:golang/golang.org/x/net']);
    }
    assert.deepEqual(await advisoriesForPackages(t.server.ctx.db, 'other-tenant', ['pkg:golang/golang.org/x/net']), []);
    assert.deepEqual(await advisoriesForPackages(t.server.ctx.db, 'default', ['pkg:npm/no-such-package@1.0.0']), []);
  });

  test('the CLI reads a stella.yaml that sets room sections (aoc, export) and applies its limits', async () => {
    const home = scratchDir('aoc-cli-home-');
    writeFileSync(
      join(home, 'stella.yaml'),
      'aoc:\n  batchSize: 50\nexport:\n  keepDeltas: 3\nlimits:\n  documentBytes: 1024\n',
    );
    const file = join(FIXTURES, 'osv-go/current/GO-2021-0097.json');
    const dry = await runCli({ ...t, home }, ['sources', 'ingest', '--dry-run', '--source', 'dry', '--input', file]);
    // The file's limits.documentBytes (1 KiB) is applied: the document is refused for its size, not
    // the configuration for its sections.
    assert.doesNotMatch(dry.stderr, /ERR_CONFIG/);
    assert.equal(dry.code, 2, dry.stderr);
    assert.match(dry.stderr, /ERR_AOC_DOCUMENT_TOO_LARGE: .*the cap is 1024 \(limits\.documentBytes\)/);
  });

  test('dry-run refuses an envelope severity with exit 11 and writes nothing; verify is clean, then catches tampering', async () => {
    const file = join(scratchDir('aoc-dry-'), 'envelope.json');
    writeFileSync(
      file,
      JSON.stringify({
        severity: 'critical',
        source: { vendor: 'dry' },
        content: { raw: readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json'), 'utf8') },
      }),
    );
    const dry = await cli(['sources', 'ingest', '--dry-run', '--source', 'dry', '--input', file]);
    assert.equal(dry.code, 11, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /ERR_AOC_001/);
    const sources = 'ghsa,go-vulndb,batch,cve,redhat,cyclonedx';
    const clean = await cli(['aoc', 'verify', '--since', '24h', '--sources', sources, '--json']);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.ok((JSON.parse(clean.stdout) as { checked: { advisory_raw: number } }).checked.advisory_raw > 10);

    await tamper(
      t,
      `update advisory_raw set raw = replace(raw, 'GO-2024-2687', 'GO-2024-2688') where upstream_id = 'GO-2024-2687'`,
    );
    const dirty = await cli(['aoc', 'verify', '--since', '24h', '--sources', sources, '--json']);
    assert.equal(dirty.code, 15, dirty.stdout);
    const report = JSON.parse(dirty.stdout) as { violations: Array<{ code: string; id: string }> };
    assert.equal(report.violations[0]!.code, 'ERR_AOC_005');
    assert.match(report.violations[0]!.id, /GO-2024-2687/);
    // Put the bytes back; the constraints re-apply only because every row satisfies them again.
    await tamper(
      t,
      `update advisory_raw set raw = replace(raw, 'GO-2024-2688', 'GO-2024-2687') where upstream_id = 'GO-2024-2687'; select aoc_apply_constraints()`,
    );
    assert.equal((await cli(['aoc', 'verify', '--since', '24h', '--sources', sources])).code, 0);

    // Bytes and hash rewritten together pass the row checks; the ingest event still knows the hash.
    await tamper(
      t,
      `update advisory_raw set raw = replace(raw, 'GO-2024-2687', 'GO-2024-2688') where upstream_id = 'GO-2024-2687';
       update advisory_raw set content_hash = 'sha256:' || encode(sha256(convert_to(raw, 'UTF8')), 'hex') where upstream_id = 'GO-2024-2687'`,
    );
    const rewritten = await cli(['aoc', 'verify', '--since', '24h', '--sources', sources, '--json']);
    assert.equal(rewritten.code, 15, rewritten.stdout);
    assert.match(rewritten.stdout, /rewritten together/);
    // A deleted head leaves a valid chain behind; the ingest event names the missing row.
    await tamper(t, `delete from advisory_raw where id = 'advisory_raw:batch:GO-2021-0097:1'`);
    const deleted = await cli(['aoc', 'verify', '--since', '24h', '--sources', 'batch', '--json']);
    assert.equal(deleted.code, 13, deleted.stdout);
    assert.match(deleted.stdout, /the row was deleted/);
    await tamper(
      t,
      `update advisory_raw set raw = replace(raw, 'GO-2024-2688', 'GO-2024-2687') where upstream_id = 'GO-2024-2687';
       update advisory_raw set content_hash = 'sha256:' || encode(sha256(convert_to(raw, 'UTF8')), 'hex') where upstream_id = 'GO-2024-2687';
       select aoc_apply_constraints()`,
    );
  });

  test('ops scripts: the duplicate audit, and removing and re-applying the constraints with psql', {
    skip: testBackend() !== 'postgres' && 'psql needs PostgreSQL',
  }, async () => {
    const url = superuserUrl(t);
    const psql = (...args: string[]) =>
      execFileSync(`${findPostgresBin()}/psql`, ['-X', '-q', url, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    // Seed 004's paths and flags: the audit with -v LIMIT=200, the rollback with --remove.
    const ops = new URL('../../../../ops/devops/scripts/', import.meta.url).pathname;
    const audit = psql('-f', join(ops, 'check-advisory-raw-duplicates.sql'), '-v', 'LIMIT=200');
    assert.match(audit, /\(0 rows\)[\s\S]*\(0 rows\)/);
    const removed = execFileSync(join(ops, 'apply-aoc-constraints.sh'), ['--remove', '-q', url], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${findPostgresBin()}:${process.env.PATH}` },
    });
    assert.match(removed, /removed/);
    const installed = () =>
      psql(
        '-t',
        '-A',
        '-c',
        "select (select count(*) from pg_constraint where conname like '%_err_aoc_%') || '/' || (select count(*) from pg_trigger where tgname like '%_aoc_append_only')",
      ).trim();
    assert.equal(installed(), '0/0');
    assert.match(psql('-f', join(ops, 'apply-aoc-constraints.sql')), /applied/);
    assert.equal(installed(), '10/2');

    // Cutover with AOC_ALLOW_SUPERSEDES_RETROFIT: rows imported without links while the constraint
    // set is off get linked at start-up; re-applying the constraints then succeeds.
    psql('-v', 'remove=1', '-f', join(ops, 'apply-aoc-constraints.sql'));
    const row = (rev: number, body: string) =>
      `('default', 'advisory_raw:legacy:L-1:${rev}', ${rev}, 'legacy', 'import', '1', 'L-1', now(),
        'sha256:${createHash('sha256').update(body).digest('hex')}', '{"present":false}', 'OSV', '1.0.0', '${body}',
        '{}', '{}', '{"purls":[],"cpes":[],"aliases":[],"references":[],"reconciled_from":[]}', '{}')`;
    psql(
      '-c',
      `insert into advisory_raw (tenant, id, revision, source_vendor, source_connector, source_version, upstream_id,
         retrieved_at, content_hash, signature, content_format, spec_version, raw, schema_validation,
         identifiers, linkset, packages) values ${row(1, '{"id":"L-1"}')}, ${row(2, '{"id":"L-1","x":1}')}`,
    );
    const ctx = t.server.ctx;
    await aocModule.start!({
      ...ctx,
      config: { ...ctx.config, aoc: { ...ctx.config.aoc, allowSupersedesRetrofit: true } },
    });
    assert.equal(
      psql('-t', '-A', '-c', "select supersedes from advisory_raw where id = 'advisory_raw:legacy:L-1:2'").trim(),
      'advisory_raw:legacy:L-1:1',
    );
    assert.match(psql('-f', join(ops, 'apply-aoc-constraints.sql')), /applied/);
  });
});

describe(`AOC acceptance: every fixture, by the CLI, on ${testBackend()}`, () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.close());

  const run = (args: string[]) => runCli(t, args);
  // What a folder may legitimately hold besides advisories and VEX: CycloneDX SBOMs, CSAF provider
  // metadata / ROLIE / aggregator files, and the two deliberately malformed upstream files.
  const expectedReject = (location: string) =>
    /(^|\/)bom(-\d+)?\.json$/.test(location) ||
    /(^|\/)(ROLIE|aggregator|provider-metadata)\//.test(location) ||
    /sad-(legacy-api-shape-GHSA-wjx8-cgrm-hh8p|PYSEC-2005-1)\.json$/.test(location);

  test('ingest every file per source, re-ingest writes nothing, and every stored document is byte-identical', async () => {
    let written = 0;
    for (const { folder, vendor } of fixtureSources()) {
      const r = await run(['sources', 'ingest', '--source', vendor, '--input', join(FIXTURES, folder), '--json']);
      const report = JSON.parse(r.stdout) as { written: number; rejected: Array<{ location: string; code: string }> };
      for (const rej of report.rejected) assert.ok(expectedReject(rej.location), `${folder}: ${JSON.stringify(rej)}`);
      if (report.rejected.length === 0) assert.equal(r.code, 0, r.stderr);
      else assert.notEqual(r.code, 0);
      written += report.written;
    }
    assert.ok(written > 350, `written ${written}`);
    for (const { folder, vendor } of fixtureSources()) {
      const again = JSON.parse(
        (await run(['sources', 'ingest', '--source', vendor, '--input', join(FIXTURES, folder), '--json'])).stdout,
      ) as { written: number; noop: number };
      assert.equal(again.written, 0, folder);
      assert.ok(again.noop > 0 || folder === 'osv-go/history', folder);
    }
    const hashes = new Set(manifest.values());
    const token = await t.token();
    let checked = 0;
    for (const base of ['/advisories/raw', '/vex/raw']) {
      let cursor: string | null = null;
      do {
        const page = (await (
          await fetch(`${t.base}${base}?history=true&limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { items: Array<{ id: string }>; nextCursor: string | null };
        for (const item of page.items) {
          const raw = await fetch(`${t.base}${base}/${encodeURIComponent(item.id)}/raw`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const sha = createHash('sha256')
            .update(Buffer.from(await raw.arrayBuffer()))
            .digest('hex');
          assert.ok(hashes.has(sha), `${item.id} is not byte-identical to any fixture`);
          checked++;
        }
        cursor = page.nextCursor;
      } while (cursor);
    }
    assert.equal(checked, written);
    const verify = await run(['aoc', 'verify', '--since', '1h']);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
  });

  test('osv-go history chains end at the current file', async () => {
    const token = await t.token();
    const withCurrent = readdirSync(join(FIXTURES, 'osv-go/history')).filter((id) =>
      existsSync(join(FIXTURES, 'osv-go/current', `${id}.json`)),
    );
    assert.equal(withCurrent.length, 2);
    for (const id of withCurrent) {
      const chain = (await (
        await fetch(`${t.base}/advisories/raw/history?source=osv-go&upstream_id=${id}`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).json()) as { revisions: Array<{ upstream: { content_hash: string } }> };
      const current = readFileSync(join(FIXTURES, 'osv-go/current', `${id}.json`));
      assert.ok(chain.revisions.length >= 2, `${id} has ${chain.revisions.length} revisions`);
      assert.equal(
        chain.revisions.at(-1)!.upstream.content_hash,
        `sha256:${createHash('sha256').update(current).digest('hex')}`,
        id,
      );
    }
  });
});

describe(`AOC signatures and scheduled sources on ${testBackend()}`, () => {
  let t: TestServer;
  const work = scratchDir('aoc-signed-');
  const feed = join(work, 'feed');
  const gnupg = join(work, 'gnupg');
  const csaf = join(FIXTURES, 'csaf/oasis-csaf-2.0-examples/csaf');
  const vexSigner = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  before(async () => {
    const { mkdirSync, chmodSync, copyFileSync } = await import('node:fs');
    mkdirSync(feed);
    mkdirSync(gnupg);
    chmodSync(gnupg, 0o700);
    const gpg = (...args: string[]) =>
      execFileSync('gpg', ['--homedir', gnupg, '--batch', '--quiet', '--passphrase', '', ...args], { stdio: 'pipe' });
    gpg('--quick-gen-key', 'stella test <csaf@example.test>', 'ed25519', 'sign', 'never');
    writeFileSync(join(work, 'provider.asc'), gpg('--armor', '--export', 'csaf@example.test'));
    // a: signed; b: signed, then the document changed; c: no signature at all.
    copyFileSync(join(csaf, 'bsi-2022-0001.json'), join(feed, 'a.json'));
    gpg('--armor', '--detach-sign', '--output', join(feed, 'a.json.asc'), join(feed, 'a.json'));
    writeFileSync(join(feed, 'b.json'), readFileSync(join(csaf, 'rhsa-2021_5186.json')));
    gpg('--armor', '--detach-sign', '--output', join(feed, 'b.json.asc'), join(feed, 'b.json'));
    writeFileSync(
      join(feed, 'b.json'),
      readFileSync(join(csaf, 'rhsa-2021_5186.json'), 'utf8').replace('Red Hat', 'Red Hot'),
    );
    copyFileSync(join(csaf, 'cisco-sa-20180328-smi2.json'), join(feed, 'c.json'));
    writeFileSync(join(work, 'vex-signer.pem'), vexSigner.publicKey.export({ type: 'spki', format: 'pem' }));
    t = await startTestServer(
      {},
      [
        'aoc:',
        '  sources:',
        '    signed:',
        '      signature: require',
        `      keys: [${join(work, 'provider.asc')}]`,
        `      input: ${feed}`,
        "      schedule: '0 0 1 1 *'",
        '    vexsigned:',
        '      signature: require',
        `      keys: [${join(work, 'vex-signer.pem')}]`,
      ].join('\n'),
    );
  });
  after(() => t.close());

  const cli = (args: string[]) => runCli(t, args);

  test('require: a valid detached OpenPGP signature is stored as verified; a broken or missing one is ERR_AOC_005', async () => {
    const r = await cli(['sources', 'ingest', '--source', 'signed', '--input', feed, '--json']);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as {
      written: number;
      rejected: Array<{ location: string; code: string; violations: Array<{ message: string }> }>;
    };
    assert.equal(report.written, 1);
    assert.deepEqual(report.rejected.map((x) => [x.location, x.code]).sort(), [
      ['b.json', 'ERR_AOC_005'],
      ['c.json', 'ERR_AOC_005'],
    ]);
    assert.match(report.rejected.find((x) => x.location === 'c.json')!.violations[0]!.message, /none was published/);
    const token = await t.token();
    const list = (await (
      await fetch(`${t.base}/advisories/raw?source=signed`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      items: Array<{
        upstream: { signature: { present: boolean; verified: boolean; format: string; key_id: string } };
      }>;
    };
    assert.equal(list.items.length, 1);
    const sig = list.items[0]!.upstream.signature;
    assert.deepEqual([sig.present, sig.verified, sig.format], [true, true, 'pgp']);
    assert.match(sig.key_id, /^[0-9A-F]{16}$/);
    const metrics = aocMetrics(
      await (
        await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${await t.token('metrics:read')}` } })
      ).text(),
    );
    // a.json is verified twice: its first batch was refused as a whole because of b and c.
    assert.match(metrics, /ingestion_signature_verified_total\{source="signed",tenant="default",result="ok"\} 2/);
    assert.match(metrics, /ingestion_signature_verified_total\{source="signed",tenant="default",result="fail"\} 1/);
    assert.match(metrics, /ingestion_signature_verified_total\{source="signed",tenant="default",result="skipped"\} 1/);
    assert.match(metrics, /aoc_violation_total\{source="signed",tenant="default",code="ERR_AOC_005"\} 2/);
  });

  test('require: an OpenVEX document with a DSSE envelope over it verifies; the envelope of another document does not', async () => {
    const token = await t.token();
    const vex = (name: string) => readFileSync(join(FIXTURES, 'openvex/go-vex-testdata', name));
    const statement = (doc: Buffer) =>
      Buffer.from(
        JSON.stringify({
          _type: 'https://in-toto.io/Statement/v1',
          subject: [],
          predicateType: 'https://openvex.dev/ns/v0.2.0',
          predicate: JSON.parse(doc.toString('utf8')),
        }),
      );
    const envelope = (doc: Buffer) =>
      Buffer.from(
        JSON.stringify(
          dsseSign(IN_TOTO_PAYLOAD_TYPE, statement(doc), [{ keyid: 'release', privateKey: vexSigner.privateKey }]),
        ),
      ).toString('base64');
    const post = (doc: Buffer, sig: string) =>
      fetch(`${t.base}/ingest/vex`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-stella-source-vendor': 'vexsigned',
          'x-stella-signature': sig,
          'x-stella-signature-format': 'dsse',
        },
        body: doc,
      });
    const ok = await post(vex('v020-1.vex.json'), envelope(vex('v020-1.vex.json')));
    assert.equal(ok.status, 201, await ok.clone().text());
    const id = ((await ok.json()) as { id: string }).id;
    const stored = (await (
      await fetch(`${t.base}/vex/raw/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { upstream: { signature: { verified: boolean; format: string } } };
    assert.deepEqual([stored.upstream.signature.verified, stored.upstream.signature.format], [true, 'dsse']);
    const swapped = await post(vex('v020-2.vex.json'), envelope(vex('v020-1.vex.json')));
    assert.equal(swapped.status, 422);
    assert.match(((await swapped.json()) as { detail: string }).detail, /payload is not this document/);
  });

  test('the scheduled source runs on demand in the worker, saves its cursor and applies the same policy', async () => {
    const token = await t.token();
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const run = await fetch(`${t.base}/aoc/sources/signed/run`, {
      method: 'POST',
      headers: auth,
      body: '{"restart":true}',
    });
    assert.equal(run.status, 202, await run.clone().text());
    const missing = await fetch(`${t.base}/aoc/sources/nope/run`, { method: 'POST', headers: auth, body: '{}' });
    assert.equal(missing.status, 404);
    let source: { cursor: string | null; lastRunAt: string | null } | undefined;
    for (let i = 0; i < 60 && !source?.cursor; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const body = (await (await fetch(`${t.base}/aoc/sources`, { headers: auth })).json()) as {
        sources: Array<{ vendor: string; cursor: string | null; lastRunAt: string | null }>;
      };
      source = body.sources.find((s) => s.vendor === 'signed');
    }
    assert.equal(source?.cursor, 'c.json');
    const metrics = aocMetrics(
      await (
        await fetch(`${t.base}/metrics`, { headers: { authorization: `Bearer ${await t.token('metrics:read')}` } })
      ).text(),
    );
    assert.match(metrics, /ingestion_write_total\{source="signed",tenant="default",result="noop"\} 1/);
    assert.match(metrics, /aoc_violation_total\{source="signed",tenant="default",code="ERR_AOC_005"\} 4/);
  });

  test('an oversized document is reported and skipped; the rest of the directory is ingested', async () => {
    const dir = join(work, 'big');
    (await import('node:fs')).mkdirSync(dir);
    writeFileSync(
      join(dir, 'a-big.json'),
      `{"id":"GO-BIG","modified":"2024-01-01T00:00:00Z","pad":"${'x'.repeat(5000)}"}`,
    );
    writeFileSync(join(dir, 'b-small.json'), readFileSync(join(FIXTURES, 'osv-go/current/GO-2021-0097.json')));
    const r = await cli([
      'sources',
      'ingest',
      '--source',
      'sizes',
      '--input',
      dir,
      '--document-bytes',
      '4096',
      '--json',
    ]);
    const report = JSON.parse(r.stdout) as { written: number; rejected: Array<{ location: string; code: string }> };
    assert.equal(report.written, 1);
    assert.deepEqual(
      report.rejected.map((x) => [x.location, x.code]),
      [['a-big.json', 'ERR_AOC_DOCUMENT_TOO_LARGE']],
    );
    assert.equal(r.code, 2);
  });
});

/** The AOC sample lines of a Prometheus exposition, so a failed match prints something readable. */
function aocMetrics(text: string): string {
  return text
    .split('\n')
    .filter((l) => /^(ingestion_|aoc_|verify_|advisory_revision)/.test(l))
    .join('\n');
}
