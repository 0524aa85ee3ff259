// After sign-out: the token is gone and the authority's sign-in session ended, so "Sign in" asks for
// the password again.
import { beginSignIn } from '../auth/session.ts';
import { Problem } from '../components/problem.tsx';
import { HOME } from './callback.tsx';
import { PageTitle } from './page-title.tsx';

export function SignedOut({ error }: { error: unknown }) {
  return (
    <>
      <PageTitle>Signed out</PageTitle>
      {error !== undefined && <Problem error={error} />}
      <p>You are signed out of the stella console.</p>
      <button type="button" onClick={() => beginSignIn(HOME)}>
        Sign in
      </button>
    </>
  );
}
