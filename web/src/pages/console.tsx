/**
 * The signed-in console: a header (account, workspace switcher, new workspace, security
 * settings, sign out) and the current workspace, addressed by URL: `/w/:workspaceId` and
 * `/w/:workspaceId/c/:collection`; the account's security settings at `/settings`.
 *
 * A workspace is shown only after the server confirms the account is a member; for anything
 * else (not a member, no such workspace, malformed id) the page says "not found" and loads no data.
 * A workspace that requires MFA of a session without it sends the person to set it up instead.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type Collection, type Session, type Workspace } from '../api';
import { CollectionsPanel } from '../components/collections';
import { DocumentsPanel } from '../components/documents';
import { RecordsPanel } from '../components/records';
import { ErrorMessage, Panel, Status } from '../components/ui';
import { useAction } from '../hooks';
import { mfaEnrolmentPath } from '../flow';
import { Link, matchRoute, navigate } from '../router';
import { AccountPage } from './account';

export function workspacePath(workspaceId: string): string {
  return `/w/${encodeURIComponent(workspaceId)}`;
}

function NewWorkspaceForm({ onCreated }: { onCreated: (workspace: Workspace) => void }) {
  const [name, setName] = useState('');
  const [region, setRegion] = useState('');
  const { busy, error, setError, run } = useAction();

  const create = async () => {
    const wanted = name.trim();
    if (!wanted) {
      setError('Give the workspace a name.');
      return;
    }
    await run(async () => {
      const region_ = region.trim();
      const created = await api.createWorkspace({ name: wanted, ...(region_ ? { region: region_ } : {}) });
      setName('');
      setRegion('');
      onCreated(created);
    });
  };

  return (
    <form
      class="inline-form"
      aria-label="New workspace"
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <label>
        New workspace name
        <input type="text" name="workspace-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Region (optional)
        <input
          type="text"
          name="region"
          maxLength={32}
          autocomplete="off"
          spellcheck={false}
          placeholder="default"
          value={region}
          onInput={(e) => setRegion(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy}>
        Create workspace
      </button>
      <ErrorMessage error={error} testId="new-workspace-error" />
    </form>
  );
}

type WorkspaceState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly workspace: Workspace }
  | { readonly status: 'not-found' }
  | { readonly status: 'error'; readonly message: string };

function WorkspaceNotFound() {
  return (
    <section class="panel" data-testid="workspace-not-found">
      <h1>Workspace not found</h1>
      <p role="alert">This workspace does not exist, or you are not a member of it.</p>
      <p>
        <Link href="/">Back to your workspaces</Link>
      </p>
    </section>
  );
}

function WorkspaceView({ workspaceId, collection }: { workspaceId: string; collection: string | null }) {
  const [state, setState] = useState<WorkspaceState>({ status: 'loading' });
  const [collections, setCollections] = useState<Collection[] | null>(null);
  const [collectionsError, setCollectionsError] = useState<string | null>(null);

  const loadCollections = useCallback(async () => {
    try {
      setCollections((await api.collections(workspaceId)).data);
      setCollectionsError(null);
    } catch (err) {
      setCollectionsError(errorMessage(err));
    }
  }, [workspaceId]);

  useEffect(() => {
    let live = true;
    api
      .workspace(workspaceId)
      .then((workspace) => {
        if (!live) return;
        setState({ status: 'ready', workspace });
        void loadCollections();
      })
      .catch((err: unknown) => {
        if (!live) return;
        // The console is already on its way to MFA enrolment (see the API client's handler).
        if (err instanceof ApiError && err.code === 'mfa_enrolment_required') return;
        const missing = err instanceof ApiError && (err.status === 404 || err.code === 'invalid_id');
        setState(missing ? { status: 'not-found' } : { status: 'error', message: errorMessage(err) });
      });
    return () => {
      live = false;
    };
  }, [workspaceId, loadCollections]);

  if (state.status === 'loading') return <p role="status">Loading workspace…</p>;
  if (state.status === 'not-found') return <WorkspaceNotFound />;
  if (state.status === 'error') return <ErrorMessage error={state.message} testId="workspace-error" />;

  const { workspace } = state;
  return (
    <div class="workspace" data-testid="workspace" data-workspace-id={workspace.id}>
      <div class="workspace-title">
        <h1 data-testid="workspace-name">{workspace.name}</h1>
        <span class="badge">{workspace.region}</span>
        <span class="badge">{workspace.role}</span>
        {workspace.requireMfa && (
          <span class="badge" data-testid="requires-mfa">
            MFA required
          </span>
        )}
      </div>
      <div class="columns">
        <CollectionsPanel
          workspaceId={workspace.id}
          collections={collections}
          loadError={collectionsError}
          selected={collection}
          onCreated={(created) => setCollections((previous) => [...(previous ?? []).filter((c) => c.id !== created.id), created])}
        />
        {collection ? (
          <RecordsPanel
            key={`${workspace.id}/${collection}`}
            workspaceId={workspace.id}
            collection={collection}
            role={workspace.role}
            onCollectionDeleted={() => {
              void loadCollections();
              navigate(workspacePath(workspace.id));
            }}
          />
        ) : (
          <Panel title="Records" titleId="records-title">
            <p class="empty">Choose a collection to see its records.</p>
          </Panel>
        )}
      </div>
      <DocumentsPanel key={workspace.id} workspaceId={workspace.id} />
      {workspace.role === 'owner' && (
        <WorkspaceSettingsPanel workspace={workspace} onUpdated={(updated) => setState({ status: 'ready', workspace: updated })} />
      )}
    </div>
  );
}

/** Owner settings: whether every member must prove a second factor. */
function WorkspaceSettingsPanel({ workspace, onUpdated }: { workspace: Workspace; onUpdated: (workspace: Workspace) => void }) {
  const [status, setStatus] = useState<string | null>(null);
  const [needsOwnMfa, setNeedsOwnMfa] = useState(false);
  // The box shows what was asked for while the server answers, then what the server says.
  const [asked, setAsked] = useState<boolean | null>(null);
  const { busy, error, run } = useAction();

  const toggle = (requireMfa: boolean) =>
    run(async () => {
      setStatus(null);
      setNeedsOwnMfa(false);
      setAsked(requireMfa);
      try {
        const updated = await api.updateWorkspace(workspace.id, { requireMfa });
        onUpdated({ ...updated, role: workspace.role });
        setStatus(requireMfa ? 'Members now need MFA to open this workspace.' : 'MFA is no longer required in this workspace.');
      } catch (err) {
        if (err instanceof ApiError && err.code === 'mfa_enrolment_required') {
          setNeedsOwnMfa(true);
          throw new Error('Set up multi-factor authentication for yourself (and sign in with it) before requiring it of everyone.', { cause: err });
        }
        throw err;
      } finally {
        setAsked(null);
      }
    });

  return (
    <Panel title="Workspace settings" titleId="workspace-settings-title" testId="workspace-settings">
      <label class="checkbox">
        <input type="checkbox" checked={asked ?? workspace.requireMfa} disabled={busy} onChange={(e) => void toggle(e.currentTarget.checked)} aria-describedby="require-mfa-hint" />
        Require MFA for all members
      </label>
      <p class="hint" id="require-mfa-hint">
        Members whose session did not prove a second factor (an authenticator app or a passkey) are sent to set one up before they see
        this workspace.
      </p>
      <ErrorMessage error={error} testId="workspace-settings-error" />
      {needsOwnMfa && (
        <p>
          <Link href={mfaEnrolmentPath(null)}>Set up MFA</Link>
        </p>
      )}
      <Status message={status} />
    </Panel>
  );
}

function NotFoundPage() {
  return (
    <section class="panel" data-testid="page-not-found">
      <h1>Page not found</h1>
      <p>
        <Link href="/">Go to your workspaces</Link>
      </p>
    </section>
  );
}

/** A signed-in account whose address is not verified yet (for example one made through a provider). */
function VerifyEmailNotice({ email }: { email: string }) {
  const [sent, setSent] = useState(false);
  const { busy, error, run } = useAction();
  return (
    <div class="notice" data-testid="verify-email-notice">
      <p>
        Your email address {email} is not verified yet.{' '}
        {sent ? (
          <span role="status">A new link is on its way: open it in this browser.</span>
        ) : (
          <button
            type="button"
            class="link-button"
            disabled={busy}
            onClick={() =>
              void run(async () => {
                await api.resendVerification();
                setSent(true);
              })
            }
          >
            Send a new verification link
          </button>
        )}
      </p>
      <ErrorMessage error={error} />
    </div>
  );
}

export function ConsolePage(props: {
  session: Session;
  path: string;
  onSignOut: (then?: string) => Promise<void>;
  onSessionChanged: (session: Session) => void;
}) {
  const { session, path, onSignOut } = props;
  const account = session.account;
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [signOutError, setSignOutError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setWorkspaces((await api.workspaces()).data);
      setListError(null);
    } catch (err) {
      setListError(errorMessage(err));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const route = matchRoute('/w/:workspaceId/c/:collection', path) ?? matchRoute('/w/:workspaceId', path);
  const currentId = route?.['workspaceId'] ?? null;
  const collection = route?.['collection'] ?? null;
  const isHome = path === '/';
  const settings = path === '/settings' || path === '/account';
  const firstId = workspaces?.[0]?.id;

  // At the root, open the first workspace.
  useEffect(() => {
    if (isHome && firstId) navigate(workspacePath(firstId), { replace: true });
  }, [isHome, firstId]);

  const known = workspaces?.some((w) => w.id === currentId) ?? false;

  return (
    <div class="app">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          Rampart
        </Link>
        <div class="switcher">
          <label for="workspace-switcher">Workspace</label>
          <select
            id="workspace-switcher"
            data-testid="workspace-switcher"
            value={known && currentId ? currentId : ''}
            disabled={workspaces === null}
            onChange={(e) => {
              const id = e.currentTarget.value;
              if (id) navigate(workspacePath(id));
            }}
          >
            {!known && (
              <option value="" disabled>
                {workspaces && workspaces.length === 0 ? 'No workspaces yet' : 'Choose a workspace'}
              </option>
            )}
            {(workspaces ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        <div class="account">
          <span data-testid="account-email">{account.email}</span>
          <Link href="/settings" data-testid="account-link" aria-current={settings ? 'page' : undefined}>
            Security
          </Link>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setSignOutError(null);
              onSignOut().catch((err: unknown) => setSignOutError(errorMessage(err)));
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      {!account.emailVerified && <VerifyEmailNotice email={account.email} />}
      <div class="toolbar">
        <NewWorkspaceForm
          onCreated={(created) => {
            setWorkspaces((previous) => [...(previous ?? []), created]);
            setStatus(`Workspace ${created.name} created.`);
            navigate(workspacePath(created.id));
          }}
        />
        <Status message={status} />
        <ErrorMessage error={signOutError} />
        <ErrorMessage error={listError} testId="workspaces-error" />
      </div>
      <main id="main" class="content">
        {settings ? (
          <AccountPage session={session} workspaces={workspaces} onSessionChanged={props.onSessionChanged} onSignOut={onSignOut} />
        ) : currentId ? (
          <WorkspaceView key={currentId} workspaceId={currentId} collection={collection} />
        ) : isHome ? (
          workspaces === null ? (
            <p role="status">Loading…</p>
          ) : workspaces.length === 0 ? (
            <section class="panel" data-testid="no-workspaces">
              <h1>Welcome to Rampart</h1>
              <p>You are not in any workspace yet. Create one above to store collections, records and documents.</p>
            </section>
          ) : (
            <p role="status">Opening workspace…</p>
          )
        ) : (
          <NotFoundPage />
        )}
      </main>
    </div>
  );
}
