// SPDX-License-Identifier: Apache-2.0
// TypeBox schemas of the scan routes: the report of GET /sboms/{id}/findings and POST /findings/scan.
import Type from 'typebox';

export const scanTags = ['findings'];
/** A scan reads stored SBOMs and advisories. */
export const scanStoredScope = { auth: { scopes: ['sbom:read', 'advisory:read'] } };
/** A scan of a document sent now reads only advisories; nothing is stored. */
export const scanDocumentScope = { auth: { scopes: ['advisory:read'] } };

// One flat object for every format's matched range (match/ranges.ts): `type` says which fields apply.
const Range = Type.Object({
  type: Type.Union(
    [
      Type.Literal('SEMVER'),
      Type.Literal('ECOSYSTEM'),
      Type.Literal('versions'),
      Type.Literal('csaf'),
      Type.Literal('cve5'),
      Type.Literal('nvd'),
    ],
    { description: 'OSV range type or versions[]; csaf, cve5 or nvd for the other formats' },
  ),
  introduced: Type.Optional(Type.String()),
  fixed: Type.Optional(Type.String()),
  lastAffected: Type.Optional(Type.String()),
  limit: Type.Optional(Type.String()),
  status: Type.Optional(Type.String({ description: 'csaf: the product status that decided' })),
  product: Type.Optional(Type.String({ description: 'csaf: the product_id' })),
  vulnerability: Type.Optional(Type.String({ description: 'csaf: the vulnerability (CVE) of the document' })),
  by: Type.Optional(Type.String({ description: 'cve5: version, range or default (defaultStatus)' })),
  versionType: Type.Optional(Type.String()),
  change: Type.Optional(Type.String({ description: 'cve5: the changes[].at whose status applied' })),
  criteria: Type.Optional(Type.String({ description: 'nvd: the cpeMatch criteria' })),
  after: Type.Optional(Type.String({ description: 'nvd: versionStartExcluding' })),
});

const Source = Type.Object({
  recordId: Type.String({ description: 'The raw advisory record (advisory_raw id)' }),
  vendor: Type.String(),
  upstreamId: Type.String(),
  contentHash: Type.String({ description: 'sha256 of the verbatim document' }),
  severity: Type.Array(Type.Object({ type: Type.String(), score: Type.String() }), {
    description: 'Severity as this source reports it (never re-scored)',
  }),
  range: Range,
  kev: Type.Optional(
    Type.Object(
      { dateAdded: Type.Optional(Type.String()) },
      { description: 'Listed in CISA KEV, as this source says' },
    ),
  ),
  epss: Type.Optional(Type.Object({ score: Type.Number(), percentile: Type.Optional(Type.Number()) })),
});

const VexStatement = Type.Object(
  {
    recordId: Type.String({ description: 'The raw VEX record (vex_raw id)' }),
    vendor: Type.String(),
    upstreamId: Type.String(),
    contentHash: Type.String(),
    format: Type.Union([Type.Literal('OPENVEX'), Type.Literal('CSAF_VEX'), Type.Literal('CYCLONEDX_VEX')]),
    issuer: Type.String(),
    vulnerabilityId: Type.String(),
    status: Type.Union([
      Type.Literal('not_affected'),
      Type.Literal('affected'),
      Type.Literal('fixed'),
      Type.Literal('under_investigation'),
    ]),
    justification: Type.Optional(Type.String()),
    impact: Type.Optional(Type.String()),
    action: Type.Optional(Type.String()),
    product: Type.String({ description: 'The purl or CPE of the statement that matched the component' }),
    timestamp: Type.Optional(Type.String()),
    pointer: Type.String({ description: 'JSON pointer of the statement in the raw document' }),
  },
  { description: 'A VEX statement as its issuer wrote it; conflicting statements are all kept' },
);

const Reachability = Type.Object({
  state: Type.Union([Type.Literal('reachable'), Type.Literal('unreachable'), Type.Literal('unknown')]),
  lattice: Type.String({ description: 'The Signals lattice state that decided it' }),
  path: Type.Array(Type.String(), { description: 'Witness path, sink first, entrypoint last' }),
  fact: Type.Optional(Type.Object({ subjectKey: Type.String(), digest: Type.String(), factVersion: Type.Integer() })),
  reason: Type.Optional(
    Type.Union([Type.Literal('no-subject'), Type.Literal('no-fact'), Type.Literal('no-target')], {
      description:
        'Why it is unknown: the SBOM names no subject, the subject has no fact, or the fact no target for it',
    }),
  ),
});

const Finding = Type.Object({
  component: Type.Object({
    ref: Type.String(),
    purl: Type.String(),
    name: Type.String(),
    version: Type.String(),
    ecosystem: Type.String(),
  }),
  vulnerabilityId: Type.String({
    description: 'CVE id of the alias group when it has one, else GHSA, else the smallest id',
  }),
  aliases: Type.Array(Type.String()),
  fixedVersions: Type.Array(Type.String(), { description: "In the ecosystem's order" }),
  sources: Type.Array(Source),
  vex: Type.Array(VexStatement),
  reachability: Reachability,
});

const Undecided = Type.Object({
  ref: Type.String(),
  purl: Type.Optional(Type.String()),
  advisory: Type.Optional(Type.String()),
  reason: Type.Union([
    Type.Literal('no-purl'),
    Type.Literal('no-version'),
    Type.Literal('ecosystem-unknown'),
    Type.Literal('version-unparseable'),
    Type.Literal('range-unsupported'),
    Type.Literal('status-unknown'),
  ]),
  detail: Type.String(),
});

export const ScanReportSchema = Type.Object({
  subjectKey: Type.Union([Type.String(), Type.Null()], {
    description: "The subject the SBOM is about (Signals' subject key), null when it names none",
  }),
  fact: Type.Union([Type.Object({ factVersion: Type.Integer(), digest: Type.String() }), Type.Null()], {
    description: "The subject's reachability fact the states were read from",
  }),
  components: Type.Integer({ description: 'Components in the SBOM besides its root' }),
  findings: Type.Array(Finding),
  undecided: Type.Array(Undecided, {
    description: 'What the matcher could not decide, with the reason; never guessed',
  }),
  vexUnreadable: Type.Optional(
    Type.Array(Type.Object({ recordId: Type.String(), reason: Type.String() }), {
      description:
        'VEX documents naming a component that could not be read, with the reason; their statements are missing',
    }),
  ),
  notEvaluated: Type.Record(Type.String(), Type.Integer(), {
    description:
      'Advisories naming a component in a format no matcher reads (CSAF, CVE5 and NVD have one), counted by format',
  }),
});
