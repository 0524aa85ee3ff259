// SBOM ingest end to end on the suite's backend, as a user would try it: npm's own CycloneDX and SPDX
// SBOMs of examples/node-app over HTTP and with `stella sbom`, idempotent re-ingest, paging, the raw
// document byte-identical, another tenant's 404, and each bad input's coded refusal.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '@stella/authority';
import { testBackend } from '@stella/testkit';
import { clientToken, runCli, startTestServer, type TestServer } from '../helpers.ts';

const EXAMPLE = new URL('../../../../examples/node-app/', import.meta.url);
const CDX_PATH = new URL('sbom.cdx.json', EXAMPLE).pathname;
const SPDX_PATH = new URL('sbom.spdx.json', EXAMPLE).pathname;
const CDX = readFileSync(CDX_PATH);
const MAX_SBOM_BYTES = 64 * 1024;

interface Problem {
  code: string;
  detail: string;
}

interface Record {
  id: string;
  subjectKey: string;
  format: string;
  components: number;
  edges: number;
  duplicate: boolean;
  contentHash: string;
  provenance: { clientId: string; filename?: string };
}

describe(`SBOM ingest on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;
  let otherToken: string;
  const otherSecret = 'globex-sbom-secret-0123456789';
  const api = (path: string, init: RequestInit & { other?: boolean } = {}) =>
    fetch(`${t.base}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${init.other ? otherToken : token}`,
        'x-stella-tenant': init.other ? 'globex' : 'default',
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as { [name: string]: string } | undefined),
      },
    });
  const post = (body: string | Buffer, query = '') => api(`/sboms${query}`, { method: 'POST', body });
  const problem = async (res: Response): Promise<Problem> => {
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    return (await res.json()) as Problem;
  };

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(otherSecret)}"\n      tenants: [globex]\n      scopes: [sbom:ingest, sbom:read]\n`;
    t = await startTestServer({ STELLA_FINDINGS_MAX_SBOM_BYTES: String(MAX_SBOM_BYTES) }, yaml);
    token = await t.token();
    otherToken = await clientToken(t.base, 'globex-bot', otherSecret);
  });
  after(() => t.close());

  let cdxId: string;

  test('POST /sboms stores the CycloneDX SBOM: 201, 62 components and the root, 98 edges; the same bytes again 200 duplicate', async () => {
    const res = await post(CDX, '?filename=sbom.cdx.json');
    assert.equal(res.status, 201, await res.clone().text());
    const created = (await res.json()) as Record;
    cdxId = created.id;
    assert.equal(created.id, `sbom:sha256:${createHash('sha256').update(CDX).digest('hex')}`);
    assert.equal(res.headers.get('location'), `/sboms/${encodeURIComponent(created.id)}`);
    assert.equal(created.subjectKey, 'stella-example-node-app|1.0.0');
    assert.equal(created.components, 62);
    assert.equal(created.edges, 98);
    assert.equal(created.duplicate, false);
    assert.equal(created.provenance.clientId, 'stella-admin');
    assert.equal(created.provenance.filename, 'sbom.cdx.json');
    const again = await post(CDX);
    assert.equal(again.status, 200);
    const duplicate = (await again.json()) as Record;
    assert.equal(duplicate.duplicate, true);
    assert.equal(duplicate.id, created.id);
    const one = await api(`/sboms/${encodeURIComponent(cdxId)}`);
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as Record).subjectKey, 'stella-example-node-app|1.0.0');
  });

  test('components page by ord; the raw document is byte-identical with its sha256 as ETag', async () => {
    const ords: number[] = [];
    let cursor = '';
    do {
      const res = await api(`/sboms/${encodeURIComponent(cdxId)}/components?limit=5${cursor}`);
      assert.equal(res.status, 200);
      const page = (await res.json()) as { items: Array<{ ord: number; root: boolean }>; nextCursor: string | null };
      ords.push(...page.items.map((c) => c.ord));
      cursor = page.nextCursor ? `&cursor=${page.nextCursor}` : '';
    } while (cursor);
    assert.deepEqual(
      ords,
      Array.from({ length: 63 }, (_, i) => i),
    );
    const raw = await api(`/sboms/${encodeURIComponent(cdxId)}/raw`);
    assert.equal(raw.status, 200);
    assert.match(raw.headers.get('content-type') ?? '', /^application\/json/);
    const etag = raw.headers.get('etag');
    assert.equal(etag, `"sha256:${createHash('sha256').update(CDX).digest('hex')}"`);
    assert.ok(Buffer.from(await raw.arrayBuffer()).equals(CDX));
    const notModified = await api(`/sboms/${encodeURIComponent(cdxId)}/raw`, { headers: { 'if-none-match': etag! } });
    assert.equal(notModified.status, 304);
  });

  test('stella sbom ingest (SPDX), list and components', async () => {
    const ingest = await runCli(t, ['sbom', 'ingest', SPDX_PATH]);
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.match(ingest.stdout, /^stored sbom:sha256:[0-9a-f]{64}$/m);
    assert.match(ingest.stdout, /subject +stella-example-node-app\|1\.0\.0/);
    assert.match(ingest.stdout, /components +62 \(\+ root stella-example-node-app@1\.0\.0\)/);
    assert.match(ingest.stdout, /edges +98/);
    const again = await runCli(t, ['sbom', 'ingest', SPDX_PATH, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const record = JSON.parse(again.stdout) as Record;
    assert.equal(record.duplicate, true);
    assert.equal(record.format, 'spdx');
    assert.equal(record.provenance.filename, 'sbom.spdx.json');
    const list = await runCli(t, ['sbom', 'list', '--subject', 'stella-example-node-app|1.0.0', '--json']);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { items: Record[] };
    assert.deepEqual(
      listed.items.map((r) => r.format),
      ['spdx', 'cyclonedx'],
    );
    const components = await runCli(t, ['sbom', 'components', record.id]);
    assert.equal(components.code, 0, components.stderr);
    assert.match(
      components.stdout,
      /^\* stella-example-node-app +1\.0\.0 +npm +pkg:npm\/stella-example-node-app@1\.0\.0$/m,
    );
    assert.match(components.stdout, /^yargs-parser +13\.1\.1 +npm +pkg:npm\/yargs-parser@13\.1\.1$/m);
    assert.equal(components.stdout.trim().split('\n').length, 64);
  });

  test('the CLI names the subject with --component/--version, and reports a missing one with exit 2', async () => {
    const noRoot = join(t.home, 'no-root.cdx.json');
    writeFileSync(
      noRoot,
      JSON.stringify({
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        components: [{ 'bom-ref': 'a', name: 'left-pad', version: '1.3.0' }],
      }),
    );
    const missing = await runCli(t, ['sbom', 'ingest', noRoot]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ERR_SBOM_SUBJECT_REQUIRED/);
    const named = await runCli(t, ['sbom', 'ingest', noRoot, '--component', 'Billing', '--version', '3.1', '--json']);
    assert.equal(named.code, 0, named.stderr);
    const record = JSON.parse(named.stdout) as Record & { issues: Array<{ kind: string }> };
    assert.equal(record.subjectKey, 'billing|3.1');
    assert.deepEqual(
      record.issues.map((i) => i.kind),
      ['missing-purl'],
    );
    const human = await runCli(t, ['sbom', 'ingest', noRoot]);
    assert.match(human.stdout, /issues +missing-purl 1/);
  });

  test("another tenant's client gets 404 for these SBOMs and lists none", async () => {
    for (const path of ['', '/components', '/raw']) {
      const res = await api(`/sboms/${encodeURIComponent(cdxId)}${path}`, { other: true });
      assert.equal(res.status, 404, path);
      assert.equal((await problem(res)).code, 'ERR_NOT_FOUND');
    }
    const list = (await (await api('/sboms', { other: true })).json()) as { items: unknown[] };
    assert.equal(list.items.length, 0);
    const wrongTenant = await api('/sboms', { headers: { 'x-stella-tenant': 'globex' } });
    assert.equal(wrongTenant.status, 403);
  });

  test("the same bytes from another tenant are its own SBOM in its own CAS, and removing the first tenant's object leaves it whole", async () => {
    const theirs = await api('/sboms', { method: 'POST', body: CDX, other: true });
    assert.equal(theirs.status, 201, 'not a duplicate: nothing tells globex that default stored these bytes');
    assert.equal(((await theirs.json()) as Record).duplicate, false);
    const hex = createHash('sha256').update(CDX).digest('hex');
    const objectOf = (tenant: string) =>
      join(t.home, 'cas', 'tenants', tenant, 'findings', 'sbom', hex.slice(0, 2), hex);
    assert.ok(existsSync(objectOf('default')) && existsSync(objectOf('globex')), 'one object per tenant');
    rmSync(objectOf('default'));
    try {
      const raw = await api(`/sboms/${encodeURIComponent(cdxId)}/raw`, { other: true });
      assert.equal(raw.status, 200);
      assert.deepEqual(Buffer.from(await raw.arrayBuffer()), CDX);
      assert.notEqual((await api(`/sboms/${encodeURIComponent(cdxId)}/raw`)).status, 200, "default's object is gone");
    } finally {
      writeFileSync(objectOf('default'), CDX);
    }
  });

  test('bad input: too large 413, malformed JSON 400, unsupported 415, no subject 400; nothing stored', async () => {
    const count = async () => ((await (await api('/sboms?limit=1000')).json()) as { items: unknown[] }).items.length;
    const before = await count();
    const huge = await post(`{"bomFormat":"CycloneDX","pad":"${'x'.repeat(MAX_SBOM_BYTES)}"}`);
    assert.equal(huge.status, 413);
    assert.equal((await problem(huge)).code, 'ERR_BODY_TOO_LARGE');
    const malformed = await post('{"bomFormat": "CycloneDX", ');
    assert.equal(malformed.status, 400);
    assert.equal((await problem(malformed)).code, 'ERR_MALFORMED_BODY');
    const xml = await post('{"bomFormat":"CycloneDX","specVersion":"1.1"}');
    assert.equal(xml.status, 415);
    assert.equal((await problem(xml)).code, 'ERR_SBOM_UNSUPPORTED');
    const other = await post('{"openvex":"https://openvex.dev/ns/v0.2.0"}');
    assert.equal(other.status, 415);
    const noSubject = await post('{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}');
    assert.equal(noSubject.status, 400);
    const refused = await problem(noSubject);
    assert.equal(refused.code, 'ERR_SBOM_SUBJECT_REQUIRED');
    assert.match(refused.detail, /--image-digest/);
    const badId = await api('/sboms/not-an-id');
    assert.equal(badId.status, 400);
    const readOnly = await clientToken(t.base, t.admin.clientId, t.admin.clientSecret, { scope: 'sbom:read' });
    const forbidden = await fetch(`${t.base}/sboms`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${readOnly}`,
        'x-stella-tenant': 'default',
        'content-type': 'application/json',
      },
      body: CDX,
    });
    assert.equal(forbidden.status, 403);
    assert.equal(await count(), before);
  });
});
