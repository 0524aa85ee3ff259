// The tenant's run quota for today (and, with orch:quota, its runs per day: 0 pauses submissions,
// runbook §7.3) and retention: each profile's policy and the pruner run now (export:profile:manage).
import { useState } from 'preact/hooks';
import { hasScope } from '../../auth/session.ts';
import { Problem } from '../../components/problem.tsx';
import { sendJson } from './requests.ts';
import type { ExportProfile, Quota } from './types.ts';

/** The export service's defaults when a profile names no retention (packages/export/src/retention.ts). */
function retentionOf(profile: ExportProfile): string {
  const retention =
    profile.document.spec.retention ??
    (profile.kind === 'trivy' ? { mode: 'count', value: 10 } : { mode: 'days', value: 30 });
  const text = retention.mode === 'days' ? `${retention.value} days` : `last ${retention.value} runs`;
  return profile.document.spec.retention ? text : `${text} (default)`;
}

export function QuotaPanel({ quota, onChange }: { quota: Quota | undefined; onChange: (quota: Quota) => void }) {
  const [runsPerDay, setRunsPerDay] = useState('');
  const [error, setError] = useState<unknown>();
  const save = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    try {
      onChange(await sendJson<Quota>('PUT', '/api/export/quota', { runsPerDay: Number(runsPerDay) }));
      setRunsPerDay('');
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <section aria-labelledby="export-quota">
      <h2 id="export-quota">Quota</h2>
      {quota && (
        <p>
          {quota.limit === 0 ? (
            <strong class="status-bad">Submissions paused (0 runs per day).</strong>
          ) : (
            <>
              <strong>{quota.remaining}</strong> of {quota.limit} runs left today
            </>
          )}
          ; resets{' '}
          <time dateTime={new Date(quota.reset * 1000).toISOString()}>
            {new Date(quota.reset * 1000).toISOString()}
          </time>
        </p>
      )}
      {hasScope('orch:quota') && (
        <form class="filters" onSubmit={save}>
          <label>
            Runs per day (0 pauses)
            <input
              type="number"
              min={0}
              step={1}
              required
              value={runsPerDay}
              onInput={(e) => setRunsPerDay(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Set quota</button>
        </form>
      )}
      {error !== undefined && <Problem error={error} />}
    </section>
  );
}

interface PruneReport {
  pruned: { runId: string; profileId: string; reason: string }[];
  kept: number;
  blobsDeleted: number;
  keptBytes: number;
}

export function RetentionPanel({ profiles, onPruned }: { profiles: ExportProfile[]; onPruned: () => void }) {
  const [report, setReport] = useState<PruneReport>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const prune = async () => {
    setRunning(true);
    setError(undefined);
    try {
      setReport(await sendJson<PruneReport>('POST', '/api/export/retention/run'));
      onPruned();
    } catch (caught) {
      setError(caught);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section aria-labelledby="export-retention">
      <h2 id="export-retention">Retention</h2>
      <p class="hint">Bundles older than their profile's retention are pruned nightly; their runs become expired.</p>
      {profiles.length > 0 && (
        <ul class="export-retention">
          {profiles.map((p) => (
            <li key={p.profileId}>
              <code>{p.profileId}</code>: {retentionOf(p)}
            </li>
          ))}
        </ul>
      )}
      {hasScope('export:profile:manage') && (
        <button type="button" onClick={prune} disabled={running}>
          {running ? 'Pruning…' : 'Run retention now'}
        </button>
      )}
      <div role="status" aria-live="polite">
        {report && (
          <p>
            Pruned {report.pruned.length} runs ({report.blobsDeleted} blobs deleted); {report.kept} bundles kept,{' '}
            {report.keptBytes} bytes.
          </p>
        )}
      </div>
      {error !== undefined && <Problem error={error} />}
    </section>
  );
}
