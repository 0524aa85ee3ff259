// SPDX-License-Identifier: Apache-2.0
// The AOC door the findings room reads VEX through (vexForPackages), end to end on a real server:
// fixture VEX documents of all three formats ingested over HTTP, then looked up by package. Only
// chain heads come back, each verbatim with its hash, and another tenant sees none of them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { vexForPackages } from '@stella/aoc';
import { hashSecret } from '@stella/authority';
import { advisoryFixtures, testBackend } from '@stella/testkit';
import { clientToken, startTestServer, type TestServer } from '../helpers.ts';

const FIXTURES = advisoryFixtures();
const GLOBEX_SECRET = 'globex-vex-secret-0123456789abcdef';

describe(`vexForPackages on ${testBackend()}`, () => {
  let t: TestServer;
  let token: string;

  async function ingest(rel: string, vendor: string, extra: Record<string, string> = {}, bearer = token) {
    const response = await fetch(`${t.base}/ingest/vex`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'x-stella-tenant': 'default',
        'content-type': 'application/json',
        'x-stella-source-vendor': vendor,
        ...extra,
      },
      body: readFileSync(join(FIXTURES, rel)),
    });
    assert.ok(response.status === 201 || response.status === 200, `${rel}: ${await response.clone().text()}`);
    return (await response.json()) as { id: string; revision: number };
  }

  before(async () => {
    const yaml = `auth:\n  clients:\n    - clientId: globex-bot\n      secretHash: "${await hashSecret(GLOBEX_SECRET)}"\n      tenants: [globex]\n      scopes: [vex:ingest]\n`;
    t = await startTestServer({}, yaml);
    token = await t.token();
    // v001-1 and v001-2 share the @id my-vexdoc2: the second is revision 2 of the same document.
    await ingest('openvex/go-vex-testdata/v001-1.vex.json', 'go-vex');
    await ingest('openvex/go-vex-testdata/v001-2.vex.json', 'go-vex');
    await ingest('openvex/go-vex-testdata/v020-1.vex.json', 'go-vex');
    await ingest('openvex/go-vex-testdata/v0.2.0.json', 'go-vex');
    await ingest('csaf/redhat-vex-via-trivy-db/cve-2024-10041.json', 'redhat');
    await ingest('cyclonedx-vex/bom-examples/vex.json', 'cyclonedx', {
      'x-stella-upstream-id': 'bom-examples/vex.json',
    });
  });
  after(() => t.close());

  test('returns the head revision of each document naming the package, verbatim, in id order', async () => {
    const found = await vexForPackages(t.server.ctx.db, 'default', ['pkg:apk/wolfi/bash@9.9.9?arch=x86_64', 'nope']);
    assert.deepEqual(
      found.map((v) => [v.vendor, v.upstreamId, v.revision, v.format]),
      [
        [
          'go-vex',
          'https://openvex.dev/docs/public/vex-3f59b4dffdeae0183e5e6a9d7a2461fdf86a03c079f4129050bb462eca366beb',
          1,
          'OPENVEX',
        ],
        ['go-vex', 'my-vexdoc2', 2, 'OPENVEX'],
      ],
    );
    const head = found[1]!;
    assert.equal(head.recordId, 'vex_raw:go-vex:my-vexdoc2:2');
    assert.equal(head.raw, readFileSync(join(FIXTURES, 'openvex/go-vex-testdata/v001-2.vex.json'), 'utf8'));
    assert.equal(head.specVersion, '0.0.1');
    assert.deepEqual(head.aliases, ['CVE-1234-5678']);
    for (const vex of found) {
      assert.equal(vex.contentHash, `sha256:${createHash('sha256').update(vex.raw).digest('hex')}`);
      assert.deepEqual(vex.packages, ['pkg:apk/wolfi/bash']);
    }
  });

  test('finds CSAF VEX by a product-tree purl, CycloneDX VEX by a BOM-Link purl, OpenVEX by a subcomponent', async () => {
    const db = t.server.ctx.db;
    const csaf = await vexForPackages(db, 'default', ['pkg:rpm/redhat/pam@1.5.1-21.el9_5?arch=x86_64']);
    assert.deepEqual(
      csaf.map((v) => [v.recordId, v.format, v.specVersion, v.packages]),
      [['vex_raw:redhat:CVE-2024-10041:1', 'CSAF_VEX', '2.0', ['pkg:rpm/redhat/pam']]],
    );
    const cdx = await vexForPackages(db, 'default', ['pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0']);
    assert.deepEqual(
      cdx.map((v) => [v.upstreamId, v.format]),
      [['bom-examples/vex.json', 'CYCLONEDX_VEX']],
    );
    const sub = await vexForPackages(db, 'default', ['pkg:apk/alpine/libssl3', 'pkg:apk/alpine/libcrypto3@3.0.8-r3']);
    assert.equal(sub.length, 1);
    assert.deepEqual(sub[0]!.packages, ['pkg:apk/alpine/libcrypto3', 'pkg:apk/alpine/libssl3']);
    assert.deepEqual(await vexForPackages(db, 'default', ['pkg:npm/no-such-package@1.0.0']), []);
    assert.deepEqual(await vexForPackages(db, 'default', []), []);
  });

  test('another tenant sees none of it, and its own documents stay its own', async () => {
    const db = t.server.ctx.db;
    assert.deepEqual(await vexForPackages(db, 'other-tenant', ['pkg:apk/wolfi/bash']), []);
    const globex = await clientToken(t.base, 'globex-bot', GLOBEX_SECRET);
    await ingest('openvex/guac-testdata/open-vex-affected.json', 'guac', { 'x-stella-tenant': 'globex' }, globex);
    const theirs = await vexForPackages(db, 'globex', ['pkg:apk/wolfi/bash']);
    assert.deepEqual(
      theirs.map((v) => v.vendor),
      ['guac'],
    );
    const ours = await vexForPackages(db, 'default', ['pkg:apk/wolfi/bash']);
    assert.ok(!ours.some((v) => v.vendor === 'guac'));
  });
});
