// Runtime uploads as they arrive over HTTP: a streamed NDJSON body (optionally gzip), never buffered,
// or a structured body with an events array. Each is checked at the door (target, subject, size,
// encoding), read into a validated batch and handed to runtime ingest; a spooled body is disposed of
// whatever happens.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { type Clock, Errors, StellaError } from '@stella/core';
import type { Config } from '@stella/platform';
import type { CallgraphRow } from '../sql/callgraphs.ts';
import { assertStorableText } from '../text.ts';
import { aggregateEvents, refuse } from './events.ts';
import type { RuntimeIngestInput, RuntimeIngestResult } from './ingest.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from './stream.ts';
import { pickSubject, type Subject, subjectKeyOf } from './subject.ts';

/** The request headers an upload reads, trimmed; an empty header is absent. */
export interface UploadHeaders {
  contentLength?: string;
  contentEncoding?: string;
  callgraphId?: string;
  analysisId?: string;
  ingestId?: string;
}

/** The query of the NDJSON routes: the target graph, the subject and the batch's source. */
export interface UploadQuery {
  callgraphId?: string;
  scanId?: string;
  imageDigest?: string;
  component?: string;
  version?: string;
  source?: string;
  /** Seed 000's form (POST /api/v1/runtime-facts): the graph by hash. */
  graph_hash?: string;
}

type GraphTarget = { callgraphId?: string; graphHash?: string };

const isReadable = (value: unknown): value is Readable =>
  typeof value === 'object' && value !== null && typeof (value as Readable).iterator === 'function';

/** What uploads need: the service to hand batches to, and the server's config (caps, spool) and clock. */
export interface UploadContext {
  signals: {
    ingestRuntime(tenant: string, input: RuntimeIngestInput): Promise<RuntimeIngestResult>;
    getCallgraph(tenant: string, idOrHash: string): Promise<CallgraphRow>;
  };
  config: Config;
  clock: Clock;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** POST /signals/runtime-facts/ndjson: the graph by id (query or X-Callgraph-Id). */
export function ingestNdjson(
  uploads: UploadContext,
  tenant: string,
  query: UploadQuery,
  body: unknown,
  headers: UploadHeaders,
) {
  const callgraphId = query.callgraphId || headers.callgraphId;
  return ingestStream(
    uploads,
    tenant,
    callgraphId ? { callgraphId } : {},
    pickSubject(query),
    query.source,
    body,
    headers,
  );
}

/** POST /api/v1/runtime-facts: the graph by id or by hash; without a subject the hash is the scan. */
export function ingestTrace(
  uploads: UploadContext,
  tenant: string,
  query: UploadQuery,
  body: unknown,
  headers: UploadHeaders,
) {
  const graphHash = query.graph_hash?.trim();
  if (graphHash && !/^sha256:[0-9a-f]{64}$/.test(graphHash)) {
    throw refuse('graph_hash must be sha256:<64 lowercase hex>');
  }
  const subject = pickSubject(query);
  const target = query.callgraphId ? { callgraphId: query.callgraphId } : graphHash ? { graphHash } : {};
  const effective = Object.keys(subject).length ? subject : graphHash ? { scanId: graphHash } : subject;
  return ingestStream(uploads, tenant, target, effective, query.source, body, headers);
}

/** A streamed upload's result, with the digest of the body exactly as it was sent (gzip or not). */
export type StreamIngestResult = RuntimeIngestResult & { uploadSha256: string };

async function ingestStream(
  uploads: UploadContext,
  tenant: string,
  target: GraphTarget,
  subject: Subject,
  source: string | undefined,
  body: unknown,
  headers: UploadHeaders,
): Promise<StreamIngestResult> {
  const { signals, config, clock } = uploads;
  const { callgraphId } = target;
  if (!callgraphId && !target.graphHash) throw refuse('callgraphId is required');
  if (callgraphId) assertStorableText(callgraphId, 'callgraphId');
  if (source !== undefined) assertStorableText(source, 'source');
  subjectKeyOf(subject);
  const graph = callgraphId ? await signals.getCallgraph(tenant, callgraphId) : undefined;
  const declared = Number(headers.contentLength ?? Number.NaN);
  if (Number.isFinite(declared) && declared > config.signals.maxUploadBytes) {
    throw new StellaError(
      Errors.bodyTooLarge,
      `runtime fact upload of ${declared} bytes exceeds ${config.signals.maxUploadBytes} bytes (signals.maxUploadBytes); split it into batches`,
    );
  }
  if (!isReadable(body)) throw refuse('runtime fact stream was empty');
  const encoding = (headers.contentEncoding ?? '').toLowerCase();
  if (encoding && encoding !== 'gzip' && encoding !== 'identity') {
    throw new StellaError(
      Errors.unsupportedMediaType,
      `Content-Encoding ${encoding.slice(0, 40)} is not supported; use gzip`,
    );
  }
  // Not destroyed when reading stops early: destroying the request resets the connection before the
  // client could read the refusal; the platform drains the remainder once the refusal is sent.
  // Seed 000 §2: the operator compares `sha256sum trace.ndjson.gz` with Content-SHA256, so the bytes
  // as uploaded are hashed on the way in, beside the decoded trace's digest (its CAS key).
  const uploaded = createHash('sha256');
  async function* hashed(source: AsyncIterable<Uint8Array>) {
    for await (const chunk of source) {
      uploaded.update(chunk);
      yield chunk;
    }
  }
  const batch = await readRuntimeStream(hashed(body.iterator({ destroyOnReturn: false })), {
    gzip: encoding === 'gzip',
    limits: runtimeStreamLimits(config, clock.now()),
    spoolDir: runtimeSpoolDir(config),
  });
  try {
    const result = await signals.ingestRuntime(tenant, {
      ...target,
      ...(graph ? { graph } : {}),
      subject,
      ...(source ? { source } : {}),
      ...(headers.analysisId ? { analysisId: headers.analysisId.slice(0, 200) } : {}),
      ...(headers.ingestId ? { ingestId: headers.ingestId } : {}),
      batch,
    });
    return { ...result, uploadSha256: `sha256:${uploaded.digest('hex')}` };
  } finally {
    await batch.dispose();
  }
}

/** POST /signals/runtime-facts: `{callgraphId, subject, source, events[]}`, the graph also by X-Callgraph-Id. */
export async function ingestEvents(
  uploads: UploadContext,
  tenant: string,
  value: unknown,
  headers: UploadHeaders,
): Promise<RuntimeIngestResult> {
  const { signals, config, clock } = uploads;
  const body = isRecord(value) ? value : {};
  const callgraphId = typeof body.callgraphId === 'string' && body.callgraphId ? body.callgraphId : headers.callgraphId;
  if (!callgraphId) throw refuse('callgraphId is required');
  assertStorableText(callgraphId, 'callgraphId');
  if (typeof body.source === 'string') assertStorableText(body.source, 'source');
  if (!Array.isArray(body.events) || body.events.length === 0) throw refuse('runtime fact stream was empty');
  const subject = pickSubject(isRecord(body.subject) ? body.subject : {});
  subjectKeyOf(subject);
  const batch = aggregateEvents(body.events, (i) => `events[${i}]`, runtimeStreamLimits(config, clock.now()));
  return signals.ingestRuntime(tenant, {
    callgraphId,
    subject,
    ...(typeof body.source === 'string' ? { source: body.source } : {}),
    ...(headers.analysisId ? { analysisId: headers.analysisId } : {}),
    ...(headers.ingestId ? { ingestId: headers.ingestId } : {}),
    batch,
  });
}
