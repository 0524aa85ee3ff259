// One GET per distinct path, its answer or refusal kept for the page; an answer that arrives after the
// path changed is dropped, so a slow earlier page never overwrites the one asked for last.
import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/**
 * `path` undefined: nothing to ask yet (no search term). `keepWhileLoading` false clears the previous
 * answer as soon as the path changes, for a view where the old answer would be read as the new one's
 * (another VEX format's document).
 */
export function useJson<T>(path: string | undefined, keepWhileLoading = true): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: undefined, error: undefined, loading: path !== undefined });
  useEffect(() => {
    if (path === undefined) {
      setState({ data: undefined, error: undefined, loading: false });
      return;
    }
    let current = true;
    setState((previous) =>
      keepWhileLoading ? { ...previous, loading: true } : { data: undefined, error: undefined, loading: true },
    );
    getJson<T>(path).then(
      (data) => {
        if (current) setState({ data, error: undefined, loading: false });
      },
      (error) => {
        if (current) setState({ data: undefined, error, loading: false });
      },
    );
    return () => {
      current = false;
    };
  }, [path, keepWhileLoading]);
  return state;
}
