// Callgraph ingest: normalise and hash the graph, store it in CAS as canonical JSON and as CSR, sign
// its manifest (DSSE), record it, then attach the runtime batches parked for it. A union set's
// facts_runtime.ndjson is ingested as a runtime batch of the subject given with it.
import { type Clock, canonicalJson, DEFAULT_JSON_LIMITS } from '@stella/core';
import type { Tx } from '@stella/platform';
import type { SignalsContext } from '../context.ts';
import { type CsrGraph, encodeCsr, toCsr } from '../graph/csr.ts';
import type { CanonicalGraph } from '../graph/model.ts';
import { normalizeGraph } from '../graph/normalize.ts';
import { parseCallgraphBody } from '../graph/parse.ts';
import { aggregateEvents, type EventBatch } from '../runtime/events.ts';
import { ingestRuntime, type RuntimeIngestResult } from '../runtime/ingest.ts';
import { attachOrphans, OrphansNotAttached } from '../runtime/orphans.ts';
import { type Subject, subjectKeyOf } from '../runtime/subject.ts';
import { type CallgraphRow, insertCallgraph } from '../sql/callgraphs.ts';
import { assertStorableText } from '../text.ts';
import { loadedGraphOf } from './graphs.ts';
import { callgraphIdOf } from './id.ts';

export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.stella.signals.callgraph-manifest+json';

export interface CallgraphIngestResult {
  callgraphId: string;
  graphHash: string;
  format: string;
  nodeCount: number;
  edgeCount: number;
  entrypointCount: number;
  casUri: string;
  csrUri: string;
  manifestUri: string;
  dsseUri: string;
  created: boolean;
  orphansAttached: number;
  /** The union set's facts_runtime.ndjson, ingested for the subject given with the graph. */
  runtime?: RuntimeIngestResult;
  /** Rows of facts_runtime.ndjson not ingested because no subject was given. */
  runtimeFactsIgnored?: number;
}

type ParsedCallgraph = ReturnType<typeof parseCallgraphBody>;
type NewCallgraphRow = Omit<CallgraphRow, 'createdAt'>;

/**
 * Stores the graph; a union set's facts_runtime.ndjson is ingested as a runtime batch of `subject`
 * when one is given (validated like any upload), and otherwise only counted as ignored.
 */
export async function ingestCallgraph(
  ctx: SignalsContext,
  tenant: string,
  body: unknown,
  options: { analysisId?: string; subject?: Subject } = {},
): Promise<CallgraphIngestResult> {
  if (options.analysisId !== undefined) assertStorableText(options.analysisId, 'X-Analysis-Id');
  const parsed = parseCallgraphBody(body, ctx.deps.jsonLimits ?? DEFAULT_JSON_LIMITS);
  const facts = parsed.runtimeFacts;
  const subject = options.subject && Object.keys(options.subject).length > 0 ? options.subject : undefined;
  const unionBatch = facts.length > 0 && subject ? unionSetBatch(ctx, facts, subject) : undefined;
  const result = await storeCallgraph(ctx, tenant, parsed, options.analysisId);
  if (!unionBatch || !subject) return facts.length > 0 ? { ...result, runtimeFactsIgnored: facts.length } : result;
  const graph = await ctx.graphs.getCallgraph(tenant, result.callgraphId);
  const batch = { graph, subject, source: 'union-set', batch: unionBatch };
  return { ...result, runtime: await ingestRuntime(ctx, tenant, batch) };
}

/** facts_runtime.ndjson of a union set, validated as an upload of `subject` would be. */
function unionSetBatch(ctx: SignalsContext, facts: ParsedCallgraph['runtimeFacts'], subject: Subject): EventBatch {
  const { config, clock } = ctx.deps;
  subjectKeyOf(subject);
  const limits = {
    maxHitCount: config.maxHitCount,
    maxFutureSkewSeconds: config.maxFutureSkewSeconds,
    maxEvents: config.maxEventsPerBatch,
    now: clock.now(),
  };
  const events = facts.map((f) => ({ symbolId: f.symbolId, hitCount: f.hitCount }));
  return aggregateEvents(events, (i) => `facts_runtime.ndjson row ${i + 1}`, limits);
}

async function storeCallgraph(
  ctx: SignalsContext,
  tenant: string,
  parsed: ParsedCallgraph,
  analysisId: string | undefined,
): Promise<CallgraphIngestResult> {
  const { config } = ctx.deps;
  const normalized = normalizeGraph(parsed, { maxNodes: config.maxGraphNodes, maxEdges: config.maxGraphEdges });
  const { graph, graphHash } = normalized;
  // These become columns; the graph itself goes to CAS only.
  for (const [what, value] of Object.entries(graph.metadata)) {
    if (typeof value === 'string') assertStorableText(value, `callgraph metadata ${what}`);
  }
  const existing = await ctx.graphs.findCallgraph(tenant, graphHash);
  if (existing) return { ...callgraphResultOf(existing), created: false, orphansAttached: 0 };

  const csr = toCsr(graph);
  for (const purl of csr.purls) assertStorableText(purl, 'callgraph node purl');
  const evidence = { graph, graphHash, bytes: normalized.bytes, csr };
  const row = { ...(await writeGraphEvidence(ctx, tenant, parsed.format, evidence)), analysisId: analysisId ?? null };
  const inserted = await ctx.inTenant(tenant, (tx) => insertGraphRow(ctx, tx, row));
  if (!inserted) {
    // Another request stored the same graph first: answer with its id.
    const winner = await ctx.graphs.getCallgraph(tenant, graphHash);
    return { ...callgraphResultOf(winner), created: false, orphansAttached: 0 };
  }
  // Through rememberGraph, so ingesting many graphs keeps at most a few of them decoded.
  ctx.graphs.rememberGraph(tenant, graphHash, Promise.resolve(loadedGraphOf(csr)));
  const orphansAttached = await attachParked(ctx, tenant, graphHash);
  return { ...callgraphResultOf({ ...inserted, createdAt: '' }), created: true, orphansAttached };
}

/**
 * The graph, its CSR, the signed manifest and its DSSE into CAS; the row that will reference them.
 * Blobs first, rows after: a crash in between leaves unreferenced blobs, never rows without blobs.
 */
async function writeGraphEvidence(
  ctx: SignalsContext,
  tenant: string,
  format: string,
  normalized: { graph: CanonicalGraph; graphHash: string; bytes: Buffer; csr: CsrGraph },
): Promise<Omit<NewCallgraphRow, 'analysisId'>> {
  const { signing, clock } = ctx.deps;
  const blobs = ctx.deps.blobs.forTenant(tenant);
  const { graph, graphHash, csr } = normalized;
  const graphBlob = await blobs.put('reachability/graphs', normalized.bytes, { expectedDigest: graphHash });
  const csrBlob = await blobs.put('reachability/csr', encodeCsr(csr));
  const callgraphId = callgraphIdOf(tenant, graphHash);
  const signer = await signing.getSigner(tenant, 'signals-graph', 'ed25519');
  const { metadata } = graph;
  const counts = {
    nodeCount: graph.nodes.length,
    edgeCount: graph.edges.length,
    entrypointCount: graph.entrypoints.length,
  };
  const uris = { casUri: graphBlob.uri, csrUri: csrBlob.uri };
  const manifest = callgraphManifest(
    { callgraphId, graphHash, metadata, format, counts, uris, signer: signer.keyid },
    clock,
  );
  const manifestBytes = Buffer.from(canonicalJson(manifest), 'utf8');
  const envelope = signer.signDsse(MANIFEST_PAYLOAD_TYPE, manifestBytes);
  const manifestBlob = await blobs.put('reachability/manifests', manifestBytes);
  const dsseBlob = await blobs.put('reachability/dsse', Buffer.from(canonicalJson(envelope), 'utf8'));
  return {
    tenant,
    callgraphId,
    graphHash,
    format,
    language: metadata.language,
    component: metadata.component,
    version: metadata.version,
    ...counts,
    packages: csr.purls,
    ...uris,
    manifestUri: manifestBlob.uri,
    dsseUri: dsseBlob.uri,
    signerKeyid: signer.keyid,
  };
}

/** The row and its timeline event; undefined when another request stored the same graph first. */
async function insertGraphRow(ctx: SignalsContext, tx: Tx, row: NewCallgraphRow): Promise<NewCallgraphRow | undefined> {
  if (!(await insertCallgraph(tx, row))) return undefined;
  await ctx.deps.timeline.append(tx, row.tenant, {
    category: 'evidence',
    kind: 'signals.callgraph.ingested',
    details: {
      callgraphId: row.callgraphId,
      graphHash: row.graphHash,
      casUri: row.casUri,
      manifestUri: row.manifestUri,
      nodes: row.nodeCount,
      edges: row.edgeCount,
    },
  });
  return row;
}

/**
 * Attaches the batches parked for the new graph. The graph is stored whatever happens to them: a
 * failure to attach them is retried by the orphan job, not answered as a failed graph ingest (a
 * retry of which would only find the graph stored).
 */
function attachParked(ctx: SignalsContext, tenant: string, graphHash: string): Promise<number> {
  return attachOrphans(ctx, tenant, graphHash).catch(async (error: unknown) => {
    ctx.deps.logger.warn(
      { err: error, graphHash },
      'runtime batches parked for this graph were not all attached; retrying',
    );
    await ctx.queueOrphanRetry(tenant, graphHash);
    return error instanceof OrphansNotAttached ? error.attached : 0;
  });
}

/** The manifest signed for a stored graph (schema stella.signals.callgraph-manifest.v1). */
function callgraphManifest(
  graph: {
    callgraphId: string;
    graphHash: string;
    metadata: CanonicalGraph['metadata'];
    format: string;
    counts: { nodeCount: number; edgeCount: number; entrypointCount: number };
    uris: { casUri: string; csrUri: string };
    signer: string;
  },
  clock: Clock,
) {
  return {
    schema: 'stella.signals.callgraph-manifest.v1',
    graph_id: graph.callgraphId,
    digest: graph.graphHash,
    language: graph.metadata.language,
    component: graph.metadata.component,
    version: graph.metadata.version,
    source: graph.format,
    ...graph.counts,
    ...graph.uris,
    created: clock.now().toISOString(),
    signer: graph.signer,
  };
}

/** The answer for a stored graph, without what only its ingest knows. */
export function callgraphResultOf(row: CallgraphRow): Omit<CallgraphIngestResult, 'created' | 'orphansAttached'> {
  return {
    callgraphId: row.callgraphId,
    graphHash: row.graphHash,
    format: row.format,
    nodeCount: row.nodeCount,
    edgeCount: row.edgeCount,
    entrypointCount: row.entrypointCount,
    casUri: row.casUri,
    csrUri: row.csrUri,
    manifestUri: row.manifestUri,
    dsseUri: row.dsseUri,
  };
}
