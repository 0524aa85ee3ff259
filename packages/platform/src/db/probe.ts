// The readiness write probe: one committed upsert of one row. It fails where real writes fail: with
// 25006 on a read-only database and, on a full disk, once the write needs a new page or WAL segment.
import type { Tx } from './port.ts';

const CREATE = `create table if not exists stella_storage_probe (
  id integer primary key,
  probed_at timestamptz not null
)`;

const UPSERT = `insert into stella_storage_probe (id, probed_at) values (1, now())
  on conflict (id) do update set probed_at = excluded.probed_at`;

/** Returns a probe that creates its table on first use (the table is not tenant data and has no migration). */
export function storageProbe(): (tx: Tx) => Promise<void> {
  let created = false;
  return async (tx) => {
    if (!created) {
      await tx.query(CREATE);
      created = true;
    }
    try {
      await tx.query(UPSERT);
    } catch (error) {
      // Dropped by an operator: created again on the next probe.
      if ((error as { code?: string }).code === '42P01') created = false;
      throw error;
    }
  };
}
