// SPDX-License-Identifier: Apache-2.0
// TypeBox schemas of the scan routes: the report of GET /sboms/{id}/findings and POST /findings/scan.
import Type from 'typebox';

export const scanTags = ['findings'];
/** A scan reads stored SBOMs and advisories. */
export const scanStoredScope = { auth: { scopes: ['sbom:read', 'advisory:read'] } };
/** A scan of a document sent now reads only advisories; nothing is stored. */
export const scanDocumentScope = { auth: { scopes: ['advisory:read'] } };

const Range = Type.Object({
  type: Type.Union([Type.Literal('SEMVER'), Type.Literal('ECOSYSTEM'), Type.Literal('versions')]),
  introduced: Type.Optional(Type.String()),
  fixed: Type.Optional(Type.String()),
  lastAffected: Type.Optional(Type.String()),
  limit: Type.Optional(Type.String()),
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
    description: 'Advisories naming a component in a format not matched yet (CSAF, CVE5, NVD), counted by format',
  }),
});
