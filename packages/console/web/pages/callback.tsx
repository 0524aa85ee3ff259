// /console/callback: where the authority sends the browser back with ?code=…&state=… (or ?error=…).
// The code is exchanged once, then the page the sign-in started from replaces this one in history, so
// Back never returns to a spent code.
import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { beginSignIn, completeSignIn } from '../auth/session.ts';
import { Problem } from '../components/problem.tsx';
import { PageTitle } from './page-title.tsx';

export const HOME = '/console/overview';

/** Only console pages are returned to: the target came through sessionStorage, which any script of the origin could write. */
export function safeReturnPath(returnTo: string): string {
  return /^\/console\/(?!callback)[\w\-/]*(\?[^#]*)?$/.test(returnTo) ? returnTo : HOME;
}

export function Callback() {
  const { route } = useLocation();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    completeSignIn(new URLSearchParams(location.search)).then(
      (returnTo) => route(safeReturnPath(returnTo), true),
      setError,
    );
  }, []);
  if (error === undefined) return <p role="status">Signing in…</p>;
  return (
    <>
      <PageTitle>Sign-in failed</PageTitle>
      <Problem error={error} />
      <button type="button" onClick={() => beginSignIn(HOME)}>
        Sign in again
      </button>
    </>
  );
}
