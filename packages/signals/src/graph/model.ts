// The canonical callgraph every input format is turned into (stella.callgraph.v1 field names). Its
// canonical JSON is what `graphHash` covers; time (ingestedAt) is deliberately not part of it.

/** static: a resolved call; heuristic: a guess (reflection, dynamic import, unresolved virtual); runtime: minted from observation. */
export type EdgeKind = 'static' | 'heuristic' | 'runtime';

export interface GraphNode {
  id: string;
  name?: string;
  kind?: string;
  namespace?: string;
  file?: string;
  line?: number;
  purl?: string;
  codeId?: string;
  symbolDigest?: string;
}

export interface GraphEdge {
  sourceId: string;
  targetId: string;
  kind: EdgeKind;
  reason?: string;
  weight: number;
}

export interface GraphEntrypoint {
  nodeId: string;
  kind: string;
  route?: string;
  order: number;
}

export interface CanonicalGraph {
  schema: 'stella.callgraph.v1';
  metadata: { language: string; component: string; version: string };
  nodes: GraphNode[];
  edges: GraphEdge[];
  entrypoints: GraphEntrypoint[];
}

export type GraphFormat = 'stella.callgraph.v1' | 'richgraph-v1' | 'union-v0.1' | 'jelly';
