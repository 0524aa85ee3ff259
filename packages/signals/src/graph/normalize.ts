// Normalisation makes equal graphs equal bytes: NFC strings, nodes sorted by id, edges by
// (sourceId, targetId, kind), entrypoints by order. Validation refuses duplicate ids, dangling edge
// or entrypoint references and weights outside [0, 1]. graphHash is the sha256 of the canonical JSON.
import { canonicalJson, type Sha256Digest, sha256Digest } from '@stella/core';
import type { CanonicalGraph, GraphEdge, GraphEntrypoint, GraphNode } from './model.ts';
import { invalidGraph, type ParsedGraph } from './parse.ts';

export interface NormalizeLimits {
  maxNodes: number;
  maxEdges: number;
}

export interface NormalizedGraph {
  graph: CanonicalGraph;
  /** Canonical JSON of `graph`, the bytes stored in CAS. */
  bytes: Buffer;
  graphHash: Sha256Digest;
}

// Ids become NDJSON keys and CSR lines, so control characters (newline above all) are refused.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const MAX_REPORTED = 20;

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function normalizeGraph(parsed: ParsedGraph, limits: NormalizeLimits): NormalizedGraph {
  if (parsed.nodes.length > limits.maxNodes) {
    throw invalidGraph(
      `callgraph has ${parsed.nodes.length} nodes; the limit is ${limits.maxNodes} (signals.maxGraphNodes)`,
    );
  }
  if (parsed.edges.length > limits.maxEdges) {
    throw invalidGraph(
      `callgraph has ${parsed.edges.length} edges; the limit is ${limits.maxEdges} (signals.maxGraphEdges)`,
    );
  }
  const problems: string[] = [];
  const report: Report = (message) => {
    if (problems.length < MAX_REPORTED) problems.push(message);
  };
  const { nodes, rank } = sortedNodes(parsed.nodes, report);
  const edges = sortedEdges(parsed.edges, rank, nodes.length, report);
  const entrypoints = sortedEntrypoints(parsed.entrypoints, rank, report);
  if (problems.length > 0) {
    throw invalidGraph(
      `callgraph failed validation: ${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      {
        problems,
      },
    );
  }

  const graph: CanonicalGraph = {
    schema: 'stella.callgraph.v1',
    metadata: {
      language: nfc(parsed.metadata.language ?? 'unknown'),
      component: nfc(parsed.metadata.component ?? ''),
      version: nfc(parsed.metadata.version ?? ''),
    },
    nodes,
    edges,
    entrypoints,
  };
  const bytes = Buffer.from(canonicalJson(graph), 'utf8');
  return { graph, bytes, graphHash: sha256Digest(bytes) };
}

/** Collects a validation problem (the first MAX_REPORTED are kept). */
type Report = (message: string) => void;

/** Nodes sorted by id, and each id's rank in that order; control characters and duplicates reported. */
function sortedNodes(parsed: ParsedGraph['nodes'], report: Report) {
  const nodes: GraphNode[] = parsed.map((n) => nfcObject(n));
  nodes.sort((a, b) => byCodeUnits(a.id, b.id));
  const rank = new Map<string, number>();
  for (let i = 0; i < nodes.length; i++) {
    const id = nodes[i]!.id;
    if (CONTROL_RE.test(id)) report(`node id ${JSON.stringify(id)} contains a control character`);
    if (i > 0 && nodes[i - 1]!.id === id) report(`duplicate node id ${JSON.stringify(id)}`);
    rank.set(id, i);
  }
  return { nodes, rank };
}

/**
 * Edges sorted by (sourceId, targetId, kind, reason, weight desc), one per (source, target, kind);
 * edges naming no node reported. Node ids are already ranked in code-unit order, so the first two
 * keys become one number and the sort stays numeric for million-edge graphs.
 */
function sortedEdges(
  parsed: ParsedGraph['edges'],
  rank: ReadonlyMap<string, number>,
  nodeCount: number,
  report: Report,
): GraphEdge[] {
  const n = Math.max(1, nodeCount);
  const keyed: { edge: GraphEdge; key: number }[] = [];
  for (const e of parsed.map((edge) => nfcObject(edge))) {
    const s = rank.get(e.sourceId);
    const t = rank.get(e.targetId);
    if (s === undefined)
      report(`edge ${e.sourceId} -> ${e.targetId}: source ${JSON.stringify(e.sourceId)} is not a node`);
    if (t === undefined)
      report(`edge ${e.sourceId} -> ${e.targetId}: target ${JSON.stringify(e.targetId)} is not a node`);
    if (s !== undefined && t !== undefined) keyed.push({ edge: e, key: s * n + t });
  }
  keyed.sort(
    (a, b) =>
      a.key - b.key ||
      byCodeUnits(a.edge.kind, b.edge.kind) ||
      byCodeUnits(a.edge.reason ?? '', b.edge.reason ?? '') ||
      b.edge.weight - a.edge.weight,
  );
  const edges: GraphEdge[] = [];
  let lastKey = -1;
  let lastKind = '';
  for (const { edge: e, key } of keyed) {
    // The same call reported twice (e.g. two call sites) is one edge; the strongest weight survives.
    if (key === lastKey && e.kind === lastKind) continue;
    lastKey = key;
    lastKind = e.kind;
    edges.push(e);
  }
  return edges;
}

/** Entrypoints by (order, node id), each node once, renumbered; those naming no node reported. */
function sortedEntrypoints(
  parsed: ParsedGraph['entrypoints'],
  ids: ReadonlyMap<string, number>,
  report: Report,
): GraphEntrypoint[] {
  const entrypoints: GraphEntrypoint[] = [];
  const seen = new Set<string>();
  const sortedEntries = parsed.map((p) => nfcObject(p));
  sortedEntries.sort((a, b) => a.order - b.order || byCodeUnits(a.nodeId, b.nodeId));
  for (const p of sortedEntries) {
    if (!ids.has(p.nodeId)) report(`entrypoint ${JSON.stringify(p.nodeId)} is not a node`);
    if (seen.has(p.nodeId)) continue;
    seen.add(p.nodeId);
    entrypoints.push({ ...p, order: entrypoints.length });
  }
  return entrypoints;
}

function nfc(value: string): string {
  return value.normalize('NFC');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: ASCII test, control characters included
const ASCII_RE = /^[\u0000-\u007f]*$/;

/** NFC copy of an object's strings; ASCII strings are already NFC, which saves the work on big graphs. */
function nfcObject<T extends object>(value: T): T {
  let out: Record<string, unknown> | undefined;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (typeof v !== 'string' || ASCII_RE.test(v)) continue;
    // Parsers hand over fresh objects, so only one with a non-ASCII string is copied.
    out ??= { ...(value as Record<string, unknown>) };
    out[k] = v.normalize('NFC');
  }
  return (out ?? value) as T;
}
