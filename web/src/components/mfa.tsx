/**
 * Multi-factor authentication of the signed-in account: the authenticator app (enrolled from a
 * QR code, its `otpauth://` link or its key typed by hand), passkeys, and recovery codes. The
 * account's security page shows `MfaPanel`.
 *
 * A wrong first code is the server's 400 `mfa_code_invalid`: said as a wrong code, while the
 * session goes on (only a 401 means signed out).
 */
import { useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type FactorChanged, type MfaStatus, type Passkey, type Reauth, type Session, type TotpSetup } from '../api';
import { useAction } from '../hooks';
import { browserSupportsWebAuthn, createPasskey } from '../webauthn';
import { QrCode } from './qr';
import { CopyValue, ErrorMessage, Panel, PASSWORD_MAX, Status, Time, TotpCodeField } from './ui';

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

/** A refused first code, said as a wrong code: the session is fine (the server answers 400, not 401). */
function describeConfirmError(err: unknown): string {
  if (err instanceof ApiError && (err.code === 'mfa_code_invalid' || err.code === 'validation_failed')) {
    return 'That code is not right. Check the time on your device and enter the current code.';
  }
  return errorMessage(err);
}

function TotpSection({ mfa, onChanged }: { mfa: MfaStatus; onChanged: OnFactorChange }) {
  const [setup, setSetup] = useState<TotpSetup | null>(null);
  const [code, setCode] = useState('');
  const [removing, setRemoving] = useState(false);
  const starting = useAction();
  const confirming = useAction({ describeError: describeConfirmError });

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
      try {
        const change = await api.confirmTotp(value);
        setSetup(null);
        setCode('');
        await onChanged(change);
      } catch (err) {
        // The started setup is gone (replaced or expired): its QR code no longer works, so start over.
        if (err instanceof ApiError && err.code === 'factor_not_found') {
          setSetup(null);
          starting.setError('That setup is no longer waiting for a code: set up the authenticator app again.');
          return;
        }
        setCode('');
        throw err;
      }
    });
  };

  return (
    <div class="factor" data-testid="totp-setup">
      <p>
        <strong>Set up your authenticator app</strong>
      </p>
      <ol class="steps">
        <li>
          Scan this QR code with your authenticator app, or add the account another way:
          <div class="totp-enrol">
            <QrCode value={setup.otpauthUrl} label="QR code that adds this account to an authenticator app" testId="totp-qr" />
            <div class="stack">
              <p>
                On the phone that has the app? <a href={setup.otpauthUrl} data-testid="totp-link">Open the setup link in your authenticator app</a>.
              </p>
              <CopyValue label="setup link" value={setup.otpauthUrl} testId="totp-uri" />
              <p>Or add an account in the app and type in this key (the spaces do not matter):</p>
              <code class="secret" data-testid="totp-secret">
                {grouped(setup.secret)}
              </code>
            </div>
          </div>
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
          Added <Time iso={passkey.createdAt} />
          {passkey.lastUsedAt ? (
            <>
              {' · last used '}
              <Time iso={passkey.lastUsedAt} />
            </>
          ) : (
            ' · never used'
          )}
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

export function MfaPanel(props: { mfa: MfaStatus | null; passkeys: Passkey[] | null; error: string | null; reload: () => Promise<void>; onSessionChanged: (session: Session) => void }) {
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
