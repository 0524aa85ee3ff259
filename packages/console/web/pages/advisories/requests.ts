// The AOC routes the Advisories page calls, built from the search in the page's URL, so a search is a
// link that survives reloads, sign-in and the back button. Every filter is the API's own parameter.

/** What the search term is: each maps onto a query parameter the AOC routes already take. */
export type SearchBy = 'cve' | 'ghsa' | 'alias' | 'purl';

export const SEARCH_BY: readonly { value: SearchBy; label: string; example: string }[] = [
  { value: 'cve', label: 'CVE', example: 'CVE-2023-45288' },
  { value: 'ghsa', label: 'GHSA', example: 'GHSA-4v7x-pqxf-cx7m' },
  { value: 'alias', label: 'Any id (GO-, PYSEC-, vendor)', example: 'GO-2024-2687' },
  { value: 'purl', label: 'purl', example: 'pkg:golang/golang.org/x/net' },
];

export interface Search {
  by: SearchBy;
  term: string;
  /** A source vendor to narrow to; empty means every source. */
  source: string;
}

export const EMPTY_SEARCH: Search = { by: 'cve', term: '', source: '' };

export const RECORDS_PAGE_SIZE = 25;
export const LINKSET_PAGE_SIZE = 50;

export function searchFromQuery(query: Record<string, string | undefined>): Search {
  const by = SEARCH_BY.find((option) => option.value === query.by)?.value ?? 'cve';
  return { by, term: query.q ?? '', source: query.source ?? '' };
}

export function searchHref(search: Search): string {
  const query = new URLSearchParams();
  if (search.term.trim()) {
    query.set('by', search.by);
    query.set('q', search.term.trim());
  }
  if (search.source.trim()) query.set('source', search.source.trim());
  const text = query.toString();
  return text ? `/console/advisories?${text}` : '/console/advisories';
}

/** GET /v1/lnm/linksets: every source naming the term, side by side; it takes cve, ghsa, alias or purl. */
export function linksetsPath(search: Search, page: number): string {
  const query = new URLSearchParams({ [search.by]: search.term.trim(), page: String(page) });
  query.set('pageSize', String(LINKSET_PAGE_SIZE));
  if (search.source.trim()) query.set('source', search.source.trim());
  return `/v1/lnm/linksets?${query}`;
}

/** GET /advisories/raw, keyset-paged; it has no ghsa parameter, a GHSA id is one of the record's aliases. */
export function recordsPath(search: Search, history: boolean): string {
  const query = new URLSearchParams({ limit: String(RECORDS_PAGE_SIZE) });
  const term = search.term.trim();
  if (term) query.set(search.by === 'ghsa' ? 'alias' : search.by, term);
  if (search.source.trim()) query.set('source', search.source.trim());
  if (history) query.set('history', 'true');
  return `/advisories/raw?${query}`;
}

/** A record's routes: its id names its store (`advisory_raw:…` or `vex_raw:…`), each with its own routes. */
export function recordPath(id: string): string {
  return `${id.startsWith('vex_raw:') ? '/vex/raw' : '/advisories/raw'}/${encodeURIComponent(id)}`;
}

export function historyPath(id: string, source: string, upstreamId: string): string {
  const base = id.startsWith('vex_raw:') ? '/vex/raw' : '/advisories/raw';
  return `${base}/history?${new URLSearchParams({ source, upstream_id: upstreamId })}`;
}

/**
 * The console's own page for one record. The id rides in the query, not the path: a record id holds
 * colons, and only a plain path (plus any query) is taken back after a re-authorisation (callback.tsx).
 */
export function recordHref(id: string): string {
  return `${RECORD_PATH}?${new URLSearchParams({ id })}`;
}

export const RECORD_PATH = '/console/advisories/record';

/** The revision number is the id's last segment (`{store}:{vendor}:{upstream id}:{revision}`). */
export function revisionOf(id: string): string {
  return id.slice(id.lastIndexOf(':') + 1);
}
