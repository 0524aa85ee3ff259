// SPDX-License-Identifier: Apache-2.0
// AOC_ALLOW_SUPERSEDES_RETROFIT: rows imported by SQL from an older store may lack their supersedes
// link. Link each such row to the previous revision of its document. This runs during the cutover
// window of the runbook, while the constraint set is removed (its CHECK and append-only trigger
// refuse such rows and this UPDATE); re-apply the constraints afterwards.
import type { Db } from '@stella/platform';

export async function retrofitSupersedes(db: Db, tenants: readonly string[]): Promise<number> {
  let linked = 0;
  for (const tenant of [...new Set(tenants)].sort()) {
    linked += await db.transaction(
      async (tx) => {
        let n = 0;
        for (const store of ['advisory_raw', 'vex_raw']) {
          const result = await tx.query(
            `update ${store} r set supersedes = p.id
               from ${store} p
              where r.supersedes is null and r.revision > 1
                and p.tenant = r.tenant and p.source_vendor = r.source_vendor
                and p.upstream_id = r.upstream_id and p.revision = r.revision - 1`,
          );
          n += result.rowCount;
        }
        return n;
      },
      { tenant },
    );
  }
  return linked;
}
