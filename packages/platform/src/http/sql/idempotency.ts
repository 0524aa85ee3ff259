// SQL for the idempotency-key aggregate; run in transactions whose app.tenant is the caller's tenant.
import type { Queryable } from '../../db/index.ts';

export interface IdempotencyRow {
  request_hash: string;
  status: number | null;
  response: string | null;
  content_type: string | null;
  location: string | null;
  stale: boolean;
}

export async function reserveKey(tx: Queryable, tenant: string, key: string, requestHash: string): Promise<boolean> {
  const result = await tx.query(
    `insert into idempotency_keys (tenant, key, request_hash) values ($1, $2, $3)
     on conflict (tenant, key) do nothing returning key`,
    [tenant, key, requestHash],
  );
  return result.rowCount === 1;
}

export async function selectKey(
  tx: Queryable,
  tenant: string,
  key: string,
  inFlightSeconds: number,
): Promise<IdempotencyRow | undefined> {
  const result = await tx.query<IdempotencyRow>(
    `select request_hash, status, response, content_type, location,
            created_at < now() - make_interval(secs => $3) as stale
       from idempotency_keys where tenant = $1 and key = $2 for update`,
    [tenant, key, inFlightSeconds],
  );
  return result.rows[0];
}

export async function restartKey(tx: Queryable, tenant: string, key: string): Promise<void> {
  await tx.query('update idempotency_keys set created_at = now() where tenant = $1 and key = $2', [tenant, key]);
}

export async function completeKey(
  tx: Queryable,
  tenant: string,
  key: string,
  outcome: { status: number; response: string; contentType: string | null; location: string | null },
): Promise<void> {
  await tx.query(
    `update idempotency_keys set status = $3, response = $4, content_type = $5, location = $6
      where tenant = $1 and key = $2`,
    [tenant, key, outcome.status, outcome.response, outcome.contentType, outcome.location],
  );
}

export async function releaseKey(tx: Queryable, tenant: string, key: string): Promise<void> {
  await tx.query('delete from idempotency_keys where tenant = $1 and key = $2 and status is null', [tenant, key]);
}
