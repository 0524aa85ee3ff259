// The pure core of a recompute: inputs → fact document, bytes and digest, with no database, CAS or
// clock. The same inputs give the same bytes; each input that matters changes the digest.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalJson, sha256Hex } from '@stella/core';
import { loadConfig } from '@stella/platform';
import { loadedGraphOf } from '../src/callgraphs/graphs.ts';
import { signalsConfig } from '../src/config.ts';
import {
  buildFactDocument,
  ENGINE_VERSION,
  type FactInputs,
  factInputsDigest,
  scoringOf,
} from '../src/engine/fact-document.ts';
import type { TargetState } from '../src/engine/reachability.ts';
import { toCsr } from '../src/graph/csr.ts';
import { normalizeGraph } from '../src/graph/normalize.ts';
import { parseCallgraphBody } from '../src/graph/parse.ts';
import { sampleGraph } from './harness.ts';

const normalized = normalizeGraph(parseCallgraphBody(sampleGraph()), { maxNodes: 100, maxEdges: 100 });
const graph = loadedGraphOf(toCsr(normalized.graph));
const scoring = scoringOf(loadConfig({ sections: [signalsConfig], env: {} }).config.signals);

/** The members of the document these tests read. */
interface FactView {
  schema: string;
  subjectKey: string;
  graphHash: string | null;
  score: number;
  states: TargetState[];
  runtimeFacts: Record<string, unknown>;
  provenance: { engine: string; targetsSource: string; runtimeIngests: string[] };
}
const view = (document: Record<string, unknown>) => document as unknown as FactView;

const inputs = (overrides: Partial<FactInputs> = {}): FactInputs => ({
  subject: { subjectKey: 'scan-1', subject: { scanId: 'scan-1' }, callgraphId: 'cg-1', runtimeVersion: 3 },
  graphHash: normalized.graphHash,
  graph,
  targets: [{ symbolId: 'lib:vulnSink', advisoryId: 'GHSA-1' }, { symbolId: 'lib:vulnSink2' }],
  targetsSource: 'advisories',
  hits: new Map([['app:main', 4]]),
  runtime: { symbols: 1, totalHits: 4, runtimeOnly: 0, lastSeen: '2026-01-02T03:04:05.000Z', ingests: ['ing-1'] },
  scoring,
  ...overrides,
});

describe('fact document', () => {
  test('names the subject, graph, per-target states, runtime summary and provenance; digest is of its canonical bytes', () => {
    const fact = buildFactDocument(inputs());
    const doc = view(fact.document);
    assert.equal(doc.schema, 'stella.signals.reachability-fact.v1');
    assert.equal(doc.subjectKey, 'scan-1');
    assert.equal(doc.graphHash, normalized.graphHash);
    assert.deepEqual(
      doc.states.map((s) => s.target),
      ['lib:vulnSink', 'lib:vulnSink2'],
    );
    // vulnSink is reached from the entrypoint; vulnSink2 only from deadFn, which nothing calls.
    assert.equal(doc.states[0]?.reachable, true);
    assert.equal(doc.states[1]?.reachable, false);
    assert.deepEqual(doc.runtimeFacts, {
      symbols: 1,
      totalHits: 4,
      runtimeOnlySymbols: 0,
      lastSeen: '2026-01-02T03:04:05.000Z',
    });
    assert.equal(doc.provenance.engine, ENGINE_VERSION);
    assert.equal(doc.provenance.targetsSource, 'advisories');
    assert.deepEqual(doc.provenance.runtimeIngests, ['ing-1']);
    assert.equal(doc.score, fact.result.score);
    assert.equal(fact.bytes.toString('utf8'), canonicalJson(fact.document));
    assert.equal(fact.digest, `sha256:${sha256Hex(fact.bytes)}`);
  });

  test('the same inputs give the same bytes', () => {
    assert.deepEqual(buildFactDocument(inputs()).bytes, buildFactDocument(inputs()).bytes);
  });

  test('a subject without a readable graph reports its targets unknown (graph_missing)', () => {
    const fact = buildFactDocument(inputs({ graph: undefined, graphHash: null }));
    const doc = view(fact.document);
    assert.equal(doc.graphHash, null);
    assert.deepEqual(
      fact.result.unknowns.map((u) => u.reason),
      ['graph_missing', 'graph_missing'],
    );
  });

  test('runtime hits, targets and the runtime summary change the digest', () => {
    const base = buildFactDocument(inputs()).digest;
    assert.notEqual(buildFactDocument(inputs({ hits: new Map([['lib:vulnSink', 1]]) })).digest, base);
    assert.notEqual(buildFactDocument(inputs({ targets: [{ symbolId: 'lib:helper' }] })).digest, base);
    assert.notEqual(
      buildFactDocument(inputs({ runtime: { ...inputs().runtime, ingests: ['ing-1', 'ing-2'] } })).digest,
      base,
    );
  });

  test('the inputs digest follows the graph, its loading, the runtime version, the targets and the scoring', () => {
    const of = (o: Partial<Parameters<typeof factInputsDigest>[0]> = {}) =>
      factInputsDigest({
        graphHash: normalized.graphHash,
        graphLoaded: true,
        runtimeVersion: 3,
        targets: [{ symbolId: 'lib:vulnSink' }],
        scoring,
        ...o,
      });
    const base = of();
    assert.equal(of(), base);
    assert.notEqual(of({ graphLoaded: false }), base);
    assert.notEqual(of({ runtimeVersion: 4 }), base);
    assert.notEqual(of({ graphHash: null }), base);
    assert.notEqual(of({ targets: [] }), base);
    assert.notEqual(of({ scoring: { ...scoring, runtimeBonus: scoring.runtimeBonus + 0.01 } }), base);
  });
});
