// Reads of a stored callgraph beyond its row: its signed manifest, and how much of a runtime trace
// maps onto its nodes (`stella graph verify`).
import type { SignalsContext } from '../context.ts';

/** How many unmapped symbols a coverage answer lists. */
const UNMAPPED_SAMPLE = 50;

export async function getCallgraphManifest(ctx: SignalsContext, tenant: string, idOrHash: string) {
  const blobs = ctx.deps.blobs.forTenant(tenant);
  const row = await ctx.graphs.getCallgraph(tenant, idOrHash);
  const manifest = JSON.parse((await blobs.getBytes(row.manifestUri)).toString('utf8')) as Record<string, unknown>;
  const dsse = JSON.parse((await blobs.getBytes(row.dsseUri)).toString('utf8')) as Record<string, unknown>;
  return { manifest, dsse, manifestUri: row.manifestUri, dsseUri: row.dsseUri };
}

/** How many of the given runtime symbols map onto graph nodes (`stella graph verify`). */
export async function graphCoverage(ctx: SignalsContext, tenant: string, idOrHash: string, symbols: readonly string[]) {
  const row = await ctx.graphs.getCallgraph(tenant, idOrHash);
  const { index } = await ctx.graphs.loadGraph(row);
  const distinct = [...new Set(symbols.map((s) => s.normalize('NFC')))].sort();
  const unmapped = distinct.filter((s) => !index.has(s));
  return {
    callgraphId: row.callgraphId,
    graphHash: row.graphHash,
    symbols: distinct.length,
    mapped: distinct.length - unmapped.length,
    unmapped: unmapped.length,
    ratio: distinct.length ? Math.round(((distinct.length - unmapped.length) / distinct.length) * 1e4) / 1e4 : 0,
    unmappedSample: unmapped.slice(0, UNMAPPED_SAMPLE),
  };
}
