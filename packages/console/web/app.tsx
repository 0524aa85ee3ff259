// The console's frame: the header with the signed-in user and the pages their scopes allow, and the
// router. Every page but the callback and the signed-out page needs a session; without one (first
// visit, reload, expired token) the console re-authorises, silently while the authority remembers the user.
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import {
  beginSignIn,
  currentSession,
  endAuthoritySession,
  forgetSession,
  hasScope,
  onSessionChange,
  type Session,
} from './auth/session.ts';
import { Callback, HOME } from './pages/callback.tsx';
import { NotFound } from './pages/not-found.tsx';
import { PAGES } from './pages/registry.ts';
import { SignedOut } from './pages/signed-out.tsx';

export function App() {
  return (
    <LocationProvider scope="/console">
      <Shell />
    </LocationProvider>
  );
}

function useSession(): Session | undefined {
  const [, rerender] = useState(0);
  useEffect(() => onSessionChange(() => rerender((n) => n + 1)), []);
  return currentSession();
}

function Shell() {
  const { path } = useLocation();
  const session = useSession();
  const [signOutError, setSignOutError] = useState<unknown>();
  if (path === '/console/callback')
    return (
      <Frame>
        <Callback />
      </Frame>
    );
  if (path === '/console/signed-out')
    return (
      <Frame>
        <SignedOut error={signOutError} />
      </Frame>
    );
  if (!session) return <SignIn />;
  return (
    <Frame session={session} onSignedOut={setSignOutError}>
      <Router>
        {[
          <Route key="home" path="/console/" component={Home} />,
          ...allowedPages().flatMap((p) =>
            [p.path, ...(p.routes ?? [])].map((path) => <Route key={path} path={path} component={p.component} />),
          ),
          <Route key="none" default component={NotFound} />,
        ]}
      </Router>
    </Frame>
  );
}

function allowedPages() {
  return PAGES.filter((p) => !p.scope || hasScope(p.scope));
}

function Home() {
  const { route } = useLocation();
  useEffect(() => route(HOME, true), []);
  return null;
}

function SignIn() {
  useEffect(() => {
    void beginSignIn(location.pathname + location.search);
  }, []);
  return <p role="status">Signing in…</p>;
}

function Frame({
  session,
  onSignedOut,
  children,
}: {
  session?: Session;
  onSignedOut?: (error: unknown) => void;
  children: ComponentChildren;
}) {
  const { route, path } = useLocation();
  const current = (href: string) => (path === href ? 'page' : undefined);
  const signOut = async () => {
    const error = await endAuthoritySession();
    onSignedOut?.(error);
    // Routed before the token goes, in the same render: with no token on a page that needs one, the
    // console would start signing in again.
    route('/console/signed-out', true);
    forgetSession();
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">stella console</span>
        {session && (
          <>
            <nav aria-label="Console pages">
              {allowedPages().map((p) => (
                <a key={p.path} href={p.path} aria-current={current(p.path)}>
                  {p.label}
                </a>
              ))}
            </nav>
            <dl class="who" aria-label="Signed in as">
              <dt>User</dt>
              <dd>{session.claims.name}</dd>
              <dt>Role</dt>
              <dd>{session.claims.role ?? '—'}</dd>
              <dt>Tenant</dt>
              <dd>{session.claims.tenant ?? '—'}</dd>
            </dl>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </>
        )}
      </header>
      <main id="main">{children}</main>
    </>
  );
}
