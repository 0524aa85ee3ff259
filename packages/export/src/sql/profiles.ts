// SPDX-License-Identifier: Apache-2.0
// export_profiles: one row per immutable revision; the latest revision is the profile.
import type { Queryable } from '@stella/platform';
import type { ExportProfile } from '../profiles/schema.ts';

export interface ProfileRow {
  tenant: string;
  name: string;
  revision: number;
  kind: string;
  variant: string;
  document: ExportProfile;
  document_digest: string;
  cloned_from: string | null;
  created_by: string | null;
  created_at: Date | string;
  archived_at: Date | string | null;
}

const COLUMNS =
  'tenant, name, revision, kind, variant, document, document_digest, cloned_from, created_by, created_at, archived_at';

export async function latestProfile(tx: Queryable, name: string): Promise<ProfileRow | undefined> {
  const { rows } = await tx.query<ProfileRow>(
    `select ${COLUMNS} from export_profiles where name = $1 order by revision desc limit 1`,
    [name],
  );
  return rows[0];
}

export async function profileRevision(tx: Queryable, name: string, revision: number): Promise<ProfileRow | undefined> {
  const { rows } = await tx.query<ProfileRow>(
    `select ${COLUMNS} from export_profiles where name = $1 and revision = $2`,
    [name, revision],
  );
  return rows[0];
}

export async function insertProfile(
  tx: Queryable,
  row: Omit<ProfileRow, 'created_at' | 'archived_at'>,
): Promise<ProfileRow> {
  const { rows } = await tx.query<ProfileRow>(
    `insert into export_profiles (tenant, name, revision, kind, variant, document, document_digest, cloned_from, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning ${COLUMNS}`,
    [
      row.tenant,
      row.name,
      row.revision,
      row.kind,
      row.variant,
      JSON.stringify(row.document),
      row.document_digest,
      row.cloned_from,
      row.created_by,
    ],
  );
  return rows[0]!;
}

export async function listLatestProfiles(
  tx: Queryable,
  filter: { kind?: string | undefined; variant?: string | undefined; includeArchived?: boolean | undefined },
): Promise<ProfileRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.kind) {
    params.push(filter.kind);
    where.push(`kind = $${params.length}`);
  }
  if (filter.variant) {
    params.push(filter.variant);
    where.push(`variant = $${params.length}`);
  }
  if (!filter.includeArchived) where.push('archived_at is null');
  const { rows } = await tx.query<ProfileRow>(
    `select distinct on (name) ${COLUMNS} from export_profiles
      ${where.length ? `where ${where.join(' and ')}` : ''} order by name, revision desc`,
    params,
  );
  return rows;
}

export async function archiveProfile(tx: Queryable, name: string): Promise<number> {
  const result = await tx.query(
    'update export_profiles set archived_at = now() where name = $1 and archived_at is null',
    [name],
  );
  return result.rowCount ?? 0;
}
