// Pure rules of the Export Center: profile validation, selector normalisation, retention selection and
// its configured defaults.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '@stella/platform';
import { exportConfig } from '../src/config.ts';
import { profileProblems } from '../src/profiles/schema.ts';
import { defaultRetention, selectExpired } from '../src/retention.ts';
import { normalizeSelectors } from '../src/selectors.ts';
import type { RunRow } from '../src/sql/runs.ts';

const valid = {
  apiVersion: 'stellaops.io/export.v1',
  kind: 'ExportProfile',
  metadata: { name: 'nightly-raw' },
  spec: { kind: 'json', variant: 'raw', distribution: ['http'] },
};

describe('profile validation', () => {
  test('a minimal profile is valid', () => assert.deepEqual(profileProblems(valid), []));

  test('every schema problem is listed with its pointer', () => {
    const problems = profileProblems({
      apiVersion: 'stellaops.io/export.v0',
      kind: 'ExportProfile',
      metadata: { name: 'A!' },
      spec: {
        kind: 'json',
        variant: 'raw',
        distribution: ['http', 'http'],
        compression: { codec: 'lz4' },
        extra: true,
      },
    });
    const pointers = problems.map((p) => p.pointer);
    for (const p of ['/apiVersion', '/metadata/name', '/spec/distribution', '/spec/compression/codec', '/spec']) {
      assert.ok(pointers.includes(p), `${p} in ${pointers}`);
    }
    assert.ok(problems.some((p) => p.message === 'unknown property "extra"'));
  });

  test('semantic rules: kind/variant pairs, gzip levels, encryption recipients, signing', () => {
    const spec = (extra: object) =>
      profileProblems({ ...valid, spec: { ...valid.spec, ...extra } }).map((p) => p.pointer);
    assert.deepEqual(spec({ variant: 'delta' }), ['/spec/variant']);
    assert.deepEqual(spec({ compression: { codec: 'gzip', level: 19 } }), ['/spec/compression/level']);
    assert.deepEqual(spec({ encryption: { enabled: true } }), ['/spec/encryption/recipientKeys']);
    assert.deepEqual(spec({ signing: { enabled: false } }), ['/spec/signing/enabled']);
  });
});

describe('selectors', () => {
  const now = new Date('2026-11-25T12:00:00Z');

  test('durations become absolute times; lists are deduplicated and sorted', () => {
    assert.deepEqual(
      normalizeSelectors({ since: '24h', sources: 'osv,ghsa,osv', ecosystems: ['npm', 'golang'] }, 'acme', now),
      {
        tenant: 'acme',
        since: '2026-11-24T12:00:00.000Z',
        sources: ['ghsa', 'osv'],
        ecosystems: ['golang', 'npm'],
      },
    );
  });

  test('another tenant, unknown keys, bad times and reversed windows are refused', () => {
    const refuse = (input: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(
        () => normalizeSelectors(input, 'acme', now),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_EXPORT_001');
          assert.match(e.message, pattern);
          return true;
        },
      );
    refuse({ tenant: 'globex' }, /caller's tenant acme/);
    refuse({ products: ['x'] }, /unknown selector "products"/);
    refuse({ since: 'yesterday' }, /not an RFC 3339 time/);
    refuse({ since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }, /until must be after since/);
    refuse({ purls: ['not-a-purl'] }, /not a valid value/);
  });
});

describe('retention', () => {
  const now = new Date('2026-11-25T00:00:00Z');
  const run = (id: string, daysAgo: number, status: RunRow['status'] = 'succeeded') =>
    ({ run_id: id, status, created_at: new Date(now.getTime() - daysAgo * 86_400_000) }) as RunRow;

  test('the runbook defaults: trivy keeps 10 runs, mirror and json 30 days', () => {
    assert.deepEqual(defaultRetention('trivy'), { mode: 'count', value: 10 });
    assert.deepEqual(defaultRetention('mirror'), { mode: 'days', value: 30 });
    assert.deepEqual(defaultRetention('json'), { mode: 'days', value: 30 });
  });

  test("the runbook's `ExportCenter: Retention:` block starts stella as written and sets the defaults", (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'stella-retention-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const load = (yaml: string) => {
      const file = join(dir, 'stella.yaml');
      writeFileSync(file, yaml);
      return loadConfig({ sections: [exportConfig], env: { STELLA_HOME: dir }, file });
    };
    // Runbook §5.2, verbatim.
    const seed =
      'ExportCenter:\n  Retention:\n    Mirror:\n      Mode: days\n      Value: 30\n    Trivy:\n      Mode: count\n      Value: 10\n';
    const loaded = load(seed);
    assert.deepEqual(loaded.config.export.retention, {
      mirror: { mode: 'days', value: 30 },
      trivy: { mode: 'count', value: 10 },
      json: { mode: 'days', value: 30 },
    });
    assert.equal(loaded.sources['export.retention.trivy.mode'], 'file');
    const changed = load('ExportCenter:\n  Retention:\n    Mirror: {Mode: count, Value: 3}\n').config.export;
    assert.deepEqual(defaultRetention('mirror', changed.retention), { mode: 'count', value: 3 });
    assert.deepEqual(defaultRetention('trivy', changed.retention), { mode: 'count', value: 10 });

    const refused = (yaml: string, message: RegExp) =>
      assert.throws(
        () => load(yaml),
        (e: Error & { code?: string }) => e.code === 'ERR_CONFIG' && message.test(e.message),
      );
    refused(
      `${seed}export:\n  retention:\n    json: {mode: days, value: 7}\n`,
      /both ExportCenter.Retention and export.retention/,
    );
    refused('ExportCenter:\n  Retention:\n    Mirror: {Mode: weeks, Value: 3}\n', /export.retention.mirror.mode/);
    refused('ExportCenter:\n  Retention:\n    Mirror: {Mode: days, Value: 3}\n  Other: 1\n', /ExportCenter/);
  });

  test('count keeps the newest N; days keeps the recent ones; the latest success is always kept', () => {
    const runs = [run('r5', 1, 'failed'), run('r4', 2), run('r3', 40), run('r2', 50), run('r1', 60)];
    assert.deepEqual(
      [...selectExpired(runs, { mode: 'count', value: 2 }, { now, keepDeltas: 5, delta: false }).keys()],
      ['r3', 'r2', 'r1'],
    );
    assert.deepEqual(
      [...selectExpired(runs, { mode: 'days', value: 30 }, { now, keepDeltas: 5, delta: false }).keys()],
      ['r3', 'r2', 'r1'],
    );
    const old = [run('r2', 90), run('r1', 100)];
    assert.deepEqual(
      [...selectExpired(old, { mode: 'days', value: 30 }, { now, keepDeltas: 5, delta: false }).keys()],
      ['r1'],
    );
  });

  test('delta profiles keep the last N deltas besides the latest', () => {
    const runs = Array.from({ length: 8 }, (_, i) => run(`d${8 - i}`, 100 + i));
    const expired = selectExpired(runs, { mode: 'days', value: 30 }, { now, keepDeltas: 5, delta: true });
    assert.deepEqual([...expired.keys()], ['d2', 'd1']);
  });
});
