/**
 * Signed-out pages: the one-time setup of the first account, sign-in and sign-up.
 *
 * The setup token arrives in the URL fragment (`/setup#token=…`), which browsers never send to
 * a server. It is read once, removed from the address bar and history, kept in memory, and sent
 * only in the sign-up body.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, errorMessage, type Session } from '../api';
import { ErrorMessage } from '../components/ui';
import { useAction } from '../hooks';
import { Link } from '../router';

const PASSWORD_MIN = 12;

interface AuthPageProps {
  readonly onSignedIn: (session: Session) => void;
}

function AuthLayout({ title, children }: { title: string; children: ComponentChildren }) {
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

interface CredentialsFormProps {
  readonly submitLabel: string;
  readonly withName: boolean;
  readonly newPassword: boolean;
  readonly onSubmit: (values: { email: string; password: string; name: string }) => Promise<void>;
}

function CredentialsForm({ submitLabel, withName, newPassword, onSubmit }: CredentialsFormProps) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  // Success signs in and replaces this page, so the form stays busy until then.
  const { busy, error, setError, run } = useAction({ staysBusy: true });

  const submit = async () => {
    if (newPassword && password.length < PASSWORD_MIN) {
      setError(`The password must be at least ${PASSWORD_MIN} characters.`);
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
      {withName && (
        <label>
          Name (optional)
          <input type="text" name="name" autocomplete="name" maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
      )}
      <label>
        Password
        <input
          type="password"
          name="password"
          autocomplete={newPassword ? 'new-password' : 'current-password'}
          required
          minLength={newPassword ? PASSWORD_MIN : undefined}
          maxLength={256}
          aria-describedby={newPassword ? 'password-hint' : undefined}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {newPassword && (
        <p class="hint" id="password-hint">
          At least {PASSWORD_MIN} characters.
        </p>
      )}
      <ErrorMessage error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Please wait…' : submitLabel}
      </button>
    </form>
  );
}

/** Reads `token` from the fragment once, then removes the fragment from the address bar. */
function takeSetupToken(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  if (location.hash) history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return token && token.length > 0 ? token : null;
}

export function SetupPage({ onSignedIn }: AuthPageProps) {
  const [token, setToken] = useState(takeSetupToken);
  const [required, setRequired] = useState<boolean | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Opening the link while already on /setup changes only the fragment: no new page load.
  useEffect(() => {
    const onHashChange = () => {
      const fresh = takeSetupToken();
      if (fresh) setToken(fresh);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);

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
        <p data-testid="setup-needs-link">
          No account exists yet. To create the first one, open the one-time setup link that the Rampart server printed when it
          started (it looks like <code>/setup#token=…</code>).
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Create the first account">
      <p>This is the first account of this Rampart instance. The setup link works only once.</p>
      <CredentialsForm
        submitLabel="Create account"
        withName
        newPassword
        onSubmit={async ({ email, password, name }) => {
          onSignedIn(await api.signUp({ email, password, name, setupToken: token }));
        }}
      />
    </AuthLayout>
  );
}

export function SignInPage({ onSignedIn }: AuthPageProps) {
  return (
    <AuthLayout title="Sign in">
      <CredentialsForm
        submitLabel="Sign in"
        withName={false}
        newPassword={false}
        onSubmit={async ({ email, password }) => {
          onSignedIn(await api.signIn({ email, password }));
        }}
      />
      <p class="aside">
        No account? <Link href="/sign-up">Create one</Link>.
      </p>
    </AuthLayout>
  );
}

export function SignUpPage({ onSignedIn }: AuthPageProps) {
  return (
    <AuthLayout title="Create an account">
      <CredentialsForm
        submitLabel="Create account"
        withName
        newPassword
        onSubmit={async ({ email, password, name }) => {
          onSignedIn(await api.signUp({ email, password, ...(name ? { name } : {}) }));
        }}
      />
      <p class="aside">
        Already have an account? <Link href="/sign-in">Sign in</Link>.
      </p>
    </AuthLayout>
  );
}
