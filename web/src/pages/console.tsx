/**
 * The signed-in console: a header (account, workspace switcher, new workspace, security
 * settings, sign out) and the current workspace, addressed by URL: `/w/:workspaceId` (its data)
 * and `/w/:workspaceId/c/:collection`, and its access settings at `/w/:workspaceId/members`,
 * `/roles`, `/invitations`, `/api-keys` and `/sso` (single sign-on); staff access requests at
 * `/access-requests`, the access log at `/access-log` and the audit log at `/audit` (their
 * filters in the query); the account's security settings at `/settings`.
 *
 * A workspace is shown only after the server confirms the account is a member; for anything
 * else (not a member, no such workspace, malformed id) the page says "not found" and loads no data.
 * A workspace that requires MFA of a session without it sends the person to set it up instead.
 * What the page offers follows the caller's scopes in the workspace; the server still decides,
 * and its refusals are shown.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, can, errorMessage, type Collection, type Scope, type Session, type Workspace } from '../api';
import { AccessRequestsSection, PendingAccessNotice } from '../components/access-requests';
import { ApiKeysSection } from '../components/api-keys';
import { AccessLogSection, AuditLogSection } from '../components/audit';
import { CollectionsPanel } from '../components/collections';
import { DocumentsPanel } from '../components/documents';
import { InvitationsSection } from '../components/invitations';
import { KeysPanel } from '../components/keys';
import { MembersSection } from '../components/members';
import { RecordsPanel } from '../components/records';
import { RolesSection } from '../components/roles';
import { RoleBadges } from '../components/scopes';
import { SecretsPanel } from '../components/secrets';
import { SsoSection } from '../components/sso';
import { ConfirmButton, ErrorMessage, Panel, Status } from '../components/ui';
import { useAction } from '../hooks';
import { clearInvitationToken, INVITATION_PATH, invitationToken, mfaEnrolmentPath } from '../flow';
import { Link, matchRoute, navigate } from '../router';
import { AccountPage } from './account';

export function workspacePath(workspaceId: string, section?: Section): string {
  return `/w/${encodeURIComponent(workspaceId)}${section ? `/${section}` : ''}`;
}

/** The workspace's access settings, each a page of its own, and the scope it needs. */
const SECTIONS = [
  { id: 'members', label: 'Members', scope: 'members:read' },
  { id: 'roles', label: 'Roles', scope: 'members:read' },
  { id: 'invitations', label: 'Invitations', scope: 'invitations:manage' },
  { id: 'api-keys', label: 'API keys', scope: 'api-keys:manage' },
  { id: 'sso', label: 'Single sign-on', scope: 'sso:manage' },
  { id: 'access-requests', label: 'Access requests', scope: 'staff-access:approve' },
  { id: 'access-log', label: 'Access log', scope: 'audit:read' },
  { id: 'audit', label: 'Audit log', scope: 'audit:read' },
] as const satisfies readonly { id: string; label: string; scope: Scope }[];

export type Section = (typeof SECTIONS)[number]['id'];

function isSection(value: string): value is Section {
  return SECTIONS.some((s) => s.id === value);
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

/** Links to the workspace's data and to the access settings the caller's scopes open. */
function WorkspaceNav({ workspace, section }: { workspace: Workspace; section: Section | null }) {
  const open = SECTIONS.filter((s) => can(workspace, s.scope));
  if (open.length === 0) return null;
  return (
    <nav class="workspace-nav" aria-label={`${workspace.name} sections`} data-testid="workspace-nav">
      <ul>
        <li>
          <Link href={workspacePath(workspace.id)} aria-current={section === null ? 'page' : undefined}>
            Data
          </Link>
        </li>
        {open.map((s) => (
          <li key={s.id}>
            <Link href={workspacePath(workspace.id, s.id)} aria-current={section === s.id ? 'page' : undefined} data-testid={`nav-${s.id}`}>
              {s.label}
            </Link>
          </li>
        ))}
      </ul>
    </nav>
  );
}

/** A settings page the caller's scopes do not open: said plainly, and nothing is loaded. */
function SectionClosed({ label, scope }: { label: string; scope: Scope }) {
  return (
    <section class="panel" data-testid="section-forbidden">
      <h2>{label}</h2>
      <p role="alert">
        Your roles in this workspace do not include <code>{scope}</code>, which this page needs. Ask an admin of the workspace if you need it.
      </p>
    </section>
  );
}

function SettingsSection(props: {
  workspace: Workspace;
  section: Section;
  me: string;
  onAccessChanged: () => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { workspace, section } = props;
  const info = SECTIONS.find((s) => s.id === section)!;
  if (!can(workspace, info.scope)) return <SectionClosed label={info.label} scope={info.scope} />;
  switch (section) {
    case 'members':
      return <MembersSection workspace={workspace} me={props.me} onAccessChanged={props.onAccessChanged} onSignOut={props.onSignOut} />;
    case 'roles':
      return <RolesSection workspace={workspace} onAccessChanged={props.onAccessChanged} />;
    case 'invitations':
      return <InvitationsSection workspace={workspace} />;
    case 'api-keys':
      return <ApiKeysSection workspace={workspace} />;
    case 'sso':
      return <SsoSection workspace={workspace} />;
    case 'access-requests':
      return <AccessRequestsSection workspace={workspace} />;
    case 'access-log':
      return <AccessLogSection workspace={workspace} />;
    case 'audit':
      return <AuditLogSection workspace={workspace} />;
  }
}

/** Collections and records, documents, encryption keys, the secrets vault, and the settings the caller may change. */
function WorkspaceData(props: { workspace: Workspace; collection: string | null; onUpdated: (workspace: Workspace) => void; onDeleted: () => void }) {
  const { workspace, collection } = props;
  const readRecords = can(workspace, 'records:read');
  const [collections, setCollections] = useState<Collection[] | null>(null);
  const [collectionsError, setCollectionsError] = useState<string | null>(null);

  const loadCollections = useCallback(async () => {
    try {
      setCollections((await api.collections(workspace.id)).data);
      setCollectionsError(null);
    } catch (err) {
      setCollectionsError(errorMessage(err));
    }
  }, [workspace.id]);

  useEffect(() => {
    if (readRecords) void loadCollections();
  }, [loadCollections, readRecords]);

  return (
    <>
      {readRecords ? (
        <div class="columns">
          <CollectionsPanel
            workspaceId={workspace.id}
            collections={collections}
            loadError={collectionsError}
            selected={collection}
            canCreate={can(workspace, 'records:write')}
            onCreated={(created) => setCollections((previous) => [...(previous ?? []).filter((c) => c.id !== created.id), created])}
          />
          {collection ? (
            <RecordsPanel
              key={`${workspace.id}/${collection}`}
              workspaceId={workspace.id}
              collection={collection}
              canWrite={can(workspace, 'records:write')}
              canDeleteCollection={can(workspace, 'collections:manage')}
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
      ) : (
        <Panel title="Collections" titleId="collections-title" testId="collections-panel">
          <p class="empty" data-testid="records-closed">
            Your roles in this workspace do not include reading records.
          </p>
        </Panel>
      )}
      {can(workspace, 'documents:read') ? (
        <DocumentsPanel key={workspace.id} workspaceId={workspace.id} canWrite={can(workspace, 'documents:write')} />
      ) : (
        <Panel title="Documents" titleId="documents-title" testId="documents-panel">
          <p class="empty" data-testid="documents-closed">
            Your roles in this workspace do not include reading documents.
          </p>
        </Panel>
      )}
      {can(workspace, 'keys:manage') && <KeysPanel key={workspace.id} workspace={workspace} />}
      {can(workspace, 'integrations:manage') && <SecretsPanel key={workspace.id} workspace={workspace} />}
      {(can(workspace, 'settings:manage') || can(workspace, 'workspace:delete')) && (
        <WorkspaceSettingsPanel workspace={workspace} onUpdated={props.onUpdated} onDeleted={props.onDeleted} />
      )}
    </>
  );
}

function WorkspaceView(props: {
  workspaceId: string;
  collection: string | null;
  section: Section | null;
  me: string;
  onWorkspacesChanged: () => void;
  onWorkspaceDeleted: (workspace: Workspace) => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { workspaceId, collection, section } = props;
  const [state, setState] = useState<WorkspaceState>({ status: 'loading' });
  // Bumped when what the caller may do here may have changed (roles, ownership).
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    api
      .workspace(workspaceId)
      .then((workspace) => {
        if (!live) return;
        setState({ status: 'ready', workspace });
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
  }, [workspaceId, generation]);

  if (state.status === 'loading') return <p role="status">Loading workspace…</p>;
  if (state.status === 'not-found') return <WorkspaceNotFound />;
  if (state.status === 'error') return <ErrorMessage error={state.message} testId="workspace-error" />;

  const { workspace } = state;
  const onAccessChanged = () => {
    setGeneration((n) => n + 1);
    props.onWorkspacesChanged();
  };
  return (
    <div class="workspace" data-testid="workspace" data-workspace-id={workspace.id}>
      <div class="workspace-title">
        <h1 data-testid="workspace-name">{workspace.name}</h1>
        <span class="badge">{workspace.region}</span>
        <span class="badges" data-testid="workspace-roles" aria-label="Your roles">
          <RoleBadges roles={workspace.roles} testId="workspace-role" />
        </span>
        {workspace.requireMfa && (
          <span class="badge" data-testid="requires-mfa">
            MFA required
          </span>
        )}
      </div>
      <WorkspaceNav workspace={workspace} section={section} />
      {section !== 'access-requests' && <PendingAccessNotice workspace={workspace} />}
      {section ? (
        <SettingsSection workspace={workspace} section={section} me={props.me} onAccessChanged={onAccessChanged} onSignOut={props.onSignOut} />
      ) : (
        <WorkspaceData
          workspace={workspace}
          collection={collection}
          onUpdated={(updated) => {
            setState({ status: 'ready', workspace: updated });
            props.onWorkspacesChanged();
          }}
          onDeleted={() => props.onWorkspaceDeleted(workspace)}
        />
      )}
    </div>
  );
}

/** Rename (`settings:manage`) and delete (`workspace:delete`) the workspace; require MFA of its members. */
function WorkspaceSettingsPanel(props: { workspace: Workspace; onUpdated: (workspace: Workspace) => void; onDeleted: () => void }) {
  const { workspace, onUpdated } = props;
  const manage = can(workspace, 'settings:manage');
  const [status, setStatus] = useState<string | null>(null);
  const [needsOwnMfa, setNeedsOwnMfa] = useState(false);
  // The box shows what was asked for while the server answers, then what the server says.
  const [asked, setAsked] = useState<boolean | null>(null);
  const [name, setName] = useState(workspace.name);
  const [confirmName, setConfirmName] = useState('');
  const { busy, error, run } = useAction();
  const renaming = useAction();

  const toggle = (requireMfa: boolean) =>
    run(async () => {
      setStatus(null);
      setNeedsOwnMfa(false);
      setAsked(requireMfa);
      try {
        const updated = await api.updateWorkspace(workspace.id, { requireMfa });
        onUpdated(updated);
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

  const rename = () => {
    const wanted = name.trim();
    if (!wanted) {
      renaming.setError('Give the workspace a name.');
      return;
    }
    void renaming.run(async () => {
      setStatus(null);
      const updated = await api.updateWorkspace(workspace.id, { name: wanted });
      onUpdated(updated);
      setStatus(`The workspace is now called ${updated.name}.`);
    });
  };

  return (
    <Panel title="Workspace settings" titleId="workspace-settings-title" testId="workspace-settings">
      {manage && (
        <>
          <form
            class="inline-form"
            aria-label="Rename the workspace"
            onSubmit={(event) => {
              event.preventDefault();
              rename();
            }}
          >
            <label>
              Workspace name
              <input type="text" name="rename-workspace" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </label>
            <button type="submit" class="secondary" disabled={renaming.busy || name.trim() === workspace.name}>
              Rename
            </button>
            <ErrorMessage error={renaming.error} testId="rename-workspace-error" />
          </form>
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
        </>
      )}
      <Status message={status} />
      {can(workspace, 'workspace:delete') && (
        <div class="danger-zone">
          <h3>Delete this workspace</h3>
          <p class="hint" id="delete-workspace-hint">
            Deletes every collection, record and document in it, for every member. This cannot be undone. The delete button appears once
            the name matches.
          </p>
          <div class="inline-form">
            <label>
              Type the workspace name to confirm
              <input
                type="text"
                name="confirm-delete-workspace"
                autocomplete="off"
                aria-describedby="delete-workspace-hint"
                value={confirmName}
                onInput={(e) => setConfirmName(e.currentTarget.value)}
              />
            </label>
            {confirmName === workspace.name && (
              <ConfirmButton
                label="Delete workspace"
                confirmLabel={`Delete ${workspace.name} for good`}
                testId="delete-workspace"
                onConfirm={async () => {
                  await api.deleteWorkspace(workspace.id, confirmName);
                  props.onDeleted();
                }}
              />
            )}
          </div>
        </div>
      )}
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

/** An invitation opened in this tab before signing in or up, not yet answered. */
function InvitationWaitingNotice() {
  const [waiting, setWaiting] = useState(() => invitationToken() !== null);
  if (!waiting) return null;
  return (
    <div class="notice" data-testid="invitation-waiting">
      <p>
        You opened an invitation to a workspace before signing in. <Link href={INVITATION_PATH}>Review the invitation</Link>{' '}
        <button
          type="button"
          class="link-button"
          onClick={() => {
            clearInvitationToken();
            setWaiting(false);
          }}
        >
          Dismiss
        </button>
      </p>
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

  const sectionRoute = matchRoute('/w/:workspaceId/:section', path);
  const route =
    matchRoute('/w/:workspaceId/c/:collection', path) ??
    matchRoute('/w/:workspaceId', path) ??
    (sectionRoute && isSection(sectionRoute['section'] ?? '') ? sectionRoute : null);
  const currentId = route?.['workspaceId'] ?? null;
  const collection = route?.['collection'] ?? null;
  const section = route?.['section'] && isSection(route['section']) ? route['section'] : null;
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
      <InvitationWaitingNotice />
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
          <WorkspaceView
            key={currentId}
            workspaceId={currentId}
            collection={collection}
            section={section}
            me={account.id}
            onWorkspacesChanged={() => void reload()}
            onWorkspaceDeleted={(deleted) => {
              setWorkspaces((previous) => previous?.filter((w) => w.id !== deleted.id) ?? null);
              setStatus(`Workspace ${deleted.name} deleted.`);
              navigate('/', { replace: true });
            }}
            onSignOut={onSignOut}
          />
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
