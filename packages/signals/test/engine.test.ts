import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '@stella/platform';
import { scratchDir } from '@stella/testkit';
import { signalsConfig } from '../src/config.ts';
import { scoringOf } from '../src/engine/fact-document.ts';
import { join, LATTICE_STATES, type LatticeState } from '../src/engine/lattice.ts';
import { bfs, computeReachability, type ScoringOptions, UNREACHED } from '../src/engine/reachability.ts';
import { BUNDLE_NODE_NAME, loadOverlay, resolveTargets } from '../src/engine/targets.ts';
import { nodeIndex, toCsr } from '../src/graph/csr.ts';
import { normalizeGraph } from '../src/graph/normalize.ts';
import { parseCallgraphBody } from '../src/graph/parse.ts';
import { toOpenVex } from '../src/vex.ts';
import { sampleGraph } from './harness.ts';

const csr = toCsr(normalizeGraph(parseCallgraphBody(sampleGraph()), { maxNodes: 100, maxEdges: 100 }).graph);
const index = nodeIndex(csr);
const c = loadConfig({ sections: [signalsConfig], env: {} }).config.signals;
const scoring: ScoringOptions = scoringOf(c);
const run = (targets: string[], hits: Record<string, number> = {}, options = scoring) =>
  computeReachability(
    { csr, index, targets: targets.map((symbolId) => ({ symbolId })), hits: new Map(Object.entries(hits)) },
    options,
  );
const stateOf = (r: ReturnType<typeof run>, target: string) => r.states.find((s) => s.target === target)!;

describe('lattice v1', () => {
  test('join is commutative and idempotent, Unknown is the bottom and Contested the top', () => {
    for (const a of LATTICE_STATES) {
      assert.equal(join(a, a), a);
      assert.equal(join('Unknown', a), a);
      assert.equal(join(a, 'Contested'), 'Contested');
      for (const b of LATTICE_STATES) assert.equal(join(a, b), join(b, a), `${a} ⊔ ${b}`);
    }
  });
  test('the table of spec §1.4', () => {
    const cases: [LatticeState, LatticeState, LatticeState][] = [
      ['StaticallyReachable', 'RuntimeObserved', 'ConfirmedReachable'],
      ['StaticallyReachable', 'StaticallyUnreachable', 'Contested'],
      ['StaticallyUnreachable', 'RuntimeObserved', 'Contested'],
      ['StaticallyUnreachable', 'RuntimeUnobserved', 'ConfirmedUnreachable'],
      ['RuntimeObserved', 'RuntimeUnobserved', 'Contested'],
      ['RuntimeObserved', 'ConfirmedReachable', 'ConfirmedReachable'],
      ['RuntimeUnobserved', 'ConfirmedUnreachable', 'ConfirmedUnreachable'],
      ['ConfirmedReachable', 'ConfirmedUnreachable', 'Contested'],
      ['StaticallyReachable', 'RuntimeUnobserved', 'Contested'],
    ];
    for (const [a, b, want] of cases) assert.equal(join(a, b), want, `${a} ⊔ ${b}`);
  });
});

describe('reachability engine', () => {
  test('a graph of known shape gives the expected bucket, state and witness path per target', () => {
    const r = run(['app:main', 'app:handler', 'lib:vulnSink', 'lib:vulnSink2', 'app:reflect', 'lib:absent']);
    const main = stateOf(r, 'app:main');
    assert.equal(main.bucket, 'entrypoint');
    assert.deepEqual(main.path, ['app:main']);
    assert.equal(main.weight, 1);

    const handler = stateOf(r, 'app:handler');
    assert.equal(handler.bucket, 'direct');
    assert.deepEqual(handler.path, ['app:handler', 'app:main']);

    const sink = stateOf(r, 'lib:vulnSink');
    assert.equal(sink.reachable, true);
    assert.equal(sink.state, 'StaticallyReachable');
    assert.equal(sink.bucket, 'unknown', 'reachable, no runtime hit and longer than 2: the spec calls it unknown');
    assert.deepEqual(sink.path, ['lib:vulnSink', 'lib:parse', 'app:handler', 'app:main']);
    assert.equal(sink.confidence, 0.75);
    assert.equal(sink.score, 0.375);

    const dead = stateOf(r, 'lib:vulnSink2');
    assert.equal(dead.reachable, false);
    assert.equal(dead.bucket, 'unreachable');
    assert.equal(dead.state, 'StaticallyUnreachable');
    assert.equal(dead.score, 0);

    const reflect = stateOf(r, 'app:reflect');
    assert.equal(reflect.unknownReason, 'dynamic_edge_only');
    assert.equal(reflect.state, 'Unknown');
    assert.deepEqual(reflect.path, ['app:reflect', 'app:admin', 'app:main']);

    const absent = stateOf(r, 'lib:absent');
    assert.equal(absent.unknownReason, 'symbol_not_in_graph');
    assert.deepEqual(
      r.unknowns.map((u) => `${u.symbolId}:${u.reason}`),
      ['app:reflect:dynamic_edge_only', 'lib:absent:symbol_not_in_graph'],
    );
    // Fact score: mean of target scores lowered by the unknowns share (2 of 8, under the 0.35 ceiling).
    const mean = r.states.reduce((s, t) => s + t.score, 0) / r.states.length;
    assert.equal(r.score, Math.round(mean * (1 - 2 / 8) * 1e6) / 1e6);
  });

  test('runtime hits: on the path give the runtime bucket, on the target confirm, on an unreachable symbol contest', () => {
    const r = run(['lib:vulnSink', 'lib:helper', 'lib:vulnSink2', 'lib:runtimeOnly'], {
      'lib:parse': 3,
      'lib:helper': 2,
      'lib:vulnSink2': 1,
      'lib:runtimeOnly': 7,
    });
    const sink = stateOf(r, 'lib:vulnSink');
    assert.equal(sink.bucket, 'runtime');
    assert.equal(sink.state, 'StaticallyReachable');
    assert.deepEqual(sink.evidence.runtimeHits, [{ symbolId: 'lib:parse', hitCount: 3 }]);
    assert.equal(sink.confidence, 0.9);
    assert.equal(stateOf(r, 'lib:helper').state, 'ConfirmedReachable');
    const contested = stateOf(r, 'lib:vulnSink2');
    assert.equal(contested.state, 'Contested');
    assert.equal(contested.bucket, 'unreachable');
    const runtimeOnly = stateOf(r, 'lib:runtimeOnly');
    assert.equal(runtimeOnly.state, 'RuntimeObserved');
    assert.equal(runtimeOnly.bucket, 'runtime');
    assert.equal(r.unknowns.length, 0, 'an observed symbol outside the graph is not unknown');
  });

  test('runtimeAbsenceIsEvidence turns unobserved reachable targets into Contested and unreachable into ConfirmedUnreachable', () => {
    const r = run(['lib:vulnSink', 'lib:vulnSink2'], { 'app:main': 1 }, { ...scoring, runtimeAbsenceIsEvidence: true });
    assert.equal(stateOf(r, 'lib:vulnSink').state, 'Contested');
    assert.equal(stateOf(r, 'lib:vulnSink2').state, 'ConfirmedUnreachable');
  });

  test('without a graph every target is unknown with graph_missing', () => {
    const r = computeReachability(
      {
        csr: undefined,
        index: undefined,
        targets: [{ symbolId: 'x' }, { advisoryId: 'GHSA-1', package: 'pkg:npm/lib' }],
        hits: new Map(),
      },
      scoring,
    );
    assert.deepEqual(r.unknowns.map((u) => u.reason).sort(), ['graph_missing', 'no_symbol_data']);
  });

  test('BFS is deterministic: the same graph gives the same parents, and unreached nodes are marked', () => {
    const a = bfs(csr, false);
    const b = bfs(csr, false);
    assert.deepEqual(a.parent, b.parent);
    assert.equal(a.parent[index.get('app:deadFn')!], UNREACHED);
    assert.equal(a.parent[index.get('app:reflect')!], UNREACHED);
    assert.notEqual(bfs(csr, true).parent[index.get('app:reflect')!], UNREACHED);
  });

  test('default targets: advisory symbols match by name within the package, overlay patterns match ids', () => {
    const targets = resolveTargets(
      csr,
      [
        { advisoryId: 'GHSA-aaaa', package: 'pkg:npm/lib', symbols: ['vulnSink'] },
        { advisoryId: 'GHSA-nosym', package: 'pkg:npm/lib', symbols: [] },
        { advisoryId: 'GHSA-other', package: 'pkg:npm/other', symbols: ['vulnSink'] },
      ],
      { 'CVE-2099-1': { patterns: ['lib:vulnSink*'] } },
    );
    const keys = targets.map((t) => `${t.advisoryId}:${t.symbolId ?? '-'}`);
    assert.ok(keys.includes('GHSA-aaaa:lib:vulnSink'));
    assert.ok(keys.includes('GHSA-nosym:-'), 'an advisory without symbols stays as a no_symbol_data target');
    assert.ok(keys.includes('GHSA-other:vulnSink'), 'a symbol of another package does not match lib nodes');
    assert.ok(keys.includes('CVE-2099-1:lib:vulnSink') && keys.includes('CVE-2099-1:lib:vulnSink2'));
  });

  test('the operator overlay file maps advisory ids to symbols or patterns; a broken file is a config error', () => {
    const dir = scratchDir('stella-overlay-');
    const file = joinPath(dir, 'overlay.json');
    writeFileSync(
      file,
      JSON.stringify({ 'GHSA-list': ['vulnSink'], 'GHSA-obj': { package: 'pkg:npm/lib', patterns: ['lib:vuln*'] } }),
    );
    const overlay = loadOverlay(file);
    assert.deepEqual(overlay['GHSA-list'], { symbols: ['vulnSink'], patterns: [] });
    const targets = resolveTargets(csr, [], overlay).map((t) => `${t.advisoryId}:${t.symbolId}`);
    assert.deepEqual(targets.sort(), ['GHSA-list:lib:vulnSink', 'GHSA-obj:lib:vulnSink', 'GHSA-obj:lib:vulnSink2']);
    writeFileSync(file, '{not json');
    assert.throws(
      () => loadOverlay(file),
      (e: Error & { code?: string }) => e.code === 'ERR_CONFIG',
    );
    assert.deepEqual(loadOverlay(''), {});
  });

  test('a symbol not found in a package whose code is bundled falls back to its <bundle> node, labelled precision package and weaker', () => {
    const bundled = toCsr(
      normalizeGraph(
        parseCallgraphBody({
          schema: 'stella.callgraph.v1',
          metadata: { language: 'javascript', component: 'app', version: '1.0.0' },
          nodes: [
            { id: 'app:main', name: '<module>', kind: 'module' },
            { id: 'app:use', name: 'use', kind: 'function' },
            { id: 'bun:top', name: BUNDLE_NODE_NAME, kind: 'module', purl: 'pkg:npm/bun@1.0.0' },
            { id: 'bun:a', name: 'a', kind: 'function', purl: 'pkg:npm/bun@1.0.0' },
            { id: 'plain:parse', name: 'parse', kind: 'function', purl: 'pkg:npm/plain@1.0.0' },
            { id: 'dead:top', name: BUNDLE_NODE_NAME, kind: 'module', purl: 'pkg:npm/dead@1.0.0' },
          ],
          edges: [
            { sourceId: 'app:main', targetId: 'app:use', kind: 'static' },
            { sourceId: 'app:use', targetId: 'bun:top', kind: 'static' },
            { sourceId: 'app:use', targetId: 'plain:parse', kind: 'static' },
          ],
          entrypoints: [{ nodeId: 'app:main', kind: 'main' }],
        }),
        { maxNodes: 100, maxEdges: 100 },
      ).graph,
    );
    const targets = resolveTargets(
      bundled,
      [
        { advisoryId: 'GHSA-bun', package: 'pkg:npm/bun', symbols: ['parseThing'] },
        { advisoryId: 'GHSA-dead', package: 'pkg:npm/dead', symbols: ['parseThing'] },
        { advisoryId: 'GHSA-plain', package: 'pkg:npm/plain', symbols: ['parse', 'absent'] },
      ],
      {},
    );
    assert.deepEqual(
      targets.map((t) => `${t.advisoryId}:${t.symbolId}:${t.precision ?? 'symbol'}`),
      [
        'GHSA-plain:absent:symbol',
        'GHSA-bun:bun:top:package',
        'GHSA-dead:dead:top:package',
        'GHSA-plain:plain:parse:symbol',
      ],
      'a package without bundled code keeps the missing symbol as symbol_not_in_graph',
    );
    const result = computeReachability(
      { csr: bundled, index: nodeIndex(bundled), targets, hits: new Map([['bun:top', 1]]) },
      scoring,
    );
    const of = (advisoryId: string) => result.states.find((s) => s.advisoryId === advisoryId)!;
    assert.equal(of('GHSA-bun').state, 'ConfirmedReachable');
    assert.equal(of('GHSA-bun').precision, 'package');
    const parse = result.states.find((st) => st.target === 'plain:parse')!;
    assert.equal(parse.state, 'StaticallyReachable');
    assert.ok(of('GHSA-bun').confidence < parse.confidence, 'package level is labelled weaker, even with a hit');
    assert.equal(of('GHSA-dead').state, 'StaticallyUnreachable');
    assert.equal(of('GHSA-dead').precision, 'package');
    const vex = toOpenVex({
      subjectKey: 'app|1.0.0',
      states: result.states,
      factVersion: 1,
      digest: 'sha256:0',
      computedAt: '2026-12-04T00:00:00Z',
    }) as { statements: { vulnerability: { name: string }; status: string; status_notes: string }[] };
    const status = Object.fromEntries(vex.statements.map((st) => [st.vulnerability.name, st.status]));
    // The package ran, but whether its vulnerable function did is not known: never "affected" on that.
    assert.equal(status['GHSA-bun'], 'under_investigation');
    assert.equal(status['GHSA-dead'], 'not_affected', 'a package nothing reaches has no reachable function either');
    assert.equal(status['GHSA-plain'], 'affected');
    assert.match(vex.statements.find((st) => st.vulnerability.name === 'GHSA-bun')!.status_notes, /precision package/);
  });
});
