// SPDX-License-Identifier: Apache-2.0
// Property-based fuzzing of the AOC write path (issue 11): any envelope or raw document, however
// malformed, is accepted or refused with a coded 4xx on its own; nothing else is thrown (no 500).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixedClock, StellaError } from '@stella/core';
import { createMetricsRegistry } from '@stella/platform';
import fc from 'fast-check';
import { documentFromEnvelope, type IngestDocument } from '../src/ingest/document.ts';
import { DEFAULT_DOCUMENT_LIMITS } from '../src/ingest/limits.ts';
import { type PrepareOptions, prepareDocument } from '../src/ingest/prepare.ts';
import { createAocMetrics } from '../src/metrics.ts';
import { createSignatureChecker } from '../src/signatures/checker.ts';

const options: PrepareOptions = {
  tenant: 'default',
  guardEnabled: true,
  documentBytes: 64 * 1024,
  limits: {
    json: { maxDepth: 16, maxKeys: 64, maxStringLength: 512 },
    identifierLength: DEFAULT_DOCUMENT_LIMITS.identifierLength,
  },
  defaults: { connector: 'fuzz', version: '1' },
  clock: fixedClock('2026-11-25T12:00:00.000Z'),
  checkSignature: createSignatureChecker({}),
  metrics: createAocMetrics(createMetricsRegistry({ defaultMetrics: false }), false),
};

/** 'ok', or the code of a coded 4xx refusal; anything else fails the property. */
async function outcomeOf(make: () => IngestDocument): Promise<string> {
  let input: IngestDocument;
  try {
    input = make();
  } catch (error) {
    assert.ok(error instanceof StellaError && error.status < 500, `a coded 4xx, not ${String(error)}`);
    return error.code;
  }
  const prepared = await prepareDocument(input, options);
  if (prepared.ok) return 'ok';
  assert.ok(prepared.error instanceof StellaError, `a coded error, not ${String(prepared.error)}`);
  assert.ok(prepared.error.status < 500, `${prepared.error.code} is ${prepared.error.status}`);
  return prepared.error.code;
}

const text = fc.oneof(
  fc.constantFrom('GHSA-xxxx-yyyy-zzzz', 'CVE-2024-0001', 'osv', '', ' ', '\u0000', '\ud800', 'a'.repeat(600)),
  fc.string({ unit: 'binary', maxLength: 24 }),
);
const anyValue = fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 4 }));
/** A minimal OSV record, with fields of any type mixed in. */
const osvLike = fc.record(
  {
    schema_version: fc.oneof(fc.constant('1.6.0'), anyValue),
    id: fc.oneof(fc.constantFrom('GO-2024-0001', 'GHSA-aaaa-bbbb-cccc'), anyValue),
    modified: fc.oneof(fc.constant('2025-01-01T00:00:00Z'), anyValue),
    summary: anyValue,
    aliases: fc.oneof(fc.array(text, { maxLength: 3 }), anyValue),
    affected: anyValue,
    database_specific: anyValue,
    severity: anyValue,
  },
  { requiredKeys: ['id', 'modified'] },
);
const validOsv = fc
  .record({ id: fc.constantFrom('GO-2024-0001', 'GO-2024-0002'), summary: fc.string({ maxLength: 20 }) })
  .map((o) => ({ schema_version: '1.6.0', modified: '2025-01-01T00:00:00Z', ...o }));
const upstreamDocument = fc.oneof(osvLike, validOsv, fc.jsonValue({ maxDepth: 5 }));
const section = fc.dictionary(fc.constantFrom('vendor', 'connector', 'version', 'upstream_id', 'x'), anyValue, {
  maxKeys: 4,
});
const envelope = fc.record(
  {
    source: fc.oneof(fc.record({ vendor: fc.constantFrom('osv', 'ghsa') }), section, anyValue),
    upstream: fc.oneof(section, anyValue),
    content: fc.oneof(
      upstreamDocument.map((raw) => ({ format: 'OSV', raw: JSON.stringify(raw) })),
      fc.record({ raw: anyValue, format: anyValue }, { requiredKeys: [] }),
      anyValue,
    ),
    tenant: anyValue,
    severity: anyValue,
    linkset: anyValue,
  },
  { requiredKeys: [] },
);

/** Envelopes the guard accepts, so the property also reaches acceptance. */
const validEnvelope = validOsv.map((raw) => ({
  source: { vendor: 'osv' },
  content: { format: 'OSV', raw: JSON.stringify(raw) },
}));

describe('AOC write path, property-based', () => {
  test('any envelope is prepared or refused with a coded 4xx, never another throw', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(envelope, validEnvelope), async (value) => {
        outcomes.add(await outcomeOf(() => documentFromEnvelope(value, 'advisory', 'fuzz.json')));
      }),
      {
        numRuns: Number(process.env.STELLA_FUZZ_RUNS ?? 1500),
        // Counterexamples found before, checked on every run: an envelope tenant whose toString is
        // not a function made the tenant-mismatch message throw a TypeError instead of ERR_AOC.
        examples: [[{ content: { raw: '' }, tenant: { toString: 0 } }]],
      },
    );
    assert.ok(outcomes.has('ok') && outcomes.size >= 3, [...outcomes].join());
  });

  test('any raw body with any provenance headers is prepared or refused with a coded 4xx', async () => {
    const outcomes = new Set<string>();
    const body = fc.oneof(
      upstreamDocument.map((d) => new TextEncoder().encode(JSON.stringify(d))),
      fc.uint8Array({ maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(body, section, fc.constantFrom('advisory', 'vex', 'auto'), async (bytes, source, kind) => {
        outcomes.add(
          await outcomeOf(() => ({
            bytes,
            proposal: { source: { vendor: 'osv', ...source } },
            kind: kind as IngestDocument['kind'],
            location: 'fuzz.json',
          })),
        );
      }),
      { numRuns: 1500 },
    );
    assert.ok(outcomes.has('ok') && outcomes.size >= 3, [...outcomes].join());
  });
});
