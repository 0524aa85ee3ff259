// Stored callgraphs as the rest of signals reads them: rows (kept once read, as they never change)
// and decoded CSR graphs with their two searches done (the few most recently used, as a
// million-edge graph costs a second to decode and search).
import { StellaError } from '@stella/core';
import type { TenantBlobs } from '@stella/platform';
import type { SignalsContext } from '../context.ts';
import { type BfsResult, bfs } from '../engine/reachability.ts';
import { SignalsErrors } from '../errors.ts';
import { type CsrGraph, decodeCsr, nodeIndex } from '../graph/csr.ts';
import { type CallgraphRow, selectCallgraph } from '../sql/callgraphs.ts';
import { assertStorableText } from '../text.ts';

/** Recently used graphs stay decoded; a few keep memory bounded even for million-edge graphs. */
const GRAPH_CACHE_SIZE = 8;
const CALLGRAPH_ROW_CACHE_SIZE = 1024;

export interface LoadedGraph {
  csr: CsrGraph;
  index: Map<string, number>;
  searches: { strict: BfsResult; loose: BfsResult };
}

export type CallgraphStore = ReturnType<typeof createCallgraphStore>;

/** A graph ready for recomputes: node index and both searches (static edges only, and with heuristic ones). */
export function loadedGraphOf(csr: CsrGraph): LoadedGraph {
  return { csr, index: nodeIndex(csr), searches: { strict: bfs(csr, false), loose: bfs(csr, true) } };
}

export function createCallgraphStore(ctx: {
  blobs: TenantBlobs;
  cacheRequests: SignalsContext['metrics']['cacheRequests'];
  inTenant: SignalsContext['inTenant'];
}) {
  const { blobs, cacheRequests } = ctx;
  const graphCache = new Map<string, Promise<LoadedGraph>>();
  // Callgraph rows are written once and never changed or deleted (the id is derived from the content),
  // so a row once read can be kept: every runtime batch names its callgraph, and looking it up cost a
  // transaction of its own per batch. Only rows that exist are kept; per tenant, bounded.
  const callgraphRows = new Map<string, CallgraphRow>();

  async function getCallgraph(tenant: string, idOrHash: string): Promise<CallgraphRow> {
    assertStorableText(idOrHash, 'callgraph id');
    const key = `${tenant}\u0000${idOrHash}`;
    const cached = callgraphRows.get(key);
    if (cached) return cached;
    const row = await ctx.inTenant(tenant, (tx) => selectCallgraph(tx, tenant, idOrHash));
    if (!row) throw new StellaError(SignalsErrors.callgraphNotFound, `callgraph ${idOrHash} not found`);
    callgraphRows.set(key, row);
    while (callgraphRows.size > CALLGRAPH_ROW_CACHE_SIZE) callgraphRows.delete(callgraphRows.keys().next().value!);
    return row;
  }

  /** The row of `idOrHash`, or undefined (no 404): for callers to whom a missing graph is an answer. */
  function findCallgraph(tenant: string, idOrHash: string): Promise<CallgraphRow | undefined> {
    return ctx.inTenant(tenant, (tx) => selectCallgraph(tx, tenant, idOrHash));
  }

  async function loadGraph(row: CallgraphRow): Promise<LoadedGraph> {
    const key = `${row.tenant}\u0000${row.graphHash}`;
    const cached = graphCache.get(key);
    if (cached) {
      cacheRequests.inc({ cache: 'graph', result: 'hit' });
      graphCache.delete(key);
      graphCache.set(key, cached);
      return cached;
    }
    cacheRequests.inc({ cache: 'graph', result: 'miss' });
    const loading = blobs
      .forTenant(row.tenant)
      .getBytes(row.csrUri)
      .then((bytes) => loadedGraphOf(decodeCsr(bytes)));
    rememberGraph(row.tenant, row.graphHash, loading);
    return loading;
  }

  /**
   * Keeps a decoded graph, evicting the least recently used beyond GRAPH_CACHE_SIZE. A load that fails
   * (CAS unreadable for a while) is forgotten, so the next request reads the blob again instead of
   * getting the same failure until a restart.
   */
  function rememberGraph(tenant: string, graphHash: string, loading: Promise<LoadedGraph>): void {
    const key = `${tenant}\u0000${graphHash}`;
    loading.catch(() => {
      if (graphCache.get(key) === loading) graphCache.delete(key);
    });
    graphCache.set(key, loading);
    while (graphCache.size > GRAPH_CACHE_SIZE) graphCache.delete(graphCache.keys().next().value!);
  }

  return { getCallgraph, findCallgraph, loadGraph, rememberGraph };
}
