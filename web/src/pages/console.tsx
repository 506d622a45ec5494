/**
 * The signed-in console: a sidebar (the account menu, the workspace switcher with the way to a
 * new workspace, and the sections of the current workspace) beside the page, addressed by URL
 * (the map is sections.ts):
 *
 * - `/w/:id` the workspace's overview; `/w/:id/<section>` each section; `/w/:id/c/:collection`
 *   a collection's records; section filters and tabs in the query;
 * - `/account` the profile, `/account/security` second factors and password, `/account/sessions`;
 *   the old `/settings` leads to `/account/security`, keeping its query.
 *
 * On a phone the sidebar hides behind the top bar's menu button. A workspace is shown only after
 * the server confirms the account is a member; for anything else (not a member, no such
 * workspace, malformed id) the page says "not found" and loads no data. A workspace that requires
 * MFA of a session without it sends the person to set it up instead. What the page offers follows
 * the caller's scopes in the workspace; the server still decides, and its refusals are shown.
 */
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, can, errorMessage, type Session, type Workspace } from '../api';
import { AccessRequestsSection, PendingAccessNotice } from '../components/access-requests';
import { ApiKeysSection } from '../components/api-keys';
import { AccessLogSection, AuditLogSection } from '../components/audit';
import { InvitationsSection } from '../components/invitations';
import { KeysPanel } from '../components/keys';
import { MembersSection } from '../components/members';
import { RolesSection } from '../components/roles';
import { RoleBadges } from '../components/scopes';
import { SecretsPanel } from '../components/secrets';
import { AccountMenu, AccountNav, WorkspaceNav, WorkspaceSwitcher } from '../components/sidebar';
import { SsoSection } from '../components/sso';
import { Badge, Dialog, EmptyState, ErrorMessage, PageHeader, TextField, toast, Toaster } from '../components/ui';
import { useAction } from '../hooks';
import { clearInvitationToken, GET_STARTED_PATH, INVITATION_PATH, invitationToken } from '../flow';
import { Link, matchRoute, navigate, Redirect, useLocation } from '../router';
import { isSectionId, opens, sectionInfo, sectionPath, type SectionId } from '../sections';
import { AccountPage, SecurityEventsPanel, SessionsPanel } from './account';
import { CollectionsPage, DocumentsPage } from './data';
import { GetStartedPage, getStartedDismissed, GettingStartedLink } from './get-started';
import { OverviewPage } from './overview';
import { ProfilePage } from './profile';
import { WorkspaceSettingsPage } from './workspace-settings';

type Route =
  | { readonly kind: 'home' }
  | { readonly kind: 'account'; readonly page: '/account' | '/account/security' | '/account/sessions' }
  | { readonly kind: 'legacy-settings' }
  | { readonly kind: 'get-started' }
  | { readonly kind: 'workspace'; readonly workspaceId: string; readonly section: SectionId; readonly collection: string | null }
  | { readonly kind: 'not-found' };

function routeOf(path: string): Route {
  if (path === '/') return { kind: 'home' };
  if (path === '/account' || path === '/account/security' || path === '/account/sessions') return { kind: 'account', page: path };
  if (path === '/settings') return { kind: 'legacy-settings' };
  if (path === GET_STARTED_PATH) return { kind: 'get-started' };
  const collection = matchRoute('/w/:workspaceId/c/:collection', path);
  if (collection) return { kind: 'workspace', workspaceId: collection['workspaceId']!, section: 'collections', collection: collection['collection']! };
  const overview = matchRoute('/w/:workspaceId', path);
  if (overview) return { kind: 'workspace', workspaceId: overview['workspaceId']!, section: 'overview', collection: null };
  const section = matchRoute('/w/:workspaceId/:section', path);
  const id = section?.['section'] ?? '';
  if (section && isSectionId(id) && id !== 'overview') return { kind: 'workspace', workspaceId: section['workspaceId']!, section: id, collection: null };
  return { kind: 'not-found' };
}

/** The form of the "New workspace" dialog. */
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
      onCreated(await api.createWorkspace({ name: wanted, ...(region_ ? { region: region_ } : {}) }));
    });
  };

  return (
    <form
      class="stack"
      aria-label="New workspace"
      onSubmit={(event) => {
        event.preventDefault();
        void create();
      }}
    >
      <TextField label="Workspace name" name="workspace-name" required maxLength={100} value={name} onInput={setName} />
      <TextField
        label="Region (optional)"
        name="region"
        maxLength={32}
        autocomplete="off"
        spellcheck={false}
        placeholder="default"
        value={region}
        onInput={setRegion}
        hint="Where its data is stored, one of the regions this server is set up with; empty for the default. It cannot be changed later."
      />
      <ErrorMessage error={error} testId="new-workspace-error" />
      <div class="actions dialog-actions">
        <button type="submit" disabled={busy}>
          Create workspace
        </button>
      </div>
    </form>
  );
}

type WorkspaceState =
  | { readonly status: 'loading'; readonly id: string }
  | { readonly status: 'ready'; readonly workspace: Workspace }
  | { readonly status: 'not-found'; readonly id: string }
  | { readonly status: 'error'; readonly id: string; readonly message: string };

/** The workspace the URL names, as the server confirms it (loaded again when `generation` moves). */
function useCurrentWorkspace(workspaceId: string | null, generation: number) {
  const [state, setState] = useState<WorkspaceState | null>(null);
  useEffect(() => {
    if (!workspaceId) {
      setState(null);
      return;
    }
    let live = true;
    setState((previous) => (previous && previous.status === 'ready' && previous.workspace.id === workspaceId ? previous : { status: 'loading', id: workspaceId }));
    api
      .workspace(workspaceId)
      .then((workspace) => {
        if (live) setState({ status: 'ready', workspace });
      })
      .catch((err: unknown) => {
        if (!live) return;
        // The console is already on its way to MFA enrolment (see the API client's handler).
        if (err instanceof ApiError && err.code === 'mfa_enrolment_required') return;
        const missing = err instanceof ApiError && (err.status === 404 || err.code === 'invalid_id');
        setState(missing ? { status: 'not-found', id: workspaceId } : { status: 'error', id: workspaceId, message: errorMessage(err) });
      });
    return () => {
      live = false;
    };
  }, [workspaceId, generation]);
  return [state, setState] as const;
}

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

/** A section the caller's scopes do not open: said plainly, and nothing is loaded. */
function SectionClosed({ section }: { section: SectionId }) {
  const info = sectionInfo(section);
  const scopes = info.anyOf;
  return (
    <section class="panel" data-testid="section-forbidden">
      <h2>{info.label}</h2>
      <p role="alert">
        Your roles in this workspace do not include{' '}
        {scopes.map((scope, i) => (
          <span key={scope}>
            {i > 0 ? ' or ' : ''}
            <code>{scope}</code>
          </span>
        ))}
        , which this page needs. Ask an admin of the workspace if you need it.
      </p>
    </section>
  );
}

function EncryptionSection({ workspace }: { workspace: Workspace }) {
  return (
    <>
      {can(workspace, 'keys:manage') && <KeysPanel key={workspace.id} workspace={workspace} />}
      {can(workspace, 'integrations:manage') && <SecretsPanel key={workspace.id} workspace={workspace} />}
    </>
  );
}

function SectionContent(props: {
  workspace: Workspace;
  section: SectionId;
  collection: string | null;
  me: string;
  onAccessChanged: () => void;
  onUpdated: (workspace: Workspace) => void;
  onDeleted: () => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { workspace, section } = props;
  if (!opens(workspace, section)) return <SectionClosed section={section} />;
  switch (section) {
    case 'overview':
      return <OverviewPage workspace={workspace} />;
    case 'collections':
      return <CollectionsPage workspace={workspace} collection={props.collection} />;
    case 'documents':
      return <DocumentsPage workspace={workspace} />;
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
    case 'encryption':
      return <EncryptionSection workspace={workspace} />;
    case 'access-requests':
      return <AccessRequestsSection workspace={workspace} />;
    case 'access-log':
      return <AccessLogSection workspace={workspace} />;
    case 'audit':
      return <AuditLogSection workspace={workspace} />;
    case 'settings':
      return <WorkspaceSettingsPage workspace={workspace} onUpdated={props.onUpdated} onDeleted={props.onDeleted} />;
  }
}

/** A page of the workspace: where you are (workspace, your roles), the section's title, its content. */
function WorkspacePage(props: Parameters<typeof SectionContent>[0]) {
  const { workspace, section } = props;
  const info = sectionInfo(section);
  return (
    <div class="workspace" data-testid="workspace" data-workspace-id={workspace.id} data-section={section}>
      <PageHeader
        eyebrow={
          <>
            <span class="workspace-label" data-testid="workspace-name">
              {workspace.name}
            </span>
            <Badge title="Data region">{workspace.region}</Badge>
            <span class="badges" data-testid="workspace-roles" aria-label="Your roles">
              <RoleBadges roles={workspace.roles} testId="workspace-role" />
            </span>
            {workspace.requireMfa && (
              <Badge tone="info" testId="requires-mfa">
                MFA required
              </Badge>
            )}
          </>
        }
        title={props.collection ? `Collection ${props.collection}` : info.label}
        description={info.description}
      />
      {section !== 'access-requests' && <PendingAccessNotice workspace={workspace} />}
      <SectionContent {...props} />
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

function AccountPages(props: {
  page: '/account' | '/account/security' | '/account/sessions';
  session: Session;
  workspaces: Workspace[] | null;
  onSessionChanged: (session: Session) => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  switch (props.page) {
    case '/account':
      return <ProfilePage session={props.session} onSessionChanged={props.onSessionChanged} />;
    case '/account/security':
      return <AccountPage session={props.session} workspaces={props.workspaces} onSessionChanged={props.onSessionChanged} onSignOut={props.onSignOut} />;
    case '/account/sessions':
      return (
        <div class="page-stack" data-testid="sessions-page">
          <PageHeader title="Sessions" description="Where your account is signed in, and what happened to it lately." />
          <SessionsPanel />
          <SecurityEventsPanel />
        </div>
      );
  }
}

export function ConsolePage(props: {
  session: Session;
  path: string;
  onSignOut: (then?: string) => Promise<void>;
  onSessionChanged: (session: Session) => void;
}) {
  const { session, path, onSignOut } = props;
  const { search } = useLocation();
  const account = session.account;
  const [workspaces, setWorkspaces] = useState<Workspace[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  // Bumped when what the caller may do in the workspace may have changed (roles, ownership).
  const [generation, setGeneration] = useState(0);

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

  const route = routeOf(path);
  const currentId = route.kind === 'workspace' ? route.workspaceId : null;
  const [current, setCurrent] = useCurrentWorkspace(currentId, generation);
  const firstId = workspaces?.[0]?.id;

  // At the root, open the first workspace.
  useEffect(() => {
    if (route.kind === 'home' && firstId) navigate(sectionPath(firstId), { replace: true });
  }, [route.kind, firstId]);

  // A phone's menu closes once a link in it is followed.
  useEffect(() => setMenuOpen(false), [path]);
  // Attached as the menu opens (a layout effect, so that no key pressed meanwhile is missed).
  useLayoutEffect(() => {
    if (!menuOpen) return;
    const escape = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      setMenuOpen(false);
      menuButton.current?.focus();
    };
    document.addEventListener('keydown', escape);
    document.querySelector<HTMLElement>('#sidebar .account-button')?.focus();
    return () => document.removeEventListener('keydown', escape);
  }, [menuOpen]);

  if (route.kind === 'legacy-settings') return <Redirect to={`/account/security${search.size > 0 ? `?${search.toString()}` : ''}`} />;

  const workspace = current?.status === 'ready' && current.workspace.id === currentId ? current.workspace : null;
  const signOut = () => {
    setSignOutError(null);
    onSignOut().catch((err: unknown) => setSignOutError(errorMessage(err)));
  };

  let content;
  if (route.kind === 'get-started') {
    content = <GetStartedPage session={session} onNewWorkspace={() => setCreating(true)} />;
  } else if (route.kind === 'account') {
    content = <AccountPages page={route.page} session={session} workspaces={workspaces} onSessionChanged={props.onSessionChanged} onSignOut={onSignOut} />;
  } else if (route.kind === 'workspace') {
    if (workspace) {
      content = (
        <WorkspacePage
          key={workspace.id}
          workspace={workspace}
          section={route.section}
          collection={route.collection}
          me={account.id}
          onAccessChanged={() => {
            setGeneration((n) => n + 1);
            void reload();
          }}
          onUpdated={(updated) => {
            setCurrent({ status: 'ready', workspace: updated });
            void reload();
          }}
          onDeleted={() => {
            setWorkspaces((previous) => previous?.filter((w) => w.id !== workspace.id) ?? null);
            toast(`Workspace ${workspace.name} deleted.`);
            navigate('/', { replace: true });
          }}
          onSignOut={onSignOut}
        />
      );
    } else if (current?.status === 'not-found') {
      content = <WorkspaceNotFound />;
    } else if (current?.status === 'error') {
      content = <ErrorMessage error={current.message} testId="workspace-error" />;
    } else {
      content = <p role="status">Loading workspace…</p>;
    }
  } else if (route.kind === 'home') {
    content =
      workspaces === null ? (
        <p role="status">Loading…</p>
      ) : workspaces.length === 0 ? (
        <section class="welcome" data-testid="no-workspaces" aria-labelledby="welcome-title">
          <h1 id="welcome-title">Welcome to Rampart</h1>
          <EmptyState
            title="You are not in any workspace yet"
            action={
              <>
                <button type="button" onClick={() => setCreating(true)}>
                  Create a workspace
                </button>
                <Link href={GET_STARTED_PATH} class="button secondary">
                  Follow the first-run guide
                </Link>
              </>
            }
          >
            A workspace holds collections, records and documents, encrypted under its own keys, with its own members, single sign-on and
            audit log. Or ask someone to invite you to theirs.
          </EmptyState>
        </section>
      ) : (
        <p role="status">Opening workspace…</p>
      );
  } else {
    content = <NotFoundPage />;
  }

  const accountPage = route.kind === 'account' ? route.page : null;
  return (
    <div class={menuOpen ? 'shell menu-open' : 'shell'}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="mobile-bar">
        <button
          type="button"
          class="icon-button menu-button"
          ref={menuButton}
          aria-expanded={menuOpen ? 'true' : 'false'}
          aria-controls="sidebar"
          aria-label="Menu"
          data-testid="menu-button"
          onClick={() => setMenuOpen((open) => !open)}
        >
          <span class="menu-icon" aria-hidden="true" />
        </button>
        <Link href="/" class="brand">
          Rampart
        </Link>
        {workspace && <span class="mobile-context">{workspace.name}</span>}
      </header>
      {menuOpen && <div class="sidebar-backdrop" onClick={() => setMenuOpen(false)} />}
      <aside id="sidebar" class="sidebar" aria-label="Console">
        <Link href="/" class="brand sidebar-brand">
          Rampart
        </Link>
        <AccountMenu account={account} current={accountPage} onSignOut={signOut} />
        {(route.kind === 'get-started' || !getStartedDismissed(account.id)) && (
          <nav class="side-nav" aria-label="First run" data-testid="get-started-nav">
            <ul>
              <li>
                <GettingStartedLink current={route.kind === 'get-started'} />
              </li>
            </ul>
          </nav>
        )}
        <WorkspaceSwitcher
          workspaces={workspaces}
          currentId={currentId}
          section={route.kind === 'workspace' ? route.section : null}
          onNewWorkspace={() => setCreating(true)}
        />
        {workspace && <WorkspaceNav workspace={workspace} current={route.kind === 'workspace' ? route.section : null} />}
        {accountPage && <AccountNav current={accountPage} />}
      </aside>
      <div class="main-column">
        {!account.emailVerified && <VerifyEmailNotice email={account.email} />}
        <InvitationWaitingNotice />
        <ErrorMessage error={signOutError} />
        <ErrorMessage error={listError} testId="workspaces-error" />
        <main id="main" class="content" tabIndex={-1}>
          {content}
        </main>
      </div>
      <Dialog open={creating} title="New workspace" onClose={() => setCreating(false)} testId="new-workspace-dialog">
        <NewWorkspaceForm
          onCreated={(created) => {
            setCreating(false);
            setWorkspaces((previous) => [...(previous ?? []), created]);
            toast(`Workspace ${created.name} created.`);
            navigate(sectionPath(created.id));
          }}
        />
      </Dialog>
      <Toaster />
    </div>
  );
}
