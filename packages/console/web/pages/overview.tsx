// What an operator opens first: is the server up and ready, is ingest flowing, is the queue draining,
// are jobs dead-lettering, how did the last exports end. Sections the token's scopes do not allow are
// left out rather than shown failing.
import { useState } from 'preact/hooks';
import { getJson, getPublicJson, getText } from '../api.ts';
import { hasScope } from '../auth/session.ts';
import { type SeriesSpec, TimeSeriesChart } from '../components/chart.tsx';
import { Problem } from '../components/problem.tsx';
import {
  appendSample,
  deadLetterColumns,
  ingestRateColumns,
  type OverviewSample,
  overviewSample,
  queueColumns,
} from '../metrics/overview.ts';
import { parsePrometheusText } from '../metrics/prometheus.ts';
import { usePolling } from '../poll.ts';
import { PageTitle } from './page-title.tsx';

// Often enough to see a queue move, rarely enough that a dozen open consoles are no load on /metrics.
const SAMPLE_INTERVAL_MS = 5000;
const RECENT_RUNS = 10;

export function Overview() {
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <Health />
      {hasScope('metrics:read') && <Metrics />}
      {hasScope('export:read') && <ExportRuns />}
    </>
  );
}

interface Readiness {
  status: string;
  failing: string[];
  checks: Record<string, string>;
}

function Health() {
  const [live, setLive] = useState<string>();
  const [ready, setReady] = useState<Readiness>();
  const [error, setError] = useState<unknown>();
  usePolling(async () => {
    try {
      const [health, readiness] = await Promise.all([
        getPublicJson<{ status: string }>('/healthz'),
        getPublicJson<Readiness>('/readyz', [503]),
      ]);
      setLive(health.status);
      setReady(readiness);
      setError(undefined);
    } catch (caught) {
      setError(caught);
    }
  }, SAMPLE_INTERVAL_MS);
  return (
    <section aria-labelledby="health-heading">
      <h2 id="health-heading">Health</h2>
      {error !== undefined && <Problem error={error} />}
      <dl class="facts">
        <dt>Liveness (/healthz)</dt>
        <dd>
          <Status ok={live === 'ok'} text={live ?? '…'} />
        </dd>
        <dt>Readiness (/readyz)</dt>
        <dd>
          <Status ok={ready?.status === 'ready'} text={ready?.status ?? '…'} />
        </dd>
      </dl>
      {ready && (
        <table class="checks">
          <caption>Readiness checks</caption>
          <thead>
            <tr>
              <th scope="col">Check</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(ready.checks).map(([name, result]) => (
              <tr key={name}>
                <td>{name}</td>
                <td>
                  <Status ok={result === 'ok'} text={result} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Status({ ok, text }: { ok: boolean; text: string }) {
  return <span class={ok ? 'status status-ok' : 'status status-bad'}>{text}</span>;
}

const INGEST_SERIES: SeriesSpec[] = [
  { label: 'ok', stroke: '#1b7f3b' },
  { label: 'noop', stroke: '#6b6b6b' },
  { label: 'reject', stroke: '#b3261e' },
];
const QUEUE_SERIES: SeriesSpec[] = [
  { label: 'queued', stroke: '#1f5fa8' },
  { label: 'active', stroke: '#b26b00' },
];
const DEAD_LETTER_SERIES: SeriesSpec[] = [{ label: 'dead letters', stroke: '#b3261e' }];

function Metrics() {
  const [history, setHistory] = useState<OverviewSample[]>([]);
  const [error, setError] = useState<unknown>();
  usePolling(async () => {
    try {
      const sample = overviewSample(parsePrometheusText(await getText('/metrics')), Date.now() / 1000);
      setHistory((previous) => appendSample(previous, sample));
      setError(undefined);
    } catch (caught) {
      setError(caught);
    }
  }, SAMPLE_INTERVAL_MS);
  const latest = history.at(-1);
  const rates = ingestRateColumns(history);
  const latestRate = (i: number) => {
    const value = rates[i + 1]?.at(-1);
    return typeof value === 'number' ? value.toFixed(2) : '…';
  };
  return (
    <section aria-labelledby="metrics-heading">
      <h2 id="metrics-heading">Ingest and queue</h2>
      <p class="hint">Sampled from /metrics every {SAMPLE_INTERVAL_MS / 1000} s while this page is open.</p>
      {error !== undefined && <Problem error={error} />}
      <div class="charts">
        <figure>
          <figcaption>
            Raw documents written per second: ok {latestRate(0)}, noop {latestRate(1)}, reject {latestRate(2)}
          </figcaption>
          <TimeSeriesChart label="Raw documents written per second" series={INGEST_SERIES} columns={rates} />
        </figure>
        <figure>
          <figcaption>
            Queue depth: {latest?.queued ?? '…'} queued, {latest?.active ?? '…'} active
          </figcaption>
          <TimeSeriesChart label="Jobs queued and active" series={QUEUE_SERIES} columns={queueColumns(history)} />
        </figure>
        <figure>
          <figcaption>Dead letters: {latest?.deadLetters ?? '…'}</figcaption>
          <TimeSeriesChart
            label="Dead-lettered jobs"
            series={DEAD_LETTER_SERIES}
            columns={deadLetterColumns(history)}
          />
        </figure>
      </div>
    </section>
  );
}

/** The fields of an export run the list shows (packages/export RunView). */
interface ExportRun {
  runId: string;
  status: string;
  profileId: string;
  profileKind: string;
  progress: { percent: number };
  errorCode: string | null;
  createdAt: string;
  completedAt: string | null;
}

function ExportRuns() {
  const [runs, setRuns] = useState<ExportRun[]>();
  const [error, setError] = useState<unknown>();
  usePolling(async () => {
    try {
      setRuns((await getJson<{ items: ExportRun[] }>(`/api/export/runs?limit=${RECENT_RUNS}`)).items);
      setError(undefined);
    } catch (caught) {
      setError(caught);
    }
  }, SAMPLE_INTERVAL_MS);
  return (
    <section aria-labelledby="runs-heading">
      <h2 id="runs-heading">Last export runs</h2>
      {error !== undefined && <Problem error={error} />}
      {runs?.length === 0 && <p>No export runs yet.</p>}
      {runs && runs.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to scroll it.
        <section class="scroll" tabIndex={0} aria-label="Last export runs, scrollable">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Profile</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Completed</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.runId}>
                  <td>
                    <code>{run.runId}</code>
                  </td>
                  <td>{run.profileId}</td>
                  <td>{run.profileKind}</td>
                  <td>
                    <Status
                      ok={run.status !== 'failed'}
                      text={run.errorCode ? `${run.status} (${run.errorCode})` : run.status}
                    />
                  </td>
                  <td>{run.progress.percent} %</td>
                  <td>
                    <time dateTime={run.createdAt}>{run.createdAt}</time>
                  </td>
                  <td>{run.completedAt ? <time dateTime={run.completedAt}>{run.completedAt}</time> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
