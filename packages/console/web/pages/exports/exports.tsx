// The Export Center page (/console/exports): quota, profiles and their revisions, runs paged by
// cursor, retention; /console/exports/runs/:runId follows one run live. Controls the token's scopes do
// not allow are not drawn; the API refuses them anyway.
import './exports.css';
import { useEffect, useState } from 'preact/hooks';
import { useRoute } from 'preact-iso';
import { getJson } from '../../api.ts';
import { Problem } from '../../components/problem.tsx';
import { PageTitle } from '../page-title.tsx';
import { ProfilesSection } from './profiles.tsx';
import { RunDetail } from './run-detail.tsx';
import { RunsSection } from './runs.tsx';
import { QuotaPanel, RetentionPanel } from './tenant.tsx';
import type { ExportProfile, Quota } from './types.ts';

export function Exports() {
  const { params } = useRoute();
  return params.runId ? <RunDetail key={params.runId} runId={params.runId} /> : <ExportCenter />;
}

function ExportCenter() {
  const [profiles, setProfiles] = useState<ExportProfile[]>([]);
  const [quota, setQuota] = useState<Quota>();
  const [error, setError] = useState<unknown>();
  const [loads, setLoads] = useState(0);
  const reload = () => setLoads((n) => n + 1);
  useEffect(() => {
    let current = true;
    Promise.all([
      getJson<{ items: ExportProfile[] }>('/api/export/profiles'),
      getJson<Quota>('/api/export/quota'),
    ]).then(
      ([listed, today]) => {
        if (!current) return;
        setProfiles(listed.items);
        setQuota(today);
        setError(undefined);
      },
      (caught) => {
        if (current) setError(caught);
      },
    );
    return () => {
      current = false;
    };
  }, [loads]);
  return (
    <>
      <PageTitle>Export Center</PageTitle>
      <p class="hint">
        Signed, reproducible bundles of this tenant's evidence. <code>stella export verify</code> checks a downloaded
        bundle offline.
      </p>
      {error !== undefined && <Problem error={error} />}
      <div class="export-columns">
        <QuotaPanel quota={quota} onChange={setQuota} />
        <RetentionPanel profiles={profiles} onPruned={reload} />
      </div>
      <RunsSection profiles={profiles} onStarted={reload} />
      <ProfilesSection profiles={profiles} onChange={reload} />
    </>
  );
}
