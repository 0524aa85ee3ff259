// SPDX-License-Identifier: Apache-2.0
// The API's view of stored profiles and runs: camelCase, revisions as rN, times in ISO 8601.
import type { ExportProfile } from '../profiles/schema.ts';
import type { ProfileRow } from '../sql/profiles.ts';
import type { RunRow, RunStatus } from '../sql/runs.ts';

export interface ProfileView {
  profileId: string;
  revision: string;
  kind: string;
  variant: string;
  archived: boolean;
  clonedFrom: string | null;
  createdAt: string;
  document: ExportProfile;
  documentDigest: string;
}

export interface RunView {
  runId: string;
  status: RunStatus;
  profileId: string;
  profileRevision: string;
  profileKind: string;
  selectors: Record<string, unknown>;
  allowEmpty: boolean;
  priority: 'normal' | 'catch-up';
  progress: { percent: number; itemsCompleted: number; itemsTotal: number };
  errorCode: string | null;
  errors: { code: string; message: string }[];
  attempts: number;
  exportId: string | null;
  bundle: { digest: string; bytes: number; mediaType: string; fileName: string; tarDigest: string | null } | null;
  manifestDigest: string | null;
  records: number | null;
  outputs: { driver: string; status: string; target: string | null; digest: string | null; error: string | null }[];
  replayOf: string | null;
  /** The policy snapshot the run is evaluated under (json:policy) or was submitted with; null when none. */
  policySnapshotId: string | null;
  /** The export a mirror:delta run is built against; null for other kinds. */
  baseExportId: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiredAt: string | null;
}

export const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

export function profileView(row: ProfileRow): ProfileView {
  return {
    profileId: row.name,
    revision: `r${row.revision}`,
    kind: row.kind,
    variant: row.variant,
    archived: row.archived_at !== null,
    clonedFrom: row.cloned_from,
    createdAt: iso(row.created_at)!,
    document: row.document,
    documentDigest: row.document_digest,
  };
}

export function runView(row: RunRow, outputs: RunView['outputs'] = []): RunView {
  return {
    runId: row.run_id,
    status: row.status,
    profileId: row.profile_name,
    profileRevision: `r${row.profile_revision}`,
    profileKind: row.profile_kind,
    selectors: row.selectors,
    allowEmpty: row.allow_empty,
    priority: row.priority,
    progress: row.progress,
    errorCode: row.error_code,
    errors: row.errors,
    attempts: row.attempts,
    exportId: row.export_id,
    bundle:
      row.bundle_digest && row.bundle_uri
        ? {
            digest: row.bundle_digest,
            bytes: Number(row.bundle_bytes),
            mediaType: row.bundle_media_type ?? 'application/octet-stream',
            fileName: row.bundle_file_name ?? `${row.run_id}.tar`,
            tarDigest: row.tar_digest,
          }
        : null,
    manifestDigest: row.manifest_digest,
    records: row.records,
    outputs,
    replayOf: row.replay_of,
    policySnapshotId: row.policy_snapshot_id,
    baseExportId: row.base_export_id,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    completedAt: iso(row.completed_at),
    expiredAt: iso(row.expired_at),
  };
}
