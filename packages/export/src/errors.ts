// SPDX-License-Identifier: Apache-2.0
// Export Center error codes (spec §2.3). ERR_EXPORT_001…005 follow the API reference's numbering;
// EMPTY, QUOTA, BASE_MISSING and UNSUPPORTED_SCHEMA are the runbook's names. A failed run's
// `errorCode` is the registry code, except signing and distribution failures, which the runbook
// calls `errorCode=signing` and `errorCode=distribution` (RUN_ERROR_CODES).
import { defineError, type ErrorDefinition, ExitCode } from '@stella/core';

export const ExportErrors = {
  validation: defineError({
    code: 'ERR_EXPORT_001',
    status: 400,
    exit: ExitCode.usage,
    title: 'Invalid export request',
    hint: 'Fix every listed problem (the profile schema is served at /api/export/schemas/export-profile.json) and resubmit.',
  }),
  notFound: defineError({
    code: 'ERR_EXPORT_002',
    status: 404,
    exit: ExitCode.notFound,
    title: 'Export profile or run not found for this tenant',
    hint: 'Check the id and the tenant (X-Stella-Tenant); `stella export profile list` and `stella export run list` show what this tenant has.',
  }),
  concurrency: defineError({
    code: 'ERR_EXPORT_003',
    status: 429,
    exit: ExitCode.exportConcurrency,
    title: 'Too many export runs queued for this tenant',
    hint: 'The tenant has export.maxQueuedRuns runs waiting for a worker: check the workers (`exporter_jobs_ready`), wait for queued runs to start (`stella export run list --status pending`) or cancel some, then submit again after Retry-After.',
  }),
  adapter: defineError({
    code: 'ERR_EXPORT_004',
    status: 502,
    exit: ExitCode.exportAdapter,
    title: 'Export adapter failed',
    hint: 'Read the run errors (`stella export run watch <runId>`); replay the run once the cause is fixed.',
  }),
  signing: defineError({
    code: 'ERR_EXPORT_005',
    status: 500,
    exit: ExitCode.exportSigning,
    title: 'Export signing failed (errorCode=signing)',
    hint: 'The tenant signing key is missing or unusable: check the key store, then replay the run (runbook §7.3: set the quota to 0 during a KMS outage, resubmit with --priority catch-up).',
  }),
  distribution: defineError({
    code: 'ERR_EXPORT_006',
    status: 502,
    exit: ExitCode.exportDistribution,
    title: 'Export distribution failed (errorCode=distribution)',
    hint: 'The bundle is still downloadable over http (`stella export download <runId>`). Restore the OCI/object backend, or switch the profile to distribution ["http"].',
  }),
  conflict: defineError({
    code: 'ERR_EXPORT_007',
    status: 409,
    exit: ExitCode.exportConflict,
    title: 'Export run or profile is not in a state that allows this',
    hint: 'Read its current status first; only queued or running runs can be cancelled, only succeeded runs downloaded, archived profiles take no new runs.',
  }),
  expired: defineError({
    code: 'ERR_EXPORT_008',
    status: 410,
    exit: ExitCode.exportExpired,
    title: 'Export artefacts were removed by retention',
    hint: 'Replay the run (`POST /api/export/runs/{id}/replay`) to build the bundle again.',
  }),
  verify: defineError({
    code: 'ERR_EXPORT_009',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'Export bundle verification failed',
    hint: 'The named file does not match its checksum or signature: do not import the bundle; download it again and compare with the run digest.',
  }),
  range: defineError({
    code: 'ERR_EXPORT_010',
    status: 416,
    exit: ExitCode.exportRange,
    title: 'Requested range is outside the bundle',
    hint: "Ask for bytes within Content-Range's total size, or download without Range.",
  }),
  empty: defineError({
    code: 'ERR_EXPORT_EMPTY',
    status: 422,
    exit: ExitCode.exportEmpty,
    title: 'The selectors matched no records',
    hint: 'Widen the selectors, or submit with allowEmpty (--allow-empty) if an empty bundle is intended.',
  }),
  quota: defineError({
    code: 'ERR_EXPORT_QUOTA',
    status: 429,
    exit: ExitCode.exportQuota,
    title: 'Export quota exhausted for this tenant',
    hint: 'Wait until X-Stella-Quota-Reset, or ask an operator to raise the quota (`stella export quota set`); a quota of 0 means submissions are paused.',
  }),
  baseMissing: defineError({
    code: 'ERR_EXPORT_BASE_MISSING',
    status: 409,
    exit: ExitCode.exportBaseMissing,
    title: 'Delta base export is not available',
    hint: 'Trigger a full export (mirror:full) and notify the tenant; check the retention settings.',
  }),
  unsupportedSchema: defineError({
    code: 'ERR_EXPORT_UNSUPPORTED_SCHEMA',
    status: 422,
    exit: ExitCode.exportUnsupportedSchema,
    title: 'Unsupported export schema version',
    hint: 'Pin SchemaVersion to the previous value and rerun the export.',
  }),
  verifyKey: defineError({
    code: 'ERR_EXPORT_VERIFY_KEY',
    status: 400,
    exit: ExitCode.usage,
    title: 'The public key given to verify the bundle cannot be read',
    hint: 'Pass --key (STELLA_EXPORT_VERIFY_KEY) the path of the PEM public key the bundle was signed with (`stella export keys --output <file>` fetches it); leave it out to check against the bundled signatures/export-center.pub.',
  }),
  // Envelope encryption (docs/encryption.md). A key file that cannot be read is a usage error (exit 2);
  // content that does not decrypt is a verification failure (exit 3), like a bad checksum.
  decrypt: defineError({
    code: 'ERR_EXPORT_DECRYPT',
    status: 422,
    exit: ExitCode.verificationFailed,
    title: 'Encrypted export content does not decrypt',
    hint: 'Either no identity given matches a recipient named in provenance.json (environment.encryption.recipients), or the file was altered, truncated or moved (its AAD is {runId}:{relativePath}). Check the identity file, then download the bundle again; nothing was written under the output name.',
  }),
  decryptIdentity: defineError({
    code: 'ERR_EXPORT_DECRYPT_IDENTITY',
    status: 400,
    exit: ExitCode.usage,
    title: 'The age identity file given to decrypt cannot be read',
    hint: 'Pass an identity file as age-keygen writes it: AGE-SECRET-KEY-1… lines, # comments and blank lines; the message names the first line that is none of these.',
  }),
  abandoned: defineError({
    code: 'ERR_EXPORT_ABANDONED',
    status: 500,
    exit: ExitCode.failure,
    title: 'Export run abandoned: its last attempt stopped without finishing',
    hint: 'The worker running it was killed or stopped reporting on the last attempt, and the queue dead-lettered the job (`stella orchestrator deadletter list --queue export.run`). Check the worker (memory, restarts, `exporter_runs_active`), then run it again with `stella export run replay <runId>`.',
  }),
} as const satisfies Record<string, ErrorDefinition>;

/** A failed run's `errorCode`: the runbook's short names for signing and distribution, else the code. */
export function runErrorCode(code: string): string {
  if (code === ExportErrors.signing.code) return 'signing';
  if (code === ExportErrors.distribution.code) return 'distribution';
  return code;
}
