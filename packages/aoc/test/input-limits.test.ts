// SPDX-License-Identifier: Apache-2.0
// Input caps on the AOC write path (issue 11): whatever the database would refuse, or the API could not
// read back, is refused by prepareDocument first, one document at a time, with its own code.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixedClock, StellaError } from '@stella/core';
import { createMetricsRegistry } from '@stella/platform';
import { parseStrictJson } from '../src/formats/index.ts';
import { documentFromEnvelope, type IngestDocument } from '../src/ingest/document.ts';
import { violationError } from '../src/ingest/guard.ts';
import { DEFAULT_DOCUMENT_LIMITS, documentLimitsOf } from '../src/ingest/limits.ts';
import { type PrepareOptions, prepareDocument } from '../src/ingest/prepare.ts';
import { createAocMetrics } from '../src/metrics.ts';
import { createSignatureChecker } from '../src/signatures/checker.ts';

const text = (value: string) => new TextEncoder().encode(value);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof StellaError, `a coded error, not ${String(error)}`);
    return error.code;
  }
}

const options = (limits = DEFAULT_DOCUMENT_LIMITS): PrepareOptions => ({
  tenant: 'default',
  guardEnabled: true,
  documentBytes: 1024 * 1024,
  limits,
  defaults: { connector: 'test', version: '1' },
  clock: fixedClock('2026-11-25T12:00:00.000Z'),
  checkSignature: createSignatureChecker({}),
  metrics: createAocMetrics(createMetricsRegistry({ defaultMetrics: false }), false),
});

const doc = (body: string, proposal: Record<string, unknown> = { source: { vendor: 'osv' } }): IngestDocument => ({
  bytes: text(body),
  proposal,
  kind: 'advisory',
  location: 'x.json',
});

async function rejectionCodes(input: IngestDocument, opts = options()): Promise<string[]> {
  const prepared = await prepareDocument(input, opts);
  return prepared.ok ? [] : prepared.violations.map((v) => `${v.code} ${v.path}`);
}

describe('parseStrictJson under the JSON caps', () => {
  const small = { maxDepth: 4, maxKeys: 3, maxStringLength: 8 };
  test('each breach has its own code, before the parser or the key walk sees the text', () => {
    assert.equal(
      codeOf(() => parseStrictJson(text('[[[[[1]]]]]'), small)),
      'ERR_LIMIT_JSON_DEPTH',
    );
    assert.equal(
      codeOf(() => parseStrictJson(text('{"a":1,"b":2,"c":3,"d":4}'), small)),
      'ERR_LIMIT_JSON_KEYS',
    );
    assert.equal(
      codeOf(() => parseStrictJson(text('["123456789"]'), small)),
      'ERR_LIMIT_STRING_LENGTH',
    );
    assert.equal(
      codeOf(() => parseStrictJson(text('["\\ud800"]'), small)),
      'ERR_INVALID_TEXT',
    );
    assert.equal(
      codeOf(() => parseStrictJson(text('["\\u0000"]'), small)),
      'ERR_INVALID_TEXT',
    );
    assert.deepEqual(parseStrictJson(text('[[["\\ud83d\\ude00"]]]'), small), [[['\u{1f600}']]]);
  });

  test('the defaults stop the 6,000-level document that hung PGlite', () => {
    const deep = `{"id":"GO-1","modified":"x","database_specific":${'{"a":'.repeat(6000)}1${'}'.repeat(6001)}`;
    assert.equal(
      codeOf(() => parseStrictJson(text(deep))),
      'ERR_LIMIT_JSON_DEPTH',
    );
  });
});

describe('prepareDocument refuses what could not be stored or read back', () => {
  test('a deep, lone-surrogate or NUL document is refused with the cap code, not ERR_AOC_MALFORMED_DOCUMENT', async () => {
    const deep = `{"id":"GO-1","modified":"x","d":${'['.repeat(200)}${']'.repeat(200)}}`;
    assert.deepEqual(await rejectionCodes(doc(deep)), ['ERR_LIMIT_JSON_DEPTH ']);
    assert.deepEqual(await rejectionCodes(doc('{"id":"GO-1","modified":"x","d":"\\udfff"}')), ['ERR_INVALID_TEXT ']);
    assert.deepEqual(await rejectionCodes(doc('{"id":"GO-1\\u0000","modified":"x"}')), ['ERR_INVALID_TEXT ']);
    const prepared = await prepareDocument(doc(deep), options());
    assert.ok(!prepared.ok);
    assert.equal(prepared.error.status, 400);
    assert.match(prepared.error.message, /^x\.json: JSON nests deeper than 128 levels/);
  });

  test('the caps come from config limits', async () => {
    const limits = documentLimitsOf({ jsonDepth: 2, jsonKeys: 100, jsonStringLength: 100, identifierLength: 64 });
    assert.deepEqual(await rejectionCodes(doc('{"id":"GO-1","modified":"x","d":[[1]]}'), options(limits)), [
      'ERR_LIMIT_JSON_DEPTH ',
    ]);
    assert.deepEqual(await rejectionCodes(doc(`{"id":"GO-${'1'.repeat(40)}","modified":"x"}`), options(limits)), [
      'ERR_LIMIT_IDENTIFIER_LENGTH /upstream/upstream_id',
    ]);
  });

  test('an upstream id or provenance value longer than the identifier cap is ERR_LIMIT_IDENTIFIER_LENGTH', async () => {
    assert.deepEqual(await rejectionCodes(doc(`{"id":"${'A'.repeat(100_000)}","modified":"x"}`)), [
      'ERR_LIMIT_IDENTIFIER_LENGTH /upstream/upstream_id',
    ]);
    assert.deepEqual(
      await rejectionCodes(
        doc('{"id":"GO-1","modified":"x"}', { source: { vendor: 'osv', version: 'v'.repeat(2000) } }),
      ),
      ['ERR_LIMIT_IDENTIFIER_LENGTH /source/version'],
    );
    // The record id advisory_raw:<vendor>:<id>:<revision> is what a URL carries: it must fit too.
    const fits = 'G'.repeat(1024 - 'advisory_raw:osv::9999999999'.length);
    assert.deepEqual(await rejectionCodes(doc(`{"id":"${fits}","modified":"x"}`)), []);
    assert.deepEqual(await rejectionCodes(doc(`{"id":"${fits}G","modified":"x"}`)), [
      'ERR_LIMIT_IDENTIFIER_LENGTH /upstream/upstream_id',
    ]);
  });

  test('the caps hold with the guard switched off (they protect the database, not the contract)', async () => {
    const opts = { ...options(), guardEnabled: false };
    assert.deepEqual(await rejectionCodes(doc('{"id":"GO-1","modified":"x","d":"\\ud800"}'), opts), [
      'ERR_INVALID_TEXT ',
    ]);
    assert.deepEqual(await rejectionCodes(doc(`{"id":"${'A'.repeat(5000)}","modified":"x"}`), opts), [
      'ERR_LIMIT_IDENTIFIER_LENGTH /upstream/upstream_id',
    ]);
  });

  test('violationError keeps a platform code with its status and exit', () => {
    const error = violationError([
      { code: 'ERR_LIMIT_IDENTIFIER_LENGTH', path: '/upstream/upstream_id', message: 'm' },
    ]);
    assert.deepEqual([error.code, error.status, error.exit], ['ERR_LIMIT_IDENTIFIER_LENGTH', 400, 2]);
  });
});

describe('documentFromEnvelope', () => {
  const envelope = (raw: unknown) => ({ source: { vendor: 'osv' }, content: { raw } });
  test('content.raw as a list of documents is a merge attempt (ERR_AOC_002, exit 12)', () => {
    assert.throws(
      () => documentFromEnvelope(envelope([{ id: 'a' }, { id: 'b' }]), 'advisory', 'line 3'),
      (error: unknown) =>
        error instanceof StellaError &&
        error.code === 'ERR_AOC_002' &&
        error.exit === 12 &&
        /^line 3: content\.raw is a list/.test(error.message),
    );
  });
  test('content.raw as a scalar cannot be a document; as a string or an object it is one', () => {
    for (const raw of [1, true, null]) {
      assert.equal(
        codeOf(() => documentFromEnvelope(envelope(raw), 'advisory')),
        'ERR_AOC_MALFORMED_DOCUMENT',
      );
    }
    assert.equal(Buffer.from(documentFromEnvelope(envelope('{"id":"a"}'), 'advisory').bytes).toString(), '{"id":"a"}');
    assert.equal(Buffer.from(documentFromEnvelope(envelope({ id: 'a' }), 'advisory').bytes).toString(), '{"id":"a"}');
  });
});
