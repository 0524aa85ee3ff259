// TypeBox schemas shared by signals routes: they type the handlers and are the OpenAPI document.
import Type from 'typebox';
import { MAX_FACT_WAIT_SECONDS } from '../facts/read.ts';

export const tags = ['signals'];

export const Json = Type.Object({}, { additionalProperties: true });

export const CallgraphParams = Type.Object({
  callgraphId: Type.String({ description: 'callgraph id, or its graphHash' }),
});

export const SubjectParams = Type.Object({ subjectKey: Type.String({ minLength: 1 }) });

export const SubjectQuery = {
  callgraphId: Type.Optional(Type.String()),
  scanId: Type.Optional(Type.String()),
  imageDigest: Type.Optional(Type.String()),
  component: Type.Optional(Type.String()),
  version: Type.Optional(Type.String()),
  source: Type.Optional(Type.String()),
};

export const RuntimeIngestResponse = Type.Object({
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

export const Wait = Type.Optional(
  Type.Integer({
    minimum: 0,
    maximum: MAX_FACT_WAIT_SECONDS,
    description: `Seconds (at most ${MAX_FACT_WAIT_SECONDS}) to wait for a fact that covers every runtime batch, graph and targets change accepted for the subject before this request; 200 as soon as there is one, 202 if there is none by then. Without it a stored fact is answered even while a newer recompute is pending.`,
  }),
);

export const PendingFactResponse = Type.Object(
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
        description: 'Seconds to wait before asking again: 2 while the recompute is queued or running, 30 for a graph.',
      },
    },
  },
);
