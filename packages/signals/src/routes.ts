// Signals' HTTP face (spec §1.1, seeds 000 and 001). Runtime uploads are streamed: the NDJSON routes
// take the raw request stream and never buffer it; JSON routes use Fastify's parser.
import { canonicalJson, Errors, StellaError } from '@stella/core';
import type { Config, HttpApp, SigningKeyStore } from '@stella/platform';
import Type from 'typebox';
import { MAX_TARGET_TEXT } from './engine/targets.ts';
import { addEvent, RuntimeAggregate, refuse } from './runtime/events.ts';
import { readRuntimeStream, runtimeSpoolDir, runtimeStreamLimits } from './runtime/stream.ts';
import { pickSubject, type Subject, subjectKeyOf } from './runtime/subject.ts';
import { type FactAnswer, MAX_FACT_WAIT_SECONDS, type Signals } from './service.ts';
import { assertStorableText } from './text.ts';
import { toCycloneDx, toOpenVex } from './vex.ts';

const RAW_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/gzip',
  'application/octet-stream',
  'text/plain',
];
const RUNTIME_PREDICATE = 'https://stella.local/attestations/runtime-trace/v1';

const CallgraphIngestResponse = Type.Object({
  callgraphId: Type.String(),
  graphHash: Type.String({ description: 'sha256 of the canonical graph JSON.' }),
  format: Type.String(),
  nodeCount: Type.Integer(),
  edgeCount: Type.Integer(),
  entrypointCount: Type.Integer(),
  casUri: Type.String(),
  csrUri: Type.String(),
  manifestUri: Type.String(),
  dsseUri: Type.String(),
  created: Type.Boolean({ description: 'False when the same graph was stored before (its id is returned).' }),
  orphansAttached: Type.Integer({ description: 'Runtime batches that waited for this graph and were attached.' }),
  runtime: Type.Optional(
    Type.Object(
      {
        subjectKey: Type.String(),
        ingestId: Type.String(),
        casUri: Type.String(),
        events: Type.Integer(),
        duplicate: Type.Boolean(),
      },
      { description: "A union set's facts_runtime.ndjson, ingested for the subject in the query." },
    ),
  ),
  runtimeFactsIgnored: Type.Optional(
    Type.Integer({ description: 'facts_runtime.ndjson rows not ingested because the query named no subject.' }),
  ),
});

const RuntimeIngestResponse = Type.Object({
  subjectKey: Type.String(),
  SubjectKey: Type.String({ description: 'Same as subjectKey (seed 001 spelling).' }),
  ingestId: Type.String(),
  callgraphId: Type.Union([Type.String(), Type.Null()]),
  graphHash: Type.String(),
  casUri: Type.String({ description: 'cas://reachability/runtime/<sha256 of the decompressed NDJSON>' }),
  contentSha256: Type.String(),
  events: Type.Integer(),
  symbols: Type.Integer(),
  status: Type.Union([Type.Literal('applied'), Type.Literal('orphan')]),
  duplicate: Type.Boolean({ description: 'True when this batch was accepted before; nothing was counted twice.' }),
});

const SubjectQuery = {
  callgraphId: Type.Optional(Type.String()),
  scanId: Type.Optional(Type.String()),
  imageDigest: Type.Optional(Type.String()),
  component: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
};

const Json = Type.Object({}, { additionalProperties: true });

export interface SignalsRouteDeps {
  signals: Signals;
  signing: SigningKeyStore;
  config: Config;
}

export async function registerSignalsRoutes(app: HttpApp, deps: SignalsRouteDeps): Promise<void> {
  const { signals, config } = deps;
  const limits = () => runtimeStreamLimits(config, new Date());
  const spoolDir = runtimeSpoolDir(config);
  const tenantOf = (request: { tenant: string | undefined }) => request.tenant!;

  // The raw stream parsers live in their own scope so other rooms' parsers for these types are untouched.
  await app.register(async (scope) => {
    for (const type of RAW_TYPES) {
      if (scope.hasContentTypeParser(type)) scope.removeContentTypeParser(type);
      scope.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
    }
    // A refused upload's remainder is drained by the platform's onSend hook, so the client reads the answer.
    const streamed = async (
      request: import('fastify').FastifyRequest,
      target: { callgraphId?: string; graphHash?: string },
      subject: Subject,
      source: string | undefined,
    ) => {
      const tenant = tenantOf(request as never);
      if (!target.callgraphId && !target.graphHash) throw refuse('callgraphId is required');
      if (target.callgraphId) assertStorableText(target.callgraphId, 'callgraphId');
      if (source !== undefined) assertStorableText(source, 'source');
      subjectKeyOf(subject);
      const graph = target.callgraphId ? await signals.getCallgraph(tenant, target.callgraphId) : undefined;
      const declared = Number(request.headers['content-length'] ?? Number.NaN);
      if (Number.isFinite(declared) && declared > config.signals.maxUploadBytes) {
        throw new StellaError(
          Errors.bodyTooLarge,
          `runtime fact upload of ${declared} bytes exceeds ${config.signals.maxUploadBytes} bytes (signals.maxUploadBytes); split it into batches`,
        );
      }
      const body = request.body as import('node:stream').Readable | undefined;
      if (!body || typeof body.iterator !== 'function') throw refuse('runtime fact stream was empty');
      const encoding = String(request.headers['content-encoding'] ?? '').toLowerCase();
      if (encoding && encoding !== 'gzip' && encoding !== 'identity') {
        throw new StellaError(
          Errors.unsupportedMediaType,
          `Content-Encoding ${encoding.slice(0, 40)} is not supported; use gzip`,
        );
      }
      // Not destroyed when reading stops early: destroying the request resets the connection before the
      // client could read the refusal; the platform drains the remainder once the refusal is sent.
      const batch = await readRuntimeStream(body.iterator({ destroyOnReturn: false }), {
        gzip: encoding === 'gzip',
        limits: limits(),
        spoolDir,
      });
      try {
        return await signals.ingestRuntime(tenant, {
          ...target,
          ...(graph ? { graph } : {}),
          subject,
          ...(source ? { source } : {}),
          ...(header(request, 'x-analysis-id') ? { analysisId: header(request, 'x-analysis-id')!.slice(0, 200) } : {}),
          ...(header(request, 'x-ingest-id') ? { ingestId: header(request, 'x-ingest-id')! } : {}),
          batch,
        });
      } finally {
        await batch.dispose();
      }
    };

    scope.post(
      '/signals/runtime-facts/ndjson',
      {
        config: { auth: { scopes: ['signals:write'] } },
        schema: {
          tags: ['signals'],
          summary: 'Ingest runtime facts as NDJSON (one event per line; gzip accepted)',
          description:
            'Streams the body. callgraphId comes from the query or X-Callgraph-Id; the subject from scanId | imageDigest | component+version. A retried batch (same X-Ingest-Id or same content) is not counted twice.',
          querystring: Type.Object(SubjectQuery),
          response: { 202: RuntimeIngestResponse },
        },
      },
      async (request, reply) => {
        const q = request.query as Record<string, string | undefined>;
        const callgraphId = q.callgraphId || header(request, 'x-callgraph-id');
        const result = await streamed(request, callgraphId ? { callgraphId } : {}, pickSubject(q), q.source);
        return reply.code(202).send({ ...result, SubjectKey: result.subjectKey });
      },
    );

    scope.post(
      '/api/v1/runtime-facts',
      {
        config: { auth: { scopes: ['signals:write'] } },
        schema: {
          tags: ['signals'],
          summary: 'Ingest a runtime trace for a graph hash (seed 000 form)',
          description:
            'Body: NDJSON, gzip recognised by Content-Encoding or by its magic bytes. Answers Content-SHA256 (of the decompressed trace, its CAS key), X-Graph-Hash and X-Ingest-Id. A trace for a graph not ingested yet is parked and attached when the graph arrives.',
          querystring: Type.Object({ graph_hash: Type.Optional(Type.String()), ...SubjectQuery }),
          response: { 202: RuntimeIngestResponse },
        },
      },
      async (request, reply) => {
        const q = request.query as Record<string, string | undefined>;
        const graphHash = q.graph_hash?.trim();
        if (graphHash && !/^sha256:[0-9a-f]{64}$/.test(graphHash)) {
          throw refuse('graph_hash must be sha256:<64 lowercase hex>');
        }
        const subject = pickSubject(q);
        const target = q.callgraphId ? { callgraphId: q.callgraphId } : graphHash ? { graphHash } : {};
        const effective = Object.keys(subject).length ? subject : graphHash ? { scanId: graphHash } : subject;
        const result = await streamed(request, target, effective, q.source);
        reply
          .header('content-sha256', result.contentSha256.replace(/^sha256:/, ''))
          .header('x-graph-hash', result.graphHash)
          .header('x-ingest-id', result.ingestId);
        return reply.code(202).send({ ...result, SubjectKey: result.subjectKey });
      },
    );
  });

  app.get(
    '/signals/ping',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: { tags: ['signals'], summary: 'Liveness of the signals API (204)' },
    },
    async (_request, reply) => reply.code(204).send(),
  );

  app.get(
    '/signals/status',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'Signals configuration at a glance',
        response: {
          200: Type.Object({
            events: Type.String(),
            offlineStalenessBudgetSeconds: Type.Integer(),
            trustRootsConfigured: Type.Boolean(),
          }),
        },
      },
    },
    async () => ({
      events: config.nats.url ? 'nats-jetstream' : 'in-process',
      offlineStalenessBudgetSeconds: config.signals.offlineStalenessBudgetSeconds,
      trustRootsConfigured: config.signals.trustRootsPath !== '',
    }),
  );

  app.post(
    '/signals/callgraphs',
    {
      bodyLimit: config.signals.maxGraphBodyBytes,
      config: { auth: { scopes: ['signals:write'] }, idempotent: true },
      schema: {
        tags: ['signals'],
        summary: 'Ingest a callgraph (stella.callgraph.v1, richgraph-v1, union NDJSON set, Jelly JSON)',
        description:
          'The graph is normalised (NFC, sorted), validated, hashed (graphHash), stored in CAS as canonical JSON and as a CSR edge list, and described by a DSSE-signed manifest. The same graph again answers with the same callgraphId. A union set may carry facts_runtime.ndjson; with a subject in the query (scanId | imageDigest | component+version) those are ingested as a runtime batch.',
        querystring: Type.Object({
          scanId: Type.Optional(Type.String()),
          imageDigest: Type.Optional(Type.String()),
          component: Type.Optional(Type.String()),
          version: Type.Optional(Type.String()),
        }),
        body: Json,
        response: { 202: CallgraphIngestResponse },
      },
    },
    async (request, reply) => {
      const analysisId = header(request, 'x-analysis-id');
      const subject = pickSubject(request.query as Record<string, unknown>);
      const result = await signals.ingestCallgraph(tenantOf(request), request.body, {
        ...(analysisId ? { analysisId } : {}),
        subject,
      });
      reply.header('location', `/signals/callgraphs/${result.callgraphId}`);
      return reply.code(202).send(result);
    },
  );

  const CallgraphParams = Type.Object({ callgraphId: Type.String({ description: 'callgraph id, or its graphHash' }) });

  app.get(
    '/signals/callgraphs/:callgraphId',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'A stored callgraph (ids of another tenant answer 404)',
        params: CallgraphParams,
        response: {
          200: Type.Object({
            callgraphId: Type.String(),
            graphHash: Type.String(),
            format: Type.String(),
            language: Type.String(),
            component: Type.String(),
            version: Type.String(),
            nodeCount: Type.Integer(),
            edgeCount: Type.Integer(),
            entrypointCount: Type.Integer(),
            packages: Type.Array(Type.String()),
            casUri: Type.String(),
            csrUri: Type.String(),
            manifestUri: Type.String(),
            dsseUri: Type.String(),
            signerKeyid: Type.String(),
            analysisId: Type.Union([Type.String(), Type.Null()]),
            createdAt: Type.String(),
          }),
        },
      },
    },
    async (request) => signals.getCallgraph(tenantOf(request), (request.params as { callgraphId: string }).callgraphId),
  );

  app.get(
    '/signals/callgraphs/:callgraphId/manifest',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'The graph manifest and its DSSE envelope (signed by the tenant signals-graph key)',
        params: CallgraphParams,
        response: {
          200: Type.Object({ manifest: Json, dsse: Json, manifestUri: Type.String(), dsseUri: Type.String() }),
        },
      },
    },
    async (request) => signals.getManifest(tenantOf(request), (request.params as { callgraphId: string }).callgraphId),
  );

  app.post(
    '/signals/callgraphs/:callgraphId/coverage',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'How many runtime symbols map onto graph nodes (stella graph verify)',
        params: CallgraphParams,
        body: Type.Object({ symbols: Type.Array(Type.String(), { maxItems: 1_000_000 }) }),
        response: {
          200: Type.Object({
            callgraphId: Type.String(),
            graphHash: Type.String(),
            symbols: Type.Integer(),
            mapped: Type.Integer(),
            unmapped: Type.Integer(),
            ratio: Type.Number(),
            unmappedSample: Type.Array(Type.String()),
          }),
        },
      },
    },
    async (request) =>
      signals.coverage(
        tenantOf(request),
        (request.params as { callgraphId: string }).callgraphId,
        (request.body as { symbols: string[] }).symbols,
      ),
  );

  app.post(
    '/signals/runtime-facts',
    {
      config: { auth: { scopes: ['signals:write'] } },
      schema: {
        tags: ['signals'],
        summary: 'Ingest runtime facts (structured body: subject, callgraphId, events[])',
        body: Json,
        response: { 202: RuntimeIngestResponse },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const callgraphId =
        typeof body.callgraphId === 'string' && body.callgraphId ? body.callgraphId : header(request, 'x-callgraph-id');
      if (!callgraphId) throw refuse('callgraphId is required');
      assertStorableText(callgraphId, 'callgraphId');
      if (typeof body.source === 'string') assertStorableText(body.source, 'source');
      if (!Array.isArray(body.events) || body.events.length === 0) throw refuse('runtime fact stream was empty');
      const subject = pickSubject(
        typeof body.subject === 'object' && body.subject ? (body.subject as Record<string, unknown>) : {},
      );
      subjectKeyOf(subject);
      const aggregate = new RuntimeAggregate();
      const l = limits();
      for (const [i, event] of body.events.entries()) addEvent(aggregate, event, `events[${i}]`, l);
      // The CAS copy is the events as canonical NDJSON, so the same body always has the same digest.
      const bytes = Buffer.from(`${body.events.map((e) => canonicalJson(e)).join('\n')}\n`, 'utf8');
      const result = await signals.ingestRuntime(tenantOf(request), {
        callgraphId,
        subject,
        ...(typeof body.source === 'string' ? { source: body.source } : {}),
        ...(header(request, 'x-analysis-id') ? { analysisId: header(request, 'x-analysis-id')! } : {}),
        ...(header(request, 'x-ingest-id') ? { ingestId: header(request, 'x-ingest-id')! } : {}),
        batch: { aggregate, bytes },
      });
      return reply.code(202).send({ ...result, SubjectKey: result.subjectKey });
    },
  );

  app.post(
    '/signals/reachability/recompute',
    {
      config: { auth: { scopes: ['signals:admin'] } },
      schema: {
        tags: ['signals'],
        summary: 'Recompute reachability facts (only subjects whose graph, runtime facts or targets changed)',
        description:
          'Without subjectKey every changed subject of the tenant is recomputed. targets (symbol ids or {symbolId, advisoryId, package}) replace the default targets from advisories; an empty array restores them. wait=true runs it in the request; otherwise a job is queued (202). A fact is stored only from the current inputs of its subject: per subject the answer is updated, unchanged, or superseded (its inputs changed on every try; the recompute queued by that change writes the fact). With wait=true the fact reported is what GET /signals/facts returns next, unless another input arrived meanwhile.',
        body: Type.Object({
          subjectKey: Type.Optional(Type.String({ minLength: 1 })),
          targets: Type.Optional(
            Type.Array(
              Type.Union([
                Type.String({ minLength: 1, maxLength: MAX_TARGET_TEXT }),
                Type.Object(
                  {
                    symbolId: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_TARGET_TEXT })),
                    advisoryId: Type.Optional(Type.String({ maxLength: MAX_TARGET_TEXT })),
                    package: Type.Optional(Type.String({ maxLength: MAX_TARGET_TEXT })),
                  },
                  { additionalProperties: false },
                ),
              ]),
            ),
          ),
          force: Type.Optional(Type.Boolean()),
          wait: Type.Optional(Type.Boolean()),
        }),
        response: {
          200: Type.Object({
            subjects: Type.Array(
              Type.Object({
                subjectKey: Type.String(),
                status: Type.String(),
                factVersion: Type.Optional(Type.Integer()),
                digest: Type.Optional(Type.String()),
              }),
            ),
            durationMs: Type.Integer(),
          }),
          202: Type.Object({ queued: Type.Boolean(), jobId: Type.Union([Type.String(), Type.Null()]) }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { subjectKey?: string; targets?: unknown[]; force?: boolean; wait?: boolean };
      const tenant = tenantOf(request);
      if (body.wait) {
        return reply.code(200).send(
          await signals.recompute(tenant, {
            ...(body.subjectKey ? { subjectKey: body.subjectKey } : {}),
            ...(body.targets ? { targets: body.targets } : {}),
            ...(body.force ? { force: true } : {}),
          }),
        );
      }
      const jobId = await signals.queueRecomputeJob(tenant, body);
      return reply.code(202).send({ queued: true, jobId });
    },
  );

  const SubjectParams = Type.Object({ subjectKey: Type.String({ minLength: 1 }) });
  const Wait = Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_FACT_WAIT_SECONDS,
      description: `Seconds (at most ${MAX_FACT_WAIT_SECONDS}) to wait for a fact that covers every runtime batch, graph and targets change accepted for the subject before this request; 200 as soon as there is one, 202 if there is none by then. Without it a stored fact is answered even while a newer recompute is pending.`,
    }),
  );
  const PendingFactResponse = Type.Object(
    {
      subjectKey: Type.String(),
      status: Type.Literal('pending'),
      waitingFor: Type.Union([Type.Literal('recompute'), Type.Literal('callgraph')], {
        description:
          'recompute: queued or running (Retry-After 2). callgraph: the runtime facts name a graph hash not ingested yet; POST the graph (Retry-After 30).',
      }),
      since: Type.String({ description: 'When the oldest input not yet covered by a fact was accepted (RFC 3339).' }),
      retryAfterSeconds: Type.Integer({ description: 'Same as the Retry-After header.' }),
      factVersion: Type.Union([Type.Integer(), Type.Null()], {
        description: 'The older fact stored for the subject (GET without wait returns it), or null.',
      }),
      graphHash: Type.Optional(Type.String({ description: 'The graph the parked runtime facts wait for.' })),
    },
    {
      description:
        'Runtime facts or a graph were accepted for the subject, and no fact covers them yet. Retry after Retry-After seconds, or ask with ?wait=.',
      // Documented in the OpenAPI answer (a response header, not a body member).
      headers: {
        'retry-after': {
          type: 'integer',
          description:
            'Seconds to wait before asking again: 2 while the recompute is queued or running, 30 for a graph.',
        },
      },
    },
  );
  // Waiting requests answer at once (202) when the server shuts down, rather than holding it up.
  const waiting = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of waiting) controller.abort();
  });
  /** Reads the fact for a route: the answer, or the reply already sent as 202 for a pending subject. */
  const answerFact = async (
    request: import('fastify').FastifyRequest,
    reply: import('fastify').FastifyReply,
  ): Promise<Extract<FactAnswer, { status: 'ready' }> | undefined> => {
    const subjectKey = (request.params as { subjectKey: string }).subjectKey;
    const waitSeconds = (request.query as { wait?: number }).wait ?? 0;
    const controller = new AbortController();
    const gone = () => controller.abort();
    // The client hung up: stop waiting for it.
    reply.raw.once('close', gone);
    waiting.add(controller);
    let answer: FactAnswer;
    try {
      answer = await signals.readFact(tenantOf(request), subjectKey, { waitSeconds, signal: controller.signal });
    } finally {
      waiting.delete(controller);
      reply.raw.off('close', gone);
    }
    if (answer.status === 'ready') return answer;
    reply.header('retry-after', String(answer.retryAfterSeconds));
    reply.code(202).send(answer);
    return undefined;
  };

  app.get(
    '/signals/facts/:subjectKey',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'The reachability fact of a subject: per-target states, score, unknowns, provenance, fact_version',
        description:
          'ETag is the fact digest; If-None-Match with it answers 304. 202 with Retry-After while runtime facts or a graph accepted for the subject have no fact yet (the recompute is queued or running); ?wait=N waits up to N seconds for it. 404 only for a subject nothing was ever accepted for.',
        params: SubjectParams,
        querystring: Type.Object({ wait: Wait }),
        response: {
          200: Json,
          202: PendingFactResponse,
          304: Type.Null({ description: 'Not modified: the fact still has this digest.' }),
        },
      },
    },
    async (request, reply) => {
      const answer = await answerFact(request, reply);
      if (!answer) return reply;
      const { fact } = answer;
      const etag = `"${fact.digest}"`;
      reply.header('etag', etag);
      // The digest names the fact's content, so a client holding it can skip the body (spec §0 ETags).
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(null);
      return {
        ...fact.document,
        fact_version: fact.factVersion,
        digest: fact.digest,
        casUri: fact.casUri,
        computedAt: fact.computedAt,
      };
    },
  );

  app.get(
    '/signals/facts/:subjectKey/vex',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'The fact as VEX: OpenVEX 0.2.0 or CycloneDX 1.6 (witness path as evidence.callstack)',
        description: 'Pending subjects and ?wait= as for GET /signals/facts/{subjectKey}.',
        params: SubjectParams,
        querystring: Type.Object({
          format: Type.Optional(
            Type.Union([Type.Literal('openvex'), Type.Literal('cyclonedx')], { default: 'openvex' }),
          ),
          wait: Wait,
        }),
        response: { 200: Json, 202: PendingFactResponse },
      },
    },
    async (request, reply) => {
      const answer = await answerFact(request, reply);
      if (!answer) return reply;
      const { fact } = answer;
      const doc = fact.document as { states: never[]; subject?: Record<string, string> };
      const input = {
        subjectKey: fact.subjectKey,
        states: doc.states,
        factVersion: fact.factVersion,
        digest: fact.digest,
        computedAt: fact.computedAt,
        ...(doc.subject ? { subject: doc.subject } : {}),
      };
      const format = (request.query as { format?: string }).format ?? 'openvex';
      reply.type(format === 'cyclonedx' ? 'application/vnd.cyclonedx+json' : 'application/json');
      return format === 'cyclonedx' ? toCycloneDx(input) : toOpenVex(input);
    },
  );

  app.post(
    '/signals/unknowns',
    {
      config: { auth: { scopes: ['signals:write'] } },
      schema: {
        tags: ['signals'],
        summary: 'Report unknowns for a subject (symbols a producer could not resolve)',
        body: Type.Object({
          subject: Type.Optional(Json),
          subjectKey: Type.Optional(Type.String({ minLength: 1 })),
          callgraphId: Type.Optional(Type.String()),
          unknowns: Type.Array(
            Type.Object({
              symbolId: Type.String({ minLength: 1, maxLength: 4096 }),
              reason: Type.String({ minLength: 1, maxLength: 200 }),
            }),
            { minItems: 1, maxItems: 100_000 },
          ),
        }),
        response: { 202: Type.Object({ subjectKey: Type.String(), stored: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        subject?: Record<string, unknown>;
        subjectKey?: string;
        callgraphId?: string;
        unknowns: { symbolId: string; reason: string }[];
      };
      const subjectKey = body.subjectKey?.trim().toLowerCase() || subjectKeyOf(pickSubject(body.subject));
      const stored = await signals.reportUnknowns(tenantOf(request), {
        subjectKey,
        ...(body.callgraphId ? { callgraphId: body.callgraphId } : {}),
        unknowns: body.unknowns,
      });
      return reply.code(202).send({ subjectKey, stored });
    },
  );

  app.get(
    '/signals/unknowns/:subjectKey',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary:
          'Unknowns of a subject: engine reasons (no_symbol_data, symbol_not_in_graph, graph_missing, dynamic_edge_only) and reported ones',
        params: SubjectParams,
        response: {
          200: Type.Object({
            subjectKey: Type.String(),
            unknowns: Type.Array(
              Type.Object({
                symbolId: Type.String(),
                reason: Type.String(),
                origin: Type.String(),
                callgraphId: Type.Union([Type.String(), Type.Null()]),
                advisoryId: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
        },
      },
    },
    async (request) => {
      const subjectKey = (request.params as { subjectKey: string }).subjectKey;
      return { subjectKey, unknowns: await signals.listUnknowns(tenantOf(request), subjectKey) };
    },
  );

  app.get(
    '/signals/keys',
    {
      config: { auth: { scopes: ['signals:read'] } },
      schema: {
        tags: ['signals'],
        summary: 'Public keys of the tenant signing keys (put them in signals.trustRootsPath to verify offline)',
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object({
                keyid: Type.String(),
                purpose: Type.String(),
                algorithm: Type.String(),
                publicKeyPem: Type.String(),
                status: Type.String(),
                createdAt: Type.String(),
              }),
            ),
          }),
        },
      },
    },
    async (request) => ({ keys: await deps.signing.listPublicKeys(tenantOf(request)) }),
  );

  app.post(
    '/signals/attest/runtime',
    {
      config: { auth: { scopes: ['signals:write'] } },
      schema: {
        tags: ['signals'],
        summary: 'Sign a runtime trace digest: a DSSE in-toto statement by the tenant signals-runtime key',
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 500 }),
          sha256: Type.String({ pattern: '^(sha256:)?[0-9a-f]{64}$' }),
          graphHash: Type.Optional(Type.String({ pattern: '^sha256:[0-9a-f]{64}$' })),
        }),
        response: { 200: Json },
      },
    },
    async (request) => {
      const body = request.body as { name: string; sha256: string; graphHash?: string };
      const tenant = tenantOf(request);
      const signer = await deps.signing.getSigner(tenant, 'signals-runtime', 'ed25519');
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: body.name, digest: { sha256: body.sha256.replace(/^sha256:/, '') } }],
        predicateType: RUNTIME_PREDICATE,
        predicate: {
          tenant,
          ...(body.graphHash ? { graphHash: body.graphHash } : {}),
          signedAt: new Date().toISOString(),
        },
      };
      return signer.signDsse('application/vnd.in-toto+json', Buffer.from(canonicalJson(statement), 'utf8'));
    },
  );
}

function header(request: import('fastify').FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  const value = Array.isArray(v) ? v[0] : v;
  return value?.trim() ? value.trim() : undefined;
}
