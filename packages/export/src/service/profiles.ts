// SPDX-License-Identifier: Apache-2.0
// Profile revisions: a profile is immutable per revision; create, update, clone and archive each
// record a timeline event in the same transaction.
import { canonicalDigest, StellaError } from '@stella/core';
import type { Queryable } from '@stella/platform';
import { ExportErrors } from '../errors.ts';
import { type ExportProfile, PROFILE_API_VERSION, profileProblems } from '../profiles/schema.ts';
import {
  archiveProfile as archiveProfileRow,
  insertProfile,
  latestProfile,
  listLatestProfiles,
  type ProfileRow,
  profileRevision,
} from '../sql/profiles.ts';
import type { ServiceCore } from './core.ts';
import { type ProfileView, profileView } from './views.ts';

export interface ProfileFilter {
  kind?: string | undefined;
  variant?: string | undefined;
  /** Include archived profiles. */
  archived?: boolean | undefined;
}

/** Two revisions say the same when spec and labels match; name and revision bookkeeping aside. */
function sameContent(stored: ExportProfile, candidate: ExportProfile): boolean {
  return (
    canonicalDigest({ spec: stored.spec, labels: stored.metadata.labels ?? {} }) ===
    canonicalDigest({ spec: candidate.spec, labels: candidate.metadata.labels ?? {} })
  );
}

/** The profile document if it is valid for this tenant (and, on update, this name); ERR_EXPORT_001 listing every problem otherwise. */
function checkProfile(doc: unknown, tenant: string, name?: string): ExportProfile {
  const problems = profileProblems(doc);
  const profile = doc as ExportProfile;
  if (problems.length === 0) {
    if (profile.metadata.tenant !== undefined && profile.metadata.tenant !== tenant) {
      problems.push({ pointer: '/metadata/tenant', message: `must be the caller's tenant ${tenant} or absent` });
    }
    if (name !== undefined && profile.metadata.name !== name) {
      problems.push({ pointer: '/metadata/name', message: `must be ${name}, the profile being updated` });
    }
  }
  if (problems.length > 0) {
    throw new StellaError(
      ExportErrors.validation,
      `invalid export profile: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
      { details: { errors: problems } },
    );
  }
  return profile;
}

async function storeRevision(
  q: Queryable,
  tenant: string,
  doc: ExportProfile,
  revision: number,
  actor: string | null,
  clonedFrom: string | null,
): Promise<ProfileRow> {
  const document: ExportProfile = {
    apiVersion: PROFILE_API_VERSION,
    kind: 'ExportProfile',
    metadata: { ...doc.metadata, tenant, revision: `r${revision}` },
    spec: doc.spec,
  };
  return insertProfile(q, {
    tenant,
    name: doc.metadata.name,
    revision,
    kind: doc.spec.kind,
    variant: doc.spec.variant,
    document,
    document_digest: canonicalDigest(document),
    cloned_from: clonedFrom,
    created_by: actor,
  });
}

/** `r3` → 3; the route's schema has already checked the pattern. */
export function revisionNumber(revision: string | undefined): number | undefined {
  return revision ? Number(revision.slice(1)) : undefined;
}

/** Creates r1; the same document again is a no-op answering the stored revision (`created: false`). */
async function createProfile(
  core: ServiceCore,
  tenant: string,
  doc: unknown,
  actor: string | null,
): Promise<{ profile: ProfileView; created: boolean }> {
  const profile = checkProfile(doc, tenant);
  const { row, created } = await core.tx(tenant, async (q) => {
    const latest = await latestProfile(q, profile.metadata.name);
    if (latest) {
      if (!latest.archived_at && sameContent(latest.document, profile)) return { row: latest, created: false };
      throw new StellaError(
        ExportErrors.conflict,
        `profile ${profile.metadata.name} already exists with other content; update it (PUT) to make a new revision, or clone it`,
      );
    }
    const stored = await storeRevision(q, tenant, profile, 1, actor, null);
    await core.deps.timeline.append(q, tenant, {
      category: 'export',
      kind: 'export.profile.created',
      details: { profileId: stored.name, revision: 'r1', digest: stored.document_digest },
    });
    return { row: stored, created: true };
  });
  return { profile: profileView(row), created };
}

async function updateProfile(core: ServiceCore, tenant: string, name: string, doc: unknown, actor: string | null) {
  const profile = checkProfile(doc, tenant, name);
  const { row, created } = await core.tx(tenant, async (q) => {
    const latest = await latestProfile(q, name);
    if (!latest) throw core.notFound(`export profile ${name}`);
    if (latest.archived_at) throw new StellaError(ExportErrors.conflict, `profile ${name} is archived`);
    if (sameContent(latest.document, profile)) return { row: latest, created: false };
    const stored = await storeRevision(q, tenant, profile, latest.revision + 1, actor, latest.cloned_from);
    await core.deps.timeline.append(q, tenant, {
      category: 'export',
      kind: 'export.profile.updated',
      details: { profileId: name, revision: `r${stored.revision}`, digest: stored.document_digest },
    });
    return { row: stored, created: true };
  });
  return { profile: profileView(row), created };
}

async function getProfile(core: ServiceCore, tenant: string, name: string, revision?: number): Promise<ProfileView> {
  const row = await core.tx(tenant, (q) => (revision ? profileRevision(q, name, revision) : latestProfile(q, name)));
  if (!row) throw core.notFound(`export profile ${name}${revision ? ` revision r${revision}` : ''}`);
  return profileView(row);
}

/** The latest revision of each profile, archived ones only when asked for. */
async function listProfiles(core: ServiceCore, tenant: string, filter: ProfileFilter): Promise<ProfileView[]> {
  const rows = await core.tx(tenant, (q) =>
    listLatestProfiles(q, {
      ...(filter.kind ? { kind: filter.kind } : {}),
      ...(filter.variant ? { variant: filter.variant } : {}),
      includeArchived: filter.archived ?? false,
    }),
  );
  return rows.map(profileView);
}

async function cloneProfile(
  core: ServiceCore,
  tenant: string,
  name: string,
  newName: string,
  actor: string | null,
): Promise<ProfileView> {
  const row = await core.tx(tenant, async (q) => {
    const source = await latestProfile(q, name);
    if (!source) throw core.notFound(`export profile ${name}`);
    const doc = { ...source.document, metadata: { ...source.document.metadata, name: newName } };
    delete doc.metadata.revision;
    checkProfile(doc, tenant);
    if (await latestProfile(q, newName)) {
      throw new StellaError(ExportErrors.conflict, `profile ${newName} already exists; pick another name`);
    }
    const stored = await storeRevision(q, tenant, doc, 1, actor, `${name}@r${source.revision}`);
    await core.deps.timeline.append(q, tenant, {
      category: 'export',
      kind: 'export.profile.cloned',
      details: { profileId: newName, from: `${name}@r${source.revision}`, digest: stored.document_digest },
    });
    return stored;
  });
  return profileView(row);
}

async function archiveProfile(core: ServiceCore, tenant: string, name: string): Promise<ProfileView> {
  const row = await core.tx(tenant, async (q) => {
    const latest = await latestProfile(q, name);
    if (!latest) throw core.notFound(`export profile ${name}`);
    if ((await archiveProfileRow(q, name)) > 0) {
      await core.deps.timeline.append(q, tenant, {
        category: 'export',
        kind: 'export.profile.archived',
        details: { profileId: name, revision: `r${latest.revision}` },
      });
    }
    return (await latestProfile(q, name))!;
  });
  return profileView(row);
}

/** The profile half of the service; each takes the service core first (see bindCore). */
export const profileOperations = {
  createProfile,
  updateProfile,
  getProfile,
  listProfiles,
  cloneProfile,
  archiveProfile,
};
