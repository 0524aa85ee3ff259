// SPDX-License-Identifier: Apache-2.0
// The submission rules for policy snapshots (spec §2.1 policySnapshotMode), every mode against an id
// given, absent and unknown, for json:raw and json:policy; and how export.json and provenance.json
// record a run's snapshot. The findings room's snapshots are stood in for by a two-method lookup
// here; the e2e test (packages/server/test/e2e/export-policy.test.ts) runs the same rules against
// real snapshots through the room's door on both databases.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StellaError } from '@stella/core';
import { buildManifest, buildProvenance, type ManifestInput } from '../src/manifest.ts';
import type { ExportProfile } from '../src/profiles/schema.ts';
import { normalizeSelectors } from '../src/selectors.ts';
import { checkSubmission, type PolicySnapshotLookup } from '../src/service/submission.ts';

const KNOWN = `sha256:${'a'.repeat(64)}`;
const ACTIVE = `sha256:${'b'.repeat(64)}`;
const UNKNOWN = `sha256:${'c'.repeat(64)}`;
type Mode = 'required' | 'optional' | 'none' | undefined;

function profile(variant: 'raw' | 'policy', mode: Mode): ExportProfile {
  return {
    apiVersion: 'stellaops.io/export.v1',
    kind: 'ExportProfile',
    metadata: { name: `json-${variant}` },
    spec: {
      kind: 'json',
      variant,
      distribution: ['http'],
      ...(mode ? { policySnapshotMode: mode } : {}),
    },
  } as ExportProfile;
}

function lookup(active: string | undefined): PolicySnapshotLookup {
  const known = new Set([KNOWN, ACTIVE]);
  return { exists: async (id) => known.has(id), active: async () => active };
}

/** The outcome as the API would answer it: the stored id, or the status, code and first pointer. */
async function outcome(
  variant: 'raw' | 'policy',
  mode: Mode,
  requested: string | undefined,
  /** null: the tenant has no active snapshot. */
  active: string | null = ACTIVE,
): Promise<string | null | { status: number; code: string; pointer?: string; message: string }> {
  try {
    return await checkSubmission(profile(variant, mode), { tenant: 't' }, requested, lookup(active ?? undefined));
  } catch (error) {
    assert.ok(error instanceof StellaError, String(error));
    const errors = error.details?.errors as { pointer: string }[] | undefined;
    return {
      status: error.status,
      code: error.code,
      ...(errors ? { pointer: errors[0]!.pointer } : {}),
      message: error.message,
    };
  }
}

const notFound = { status: 404, code: 'ERR_POLICY_NOT_FOUND' };
const refused = (pointer: string) => ({ status: 400, code: 'ERR_EXPORT_001', pointer });
const shape = (o: Awaited<ReturnType<typeof outcome>>) =>
  o && typeof o === 'object' ? { status: o.status, code: o.code, ...(o.pointer ? { pointer: o.pointer } : {}) } : o;

describe('policy snapshot rules at submission', () => {
  // [mode, id given, id absent, id unknown] for json:policy (an active snapshot exists) and json:raw.
  const table: [Mode, unknown, unknown, unknown, unknown, unknown, unknown][] = [
    ['required', KNOWN, refused('/policySnapshotId'), notFound, KNOWN, refused('/policySnapshotId'), notFound],
    ['optional', KNOWN, ACTIVE, notFound, KNOWN, null, notFound],
    [undefined, KNOWN, ACTIVE, notFound, KNOWN, null, notFound],
    [
      'none',
      refused('/spec/policySnapshotMode'),
      refused('/spec/policySnapshotMode'),
      refused('/spec/policySnapshotMode'),
      refused('/policySnapshotId'),
      null,
      refused('/policySnapshotId'),
    ],
  ];
  for (const [mode, policyGiven, policyAbsent, policyUnknown, rawGiven, rawAbsent, rawUnknown] of table) {
    test(`policySnapshotMode ${mode ?? 'unset'}: json:policy and json:raw with an id given, absent, unknown`, async () => {
      assert.deepEqual(shape(await outcome('policy', mode, KNOWN)), policyGiven);
      assert.deepEqual(shape(await outcome('policy', mode, undefined)), policyAbsent);
      assert.deepEqual(shape(await outcome('policy', mode, UNKNOWN)), policyUnknown);
      assert.deepEqual(shape(await outcome('raw', mode, KNOWN)), rawGiven);
      assert.deepEqual(shape(await outcome('raw', mode, undefined)), rawAbsent);
      assert.deepEqual(shape(await outcome('raw', mode, UNKNOWN)), rawUnknown);
    });
  }

  test('json:policy without an id and no active snapshot says how to get one', async () => {
    for (const mode of ['optional', undefined] as const) {
      const o = await outcome('policy', mode, undefined, null);
      assert.deepEqual(shape(o), refused('/policySnapshotId'));
      assert.match((o as { message: string }).message, /pass policySnapshotId or activate a policy/);
      assert.match((o as { message: string }).message, /stella policy publish <file> --activate/);
    }
    // json:raw takes no snapshot by default: no active one is needed.
    assert.equal(await outcome('raw', 'optional', undefined, null), null);
  });

  test('none with an id names the mode in its message; required without one too', async () => {
    const message = async (mode: Mode, requested: string | undefined) =>
      ((await outcome('raw', mode, requested)) as { message: string }).message;
    assert.match(await message('none', KNOWN), /policySnapshotMode: none\); drop policySnapshotId/);
    assert.match(
      await message('required', undefined),
      /requires a policy snapshot id \(policySnapshotMode: required\)/,
    );
  });

  test('json:policy refuses what it cannot build: sboms, a malformed recipient key, and every problem is listed', async () => {
    const doc = profile('policy', 'optional');
    doc.spec.include = ['advisories', 'sboms', 'findings'];
    doc.spec.encryption = { enabled: true, mode: 'age', recipientKeys: ['age1x'] } as never;
    await assert.rejects(checkSubmission(doc, { tenant: 't' }, undefined, lookup(ACTIVE)), (error: StellaError) => {
      const pointers = ((error.details?.errors ?? []) as { pointer: string }[]).map((p) => p.pointer);
      assert.deepEqual(pointers, ['/spec/include', '/spec/encryption/recipientKeys/0']);
      assert.match(error.message, /not an age X25519 recipient/);
      assert.match(error.message, /json:policy cannot export sboms yet \(only advisories, vex, findings\)/);
      return true;
    });
    const raw = profile('raw', undefined);
    raw.spec.include = ['findings'];
    await assert.rejects(
      checkSubmission(raw, { tenant: 't' }, undefined, lookup(ACTIVE)),
      /json:raw cannot export findings yet/,
    );
  });

  test('mirror profiles refuse selectors that would cut a revision chain, and take sources', async () => {
    const mirror = { ...profile('raw', undefined), spec: { kind: 'mirror', variant: 'full', distribution: ['http'] } };
    const selectors = { tenant: 't', since: '2024-01-01T00:00:00.000Z', purls: ['pkg:npm/x'], sources: ['osv'] };
    await assert.rejects(
      checkSubmission(mirror as ExportProfile, selectors, undefined, lookup(ACTIVE)),
      (error: StellaError) => {
        const pointers = ((error.details?.errors ?? []) as { pointer: string }[]).map((p) => p.pointer);
        assert.deepEqual(pointers, ['/selectors/since', '/selectors/purls']);
        assert.match(error.message, /mirror:full carries whole revision chains, so only the sources selector applies/);
        return true;
      },
    );
    assert.equal(
      await checkSubmission(mirror as ExportProfile, { tenant: 't', sources: ['osv'] }, undefined, lookup(ACTIVE)),
      null,
    );
  });
});

describe('export.json and provenance.json name the run policy snapshot', () => {
  const input: ManifestInput = {
    tenant: 'default',
    profile: { kind: 'json', variant: 'policy', name: 'p', revision: 'r1', digest: `sha256:${'d'.repeat(64)}` },
    selectors: normalizeSelectors({ since: '2026-01-01T00:00:00Z' }, 'default', new Date('2026-02-01T00:00:00Z')),
    generatedAt: '2026-01-02T00:00:00.000Z',
    contents: [{ path: 'data/raw/advisories.jsonl', digest: `sha256:${'e'.repeat(64)}`, bytes: 10, records: 1 }],
    compression: { codec: 'zstd', level: 3, implementation: 'zstd 1' },
    counts: { 'data/raw/advisories.jsonl': 1 },
    distribution: ['http'],
    signing: { keyid: 'k', algorithm: 'ecdsa-p256-sha256' },
  };
  const snapshot = { id: KNOWN, name: 'node-app', signerKeyid: 'findings-policy-1' };

  test('without a snapshot nothing changes: no field, the same rerun hash and export id', () => {
    const plain = buildManifest(input);
    const doc = JSON.parse(plain.bytes.toString('utf8')) as Record<string, unknown>;
    assert.equal('policySnapshotId' in doc, false);
    assert.deepEqual(buildManifest({ ...input, policySnapshot: undefined }), plain);
  });

  test('with one: export.json policySnapshotId, a different export id, a resolved dependency in provenance', () => {
    const plain = buildManifest(input);
    const withSnapshot = buildManifest({ ...input, policySnapshot: snapshot });
    const doc = JSON.parse(withSnapshot.bytes.toString('utf8')) as { policySnapshotId: string };
    assert.equal(doc.policySnapshotId, KNOWN);
    assert.notEqual(withSnapshot.exportId, plain.exportId);
    const materials = { path: 'provenance/materials.jsonl', digest: `sha256:${'f'.repeat(64)}`, records: 2 };
    const provenance = (policySnapshot?: typeof snapshot) =>
      JSON.parse(
        buildProvenance({
          exportId: withSnapshot.exportId,
          tenant: 'default',
          profile: input.profile,
          selectors: input.selectors,
          compression: input.compression,
          subjects: [{ name: 'export.json', digest: `sha256:${'0'.repeat(64)}` }],
          materials,
          policySnapshot,
          toolVersions: { stella: '0' },
        }).toString('utf8'),
      ) as { predicate: { buildDefinition: { resolvedDependencies: Record<string, unknown>[] } } };
    assert.deepEqual(provenance(snapshot).predicate.buildDefinition.resolvedDependencies[1], {
      name: KNOWN,
      uri: `stella://policy_snapshot/${KNOWN}`,
      digest: { sha256: 'a'.repeat(64) },
      annotations: { policy: 'node-app', signerKeyid: 'findings-policy-1' },
    });
    assert.equal(provenance().predicate.buildDefinition.resolvedDependencies.length, 1);
  });
});
