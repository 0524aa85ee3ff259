// Signals' application service: callgraph ingest (normalise, hash, CAS + manifest + DSSE), runtime
// ingest (idempotent aggregation, CAS batch, timeline, orphans), recompute (incremental, cached
// graphs, fact versions and events, stored only from a subject's current inputs) and the reads
// behind the routes (a fact, or its pending state and a bounded wait for it). Routes and the CLI call this.
import {
  type Clock,
  canonicalDigest,
  canonicalJson,
  DEFAULT_JSON_LIMITS,
  Errors,
  type JsonLimits,
  newUlid,
  newUuid,
  StellaError,
  sha256Hex,
} from '@stella/core';
import {
  type BlobStore,
  type Config,
  counter,
  type Db,
  formatCasUri,
  gauge,
  histogram,
  type JobQueue,
  type Logger,
  type Registry,
  type SigningKeyStore,
  type Timeline,
} from '@stella/platform';
import { type BfsResult, bfs, computeReachability, type ScoringOptions, type Target } from './engine/reachability.ts';
import {
  type AdvisorySymbols,
  aocVulnerableSymbols,
  loadOverlay,
  requestTargets,
  resolveTargets,
  type SymbolOverlay,
} from './engine/targets.ts';
import { SignalsErrors } from './errors.ts';
import { createFactWaiters } from './fact-waiters.ts';
import { type CsrGraph, decodeCsr, encodeCsr, nodeIndex, toCsr } from './graph/csr.ts';
import { normalizeGraph } from './graph/normalize.ts';
import { parseCallgraphBody } from './graph/parse.ts';
import { addEvent, RuntimeAggregate, refuse } from './runtime/events.ts';
import type { SpooledBatch } from './runtime/stream.ts';
import { type Subject, subjectKeyOf } from './runtime/subject.ts';
import { type CallgraphRow, insertCallgraph, selectCallgraph } from './sql/callgraphs.ts';
import {
  type FactRow,
  insertReportedUnknowns,
  replaceEngineUnknowns,
  selectFact,
  selectUnknowns,
  touchFactInputs,
  upsertFact,
} from './sql/facts.ts';
import {
  addRuntimeFacts,
  findIngest,
  type IngestRow,
  insertAppliedIngest,
  insertIngest,
  lockSubjectInputs,
  markApplied,
  runtimeSummary,
  type SubjectRow,
  selectHits,
  selectOldestOrphan,
  selectOrphans,
  selectSubjectInputs,
  selectSubjects,
  setSubjectTargets,
  settleSubject,
  touchSubject,
} from './sql/runtime.ts';
import { assertStorableText } from './text.ts';

export type SignalsConfig = Config['signals'];

export const FACT_TOPIC = 'signals.fact.updated.v1';
export const RECOMPUTE_QUEUE = 'signals.recompute';
export const ORPHAN_QUEUE = 'signals.orphan-attach';
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.stella.signals.callgraph-manifest+json';
const ENGINE_VERSION = 'stella.reachability/1';
const RELEASE = '0.1.0';
/** Orphans wait for their graph; the first retry comes soon, later ones back off through the queue. */
const ORPHAN_RETRY_SECONDS = 30;
/** Recently used graphs stay decoded; a few keep memory bounded even for million-edge graphs. */
const GRAPH_CACHE_SIZE = 8;
/**
 * Tries per subject when its inputs keep changing while it is computed: each try re-reads them. A
 * few absorb a batch or a targets change arriving mid-way; under a steady stream the change's own
 * queued recompute writes the fact instead.
 */
const RECOMPUTE_ATTEMPTS = 3;
/** Longest `?wait=` on the fact routes: well under the usual 60 s proxy and client read timeouts. */
export const MAX_FACT_WAIT_SECONDS = 30;
/**
 * Retry-After of a fact whose recompute is pending: the recompute worker polls its queue every 2 s
 * (pg-boss default) and a subject takes well under a second.
 */
const PENDING_RETRY_AFTER_SECONDS = 2;
/** Retry-After of a subject whose runtime facts wait for their callgraph: the orphan retry period. */
const ORPHAN_RETRY_AFTER_SECONDS = ORPHAN_RETRY_SECONDS;
/**
 * A waiting request re-reads the fact this often: recomputes in this process wake it at once, this
 * catches those of a worker in another process.
 */
const FACT_WAIT_POLL_MS = 500;

export interface SignalsDeps {
  db: Db;
  blobs: BlobStore;
  timeline: Timeline;
  signing: SigningKeyStore;
  config: SignalsConfig;
  clock: Clock;
  metrics: Registry;
  logger: Logger;
  queue?: JobQueue;
  /** Caps for JSON that signals parses itself (union-set files, wrapped graphs); the config's limits.json*. */
  jsonLimits?: JsonLimits;
}

const noop = () => {};
const CALLGRAPH_ROW_CACHE_SIZE = 1024;

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

export interface RuntimeIngestInput {
  /** The callgraph row when the caller resolved it already (saves a query per batch). */
  graph?: CallgraphRow;
  callgraphId?: string;
  graphHash?: string;
  subject: Subject;
  source?: string;
  analysisId?: string;
  ingestId?: string;
  /** A spooled NDJSON stream or an in-memory aggregate of a structured body with its canonical bytes. */
  batch: SpooledBatch | { aggregate: RuntimeAggregate; bytes: Buffer };
}

export interface RuntimeIngestResult {
  subjectKey: string;
  ingestId: string;
  callgraphId: string | null;
  graphHash: string;
  casUri: string;
  contentSha256: string;
  events: number;
  symbols: number;
  status: 'applied' | 'orphan';
  duplicate: boolean;
}

export interface RecomputeReport {
  subjects: {
    subjectKey: string;
    /** superseded: its inputs kept changing while computed; the recompute queued by the change writes the fact. */
    status: 'updated' | 'unchanged' | 'superseded';
    factVersion?: number;
    digest?: string;
  }[];
  durationMs: number;
}

/** A subject whose inputs were accepted but whose fact does not cover them yet (GET answers 202). */
export interface PendingFact {
  subjectKey: string;
  status: 'pending';
  /** recompute: queued or running; callgraph: its runtime facts wait for their graph to be ingested. */
  waitingFor: 'recompute' | 'callgraph';
  /** When the oldest input the fact does not cover yet was accepted. */
  since: string;
  retryAfterSeconds: number;
  /** The version of the older fact stored for the subject, when there is one. */
  factVersion: number | null;
  /** The graph the parked runtime facts name, when waiting for a callgraph. */
  graphHash?: string;
}

export type FactAnswer = { status: 'ready'; fact: FactRow } | PendingFact;

interface LoadedGraph {
  csr: CsrGraph;
  index: Map<string, number>;
  searches: { strict: BfsResult; loose: BfsResult };
}

/**
 * Callgraph ids are derived from (tenant, graphHash): the same graph gets the same id in every
 * database, so facts that name it are reproducible; the tenant in the input keeps ids of different
 * tenants unrelated, so an id reveals nothing about another tenant's graphs.
 */
export function callgraphIdOf(tenant: string, graphHash: string): string {
  const digest = Buffer.from(sha256Hex(`stella.callgraph-id\u0000${tenant}\u0000${graphHash}`), 'hex');
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return `cg-${out}`;
}

const INGEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Some runtime batches parked for a graph could not be attached; `attached` others were. */
class OrphansNotAttached extends Error {
  readonly attached: number;
  constructor(attached: number, message: string, cause: unknown) {
    super(message, { cause });
    this.attached = attached;
  }
}

export type Signals = ReturnType<typeof createSignals>;

export function createSignals(deps: SignalsDeps) {
  const { db, blobs, timeline, signing, config, clock, logger } = deps;
  const m = deps.metrics;
  const runtimeEvents = counter(m, 'stella_signals_runtime_events_total', 'Runtime fact events accepted (ingest rate)');
  const batchSize = histogram(
    m,
    'stella_signals_runtime_batch_events',
    'Events per accepted runtime batch',
    [],
    [1, 10, 100, 1000, 10000, 100000, 1000000],
  );
  const orphanTraces = counter(
    m,
    'stella_reachability_orphan_traces_total',
    'Runtime batches received for a graph hash that was not ingested yet (queued for retry)',
  );
  const recomputeSeconds = histogram(
    m,
    'stella_signals_recompute_seconds',
    'Recompute latency per subject',
    [],
    [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  const cacheRequests = counter(m, 'stella_signals_cache_requests_total', 'Graph cache and fact-input cache lookups', [
    'cache',
    'result',
  ]);
  const factStaleness = histogram(
    m,
    'stella_signals_fact_staleness_seconds',
    'Age of the newest runtime observation when a fact is computed',
    [],
    [1, 10, 60, 600, 3600, 21600, 86400, 604800],
  );
  const factsUpdated = counter(
    m,
    'stella_signals_facts_updated_total',
    'Reachability facts written (new fact_version)',
  );
  const factWaiters = createFactWaiters();
  gauge(
    m,
    'stella_signals_fact_waiters',
    'Requests waiting for a pending reachability fact (GET /signals/facts/{subjectKey}?wait=)',
    [],
    function () {
      this.set(factWaiters.count());
    },
  );

  const scoring: ScoringOptions = {
    weights: {
      entrypoint: config.weightEntrypoint,
      direct: config.weightDirect,
      runtime: config.weightRuntime,
      unknown: config.weightUnknown,
      unreachable: config.weightUnreachable,
    },
    reachableConfidence: config.reachableConfidence,
    unreachableConfidence: config.unreachableConfidence,
    runtimeBonus: config.runtimeBonus,
    minConfidence: config.minConfidence,
    maxConfidence: config.maxConfidence,
    unknownsPressureCeiling: config.unknownsPressureCeiling,
    runtimeAbsenceIsEvidence: config.runtimeAbsenceIsEvidence,
  };
  let overlay: SymbolOverlay | undefined;
  const getOverlay = () => {
    overlay ??= loadOverlay(config.symbolOverlayPath);
    return overlay;
  };

  const graphCache = new Map<string, Promise<LoadedGraph>>();

  const inTenant = <T>(tenant: string, fn: (tx: import('@stella/platform').Tx) => Promise<T>) =>
    db.transaction(fn, { tenant });

  // Callgraph rows are written once and never changed or deleted (the id is derived from the content),
  // so a row once read can be kept: every runtime batch names its callgraph, and looking it up cost a
  // transaction of its own per batch. Only rows that exist are kept; per tenant, bounded.
  const callgraphRows = new Map<string, CallgraphRow>();
  async function getCallgraph(tenant: string, idOrHash: string): Promise<CallgraphRow> {
    assertStorableText(idOrHash, 'callgraph id');
    const key = `${tenant}\u0000${idOrHash}`;
    const cached = callgraphRows.get(key);
    if (cached) return cached;
    const row = await inTenant(tenant, (tx) => selectCallgraph(tx, tenant, idOrHash));
    if (!row) throw new StellaError(SignalsErrors.callgraphNotFound, `callgraph ${idOrHash} not found`);
    callgraphRows.set(key, row);
    while (callgraphRows.size > CALLGRAPH_ROW_CACHE_SIZE) callgraphRows.delete(callgraphRows.keys().next().value!);
    return row;
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
    const loading = blobs.getBytes(row.csrUri).then((bytes) => {
      const csr = decodeCsr(bytes);
      return { csr, index: nodeIndex(csr), searches: { strict: bfs(csr, false), loose: bfs(csr, true) } };
    });
    rememberGraph(key, loading);
    return loading;
  }

  /**
   * Keeps a decoded graph, evicting the least recently used beyond GRAPH_CACHE_SIZE. A load that fails
   * (CAS unreadable for a while) is forgotten, so the next request reads the blob again instead of
   * getting the same failure until a restart.
   */
  function rememberGraph(key: string, loading: Promise<LoadedGraph>): void {
    loading.catch(() => {
      if (graphCache.get(key) === loading) graphCache.delete(key);
    });
    graphCache.set(key, loading);
    while (graphCache.size > GRAPH_CACHE_SIZE) graphCache.delete(graphCache.keys().next().value!);
  }

  /**
   * Stores the graph; a union set's facts_runtime.ndjson is ingested as a runtime batch of `subject`
   * when one is given (validated like any upload), and otherwise only counted as ignored.
   */
  async function ingestCallgraph(
    tenant: string,
    body: unknown,
    options: { analysisId?: string; subject?: Subject } = {},
  ): Promise<CallgraphIngestResult> {
    if (options.analysisId !== undefined) assertStorableText(options.analysisId, 'X-Analysis-Id');
    const parsed = parseCallgraphBody(body, deps.jsonLimits ?? DEFAULT_JSON_LIMITS);
    const facts = parsed.runtimeFacts;
    let unionBatch: { aggregate: RuntimeAggregate; bytes: Buffer } | undefined;
    const withSubject = options.subject && Object.keys(options.subject).length > 0 ? options.subject : undefined;
    if (facts.length > 0 && withSubject) {
      subjectKeyOf(withSubject);
      const aggregate = new RuntimeAggregate();
      const limits = {
        maxHitCount: config.maxHitCount,
        maxFutureSkewSeconds: config.maxFutureSkewSeconds,
        maxEvents: config.maxEventsPerBatch,
        now: clock.now(),
      };
      const events = facts.map((f) => ({ symbolId: f.symbolId, hitCount: f.hitCount }));
      for (const [i, event] of events.entries())
        addEvent(aggregate, event, `facts_runtime.ndjson row ${i + 1}`, limits);
      unionBatch = { aggregate, bytes: Buffer.from(`${events.map((e) => canonicalJson(e)).join('\n')}\n`, 'utf8') };
    }
    const result = await storeCallgraph(tenant, parsed, options.analysisId);
    if (!unionBatch) return facts.length > 0 ? { ...result, runtimeFactsIgnored: facts.length } : result;
    const graphRow = await getCallgraph(tenant, result.callgraphId);
    const runtime = await ingestRuntime(tenant, {
      graph: graphRow,
      subject: withSubject!,
      source: 'union-set',
      batch: unionBatch,
    });
    return { ...result, runtime };
  }

  async function storeCallgraph(
    tenant: string,
    parsed: ReturnType<typeof parseCallgraphBody>,
    analysisId: string | undefined,
  ): Promise<CallgraphIngestResult> {
    const options = { analysisId };
    const normalized = normalizeGraph(parsed, { maxNodes: config.maxGraphNodes, maxEdges: config.maxGraphEdges });
    const { graph, graphHash } = normalized;
    // These become columns; the graph itself goes to CAS only.
    for (const [what, value] of Object.entries(graph.metadata)) {
      if (typeof value === 'string') assertStorableText(value, `callgraph metadata ${what}`);
    }
    const existing = await inTenant(tenant, (tx) => selectCallgraph(tx, tenant, graphHash));
    if (existing) return { ...resultOf(existing), created: false, orphansAttached: 0 };

    const csr = toCsr(graph);
    for (const purl of csr.purls) assertStorableText(purl, 'callgraph node purl');
    // Blobs first, rows after: a crash in between leaves unreferenced blobs, never rows without blobs.
    const graphBlob = await blobs.put('reachability/graphs', normalized.bytes, { expectedDigest: graphHash });
    const csrBlob = await blobs.put('reachability/csr', encodeCsr(csr));
    const callgraphId = callgraphIdOf(tenant, graphHash);
    const signer = await signing.getSigner(tenant, 'signals-graph', 'ed25519');
    const manifest = {
      schema: 'stella.signals.callgraph-manifest.v1',
      graph_id: callgraphId,
      digest: graphHash,
      language: graph.metadata.language,
      component: graph.metadata.component,
      version: graph.metadata.version,
      source: parsed.format,
      nodeCount: graph.nodes.length,
      edgeCount: graph.edges.length,
      entrypointCount: graph.entrypoints.length,
      casUri: graphBlob.uri,
      csrUri: csrBlob.uri,
      created: clock.now().toISOString(),
      signer: signer.keyid,
    };
    const manifestBytes = Buffer.from(canonicalJson(manifest), 'utf8');
    const envelope = signer.signDsse(MANIFEST_PAYLOAD_TYPE, manifestBytes);
    const manifestBlob = await blobs.put('reachability/manifests', manifestBytes);
    const dsseBlob = await blobs.put('reachability/dsse', Buffer.from(canonicalJson(envelope), 'utf8'));
    const row = {
      tenant,
      callgraphId,
      graphHash,
      format: parsed.format,
      language: graph.metadata.language,
      component: graph.metadata.component,
      version: graph.metadata.version,
      nodeCount: graph.nodes.length,
      edgeCount: graph.edges.length,
      entrypointCount: graph.entrypoints.length,
      packages: csr.purls,
      casUri: graphBlob.uri,
      csrUri: csrBlob.uri,
      manifestUri: manifestBlob.uri,
      dsseUri: dsseBlob.uri,
      signerKeyid: signer.keyid,
      analysisId: options.analysisId ?? null,
    };
    const inserted = await inTenant(tenant, async (tx) => {
      if (!(await insertCallgraph(tx, row))) return undefined;
      await timeline.append(tx, tenant, {
        category: 'evidence',
        kind: 'signals.callgraph.ingested',
        details: {
          callgraphId,
          graphHash,
          casUri: graphBlob.uri,
          manifestUri: manifestBlob.uri,
          nodes: row.nodeCount,
          edges: row.edgeCount,
        },
      });
      return row;
    });
    if (!inserted) {
      // Another request stored the same graph first: answer with its id.
      const winner = await getCallgraph(tenant, graphHash);
      return { ...resultOf(winner), created: false, orphansAttached: 0 };
    }
    // Through rememberGraph, so ingesting many graphs keeps at most GRAPH_CACHE_SIZE of them decoded.
    rememberGraph(
      `${tenant}\u0000${graphHash}`,
      Promise.resolve({ csr, index: nodeIndex(csr), searches: { strict: bfs(csr, false), loose: bfs(csr, true) } }),
    );
    // The graph is stored whatever happens to the batches parked for it: a failure to attach them is
    // retried by the orphan job, not answered as a failed graph ingest (a retry of which would only
    // find the graph stored).
    const orphansAttached = await attachOrphans(tenant, graphHash).catch(async (error: unknown) => {
      logger.warn({ err: error, graphHash }, 'runtime batches parked for this graph were not all attached; retrying');
      await deps.queue
        ?.send(ORPHAN_QUEUE, { tenant, graphHash }, { startAfterSeconds: ORPHAN_RETRY_SECONDS, key: tenant })
        .catch((queueError: unknown) => logger.warn({ err: queueError }, 'orphan retry could not be queued'));
      return error instanceof OrphansNotAttached ? error.attached : 0;
    });
    return { ...resultOf({ ...row, createdAt: '' }), created: true, orphansAttached };
  }

  function resultOf(row: CallgraphRow): Omit<CallgraphIngestResult, 'created' | 'orphansAttached'> {
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

  async function getManifest(tenant: string, idOrHash: string) {
    const row = await getCallgraph(tenant, idOrHash);
    const manifest = JSON.parse((await blobs.getBytes(row.manifestUri)).toString('utf8')) as Record<string, unknown>;
    const dsse = JSON.parse((await blobs.getBytes(row.dsseUri)).toString('utf8')) as Record<string, unknown>;
    return { manifest, dsse, manifestUri: row.manifestUri, dsseUri: row.dsseUri };
  }

  /** How many of the given runtime symbols map onto graph nodes (`stella graph verify`). */
  async function coverage(tenant: string, idOrHash: string, symbols: readonly string[]) {
    const row = await getCallgraph(tenant, idOrHash);
    const { index } = await loadGraph(row);
    const distinct = [...new Set(symbols.map((s) => s.normalize('NFC')))].sort();
    const unmapped = distinct.filter((s) => !index.has(s));
    return {
      callgraphId: row.callgraphId,
      graphHash: row.graphHash,
      symbols: distinct.length,
      mapped: distinct.length - unmapped.length,
      unmapped: unmapped.length,
      ratio: distinct.length ? Math.round(((distinct.length - unmapped.length) / distinct.length) * 1e4) / 1e4 : 0,
      unmappedSample: unmapped.slice(0, 50),
    };
  }

  /** Resolves the graph a runtime upload refers to; a 404 for an unknown or foreign callgraph id. */
  async function resolveGraphFor(tenant: string, input: { callgraphId?: string; graphHash?: string }) {
    if (input.callgraphId) return getCallgraph(tenant, input.callgraphId);
    if (!input.graphHash) throw refuse('callgraphId is required');
    return inTenant(tenant, (tx) => selectCallgraph(tx, tenant, input.graphHash!));
  }

  async function ingestRuntime(tenant: string, input: RuntimeIngestInput): Promise<RuntimeIngestResult> {
    const subjectKey = subjectKeyOf(input.subject);
    for (const [what, value] of [
      ['graph hash', input.graphHash],
      ['source', input.source],
      ['X-Analysis-Id', input.analysisId],
    ] as const) {
      if (value !== undefined) assertStorableText(value, what);
    }
    const graph = input.graph ?? (await resolveGraphFor(tenant, input));
    const batch = input.batch;
    const spooled = 'body' in batch ? batch : undefined;
    const contentSha256 = spooled ? spooled.digest : `sha256:${sha256Hex((batch as { bytes: Buffer }).bytes)}`;
    const graphHash = graph?.graphHash ?? input.graphHash!;
    if (input.ingestId !== undefined && !INGEST_ID_RE.test(input.ingestId)) {
      throw refuse('X-Ingest-Id must be 1-128 characters of letters, digits, ".", "_", ":" or "-"');
    }
    const ingestId =
      input.ingestId ??
      `ing-${sha256Hex(`${tenant}\u0000${subjectKey}\u0000${graphHash}\u0000${contentSha256}`).slice(0, 32)}`;
    const aggregate = batch.aggregate;
    const source = input.source?.slice(0, 200) || 'runtime';

    // The blob is written (content-addressed, so a retried batch rewrites nothing) while the transaction
    // does its work; the transaction awaits it before the timeline append, so before COMMIT: a batch's
    // rows never commit before its blob is durable, and a failed write rolls them back. The address
    // follows from the digest of the stream. The ingest row's unique keys decide, inside the
    // transaction, whether this batch was seen before.
    const casUri = formatCasUri('reachability/runtime', contentSha256.slice('sha256:'.length));
    const status: 'applied' | 'orphan' = graph ? 'applied' : 'orphan';
    const row: Omit<IngestRow, 'receivedAt'> = {
      ingestId,
      subjectKey,
      callgraphId: graph?.callgraphId ?? null,
      graphHash,
      contentSha256,
      casUri,
      eventCount: aggregate.events,
      symbolCount: aggregate.symbols.size,
      source,
      analysisId: input.analysisId ?? null,
      subject: input.subject as Record<string, string>,
      status,
    };
    const loaded = graph ? await loadGraph(graph) : undefined;
    const symbols = aggregate.sorted();
    const putting = blobs.put('reachability/runtime', spooled ? spooled.body() : (batch as { bytes: Buffer }).bytes, {
      expectedDigest: contentSha256,
    });
    putting.catch(noop); // awaited by durable(); this only keeps a failure mid-transaction from going unhandled
    const durable = async () => {
      const stored = await putting;
      if (stored.uri !== casUri) throw new Error(`CAS stored ${stored.uri}, expected ${casUri}`);
    };
    const outcome = await inTenant(tenant, async (tx) => {
      const duplicate = async () => {
        await durable();
        return { duplicate: (await findIngest(tx, tenant, ingestId, subjectKey, contentSha256))! };
      };
      if (graph) {
        const applied = { ...row, callgraphId: graph.callgraphId, status: 'applied' as const };
        const version = await insertAppliedIngest(tx, tenant, applied, symbols, (s) => loaded!.index.has(s));
        if (version === undefined) return duplicate();
        await recordBatch(tx, tenant, applied, version, durable);
        return 'applied' as const;
      }
      if (!(await insertIngest(tx, tenant, row))) return duplicate();
      await durable();
      await timeline.append(tx, tenant, {
        category: 'runtime',
        kind: 'reach.runtime.orphaned',
        details: { ingestId, graphHash, casDigest: contentSha256, casUri, subjectKey, events: aggregate.events },
      });
      return 'orphan' as const;
    }).finally(() => putting.then(noop, noop)); // the caller disposes the spooled body once this returns
    if (typeof outcome === 'object') return resultFromRow(outcome.duplicate, true);
    if (outcome === 'orphan') {
      orphanTraces.inc();
      await deps.queue
        ?.send(ORPHAN_QUEUE, { tenant, graphHash }, { startAfterSeconds: ORPHAN_RETRY_SECONDS, key: tenant })
        .catch((error: unknown) => logger.warn({ err: error }, 'orphan retry could not be queued'));
    } else {
      runtimeEvents.inc(aggregate.events);
      batchSize.observe(aggregate.events);
      await queueRecompute(tenant, subjectKey);
    }
    return { ...resultFromRow({ ...row, receivedAt: '' }, false) };
  }

  /** Adds a batch's hits to the subject (same transaction as the ingest row) and records it on the timeline. */
  async function applyBatch(
    tx: import('@stella/platform').Tx,
    tenant: string,
    row: Omit<IngestRow, 'receivedAt'> & { callgraphId: string },
    symbols: [string, import('./runtime/events.ts').SymbolAggregate][],
    loaded: LoadedGraph,
  ): Promise<void> {
    const version = await touchSubject(tx, tenant, row.subjectKey, row.callgraphId, row.subject, true);
    await addRuntimeFacts(tx, tenant, row.subjectKey, symbols, (s) => loaded.index.has(s));
    await recordBatch(tx, tenant, row, version, async () => {});
  }

  /**
   * The outbox event, then (once `durable` says the CAS blob is on disk) the timeline event, as the
   * last statement: appending locks the tenant's timeline head until COMMIT and every batch of the
   * tenant queues on that lock, so nothing else runs while it is held.
   */
  async function recordBatch(
    tx: import('@stella/platform').Tx,
    tenant: string,
    row: Omit<IngestRow, 'receivedAt'> & { callgraphId: string },
    version: number,
    durable: () => Promise<void>,
  ): Promise<void> {
    await timeline.publish(
      tx,
      tenant,
      FACT_TOPIC,
      factEvent(tenant, row.subjectKey, 'runtime', version, row.contentSha256, 'application/vnd.stellaops.ndjson'),
    );
    await durable();
    await timeline.append(tx, tenant, {
      category: 'runtime',
      kind: 'reach.runtime.ingested',
      details: {
        ingestId: row.ingestId,
        casDigest: row.contentSha256,
        casUri: row.casUri,
        graphHash: row.graphHash,
        callgraphId: row.callgraphId,
        subjectKey: row.subjectKey,
        events: row.eventCount,
        symbols: row.symbolCount,
        source: row.source,
      },
    });
  }

  function resultFromRow(row: IngestRow | Omit<IngestRow, 'receivedAt'>, duplicate: boolean): RuntimeIngestResult {
    return {
      subjectKey: row.subjectKey,
      ingestId: row.ingestId,
      callgraphId: row.callgraphId,
      graphHash: row.graphHash ?? '',
      casUri: row.casUri,
      contentSha256: row.contentSha256,
      events: row.eventCount,
      symbols: row.symbolCount,
      status: row.status,
      duplicate,
    };
  }

  /** Attaches parked batches once their graph exists; returns how many were attached. */
  async function attachOrphans(tenant: string, graphHash: string): Promise<number> {
    const graph = await inTenant(tenant, (tx) => selectCallgraph(tx, tenant, graphHash));
    const orphans = await inTenant(tenant, (tx) => selectOrphans(tx, tenant, graphHash));
    if (!graph) {
      if (orphans.length > 0)
        throw new Error(`graph ${graphHash} not ingested yet; ${orphans.length} runtime batches wait`);
      return 0;
    }
    let attached = 0;
    const failed: { ingestId: string; error: unknown }[] = [];
    const loaded = await loadGraph(graph);
    // One batch that cannot be attached (its blob unreadable, or parked before text checks existed
    // and refused by the database now) does not keep the others parked; the failures are reported
    // together afterwards, so the orphan job retries them.
    for (const orphan of orphans) {
      try {
        const aggregate = await reaggregate(orphan);
        const done = await inTenant(tenant, async (tx) => {
          if (!(await markApplied(tx, tenant, orphan.ingestId, graph.callgraphId))) return false;
          await applyBatch(tx, tenant, { ...orphan, callgraphId: graph.callgraphId }, aggregate.sorted(), loaded);
          return true;
        });
        if (done) {
          attached++;
          runtimeEvents.inc(aggregate.events);
          await queueRecompute(tenant, orphan.subjectKey);
        }
      } catch (error) {
        failed.push({ ingestId: orphan.ingestId, error });
      }
    }
    if (failed.length > 0) {
      throw new OrphansNotAttached(
        attached,
        `${failed.length} of ${orphans.length} runtime batches for graph ${graphHash} could not be attached (first: ${failed[0]!.ingestId}: ${(failed[0]!.error as Error).message})`,
        failed[0]!.error,
      );
    }
    return attached;
  }

  /** A parked batch, re-read from CAS and aggregated again (it was validated on arrival). */
  async function reaggregate(orphan: IngestRow): Promise<RuntimeAggregate> {
    // As on arrival, a byte order mark before the first line is not part of the JSON.
    const text = (await blobs.getBytes(orphan.casUri)).toString('utf8').replace(/^\uFEFF/, '');
    const aggregate = new RuntimeAggregate();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const event = JSON.parse(line) as { symbolId: string; hitCount: number; observedAt?: string };
      assertStorableText(event.symbolId, `symbolId of runtime batch ${orphan.ingestId}`);
      aggregate.add(
        event.symbolId.normalize('NFC'),
        event.hitCount,
        event.observedAt ? new Date(event.observedAt).toISOString() : undefined,
      );
    }
    return aggregate;
  }

  async function queueRecompute(tenant: string, subjectKey: string): Promise<void> {
    await deps.queue
      ?.send(RECOMPUTE_QUEUE, { tenant, subjectKey }, { key: tenant, singletonKey: `${tenant}:${subjectKey}` })
      .catch((error: unknown) => logger.warn({ err: error }, 'recompute could not be queued'));
  }

  function factEvent(
    tenant: string,
    subjectKey: string,
    kind: string,
    version: number,
    digest: string,
    contentType: string,
  ) {
    return {
      event_id: newUuid(),
      emitted_at: clock.now().toISOString(),
      tenant,
      subject_key: subjectKey,
      fact_kind: kind,
      fact_version: version,
      digest,
      content_type: contentType,
      producer: 'stella.signals',
      source: { pipeline: 'signals', release: RELEASE },
      trace: { trace_id: newUlid(), span_id: sha256Hex(`${subjectKey}:${version}`).slice(0, 16) },
    };
  }

  async function defaultTargets(
    tenant: string,
    graph: LoadedGraph | undefined,
    packages: readonly string[],
  ): Promise<{ targets: Target[]; source: string }> {
    let advisories: AdvisorySymbols[] = [];
    const lookup = await aocVulnerableSymbols();
    if (lookup && packages.length > 0) advisories = await lookup(db, tenant, packages);
    const targets = resolveTargets(graph?.csr, advisories, getOverlay());
    return { targets, source: lookup ? 'advisories' : 'overlay' };
  }

  function explicitTargets(value: unknown): Target[] | undefined {
    if (!Array.isArray(value) || value.length === 0) return undefined;
    return value.map((t): Target => {
      if (typeof t === 'string') return { symbolId: t.normalize('NFC') };
      const o = t as { symbolId?: string; advisoryId?: string; package?: string };
      return {
        ...(o.symbolId ? { symbolId: o.symbolId.normalize('NFC') } : {}),
        ...(o.advisoryId ? { advisoryId: o.advisoryId } : {}),
        ...(o.package ? { package: o.package } : {}),
      };
    });
  }

  /**
   * Runs `write` in a transaction that holds the subject's row lock, only while the subject's inputs
   * are still the ones this recompute read; 'stale' otherwise (an ingest or a targets change came in
   * meanwhile, and a fact computed from the older inputs must not overwrite the newer one). Clears
   * the subject's pending state and wakes waiters of its fact once committed.
   */
  async function commitIfCurrent<T>(
    tenant: string,
    subject: SubjectRow,
    write: (tx: import('@stella/platform').Tx) => Promise<T>,
  ): Promise<{ value: T } | 'stale'> {
    const outcome = await inTenant(tenant, async (tx) => {
      const inputsVersion = await lockSubjectInputs(tx, tenant, subject.subjectKey);
      if (inputsVersion !== subject.inputsVersion) return 'stale' as const;
      const value = await write(tx);
      await settleSubject(tx, tenant, subject.subjectKey, subject.inputsVersion);
      return { value };
    });
    if (outcome !== 'stale') factWaiters.wake(tenant, subject.subjectKey);
    return outcome;
  }

  type SubjectReport = RecomputeReport['subjects'][number];

  /** One subject from the inputs in `subject`; 'stale' when they changed before its fact was committed. */
  async function recomputeSubject(
    tenant: string,
    subject: SubjectRow,
    force: boolean,
    defaultsByGraph: Map<string, Promise<{ targets: Target[]; source: string }>>,
  ): Promise<SubjectReport | 'stale'> {
    const t0 = performance.now();
    const graphRow = await inTenant(tenant, (tx) => selectCallgraph(tx, tenant, subject.callgraphId));
    let loaded: LoadedGraph | undefined;
    try {
      loaded = graphRow ? await loadGraph(graphRow) : undefined;
    } catch (error) {
      logger.warn(
        { err: error, callgraphId: subject.callgraphId },
        'graph blob unreadable; targets become unknown (graph_missing)',
      );
    }
    const hits = await inTenant(tenant, (tx) => selectHits(tx, tenant, subject.subjectKey));
    const explicit = explicitTargets(subject.targets);
    let targets: Target[];
    let targetsSource: string;
    if (explicit) {
      targets = explicit;
      targetsSource = 'request';
    } else {
      // Subjects of one graph share their default targets: resolve them once per run.
      const cacheKey = graphRow?.graphHash ?? '';
      let pending = defaultsByGraph.get(cacheKey);
      if (!pending) {
        pending = defaultTargets(tenant, loaded, graphRow?.packages ?? []);
        defaultsByGraph.set(cacheKey, pending);
      }
      const resolved = await pending;
      targets = resolved.targets;
      targetsSource = resolved.source;
      if (targets.length === 0) {
        // Nothing known to be vulnerable: report on what ran (spec §1.2 step 5).
        targets = [...hits.keys()].sort().map((symbolId) => ({ symbolId }));
        targetsSource = 'observed';
      }
    }
    const inputsDigest = canonicalDigest({
      engine: ENGINE_VERSION,
      graphHash: graphRow?.graphHash ?? null,
      graphLoaded: loaded !== undefined,
      runtimeVersion: subject.runtimeVersion,
      targets,
      scoring,
    });
    const current = await inTenant(tenant, (tx) => selectFact(tx, tenant, subject.subjectKey));
    const unchanged = async (fact: FactRow, digest: string): Promise<SubjectReport | 'stale'> => {
      // The stored fact is what these inputs give; it now covers this inputs version too.
      if (fact.inputsVersion !== subject.inputsVersion || fact.inputsDigest !== inputsDigest) {
        const settled = await commitIfCurrent(tenant, subject, (tx) =>
          touchFactInputs(tx, tenant, subject.subjectKey, inputsDigest, subject.inputsVersion),
        );
        if (settled === 'stale') return 'stale';
      }
      return { subjectKey: subject.subjectKey, status: 'unchanged', factVersion: fact.factVersion, digest };
    };
    if (current && current.inputsDigest === inputsDigest && !force) {
      cacheRequests.inc({ cache: 'fact', result: 'hit' });
      return unchanged(current, current.digest);
    }
    cacheRequests.inc({ cache: 'fact', result: 'miss' });
    const result = computeReachability(
      { csr: loaded?.csr, index: loaded?.index, targets, hits, ...(loaded ? { searches: loaded.searches } : {}) },
      scoring,
    );
    const summary = await inTenant(tenant, (tx) => runtimeSummary(tx, tenant, subject.subjectKey));
    const document = {
      schema: 'stella.signals.reachability-fact.v1',
      subjectKey: subject.subjectKey,
      subject: subject.subject,
      callgraphId: subject.callgraphId,
      graphHash: graphRow?.graphHash ?? null,
      states: result.states,
      score: result.score,
      unknownsCount: result.unknowns.length,
      unknowns: result.unknowns,
      runtimeFacts: {
        symbols: summary.symbols,
        totalHits: summary.totalHits,
        runtimeOnlySymbols: summary.runtimeOnly,
        lastSeen: summary.lastSeen,
      },
      provenance: {
        engine: ENGINE_VERSION,
        targetsSource,
        runtimeIngests: summary.ingests,
        runtimeVersion: subject.runtimeVersion,
        scoringDigest: canonicalDigest(scoring),
      },
    };
    const bytes = Buffer.from(canonicalJson(document), 'utf8');
    const digest = `sha256:${sha256Hex(bytes)}`;
    if (current && current.digest === digest && !force) return unchanged(current, digest);
    const stored = await blobs.put('reachability/facts', bytes, { expectedDigest: digest });
    const computedAt = clock.now().toISOString();
    const written = await commitIfCurrent(tenant, subject, async (tx) => {
      const v = await upsertFact(tx, tenant, {
        subjectKey: subject.subjectKey,
        callgraphId: subject.callgraphId,
        digest,
        casUri: stored.uri,
        inputsDigest,
        score: result.score,
        unknownsCount: result.unknowns.length,
        document,
        computedAt,
        inputsVersion: subject.inputsVersion,
      });
      if (v === undefined) {
        // Same content as stored (a concurrent recompute of the same inputs wrote it): no new version, no event.
        await touchFactInputs(tx, tenant, subject.subjectKey, inputsDigest, subject.inputsVersion);
        return undefined;
      }
      await replaceEngineUnknowns(tx, tenant, subject.subjectKey, subject.callgraphId, result.unknowns);
      await timeline.append(tx, tenant, {
        category: 'evidence',
        kind: 'signals.fact.updated',
        details: { subjectKey: subject.subjectKey, factVersion: v, digest, casUri: stored.uri, score: result.score },
      });
      await timeline.publish(
        tx,
        tenant,
        FACT_TOPIC,
        factEvent(tenant, subject.subjectKey, 'reachability', v, digest, 'application/json'),
      );
      return v;
    });
    if (written === 'stale') return 'stale';
    if (written.value === undefined) {
      return { subjectKey: subject.subjectKey, status: 'unchanged', factVersion: current?.factVersion ?? 1, digest };
    }
    factsUpdated.inc();
    recomputeSeconds.observe((performance.now() - t0) / 1000);
    if (summary.lastSeen)
      factStaleness.observe(Math.max(0, (clock.now().getTime() - Date.parse(summary.lastSeen)) / 1000));
    return { subjectKey: subject.subjectKey, status: 'updated', factVersion: written.value, digest };
  }

  /**
   * Recomputes the facts of one subject or of every subject whose graph, runtime facts or targets
   * changed. A subject whose inputs change while it is computed is computed again from the new ones
   * (up to RECOMPUTE_ATTEMPTS times, then reported `superseded`: the recompute queued by that change
   * writes its fact), so the fact a run reports is the one stored when it returns.
   */
  async function recompute(
    tenant: string,
    options: { subjectKey?: string; targets?: unknown[]; force?: boolean } = {},
  ): Promise<RecomputeReport> {
    const started = performance.now();
    if (options.subjectKey !== undefined) assertStorableText(options.subjectKey, 'subjectKey');
    if (options.targets !== undefined) {
      if (!options.subjectKey) throw new StellaError(Errors.validation, 'targets need a subjectKey');
      if (options.targets.length > config.maxTargets) {
        throw new StellaError(Errors.validation, `at most ${config.maxTargets} targets (signals.maxTargets)`);
      }
      const targets = requestTargets(options.targets);
      await inTenant(tenant, (tx) =>
        setSubjectTargets(tx, tenant, options.subjectKey!, targets.length ? targets : null),
      );
    }
    const subjects = await inTenant(tenant, (tx) => selectSubjects(tx, tenant, options.subjectKey));
    if (options.subjectKey && subjects.length === 0) {
      throw new StellaError(
        SignalsErrors.factNotFound,
        `no subject ${options.subjectKey}: ingest runtime facts for it first`,
      );
    }
    const report: RecomputeReport = { subjects: [], durationMs: 0 };
    const defaultsByGraph = new Map<string, Promise<{ targets: Target[]; source: string }>>();
    // Subjects of the same graph one after another, so the graph cache serves them all.
    const ordered = [...subjects].sort((a, b) =>
      a.callgraphId < b.callgraphId ? -1 : a.callgraphId > b.callgraphId ? 1 : a.subjectKey < b.subjectKey ? -1 : 1,
    );
    for (const first of ordered) {
      let subject: SubjectRow | undefined = first;
      for (let attempt = 1; subject; attempt++) {
        const outcome = await recomputeSubject(tenant, subject, options.force === true, defaultsByGraph);
        if (outcome !== 'stale') {
          report.subjects.push(outcome);
          break;
        }
        if (attempt >= RECOMPUTE_ATTEMPTS) {
          report.subjects.push({ subjectKey: subject.subjectKey, status: 'superseded' });
          break;
        }
        subject = (await inTenant(tenant, (tx) => selectSubjects(tx, tenant, first.subjectKey)))[0];
      }
    }
    report.subjects.sort((a, b) => (a.subjectKey < b.subjectKey ? -1 : a.subjectKey > b.subjectKey ? 1 : 0));
    report.durationMs = Math.round(performance.now() - started);
    return report;
  }

  /** Validates and stores the request's targets now, then leaves the computation to the queue. */
  async function queueRecomputeJob(
    tenant: string,
    body: { subjectKey?: string; targets?: unknown[]; force?: boolean },
  ): Promise<string | null> {
    if (body.subjectKey) {
      assertStorableText(body.subjectKey, 'subjectKey');
      const subjects = await inTenant(tenant, (tx) => selectSubjects(tx, tenant, body.subjectKey));
      if (subjects.length === 0) {
        throw new StellaError(
          SignalsErrors.factNotFound,
          `no subject ${body.subjectKey}: ingest runtime facts for it first`,
        );
      }
      if (body.targets !== undefined) {
        if (body.targets.length > config.maxTargets) {
          throw new StellaError(Errors.validation, `at most ${config.maxTargets} targets (signals.maxTargets)`);
        }
        const targets = requestTargets(body.targets);
        await inTenant(tenant, (tx) =>
          setSubjectTargets(tx, tenant, body.subjectKey!, targets.length ? targets : null),
        );
      }
    } else if (body.targets !== undefined) {
      throw new StellaError(Errors.validation, 'targets need a subjectKey');
    }
    const data = {
      tenant,
      ...(body.subjectKey ? { subjectKey: body.subjectKey } : {}),
      ...(body.force ? { force: true } : {}),
    };
    if (!deps.queue) {
      await recompute(tenant, data);
      return null;
    }
    return deps.queue.send(RECOMPUTE_QUEUE, data, { key: tenant });
  }

  async function getFact(tenant: string, subjectKey: string): Promise<FactRow> {
    assertStorableText(subjectKey, 'subjectKey');
    const fact = await inTenant(tenant, (tx) => selectFact(tx, tenant, subjectKey));
    if (!fact) throw new StellaError(SignalsErrors.factNotFound, `no reachability fact for subject ${subjectKey}`);
    return fact;
  }

  /** The stored fact, the subject's inputs and, for a subject not created yet, its oldest parked batch. */
  async function readFactState(tenant: string, subjectKey: string) {
    return inTenant(tenant, async (tx) => {
      const fact = await selectFact(tx, tenant, subjectKey);
      const inputs = await selectSubjectInputs(tx, tenant, subjectKey);
      const orphan = inputs ? undefined : await selectOldestOrphan(tx, tenant, subjectKey);
      return { fact, inputs, orphan };
    });
  }

  /**
   * The fact of a subject for GET /signals/facts: `ready` with the stored fact, or `pending` when its
   * runtime facts or graph were accepted and no fact covers them yet; 404 when nothing was ever
   * accepted for it. Without `waitSeconds` a stored fact is answered even while a newer recompute is
   * pending. With it, the answer waits (at most that long) for a fact covering every input accepted
   * before the call, and is `pending` if there is none by then.
   */
  async function readFact(
    tenant: string,
    subjectKey: string,
    options: { waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<FactAnswer> {
    assertStorableText(subjectKey, 'subjectKey');
    const waitSeconds = Math.min(Math.max(options.waitSeconds ?? 0, 0), MAX_FACT_WAIT_SECONDS);
    const waiter = waitSeconds > 0 ? factWaiters.subscribe(tenant, subjectKey) : undefined;
    try {
      let state = await readFactState(tenant, subjectKey);
      if (!state.fact && !state.inputs && !state.orphan) {
        throw new StellaError(
          SignalsErrors.factNotFound,
          `no reachability fact for subject ${subjectKey}, and no runtime facts or callgraph were accepted for it`,
        );
      }
      if (!waiter) return state.fact ? { status: 'ready', fact: state.fact } : pendingOf(subjectKey, state);
      // The inputs accepted before this call; later ones do not keep it waiting.
      const target = state.inputs?.inputsVersion;
      const covered = (s: typeof state): s is typeof state & { fact: FactRow } =>
        s.fact !== undefined && s.inputs !== undefined && s.fact.inputsVersion >= (target ?? s.inputs.inputsVersion);
      // A bounded wait on the wall clock (a timeout, not a recorded time, so not the injected clock).
      const deadline = Date.now() + waitSeconds * 1000;
      while (!covered(state)) {
        const left = deadline - Date.now();
        if (left <= 0 || options.signal?.aborted) break;
        await waiter.next(Math.min(left, FACT_WAIT_POLL_MS), options.signal);
        state = await readFactState(tenant, subjectKey);
      }
      return covered(state) ? { status: 'ready', fact: state.fact } : pendingOf(subjectKey, state);
    } finally {
      waiter?.close();
    }
  }

  function pendingOf(subjectKey: string, state: Awaited<ReturnType<typeof readFactState>>): PendingFact {
    const byCallgraph = !state.inputs && state.orphan;
    return {
      subjectKey,
      status: 'pending',
      waitingFor: byCallgraph ? 'callgraph' : 'recompute',
      since: state.inputs?.pendingSince ?? state.orphan?.receivedAt ?? clock.now().toISOString(),
      retryAfterSeconds: byCallgraph ? ORPHAN_RETRY_AFTER_SECONDS : PENDING_RETRY_AFTER_SECONDS,
      factVersion: state.fact?.factVersion ?? null,
      ...(byCallgraph ? { graphHash: state.orphan!.graphHash } : {}),
    };
  }

  async function reportUnknowns(
    tenant: string,
    input: { subjectKey: string; callgraphId?: string; unknowns: { symbolId: string; reason: string }[] },
  ): Promise<number> {
    assertStorableText(input.subjectKey, 'subjectKey');
    for (const [i, unknown] of input.unknowns.entries()) {
      assertStorableText(unknown.symbolId, `unknowns[${i}].symbolId`);
      assertStorableText(unknown.reason, `unknowns[${i}].reason`);
    }
    if (input.callgraphId) await getCallgraph(tenant, input.callgraphId);
    return inTenant(tenant, (tx) =>
      insertReportedUnknowns(tx, tenant, input.subjectKey, input.callgraphId ?? null, input.unknowns),
    );
  }

  async function listUnknowns(tenant: string, subjectKey: string) {
    assertStorableText(subjectKey, 'subjectKey');
    return inTenant(tenant, (tx) => selectUnknowns(tx, tenant, subjectKey));
  }

  return {
    ingestCallgraph,
    getCallgraph,
    getManifest,
    coverage,
    ingestRuntime,
    attachOrphans,
    recompute,
    queueRecomputeJob,
    getFact,
    readFact,
    reportUnknowns,
    listUnknowns,
    loadGraph,
    scoring,
  };
}
