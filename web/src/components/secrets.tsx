/**
 * A workspace's secrets vault (`integrations:manage`): add a secret for an integration, list the
 * secrets (path, version, last change, last use), rotate one to a new value, delete one.
 *
 * Values are write-only. Their inputs are uncontrolled password fields: the value is read from
 * the field when the form is sent, goes into the request body and nowhere else (no component
 * state, no storage), and the field is emptied once the server has it. The server never returns it.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type VaultSecret, type Workspace } from '../api';
import { useAction } from '../hooks';
import { ConfirmButton, ErrorMessage, Panel, Status } from './ui';
import { Time } from './time';

/** The server's rules for an integration and for each `/`-separated segment of a name. */
const SEGMENT = /^[a-z0-9][a-z0-9_.-]{0,62}$/;
const SEGMENT_RULE = 'lowercase letters, digits, “_”, “.” and “-”, starting with a letter or digit';
const VALUE_MAX = 16_384;

function validName(name: string): boolean {
  const parts = name.split('/');
  return name.length <= 255 && parts.length <= 4 && parts.every((p) => SEGMENT.test(p));
}

/** The value typed in a field, checked; null (with the message set) when it cannot be sent. */
function takeValue(input: HTMLInputElement | null, setError: (error: string) => void): string | null {
  const value = input?.value ?? '';
  if (value.length === 0) {
    setError('Enter the secret value.');
    return null;
  }
  if (value.length > VALUE_MAX) {
    setError(`A secret value may be at most ${VALUE_MAX} characters.`);
    return null;
  }
  return value;
}

function NewSecretForm({ workspace, onCreated }: { workspace: Workspace; onCreated: (secret: VaultSecret) => void }) {
  const [integration, setIntegration] = useState('');
  const [name, setName] = useState('');
  const valueInput = useRef<HTMLInputElement>(null);
  const { busy, error, setError, run } = useAction();

  const create = async () => {
    const wantedIntegration = integration.trim();
    const wantedName = name.trim();
    if (!SEGMENT.test(wantedIntegration)) {
      setError(`The integration must be ${SEGMENT_RULE}.`);
      return;
    }
    if (!validName(wantedName)) {
      setError(`The name must be one to four “/”-separated parts of ${SEGMENT_RULE}.`);
      return;
    }
    const value = takeValue(valueInput.current, setError);
    if (value === null) return;
    await run(async () => {
      try {
        const created = await api.createSecret(workspace.id, { integration: wantedIntegration, name: wantedName, value });
        setName('');
        onCreated(created);
      } finally {
        // Sent: the field forgets it, whatever the answer.
        if (valueInput.current) valueInput.current.value = '';
      }
    });
  };

  return (
    <form
      class="inline-form"
      aria-label="New secret"
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <label>
        Integration
        <input
          type="text"
          name="secret-integration"
          required
          maxLength={63}
          autocomplete="off"
          spellcheck={false}
          placeholder="e.g. stripe"
          value={integration}
          onInput={(e) => setIntegration(e.currentTarget.value)}
        />
      </label>
      <label>
        Secret name
        <input
          type="text"
          name="secret-name"
          required
          maxLength={255}
          autocomplete="off"
          spellcheck={false}
          placeholder="e.g. live/api-key"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Secret value
        <input ref={valueInput} type="password" name="secret-value" required maxLength={VALUE_MAX} autocomplete="off" spellcheck={false} />
      </label>
      <button type="submit" disabled={busy}>
        Add secret
      </button>
      <ErrorMessage error={error} testId="secret-error" />
    </form>
  );
}

function SecretRow(props: { workspace: Workspace; secret: VaultSecret; onRotated: (secret: VaultSecret) => void; onDeleted: (secret: VaultSecret) => void }) {
  const { workspace, secret } = props;
  const [rotating, setRotating] = useState(false);
  const valueInput = useRef<HTMLInputElement>(null);
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    if (rotating) valueInput.current?.focus();
  }, [rotating]);

  const rotate = async () => {
    const value = takeValue(valueInput.current, setError);
    if (value === null) return;
    const ok = await run(async () => {
      try {
        props.onRotated(await api.rotateSecret(workspace.id, secret.integration, secret.name, value));
      } finally {
        if (valueInput.current) valueInput.current.value = '';
      }
    });
    if (ok) setRotating(false);
  };

  return (
    <li class="row" data-testid="secret" data-path={secret.path} data-version={secret.version}>
      <span class="row-main">
        <span>
          <code data-testid="secret-path">{secret.path}</code>{' '}
          <span class="badge" data-testid="secret-version">
            version {secret.version}
          </span>
        </span>
        <span class="muted">
          Updated <Time iso={secret.updatedAt} /> ·{' '}
          {secret.lastUsedAt ? (
            <>
              last used <Time iso={secret.lastUsedAt} />
            </>
          ) : (
            'never used'
          )}
        </span>
      </span>
      {rotating ? (
        <form
          class="inline-form"
          aria-label={`Rotate ${secret.path}`}
          onSubmit={(event) => {
            event.preventDefault();
            void rotate();
          }}
        >
          <label>
            New value
            <input ref={valueInput} type="password" name="secret-new-value" required maxLength={VALUE_MAX} autocomplete="off" spellcheck={false} />
          </label>
          <button type="submit" disabled={busy}>
            Save new value
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() => {
              setError(null);
              setRotating(false);
            }}
          >
            Cancel
          </button>
          <ErrorMessage error={error} testId="rotate-secret-error" />
        </form>
      ) : (
        <span class="actions">
          <button type="button" class="secondary" aria-label={`Rotate secret ${secret.path}`} data-testid="rotate-secret" onClick={() => setRotating(true)}>
            Rotate
          </button>
          <ConfirmButton
            label="Delete"
            confirmLabel={`Delete ${secret.integration}/${secret.name}`}
            accessibleName={`Delete secret ${secret.path}`}
            testId="delete-secret"
            onConfirm={async () => {
              await api.deleteSecret(workspace.id, secret.integration, secret.name);
              props.onDeleted(secret);
            }}
          />
        </span>
      )}
    </li>
  );
}

export function SecretsPanel({ workspace }: { workspace: Workspace }) {
  const [secrets, setSecrets] = useState<VaultSecret[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();

  const load = useCallback(() => loading.run(async () => setSecrets((await api.secrets(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const replace = (secret: VaultSecret) =>
    setSecrets((previous) => {
      const others = (previous ?? []).filter((s) => s.id !== secret.id);
      return [...others, secret].sort((a, b) => a.path.localeCompare(b.path));
    });

  return (
    <Panel title="Secrets vault" titleId="secrets-title" testId="secrets-panel">
      <p class="hint">
        Credentials your integrations use, encrypted with this workspace's keys. Values are write-only: once saved, no one can read them back
        here or through the API; rotate a secret to change it.
      </p>
      <NewSecretForm
        workspace={workspace}
        onCreated={(created) => {
          replace(created);
          setStatus(`Secret ${created.path} saved.`);
        }}
      />
      <Status message={status} />
      <ErrorMessage error={loading.error} testId="secrets-error" />
      {secrets === null && !loading.error && <p role="status">Loading…</p>}
      {secrets !== null && secrets.length === 0 && (
        <p class="empty" data-testid="secrets-empty">
          No secrets yet.
        </p>
      )}
      {secrets !== null && secrets.length > 0 && (
        <ul class="rows" aria-labelledby="secrets-title">
          {secrets.map((s) => (
            <SecretRow
              key={s.id}
              workspace={workspace}
              secret={s}
              onRotated={(updated) => {
                replace(updated);
                setStatus(`Secret ${updated.path} rotated to version ${updated.version}.`);
              }}
              onDeleted={(deleted) => {
                setSecrets((previous) => previous?.filter((x) => x.id !== deleted.id) ?? null);
                setStatus(`Secret ${deleted.path} deleted.`);
              }}
            />
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="secondary" disabled={loading.busy} onClick={() => void load()}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}
