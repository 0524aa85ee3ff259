// SPDX-License-Identifier: Apache-2.0
// Policy snapshots: a policy published once and never changed. Its id is the digest of its canonical
// JSON, so the same policy published twice is the same snapshot (200, nothing written) whatever its
// YAML layout; the YAML is kept as sent, and a DSSE envelope over the canonical JSON, signed with the
// tenant's `findings-policy` key, lets anyone check offline that a verdict was made under exactly
// this policy. Activating a snapshot appends to the tenant's activation history; stored findings are
// recomputed under it (the module queues that).
import type { Clock } from '@stella/core';
import { StellaError } from '@stella/core';
import { type Db, decodeCursor, encodeCursor, type SigningKeyStore, type Timeline, type Tx } from '@stella/platform';
import { FindingsErrors } from '../errors.ts';
import { canonicalPolicy, parsePolicy } from '../policy/index.ts';
import { policyDigest, policyInvalid } from '../policy/invalid.ts';
import {
  type ActivationRow,
  insertActivation,
  insertSnapshot,
  type SnapshotRow,
  selectActiveSnapshot,
  selectSnapshot,
  selectSnapshots,
} from '../sql/policy.ts';

/** The DSSE payload type of a snapshot envelope: the payload is the policy's canonical JSON. */
export const POLICY_PAYLOAD_TYPE = 'application/vnd.stella.policy+json';
export const POLICY_SIGNING_PURPOSE = 'findings-policy';
const SNAPSHOT_ID = /^sha256:[0-9a-f]{64}$/;
const DEFAULT_PAGE = 50;

export interface SnapshotDeps {
  db: Db;
  timeline: Timeline;
  clock: Clock;
  signing: SigningKeyStore;
}

export interface SnapshotView {
  id: string;
  name: string;
  createdBy: string;
  createdAt: string;
  signerKeyid: string;
}

export type SnapshotDetail = SnapshotView & {
  policy: Record<string, unknown>;
  source: string;
  envelope: Record<string, unknown>;
};

const viewOf = (row: SnapshotRow): SnapshotView => ({
  id: row.id,
  name: row.name,
  createdBy: row.created_by,
  createdAt: row.created_at,
  signerKeyid: row.signer_keyid,
});

const detailOf = (row: SnapshotRow): SnapshotDetail => ({
  ...viewOf(row),
  policy: row.policy,
  source: row.source,
  envelope: row.envelope,
});

const notFound = (id: string) =>
  new StellaError(
    FindingsErrors.policyNotFound,
    `policy snapshot ${id.slice(0, 160)} not found: \`stella policy list\` shows this tenant's snapshots`,
  );

/** A snapshot row for a policy text: parsed (422 on errors), identified by its digest, and signed. */
async function signedSnapshot(deps: SnapshotDeps, tenant: string, text: string, actor: string): Promise<SnapshotRow> {
  const now = deps.clock.now();
  const { policy, diagnostics } = parsePolicy(text, { now });
  if (!policy) throw policyInvalid('the policy', diagnostics);
  const canonical = canonicalPolicy(policy);
  const signer = await deps.signing.getSigner(tenant, POLICY_SIGNING_PURPOSE, 'ed25519');
  const envelope = signer.signDsse(POLICY_PAYLOAD_TYPE, Buffer.from(canonical, 'utf8'));
  return {
    id: policyDigest(policy),
    name: policy.metadata.name,
    source: text,
    policy: JSON.parse(canonical) as Record<string, unknown>,
    envelope: envelope as unknown as Record<string, unknown>,
    signer_keyid: signer.keyid,
    created_by: actor,
    created_at: now.toISOString(),
  };
}

async function publish(
  deps: SnapshotDeps,
  tenant: string,
  text: string,
  actor: string,
): Promise<{ snapshot: SnapshotDetail; created: boolean }> {
  const row = await signedSnapshot(deps, tenant, text, actor);
  return deps.db.transaction(
    async (tx) => {
      const created = await insertSnapshot(tx, tenant, row);
      if (created)
        await deps.timeline.append(tx, tenant, {
          category: 'policy',
          kind: 'policy.snapshot.created',
          details: { snapshotId: row.id, name: row.name, createdBy: actor, signerKeyid: row.signer_keyid },
        });
      // The same policy published before: its stored row (first YAML, first signature) is the snapshot.
      const stored = created ? row : await selectSnapshot(tx, row.id);
      return { snapshot: detailOf(stored!), created };
    },
    { tenant },
  );
}

export function createSnapshotService(deps: SnapshotDeps) {
  const inTenant = <T>(tenant: string, fn: (tx: Tx) => Promise<T>) => deps.db.transaction(fn, { tenant });

  async function activate(tx: Tx, tenant: string, id: string, actor: string): Promise<ActivationRow> {
    if (!SNAPSHOT_ID.test(id) || !(await selectSnapshot(tx, id))) throw notFound(id);
    const activation = await insertActivation(tx, tenant, {
      snapshot_id: id,
      activated_by: actor,
      activated_at: deps.clock.now().toISOString(),
    });
    await deps.timeline.append(tx, tenant, {
      category: 'policy',
      kind: 'policy.activated',
      details: { snapshotId: id, seq: activation.seq, activatedBy: actor },
    });
    return activation;
  }

  /** The active snapshot and its activation, or undefined when none was ever activated. */
  async function active(tenant: string) {
    const row = await inTenant(tenant, (tx) => selectActiveSnapshot(tx));
    if (!row) return undefined;
    return {
      seq: row.seq,
      activatedBy: row.activated_by,
      activatedAt: row.activated_at,
      snapshot: viewOf(row.snapshot),
    };
  }

  return {
    /** Parses, signs and stores a policy; `created` false when the same policy was published before. */
    publish: (tenant: string, text: string, actor: string) => publish(deps, tenant, text, actor),

    async get(tenant: string, id: string): Promise<SnapshotDetail> {
      const row = SNAPSHOT_ID.test(id) ? await inTenant(tenant, (tx) => selectSnapshot(tx, id)) : undefined;
      if (!row) throw notFound(id);
      return detailOf(row);
    },

    async list(tenant: string, query: { limit?: number | undefined; cursor?: string | undefined }) {
      const limit = query.limit ?? DEFAULT_PAGE;
      const rows = await inTenant(tenant, (tx) =>
        selectSnapshots(tx, { before: decodeCursor(query.cursor), limit: limit + 1 }),
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.map(viewOf),
        nextCursor: rows.length > limit && last ? encodeCursor(last.created_at, last.id) : null,
      };
    },

    activate: (tenant: string, id: string, actor: string) => inTenant(tenant, (tx) => activate(tx, tenant, id, actor)),

    active,

    /** The active snapshot, or 404 ERR_POLICY_NOT_FOUND when none was ever activated. */
    async requireActive(tenant: string) {
      const current = await active(tenant);
      if (!current)
        throw new StellaError(
          FindingsErrors.policyNotFound,
          'no policy snapshot is active for this tenant: publish one with `stella policy publish <file> --activate`',
        );
      return current;
    },

    /** The public halves of the tenant's findings-policy keys (active and retired), to verify envelopes offline. */
    async publicKeys(tenant: string) {
      return (await deps.signing.listPublicKeys(tenant)).filter((k) => k.purpose === POLICY_SIGNING_PURPOSE);
    },

    /** Refuses an id that is not a snapshot of this tenant (404 ERR_POLICY_NOT_FOUND). */
    async assertExists(tenant: string, id: string): Promise<void> {
      if (!SNAPSHOT_ID.test(id) || !(await inTenant(tenant, (tx) => selectSnapshot(tx, id)))) throw notFound(id);
    },
  };
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;
