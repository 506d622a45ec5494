/**
 * The account's security settings (`/account/security`): multi-factor authentication
 * (authenticator app, passkeys, recovery codes), password and linked identity provider; and the
 * panels of `/account/sessions` (sessions, recent security events).
 *
 * `/settings?mfa=required&workspace=<id>` (which leads here, keeping its query) is where the
 * console sends a session that a workspace refused for want of a second factor: the page says
 * why, and what to do.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  errorMessage,
  type AuthEvent,
  type LinkedIdentity,
  type MfaStatus,
  type OidcStatus,
  type Passkey,
  type Session,
  type SessionItem,
  type Workspace,
} from '../api';
import { ConfirmButton, ErrorMessage, NewPasswordField, Panel, PASSWORD_MAX, shortPasswordError, Status } from '../components/ui';
import { EventsPanel } from '../components/events';
import { MfaPanel } from '../components/mfa';
import { Time } from '../components/time';
import { useAction } from '../hooks';
import { Link, useLocation } from '../router';

function PasswordPanel({ onSessionChanged }: { onSessionChanged: (session: Session) => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const { busy, error, setError, run } = useAction({
    describeError: (err) => (err instanceof ApiError && err.code === 'reauthentication_required' ? 'The current password is not right.' : errorMessage(err)),
  });

  const submit = async () => {
    setStatus(null);
    const tooShort = shortPasswordError(next);
    if (tooShort) {
      setError(tooShort);
      return;
    }
    await run(async () => {
      const session = await api.changePassword({ ...(current ? { currentPassword: current } : {}), newPassword: next });
      setCurrent('');
      setNext('');
      onSessionChanged(session);
      setStatus('Password changed. Your other sessions were signed out.');
    });
  };

  return (
    <Panel title="Password" titleId="password-title" testId="password-panel">
      <form
        class="stack narrow"
        aria-label="Change password"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <input type="text" name="username" autocomplete="username" hidden readOnly value="" />
        <label>
          Current password
          <input
            type="password"
            name="current-password"
            autocomplete="current-password"
            maxLength={PASSWORD_MAX}
            aria-describedby="current-password-hint"
            value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)}
          />
        </label>
        <p class="hint" id="current-password-hint">
          Leave it empty only if your account has no password yet (you signed in with an identity provider or a link).
        </p>
        <NewPasswordField id="change-password" value={next} onInput={setNext} note="Your other sessions will be signed out." />
        <ErrorMessage error={error} testId="password-error" />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Change password
          </button>
        </div>
        <Status message={status} />
      </form>
    </Panel>
  );
}

const METHODS: Record<SessionItem['method'], string> = {
  setup: 'setup link',
  password: 'password',
  email_link: 'email link',
  oidc: 'identity provider',
  passkey: 'passkey',
  saml: 'single sign-on (SAML)',
};

export function SessionsPanel() {
  const [sessions, setSessions] = useState<SessionItem[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();

  const load = useCallback(() => loading.run(async () => setSessions((await api.sessions()).data)), []);
  useEffect(() => {
    void load();
  }, [load]);

  const others = sessions?.filter((s) => !s.current).length ?? 0;

  return (
    <Panel title="Sessions" titleId="sessions-title" testId="sessions-panel">
      <p class="hint">Where your account is signed in. Revoke a session you do not recognise; it stops working at once.</p>
      <ErrorMessage error={loading.error} />
      {sessions === null && !loading.error && <p role="status">Loading…</p>}
      {sessions !== null && (
        <ul class="rows" aria-label="Your sessions">
          {sessions.map((s) => (
            <li key={s.id} class="row" data-testid="session" data-session-id={s.id} data-current={s.current ? 'true' : 'false'}>
              <span class="row-main">
                <span>
                  <strong>{s.device}</strong> {s.current && <span class="badge ok">This device</span>}{' '}
                  {s.mfa && <span class="badge">MFA</span>} {s.kind === 'bearer' && <span class="badge">API token</span>}
                </span>
                <span class="muted">
                  {[s.place, s.ip].filter(Boolean).join(' · ')} · signed in with {METHODS[s.method] ?? s.method} <Time iso={s.createdAt} /> · last
                  seen <Time iso={s.lastSeenAt} />
                </span>
              </span>
              {!s.current && (
                <ConfirmButton
                  label="Revoke"
                  confirmLabel="Revoke session"
                  accessibleName={`Revoke the session on ${s.device}`}
                  testId="revoke-session"
                  onConfirm={async () => {
                    await api.revokeSession(s.id);
                    setSessions((previous) => previous?.filter((x) => x.id !== s.id) ?? null);
                    setStatus(`The session on ${s.device} was revoked.`);
                  }}
                />
              )}
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        {others > 0 && (
          <ConfirmButton
            label="Sign out everywhere else"
            confirmLabel={`Sign out ${others} other ${others === 1 ? 'session' : 'sessions'}`}
            testId="revoke-others"
            onConfirm={async () => {
              const { revoked } = await api.revokeOtherSessions();
              setStatus(`Signed out of ${revoked} other ${revoked === 1 ? 'session' : 'sessions'}.`);
              await load();
            }}
          />
        )}
        <button type="button" class="secondary" disabled={loading.busy} onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <Status message={status} />
    </Panel>
  );
}

const ACTIONS: Record<string, string> = {
  'auth.sign_in': 'Signed in',
  'auth.sign_out': 'Signed out',
  'auth.sign_up': 'Account created',
  'auth.email_verified': 'Email address verified',
  'auth.password_changed': 'Password changed',
  'auth.password_reset': 'Password reset',
  'auth.lockout': 'Sign-in locked after failed attempts',
  'auth.mfa_challenge': 'Second factor asked',
  'auth.mfa_verify': 'Second factor checked',
  'auth.mfa.totp_enabled': 'Authenticator app added',
  'auth.mfa.passkey_added': 'Passkey added',
  'auth.mfa.passkey_renamed': 'Passkey renamed',
  'auth.mfa.factor_removed': 'Second factor removed',
  'auth.mfa.recovery_codes_regenerated': 'New recovery codes generated',
  'auth.mfa.passkey_clone_suspected': 'Passkey refused: possibly copied (its counter went back)',
  'auth.mfa.totp_enrolment_started': 'Authenticator app setup started',
  'auth.mfa.passkey_registration_started': 'Passkey setup started',
  'auth.passkey_challenge': 'Passkey asked for',
  'auth.oidc_started': 'Identity provider sign-in started',
  'auth.verification_resent': 'Verification email sent again',
  'auth.identity_link_offered': 'Identity provider link offered',
  'auth.identity_linked': 'Identity provider linked',
  'auth.identity_unlinked': 'Identity provider unlinked',
  'session.revoked': 'Session revoked',
  'session.revoked_others': 'Other sessions signed out',
};

function describeEvent(event: AuthEvent): string {
  const label = ACTIONS[event.action] ?? event.action;
  const how = [event.details['method'], event.details['factor']].filter((v): v is string => typeof v === 'string');
  return how.length > 0 ? `${label} (${how.map((h) => h.replace(/_/g, ' ')).join(', ')})` : label;
}

export function SecurityEventsPanel() {
  const load = useCallback(async () => (await api.authEvents()).data, []);
  return (
    <EventsPanel<AuthEvent>
      title="Recent security events"
      titleId="events-title"
      testId="events-panel"
      rowTestId="event"
      load={load}
      columns={[{ header: 'What', cell: describeEvent }]}
    />
  );
}

/**
 * Sign-in with the identity provider, when one is configured: the identities linked to this
 * account, unlinking, and linking one (a full-page trip to the provider, back to `/settings`).
 */
function IdentitiesPanel({ linked, error: redirectError }: { linked: string | null; error: string | null }) {
  const [oidc, setOidc] = useState<OidcStatus | null>(null);
  const [identities, setIdentities] = useState<LinkedIdentity[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const { busy, error, run } = useAction();

  const load = useCallback(
    () =>
      run(async () => {
        const current = await api.oidcStatus();
        setOidc(current);
        if (current.enabled) setIdentities((await api.identities()).data);
      }),
    [],
  );
  useEffect(() => {
    void load();
  }, [load]);

  if (!oidc?.enabled) return null;
  const provider = oidc.displayName;
  return (
    <Panel title={`Sign in with ${provider}`} titleId="identities-title" testId="identities-panel">
      {linked && <Status message={`${provider} is now linked: you can sign in with it.`} />}
      {redirectError && <ErrorMessage error={`Linking ${provider} did not complete (${redirectError.slice(0, 64)}).`} />}
      {identities !== null && identities.length === 0 && <p class="muted">No {provider} account is linked.</p>}
      {identities !== null && identities.length > 0 && (
        <ul class="rows" aria-label={`Linked ${provider} accounts`}>
          {identities.map((identity) => (
            <li key={identity.id} class="row" data-testid="identity">
              <span class="row-main">
                <strong>{identity.email ?? identity.subject}</strong>
                <span class="muted">
                  Linked <Time iso={identity.createdAt} />
                  {identity.lastUsedAt ? (
                    <>
                      {' '}
                      · last used <Time iso={identity.lastUsedAt} />
                    </>
                  ) : null}
                </span>
              </span>
              <ConfirmButton
                label="Unlink"
                confirmLabel={`Unlink ${provider}`}
                accessibleName={`Unlink ${identity.email ?? identity.subject}`}
                onConfirm={async () => {
                  await api.unlinkIdentity(identity.id);
                  setIdentities((previous) => previous?.filter((i) => i.id !== identity.id) ?? null);
                  setStatus(`${provider} was unlinked.`);
                }}
              />
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={busy}
          onClick={() =>
            void run(async () => {
              const { url } = await api.startIdentityLink();
              location.assign(url);
            })
          }
        >
          Link a {provider} account
        </button>
      </div>
      <ErrorMessage error={error} />
      <Status message={status} />
    </Panel>
  );
}

/** Why the console brought you here, when a workspace requires MFA; and what to do next. */
function MfaRequiredNotice(props: {
  session: Session;
  mfa: MfaStatus | null;
  workspace: Workspace | null;
  workspaceId: string | null;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { session, mfa, workspaceId } = props;
  const name = props.workspace?.name ?? 'This workspace';
  const target = workspaceId ? `/w/${encodeURIComponent(workspaceId)}` : '/';
  const [error, setError] = useState<string | null>(null);

  let body;
  if (session.session.mfa) {
    body = (
      <p data-testid="mfa-required-done">
        Your session is now protected by a second factor.{' '}
        <Link href={target} class="button">
          {props.workspace ? `Open ${props.workspace.name}` : 'Continue'}
        </Link>
      </p>
    );
  } else if (mfa?.enabled) {
    body = (
      <>
        <p>
          Your account has a second factor, but this session was started without it (before you set it up, or elsewhere). Sign in again
          with your second factor to continue.
        </p>
        <button
          type="button"
          onClick={() => {
            setError(null);
            props.onSignOut(`/sign-in?next=${encodeURIComponent(target)}`).catch((err: unknown) => setError(errorMessage(err)));
          }}
        >
          Sign in again
        </button>
        <ErrorMessage error={error} />
      </>
    );
  } else {
    body = <p>Set up an authenticator app or a passkey below; you can then open the workspace.</p>;
  }

  return (
    <section class="notice" role="region" aria-labelledby="mfa-required-title" data-testid="mfa-required-notice">
      <h2 id="mfa-required-title">Multi-factor authentication required</h2>
      <p>{name} requires multi-factor authentication (MFA) of all its members, so it stays closed to a session that did not prove a second factor.</p>
      {body}
    </section>
  );
}

export function AccountPage(props: {
  session: Session;
  workspaces: Workspace[] | null;
  onSessionChanged: (session: Session) => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { session, onSessionChanged } = props;
  const { search } = useLocation();
  const mfaRequired = search.get('mfa') === 'required';
  const workspaceId = search.get('workspace');
  const [mfa, setMfa] = useState<MfaStatus | null>(null);
  const [passkeys, setPasskeys] = useState<Passkey[] | null>(null);
  const [mfaError, setMfaError] = useState<string | null>(null);
  const sessionChanged = onSessionChanged;

  const loadMfa = useCallback(async () => {
    try {
      const [status, keys] = await Promise.all([api.mfa(), api.passkeys()]);
      setMfa(status);
      setPasskeys(keys.data);
      setMfaError(null);
    } catch (err) {
      setMfaError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    void loadMfa();
  }, [loadMfa]);

  return (
    <div class="account-page" data-testid="account-page">
      <h1>Security</h1>
      <p class="muted">
        Signed in as <strong>{session.account.email}</strong>
        {session.account.name ? ` (${session.account.name})` : ''}.
      </p>
      {mfaRequired && (
        <MfaRequiredNotice
          session={session}
          mfa={mfa}
          workspaceId={workspaceId}
          workspace={props.workspaces?.find((w) => w.id === workspaceId) ?? null}
          onSignOut={props.onSignOut}
        />
      )}
      <MfaPanel mfa={mfa} passkeys={passkeys} error={mfaError} reload={loadMfa} onSessionChanged={sessionChanged} />
      <PasswordPanel onSessionChanged={sessionChanged} />
      <IdentitiesPanel linked={search.get('linked')} error={mfaRequired ? null : search.get('error')} />
    </div>
  );
}
