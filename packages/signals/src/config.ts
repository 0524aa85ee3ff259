// The signals section of the configuration: upload and graph caps, scoring weights, offline
// ingest trust and the fact-event delivery budget. Loaded by platform's one loader (see
// platform/src/config/section.ts); docs/config.md lists it.
import { defineConfigSection } from '@stella/platform';
import Type, { type Static } from 'typebox';

const MiB = 1024 * 1024;

export const signalsConfig = defineConfigSection(
  'signals',
  Type.Object(
    {
      maxUploadBytes: Type.Integer({
        default: 1024 * MiB,
        minimum: 1024,
        description: 'Largest runtime-facts upload as sent (compressed; streamed, never held in memory); 413 above.',
      }),
      maxGraphBodyBytes: Type.Integer({
        default: 256 * MiB,
        minimum: 1024,
        description:
          'Largest callgraph JSON body (parsed in memory, several times its size while normalising); 413 above.',
      }),
      maxDecompressedBytes: Type.Integer({
        default: 256 * MiB,
        minimum: 1024,
        description: 'Largest decompressed runtime-facts stream (gzip bomb guard); 413 above.',
      }),
      maxLineBytes: Type.Integer({ default: 64 * 1024, minimum: 256, description: 'Largest NDJSON event line.' }),
      maxLines: Type.Integer({
        default: 1_000_000,
        minimum: 1,
        description:
          'Most lines in one runtime-facts upload, blank lines included (counted while streaming, so a body of bare newlines is refused early); 413 above.',
      }),
      maxEventsPerBatch: Type.Integer({
        default: 1_000_000,
        minimum: 1,
        description: 'Most runtime events in one upload.',
      }),
      maxHitCount: Type.Integer({
        default: 1_000_000_000,
        minimum: 1,
        description: 'Largest hitCount accepted on one event.',
      }),
      maxFutureSkewSeconds: Type.Integer({
        default: 300,
        minimum: 0,
        description: 'How far in the future an event observedAt may lie before the batch is refused.',
      }),
      maxGraphNodes: Type.Integer({ default: 5_000_000, minimum: 1, description: 'Most nodes in one callgraph.' }),
      maxGraphEdges: Type.Integer({ default: 20_000_000, minimum: 1, description: 'Most edges in one callgraph.' }),
      maxTargets: Type.Integer({ default: 100_000, minimum: 1, description: 'Most target symbols per subject.' }),
      weightEntrypoint: Type.Number({
        default: 1,
        minimum: 0,
        maximum: 1,
        description: 'Bucket weight: entrypoint.',
      }),
      weightDirect: Type.Number({ default: 0.85, minimum: 0, maximum: 1, description: 'Bucket weight: direct.' }),
      weightRuntime: Type.Number({ default: 0.45, minimum: 0, maximum: 1, description: 'Bucket weight: runtime.' }),
      weightUnknown: Type.Number({ default: 0.5, minimum: 0, maximum: 1, description: 'Bucket weight: unknown.' }),
      weightUnreachable: Type.Number({
        default: 0,
        minimum: 0,
        maximum: 1,
        description: 'Bucket weight: unreachable.',
      }),
      reachableConfidence: Type.Number({
        default: 0.75,
        minimum: 0,
        maximum: 1,
        description: 'Confidence of a static path.',
      }),
      unreachableConfidence: Type.Number({
        default: 0.25,
        minimum: 0,
        maximum: 1,
        description: 'Confidence when no path exists.',
      }),
      runtimeBonus: Type.Number({
        default: 0.15,
        minimum: 0,
        maximum: 1,
        description: 'Added when a runtime hit lies on the path.',
      }),
      minConfidence: Type.Number({
        default: 0.05,
        minimum: 0,
        maximum: 1,
        description: 'Lower clamp of confidence.',
      }),
      maxConfidence: Type.Number({
        default: 0.99,
        minimum: 0,
        maximum: 1,
        description: 'Upper clamp of confidence.',
      }),
      unknownsPressureCeiling: Type.Number({
        default: 0.35,
        minimum: 0,
        maximum: 1,
        description: 'Most the unknowns share may lower a fact score (score = mean x (1 - pressure)).',
      }),
      runtimeAbsenceIsEvidence: Type.Boolean({
        default: false,
        description:
          'Treat a target with no hits as RuntimeUnobserved when the subject has runtime facts (static reachable + unobserved becomes Contested).',
      }),
      offlineStalenessBudgetSeconds: Type.Integer({
        default: 7 * 24 * 3600,
        minimum: 0,
        description: 'Oldest time anchor the offline runtime ingest accepts (reported as staleness_seconds).',
      }),
      trustRootsPath: Type.String({
        default: '',
        description: 'File or directory of PEM public keys trusted for runtime DSSE bundles (offline verification).',
      }),
      symbolOverlayPath: Type.String({
        default: '',
        description: 'JSON file mapping advisory id to vulnerable symbols or glob patterns (operator overlay).',
      }),
      eventMaxAttempts: Type.Integer({
        default: 8,
        minimum: 1,
        description: 'Delivery attempts of a fact event to NATS before it goes to signals.fact.updated.dlq.',
      }),
    },
    { default: {}, additionalProperties: false },
  ),
);

export type SignalsConfig = Static<typeof signalsConfig.schema>;

declare module '@stella/platform' {
  interface RoomConfig {
    signals: SignalsConfig;
  }
}
