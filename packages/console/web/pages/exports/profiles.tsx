// Export profiles: the latest revision of each, a form for the common fields, a pasted YAML or JSON document
// for everything else (encryption, include, policy mode), and each profile's revisions, read one at a
// time, with a new revision saved from an edited document (PUT stores r<N+1>).
import { useState } from 'preact/hooks';
import { getJson } from '../../api.ts';
import { hasScope } from '../../auth/session.ts';
import { Problem } from '../../components/problem.tsx';
import { useDraft } from '../../drafts.ts';
import { profilePath, sendDocument, sendJson } from './requests.ts';
import type { ExportProfile, ProfileDocument } from './types.ts';

const API_VERSION = 'stellaops.io/export.v1';
/** The kind:variant pairs the profile schema defines (KIND_VARIANTS in packages/export/src/profiles/schema.ts). */
const KINDS = ['json:raw', 'json:policy', 'trivy:db', 'trivy:java-db', 'mirror:full', 'mirror:delta'] as const;
const DISTRIBUTIONS = ['http', 'object', 'oci'] as const;

interface ProfileForm {
  name: string;
  kindVariant: string;
  distribution: string[];
  codec: string;
  retentionMode: '' | 'days' | 'count';
  retentionValue: string;
}

const EMPTY_FORM: ProfileForm = {
  name: '',
  kindVariant: 'json:raw',
  distribution: ['http'],
  codec: 'zstd',
  retentionMode: '',
  retentionValue: '30',
};

function documentOf(form: ProfileForm): ProfileDocument {
  const [kind = 'json', variant = 'raw'] = form.kindVariant.split(':');
  return {
    apiVersion: API_VERSION,
    kind: 'ExportProfile',
    metadata: { name: form.name.trim() },
    spec: {
      kind,
      variant,
      distribution: form.distribution,
      compression: { codec: form.codec },
      ...(form.retentionMode ? { retention: { mode: form.retentionMode, value: Number(form.retentionValue) } } : {}),
    },
  };
}

function CreateProfile({ onCreated }: { onCreated: (profile: ExportProfile) => void }) {
  const [form, setForm] = useDraft<ProfileForm>('export-profile-form', EMPTY_FORM);
  const [pasted, setPasted] = useDraft<string>('export-profile-json', '');
  const [error, setError] = useState<unknown>();
  const [created, setCreated] = useState<ExportProfile>();
  const create = async (send: () => Promise<ExportProfile>) => {
    setError(undefined);
    setCreated(undefined);
    try {
      const profile = await send();
      setCreated(profile);
      onCreated(profile);
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    }
  };
  const submitForm = async (event: Event) => {
    event.preventDefault();
    if (await create(() => sendJson('POST', '/api/export/profiles', documentOf(form)))) setForm(EMPTY_FORM);
  };
  const submitPasted = async (event: Event) => {
    event.preventDefault();
    if (await create(() => sendDocument('POST', '/api/export/profiles', pasted))) setPasted('');
  };
  const toggleDistribution = (target: string, on: boolean) =>
    setForm({
      ...form,
      distribution: DISTRIBUTIONS.filter((d) => (d === target ? on : form.distribution.includes(d))),
    });
  return (
    <section aria-labelledby="create-profile">
      <h3 id="create-profile">New profile</h3>
      <form class="export-form" onSubmit={submitForm} aria-label="New profile from fields">
        <label>
          Profile name
          <input
            name="name"
            required
            minLength={3}
            maxLength={64}
            pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
            title="3 to 64 lowercase letters, digits and dashes"
            value={form.name}
            onInput={(e) => setForm({ ...form, name: e.currentTarget.value })}
          />
        </label>
        <div class="export-field">
          <label for="profile-kind">Kind</label>
          <select
            id="profile-kind"
            value={form.kindVariant}
            onChange={(e) => setForm({ ...form, kindVariant: e.currentTarget.value })}
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
        <fieldset>
          <legend>Distribution</legend>
          {DISTRIBUTIONS.map((d) => (
            <label key={d} class="inline">
              <input
                type="checkbox"
                checked={form.distribution.includes(d)}
                onChange={(e) => toggleDistribution(d, e.currentTarget.checked)}
              />
              {d}
            </label>
          ))}
        </fieldset>
        <div class="export-field">
          <label for="profile-compression">Compression</label>
          <select
            id="profile-compression"
            value={form.codec}
            onChange={(e) => setForm({ ...form, codec: e.currentTarget.value })}
          >
            <option value="zstd">zstd</option>
            <option value="gzip">gzip</option>
            <option value="none">none</option>
          </select>
        </div>
        <div class="export-field">
          <label for="profile-retention">Retention</label>
          <select
            id="profile-retention"
            value={form.retentionMode}
            onChange={(e) => setForm({ ...form, retentionMode: e.currentTarget.value as ProfileForm['retentionMode'] })}
          >
            <option value="">default for the kind</option>
            <option value="days">days</option>
            <option value="count">last N runs</option>
          </select>
        </div>
        {form.retentionMode && (
          <label>
            Retention value
            <input
              type="number"
              min={1}
              max={36500}
              required
              value={form.retentionValue}
              onInput={(e) => setForm({ ...form, retentionValue: e.currentTarget.value })}
            />
          </label>
        )}
        <button type="submit">Create profile</button>
      </form>
      <form class="export-form" onSubmit={submitPasted} aria-label="New profile from a document">
        <label class="wide">
          <span>
            Profile document, YAML or JSON (as <code>stella export profile create --file</code> takes it)
          </span>
          <textarea
            rows={8}
            required
            spellcheck={false}
            value={pasted}
            onInput={(e) => setPasted(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Create from document</button>
      </form>
      <div role="status" aria-live="polite">
        {created && (
          <p class="status-ok">
            Profile <code>{created.profileId}</code> {created.revision} stored.
          </p>
        )}
      </div>
      {error !== undefined && <Problem error={error} />}
    </section>
  );
}

function Revisions({ profile, onSaved }: { profile: ExportProfile; onSaved: (profile: ExportProfile) => void }) {
  const latest = Number(profile.revision.slice(1));
  const [revision, setRevision] = useState(profile.revision);
  const [shown, setShown] = useState<ExportProfile>(profile);
  const [edited, setEdited] = useDraft<string>(`export-profile-edit-${profile.profileId}`, '');
  const [error, setError] = useState<unknown>();
  const open = async (next: string) => {
    setRevision(next);
    setError(undefined);
    try {
      setShown(await getJson<ExportProfile>(`${profilePath(profile.profileId)}?revision=${next}`));
    } catch (caught) {
      setError(caught);
    }
  };
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      const saved = await sendDocument<ExportProfile>('PUT', profilePath(profile.profileId), edited);
      setEdited('');
      setRevision(saved.revision);
      setShown(saved);
      onSaved(saved);
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <div class="export-revisions">
      <div class="export-field">
        <label for={`revision-${profile.profileId}`}>Revision of {profile.profileId}</label>
        <select id={`revision-${profile.profileId}`} value={revision} onChange={(e) => open(e.currentTarget.value)}>
          {Array.from({ length: latest }, (_, i) => `r${latest - i}`).map((r) => (
            <option key={r} value={r}>
              {r}
              {r === profile.revision ? ' (latest)' : ''}
            </option>
          ))}
        </select>
      </div>
      <p>
        {shown.revision} stored <time dateTime={shown.createdAt}>{shown.createdAt}</time>, digest{' '}
        <code class="hash">{shown.documentDigest}</code>
      </p>
      <pre>{JSON.stringify(shown.document, null, 2)}</pre>
      {hasScope('export:profile:manage') && !profile.archived && (
        <form class="export-form" onSubmit={save} aria-label={`New revision of ${profile.profileId}`}>
          <label class="wide">
            New revision of {profile.profileId} (YAML or JSON; the name stays {profile.profileId})
            <textarea
              rows={8}
              required
              spellcheck={false}
              value={edited}
              onInput={(e) => setEdited(e.currentTarget.value)}
            />
          </label>
          <button type="button" onClick={() => setEdited(JSON.stringify(shown.document, null, 2))}>
            Start from {shown.revision}
          </button>
          <button type="submit">Save as new revision</button>
        </form>
      )}
      {error !== undefined && <Problem error={error} />}
    </div>
  );
}

export function ProfilesSection({
  profiles,
  onChange,
}: {
  profiles: ExportProfile[];
  onChange: (profile: ExportProfile) => void;
}) {
  return (
    <section aria-labelledby="export-profiles">
      <h2 id="export-profiles">Profiles</h2>
      {profiles.length === 0 ? (
        <p>No export profiles yet.</p>
      ) : (
        <ul class="export-profiles">
          {profiles.map((p) => (
            <li key={p.profileId}>
              <details>
                <summary>
                  <strong>{p.profileId}</strong> {p.revision} · {p.kind}:{p.variant} ·{' '}
                  {p.document.spec.distribution.join(', ')}
                  {p.archived ? ' · archived' : ''}
                </summary>
                <Revisions key={p.revision} profile={p} onSaved={onChange} />
              </details>
            </li>
          ))}
        </ul>
      )}
      {hasScope('export:profile:manage') && <CreateProfile onCreated={onChange} />}
    </section>
  );
}
