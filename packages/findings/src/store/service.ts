// SPDX-License-Identifier: Apache-2.0
// Stored findings: a subject's latest SBOM scanned (matches, VEX, reachability), evaluated under the
// tenant's active policy snapshot, and written as the subject's current rows. The scan reads outside
// any transaction; the rows are replaced, and verdict changes appended to the timeline, in one
// transaction under the subject's lock, so two recomputes of a subject never interleave and a
// reader sees the old rows or the new ones, never a mix. Recomputes are jobs (module.ts); this is
// what they run.

import type { Clock } from '@stella/core';
import { Errors, StellaError } from '@stella/core';
import type { Db, Timeline, Tx } from '@stella/platform';
import type { EvidenceFinding } from '../evidence/model.ts';
import type { ScanService } from '../scan/service.ts';
import {
  deleteFindings,
  type FindingFilter,
  type FindingRow,
  lockSubject,
  selectFinding,
  selectFindings,
  selectLatestSbom,
  selectSubjectFindings,
  selectSubjects,
  upsertFindings,
} from '../sql/findings.ts';
import { type SnapshotRow, selectActiveSnapshot } from '../sql/policy.ts';
import { changedRows, type Evaluation, findingRows, verdictChanges } from './rows.ts';

/** How a snapshot (or none) evaluates findings at a time: the policy binding (store/evaluate.ts). */
export type EvaluatorFor = (snapshot: SnapshotRow | undefined, at: Date) => (finding: EvidenceFinding) => Evaluation;

export interface FindingStoreDeps {
  db: Db;
  timeline: Timeline;
  clock: Clock;
  scans: ScanService;
  evaluatorFor: EvaluatorFor;
}

export interface RecomputeResult {
  subjectKey: string;
  sbomId: string | null;
  snapshotId: string | null;
  findings: number;
  /** Rows written or removed: findings whose content changed. */
  written: number;
  /** policy.verdict and finding.resolved events appended. */
  changes: number;
}

export interface StoredFinding {
  id: string;
  subjectKey: string;
  sbomId: string;
  purl: string;
  vulnerabilityId: string;
  severity: string;
  reachability: string;
  vexStatus: string;
  verdict: string | null;
  rule: string | null;
  snapshotId: string | null;
  evaluatedAt: string;
}

export type FindingQuery = Omit<FindingFilter, 'afterId' | 'limit'> & { cursor?: string | undefined; limit?: number };

const summaryOf = (row: FindingRow): StoredFinding => ({
  id: row.id,
  subjectKey: row.subject_key,
  sbomId: row.sbom_id,
  purl: row.purl,
  vulnerabilityId: row.vulnerability_id,
  severity: row.severity,
  reachability: row.reachability,
  vexStatus: row.vex_status,
  verdict: row.verdict,
  rule: row.rule,
  snapshotId: row.snapshot_id,
  evaluatedAt: row.evaluated_at,
});

const FINDING_ID = /^finding:[0-9a-f]{64}$/;
const DEFAULT_PAGE = 100;

async function listFindings(db: Db, tenant: string, query: FindingQuery) {
  const limit = query.limit ?? DEFAULT_PAGE;
  if (query.cursor !== undefined && !FINDING_ID.test(query.cursor))
    throw new StellaError(Errors.validation, 'cursor must be the nextCursor of a previous page');
  const filter = {
    ...query,
    subjectKey: query.subjectKey?.trim().toLowerCase() || undefined,
    afterId: query.cursor,
    limit: limit + 1,
  };
  const rows = await db.transaction((tx) => selectFindings(tx, filter), { tenant });
  const page = rows.slice(0, limit);
  return { items: page.map(summaryOf), nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
}

async function getFinding(db: Db, tenant: string, id: string): Promise<Record<string, unknown>> {
  const row = FINDING_ID.test(id) ? await db.transaction((tx) => selectFinding(tx, id), { tenant }) : undefined;
  if (!row)
    throw new StellaError(
      Errors.notFound,
      `finding ${id.slice(0, 160)} not found: \`stella findings list\` shows this tenant's findings`,
    );
  return row.document;
}

export function createFindingStore(deps: FindingStoreDeps) {
  const inTenant = <T>(tenant: string, fn: (tx: Tx) => Promise<T>) => deps.db.transaction(fn, { tenant });

  async function write(tenant: string, subjectKey: string, rows: FindingRow[]) {
    return inTenant(tenant, async (tx) => {
      await lockSubject(tx, tenant, subjectKey);
      const before = await selectSubjectFindings(tx, subjectKey);
      const keep = new Set(rows.map((r) => r.id));
      const gone = before.filter((r) => !keep.has(r.id)).map((r) => r.id);
      const changed = changedRows(before, rows);
      await deleteFindings(tx, gone);
      await upsertFindings(tx, tenant, changed);
      const changes = verdictChanges(before, rows);
      for (const change of changes)
        await deps.timeline.append(tx, tenant, { category: 'policy', kind: change.kind, details: change.details });
      return { written: gone.length + changed.length, changes: changes.length };
    });
  }

  async function recomputeSubject(tenant: string, subjectKey: string): Promise<RecomputeResult> {
    const { sbomId, active } = await inTenant(tenant, async (tx) => ({
      sbomId: await selectLatestSbom(tx, subjectKey),
      active: await selectActiveSnapshot(tx),
    }));
    const snapshotId = active?.snapshot.id ?? null;
    if (!sbomId) return { subjectKey, sbomId: null, snapshotId, findings: 0, ...(await write(tenant, subjectKey, [])) };
    const report = await deps.scans.scanStored(tenant, sbomId);
    const now = deps.clock.now();
    const rows = findingRows({
      report,
      subjectKey,
      sbomId,
      snapshotId,
      evaluatedAt: now.toISOString(),
      evaluate: deps.evaluatorFor(active?.snapshot, now),
    });
    return { subjectKey, sbomId, snapshotId, findings: rows.length, ...(await write(tenant, subjectKey, rows)) };
  }

  return {
    recomputeSubject,

    /** Every subject of the tenant, one after the other (each in its own transaction). */
    async recomputeTenant(tenant: string): Promise<RecomputeResult[]> {
      const subjects = await inTenant(tenant, (tx) => selectSubjects(tx));
      const results: RecomputeResult[] = [];
      for (const subjectKey of subjects) results.push(await recomputeSubject(tenant, subjectKey));
      return results;
    },

    listFindings: (tenant: string, query: FindingQuery) => listFindings(deps.db, tenant, query),
    getFinding: (tenant: string, id: string) => getFinding(deps.db, tenant, id),
  };
}

export type FindingStore = ReturnType<typeof createFindingStore>;
