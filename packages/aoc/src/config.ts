// The aoc section of the configuration: the write guard switches, batch size and per-vendor
// sources. The seeds' AOC_* environment names are this section's aliases.
import { defineConfigSection } from '@stella/platform';
import Type, { type Static } from 'typebox';

const AocSourceConfig = Type.Object(
  {
    signature: Type.Optional(
      Type.Union([Type.Literal('require'), Type.Literal('record'), Type.Literal('ignore')], {
        default: 'record',
        description:
          'require: refuse documents without a valid upstream signature (ERR_AOC_005); record: store the result; ignore: do not verify.',
      }),
    ),
    keys: Type.Optional(
      Type.Array(Type.String(), {
        default: [],
        description: 'Trusted keys: paths to armored OpenPGP public keys (CSAF .asc) or PEM public keys (DSSE).',
      }),
    ),
    kind: Type.Optional(
      Type.Union([Type.Literal('auto'), Type.Literal('advisory'), Type.Literal('vex')], {
        default: 'auto',
        description: 'Which raw store the source writes to; auto decides per document format.',
      }),
    ),
    input: Type.Optional(
      Type.String({
        default: '',
        description:
          'Scheduled connector input: a directory, an OSV zip, a CSAF provider-metadata.json or an HTTP(S) base URL. Empty: no schedule.',
      }),
    ),
    schedule: Type.Optional(
      Type.String({ default: '0 * * * *', description: 'Cron expression for the scheduled connector.' }),
    ),
    tenant: Type.Optional(
      Type.String({ default: 'default', description: 'Tenant the scheduled connector writes for.' }),
    ),
  },
  { additionalProperties: false },
);

export const aocConfig = defineConfigSection(
  'aoc',
  Type.Object(
    {
      guardEnabled: Type.Boolean({
        default: true,
        description:
          'Run the AOC write guard in code before every write (the database constraints hold regardless). Set false only for a controlled rollback. Env: AOC_GUARD_ENABLED.',
      }),
      allowSupersedesRetrofit: Type.Boolean({
        default: false,
        description:
          'At start-up, link rows written without `supersedes` (imported by SQL from an older store) into their chains. Remove after cutover. Env: AOC_ALLOW_SUPERSEDES_RETROFIT.',
      }),
      metricsEnabled: Type.Boolean({
        default: true,
        description:
          'Emit ingestion_write_total, aoc_violation_total and the other AOC metrics. Env: AOC_METRICS_ENABLED.',
      }),
      batchSize: Type.Integer({
        default: 200,
        minimum: 1,
        maximum: 5000,
        description: 'Documents written per transaction by connectors and NDJSON batches.',
      }),
      sources: Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$' }), AocSourceConfig, {
        default: {},
        description: 'Per-vendor source settings (file only): signature policy, trusted keys and scheduled connectors.',
      }),
    },
    { default: {}, additionalProperties: false },
  ),
  {
    AOC_GUARD_ENABLED: 'guardEnabled',
    AOC_ALLOW_SUPERSEDES_RETROFIT: 'allowSupersedesRetrofit',
    AOC_METRICS_ENABLED: 'metricsEnabled',
  },
);

export type AocConfig = Static<typeof aocConfig.schema>;
export type AocSourceConfig = Static<typeof AocSourceConfig>;

declare module '@stella/platform' {
  interface RoomConfig {
    aoc: AocConfig;
  }
}
