/**
 * The staff console, at `/staff`: the operator's staff, a realm apart from customer accounts (its
 * own sign-in, its own session cookie, never the customer's).
 *
 * - `/staff/setup#token=…`: a new (or reset) staff member's one-time setup link: choose a password.
 * - Signed out, any `/staff` page asks for email and password; then every staff session must prove
 *   a code from an authenticator app (and a member without one enrols one first) before anything
 *   else works.
 * - Signed in with MFA: the staff home (request access, your requests and grants, break-glass for
 *   security staff, staff members for staff-admins) and, for a live grant, the granted workspace's
 *   data at `/staff/access/:requestId[/c/:collection[/r/:recordId]]` (see staff-access.tsx). What
 *   is offered follows the staff role's permissions; the server decides.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api';
import { ErrorMessage, NewPasswordField, PasswordField, shortPasswordError, TotpCodeField } from '../components/ui';
import { useFragmentToken } from '../flow';
import { useAction } from '../hooks';
import { Link, matchRoute, navigate, Redirect } from '../router';
import {
  setStaffCsrfToken,
  setStaffMfaRequiredHandler,
  setStaffUnauthenticatedHandler,
  staffApi,
  type StaffSession,
  type StaffTotpEnrolment,
} from '../staff-api';
import { StaffGrantPage, StaffHome } from './staff-access';

import { STAFF_HOME } from '../staff-path';

export { isStaffPath, STAFF_HOME } from '../staff-path';

type StaffAuth =
  | { readonly status: 'loading' }
  | { readonly status: 'signed-out'; readonly notice?: string }
  | { readonly status: 'signed-in'; readonly session: StaffSession }
  | { readonly status: 'error'; readonly message: string };

function StaffAuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth staff-realm" id="main">
      <div class="auth-card">
        <p class="brand">
          Rampart <span class="badge staff">Staff</span>
        </p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

function StaffSignIn({ onSession, notice }: { onSession: (session: StaffSession) => void; notice?: string | undefined }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, run } = useAction({ staysBusy: true });
  return (
    <StaffAuthLayout title="Staff sign-in">
      <p class="hint">For the operator&rsquo;s staff only. Customers sign in at <Link href="/sign-in">the console</Link>.</p>
      {notice && (
        <p class="status" role="status" data-testid="staff-signed-out-notice">
          {notice}
        </p>
      )}
      <form
        class="stack"
        aria-label="Staff sign-in"
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => onSession(await staffApi.signIn(email.trim(), password)));
        }}
      >
        <label>
          Email
          <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <PasswordField value={password} onInput={setPassword} />
        <ErrorMessage error={error} testId="staff-sign-in-error" />
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : 'Sign in'}
        </button>
      </form>
      <p class="hint">A code from your authenticator app is asked next.</p>
    </StaffAuthLayout>
  );
}

function StaffSetup({ onSession }: { onSession: (session: StaffSession) => void }) {
  const token = useFragmentToken();
  const [password, setPassword] = useState('');
  const { busy, error, setError, run } = useAction({ staysBusy: true });
  if (!token) {
    return (
      <StaffAuthLayout title="Staff setup">
        <p data-testid="staff-setup-needs-link">Open the one-time setup link you were given (it looks like <code>/staff/setup#token=…</code>).</p>
        <p>
          <Link href={STAFF_HOME}>Staff sign-in</Link>
        </p>
      </StaffAuthLayout>
    );
  }
  return (
    <StaffAuthLayout title="Set up your staff account">
      <p>Choose your password. Next you set up an authenticator app: staff cannot do anything without one.</p>
      <form
        class="stack"
        aria-label="Staff account setup"
        onSubmit={(event) => {
          event.preventDefault();
          const short = shortPasswordError(password);
          if (short) return setError(short);
          void run(async () => {
            onSession(await staffApi.setup(token, password));
            navigate(STAFF_HOME, { replace: true });
          });
        }}
      >
        <NewPasswordField id="staff-password" label="Password" name="password" value={password} onInput={setPassword} />
        <ErrorMessage error={error} testId="staff-setup-error" />
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : 'Set password'}
        </button>
      </form>
    </StaffAuthLayout>
  );
}

function CodeForm(props: { label: string; submitLabel: string; onCode: (code: string) => Promise<void> }) {
  const [code, setCode] = useState('');
  const { busy, error, setError, run } = useAction({
    staysBusy: true,
    describeError: (err) => (err instanceof ApiError && err.code === 'invalid_credentials' ? 'That code is not right, or it was already used. Wait for the next one.' : errorMessage(err)),
  });
  return (
    <form
      class="stack"
      aria-label={props.label}
      onSubmit={(event) => {
        event.preventDefault();
        const value = code.replace(/\s+/g, '');
        if (!/^\d{6}$/.test(value)) return setError('Enter the 6-digit code the app shows.');
        void run(() => props.onCode(value)).then((ok) => {
          if (!ok) setCode('');
        });
      }}
    >
      <TotpCodeField label="Code from your authenticator app" name="code" value={code} onInput={setCode} />
      <ErrorMessage error={error} testId="staff-totp-error" />
      <button type="submit" disabled={busy}>
        {props.submitLabel}
      </button>
    </form>
  );
}

const grouped = (secret: string) => secret.replace(/(.{4})/g, '$1 ').trim();

/** The second step every staff session takes: prove a TOTP code, enrolling an app first if needed. */
function StaffMfa(props: { session: StaffSession; onSession: (session: StaffSession) => void; onSignOut: () => void }) {
  const { session } = props;
  const [enrolment, setEnrolment] = useState<StaffTotpEnrolment | null>(null);
  const starting = useAction();
  const verify = async (code: string) => props.onSession(await staffApi.verifyTotp(code));

  return (
    <StaffAuthLayout title={session.staff.totp ? 'Second step' : 'Set up your authenticator app'}>
      <p>
        Signed in as <strong data-testid="staff-mfa-email">{session.staff.email}</strong>.
      </p>
      {session.staff.totp ? (
        <CodeForm label="Prove your authenticator code" submitLabel="Verify" onCode={verify} />
      ) : enrolment ? (
        <>
          <ol class="steps">
            <li>
              In your authenticator app, add an account and type in this key:
              <code class="secret" data-testid="staff-totp-secret">
                {grouped(enrolment.secret)}
              </code>
              On a phone with the app, you can instead open this <a href={enrolment.otpauthUrl}>setup link</a>.
            </li>
            <li>Enter the 6-digit code the app now shows.</li>
          </ol>
          <CodeForm label="Confirm authenticator app" submitLabel="Turn on and continue" onCode={verify} />
        </>
      ) : (
        <>
          <p>Staff sessions always need a second factor. Set up an authenticator app (TOTP) to continue.</p>
          <ErrorMessage error={starting.error} />
          <button type="button" disabled={starting.busy} onClick={() => void starting.run(async () => setEnrolment(await staffApi.startTotp()))}>
            Set up authenticator app
          </button>
        </>
      )}
      <p class="aside">
        <button type="button" class="link-button" onClick={props.onSignOut}>
          Sign out
        </button>
      </p>
    </StaffAuthLayout>
  );
}

function StaffNotFound() {
  return (
    <section class="panel" data-testid="page-not-found">
      <h1>Page not found</h1>
      <p>
        <Link href={STAFF_HOME}>Go to the staff console</Link>
      </p>
    </section>
  );
}

function StaffConsole(props: { session: StaffSession; path: string; onSignOut: () => void }) {
  const { session, path } = props;
  const grantRoute =
    matchRoute('/staff/access/:requestId/c/:collection/r/:recordId', path) ??
    matchRoute('/staff/access/:requestId/c/:collection', path) ??
    matchRoute('/staff/access/:requestId', path);
  let content: ComponentChildren;
  if (path === STAFF_HOME) content = <StaffHome session={session} />;
  else if (path === '/staff/sign-in' || path === '/staff/setup') content = <Redirect to={STAFF_HOME} />;
  else if (grantRoute?.['requestId'])
    content = (
      <StaffGrantPage
        key={grantRoute['requestId']}
        session={session}
        requestId={grantRoute['requestId']}
        collection={grantRoute['collection'] ?? null}
        recordId={grantRoute['recordId'] ?? null}
      />
    );
  else content = <StaffNotFound />;

  return (
    <div class="app staff-realm">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href={STAFF_HOME} class="brand">
          Rampart <span class="badge staff">Staff</span>
        </Link>
        <div class="account">
          <span data-testid="staff-name">{session.staff.name}</span>
          <span class="badge" data-testid="staff-role">
            {session.staff.role}
          </span>
          <span class="muted" data-testid="staff-email">
            {session.staff.email}
          </span>
          <button type="button" class="secondary" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" class="content">
        {content}
      </main>
    </div>
  );
}

export function StaffApp({ path }: { path: string }) {
  const [auth, setAuth] = useState<StaffAuth>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    setStaffUnauthenticatedHandler(() => {
      setStaffCsrfToken(null);
      setAuth({ status: 'signed-out', notice: 'Your staff session ended. Sign in again.' });
    });
    // The session lost (or never had) its proof of a second factor: ask for it.
    setStaffMfaRequiredHandler(() => setAuth((a) => (a.status === 'signed-in' ? { status: 'signed-in', session: { ...a.session, session: { ...a.session.session, mfa: false } } } : a)));
    return () => {
      setStaffUnauthenticatedHandler(null);
      setStaffMfaRequiredHandler(null);
    };
  }, []);

  useEffect(() => {
    staffApi
      .session()
      .then((session) => {
        setStaffCsrfToken(session.csrfToken);
        setAuth({ status: 'signed-in', session });
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setAuth({ status: 'signed-out' });
        else setAuth({ status: 'error', message: errorMessage(err) });
      });
  }, [attempt]);

  const onSession = (session: StaffSession) => {
    setStaffCsrfToken(session.csrfToken);
    setAuth({ status: 'signed-in', session });
  };

  const signOut = () => {
    void staffApi
      .signOut()
      .catch(() => undefined)
      .then(() => {
        setStaffCsrfToken(null);
        setAuth({ status: 'signed-out', notice: 'You are signed out.' });
        navigate(STAFF_HOME, { replace: true });
      });
  };

  if (path === '/staff/setup') return <StaffSetup onSession={onSession} />;
  if (auth.status === 'loading') return <p class="loading" role="status">Loading…</p>;
  if (auth.status === 'error') {
    return (
      <StaffAuthLayout title="Rampart is unavailable">
        <ErrorMessage error={auth.message} />
        <button type="button" onClick={() => setAttempt((n) => n + 1)}>
          Try again
        </button>
      </StaffAuthLayout>
    );
  }
  if (auth.status === 'signed-out') return <StaffSignIn onSession={onSession} notice={auth.notice} />;
  if (!auth.session.session.mfa) return <StaffMfa session={auth.session} onSession={onSession} onSignOut={signOut} />;
  return <StaffConsole session={auth.session} path={path} onSignOut={signOut} />;
}
