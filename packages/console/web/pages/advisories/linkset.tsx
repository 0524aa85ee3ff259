// Link-not-merge on screen: one column per source, each holding only what that source wrote. Nothing is
// fused or ranked across columns; a reader compares them side by side, as the AOC stores them.
import { useState } from 'preact/hooks';
import { Problem } from '../../components/problem.tsx';
import { useJson } from '../../components/use-json.ts';
import { linksetsPath, recordHref, revisionOf, type Search } from './requests.ts';
import type { LinksetObservation, LinksetPage } from './types.ts';

export function LinksetSection({ search }: { search: Search }) {
  const [page, setPage] = useState(1);
  const { data, error, loading } = useJson<LinksetPage>(linksetsPath(search, page));
  return (
    <section aria-labelledby="linkset-heading">
      <h2 id="linkset-heading">Linkset by source</h2>
      <p class="hint">
        Every head record, advisory or VEX, whose linkset names <code>{search.term.trim()}</code>: one column per
        source, never merged.
      </p>
      {error !== undefined && <Problem error={error} />}
      <nav class="pager" aria-label="Linkset pages">
        <button type="button" disabled={page === 1 || loading} onClick={() => setPage(page - 1)}>
          Previous page
        </button>
        <span aria-live="polite">
          Page {page}
          {loading ? ' (loading…)' : ''}
        </span>
        <button type="button" disabled={!data?.hasMore || loading} onClick={() => setPage(page + 1)}>
          Next page
        </button>
      </nav>
      {data && data.observations.length === 0 && <p>No source names it.</p>}
      {data && data.sources.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: focusable so a keyboard can scroll the columns sideways.
        <section class="linkset-columns" tabIndex={0} aria-label="Sources side by side, scrollable">
          {data.sources.map((vendor, index) => (
            <SourceColumn
              key={vendor}
              headingId={`linkset-source-${index}`}
              vendor={vendor}
              observations={data.observations.filter((o) => o.vendor === vendor)}
            />
          ))}
        </section>
      )}
    </section>
  );
}

function SourceColumn({
  headingId,
  vendor,
  observations,
}: {
  /** Not the vendor: a vendor name may hold characters an id may not. */
  headingId: string;
  vendor: string;
  observations: LinksetObservation[];
}) {
  return (
    <section class="linkset-column" aria-labelledby={headingId}>
      <h3 id={headingId}>{vendor}</h3>
      <ul>
        {observations.map((o) => (
          <li key={o.id} class="observation">
            <a href={recordHref(o.id)}>{o.upstream_id}</a>{' '}
            <span class="badge">{o.store === 'vex_raw' ? 'VEX' : 'advisory'}</span>
            <dl class="facts">
              <dt>Format</dt>
              <dd>{o.format}</dd>
              <dt>Revision</dt>
              <dd>{revisionOf(o.id)}</dd>
              <dt>Retrieved</dt>
              <dd>
                <time dateTime={o.retrieved_at}>{o.retrieved_at}</time>
              </dd>
              <dt>Content hash</dt>
              <dd>
                <code class="hash">{o.content_hash}</code>
              </dd>
              <dt>Aliases</dt>
              <dd>{o.aliases.length ? o.aliases.join(', ') : '—'}</dd>
            </dl>
            {o.purls.length > 0 && (
              <details>
                <summary>
                  {o.purls.length} package{o.purls.length === 1 ? '' : 's'}
                </summary>
                <ul class="purls">
                  {o.purls.map((purl) => (
                    <li key={purl}>
                      <code>{purl}</code>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
