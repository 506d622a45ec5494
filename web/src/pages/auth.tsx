/**
 * Signed-out pages: the one-time setup of the first account, sign-in (password, email link,
 * passkey, identity provider, a workspace's SAML single sign-on), sign-up and the password-reset
 * request.
 *
 * The setup token arrives in the URL fragment (`/setup#token=…`), which browsers never send to
 * a server. It is read once, removed from the address bar and history, kept in memory, and sent
 * only in the sign-up body.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type OidcStatus, type SignInResult } from '../api';
import { CopyValue, ErrorMessage, NewPasswordField, PasswordField, shortPasswordError } from '../components/ui';
import { invitedEmail, useFragmentToken } from '../flow';
import { useAction } from '../hooks';
import { Link, useLocation } from '../router';
import { assertPasskey, browserSupportsWebAuthn } from '../webauthn';


/** The `?next=` of this page, for a link to the other of sign-in and sign-up (the app checks it when used). */
function carriedNext(search: URLSearchParams): string {
  const next = search.get('next');
  return next ? `?next=${encodeURIComponent(next)}` : '';
}

export interface AuthPageProps {
  /** A first factor passed: signed in, or a second factor to ask for. */
  readonly onResult: (result: SignInResult) => void;
}

export function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main class="auth" id="main">
      <div class="auth-card">
        <p class="brand">Rampart</p>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

interface NewAccountFormProps {
  /** The address to start from (an invitation's). */
  readonly initialEmail?: string | null;
  readonly onSubmit: (values: { email: string; password: string; name: string }) => Promise<void>;
}

/** Email, optional name and a new password: the first account (setup) and sign-up. */
function NewAccountForm({ initialEmail, onSubmit }: NewAccountFormProps) {
  const [email, setEmail] = useState(initialEmail ?? '');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  // Success signs in or moves on to "check your email", so the form stays busy until then.
  const { busy, error, setError, run } = useAction({ staysBusy: true });

  const submit = async () => {
    const tooShort = shortPasswordError(password);
    if (tooShort) {
      setError(tooShort);
      return;
    }
    await run(() => onSubmit({ email: email.trim(), password, name: name.trim() }));
  };

  return (
    <form
      class="stack"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label>
        Email
        <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label>
        Name (optional)
        <input type="text" name="name" autocomplete="name" maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <NewPasswordField id="password" label="Password" name="password" value={password} onInput={setPassword} />
      <ErrorMessage error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Please wait…' : 'Create account'}
      </button>
    </form>
  );
}

export function SetupPage({ onResult }: AuthPageProps) {
  // Opening the link while already on /setup changes only the fragment: no new page load.
  const token = useFragmentToken();
  const [required, setRequired] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api
      .setupStatus()
      .then((status) => setRequired(status.setupRequired))
      .catch((err: unknown) => setError(errorMessage(err)));
  }, []);

  if (error) {
    return (
      <AuthLayout title="Set up Rampart">
        <ErrorMessage error={error} />
      </AuthLayout>
    );
  }
  if (required === null) {
    return (
      <AuthLayout title="Set up Rampart">
        <p role="status">Loading…</p>
      </AuthLayout>
    );
  }
  if (!required) {
    return (
      <AuthLayout title="Rampart is set up">
        <p data-testid="setup-done">The first account already exists.</p>
        <p>
          <Link href="/sign-in">Sign in</Link> or <Link href="/sign-up">create an account</Link>.
        </p>
      </AuthLayout>
    );
  }
  if (!token) {
    return (
      <AuthLayout title="Set up Rampart">
        {/* How to get the link, never the link: its token creates the first account, and any page a browser can read is no place for it. */}
        <div class="stack" data-testid="setup-needs-link">
          <p>
            No account exists yet. The first one is created with a one-time setup link, printed in the terminal where the server started
            (it ends in <code>/setup#token=…</code>): open it in this browser.
          </p>
          <p>Lost it? While the server runs, get a new one in the Rampart folder, in another terminal:</p>
          <CopyValue label="command" value="npx rampart setup-link --dev" testId="setup-link-command" />
          <p class="hint">
            That is for development (<code>npm start</code>). In production, run <code>npx rampart setup-link</code> with the
            server's settings. A new link replaces the previous one.
          </p>
        </div>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Create the first account">
      <p>This is the first account of this Rampart instance. The setup link works only once.</p>
      <NewAccountForm
        onSubmit={async ({ email, password, name }) => {
          const result = await api.signUp({ email, password, name, setupToken: token });
          if (result.status === 'signed_in') onResult(result);
          else throw new Error('The setup link was not accepted; open it again from the server output.');
        }}
      />
    </AuthLayout>
  );
}

/** "Check your email": what was sent, where, and what to do with it. */
export function CheckEmail({ email, children, onBack }: { email: string; children: ComponentChildren; onBack?: () => void }) {
  return (
    <div class="stack" data-testid="check-email">
      <p role="status">
        Check your email: we sent a message to <strong>{email}</strong>.
      </p>
      {children}
      <p class="hint">The link works once, for 15 minutes, and only in this browser. Nothing arrived? Look in your spam folder, or ask again.</p>
      {onBack && (
        <p class="aside">
          <button type="button" class="link-button" onClick={onBack}>
            Use another address
          </button>
        </p>
      )}
    </div>
  );
}

/** What the identity provider's redirect back (`/sign-in?error=<code>`) means, in words. */
function providerErrorMessage(code: string, provider: string): string {
  switch (code) {
    case 'sign_in_failed':
      return `Sign-in with ${provider} failed. Try again, or sign in another way.`;
    case 'identity_in_use':
      return `This ${provider} account is already linked to another Rampart account.`;
    case 'signup_closed':
      return `No Rampart account uses this ${provider} account, and sign-up is closed on this instance.`;
    case 'email_not_verified':
      return `${provider} did not confirm this email address, so it cannot be used to sign in here.`;
    case 'sso_required':
      return 'Accounts of your email domain sign in with single sign-on. Use “Sign in with SSO” below.';
    case 'sso_not_configured':
      return 'Single sign-on is not set up (or not enabled) for this workspace. Sign in another way, or ask your IT admin.';
    case 'rate_limited':
      return 'Too many sign-in attempts from here. Wait a minute, then try again.';
    case 'provider_not_configured':
      return 'Sign-in with an identity provider is not configured on this instance.';
    case 'access_denied':
      return `Sign-in with ${provider} was cancelled.`;
    case 'challenge_expired':
    case 'invalid_link':
      return `The sign-in with ${provider} took too long or was already used. Try again.`;
    default:
      return `Sign-in with ${provider} did not complete (${code.slice(0, 64)}). Try again, or sign in another way.`;
  }
}

/** The identity provider button, shown only when one is configured. A full-page navigation. */
function ProviderButton({ status }: { status: OidcStatus | null }) {
  if (!status?.enabled) return null;
  return (
    <>
      <a class="button secondary provider" href={api.oidcStartUrl} data-testid="oidc-sign-in">
        Sign in with {status.displayName}
      </a>
      <p class="divider" aria-hidden="true">
        or
      </p>
    </>
  );
}

function useOidcStatus(): OidcStatus | null {
  const [status, setStatus] = useState<OidcStatus | null>(null);
  useEffect(() => {
    let live = true;
    api
      .oidcStatus()
      .then((s) => {
        if (live) setStatus(s);
      })
      // Without a provider status the button is simply not offered.
      .catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  return status;
}

/** The `?next=` of the sign-in page as a path to return to after SSO; the server checks it again. */
function ssoReturnTo(search: URLSearchParams): string | null {
  const next = search.get('next');
  if (!next || !/^\/(?![/\\])/.test(next) || /[\r\n]/.test(next) || next.length > 512) return null;
  return ['/sign-in', '/sign-up', '/setup', '/forgot-password', '/verify', '/magic', '/reset', '/mfa'].includes(next.split(/[?#]/)[0] ?? '') ? null : next;
}

/**
 * Leaves for the workspace's SAML sign-in (a full-page navigation: the server redirects to the
 * IdP). Only an http(s) URL is followed.
 */
function startSso(loginUrl: string, returnTo: string | null): void {
  const url = new URL(loginUrl, location.origin);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('The single sign-on address is not usable.');
  if (returnTo) url.searchParams.set('returnTo', returnTo);
  location.assign(url.toString());
}

/** The workspace whose SSO an `sso_required` refusal names (`details.workspaceId`). */
function requiredWorkspace(details: unknown): string | null {
  if (typeof details !== 'object' || details === null || !('workspaceId' in details)) return null;
  return typeof details.workspaceId === 'string' && details.workspaceId ? details.workspaceId : null;
}

const emailDomainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1);

/** Home-realm discovery: a work email, then off to its workspace's identity provider. */
function SsoSignIn({ initialEmail, returnTo, onBack }: { initialEmail: string; returnTo: string | null; onBack: () => void }) {
  const [email, setEmail] = useState(initialEmail);
  // Success leaves the page, so the form stays busy until then.
  const { busy, error, setError, run } = useAction({ staysBusy: true });

  const submit = async () => {
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      setError('Enter your work email address, such as you@example.com.');
      return;
    }
    await run(async () => {
      const found = await api.discoverSso(address);
      if (!found.sso || !found.loginUrl) {
        throw new Error(`Single sign-on is not set up for ${emailDomainOf(address)}. Sign in another way.`);
      }
      startSso(found.loginUrl, returnTo);
    });
  };

  return (
    <>
      <p>Enter your work email: if your organisation signs in through its identity provider, you go there next.</p>
      <form
        class="stack"
        aria-label="Sign in with SSO"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label>
          Work email
          <input type="email" name="sso-email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <ErrorMessage error={error} testId="sso-error" />
        <button type="submit" disabled={busy}>
          {busy ? 'Please wait…' : 'Continue with SSO'}
        </button>
      </form>
      <p class="aside">
        <button type="button" class="link-button" onClick={onBack}>
          Sign in another way
        </button>
      </p>
    </>
  );
}

export function SignInPage({ onResult }: AuthPageProps) {
  const { search } = useLocation();
  // An invitation opened in this browser names the address it is for.
  const [invited] = useState(invitedEmail);
  const oidc = useOidcStatus();
  const providerError = search.get('error');
  const [mode, setMode] = useState<'password' | 'sso'>('password');
  // A password sign-in refused because the email's domain signs in with a workspace's SSO.
  const [ssoRequired, setSsoRequired] = useState<{ readonly email: string; readonly workspaceId: string } | null>(null);
  const goingToSso = useAction({ staysBusy: true });
  const [email, setEmail] = useState(invited ?? '');
  const [password, setPassword] = useState('');
  const [linkSentTo, setLinkSentTo] = useState<string | null>(null);
  // Success signs in and replaces this page, so the form stays busy until then.
  const signIn = useAction({ staysBusy: true });
  const magic = useAction();
  const passkey = useAction({
    staysBusy: true,
    describeError: (err) =>
      err instanceof ApiError && err.code === 'invalid_credentials' ? 'This passkey was not accepted. Sign in another way.' : errorMessage(err),
  });
  const busy = signIn.busy || magic.busy || passkey.busy;

  const submit = async () => {
    magic.setError(null);
    passkey.setError(null);
    setSsoRequired(null);
    const ok = await signIn.run(async () => {
      try {
        onResult(await api.signIn({ email: email.trim(), password }));
      } catch (err) {
        const workspaceId = err instanceof ApiError && err.code === 'sso_required' ? requiredWorkspace(err.details) : null;
        if (workspaceId) {
          setSsoRequired({ email: email.trim(), workspaceId });
          throw new Error(`Accounts of ${emailDomainOf(email.trim())} sign in with single sign-on (SSO), not with a password.`, { cause: err });
        }
        if (err instanceof ApiError && err.code === 'email_not_verified') {
          throw new Error(`Your email address is not verified yet. We sent a new verification link to ${email.trim()}: open it in this browser.`, { cause: err });
        }
        throw err;
      }
    });
    if (!ok) setPassword('');
  };

  const sendLink = async () => {
    signIn.setError(null);
    passkey.setError(null);
    const address = email.trim();
    if (!address || !/^[^\s@]+@[^\s@]+$/.test(address)) {
      magic.setError('Enter your email address first, then ask for a sign-in link.');
      return;
    }
    await magic.run(async () => {
      await api.requestMagicLink(address);
      setLinkSentTo(address);
    });
  };

  const withPasskey = async () => {
    signIn.setError(null);
    magic.setError(null);
    await passkey.run(async () => {
      const { challengeId, options } = await api.passkeySignInOptions();
      const response = await assertPasskey(options);
      onResult(await api.passkeySignIn(challengeId, response));
    });
  };

  if (linkSentTo) {
    return (
      <AuthLayout title="Check your email">
        <CheckEmail email={linkSentTo} onBack={() => setLinkSentTo(null)}>
          <p>If an account uses this address, the message holds a link that signs you in.</p>
        </CheckEmail>
      </AuthLayout>
    );
  }

  const providerMessage = providerError && <ErrorMessage error={providerErrorMessage(providerError, oidc?.enabled ? oidc.displayName : 'single sign-on')} testId="provider-error" />;

  if (mode === 'sso') {
    return (
      <AuthLayout title="Sign in with SSO">
        {providerMessage}
        <SsoSignIn initialEmail={email.trim()} returnTo={ssoReturnTo(search)} onBack={() => setMode('password')} />
      </AuthLayout>
    );
  }

  return (
    <AuthLayout title="Sign in">
      {providerMessage}
      <ProviderButton status={oidc} />
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label>
          Email
          <input type="email" name="email" autocomplete="username webauthn" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <PasswordField value={password} onInput={setPassword} />
        <ErrorMessage error={signIn.error} />
        {ssoRequired && (
          <div class="stack" data-testid="sso-required">
            <button
              type="button"
              disabled={goingToSso.busy}
              onClick={() =>
                void goingToSso.run(() => {
                  startSso(api.samlLoginUrl(ssoRequired.workspaceId), ssoReturnTo(search));
                  return Promise.resolve();
                })
              }
            >
              {goingToSso.busy ? 'Please wait…' : `Continue with SSO as ${ssoRequired.email}`}
            </button>
            <ErrorMessage error={goingToSso.error} />
          </div>
        )}
        <button type="submit" class={ssoRequired ? 'secondary' : undefined} disabled={busy}>
          {signIn.busy ? 'Please wait…' : 'Sign in'}
        </button>
      </form>
      <div class="stack alternatives">
        <button type="button" class="secondary" disabled={busy} data-testid="sso-sign-in" onClick={() => setMode('sso')}>
          Sign in with SSO
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={() => void sendLink()}>
          {magic.busy ? 'Sending…' : 'Email me a sign-in link'}
        </button>
        <ErrorMessage error={magic.error} testId="magic-link-error" />
        {browserSupportsWebAuthn() && (
          <button type="button" class="secondary" disabled={busy} onClick={() => void withPasskey()}>
            {passkey.busy ? 'Waiting for your passkey…' : 'Sign in with a passkey'}
          </button>
        )}
        <ErrorMessage error={passkey.error} testId="passkey-error" />
      </div>
      <p class="aside">
        <Link href="/forgot-password">Forgot your password?</Link> · No account? <Link href={`/sign-up${carriedNext(search)}`}>Create one</Link>.
      </p>
    </AuthLayout>
  );
}

export function SignUpPage({ onResult }: AuthPageProps) {
  const { search } = useLocation();
  const [sentTo, setSentTo] = useState<string | null>(null);
  // An invitation opened in this browser names the address it is for.
  const [invited] = useState(invitedEmail);
  if (sentTo) {
    return (
      <AuthLayout title="Check your email">
        <CheckEmail email={sentTo} onBack={() => setSentTo(null)}>
          <p>Open the link in it to confirm your address and finish creating your account{invited ? ' and join the workspace you were invited to' : ''}. Opening it in another tab of this browser is fine.</p>
        </CheckEmail>
        <p class="aside">
          Already confirmed? <Link href={`/sign-in${carriedNext(search)}`}>Sign in</Link>.
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Create an account">
      {invited && (
        <p data-testid="invited-address">
          Your invitation was sent to <strong>{invited}</strong>: create the account with that address to accept it.
        </p>
      )}
      <NewAccountForm
        initialEmail={invited}
        onSubmit={async ({ email, password, name }) => {
          const result = await api.signUp({ email, password, ...(name ? { name } : {}) });
          if (result.status === 'signed_in') onResult(result);
          else setSentTo(email);
        }}
      />
      <p class="aside">
        Already have an account? <Link href={`/sign-in${carriedNext(search)}`}>Sign in</Link>.
      </p>
    </AuthLayout>
  );
}

export function ForgotPasswordPage() {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { busy, error, run } = useAction();

  if (sentTo) {
    return (
      <AuthLayout title="Check your email">
        <CheckEmail email={sentTo} onBack={() => setSentTo(null)}>
          <p>If an account uses this address, the message holds a link to choose a new password.</p>
        </CheckEmail>
        <p class="aside">
          <Link href="/sign-in">Back to sign in</Link>
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Reset your password">
      <p>Enter the email address of your account. We will send you a link to choose a new password.</p>
      <form
        class="stack"
        onSubmit={(event) => {
          event.preventDefault();
          const address = email.trim();
          void run(async () => {
            await api.requestPasswordReset(address);
            setSentTo(address);
          });
        }}
      >
        <label>
          Email
          <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <ErrorMessage error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send reset link'}
        </button>
      </form>
      <p class="aside">
        Remembered it? <Link href="/sign-in">Sign in</Link>.
      </p>
    </AuthLayout>
  );
}
