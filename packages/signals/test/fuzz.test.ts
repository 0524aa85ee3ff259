// SPDX-License-Identifier: Apache-2.0
// Property-based fuzzing of what signals reads from clients (issue 11): the callgraph parser and the
// runtime NDJSON reader answer every input with a result or a coded 4xx StellaError, never another
// throw (a 500) and never a hang, and the reader leaves no spool file behind on any path.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { StellaError } from '@stella/core';
import { loadConfig } from '@stella/platform';
import { scratchDir } from '@stella/testkit';
import fc from 'fast-check';
import { signalsConfig } from '../src/config.ts';
import { normalizeGraph, parseCallgraphBody } from '../src/index.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from '../src/runtime/stream.ts';

/** Runs fn; a throw must be a StellaError with a 4xx status. */
async function acceptedOrCoded(what: string, fn: () => unknown): Promise<'ok' | string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof StellaError, `${what}: a coded error, not ${String(error)}`);
    assert.ok(error.status >= 400 && error.status < 500, `${what}: ${error.code} is ${error.status}, not a 4xx`);
    return error.code;
  }
}

const symbol = fc.oneof(fc.constantFrom('a', 'b', 'main', 'lib:sink', ''), fc.string({ maxLength: 12 }));
const anyValue = fc.oneof(symbol, fc.integer(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 3 }));
/** Objects shaped like the accepted formats, with fields of any type in any combination. */
const graphLike = fc.record(
  {
    schema: fc.constantFrom('richgraph-v1', 'stella.callgraph.v1', 'x', 1),
    format: fc.constantFrom('richgraph-v1', 'stella-callgraph', 'jelly', 'union'),
    language: fc.constantFrom('go', 'node', 'java', 7),
    nodes: fc.array(
      fc.record(
        { id: fc.oneof(symbol, anyValue), symbol: anyValue, kind: anyValue, purl: anyValue },
        { requiredKeys: [] },
      ),
      { maxLength: 6 },
    ),
    edges: fc.array(
      fc.record(
        { from: fc.oneof(symbol, anyValue), to: fc.oneof(symbol, anyValue), kind: anyValue, weight: anyValue },
        { requiredKeys: [] },
      ),
      { maxLength: 8 },
    ),
    entrypoints: fc.array(fc.oneof(symbol, anyValue), { maxLength: 3 }),
    roots: anyValue,
    artifactContentBase64: fc.oneof(fc.base64String({ maxLength: 40 }), anyValue),
  },
  { requiredKeys: [] },
);

/** Well-formed stella.callgraph.v1 graphs over a few ids, so the properties also reach acceptance. */
const validGraph = fc
  .uniqueArray(fc.constantFrom('main', 'a', 'b', 'lib:sink', 'pkg.x'), { minLength: 1 })
  .chain((ids) =>
    fc.record({
      schema: fc.constant('stella.callgraph.v1'),
      nodes: fc.constant(ids.map((id) => ({ id, name: id }))),
      edges: fc.uniqueArray(
        fc.record({
          sourceId: fc.constantFrom(...ids),
          targetId: fc.constantFrom(...ids),
          kind: fc.constant('static'),
        }),
        { selector: (e) => `${e.sourceId}>${e.targetId}`, maxLength: 8 },
      ),
      entrypoints: fc.constant([{ nodeId: ids[0], kind: 'cli', order: 0 }]),
    }),
  );

describe('callgraph parser, property-based', () => {
  test('any JSON value or graph-shaped object parses and normalises, or is a coded 4xx', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 5 }), graphLike, validGraph), async (body) => {
        outcomes.add(
          await acceptedOrCoded('callgraph', () =>
            normalizeGraph(parseCallgraphBody(body), { maxNodes: 1000, maxEdges: 1000 }),
          ),
        );
      }),
      { numRuns: 2000 },
    );
    // The generator reaches both sides: graphs that pass, and refusals.
    assert.deepEqual([...outcomes].sort(), ['ERR_SIGNALS_CALLGRAPH_INVALID', 'ok']);
  });

  test('a graph wrapped in artifactContentBase64, whatever its bytes, is parsed or coded', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.oneof(graphLike, validGraph).map((g) => JSON.stringify(g)),
        ),
        async (inner) => {
          const body = { artifactContentBase64: Buffer.from(inner).toString('base64') };
          outcomes.add(
            await acceptedOrCoded('wrapped callgraph', () =>
              normalizeGraph(parseCallgraphBody(body), { maxNodes: 1000, maxEdges: 1000 }),
            ),
          );
        },
      ),
      { numRuns: 1000 },
    );
    assert.deepEqual([...outcomes].sort(), ['ERR_SIGNALS_CALLGRAPH_INVALID', 'ok']);
  });
});

describe('runtime NDJSON reader, property-based', () => {
  const home = scratchDir('stella-signals-fuzz-');
  const { config } = loadConfig({ sections: [signalsConfig], env: { STELLA_HOME: home } });
  const spoolDir = runtimeSpoolDir(config);
  const limits = {
    ...runtimeStreamLimits(config, new Date('2026-01-02T03:04:05.000Z')),
    // Small caps, so that the properties reach them often.
    maxLineBytes: 256,
    maxLines: 64,
    maxEvents: 16,
    maxDecompressedBytes: 4096,
  };
  const event = fc.record(
    {
      symbolId: fc.oneof(symbol, anyValue),
      hitCount: fc.oneof(fc.integer({ min: -2, max: 5 }), anyValue),
      observedAt: fc.oneof(fc.constantFrom('2026-01-01T00:00:00Z', 'yesterday', '9999-01-01T00:00:00Z'), anyValue),
      pid: anyValue,
      metadata: anyValue,
    },
    { requiredKeys: [] },
  );
  const line = fc.oneof(
    event.map((e) => JSON.stringify(e)),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.constantFrom('', '\r', '\ufeff{}', '{"symbolId":"a\\u0000b","hitCount":1}', '{"symbolId":"\\ud800"}'),
  );
  /** NDJSON cut into chunks at arbitrary places, plain or gzip (possibly truncated). */
  const validLine = fc
    .record({ symbolId: fc.constantFrom('a', 'b', 'lib:sink'), hitCount: fc.integer({ min: 1, max: 5 }) })
    .map((e) => JSON.stringify(e));
  const upload = fc.record({
    lines: fc.oneof(fc.array(validLine, { minLength: 1, maxLength: 10 }), fc.array(line, { maxLength: 20 })),
    cuts: fc.array(fc.nat({ max: 2000 }), { maxLength: 6 }),
    gzip: fc.boolean(),
    truncate: fc.nat({ max: 30 }),
  });

  test('any upload is read into a batch or refused with a coded 4xx, and no spool file is left', async () => {
    const outcomes = new Set<string>();
    await fc.assert(
      fc.asyncProperty(upload, async ({ lines, cuts, gzip, truncate }) => {
        let bytes: Buffer = Buffer.from(lines.join('\n'), 'utf8');
        if (gzip) bytes = gzipSync(bytes).subarray(0, truncate > 20 ? -truncate : undefined);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points, bytes.length]
          .slice(1)
          .map((end, i, ends) => bytes.subarray(ends[i - 1] ?? 0, end));
        const body = (async function* () {
          for (const chunk of chunks) yield new Uint8Array(chunk);
        })();
        outcomes.add(
          await acceptedOrCoded('runtime upload', async () => {
            const batch = await readRuntimeStream(body, { gzip, limits, spoolDir });
            await batch.dispose();
          }),
        );
        assert.deepEqual(existsSync(spoolDir) ? readdirSync(spoolDir) : [], []);
      }),
      { numRuns: 1000 },
    );
    assert.ok(outcomes.has('ok'), [...outcomes].join());
    assert.ok(outcomes.size >= 3, [...outcomes].join());
  });
});
