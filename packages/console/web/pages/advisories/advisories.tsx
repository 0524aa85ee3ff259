// The Advisories page (/console/advisories): search the AOC raw stores by CVE, GHSA, any id or purl,
// the linkset side by side per source, the raw advisories paged by cursor, and AOC verify for a token
// with aoc:verify; /console/advisories/record?id=… opens one raw record. The applied search lives in
// the URL, so it is a link, and the back button returns to it from a record.
import './advisories.css';
import { useLocation } from 'preact-iso';
import { hasScope } from '../../auth/session.ts';
import { useDraft } from '../../drafts.ts';
import { NotFound } from '../not-found.tsx';
import { PageTitle } from '../page-title.tsx';
import { LinksetSection } from './linkset.tsx';
import { RecordDetail } from './record-detail.tsx';
import { RecordsSection } from './records.tsx';
import { RECORD_PATH, SEARCH_BY, type Search, type SearchBy, searchFromQuery, searchHref } from './requests.ts';
import { VerifySection } from './verify.tsx';

export function Advisories() {
  const { path, query } = useLocation();
  if (path !== RECORD_PATH) return <AdvisorySearch />;
  return query.id ? <RecordDetail key={query.id} id={query.id} /> : <NotFound />;
}

function AdvisorySearch() {
  const { query, route } = useLocation();
  const search = searchFromQuery(query);
  const href = searchHref(search);
  return (
    <>
      <PageTitle>Advisories</PageTitle>
      <p class="hint">
        Raw advisories and VEX documents exactly as their sources published them. Search by an id or a package to see
        every source that names it, side by side and never merged.
      </p>
      {/* Keyed by the search, so the back button's search fills the form and a new search starts at page 1. */}
      <SearchForm key={href} search={search} onSearch={(next) => route(searchHref(next))} />
      {search.term.trim() && <LinksetSection key={href} search={search} />}
      <RecordsSection key={href} search={search} />
      {hasScope('aoc:verify') && <VerifySection />}
    </>
  );
}

function SearchForm({ search, onSearch }: { search: Search; onSearch: (next: Search) => void }) {
  // A draft: typed but not applied, it survives a sign-in redirect.
  const [draft, setDraft] = useDraft<Search>('advisory-search', search);
  const example = SEARCH_BY.find((option) => option.value === draft.by)?.example;
  return (
    <form
      class="filters"
      aria-label="Advisories"
      onSubmit={(event) => {
        event.preventDefault();
        onSearch(draft);
      }}
    >
      <label>
        Search by
        <select
          name="by"
          value={draft.by}
          onChange={(e) => setDraft({ ...draft, by: e.currentTarget.value as SearchBy })}
        >
          {SEARCH_BY.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <label class="advisory-term">
        Identifier or purl
        <input
          name="q"
          type="search"
          value={draft.term}
          maxLength={512}
          placeholder={example}
          onInput={(e) => setDraft({ ...draft, term: e.currentTarget.value })}
        />
      </label>
      <label>
        Source (optional)
        <input
          name="source"
          value={draft.source}
          maxLength={128}
          onInput={(e) => setDraft({ ...draft, source: e.currentTarget.value })}
        />
      </label>
      <button type="submit">Search</button>
    </form>
  );
}
