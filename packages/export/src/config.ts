// The export section of the configuration: run concurrency and quotas, bundle timestamps,
// retention and the object and OCI distribution targets.
import { defineConfigSection } from '@stella/platform';
import Type, { type Static } from 'typebox';

/** A retention default for one profile kind, as a profile's own `spec.retention` is written. */
function retentionDefault(mode: 'days' | 'count', value: number, kind: string) {
  return Type.Object(
    {
      mode: Type.Union([Type.Literal('days'), Type.Literal('count')], {
        default: mode,
        description: `How ${kind} bundles expire when their profile sets no spec.retention: after \`value\` days, or beyond the newest \`value\` runs.`,
      }),
      value: Type.Integer({ default: value, minimum: 1, description: `Days or runs kept for ${kind} bundles.` }),
    },
    { default: {}, additionalProperties: false },
  );
}

export const exportConfig = defineConfigSection(
  'export',
  Type.Object(
    {
      maxActiveRuns: Type.Integer({
        default: 2,
        minimum: 1,
        maximum: 64,
        description: 'Export runs one tenant may have running at once (max_active_runs); further runs wait queued.',
      }),
      maxQueuedRuns: Type.Integer({
        default: 100,
        minimum: 1,
        description:
          'Export runs one tenant may have waiting (queued) at once; a submission beyond it is 429 ERR_EXPORT_003 with Retry-After, so a runaway scheduler cannot bury the workers.',
      }),
      runRetryLimit: Type.Integer({
        default: 2,
        minimum: 0,
        maximum: 10,
        description:
          'Retries of a run whose attempt failed unexpectedly or whose worker died, before its job is dead-lettered and the run fails (ERR_EXPORT_ABANDONED when the last attempt was killed). Coded export errors fail the run at once.',
      }),
      workerConcurrency: Type.Integer({
        default: 2,
        minimum: 1,
        maximum: 64,
        description: 'Export runs one worker process executes at once (all tenants).',
      }),
      quotaRunsPerDay: Type.Integer({
        default: 200,
        minimum: 0,
        description:
          'Default per-tenant quota of run submissions per UTC day; over it the API answers 429 ERR_EXPORT_QUOTA. A tenant override (`stella export quota set`) wins; 0 pauses the tenant.',
      }),
      heartbeatSeconds: Type.Integer({
        default: 30,
        minimum: 10,
        description:
          'A running export job reports every half of this; a worker silent for longer (killed) has its run retried.',
      }),
      keepaliveSeconds: Type.Integer({
        default: 15,
        minimum: 1,
        description: 'Seconds between `: keepalive` comments on the run events stream (SSE).',
      }),
      sourceDateEpoch: Type.Integer({
        default: -1,
        minimum: -1,
        description:
          'Fixed bundle timestamp (seconds since the epoch) for every tar entry and generatedAt. -1: the newest retrieved_at of the exported data. Env: SOURCE_DATE_EPOCH.',
      }),
      retentionCron: Type.String({
        default: '15 3 * * *',
        description: 'When the nightly retention pruner runs (cron, UTC).',
      }),
      retention: Type.Object(
        {
          mirror: retentionDefault('days', 30, 'mirror'),
          trivy: retentionDefault('count', 10, 'trivy'),
          json: retentionDefault('days', 30, 'json'),
        },
        {
          default: {},
          additionalProperties: false,
          description:
            "Retention of profiles without spec.retention, per kind (the runbook's defaults). The runbook's block `ExportCenter: {Retention: {Mirror: {Mode: days, Value: 30}, Trivy: {Mode: count, Value: 10}}}` is read as this.",
        },
      ),
      keepDeltas: Type.Integer({
        default: 5,
        minimum: 0,
        description: 'Deltas kept per tenant and profile besides the latest full bundle, whatever the retention.',
      }),
      stagingDir: Type.String({
        default: '',
        description: 'Where workers assemble bundles before they are stored: empty for $STELLA_HOME/export-staging.',
      }),
      objectStore: Type.Object(
        {
          url: Type.String({
            default: '',
            description:
              'Bucket for the `object` distribution driver (s3://bucket/prefix). Empty: profiles with `object` fail with errorCode=distribution.',
          }),
          endpoint: Type.String({ default: '', description: 'S3-compatible endpoint of that bucket.' }),
          region: Type.String({ default: 'us-east-1', description: 'S3 region of that bucket.' }),
          accessKeyId: Type.String({ default: '', description: 'Access key id for that bucket.' }),
          secretAccessKey: Type.String({ default: '', description: 'Secret key for that bucket. Never logged.' }),
        },
        { default: {}, additionalProperties: false },
      ),
      oci: Type.Object(
        {
          registry: Type.String({
            default: '',
            description:
              'Registry for the `oci` distribution driver (https://host[:port], or http:// for a plain-HTTP registry on a trusted network). Empty: profiles with `oci` fail with errorCode=distribution.',
          }),
          repositoryPrefix: Type.String({
            default: 'stella/exports',
            description: 'Repository path prefix; bundles are pushed to <prefix>/<tenant>/<profile>:<exportId>.',
          }),
          username: Type.String({ default: '', description: 'Registry user (basic or token auth).' }),
          password: Type.String({ default: '', description: 'Registry password or token. Never logged.' }),
        },
        { default: {}, additionalProperties: false },
      ),
      mirror: Type.Object(
        {
          signPrivateKey: Type.String({
            default: '',
            description:
              "Ed25519 private key (base64 of its PEM, as `openssl genpkey -algorithm ed25519 | base64 -w0` prints) that signs mirror bundles' DSSE envelopes, TUF metadata and time anchor. Empty: the tenant's platform key of purpose `mirror`, made on first use. Env: MIRROR_SIGN_KEY_B64. Never logged.",
          }),
          requireProdSigning: Type.Boolean({
            default: false,
            description:
              'Refuse to sign a mirror bundle with a key stella generated: without signPrivateKey a mirror run fails with ERR_EXPORT_005 (errorCode=signing). Env: REQUIRE_PROD_SIGNING=1.',
          }),
          tufExpiryDays: Type.Integer({
            default: 365,
            minimum: 1,
            maximum: 3650,
            description:
              "A mirror bundle's TUF metadata expires this many days after its generatedAt (data time, so a replay gives the same bytes).",
          }),
          stalenessBudgetSeconds: Type.Integer({
            default: 2_592_000,
            minimum: 60,
            description:
              '`stella offline import` and `stella mirror verify` refuse a bundle whose time anchor (the newest upstream fetch it holds) is older than this (default 30 days); `--staleness-budget` overrides it per command.',
          }),
        },
        { default: {}, additionalProperties: false },
      ),
    },
    { default: {}, additionalProperties: false },
  ),
  {
    SOURCE_DATE_EPOCH: 'sourceDateEpoch',
    MIRROR_SIGN_KEY_B64: 'mirror.signPrivateKey',
    REQUIRE_PROD_SIGNING: 'mirror.requireProdSigning',
  },
  // Runbook §5.2 writes retention as the .NET service's configuration; stella.yaml takes it as written.
  { 'ExportCenter.Retention': 'retention' },
);

export type ExportConfig = Static<typeof exportConfig.schema>;

declare module '@stella/platform' {
  interface RoomConfig {
    export: ExportConfig;
  }
}
