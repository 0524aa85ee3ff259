// SPDX-License-Identifier: Apache-2.0
// AOC error codes. ERR_AOC_001…007 are the contract codes of spec §3.4 (HTTP status and CLI exit
// 11–17); they are also the `code` label of aoc_violation_total. The other codes cover input that
// never reaches the guard because it cannot be read as a document at all.
import { defineError, ExitCode } from '@stella/core';

export const AocErrors = {
  forbiddenField: defineError({
    code: 'ERR_AOC_001',
    status: 400,
    exit: ExitCode.aocForbiddenField,
    title: 'Forbidden field in the AOC envelope',
    hint: 'Derived fields (severity, cvss, effective_*, merged_*, risk_score, reachability…) may not be written at ingest; upstream values stay inside content.raw.',
  }),
  mergeAttempt: defineError({
    code: 'ERR_AOC_002',
    status: 400,
    exit: ExitCode.aocMergeAttempt,
    title: 'Merge attempt: more than one upstream fused into one record',
    hint: 'Ingest each upstream document on its own; joins live in the linkset.',
  }),
  idempotency: defineError({
    code: 'ERR_AOC_003',
    status: 409,
    exit: ExitCode.aocIdempotency,
    title: 'Idempotency violation: revision chain is inconsistent',
    hint: 'A revision must supersede the current head of its (tenant, vendor, upstream_id); run `stella aoc verify` and inspect the chain.',
  }),
  missingProvenance: defineError({
    code: 'ERR_AOC_004',
    status: 422,
    exit: ExitCode.aocMissingProvenance,
    title: 'Missing provenance',
    hint: 'Give source.vendor, source.connector, source.version and upstream.upstream_id, retrieved_at and content_hash.',
  }),
  signatureMismatch: defineError({
    code: 'ERR_AOC_005',
    status: 422,
    exit: ExitCode.aocSignatureMismatch,
    title: 'Signature or checksum mismatch',
    hint: 'The bytes do not match the declared content_hash or the upstream signature; re-fetch from the upstream and check the source keys.',
  }),
  derivedFindings: defineError({
    code: 'ERR_AOC_006',
    status: 403,
    exit: ExitCode.aocDerivedFindings,
    title: 'Derived findings may only be persisted by the policy engine',
    hint: 'Ingestion stores raw documents only; effective findings belong to the findings room.',
  }),
  unknownField: defineError({
    code: 'ERR_AOC_007',
    status: 400,
    exit: ExitCode.aocUnknownField,
    title: 'Unknown top-level field in the AOC envelope',
    hint: 'Allowed top-level keys: id, tenant, source, upstream, content, identifiers, linkset, supersedes, ingested_at.',
  }),
  malformedDocument: defineError({
    code: 'ERR_AOC_MALFORMED_DOCUMENT',
    status: 400,
    exit: ExitCode.usage,
    title: 'Upstream document could not be read',
    hint: 'The bytes must be UTF-8 JSON without duplicate keys (gzip or base64 is unwrapped by the CLI); the message names the position.',
  }),
  unrecognisedFormat: defineError({
    code: 'ERR_AOC_UNRECOGNISED_FORMAT',
    status: 422,
    exit: ExitCode.usage,
    title: 'Document is not a recognised advisory or VEX format',
    hint: 'Supported: OSV (incl. GHSA, Go vulndb), CSAF 2.0 (advisory and VEX), OpenVEX 0.0.1/0.2.0, CycloneDX 1.4–1.6 VEX, CVE JSON 5, NVD API 2.0.',
  }),
  documentTooLarge: defineError({
    code: 'ERR_AOC_DOCUMENT_TOO_LARGE',
    status: 413,
    exit: ExitCode.usage,
    title: 'Document exceeds the configured size cap',
    hint: 'Raise limits.documentBytes (STELLA_LIMITS_DOCUMENT_BYTES) if the upstream really publishes documents this large.',
  }),
  tenantMismatch: defineError({
    code: 'ERR_AOC_TENANT_MISMATCH',
    status: 403,
    exit: ExitCode.auth,
    title: 'Tenant in the request differs from the token',
    hint: 'Send the tenant your token was issued for (tid claim), or get a token for the other tenant.',
  }),
  wrongKind: defineError({
    code: 'ERR_AOC_WRONG_KIND',
    status: 422,
    exit: ExitCode.usage,
    title: 'Document sent to the wrong store',
    hint: 'Advisories go to /ingest/advisory, VEX documents (OpenVEX, CSAF VEX, CycloneDX VEX) to /ingest/vex.',
  }),
  hostileArchive: defineError({
    code: 'ERR_AOC_HOSTILE_ARCHIVE',
    status: 400,
    exit: ExitCode.usage,
    title: 'Archive refused as hostile',
    hint: 'The archive escapes its root, hides links, is encrypted, lies about sizes or exceeds limits.archiveEntries / limits.decompressedBytes; get a clean copy from the upstream.',
  }),
  connectorInput: defineError({
    code: 'ERR_AOC_CONNECTOR_INPUT',
    status: 400,
    exit: ExitCode.notFound,
    title: 'Connector input cannot be read',
    hint: 'Check the --input path or URL (a file, directory, OSV zip, provider-metadata.json or http(s) base URL).',
  }),
  connectorCursor: defineError({
    code: 'ERR_AOC_CONNECTOR_CURSOR',
    status: 409,
    exit: ExitCode.usage,
    title: 'Saved connector cursor does not belong to this input',
    hint: 'Run the source again with a restart (POST /aoc/sources/{vendor}/run {"restart":true}); unchanged documents are no-ops.',
  }),
  connectorFetch: defineError({
    code: 'ERR_AOC_CONNECTOR_FETCH',
    status: 502,
    exit: ExitCode.transport,
    title: 'Upstream fetch failed',
    hint: 'The upstream answered an error or did not answer after the bounded retries; the run resumes from its cursor next time.',
  }),
  connectorMetadata: defineError({
    code: 'ERR_AOC_CONNECTOR_METADATA',
    status: 422,
    exit: ExitCode.usage,
    title: 'Upstream listing or metadata cannot be understood',
    hint: 'provider-metadata.json, a ROLIE feed, index.txt or changes.csv is malformed; report it to the provider.',
  }),
  verifyTruncated: defineError({
    code: 'ERR_AOC_VERIFY_TRUNCATED',
    status: 422,
    exit: ExitCode.aocVerifyTruncated,
    title: 'AOC verification stopped at --limit before checking every document',
    hint: 'The violations listed are real but the rest is unchecked: raise --limit, or narrow --since/--until/--sources and verify the window in parts.',
  }),
} as const;
