// SPDX-License-Identifier: Apache-2.0
// The AOC room's door for mirror imports (issue 15): records another stella stored, written here with
// the same ids, revisions, supersedes links, ingestion times and bytes, so a disconnected site holds
// exactly what the source holds. Nothing is re-derived from the document except what the row needs to
// be found (its package keys); the database's contract constraints (hash recomputed from the raw text,
// gap-free chains, forbidden keys, append-only) still guard every row, as for a hand-written INSERT.
// A record this stella already has with the same content is left as it is, so a bundle imported twice
// or a full bundle over its own deltas changes nothing; the same id with other content means the two
// stellas diverged, and nothing of the batch is written.
import { createHash } from 'node:crypto';
import { type ErrorDefinition, StellaError } from '@stella/core';
import type { Queryable } from '@stella/platform';
import { AocErrors } from '../errors.ts';
import { insertRows, type RawRow } from '../sql/raw.ts';
import type { AocEnvelope, RawStore } from './envelope.ts';
import { packagesOf } from './prepare.ts';
import { mapDatabaseError } from './store.ts';

/** A record as a mirror carries it: its envelope with `content.raw` the document text exactly as stored. */
export interface ReplicaRecord {
  envelope: AocEnvelope;
  raw: string;
}

export interface ReplicaResult {
  inserted: number;
  /** Already here with the same content hash. */
  present: number;
}

const ID = /^(advisory_raw|vex_raw):(.+):([1-9][0-9]{0,8})$/;

function refuse(def: ErrorDefinition, id: string, why: string): StellaError {
  return new StellaError(def, `record ${id}: ${why}`, { details: { id } });
}

/** The row for one record, after the checks that give a clearer message than the constraint would. */
function rowOf(tenant: string, store: RawStore, record: ReplicaRecord): RawRow {
  const { envelope, raw } = record;
  const match = ID.exec(typeof envelope?.id === 'string' ? envelope.id : '');
  if (!match || match[1] !== store) {
    throw refuse(AocErrors.malformedDocument, String(envelope?.id), `is not an id of ${store}`);
  }
  const hash = `sha256:${createHash('sha256').update(raw, 'utf8').digest('hex')}`;
  if (envelope.upstream?.content_hash !== hash) {
    throw refuse(
      AocErrors.signatureMismatch,
      envelope.id,
      `its raw text hashes to ${hash}, not the ${String(envelope.upstream?.content_hash)} it names`,
    );
  }
  return {
    envelope: { ...envelope, tenant },
    revision: Number(match[3]),
    raw,
    packages: packagesOf(envelope.linkset?.purls ?? []),
  };
}

/**
 * Writes the records of one store into `tenant` inside the caller's transaction (which must be scoped
 * to that tenant). Records may come in any order within the call: the chain foreign key is checked at
 * the end of the one INSERT, so a revision and its predecessor may arrive together.
 */
export async function importRawRecords(
  tx: Queryable,
  tenant: string,
  store: RawStore,
  records: readonly ReplicaRecord[],
): Promise<ReplicaResult> {
  if (records.length === 0) return { inserted: 0, present: 0 };
  const rows = records.map((record) => rowOf(tenant, store, record));
  const { rows: existing } = await tx.query<{ id: string; content_hash: string }>(
    `select id, content_hash from ${store} where tenant = $1 and id = any($2::text[])`,
    [tenant, rows.map((r) => r.envelope.id)],
  );
  const here = new Map(existing.map((r) => [r.id, r.content_hash]));
  const fresh: RawRow[] = [];
  for (const row of rows) {
    const hash = here.get(row.envelope.id);
    if (hash === undefined) fresh.push(row);
    else if (hash !== row.envelope.upstream.content_hash) {
      throw refuse(
        AocErrors.idempotency,
        row.envelope.id,
        `this stella holds it with content ${hash}, the bundle with ${row.envelope.upstream.content_hash}: the two have diverged (records were ingested here too); import into a tenant that only receives mirrors`,
      );
    }
  }
  try {
    await insertRows(tx, store, fresh);
  } catch (error) {
    throw mapDatabaseError(error);
  }
  return { inserted: fresh.length, present: rows.length - fresh.length };
}
