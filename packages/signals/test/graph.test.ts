import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { StellaError, symbolId } from '@stella/core';
import { decodeCsr, encodeCsr, toCsr } from '../src/graph/csr.ts';
import { normalizeGraph } from '../src/graph/normalize.ts';
import { parseCallgraphBody } from '../src/graph/parse.ts';
import { sampleGraph } from './harness.ts';

const limits = { maxNodes: 1000, maxEdges: 1000 };
const normalize = (body: unknown) => normalizeGraph(parseCallgraphBody(body), limits);

function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function rejects(body: unknown, pattern: RegExp) {
  assert.throws(
    () => normalize(body),
    (e: unknown) => e instanceof StellaError && e.code === 'ERR_SIGNALS_CALLGRAPH_INVALID' && pattern.test(e.message),
  );
}

describe('callgraph normalisation', () => {
  test('the graph hash does not depend on node or edge order, and NFC equals NFD', () => {
    const base = sampleGraph();
    const first = normalize(base);
    for (let seed = 1; seed <= 5; seed++) {
      const shuffled = { ...base, nodes: shuffle(base.nodes, seed), edges: shuffle(base.edges, seed * 7) };
      const again = normalize(shuffled);
      assert.equal(again.graphHash, first.graphHash);
      assert.deepEqual(again.bytes, first.bytes);
    }
    const nfc = normalize({ ...base, metadata: { ...base.metadata, component: 'caf\u00e9' } });
    const nfd = normalize({ ...base, metadata: { ...base.metadata, component: 'cafe\u0301' } });
    assert.equal(nfc.graphHash, nfd.graphHash);
    assert.match(first.graphHash, /^sha256:[0-9a-f]{64}$/);
    // A different graph has a different hash.
    const other = normalize({ ...base, edges: base.edges.slice(1) });
    assert.notEqual(other.graphHash, first.graphHash);
  });

  test('nodes are sorted by id and edges by source, target, kind; duplicate edges collapse', () => {
    const base = sampleGraph();
    const { graph } = normalize({ ...base, edges: [...base.edges, { ...base.edges[0]!, weight: 0.5 }] });
    const ids = graph.nodes.map((n) => n.id);
    assert.deepEqual(ids, [...ids].sort());
    const keys = graph.edges.map((e) => `${e.sourceId}|${e.targetId}|${e.kind}`);
    assert.deepEqual(keys, [...keys].sort());
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(graph.edges.length, base.edges.length);
    assert.equal(graph.edges.find((e) => e.sourceId === 'app:main' && e.targetId === 'app:handler')!.weight, 1);
  });

  test('validation refuses dangling edges, duplicate ids, unknown entrypoints, bad weights, missing entrypoints', () => {
    const base = sampleGraph();
    rejects(
      { ...base, edges: [...base.edges, { sourceId: 'app:main', targetId: 'nowhere', kind: 'static' }] },
      /target "nowhere" is not a node/,
    );
    rejects({ ...base, nodes: [...base.nodes, { id: 'app:main' }] }, /duplicate node id "app:main"/);
    rejects(
      { ...base, entrypoints: [{ nodeId: 'ghost', kind: 'http', order: 0 }] },
      /entrypoint "ghost" is not a node/,
    );
    rejects(
      { ...base, edges: [{ sourceId: 'app:main', targetId: 'app:handler', weight: 1.5 }] },
      /weight must be a number in \[0, 1\]/,
    );
    rejects({ ...base, entrypoints: undefined }, /entrypoints must be present/);
    rejects({ ...base, nodes: [...base.nodes, { id: 'bad\nid' }] }, /control character/);
    rejects({ hello: 'world' }, /unrecognised callgraph format/);
    assert.throws(() => normalizeGraph(parseCallgraphBody(base), { maxNodes: 3, maxEdges: 100 }), /limit is 3/);
  });

  test('richgraph-v1, union NDJSON and Jelly inputs give the same canonical shape', () => {
    const rich = normalize({
      schema: 'richgraph-v1',
      nodes: [
        { id: 'a', kind: 'function', display: 'A' },
        { id: 'b', kind: 'method', purl: 'pkg:npm/x@1' },
      ],
      edges: [{ sourceId: 'a', targetId: 'b', type: 'call', confidence: 0.8 }],
      roots: [{ id: 'a', phase: 'runtime' }],
      artifact: { sha256: 'x', uri: 'web', generator: 'test' },
    });
    assert.equal(rich.graph.edges[0]!.weight, 0.8);
    assert.equal(rich.graph.entrypoints[0]!.nodeId, 'a');

    const nodes =
      '{"symbol_id":"a","lang":"node","kind":"function","display":"A"}\n{"symbol_id":"b","lang":"node","kind":"method","purl":"pkg:npm/x@1"}\n';
    const edges = '{"from":"a","to":"b","edge_type":"call","confidence":0.8}\n';
    const union = normalize({
      schema: 'union-v0.1',
      meta: {
        entryPoints: ['a'],
        files: [
          { path: 'nodes.ndjson', sha256: createHash('sha256').update(nodes).digest('hex'), records: 2 },
          { path: 'edges.ndjson', sha256: createHash('sha256').update(edges).digest('hex'), records: 1 },
        ],
      },
      files: { 'nodes.ndjson': nodes, 'edges.ndjson': { base64: Buffer.from(edges).toString('base64') } },
    });
    assert.deepEqual(union.graph.nodes, rich.graph.nodes);
    assert.deepEqual(union.graph.edges, rich.graph.edges);
    // A union file whose digest disagrees with meta.json is refused.
    rejects(
      {
        schema: 'union-v0.1',
        meta: { entryPoints: [], files: [{ path: 'nodes.ndjson', sha256: '0'.repeat(64) }] },
        files: { 'nodes.ndjson': nodes, 'edges.ndjson': edges },
      },
      /does not match meta\.json/,
    );

    const jelly = normalize({
      entries: ['app.js'],
      files: ['app.js', 'node_modules/@scope/lib/index.js'],
      functions: { '0': '0:1:1:20:1', '1': '0:3:1:5:2', '2': '1:10:1:12:2' },
      calls: { '0': '0:4:3:4:10' },
      fun2fun: [
        [0, 1],
        [1, 2],
      ],
      call2fun: [[0, 2]],
    });
    assert.equal(jelly.graph.nodes.length, 3);
    assert.deepEqual(
      jelly.graph.entrypoints.map((e) => e.nodeId),
      ['js:app.js:1:1:20:1'],
    );
    assert.equal(jelly.graph.nodes.find((n) => n.file?.includes('node_modules'))!.purl, 'pkg:npm/%40scope/lib');
    assert.equal(jelly.graph.edges.length, 2);
  });

  test('an ingest request wrapping a base64 artifact carries its metadata', () => {
    const body = {
      language: 'Node',
      component: 'shop',
      version: '2.0.0',
      artifactContentBase64: Buffer.from(JSON.stringify(sampleGraph())).toString('base64'),
    };
    const { graph } = normalize(body);
    assert.equal(graph.metadata.component, 'shop');
    assert.equal(graph.metadata.version, '2.0.0');
  });

  test('CSR round-trips through its binary form and keeps targets sorted per row', () => {
    const { graph } = normalize(sampleGraph());
    const csr = toCsr(graph);
    const decoded = decodeCsr(encodeCsr(csr));
    assert.deepEqual(decoded, csr);
    assert.deepEqual(encodeCsr(decoded), encodeCsr(csr));
    for (let i = 0; i < csr.ids.length; i++) {
      const row = Array.from(csr.targets.subarray(csr.offsets[i]!, csr.offsets[i + 1]!));
      assert.deepEqual(
        row,
        [...row].sort((a, b) => a - b),
      );
    }
    assert.deepEqual(csr.purls, ['pkg:npm/lib']);
    assert.throws(() => decodeCsr(Buffer.from('nope')), /bad magic/);
  });

  test('sym: ids are base64url sha256 of the NUL-joined canonical tuple', () => {
    const id = symbolId('go', ['golang.org/x/net', 'golang.org/x/net/http2', '*Server', 'ServeConn']);
    assert.match(id, /^sym:go:[A-Za-z0-9_-]{43}$/);
    assert.equal(id, symbolId('go', ['golang.org/x/net', 'golang.org/x/net/http2', '*Server', 'ServeConn']));
    assert.notEqual(id, symbolId('go', ['golang.org/x/net', 'golang.org/x/net/http2', '*Server', 'Serve']));
    // java is case-insensitive by definition of its tuple
    assert.equal(symbolId('java', ['a', 'B', 'c', '()V']), symbolId('java', ['A', 'b', 'C', '()v']));
    // Tuple members cannot spill into each other.
    assert.notEqual(symbolId('shell', ['ab', 'c']), symbolId('shell', ['a', 'bc']));
    assert.throws(() => symbolId('cobol', ['x']), /unknown symbol language/);
    assert.throws(() => symbolId('go', ['x']), /has 4 members/);
  });
});
