// SPDX-License-Identifier: Apache-2.0
// The AOC guard is pure: every rule of spec §3.1/§3.4 with its code and JSON pointer, and the rule
// that it never looks inside content.raw (where upstream severity is legal).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sha256Digest } from '@stella/core';
import { guardEnvelope, violationError } from '../src/ingest/guard.ts';

const bytes = Buffer.from('{"id":"GHSA-x"}');
const valid = () => ({
  tenant: 'default',
  source: { vendor: 'ghsa', connector: 'api', version: '1' },
  upstream: {
    upstream_id: 'GHSA-x',
    retrieved_at: '2026-11-25T10:00:00Z',
    content_hash: sha256Digest(bytes),
    signature: { present: false, verified: false },
  },
  content: { format: 'OSV', spec_version: '1.6.0', raw: { database_specific: { severity: 'HIGH' }, severity: [] } },
  linkset: { purls: [], cpes: [], aliases: [], references: [], reconciled_from: [] },
});
const codes = (v: ReturnType<typeof guardEnvelope>) => v.map((x) => `${x.code} ${x.path}`);

describe('AOC guard', () => {
  test('a complete envelope passes; upstream severity inside content.raw is legal', () => {
    assert.deepEqual(guardEnvelope(valid(), { tenant: 'default', bytes, requireProvenance: true }), []);
  });

  test('forbidden keys anywhere outside content.raw: ERR_AOC_001 with a pointer', () => {
    for (const [patch, path] of [
      [{ severity: 'high' }, '/severity'],
      [{ cvss: 9.8 }, '/cvss'],
      [{ effective_whatever: 1 }, '/effective_whatever'],
      [{ linkset: { purls: [], merged_from: ['a'] } }, '/linkset/merged_from'],
      [{ identifiers: { cve: [], list: [{ risk_score: 1 }] } }, '/identifiers/list/0/risk_score'],
      [{ source: { vendor: 'x', connector: 'a', version: '1', reachability: 'r' } }, '/source/reachability'],
    ] as const) {
      const v = guardEnvelope({ ...valid(), ...patch }, { tenant: 'default' });
      assert.ok(codes(v).includes(`ERR_AOC_001 ${path}`), `${path}: ${JSON.stringify(v)}`);
    }
  });

  test('unknown fields: ERR_AOC_007, top level and inside sections; pointers escape ~ and /', () => {
    assert.deepEqual(codes(guardEnvelope({ ...valid(), 'a/b~c': 1 }, { tenant: 'default' })), ['ERR_AOC_007 /a~1b~0c']);
    assert.deepEqual(
      codes(guardEnvelope({ ...valid(), upstream: { ...valid().upstream, mood: 'x' } }, { tenant: 'default' })),
      ['ERR_AOC_007 /upstream/mood'],
    );
  });

  test('merges, derived findings, tenant, provenance and hash', () => {
    assert.ok(
      codes(guardEnvelope({ ...valid(), upstream: [valid().upstream] }, { tenant: 'default' })).includes(
        'ERR_AOC_002 /upstream',
      ),
    );
    assert.ok(
      codes(guardEnvelope({ ...valid(), content: { raw: [{}, {}] } }, { tenant: 'default' })).includes(
        'ERR_AOC_002 /content/raw',
      ),
    );
    assert.equal(codes(guardEnvelope({ ...valid(), findings: [] }, { tenant: 'default' }))[0], 'ERR_AOC_006 /findings');
    assert.deepEqual(codes(guardEnvelope(valid(), { tenant: 'acme' })), ['ERR_AOC_TENANT_MISMATCH /tenant']);
    const noSource = { ...valid(), source: { connector: 'x' } };
    assert.ok(codes(guardEnvelope(noSource, { tenant: 'default' })).includes('ERR_AOC_004 /source/vendor'));
    const { upstream: _u, ...noUpstream } = valid();
    assert.ok(
      codes(guardEnvelope(noUpstream, { tenant: 'default', requireProvenance: true })).includes(
        'ERR_AOC_004 /upstream',
      ),
    );
    const other = guardEnvelope(valid(), { tenant: 'default', bytes: Buffer.from('{}') });
    assert.deepEqual(codes(other), ['ERR_AOC_005 /upstream/content_hash']);
    assert.match(other[0]!.message, /does not match the document bytes/);
    const badTime = { ...valid(), upstream: { ...valid().upstream, retrieved_at: 'yesterday' } };
    assert.deepEqual(codes(guardEnvelope(badTime, { tenant: 'default' })), ['ERR_AOC_004 /upstream/retrieved_at']);
  });

  test('violationError answers with the first code and lists every violation', () => {
    const v = guardEnvelope({ ...valid(), severity: 1, extra: 2 }, { tenant: 'default' });
    const error = violationError(v);
    assert.equal(error.code, 'ERR_AOC_001');
    assert.equal(error.status, 400);
    assert.equal(error.exit, 11);
    assert.equal((error.details?.violations as unknown[] | undefined)?.length, 2);
  });
});
