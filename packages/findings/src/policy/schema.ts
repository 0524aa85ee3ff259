// SPDX-License-Identifier: Apache-2.0
// The policy document (docs/policy.md) as a TypeBox schema: the one description of its shape. The
// linter walks this schema over the YAML nodes, so a message points at a line and column, and the
// committed JSON Schema (packages/findings/schemas/policy.schema.json) is this value, for editors.
import { type Static, Type } from 'typebox';

export const POLICY_API_VERSION = 'stella.policy/v1';

// Rule and exception ids name decisions (`rule: kev`, `exception:EXC-1`): no `:`, so the two never meet.
const ID = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** Globs: `*` any run of characters, `?` one, `\` escapes; `[` and `{` are reserved (see glob.ts). */
const Glob = (description: string) => Type.String({ minLength: 1, maxLength: 1024, format: 'glob', description });
const Globs = (description: string) => Type.Array(Glob(description), { minItems: 1, maxItems: 256 });

export const VerdictSchema = Type.Enum(['pass', 'warn', 'fail']);
export const TrustSchema = Type.Enum(['high', 'medium', 'low', 'untrusted']);
const LEVEL = ['critical', 'high', 'medium', 'low', 'none'] as const;

const SeverityCondition = Type.Object(
  {
    atLeast: Type.Optional(Type.Enum([...LEVEL], { description: 'critical > high > medium > low > none.' })),
    in: Type.Optional(
      Type.Array(Type.Enum([...LEVEL, 'unknown']), {
        minItems: 1,
        description: 'Any of these levels; unknown is a finding no source gives a readable severity.',
      }),
    ),
    source: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'any (default): the highest level over sources; all: the lowest over the sources that give one; otherwise a vendor name: that vendor’s sources only.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Give exactly one of atLeast and in.' },
);

export const ConditionSchema = Type.Object(
  {
    severity: Type.Optional(SeverityCondition),
    kev: Type.Optional(Type.Boolean({ description: 'Any source lists the vulnerability in CISA KEV.' })),
    epss: Type.Optional(
      Type.Object(
        { atLeast: Type.Number({ minimum: 0, maximum: 1, description: 'The highest EPSS probability over sources.' }) },
        { additionalProperties: false },
      ),
    ),
    vex: Type.Optional(
      Type.Array(Type.Enum(['not_affected', 'affected', 'fixed', 'under_investigation', 'none', 'conflict']), {
        minItems: 1,
        description: 'The effective VEX status after trust resolution is one of these.',
      }),
    ),
    reachability: Type.Optional(Type.Array(Type.Enum(['reachable', 'unreachable', 'unknown']), { minItems: 1 })),
    package: Type.Optional(Globs('Over the component purl, version included (pkg:npm/semver@7.5.1).')),
    vulnerability: Type.Optional(Globs('Over the vulnerability id and its aliases, case-insensitive.')),
    path: Type.Optional(Globs('Over the entries of the reachability witness path.')),
    fixAvailable: Type.Optional(Type.Boolean({ description: 'Some source names a fixed version.' })),
  },
  { additionalProperties: false, description: 'Every condition given must hold; a list matches any of its items.' },
);

export const RuleSchema = Type.Object(
  {
    id: Type.String({ pattern: ID }),
    description: Type.Optional(Type.String({ maxLength: 1024 })),
    when: Type.Optional(ConditionSchema),
    verdict: VerdictSchema,
  },
  { additionalProperties: false },
);

export const ExceptionSchema = Type.Object(
  {
    id: Type.String({ pattern: ID }),
    vulnerability: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'The vulnerability id or any alias, case-insensitive.',
    }),
    package: Type.Optional(Glob('Over the component purl, version included.')),
    verdict: Type.Optional(VerdictSchema),
    expires: Type.String({
      format: 'date',
      description: 'YYYY-MM-DD (UTC); the exception applies through the end of that day.',
    }),
    reason: Type.String({ minLength: 1, maxLength: 4096 }),
  },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    apiVersion: Type.Literal(POLICY_API_VERSION),
    kind: Type.Literal('Policy'),
    metadata: Type.Object(
      { name: Type.String({ pattern: ID }), description: Type.Optional(Type.String({ maxLength: 4096 })) },
      { additionalProperties: false },
    ),
    thresholds: Type.Optional(
      Type.Object(
        {
          fail: Type.Optional(Type.Integer({ minimum: 0, description: 'Most fail findings allowed; default 0.' })),
          warn: Type.Optional(
            Type.Integer({ minimum: 0, description: 'Most warn findings allowed; default no limit.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    vex: Type.Optional(
      Type.Object(
        {
          trust: Type.Optional(
            Type.Array(
              Type.Object(
                { issuer: Glob('The statement issuer, exactly or with * and ?.'), trust: TrustSchema },
                { additionalProperties: false },
              ),
            ),
          ),
          default: Type.Optional(TrustSchema),
        },
        { additionalProperties: false },
      ),
    ),
    rules: Type.Array(RuleSchema, { minItems: 1, description: 'Ordered: the first rule whose when matches decides.' }),
    exceptions: Type.Optional(Type.Array(ExceptionSchema)),
  },
  {
    additionalProperties: false,
    $id: 'https://stellaops.io/schemas/policy.schema.json',
    title: 'stella policy',
  },
);

export type Policy = Static<typeof PolicySchema>;
export type PolicyRule = Static<typeof RuleSchema>;
export type PolicyCondition = Static<typeof ConditionSchema>;
export type PolicyException = Static<typeof ExceptionSchema>;
export type Verdict = Static<typeof VerdictSchema>;
export type TrustLevel = Static<typeof TrustSchema>;
