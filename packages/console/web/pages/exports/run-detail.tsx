// One run, followed live over its event stream: the progress bar, the events as they arrive (a
// dropped stream is resumed with Last-Event-ID), and the controls the token's scopes allow: cancel a
// queued or running run, replay a finished one, download its bundle with the digest checked.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { getJson } from '../../api.ts';
import { hasScope } from '../../auth/session.ts';
import { Problem } from '../../components/problem.tsx';
import { PageTitle } from '../page-title.tsx';
import { downloadBundle, type SavedBundle } from './download.ts';
import { runPath, sendJson } from './requests.ts';
import { followRunEvents, type RunEvent, type StreamState, TERMINAL_EVENTS } from './run-events.ts';
import { runPagePath } from './runs.tsx';
import { ACTIVE_STATUSES, type ExportRun, type SubmittedRun } from './types.ts';

function streamText(state: StreamState, lastEventId: number): string {
  switch (state) {
    case 'connecting':
      return 'Connecting to the live event stream…';
    case 'live':
      return lastEventId ? `Live (resumed after event #${lastEventId})` : 'Live';
    case 'reconnecting':
      return `Connection lost; reconnecting with Last-Event-ID ${lastEventId}…`;
    case 'ended':
      return 'Run finished; stream closed.';
  }
}

function useRunEvents(runId: string, onTerminal: () => void) {
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [stream, setStream] = useState<{ state: StreamState; lastEventId: number }>({
    state: 'connecting',
    lastEventId: 0,
  });
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    followRunEvents(
      runId,
      {
        onEvent: (event) => {
          setEvents((seen) => [...seen, event]);
          if (TERMINAL_EVENTS.has(event.type)) onTerminal();
        },
        onState: (state, lastEventId) => setStream({ state, lastEventId }),
      },
      abort.signal,
    ).catch(setError);
    return () => abort.abort();
  }, [runId]);
  return { events, stream, error };
}

function Actions({ run, onChanged }: { run: ExportRun; onChanged: () => void }) {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<SavedBundle>();
  useEffect(() => () => saved && URL.revokeObjectURL(saved.url), [saved]);
  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await work();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  const cancel = () =>
    act(async () => {
      await sendJson('POST', `${runPath(run.runId)}/cancel`);
      onChanged();
    });
  const replay = () =>
    act(async () => {
      const replayed = await sendJson<SubmittedRun>('POST', `${runPath(run.runId)}/replay`);
      route(runPagePath(replayed.runId));
    });
  const download = () =>
    act(async () => setSaved(await downloadBundle(run.runId, run.bundle?.fileName ?? `${run.runId}.tar`)));
  const canRun = hasScope('export:run');
  return (
    <section aria-labelledby="run-actions">
      <h2 id="run-actions">Actions</h2>
      <div class="export-actions">
        {canRun && ACTIVE_STATUSES.has(run.status) && (
          <button type="button" onClick={cancel} disabled={busy}>
            Cancel run
          </button>
        )}
        {canRun && !ACTIVE_STATUSES.has(run.status) && (
          <button type="button" onClick={replay} disabled={busy}>
            Replay run
          </button>
        )}
        {hasScope('export:download') && run.bundle && run.status === 'succeeded' && (
          <button type="button" onClick={download} disabled={busy}>
            Download bundle
          </button>
        )}
      </div>
      <div role="status" aria-live="polite">
        {saved && (
          <p class={saved.digest === run.bundle?.digest ? 'status-ok' : 'status-bad'}>
            Saved {saved.fileName} ({saved.bytes} bytes), <code class="hash">{saved.digest}</code>
            {saved.digest === run.bundle?.digest
              ? ': matches the run’s bundle digest.'
              : ': does NOT match the run’s bundle digest.'}
          </p>
        )}
      </div>
      {error !== undefined && <Problem error={error} />}
    </section>
  );
}

export function RunDetail({ runId }: { runId: string }) {
  const [run, setRun] = useState<ExportRun>();
  const [error, setError] = useState<unknown>();
  const [loads, setLoads] = useState(0);
  const reload = () => setLoads((n) => n + 1);
  useEffect(() => {
    let current = true;
    getJson<ExportRun>(runPath(runId)).then(
      (next) => {
        if (!current) return;
        setRun(next);
        setError(undefined);
      },
      (caught) => {
        if (current) setError(caught);
      },
    );
    return () => {
      current = false;
    };
  }, [runId, loads]);
  // A terminal event changes what the run offers (a bundle, replay): read the run again then.
  const { events, stream, error: streamError } = useRunEvents(runId, reload);
  const latest = events.at(-1);
  const status = latest?.data.status ?? run?.status;
  const percent = latest?.data.progress?.percent ?? run?.progress.percent ?? 0;
  const items = latest?.data.progress ?? run?.progress;
  return (
    <>
      <p>
        <a href="/console/exports">← Export Center</a>
      </p>
      <PageTitle>Run {runId}</PageTitle>
      {error !== undefined && <Problem error={error} />}
      <section aria-labelledby="run-progress-heading">
        <h2 id="run-progress-heading">Progress</h2>
        <div class="export-progress">
          <label for="run-progress">Progress</label>
          <progress id="run-progress" max={100} value={percent}>
            {percent} %
          </progress>
          <span aria-hidden="true">{percent} %</span>
        </div>
        <p>
          Status <strong class={`export-status export-status-${status}`}>{status ?? '…'}</strong>
          {items && items.itemsTotal > 0 && ` · ${items.itemsCompleted} of ${items.itemsTotal} items`}
        </p>
        <p role="status" aria-live="polite" class="hint">
          {streamText(stream.state, stream.lastEventId)}
        </p>
        {streamError !== undefined && <Problem error={streamError} />}
      </section>
      {run && <Actions run={run} onChanged={reload} />}
      {run && (
        <section aria-labelledby="run-facts">
          <h2 id="run-facts">Run</h2>
          <dl class="facts">
            <dt>Profile</dt>
            <dd>
              {run.profileId}@{run.profileRevision} ({run.profileKind})
            </dd>
            <dt>Created</dt>
            <dd>
              <time dateTime={run.createdAt}>{run.createdAt}</time>
            </dd>
            {run.completedAt && (
              <>
                <dt>Completed</dt>
                <dd>
                  <time dateTime={run.completedAt}>{run.completedAt}</time>
                </dd>
              </>
            )}
            <dt>Attempts</dt>
            <dd>{run.attempts}</dd>
            {run.replayOf && (
              <>
                <dt>Replay of</dt>
                <dd>
                  <a href={runPagePath(run.replayOf)}>{run.replayOf}</a>
                </dd>
              </>
            )}
            {run.exportId && (
              <>
                <dt>Export id</dt>
                <dd>
                  <code>{run.exportId}</code>
                </dd>
              </>
            )}
            {run.records !== null && (
              <>
                <dt>Records</dt>
                <dd>{run.records}</dd>
              </>
            )}
            {run.bundle && (
              <>
                <dt>Bundle</dt>
                <dd>
                  {run.bundle.fileName}, {run.bundle.bytes} bytes
                </dd>
                <dt>Bundle digest</dt>
                <dd>
                  <code class="hash">{run.bundle.digest}</code>
                </dd>
              </>
            )}
            {run.manifestDigest && (
              <>
                <dt>Manifest digest</dt>
                <dd>
                  <code class="hash">{run.manifestDigest}</code>
                </dd>
              </>
            )}
            {run.errorCode && (
              <>
                <dt>Error</dt>
                <dd>
                  <code>{run.errorCode}</code>
                </dd>
              </>
            )}
          </dl>
          {run.errors.length > 0 && (
            <ul>
              {run.errors.map((e) => (
                <li key={`${e.code}:${e.message}`}>
                  <code>{e.code}</code> {e.message}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <section aria-labelledby="run-events">
        <h2 id="run-events">Events</h2>
        <ol class="export-events" aria-label="Run events">
          {events.map((event) => (
            <li key={event.id}>
              <span class="export-event-id">#{event.id}</span> <strong>{event.type}</strong>{' '}
              {event.data.progress && `${event.data.progress.percent} %`}{' '}
              {event.data.ts && <time dateTime={event.data.ts}>{event.data.ts}</time>}
              {event.data.errorCode && (
                <>
                  {' '}
                  <code>{event.data.errorCode}</code>
                </>
              )}
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}
