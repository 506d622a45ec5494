/**
 * A workspace's encryption keys (`keys:manage`): who holds the key, the current version and the
 * oldest that still decrypts, rotation (past and next), the versions with the rows under each,
 * rotate and retire. While rows wait for the background rewrap the panel asks again every few
 * seconds. The owner (`keys:configure`) may point the workspace at its own KMS key, or back.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, can, errorMessage, KEY_PROVIDERS, type KeyProviderKind, type KeyStatus, type KeyVersion, type RowCounts, type Workspace } from '../api';
import { useAction } from '../hooks';
import { ConfirmButton, ErrorMessage, Panel, Status, Table } from './ui';
import { Time } from './time';
import { useRefreshAfter } from '../live';

/** How often the panel asks again while rows wait for the rewrap. */
const POLL_MS = 2_000;

const PROVIDER_LABELS: Record<KeyProviderKind, string> = {
  'aws-kms': 'AWS KMS',
  pkcs11: 'PKCS#11 (HSM)',
  local: 'Local key file',
};

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describeRows(rows: RowCounts): string {
  return [plural(rows.records, 'record'), plural(rows.documents, 'document'), plural(rows.secrets, 'secret')].join(', ');
}

/** The server's refusal, with what it says is in the way: rows left, or how long to wait. */
export function describeKeyError(err: unknown): string {
  if (!(err instanceof ApiError) || err.code !== 'key_version_in_use') return errorMessage(err);
  const details = (err.details ?? {}) as { remaining?: Partial<RowCounts>; retryAfterSeconds?: number };
  if (typeof details.retryAfterSeconds === 'number') {
    const s = details.retryAfterSeconds;
    const wait = s >= 120 ? `about ${Math.ceil(s / 60)} minutes` : plural(s, 'second');
    return `${err.message} Try again in ${wait}.`;
  }
  if (details.remaining) {
    const r = details.remaining;
    return `${err.message} Still under older versions: ${describeRows({ records: r.records ?? 0, documents: r.documents ?? 0, secrets: r.secrets ?? 0 })}.`;
  }
  return err.message;
}

/** A row of the versions table: a key version, or the rows stored before encryption (version 0). */
type VersionRow = KeyVersion | { readonly version: 0; readonly rows: RowCounts };

function VersionsTable({ status }: { status: KeyStatus }) {
  const plain = status.plainRows.records + status.plainRows.documents + status.plainRows.secrets;
  const rows: VersionRow[] = [...status.versions].sort((a, b) => b.version - a.version);
  if (plain > 0) rows.push({ version: 0, rows: status.plainRows });
  return (
    <Table<VersionRow>
      label="Key versions"
      caption="Key versions, newest first"
      testId="key-versions"
      rows={rows}
      rowKey={(v) => String(v.version)}
      rowAttributes={(v) => ({ 'data-testid': 'key-version', 'data-version': v.version, 'data-state': 'state' in v ? v.state : 'plain' })}
      columns={[
        { id: 'version', header: 'Version', class: 'num', cell: (v) => (v.version === 0 ? '—' : v.version) },
        {
          id: 'state',
          header: 'State',
          cell: (v) =>
            'state' in v ? (
              <span class={v.state === 'active' ? 'badge ok' : 'badge'} data-testid="key-version-state">
                {v.state}
              </span>
            ) : (
              <span class="badge warn">not encrypted</span>
            ),
        },
        { id: 'ref', header: 'Key reference', class: 'wrap', cell: (v) => ('keyRef' in v ? <code>{v.keyRef}</code> : '—') },
        { id: 'created', header: 'Created', class: 'nowrap', cell: (v) => ('createdAt' in v ? <Time iso={v.createdAt} /> : '—') },
        { id: 'rows', header: 'Rows under it', cell: (v) => <span data-testid="key-version-rows">{describeRows(v.rows)}</span> },
      ]}
    />
  );
}

function RetireForm({ workspace, status, onDone }: { workspace: Workspace; status: KeyStatus; onDone: (status: KeyStatus) => void }) {
  const [minVersion, setMinVersion] = useState(String(status.currentVersion));
  const { busy, error, setError, run } = useAction({ describeError: describeKeyError });
  const retire = () => {
    const wanted = Number(minVersion);
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > status.currentVersion) {
      setError(`Choose a version between 1 and ${status.currentVersion}.`);
      return;
    }
    void run(async () => onDone(await api.retireKeys(workspace.id, wanted)));
  };
  return (
    <form
      class="inline-form"
      aria-label="Retire old key versions"
      onSubmit={(event) => {
        event.preventDefault();
        retire();
      }}
    >
      <label>
        Oldest version that may still decrypt
        <input
          type="number"
          name="min-version"
          min={1}
          max={status.currentVersion}
          required
          aria-describedby="retire-hint"
          value={minVersion}
          onInput={(e) => setMinVersion(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="secondary" disabled={busy}>
        Retire older versions
      </button>
      <p class="hint" id="retire-hint">
        Refused while content is still encrypted under the versions being retired. Rampart also retires them by itself once the rewrap is
        done.
      </p>
      <ErrorMessage error={error} testId="retire-error" />
    </form>
  );
}

/** The owner's own KMS key: shown with a way back when set, otherwise a form to set it. */
function OwnKey({ workspace, status, onChanged }: { workspace: Workspace; status: KeyStatus; onChanged: (status: KeyStatus, message: string) => void }) {
  const [provider, setProvider] = useState<KeyProviderKind>('aws-kms');
  const [keyRef, setKeyRef] = useState('');
  const { busy, error, setError, run } = useAction();
  const own = status.ownKey;

  const save = () => {
    const wanted = keyRef.trim();
    if (!wanted) {
      setError('Enter the key reference.');
      return;
    }
    void run(async () => {
      const updated = await api.setOwnKey(workspace.id, { provider, keyRef: wanted });
      setKeyRef('');
      onChanged(updated, 'The workspace now uses its own key. Its content moves to the new version in the background.');
    });
  };

  return (
    <div class="stack" data-testid="own-key">
      <h3>Your own key</h3>
      <p class="hint" id="own-key-hint">
        With your own key, the workspace's keys are wrapped by a key you hold in your KMS: revoking or disabling it there makes this
        workspace's content unreadable, to Rampart and to everyone.
      </p>
      {own ? (
        <div class="row" data-testid="own-key-current">
          <span class="row-main">
            <span>
              {PROVIDER_LABELS[own.provider]}: <code data-testid="own-key-ref">{own.keyRef}</code>
            </span>
          </span>
          <ConfirmButton
            label="Stop using own key"
            confirmLabel="Go back to the instance's key"
            testId="remove-own-key"
            onConfirm={async () => {
              const updated = await api.removeOwnKey(workspace.id);
              onChanged(updated, "The workspace is back on the instance's key. Its content moves to the new version in the background.");
            }}
          />
        </div>
      ) : (
        <form
          class="inline-form"
          aria-label="Use your own key"
          aria-describedby="own-key-hint"
          onSubmit={(event) => {
            event.preventDefault();
            save();
          }}
        >
          <label>
            Key provider
            <select name="own-key-provider" value={provider} onChange={(e) => setProvider(e.currentTarget.value as KeyProviderKind)}>
              {KEY_PROVIDERS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <label>
            Key reference
            <input
              type="text"
              name="own-key-ref"
              required
              maxLength={2048}
              autocomplete="off"
              spellcheck={false}
              placeholder="arn:aws:kms:… or pkcs11:<label>"
              value={keyRef}
              onInput={(e) => setKeyRef(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            Save own key
          </button>
          <ErrorMessage error={error} testId="own-key-error" />
        </form>
      )}
    </div>
  );
}

export function KeysPanel({ workspace }: { workspace: Workspace }) {
  const [status, setStatus] = useState<KeyStatus | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const loading = useAction();
  const rotating = useAction({ describeError: describeKeyError });
  // A poll sent before a rotation must not overwrite the rotation's answer.
  const issued = useRef(0);
  const applied = useRef(0);

  const fetchStatus = async (task: () => Promise<KeyStatus>) => {
    const seq = ++issued.current;
    const next = await task();
    if (seq >= applied.current) {
      applied.current = seq;
      setStatus(next);
    }
  };

  const load = useCallback(() => loading.run(() => fetchStatus(() => api.keys(workspace.id))), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);
  // Content stored anywhere on the page (a secret in the vault beside this panel) may create or use a key version.
  useRefreshAfter(workspace.id, ['records', 'documents', 'secrets'], () => void load());

  // Asks again while content waits for the rewrap; stops at zero, or on a failure (Refresh resumes).
  const pending = status?.pendingRewrap ?? 0;
  useEffect(() => {
    if (pending === 0) return;
    const timer = setTimeout(() => void load(), POLL_MS);
    return () => clearTimeout(timer);
  }, [status, load]);

  const changed = (next: KeyStatus, text: string) => {
    applied.current = ++issued.current;
    setStatus(next);
    setMessage(text);
  };

  return (
    <Panel title="Encryption keys" titleId="keys-title" testId="keys-panel">
      <ErrorMessage error={loading.error} testId="keys-error" />
      {status === null && !loading.error && <p role="status">Loading…</p>}
      {status !== null && (
        <>
          <dl class="facts" data-testid="key-status">
            <dt>Provider</dt>
            <dd data-testid="key-provider" data-provider={status.provider}>
              {status.provider}
            </dd>
            {status.ownKey && (
              <>
                <dt>Own key</dt>
                <dd data-testid="key-own">
                  {status.ownKey.provider} <code>{status.ownKey.keyRef}</code>
                </dd>
              </>
            )}
            <dt>Current version</dt>
            <dd data-testid="key-current-version" data-version={status.currentVersion}>
              {status.currentVersion === 0 ? 'none yet: no content is encrypted' : status.currentVersion}
            </dd>
            <dt>Readable versions</dt>
            <dd data-testid="key-min-decrypt">decrypts from version {status.minDecryptVersion}</dd>
            <dt>Last rotation</dt>
            <dd data-testid="key-rotated-at">{status.rotatedAt ? <Time iso={status.rotatedAt} /> : 'never'}</dd>
            <dt>Next rotation</dt>
            <dd data-testid="key-next-rotation">
              {status.rotationDays === 0
                ? 'automatic rotation off'
                : <>
                    {status.nextRotationAt ? <Time iso={status.nextRotationAt} /> : 'once content is encrypted'} (every {plural(status.rotationDays, 'day')})
                  </>}
            </dd>
          </dl>
          <p data-testid="key-pending-rewrap" data-pending={status.pendingRewrap} class={status.pendingRewrap > 0 ? undefined : 'hint'}>
            {status.pendingRewrap > 0
              ? `${plural(status.pendingRewrap, 'row')} waiting for rewrap to version ${status.currentVersion}.`
              : 'All content is under the current version.'}
          </p>
          {status.versions.length > 0 && <VersionsTable status={status} />}
        </>
      )}
      <Status message={message} />
      <div class="actions">
        <button
          type="button"
          disabled={rotating.busy || status === null}
          onClick={() =>
            void rotating.run(async () => {
              const next = await api.rotateKeys(workspace.id);
              changed(next, `Rotated: new content is encrypted under version ${next.currentVersion}; the rest moves to it in the background.`);
            })
          }
        >
          Rotate key
        </button>
        <button type="button" class="secondary" disabled={loading.busy} onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={rotating.error} testId="rotate-error" />
      {status !== null && status.currentVersion > 1 && (
        <RetireForm key={status.currentVersion} workspace={workspace} status={status} onDone={(next) => changed(next, `Versions below ${next.minDecryptVersion} no longer decrypt.`)} />
      )}
      {status !== null && can(workspace, 'keys:configure') && <OwnKey workspace={workspace} status={status} onChanged={changed} />}
    </Panel>
  );
}
