// SPDX-License-Identifier: Apache-2.0
// TypeBox schemas of the SBOM routes: they type the handlers and are the OpenAPI document.
import Type, { type Static } from 'typebox';

export const tags = ['sbom'];
export const ingestScope = { auth: { scopes: ['sbom:ingest'] } };
export const readScope = { auth: { scopes: ['sbom:read'] } };

/** SBOM media types POST /sboms accepts; each body is kept as the exact bytes sent. */
export const SBOM_CONTENT_TYPES = ['application/json', 'application/vnd.cyclonedx+json', 'application/spdx+json'];

export const SbomParams = Type.Object({
  id: Type.String({ pattern: '^sbom:sha256:[0-9a-f]{64}$', description: 'sbom:sha256:<hex of the raw bytes>' }),
});

export const IngestQuery = Type.Object({
  scanId: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Subject: a scan id' })),
  imageDigest: Type.Optional(
    Type.String({ minLength: 1, maxLength: 1024, description: 'Subject: the image digest (sha256:…)' }),
  ),
  component: Type.Optional(
    Type.String({ minLength: 1, maxLength: 1024, description: 'Subject: a component name (with version)' }),
  ),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'Subject: its version' })),
  filename: Type.Optional(Type.String({ maxLength: 1024, description: 'The file name, kept as provenance' })),
});

/** The subject of a scanned document: as for ingest, without the file name. */
export const ScanQuery = Type.Omit(IngestQuery, ['filename']);

export const ListQuery = Type.Object({
  subject: Type.Optional(Type.String({ maxLength: 1024, description: 'Only SBOMs of this subject key' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 4096, description: 'nextCursor of the previous page' })),
});

export const ComponentsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 64, description: 'nextCursor of the previous page' })),
});

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const SbomRecordSchema = Type.Object({
  id: Type.String(),
  subjectKey: Type.String(),
  format: Type.String({ description: 'cyclonedx | spdx' }),
  specVersion: Type.String(),
  documentId: Nullable(Type.String()),
  contentHash: Type.String({ description: 'sha256:<hex> of the raw bytes (the ETag of /raw)' }),
  size: Type.Integer(),
  components: Type.Integer({ description: 'Components besides the root' }),
  edges: Type.Integer(),
  root: Nullable(Type.Object({ name: Type.String(), version: Nullable(Type.String()), purl: Nullable(Type.String()) })),
  issues: Type.Array(Type.Object({ kind: Type.String(), ref: Type.Optional(Type.String()), detail: Type.String() }), {
    description: 'What a reader should know about the document (missing purls, cycles, …); never a refusal',
  }),
  provenance: Type.Object({
    clientId: Type.String(),
    filename: Type.Optional(Type.String()),
    userAgent: Type.Optional(Type.String()),
  }),
  ingestedAt: Type.String({ format: 'date-time' }),
});

export const IngestResponse = Type.Intersect([
  SbomRecordSchema,
  Type.Object({ duplicate: Type.Boolean({ description: 'true: these bytes were stored before; nothing written' }) }),
]);

export const SbomComponentSchema = Type.Object({
  ord: Type.Integer({ description: 'Position: the root is 0 when the SBOM names one' }),
  ref: Type.String(),
  name: Type.String(),
  version: Nullable(Type.String()),
  purl: Nullable(Type.String()),
  ecosystem: Nullable(Type.String({ description: 'OSV ecosystem' })),
  packageName: Type.String(),
  identifiedBy: Type.String({ description: 'purl | name-version (a lower-confidence match)' }),
  root: Type.Boolean(),
});

export const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export type IngestQuery = Static<typeof IngestQuery>;
export type ScanQuery = Static<typeof ScanQuery>;
