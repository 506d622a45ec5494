/**
 * The console's root: restores the session on load, then routes.
 *
 * Signed out, `/setup`, `/sign-in`, `/sign-up` and `/forgot-password` are available and
 * anything else leads to sign-in (or to the setup notice while no account exists). The pages
 * that email links and redirects open (`/verify`, `/magic`, `/reset`, `/mfa`, `/link`,
 * `/email-change`, `/invitations/accept`, `/sso-setup`) and the development mailbox work either
 * way; signing in with an invitation pending in this browser resumes it. Signed in, the console
 * is shown and the signed-out pages lead back to it. Everything under `/staff` is the staff
 * console (pages/staff.tsx), which never reads the customer session.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  errorMessage,
  setCsrfToken,
  setMfaEnrolmentRequiredHandler,
  setUnauthenticatedHandler,
  type Session,
  type SignInResult,
} from './api';
import { ErrorMessage } from './components/ui';
import { forgetOnSignOut, INVITATION_PATH, mfaEnrolmentPath, resumePath, setPendingMfa } from './flow';
import { ForgotPasswordPage, SetupPage, SignInPage, SignUpPage } from './pages/auth';
import { AcceptInvitationPage } from './pages/invitation';
import { EmailChangePage, LinkIdentityPage, MagicLinkPage, ResetPasswordPage, SecondFactorPage, VerifyEmailPage } from './pages/links';
import { MailboxPage } from './pages/mailbox';
import { SsoSetupPage } from './pages/sso-setup';
import { lazyPage } from './lazy';
import { navigate, Redirect, usePath } from './router';
import { isStaffPath } from './staff-path';

// The signed-in console and the staff console load when first needed (see lazy.tsx).
const Console = lazyPage(() => import('./pages/console').then((m) => m.ConsolePage));
const Staff = lazyPage(() => import('./pages/staff').then((m) => m.StaffApp));

type AuthState =
  | { readonly status: 'loading' }
  | { readonly status: 'signed-out' }
  | { readonly status: 'signed-in'; readonly session: Session }
  | { readonly status: 'error'; readonly message: string };

const SIGNED_OUT_PAGES = new Set(['/setup', '/sign-in', '/sign-up', '/forgot-password']);
/** Pages that consume a token or a pending step; never a place to return to after signing in. */
const FLOW_PAGES = new Set(['/verify', '/magic', '/reset', '/mfa']);

/** Where to go after signing in: a same-origin path only, never a protocol-relative URL. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  return next && /^\/(?![/\\])/.test(next) && !SIGNED_OUT_PAGES.has(next) && !FLOW_PAGES.has(next) ? next : resumePath();
}

/** The `?next=` to carry from one sign-in step to the next. */
function nextQuery(): string {
  const next = nextPath();
  return next === '/' ? '' : `?next=${encodeURIComponent(next)}`;
}

/** Sends a signed-out visitor to sign-in, or to the setup notice while no account exists. */
function SignedOutRedirect({ path }: { path: string }) {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api
      .setupStatus()
      .then(({ setupRequired }) => {
        if (setupRequired) navigate('/setup', { replace: true });
        else navigate(path === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(`${path}${location.search}`)}`, { replace: true });
      })
      .catch((err: unknown) => setError(errorMessage(err)));
  }, [path]);
  return error ? <ErrorMessage error={error} /> : <p role="status">Loading…</p>;
}

/** The customer console and the staff console (`/staff`, its own realm and session) share the page. */
export function App() {
  const path = usePath();
  return isStaffPath(path) ? <Staff.Page path={path} /> : <CustomerApp path={path} />;
}

function CustomerApp({ path }: { path: string }) {
  const [auth, setAuth] = useState<AuthState>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setUnauthenticatedHandler(() => {
      setCsrfToken(null);
      setAuth({ status: 'signed-out' });
    });
    setMfaEnrolmentRequiredHandler((apiPath) => {
      const workspace = /^\/workspaces\/([^/?]+)/.exec(apiPath)?.[1];
      navigate(mfaEnrolmentPath(workspace ? decodeURIComponent(workspace) : null), { replace: true });
    });
    return () => {
      setUnauthenticatedHandler(null);
      setMfaEnrolmentRequiredHandler(null);
    };
  }, []);

  useEffect(() => {
    api
      .session()
      .then((session) => {
        setCsrfToken(session.csrfToken);
        setAuth({ status: 'signed-in', session });
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setAuth({ status: 'signed-out' });
        else setAuth({ status: 'error', message: errorMessage(err) });
      });
  }, [attempt]);

  // Signed out, the console's chunk is fetched while the person signs in (after the first paint).
  useEffect(() => {
    if (auth.status !== 'signed-out') return;
    const timer = setTimeout(Console.preload, 500);
    return () => clearTimeout(timer);
  }, [auth.status]);

  /** The session changed under the same person (a new token after a password or factor change). */
  const sessionChanged = (session: Session) => {
    setCsrfToken(session.csrfToken);
    setAuth({ status: 'signed-in', session });
  };

  const onResult = (result: SignInResult) => {
    if (result.status === 'mfa_required') {
      setPendingMfa({ mfaToken: result.mfaToken, factors: result.factors });
      navigate(`/mfa${nextQuery()}`);
      return;
    }
    const next = nextPath();
    sessionChanged(result);
    navigate(next, { replace: true });
  };

  const signOut = async (then = '/sign-in') => {
    forgetOnSignOut(then);
    await api.signOut().catch((err: unknown) => {
      // An already-ended session is signed out all the same.
      if (!(err instanceof ApiError && err.status === 401)) throw err;
    });
    setCsrfToken(null);
    setAuth({ status: 'signed-out' });
    navigate(then, { replace: true });
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

  const session = auth.status === 'signed-in' ? auth.session : null;
  switch (path) {
    case '/verify':
      return <VerifyEmailPage onResult={onResult} />;
    case '/magic':
      return <MagicLinkPage onResult={onResult} />;
    case '/reset':
      return <ResetPasswordPage onResult={onResult} />;
    case '/mfa':
      return <SecondFactorPage onResult={onResult} />;
    case '/link':
      return <LinkIdentityPage session={session} />;
    case '/email-change':
      return <EmailChangePage session={session} onSessionChanged={sessionChanged} />;
    case INVITATION_PATH:
      return <AcceptInvitationPage session={session} onSignOut={signOut} />;
    case '/dev/mailbox':
      return <MailboxPage />;
    case '/sso-setup':
      return <SsoSetupPage />;
    default:
      break;
  }

  if (session) {
    if (SIGNED_OUT_PAGES.has(path)) return <Redirect to="/" />;
    return <Console.Page session={session} path={path} onSignOut={signOut} onSessionChanged={sessionChanged} />;
  }

  if (path === '/setup') return <SetupPage onResult={onResult} />;
  if (path === '/sign-in') return <SignInPage onResult={onResult} />;
  if (path === '/sign-up') return <SignUpPage onResult={onResult} />;
  if (path === '/forgot-password') return <ForgotPasswordPage />;
  return <SignedOutRedirect path={path} />;
}
