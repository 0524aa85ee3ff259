// Export runs, newest first, a page at a time with the API's cursor, and the form that starts one
// (export:run). Each run links to its page, where its progress is followed live.
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { hasScope } from '../../auth/session.ts';
import { Pager, useCursorPages } from '../../components/cursor-pages.tsx';
import { Problem } from '../../components/problem.tsx';
import { useDraft } from '../../drafts.ts';
import { sendJson } from './requests.ts';
import type { ExportProfile, RunPage, RunStatus, SubmittedRun } from './types.ts';

const PAGE_SIZE = 20;
const STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired'];

export const runPagePath = (runId: string) => `/console/exports/runs/${encodeURIComponent(runId)}`;

export function runsPath(status: string): string {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (status) query.set('status', status);
  return `/api/export/runs?${query}`;
}

interface StartForm {
  profileId: string;
  allowEmpty: boolean;
}

function StartRun({ profiles, onStarted }: { profiles: ExportProfile[]; onStarted: () => void }) {
  const { route } = useLocation();
  const active = profiles.filter((p) => !p.archived);
  const [form, setForm] = useDraft<StartForm>('export-run-form', { profileId: '', allowEmpty: false });
  const [error, setError] = useState<unknown>();
  const [starting, setStarting] = useState(false);
  const profileId = form.profileId || active[0]?.profileId || '';
  const start = async (event: Event) => {
    event.preventDefault();
    setStarting(true);
    setError(undefined);
    try {
      const run = await sendJson<SubmittedRun>('POST', '/api/export/runs', {
        profileId,
        allowEmpty: form.allowEmpty,
      });
      onStarted();
      route(runPagePath(run.runId));
    } catch (caught) {
      setError(caught);
      setStarting(false);
    }
  };
  if (active.length === 0) return <p class="hint">Create a profile to start a run.</p>;
  return (
    <form class="export-form" onSubmit={start} aria-label="Start a run">
      <div class="export-field">
        <label for="run-profile">Profile to run</label>
        <select
          id="run-profile"
          value={profileId}
          onChange={(e) => setForm({ ...form, profileId: e.currentTarget.value })}
        >
          {active.map((p) => (
            <option key={p.profileId} value={p.profileId}>
              {p.profileId} ({p.kind}:{p.variant}, {p.revision})
            </option>
          ))}
        </select>
      </div>
      <label class="inline">
        <input
          type="checkbox"
          checked={form.allowEmpty}
          onChange={(e) => setForm({ ...form, allowEmpty: e.currentTarget.checked })}
        />
        Allow an empty bundle
      </label>
      <button type="submit" disabled={starting}>
        {starting ? 'Starting…' : 'Start run'}
      </button>
      {error !== undefined && <Problem error={error} />}
    </form>
  );
}

export function RunsSection({ profiles, onStarted }: { profiles: ExportProfile[]; onStarted: () => void }) {
  const [status, setStatus] = useState('');
  // Another status filter is another list: its pages start again at the first.
  const pages = useCursorPages<RunPage['items'][number]>(runsPath(status));
  const { page, error, loading } = pages;
  return (
    <section aria-labelledby="export-runs">
      <h2 id="export-runs">Runs</h2>
      {hasScope('export:run') && <StartRun profiles={profiles} onStarted={onStarted} />}
      <div class="filters">
        <div class="export-field">
          <label for="run-status-filter">Status</label>
          <select id="run-status-filter" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={pages.reload} disabled={loading}>
          Refresh runs
        </button>
      </div>
      {error !== undefined && <Problem error={error} />}
      <Pager label="Run pages" pages={pages} />
      {page?.items.length === 0 ? (
        <p>No export runs{status ? ` with status ${status}` : ''}.</p>
      ) : (
        <div class="scroll">
          <table>
            <caption>Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Profile</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Bundle</th>
              </tr>
            </thead>
            <tbody>
              {page?.items.map((run) => (
                <tr key={run.runId}>
                  <td>
                    <a href={runPagePath(run.runId)}>{run.runId}</a>
                  </td>
                  <td>
                    {run.profileId}@{run.profileRevision}
                  </td>
                  <td class={`export-status export-status-${run.status}`}>{run.status}</td>
                  <td>{run.progress.percent} %</td>
                  <td>
                    <time dateTime={run.createdAt}>{run.createdAt}</time>
                  </td>
                  <td>{run.bundle ? <code>{run.bundle.digest.slice(0, 19)}…</code> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
