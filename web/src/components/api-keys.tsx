/**
 * A workspace's API keys (`api-keys:manage`): a form to create one (a name, its scopes from a
 * preset — read-only, read-write — or chosen one by one, never more than the caller's own, an
 * optional expiry), its secret shown once with what a program needs to use it (the base URL, the
 * workspace id, a curl command to try), and the list with each key's prefix, scopes, status and
 * last use, with revoke.
 *
 * The secret lives only in this component's state until dismissed: never in storage.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, type ApiKey, type CreatedApiKey, type Scope, type ScopeInfo, type Workspace } from '../api';
import { useAction } from '../hooks';
import { Badge, ConfirmButton, CopyValue, ErrorMessage, Panel, ShownOnce, Status, Time, type BadgeTone } from './ui';
import { describeAccessError, presetScopes, ScopeCheckboxes, useScopeCatalogue, type KeyPreset } from './scopes';
import '../flows.css';

const PRESETS: readonly { id: KeyPreset; label: string; hint: string }[] = [
  { id: 'read-only', label: 'Read-only', hint: 'Reads what you can read (every “:read” scope you hold); changes nothing.' },
  { id: 'read-write', label: 'Read-write', hint: 'Also creates, changes and deletes records and documents; no admin scope.' },
  { id: 'custom', label: 'Custom', hint: 'Choose the scopes one by one.' },
];

/** `YYYY-MM-DD` in local time. */
function localDate(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function NewKeyForm({ workspace, catalogue, onCreated }: { workspace: Workspace; catalogue: ScopeInfo[]; onCreated: (key: CreatedApiKey) => void }) {
  const [name, setName] = useState('');
  const presets = {
    'read-only': presetScopes('read-only', catalogue, workspace.scopes),
    'read-write': presetScopes('read-write', catalogue, workspace.scopes),
  };
  const initialPreset: KeyPreset = presets['read-only'].length > 0 ? 'read-only' : 'custom';
  const [preset, setPreset] = useState<KeyPreset>(initialPreset);
  const [scopes, setScopes] = useState<ReadonlySet<Scope>>(new Set());
  const [expires, setExpires] = useState('');
  const { busy, error, setError, run } = useAction({ describeError: describeAccessError });
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);

  const create = async () => {
    const wanted = name.trim();
    if (!wanted) {
      setError('Give the key a name that says what it is for.');
      return;
    }
    const chosen = preset === 'custom' ? catalogue.map((s) => s.scope).filter((s) => scopes.has(s)) : presets[preset];
    if (chosen.length === 0) {
      setError('Choose at least one scope.');
      return;
    }
    let expiresAt: string | undefined;
    if (expires) {
      // The key works until the end of the chosen day, in this browser's time zone.
      const end = new Date(`${expires}T23:59:59`);
      if (Number.isNaN(end.getTime()) || end.getTime() <= Date.now()) {
        setError('Choose an expiry date in the future, or none.');
        return;
      }
      expiresAt = end.toISOString();
    }
    await run(async () => {
      const created = await api.createApiKey(workspace.id, { name: wanted, scopes: chosen, ...(expiresAt ? { expiresAt } : {}) });
      setName('');
      setPreset(initialPreset);
      setScopes(new Set());
      setExpires('');
      onCreated(created);
    });
  };

  return (
    <form
      class="stack"
      aria-label="New API key"
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <label>
        Key name
        <input
          type="text"
          name="api-key-name"
          required
          maxLength={100}
          autocomplete="off"
          placeholder="e.g. Nightly export"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <fieldset class="presets" data-testid="api-key-presets">
        <legend>Access</legend>
        {PRESETS.map((p) => {
          const given = p.id === 'custom' ? null : presets[p.id];
          const empty = given !== null && given.length === 0;
          return (
            <div class="preset" key={p.id}>
              <label class="checkbox">
                <input
                  type="radio"
                  name="api-key-preset"
                  value={p.id}
                  checked={preset === p.id}
                  disabled={busy || empty}
                  aria-describedby={`api-key-preset-${p.id}-hint`}
                  onChange={() => setPreset(p.id)}
                />
                {p.label}
              </label>
              <p class="hint" id={`api-key-preset-${p.id}-hint`}>
                {empty ? 'You hold none of its scopes.' : p.hint}
              </p>
            </div>
          );
        })}
      </fieldset>
      {preset === 'custom' ? (
        <ScopeCheckboxes
          idPrefix="api-key-scope"
          legend="Scopes of the key"
          catalogue={catalogue}
          held={workspace.scopes}
          onlyHeld
          selected={scopes}
          onChange={setScopes}
          disabled={busy}
        />
      ) : (
        <div>
          <p class="hint" id="api-key-preset-scopes-title">
            The key gets these scopes:
          </p>
          <ul class="preset-scopes" aria-labelledby="api-key-preset-scopes-title" data-testid="api-key-preset-scopes">
            {presets[preset].map((scope) => (
              <li key={scope}>
                <code>{scope}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      <p class="hint">A key can only hold scopes you hold yourself. Give it no more than its job needs.</p>
      <label>
        Expires on (optional)
        <input type="date" name="api-key-expires" min={localDate(tomorrow)} aria-describedby="api-key-expires-hint" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
      </label>
      <p class="hint" id="api-key-expires-hint">
        The key stops working at the end of that day. Leave it empty for a key that works until revoked.
      </p>
      <ErrorMessage error={error} testId="api-key-error" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create API key
        </button>
      </div>
    </form>
  );
}

/**
 * The new key's secret, shown once, with what a program needs beside it: the base URL, the
 * workspace id, and a curl command that asks the API which workspace the key opens.
 */
function NewSecret({ workspace, apiKey, onDone }: { workspace: Workspace; apiKey: CreatedApiKey; onDone: () => void }) {
  const origin = location.origin;
  const curl = `curl -H "Authorization: Bearer ${apiKey.secret}" ${origin}/api/v1/workspace`;
  return (
    <ShownOnce title={`Your new API key “${apiKey.name}”`} titleId="api-key-secret-title" testId="api-key-secret" doneLabel="I have saved it" onDone={onDone}>
      <p>
        <strong>Copy it now: you will not see it again.</strong> It is shown only this once; if you lose it, revoke the key and create another.
      </p>
      <dl class="key-reveal">
        <dt>API key</dt>
        <dd>
          <CopyValue label="API key" value={apiKey.secret} testId="api-key-secret-value" />
        </dd>
        <dt>Base URL</dt>
        <dd>
          <CopyValue label="base URL" value={origin} testId="api-key-base-url" />
        </dd>
        <dt>Workspace id</dt>
        <dd>
          <CopyValue label="workspace id" value={workspace.id} testId="api-key-workspace-id" />
        </dd>
        <dt>Try it</dt>
        <dd>
          <CopyValue label="curl command" value={curl} testId="api-key-curl" />
          <p class="hint">Answers with this workspace and the key, whatever the key's scopes. Every request sends the key the same way.</p>
        </dd>
      </dl>
    </ShownOnce>
  );
}

const STATUS_TONE: Record<ApiKey['status'], BadgeTone> = { active: 'ok', expired: 'warn', revoked: 'warn' };

function KeyRow({ workspace, apiKey: key, onRevoked }: { workspace: Workspace; apiKey: ApiKey; onRevoked: (key: ApiKey) => void }) {
  const creator = key.createdBy ? key.createdBy.name || key.createdBy.email : key.createdByKey ? 'another API key' : 'a former member';
  return (
    <li class="row" data-testid="api-key" data-key-name={key.name} data-status={key.status}>
      <span class="row-main">
        <span>
          <strong data-testid="api-key-name">{key.name}</strong> <code data-testid="api-key-prefix">{key.prefix}…</code>{' '}
          <Badge tone={STATUS_TONE[key.status]} testId="api-key-status">
            {key.status}
          </Badge>
        </span>
        <span class="muted" data-testid="api-key-scopes">
          {key.scopes.join(', ')}
        </span>
        <span class="muted">
          Created by {creator} <Time iso={key.createdAt} /> ·{' '}
          {key.lastUsedAt ? (
            <>
              last used <Time iso={key.lastUsedAt} />
            </>
          ) : (
            'never used'
          )}
          {key.revokedAt ? (
            <>
              {' · revoked '}
              <Time iso={key.revokedAt} />
            </>
          ) : key.expiresAt ? (
            <>
              {` · ${key.status === 'expired' ? 'expired' : 'expires'} `}
              <Time iso={key.expiresAt} />
            </>
          ) : (
            ' · no expiry'
          )}
        </span>
      </span>
      {key.status === 'active' && (
        <ConfirmButton
          label="Revoke"
          confirmLabel={`Revoke ${key.name}`}
          accessibleName={`Revoke API key ${key.name}`}
          testId="revoke-api-key"
          describeError={describeAccessError}
          onConfirm={async () => {
            await api.revokeApiKey(workspace.id, key.id);
            onRevoked(key);
          }}
        />
      )}
    </li>
  );
}

export function ApiKeysSection({ workspace }: { workspace: Workspace }) {
  const { scopes: catalogue, error: catalogueError } = useScopeCatalogue();
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();

  const load = useCallback(() => loading.run(async () => setKeys((await api.apiKeys(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <Panel title="New API key" titleId="new-api-key-title" testId="new-api-key-panel">
        <p class="hint">An API key lets a program use this workspace's API without signing in. It works only in this workspace.</p>
        <ErrorMessage error={catalogueError} />
        {created ? (
          <NewSecret
            workspace={workspace}
            apiKey={created}
            onDone={() => {
              setCreated(null);
              setStatus(null);
            }}
          />
        ) : catalogue ? (
          <NewKeyForm
            workspace={workspace}
            catalogue={catalogue}
            onCreated={(key) => {
              // Kept for the list without its secret.
              const { secret: _secret, ...listed } = key;
              setCreated(key);
              setKeys((previous) => [listed, ...(previous ?? []).filter((k) => k.id !== key.id)]);
              setStatus(`API key ${key.name} created.`);
            }}
          />
        ) : (
          !catalogueError && <p role="status">Loading…</p>
        )}
      </Panel>
      <Panel title="API keys" titleId="api-keys-title" testId="api-keys-panel">
        <ErrorMessage error={loading.error} testId="api-keys-error" />
        <Status message={status} />
        {keys === null && !loading.error && <p role="status">Loading…</p>}
        {keys !== null && keys.length === 0 && (
          <p class="empty" data-testid="api-keys-empty">
            No API keys yet.
          </p>
        )}
        {keys !== null && keys.length > 0 && (
          <ul class="rows" aria-labelledby="api-keys-title">
            {keys.map((k) => (
              <KeyRow
                key={`${k.id}:${k.status}`}
                workspace={workspace}
                apiKey={k}
                onRevoked={(revoked) => {
                  setKeys((previous) =>
                    previous?.map((x) => (x.id === revoked.id ? { ...x, status: 'revoked', revokedAt: new Date().toISOString() } : x)) ?? null,
                  );
                  setStatus(`API key ${revoked.name} revoked: it stops working at once.`);
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
    </>
  );
}
