/**
 * SCIM provisioning tokens, for the workspace's console (`sso:manage`: list, create, revoke) and
 * for the setup link's page (the IT admin creates one; revoking stays with the workspace's
 * admins). A new token is shown once, with the workspace's SCIM base URL, and lives only in this
 * component's state until dismissed: never in storage.
 */
import { useState } from 'preact/hooks';
import type { CreatedScimToken, ScimToken } from '../api';
import { useAction } from '../hooks';
import { ShortTime } from './time';
import { ConfirmButton, CopyValue, ErrorMessage, ShownOnce } from './ui';

/** The new token and the base URL, shown once. */
function NewScimToken({ created, onDone }: { created: CreatedScimToken; onDone: () => void }) {
  return (
    <ShownOnce title={`Your new SCIM token “${created.name}”`} titleId="scim-token-title" testId="scim-token-created" doneLabel="I have saved it" onDone={onDone}>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Paste it into the identity provider's provisioning settings as the bearer
        token (Okta: “API Token”; Entra ID: “Secret Token”), with this base URL.
      </p>
      <CopyValue label="SCIM base URL" value={created.baseUrl} testId="scim-base-url" />
      <CopyValue label="SCIM token" value={created.token} testId="scim-token-value" />
    </ShownOnce>
  );
}

/** A name for a new token, then the token shown once. */
export function NewScimTokenForm({ idPrefix, create, onCreated }: { idPrefix: string; create: (name: string) => Promise<CreatedScimToken>; onCreated: (created: CreatedScimToken) => void }) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedScimToken | null>(null);
  const { busy, error, setError, run } = useAction();
  if (created) return <NewScimToken created={created} onDone={() => setCreated(null)} />;
  const submit = async () => {
    const wanted = name.trim();
    if (!wanted) {
      setError('Give the token a name that says what it is for (say, the identity provider).');
      return;
    }
    await run(async () => {
      const token = await create(wanted);
      setName('');
      setCreated(token);
      onCreated(token);
    });
  };
  return (
    <form
      class="inline-form"
      aria-label="New SCIM token"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      <label>
        Token name
        <input
          id={`${idPrefix}-name`}
          type="text"
          name="scim-token-name"
          required
          maxLength={100}
          autocomplete="off"
          placeholder="e.g. Okta provisioning"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Create SCIM token
      </button>
      <ErrorMessage error={error} testId="scim-token-error" />
    </form>
  );
}

/** The live (and, for the console, revoked) tokens; `onRevoke` absent means read-only. */
export function ScimTokenList({ tokens, titleId, onRevoke }: { tokens: ScimToken[]; titleId: string; onRevoke?: (token: ScimToken) => Promise<void> }) {
  if (tokens.length === 0) {
    return (
      <p class="empty" data-testid="scim-tokens-empty">
        No SCIM tokens yet.
      </p>
    );
  }
  return (
    <ul class="rows" aria-labelledby={titleId}>
      {tokens.map((k) => (
        <li class="row" key={k.id} data-testid="scim-token" data-status={k.revokedAt ? 'revoked' : 'active'}>
          <span class="row-main">
            <span>
              <strong>{k.name}</strong> <code class="small">{k.prefix}…</code>{' '}
              {k.revokedAt ? <span class="badge warn">Revoked</span> : <span class="badge ok">Active</span>}
            </span>
            <span class="muted">
              Created <ShortTime iso={k.createdAt} />
              {k.createdBy === null && ' through a setup link'} · {k.lastUsedAt ? <>last used <ShortTime iso={k.lastUsedAt} /></> : 'never used'}
            </span>
          </span>
          {onRevoke && !k.revokedAt && (
            <ConfirmButton
              label="Revoke"
              confirmLabel="Revoke the token"
              accessibleName={`Revoke the SCIM token ${k.name}`}
              testId="revoke-scim-token"
              onConfirm={() => onRevoke(k)}
            />
          )}
        </li>
      ))}
    </ul>
  );
}
