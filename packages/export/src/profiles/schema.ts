// SPDX-License-Identifier: Apache-2.0
// The ExportProfile document (spec §2.1, schemas/export-profile.schema.json): TypeBox, so the same
// value is the JSON Schema that is committed (packages/export/schemas), served at
// /api/export/schemas/export-profile.json and used by `stella export profile create` client-side.
import { Ajv, type ErrorObject } from 'ajv';
import { type Static, Type } from 'typebox';

const NAME = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';

export const PROFILE_API_VERSION = 'stellaops.io/export.v1';

export const ExportProfileSchema = Type.Object(
  {
    apiVersion: Type.Literal(PROFILE_API_VERSION),
    kind: Type.Literal('ExportProfile'),
    metadata: Type.Object(
      {
        name: Type.String({
          pattern: NAME,
          minLength: 3,
          maxLength: 64,
          description: 'Unique per tenant; the profile id.',
        }),
        tenant: Type.Optional(Type.String({ pattern: NAME, description: 'Set by the server from the caller.' })),
        revision: Type.Optional(
          Type.String({ pattern: '^r[1-9][0-9]*$', description: 'Set by the server: r1, then r<N+1> per update.' }),
        ),
        labels: Type.Optional(
          Type.Record(
            Type.String({ pattern: '^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?$', maxLength: 63 }),
            Type.String({ maxLength: 253 }),
            {
              maxProperties: 64,
            },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    spec: Type.Object(
      {
        kind: Type.Enum(['json', 'trivy', 'mirror', 'devportal', 'attestation']),
        variant: Type.Enum(['raw', 'policy', 'db', 'java-db', 'full', 'delta', 'offline', 'bundle']),
        include: Type.Optional(
          Type.Array(Type.Enum(['advisories', 'vex', 'sboms', 'findings']), {
            uniqueItems: true,
            minItems: 1,
            description:
              'Record families in the bundle; json:raw defaults to advisories and vex, json:policy to advisories, vex and findings.',
          }),
        ),
        policySnapshotMode: Type.Optional(
          Type.Enum(['required', 'optional', 'none'], {
            description:
              "Checked at run submission: required needs a policySnapshotId; optional (the default) takes one if given, and json:policy then uses the tenant's active snapshot; none refuses one (and json:policy).",
          }),
        ),
        distribution: Type.Array(Type.Enum(['http', 'oci', 'object']), {
          uniqueItems: true,
          minItems: 1,
          description: 'Where bundles go; every bundle is downloadable over http regardless.',
        }),
        compression: Type.Optional(
          Type.Object(
            {
              codec: Type.Enum(['zstd', 'gzip', 'none']),
              level: Type.Optional(Type.Integer({ minimum: 1, maximum: 22, description: 'zstd 1–19, gzip 1–9.' })),
            },
            { additionalProperties: false },
          ),
        ),
        encryption: Type.Optional(
          Type.Object(
            {
              enabled: Type.Boolean(),
              mode: Type.Optional(Type.Enum(['age', 'aes-gcm'])),
              recipientKeys: Type.Optional(
                Type.Array(Type.String({ pattern: '^(age1[0-9a-z]{20,}|kms://.+)$' }), { uniqueItems: true }),
              ),
              strict: Type.Optional(Type.Boolean()),
            },
            { additionalProperties: false },
          ),
        ),
        retention: Type.Optional(
          Type.Object(
            {
              mode: Type.Enum(['days', 'count']),
              value: Type.Integer({ minimum: 1, maximum: 36500 }),
            },
            { additionalProperties: false },
          ),
        ),
        schemaVersion: Type.Optional(
          Type.Integer({
            minimum: 1,
            description:
              'trivy:db only: the Trivy DB schema to write (default 2, the one this build writes; Trivy 0.50 and later read it). Another value fails the run with ERR_EXPORT_UNSUPPORTED_SCHEMA.',
          }),
        ),
        signing: Type.Optional(
          Type.Object(
            { enabled: Type.Boolean({ description: 'Bundles are always signed; false is refused.' }) },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
  },
  {
    additionalProperties: false,
    $id: 'https://stellaops.io/schemas/export-profile.schema.json',
    title: 'ExportProfile',
  },
);

export type ExportProfile = Static<typeof ExportProfileSchema>;

/** The pairs of spec.kind and spec.variant the spec defines (§2.1). */
export const KIND_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  json: ['raw', 'policy'],
  trivy: ['db', 'java-db'],
  mirror: ['full', 'delta'],
  devportal: ['offline'],
  attestation: ['bundle'],
};

export interface ProfileProblem {
  pointer: string;
  message: string;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(ExportProfileSchema);

/** Every schema and semantic problem of a candidate profile document, or [] when it is valid. */
export function profileProblems(doc: unknown): ProfileProblem[] {
  if (!validate(doc)) return (validate.errors ?? []).map(describe);
  const profile = doc as ExportProfile;
  const problems: ProfileProblem[] = [];
  const { kind, variant, compression, encryption, signing } = profile.spec;
  if (!KIND_VARIANTS[kind]?.includes(variant)) {
    problems.push({
      pointer: '/spec/variant',
      message: `variant ${variant} is not defined for kind ${kind} (allowed: ${KIND_VARIANTS[kind]?.join(', ')})`,
    });
  }
  if (profile.spec.schemaVersion !== undefined && kind !== 'trivy') {
    problems.push({ pointer: '/spec/schemaVersion', message: 'schemaVersion applies to trivy profiles only' });
  }
  if (compression?.codec === 'gzip' && compression.level !== undefined && compression.level > 9) {
    problems.push({ pointer: '/spec/compression/level', message: 'gzip levels are 1–9' });
  }
  if (compression?.codec === 'zstd' && compression.level !== undefined && compression.level > 19) {
    problems.push({ pointer: '/spec/compression/level', message: 'zstd levels are 1–19 (no --ultra levels)' });
  }
  if (compression?.codec === 'none' && compression.level !== undefined) {
    problems.push({ pointer: '/spec/compression/level', message: 'codec none takes no level' });
  }
  if (encryption?.enabled && !(encryption.recipientKeys?.length ?? 0)) {
    problems.push({
      pointer: '/spec/encryption/recipientKeys',
      message: 'encryption needs at least one recipient key',
    });
  }
  if (signing && !signing.enabled) {
    problems.push({
      pointer: '/spec/signing/enabled',
      message: 'bundles are always signed; remove signing or set true',
    });
  }
  return problems;
}

function describe(error: ErrorObject): ProfileProblem {
  const pointer = error.instancePath || '/';
  if (error.keyword === 'additionalProperties') {
    return { pointer, message: `unknown property ${JSON.stringify(error.params.additionalProperty)}` };
  }
  if (error.keyword === 'required') {
    return { pointer, message: `missing required property ${JSON.stringify(error.params.missingProperty)}` };
  }
  if (error.keyword === 'const' || error.keyword === 'enum') {
    const allowed = error.params.allowedValue ?? error.params.allowedValues;
    return { pointer, message: `must be ${JSON.stringify(allowed)}` };
  }
  return { pointer, message: error.message ?? error.keyword };
}
