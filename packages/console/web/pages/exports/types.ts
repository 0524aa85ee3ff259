// The Export Center's wire shapes as the console reads them (packages/export/src/service/views.ts,
// quota.ts and profiles/schema.ts are the source of truth; only the fields the page shows are named).

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export const ACTIVE_STATUSES: ReadonlySet<RunStatus> = new Set(['queued', 'running']);

export interface RunProgress {
  percent: number;
  itemsCompleted: number;
  itemsTotal: number;
}

export interface ExportRun {
  runId: string;
  status: RunStatus;
  profileId: string;
  profileRevision: string;
  profileKind: string;
  progress: RunProgress;
  errorCode: string | null;
  errors: { code: string; message: string }[];
  attempts: number;
  exportId: string | null;
  bundle: { digest: string; bytes: number; mediaType: string; fileName: string } | null;
  manifestDigest: string | null;
  records: number | null;
  replayOf: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  expiredAt: string | null;
}

export interface RunPage {
  items: ExportRun[];
  nextCursor: string | null;
}

/** The answer to POST /api/export/runs and …/replay (202). */
export interface SubmittedRun {
  runId: string;
  status: RunStatus;
  profileRevision: string;
}

export interface ProfileDocument {
  apiVersion: string;
  kind: 'ExportProfile';
  metadata: { name: string; tenant?: string; revision?: string; labels?: Record<string, string> };
  spec: {
    kind: string;
    variant: string;
    distribution: string[];
    compression?: { codec: string; level?: number };
    retention?: { mode: 'days' | 'count'; value: number };
    [field: string]: unknown;
  };
}

export interface ExportProfile {
  profileId: string;
  revision: string;
  kind: string;
  variant: string;
  archived: boolean;
  clonedFrom: string | null;
  createdAt: string;
  document: ProfileDocument;
  documentDigest: string;
}

export interface Quota {
  limit: number;
  remaining: number;
  /** Unix seconds of the next UTC midnight. */
  reset: number;
}
