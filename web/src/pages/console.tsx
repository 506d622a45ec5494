/**
 * The signed-in console: a header (account, workspace switcher, new workspace, sign out) and the
 * current workspace, addressed by URL: `/w/:workspaceId` and `/w/:workspaceId/c/:collection`.
 *
 * A workspace is shown only after the server confirms the account is a member; for anything
 * else (not a member, no such workspace, malformed id) the page says "not found" and loads no data.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type Account, type Collection, type Workspace } from '../api';
import { CollectionsPanel } from '../components/collections';
import { DocumentsPanel } from '../components/documents';
import { RecordsPanel } from '../components/records';
import { ErrorMessage, Panel, Status } from '../components/ui';
import { useAction } from '../hooks';
import { Link, matchRoute, navigate } from '../router';

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
    </div>
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

export function ConsolePage({ account, path, onSignOut }: { account: Account; path: string; onSignOut: () => Promise<void> }) {
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
        {currentId ? (
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
