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
    Type.Object({ dateAdded: Type.Optional(Type.String()) }, { description: 'In CISA KEV, as this source says' }),
  ),
  epss: Type.Optional(Type.Object({ score: Type.Number(), percentile: Type.Optional(Type.Number()) })),
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
  components: Type.Integer({ description: 'Components in the SBOM besides its root' }),
  findings: Type.Array(Finding),
  undecided: Type.Array(Undecided, {
    description: 'What the matcher could not decide, with the reason; never guessed',
  }),
  notEvaluated: Type.Record(Type.String(), Type.Integer(), {
    description:
      'Advisories naming a component in a format no matcher reads (CSAF, CVE5 and NVD have one), counted by format',
  }),
});
