// The raw advisory store as listed by the API: heads (or every revision), oldest ingest first, one
// keyset page at a time, so a store of 100k documents is never fetched whole.
import { useState } from 'preact/hooks';
import { Pager, useCursorPages } from '../../components/cursor-pages.tsx';
import { Problem } from '../../components/problem.tsx';
import { RECORDS_PAGE_SIZE, recordHref, recordsPath, revisionOf, type Search } from './requests.ts';
import type { RecordPage } from './types.ts';

export function RecordsSection({ search }: { search: Search }) {
  const [history, setHistory] = useState(false);
  // Another search or the history switch is another list: its pages start again at the first.
  const pages = useCursorPages<RecordPage['items'][number]>(recordsPath(search, history));
  const { page: data, error } = pages;
  return (
    <section aria-labelledby="records-heading">
      <h2 id="records-heading">Raw advisories</h2>
      <label class="inline-check">
        <input type="checkbox" checked={history} onChange={(e) => setHistory(e.currentTarget.checked)} />
        Include superseded revisions
      </label>
      {error !== undefined && <Problem error={error} />}
      <Pager label="Raw advisory pages" pages={pages} />
      {data?.items.length === 0 && <p>No raw advisories{search.term.trim() ? ' match this search' : ''}.</p>}
      {data && data.items.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        <section class="scroll" tabIndex={0} aria-label="Raw advisories, scrollable">
          <table>
            <caption>
              Up to {RECORDS_PAGE_SIZE} records a page, oldest ingest first
              {history ? ', every revision' : ', heads only'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Upstream id</th>
                <th scope="col">Source</th>
                <th scope="col">Revision</th>
                <th scope="col">Format</th>
                <th scope="col">Retrieved</th>
                <th scope="col">Content hash</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((record) => (
                <tr key={record.id}>
                  <td>
                    <a href={recordHref(record.id)}>{record.upstream.upstream_id}</a>
                  </td>
                  <td>{record.source.vendor}</td>
                  <td>{revisionOf(record.id)}</td>
                  <td>
                    {record.content.format} {record.content.spec_version}
                  </td>
                  <td>
                    <time dateTime={record.upstream.retrieved_at}>{record.upstream.retrieved_at}</time>
                  </td>
                  <td>
                    <code>{record.upstream.content_hash}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
