// SPDX-License-Identifier: Apache-2.0
// aoc_connector_state: each source's resume cursor, when it last ran and its last error, one row per
// (tenant, source vendor, input). Tenant-scoped by row-level security inside the caller's transaction.
import type { Queryable } from '@stella/platform';

export interface ConnectorStateKey {
  tenant: string;
  vendor: string;
  input: string;
}

export interface ConnectorStateRow {
  source_vendor: string;
  input: string;
  cursor: string | null;
  updated_at: Date;
  last_error: string | null;
}

/** Every source's state in the transaction's tenant, by vendor and input. */
export async function listConnectorStates(tx: Queryable): Promise<ConnectorStateRow[]> {
  const { rows } = await tx.query<ConnectorStateRow>(
    'select source_vendor, input, cursor, updated_at, last_error from aoc_connector_state order by source_vendor, input',
  );
  return rows;
}

/** Where a source's last committed batch left off; undefined when it never ran. */
export async function loadCursor(
  tx: Queryable,
  key: ConnectorStateKey,
): Promise<{ cursor: string | null } | undefined> {
  const { rows } = await tx.query<{ cursor: string | null }>(
    'select cursor from aoc_connector_state where tenant = $1 and source_vendor = $2 and input = $3',
    [key.tenant, key.vendor, key.input],
  );
  return rows[0];
}

/** Records a run's progress; a null cursor keeps the saved one (a run that failed before its first batch). */
export async function saveCursor(
  tx: Queryable,
  key: ConnectorStateKey,
  cursor: string | null,
  lastError: string | null,
): Promise<void> {
  await tx.query(
    `insert into aoc_connector_state (tenant, source_vendor, input, cursor, updated_at, last_error)
         values ($1, $2, $3, $4, now(), $5)
         on conflict (tenant, source_vendor, input) do update
           set cursor = coalesce(excluded.cursor, aoc_connector_state.cursor), updated_at = now(), last_error = excluded.last_error`,
    [key.tenant, key.vendor, key.input, cursor, lastError],
  );
}
