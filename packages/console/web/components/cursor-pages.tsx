// A list read one page at a time with the API's cursor (`?cursor=` from the previous page's
// nextCursor), with Previous/Next buttons: every list of the console pages so.
// Only the cursors of the pages opened are kept, never the rows of earlier pages.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.ts';

export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

export interface CursorPages<T> {
  page?: CursorPage<T>;
  error?: unknown;
  loading: boolean;
  pageNumber: number;
  previous?: () => void;
  next?: () => void;
  /** Fetches the page shown again (a list the user may expect to have changed, e.g. runs). */
  reload: () => void;
}

/**
 * Pages of `listPath` (a path with its query, without `cursor`); a new `listPath` starts again at the
 * first page.
 */
export function useCursorPages<T>(listPath: string): CursorPages<T> {
  // The cursors of the pages opened so far; the last one is the page shown (undefined: the first page).
  const [opened, setOpened] = useState<{ listPath: string; cursors: (string | undefined)[] }>({
    listPath,
    cursors: [undefined],
  });
  const cursors = opened.listPath === listPath ? opened.cursors : [undefined];
  const cursor = cursors.at(-1);
  const [reloads, setReloads] = useState(0);
  const [state, setState] = useState<{ page?: CursorPage<T>; error?: unknown; loading: boolean; of?: string }>({
    loading: true,
  });

  useEffect(() => {
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    const separator = listPath.includes('?') ? '&' : '?';
    const path = cursor ? `${listPath}${separator}cursor=${encodeURIComponent(cursor)}` : listPath;
    getJson<CursorPage<T>>(path).then(
      (page) => current && setState({ page, loading: false, of: listPath }),
      (error) => current && setState({ error, loading: false, of: listPath }),
    );
    return () => {
      current = false;
    };
  }, [listPath, cursor, reloads]);

  // Rows of another list (before a new filter's first page arrives) are never shown as this one's.
  const shown = state.of === listPath ? state : { loading: true };
  const nextCursor = shown.page?.nextCursor;
  return {
    page: shown.page,
    error: shown.error,
    loading: state.loading,
    pageNumber: cursors.length,
    reload: () => setReloads((n) => n + 1),
    ...(cursors.length > 1 && !state.loading
      ? { previous: () => setOpened({ listPath, cursors: cursors.slice(0, -1) }) }
      : {}),
    ...(nextCursor && !state.loading ? { next: () => setOpened({ listPath, cursors: [...cursors, nextCursor] }) } : {}),
  };
}

export function Pager({ label, pages }: { label: string; pages: CursorPages<unknown> }) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={!pages.previous} onClick={pages.previous}>
        Previous page
      </button>
      <span aria-live="polite">
        Page {pages.pageNumber}
        {pages.loading ? ' (loading…)' : ''}
      </span>
      <button type="button" disabled={!pages.next} onClick={pages.next}>
        Next page
      </button>
    </nav>
  );
}
