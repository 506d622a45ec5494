/**
 * The console's root: restores the session on load, then routes.
 *
 * Signed out, `/setup`, `/sign-in` and `/sign-up` are available and anything else leads to
 * sign-in (or to the setup notice while no account exists). Signed in, the console is shown and
 * the signed-out pages lead back to it.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, setCsrfToken, setUnauthenticatedHandler, type Account, type Session } from './api';
import { ErrorMessage } from './components/ui';
import { ConsolePage } from './pages/console';
import { SetupPage, SignInPage, SignUpPage } from './pages/auth';
import { navigate, Redirect, usePath } from './router';

type AuthState =
  | { readonly status: 'loading' }
  | { readonly status: 'signed-out' }
  | { readonly status: 'signed-in'; readonly account: Account }
  | { readonly status: 'error'; readonly message: string };

const SIGNED_OUT_PAGES = new Set(['/setup', '/sign-in', '/sign-up']);

/** Where to go after signing in: a same-origin path only, never a protocol-relative URL. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  return next && /^\/(?![/\\])/.test(next) && !SIGNED_OUT_PAGES.has(next) ? next : '/';
}

/** Sends a signed-out visitor to sign-in, or to the setup notice while no account exists. */
function SignedOutRedirect({ path }: { path: string }) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .setupStatus()
      .then(({ setupRequired }) => {
        if (setupRequired) navigate('/setup', { replace: true });
        else navigate(path === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(path)}`, { replace: true });
      })
      .catch((err: unknown) => setError(errorMessage(err)));
  }, [path]);
  return error ? <ErrorMessage error={error} /> : <p role="status">Loading…</p>;
}

export function App() {
  const path = usePath();
  const [auth, setAuth] = useState<AuthState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(null);
      setAuth({ status: 'signed-out' });
    });
    return () => setUnauthenticatedHandler(null);
  }, []);

  useEffect(() => {
    api
      .session()
      .then((session) => {
        setCsrfToken(session.csrfToken);
        setAuth({ status: 'signed-in', account: session.account });
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setAuth({ status: 'signed-out' });
        else setAuth({ status: 'error', message: errorMessage(err) });
      });
  }, [attempt]);

  const signedIn = (session: Session) => {
    setCsrfToken(session.csrfToken);
    setAuth({ status: 'signed-in', account: session.account });
    navigate(nextPath(), { replace: true });
  };

  const signOut = async () => {
    await api.signOut().catch((err: unknown) => {
      // An already-ended session is signed out all the same.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    });
    setCsrfToken(null);
    setAuth({ status: 'signed-out' });
    navigate('/sign-in', { replace: true });
  };

  if (auth.status === 'loading') return <p class="loading" role="status">Loading…</p>;
  if (auth.status === 'error') {
    return (
      <main class="auth" id="main">
        <div class="auth-card">
          <h1>Rampart is unavailable</h1>
          <ErrorMessage error={auth.message} />
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </main>
    );
  }

  if (auth.status === 'signed-in') {
    if (SIGNED_OUT_PAGES.has(path)) return <Redirect to="/" />;
    return <ConsolePage account={auth.account} path={path} onSignOut={signOut} />;
  }

  if (path === '/setup') return <SetupPage onSignedIn={signedIn} />;
  if (path === '/sign-in') return <SignInPage onSignedIn={signedIn} />;
  if (path === '/sign-up') return <SignUpPage onSignedIn={signedIn} />;
  return <SignedOutRedirect path={path} />;
}
