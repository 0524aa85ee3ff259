// SPDX-License-Identifier: Apache-2.0
// The findings room's answer to the Export Center's json:policy adapter: a policy snapshot as it was
// published and signed, and the tenant's stored findings evaluated under it, page by page in finding
// id order. Each finding is evaluated as of the time it was last computed (its evaluated_at), never
// the wall clock, so exporting the same rows under the same snapshot gives the same bytes: under the
// snapshot the findings were computed with, the decisions are exactly the stored ones.
import type { Db } from '@stella/platform';
import type { EvidenceFinding } from './evidence/model.ts';
import { evaluateFinding, type Policy } from './policy/index.ts';
import { countFindings, selectFindingsPage } from './sql/findings.ts';
import { selectActiveSnapshot, selectSnapshot } from './sql/policy.ts';

export interface ExportedSnapshot {
  id: string;
  name: string;
  /** The canonical JSON of the policy, parsed. */
  policy: Record<string, unknown>;
  /** The YAML as published. */
  source: string;
  /** DSSE envelope over the canonical JSON (payloadType application/vnd.stella.policy+json). */
  envelope: Record<string, unknown>;
  signerKeyid: string;
  createdAt: string;
}

export async function policySnapshotForExport(
  db: Db,
  tenant: string,
  id: string,
): Promise<ExportedSnapshot | undefined> {
  const row = await db.transaction((tx) => selectSnapshot(tx, id), { tenant });
  return (
    row && {
      id: row.id,
      name: row.name,
      policy: row.policy,
      source: row.source,
      envelope: row.envelope,
      signerKeyid: row.signer_keyid,
      createdAt: row.created_at,
    }
  );
}

/** The id of the tenant's active snapshot, when one is. */
export async function activePolicySnapshotId(db: Db, tenant: string): Promise<string | undefined> {
  return (await db.transaction((tx) => selectActiveSnapshot(tx), { tenant }))?.snapshot.id;
}

export async function countFindingsForExport(db: Db, tenant: string): Promise<number> {
  return db.transaction((tx) => countFindings(tx), { tenant });
}

/** One evaluations.jsonl record: the finding with its evidence and the snapshot's decision on it. */
export type EvaluationRecord = Record<string, unknown> & { id: string; evaluatedAt: string };

export async function* streamEvaluationsForExport(
  db: Db,
  tenant: string,
  snapshot: ExportedSnapshot,
  pageSize: number,
): AsyncGenerator<EvaluationRecord[]> {
  const policy = snapshot.policy as unknown as Policy;
  let after: string | undefined;
  for (;;) {
    const rows = await db.transaction((tx) => selectFindingsPage(tx, after, pageSize), { tenant });
    if (rows.length === 0) return;
    yield rows.map((row) => {
      const {
        policy: _stored,
        snapshotId: _storedSnapshot,
        ...finding
      } = row.document as EvidenceFinding & Record<string, unknown>;
      const decision = evaluateFinding(policy, finding as EvidenceFinding, new Date(row.evaluated_at));
      return {
        ...finding,
        id: row.id,
        evaluatedAt: row.evaluated_at,
        snapshotId: snapshot.id,
        policy: { ...decision },
      };
    });
    after = rows.at(-1)!.id;
  }
}
