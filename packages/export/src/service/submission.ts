// SPDX-License-Identifier: Apache-2.0
// What a submission is checked against before its run is queued: what the profile's adapter cannot
// build, and which policy snapshot the run gets (spec §2.1 policySnapshotMode), so a run never starts
// against a snapshot that is not there. The findings room owns snapshots; this asks its door, outside
// the submission's transaction (PGlite has one connection, a nested transaction would wait forever).
import { StellaError } from '@stella/core';
import {
  activePolicySnapshotId,
  type ExportedSnapshot,
  FindingsErrors,
  policySnapshotForExport,
} from '@stella/findings';
import type { Db } from '@stella/platform';
import type { ProfileProblem } from '../adapters/adapter.ts';
import { adapterFor } from '../adapters/registry.ts';
import { encryptionProblems } from '../crypto/profile.ts';
import { ExportErrors } from '../errors.ts';
import type { ExportProfile } from '../profiles/schema.ts';
import type { Selectors } from '../selectors.ts';

/** What the rules ask of the tenant's snapshots. */
export interface PolicySnapshotLookup {
  exists(id: string): Promise<boolean>;
  /** The tenant's active snapshot id, when one is. */
  active(): Promise<string | undefined>;
}

/** The lookup through the findings room's door. */
export function findingsSnapshotLookup(db: Db, tenant: string): PolicySnapshotLookup {
  return {
    exists: async (id) => (await policySnapshotForExport(db, tenant, id)) !== undefined,
    active: () => activePolicySnapshotId(db, tenant),
  };
}

/** The request's problems the profile alone decides (400s): `required` without an id, `none` with one. */
function policySnapshotProblems(profile: ExportProfile, requested: string | undefined): ProfileProblem[] {
  const mode = profile.spec.policySnapshotMode;
  if (mode === 'required' && !requested) {
    return [
      {
        pointer: '/policySnapshotId',
        message: 'the profile requires a policy snapshot id (policySnapshotMode: required)',
      },
    ];
  }
  if (mode === 'none' && requested) {
    return [
      {
        pointer: '/policySnapshotId',
        message:
          'the profile takes no policy snapshot (policySnapshotMode: none); drop policySnapshotId or change the profile',
      },
    ];
  }
  return [];
}

/**
 * The snapshot id to store on the run, once the problems above are ruled out: a given id must be
 * one of the tenant's snapshots (404 ERR_POLICY_NOT_FOUND otherwise, as for another tenant's); with
 * none given, a format evaluated under a policy takes the tenant's active snapshot, and is refused
 * when there is none; other formats then have none.
 */
async function resolvePolicySnapshot(
  profile: ExportProfile,
  requested: string | undefined,
  needsPolicySnapshot: boolean,
  lookup: PolicySnapshotLookup,
): Promise<string | null> {
  if (requested) {
    if (!(await lookup.exists(requested))) {
      throw new StellaError(FindingsErrors.policyNotFound, `policy snapshot ${requested} not found for this tenant`);
    }
    return requested;
  }
  if (!needsPolicySnapshot || profile.spec.policySnapshotMode === 'none') return null;
  const active = await lookup.active();
  if (active) return active;
  throw refusal(profile, [
    {
      pointer: '/policySnapshotId',
      message:
        'no policy snapshot is active for this tenant: pass policySnapshotId or activate a policy (`stella policy publish <file> --activate`)',
    },
  ]);
}

/** ERR_EXPORT_001 listing every problem with its pointer, so the caller can fix them all at once. */
function refusal(profile: ExportProfile, problems: ProfileProblem[]): StellaError {
  return new StellaError(
    ExportErrors.validation,
    `profile ${profile.metadata.name} cannot run: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
    { details: { errors: problems } },
  );
}

/**
 * Refuses a run this build would otherwise complete wrongly (what the profile's adapter cannot
 * honour, a policy snapshot id its policySnapshotMode requires or forbids, an unknown snapshot) and
 * returns the policy snapshot id to store on the run.
 */
export async function checkSubmission(
  profile: ExportProfile,
  selectors: Selectors,
  requested: string | undefined,
  lookup: PolicySnapshotLookup,
): Promise<string | null> {
  const adapter = adapterFor(`${profile.spec.kind}:${profile.spec.variant}`);
  const problems = [
    ...adapter.refuse(profile, selectors),
    ...encryptionProblems(profile),
    ...policySnapshotProblems(profile, requested),
  ];
  if (problems.length > 0) throw refusal(profile, problems);
  return resolvePolicySnapshot(profile, requested, adapter.needsPolicySnapshot === true, lookup);
}

/**
 * A run's snapshot, for the worker: submission checked it exists and snapshots are never deleted,
 * so a miss is a broken store, reported as a coded export error (the run fails at once, unretried).
 */
export async function loadRunSnapshot(db: Db, tenant: string, id: string): Promise<ExportedSnapshot> {
  const snapshot = await policySnapshotForExport(db, tenant, id);
  if (!snapshot) {
    throw new StellaError(
      ExportErrors.validation,
      `the run's policy snapshot ${id} was not found for tenant ${tenant}; submit the run again`,
    );
  }
  return snapshot;
}
