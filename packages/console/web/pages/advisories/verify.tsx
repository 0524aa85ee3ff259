// AOC verify from the console: the server re-checks the stored raw rows (hashes of the stored bytes,
// forbidden keys, supersedes chains, ingest witnesses) and the page lists what it found, code by code.
// The request says it came from the UI (`X-Stella-Initiator: ui`), which is how
// verify_runs_total{initiator="ui"} tells console runs from CLI and scheduled ones.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { authorisedFetch } from '../../api.ts';
import { Problem } from '../../components/problem.tsx';
import { useDraft } from '../../drafts.ts';
import { recordHref } from './requests.ts';
import type { VerifyReport } from './types.ts';

interface VerifyForm {
  since: string;
  sources: string;
}

async function runVerify(form: VerifyForm): Promise<VerifyReport> {
  const sources = form.sources
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const response = await authorisedFetch('/aoc/verify', {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', 'x-stella-initiator': 'ui' },
    body: JSON.stringify({ since: form.since.trim() || '24h', ...(sources.length ? { sources } : {}) }),
  });
  return response.json() as Promise<VerifyReport>;
}

export function VerifySection() {
  const [form, setForm] = useDraft<VerifyForm>('aoc-verify', { since: '24h', sources: '' });
  const [report, setReport] = useState<VerifyReport>();
  const [error, setError] = useState<unknown>();
  const [running, setRunning] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setRunning(true);
    setError(undefined);
    try {
      setReport(await runVerify(form));
    } catch (caught) {
      setReport(undefined);
      setError(caught);
    } finally {
      setRunning(false);
    }
  };
  return (
    <section class="verify" aria-labelledby="aoc-verify-heading">
      <h2 id="aoc-verify-heading">AOC verify</h2>
      <p class="hint">
        Re-checks the raw rows stored in the window: the hash of the stored bytes, forbidden keys, supersedes chains and
        the ingest events on the timeline. <code>stella aoc verify</code> runs the same check.
      </p>
      <form class="filters" onSubmit={submit}>
        <label>
          Since (time or duration)
          <input
            name="since"
            value={form.since}
            maxLength={64}
            placeholder="24h"
            onInput={(e) => setForm({ ...form, since: e.currentTarget.value })}
          />
        </label>
        <label>
          Sources (comma-separated, empty for all)
          <input
            name="sources"
            value={form.sources}
            maxLength={512}
            onInput={(e) => setForm({ ...form, sources: e.currentTarget.value })}
          />
        </label>
        <button type="submit" disabled={running}>
          {running ? 'Verifying…' : 'Run AOC verify'}
        </button>
      </form>
      {error !== undefined && <Problem error={error} />}
      <div role="status" aria-live="polite">
        {report && <VerifyVerdict report={report} />}
      </div>
      {report && report.violations.length > 0 && <Violations report={report} />}
    </section>
  );
}

function VerifyVerdict({ report }: { report: VerifyReport }) {
  const checked = report.stores.map((store) => `${report.checked[store] ?? 0} in ${store}`).join(', ');
  const total = Object.values(report.byCode).reduce((sum, n) => sum + n, 0);
  return report.ok ? (
    <p class="status-ok">
      No violations: {checked} checked from <time dateTime={report.since}>{report.since}</time> to{' '}
      <time dateTime={report.until}>{report.until}</time>.
    </p>
  ) : (
    <p class="status-bad">
      {total} violation{total === 1 ? '' : 's'} ({checked} checked)
      {report.truncated ? '; the report is truncated, narrow the window or the sources to see the rest' : ''}.
    </p>
  );
}

function Violations({ report }: { report: VerifyReport }) {
  return (
    <>
      <dl class="facts" aria-label="Violations by code">
        {Object.entries(report.byCode).map(([code, count]) => (
          <Fragment key={code}>
            <dt>
              <code>{code}</code>
            </dt>
            <dd>{count}</dd>
          </Fragment>
        ))}
      </dl>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard */}
      <section class="scroll" tabIndex={0} aria-label="Violations, scrollable">
        <table>
          <caption>Violations, as the server reported them</caption>
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Record</th>
              <th scope="col">Source</th>
              <th scope="col">Path</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {report.violations.map((v, index) => (
              // The report is fixed once shown: its order is a stable key, and two violations may share code, id and path.
              <tr key={index}>
                <td>
                  <code>{v.code}</code>
                </td>
                <td>
                  <a href={recordHref(v.id)}>{v.id}</a>
                </td>
                <td>{v.source}</td>
                <td>
                  <code>{v.path}</code>
                </td>
                <td class="wrap">{v.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
