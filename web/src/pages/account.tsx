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
  type FactorChanged,
  type LinkedIdentity,
  type MfaStatus,
  type OidcStatus,
  type Passkey,
  type Reauth,
  type Session,
  type SessionItem,
  type TotpSetup,
  type Workspace,
} from '../api';
import { ConfirmButton, ErrorMessage, formatDate, NewPasswordField, Panel, PASSWORD_MAX, shortPasswordError, Status, TotpCodeField } from '../components/ui';
import { EventsPanel } from '../components/events';
import { Time } from '../components/time';
import { useAction } from '../hooks';
import { Link, useLocation } from '../router';
import { browserSupportsWebAuthn, createPasskey } from '../webauthn';

/**
 * A password is at least 12 characters; an authenticator code (6 digits) or a recovery code
 * (`xxxxx-xxxxx`) is shorter. So the one field takes either, and the length tells which.
 */
function proofOf(value: string): Reauth {
  return value.length < 12 ? { code: value.trim() } : { password: value };
}

/** Asks again who you are before a sensitive change: the password or, without one, a code. */
function ReauthForm(props: { id: string; submitLabel: string; onSubmit: (proof: Reauth) => Promise<void>; onCancel: () => void; danger?: boolean }) {
  const [value, setValue] = useState('');
  const { busy, error, run } = useAction({
    describeError: (err) =>
      err instanceof ApiError && (err.code === 'reauthentication_required' || err.code === 'invalid_credentials')
        ? 'That password or code is not right.'
        : errorMessage(err),
  });
  return (
    <form
      class="inline-form"
      aria-label={props.submitLabel}
      onSubmit={(event) => {
        event.preventDefault();
        void run(() => props.onSubmit(proofOf(value)));
      }}
    >
      <label>
        Confirm with your password
        <input
          id={props.id}
          type="password"
          name="proof"
          autocomplete="current-password"
          required
          maxLength={PASSWORD_MAX}
          aria-describedby={`${props.id}-hint`}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <p class="hint" id={`${props.id}-hint`}>
        No password on your account? Enter a code from your authenticator app, or a recovery code.
      </p>
      <button type="submit" class={props.danger ? 'danger' : undefined} disabled={busy}>
        {props.submitLabel}
      </button>
      <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>
        Cancel
      </button>
      <ErrorMessage error={error} />
    </form>
  );
}

/** Recovery codes, shown once, with ways to keep them. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const text = `Rampart recovery codes (each works once)\n\n${codes.join('\n')}\n`;

  const copy = async () => {
    setError(null);
    try {
      await navigator.clipboard.writeText(text);
      setStatus('Copied to the clipboard.');
    } catch {
      setError('The browser did not allow copying: select the codes and copy them yourself.');
    }
  };

  const download = () => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'rampart-recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus('Downloaded.');
  };

  return (
    <section class="notice" aria-labelledby="recovery-codes-title" data-testid="recovery-codes">
      <h3 id="recovery-codes-title">Your recovery codes</h3>
      <p>
        If you lose your authenticator app or passkey, each of these codes signs you in once. <strong>They are shown only now</strong>:
        copy or download them and keep them somewhere safe.
      </p>
      <ol class="codes">
        {codes.map((code) => (
          <li key={code}>
            <code data-testid="recovery-code">{code}</code>
          </li>
        ))}
      </ol>
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" class="secondary" onClick={download}>
          Download
        </button>
        <button type="button" onClick={onDone}>
          I have saved them
        </button>
      </div>
      <ErrorMessage error={error} />
      <Status message={status} />
    </section>
  );
}

/** A secret in groups of four, easier to type into an app by hand. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/** After a factor change: the server's answer (a new session, maybe recovery codes), or none. */
type OnFactorChange = (change: FactorChanged | null) => Promise<void>;

function TotpSection({ mfa, onChanged }: { mfa: MfaStatus; onChanged: OnFactorChange }) {
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState('');
  const [removing, setRemoving] = useState(false);
  const starting = useAction();
  const confirming = useAction({
    describeError: (err) =>
      err instanceof ApiError && (err.code === 'mfa_code_invalid' || err.code === 'validation_failed')
        ? 'That code is not right. Check the time on your device and enter the current code.'
        : errorMessage(err),
  });

  if (mfa.totp) {
    return (
      <div class="factor" data-testid="totp-enabled">
        <p>
          <strong>Authenticator app</strong> <span class="badge ok">On</span>
        </p>
        {removing ? (
          <ReauthForm
            id="totp-remove-proof"
            submitLabel="Remove authenticator app"
            danger
            onCancel={() => setRemoving(false)}
            onSubmit={async (proof) => {
              const change = await api.removeTotp(proof);
              setRemoving(false);
              await onChanged(change);
            }}
          />
        ) : (
          <button type="button" class="secondary" onClick={() => setRemoving(true)}>
            Remove authenticator app
          </button>
        )}
      </div>
    );
  }

  if (!setup) {
    return (
      <div class="factor">
        <p>
          <strong>Authenticator app</strong> <span class="badge">Off</span>
        </p>
        <p class="hint">An app such as Google Authenticator, 1Password, Authy or Aegis shows a new 6-digit code every 30 seconds.</p>
        <button
          type="button"
          disabled={starting.busy}
          onClick={() =>
            void starting.run(async () => {
              setSetup(await api.startTotp());
              setCode('');
            })
          }
        >
          Set up authenticator app
        </button>
        <ErrorMessage error={starting.error} />
      </div>
    );
  }

  const confirm = () => {
    const value = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(value)) {
      confirming.setError('Enter the 6-digit code the app shows.');
      return;
    }
    void confirming.run(async () => {
      const change = await api.confirmTotp(value);
      setSetup(null);
      setCode('');
      await onChanged(change);
    });
  };

  return (
    <div class="factor" data-testid="totp-setup">
      <p>
        <strong>Set up your authenticator app</strong>
      </p>
      <ol class="steps">
        <li>
          In your authenticator app, add an account and type in this key:
          <code class="secret" data-testid="totp-secret">
            {grouped(setup.secret)}
          </code>
          On a phone with the app, you can instead open this <a href={setup.otpauthUrl}>setup link</a>:
          <code class="secret small" data-testid="totp-uri">
            {setup.otpauthUrl}
          </code>
        </li>
        <li>Enter the 6-digit code the app now shows.</li>
      </ol>
      <form
        class="inline-form"
        aria-label="Confirm authenticator app"
        onSubmit={(event) => {
          event.preventDefault();
          confirm();
        }}
      >
        <TotpCodeField label="Code from the app" name="totp-code" value={code} onInput={setCode} />
        <button type="submit" disabled={confirming.busy}>
          Turn on
        </button>
        <button type="button" class="secondary" disabled={confirming.busy} onClick={() => setSetup(null)}>
          Cancel
        </button>
        <ErrorMessage error={confirming.error} testId="totp-error" />
      </form>
    </div>
  );
}

function PasskeyRow({ passkey, onRenamed, onChanged }: { passkey: Passkey; onRenamed: () => Promise<void>; onChanged: OnFactorChange }) {
  const [mode, setMode] = useState<'view' | 'rename' | 'remove'>('view');
  const [name, setName] = useState(passkey.name);
  const { busy, error, setError, run } = useAction();

  if (mode === 'rename') {
    return (
      <li class="row" data-testid="passkey" data-passkey-id={passkey.id}>
        <form
          class="inline-form"
          aria-label={`Rename passkey ${passkey.name}`}
          onSubmit={(event) => {
            event.preventDefault();
            const wanted = name.trim();
            if (!wanted) {
              setError('Give the passkey a name.');
              return;
            }
            void run(async () => {
              await api.renamePasskey(passkey.id, wanted);
              setMode('view');
              await onRenamed();
            });
          }}
        >
          <label>
            Passkey name
            <input type="text" name="passkey-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={busy}>
            Save
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => setMode('view')}>
            Cancel
          </button>
          <ErrorMessage error={error} />
        </form>
      </li>
    );
  }

  return (
    <li class="row" data-testid="passkey" data-passkey-id={passkey.id}>
      <span class="row-main">
        <span>
          <strong data-testid="passkey-name">{passkey.name}</strong> {passkey.backedUp && <span class="badge">synced</span>}
        </span>
        <span class="muted">
          Added {formatDate(passkey.createdAt)}
          {passkey.lastUsedAt ? ` · last used ${formatDate(passkey.lastUsedAt)}` : ' · never used'}
        </span>
      </span>
      {mode === 'remove' ? (
        <ReauthForm
          id={`remove-passkey-${passkey.id}`}
          submitLabel="Remove passkey"
          danger
          onCancel={() => setMode('view')}
          onSubmit={async (proof) => {
            const change = await api.removePasskey(passkey.id, proof);
            await onChanged(change);
          }}
        />
      ) : (
        <span class="actions">
          <button
            type="button"
            class="secondary"
            aria-label={`Rename passkey ${passkey.name}`}
            onClick={() => {
              setName(passkey.name);
              setMode('rename');
            }}
          >
            Rename
          </button>
          <button type="button" class="secondary" aria-label={`Remove passkey ${passkey.name}`} onClick={() => setMode('remove')}>
            Remove
          </button>
        </span>
      )}
    </li>
  );
}

function PasskeysSection(props: { passkeys: Passkey[] | null; onRenamed: () => Promise<void>; onChanged: OnFactorChange }) {
  const { passkeys, onChanged } = props;
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const supported = browserSupportsWebAuthn();
  const count = passkeys?.length ?? 0;

  const add = () =>
    run(async () => {
      const options = await api.passkeyRegistrationOptions();
      const response = await createPasskey(options);
      const change = await api.addPasskey(response, name.trim() || undefined);
      setName('');
      await onChanged(change);
    });

  return (
    <div class="factor" data-testid="passkeys">
      <p>
        <strong>Passkeys</strong> <span class={count > 0 ? 'badge ok' : 'badge'}>{count > 0 ? `${count} on` : 'Off'}</span>
      </p>
      <p class="hint">
        A passkey lives on this device, your phone or a security key, unlocked with your fingerprint, face or PIN. It serves as a second
        factor, and also signs you in on its own.
      </p>
      {passkeys && passkeys.length > 0 && (
        <ul class="rows" aria-label="Your passkeys">
          {passkeys.map((p) => (
            <PasskeyRow key={`${p.id}:${p.name}`} passkey={p} onRenamed={props.onRenamed} onChanged={onChanged} />
          ))}
        </ul>
      )}
      {supported ? (
        <form
          class="inline-form"
          aria-label="Add a passkey"
          onSubmit={(event) => {
            event.preventDefault();
            void add();
          }}
        >
          <label>
            New passkey name (optional)
            <input
              type="text"
              name="new-passkey-name"
              maxLength={100}
              placeholder="e.g. Work laptop"
              autocomplete="off"
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Waiting for your passkey…' : 'Add a passkey'}
          </button>
          <ErrorMessage error={error} testId="passkey-error" />
        </form>
      ) : (
        <p class="muted">This browser does not support passkeys.</p>
      )}
    </div>
  );
}

function RecoverySection({ mfa, onCodes, onChanged }: { mfa: MfaStatus; onCodes: (codes: string[]) => void; onChanged: OnFactorChange }) {
  const [asking, setAsking] = useState(false);
  if (!mfa.enabled) return null;
  return (
    <div class="factor" data-testid="recovery">
      <p>
        <strong>Recovery codes</strong>{' '}
        <span class={mfa.recoveryCodesLeft > 2 ? 'badge' : 'badge warn'} data-testid="recovery-codes-left">
          {mfa.recoveryCodesLeft} left
        </span>
      </p>
      <p class="hint">Single-use codes for when your authenticator app or passkey is not at hand. New codes replace all the old ones.</p>
      {asking ? (
        <ReauthForm
          id="recovery-proof"
          submitLabel="Generate new codes"
          onCancel={() => setAsking(false)}
          onSubmit={async (proof) => {
            const { recoveryCodes } = await api.newRecoveryCodes(proof);
            setAsking(false);
            onCodes(recoveryCodes);
            await onChanged(null);
          }}
        />
      ) : (
        <button type="button" class="secondary" onClick={() => setAsking(true)}>
          Generate new recovery codes
        </button>
      )}
    </div>
  );
}

function MfaPanel(props: { mfa: MfaStatus | null; passkeys: Passkey[] | null; error: string | null; reload: () => Promise<void>; onSessionChanged: (session: Session) => void }) {
  const { mfa, reload } = props;
  const [codes, setCodes] = useState<string[] | null>(null);

  const onChanged: OnFactorChange = async (change) => {
    if (change) {
      if (change.recoveryCodes && change.recoveryCodes.length > 0) setCodes(change.recoveryCodes);
      props.onSessionChanged(change);
    }
    await reload();
  };

  return (
    <Panel title="Multi-factor authentication" titleId="mfa-title" testId="mfa-panel">
      <ErrorMessage error={props.error} />
      {mfa === null && !props.error && <p role="status">Loading…</p>}
      {mfa !== null && (
        <>
          <p data-testid="mfa-status" data-enabled={mfa.enabled ? 'true' : 'false'}>
            {mfa.enabled
              ? 'Multi-factor authentication is on: signing in asks for a second factor.'
              : 'Multi-factor authentication is off. Add an authenticator app or a passkey, so that a stolen password is not enough to sign in.'}
          </p>
          {codes && <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />}
          <TotpSection mfa={mfa} onChanged={onChanged} />
          <PasskeysSection passkeys={props.passkeys} onRenamed={reload} onChanged={onChanged} />
          <RecoverySection mfa={mfa} onChanged={onChanged} onCodes={setCodes} />
        </>
      )}
    </Panel>
  );
}

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
