/**
 * The first-run guide (`/get-started`): a checklist of what makes a workspace useful and safe —
 * a workspace, some data or an API key, a second person, a second factor — each ticked from
 * what the API says now (never from a flag kept here), and each linked to where it is done.
 *
 * The console's sidebar offers it (`GettingStartedLink`) until the account hides it
 * (`getStartedDismissed`), and the welcome page of an account without a workspace links to it;
 * hidden, it stays reachable at its address. Hiding is remembered per account, in this browser.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, can, type Session, type Workspace } from '../api';
import { Badge, ErrorMessage, PageHeader, Status } from '../components/ui';
import { GET_STARTED_PATH } from '../flow';
import '../flows.css';
import { useAction } from '../hooks';
import { Link, navigate } from '../router';
import { sectionPath } from '../sections';

const DISMISSED_KEY = (accountId: string) => `rampart.getStarted.dismissed.${accountId}`;

/** Whether this account hid the guide in this browser. */
export function getStartedDismissed(accountId: string): boolean {
  try {
    return localStorage.getItem(DISMISSED_KEY(accountId)) === '1';
  } catch {
    return false;
  }
}

function setGetStartedDismissed(accountId: string, dismissed: boolean): void {
  try {
    if (dismissed) localStorage.setItem(DISMISSED_KEY(accountId), '1');
    else localStorage.removeItem(DISMISSED_KEY(accountId));
  } catch {
    // Without storage the guide is simply offered again.
  }
}

/** A link to the guide, for the console's shell (the guide stays reachable after it is hidden). */
export function GettingStartedLink({ class: className, current = false }: { class?: string; current?: boolean }) {
  return (
    <Link href={GET_STARTED_PATH} class={className} aria-current={current ? 'page' : undefined} data-testid="get-started-link">
      Get started
    </Link>
  );
}

type StepId = 'workspace' | 'data' | 'invite' | 'mfa';

/** A step: done, not yet, or not something the caller's roles let them do or see. */
type StepState = 'done' | 'todo' | 'closed';

interface Progress {
  /** The workspace steps 2 and 3 are about: the first the account owns, else the first. */
  readonly workspace: Workspace | null;
  readonly steps: Record<StepId, StepState>;
}

const count = <T,>(list: Promise<{ data: T[] }> | null): Promise<number | null> => (list ? list.then((r) => r.data.length) : Promise.resolve(null));

/** Reads the live state each step is ticked from. */
async function readProgress(): Promise<Progress> {
  const [{ data: workspaces }, mfa] = await Promise.all([api.workspaces(), api.mfa()]);
  const workspace = workspaces.find((w) => w.roles.some((r) => r.builtin === 'owner')) ?? workspaces[0] ?? null;
  const steps: Record<StepId, StepState> = {
    workspace: workspace ? 'done' : 'todo',
    data: 'todo',
    invite: 'todo',
    mfa: mfa.enabled ? 'done' : 'todo',
  };
  if (!workspace) return { workspace, steps };

  const id = workspace.id;
  const [collections, documents, keys, members, invitations] = await Promise.all([
    count(can(workspace, 'records:read') ? api.collections(id) : null),
    can(workspace, 'documents:read') ? api.documents(id, null).then((p) => p.data.length) : Promise.resolve(null),
    count(can(workspace, 'api-keys:manage') ? api.apiKeys(id) : null),
    count(can(workspace, 'members:read') ? api.members(id) : null),
    count(can(workspace, 'invitations:manage') ? api.invitations(id) : null),
  ]);
  // Done when any count reaches one; closed when the caller's roles let it read none of them.
  const tick = (found: (number | null)[]): StepState =>
    found.some((n) => n !== null && n >= 1) ? 'done' : found.every((n) => n === null) ? 'closed' : 'todo';
  // Data: a collection, a document or an API key. People: someone besides the caller, or an invitation out.
  steps.data = tick([collections, documents, keys]);
  steps.invite = tick([members === null ? null : members - 1, invitations]);
  return { workspace, steps };
}

function Step(props: { id: StepId; state: StepState; title: string; children: ComponentChildren }) {
  const { id, state } = props;
  const label = state === 'done' ? 'Done' : state === 'closed' ? 'Not open to your roles' : 'To do';
  return (
    <li data-testid={`step-${id}`} data-done={state === 'done' ? 'true' : 'false'} data-state={state}>
      <span class="mark" aria-hidden="true">
        {state === 'done' ? '✓' : ''}
      </span>
      <div>
        <h2>
          {props.title}{' '}
          <Badge tone={state === 'done' ? 'ok' : 'neutral'} testId={`step-${id}-state`}>
            {label}
          </Badge>
        </h2>
        {props.children}
      </div>
    </li>
  );
}

/**
 * The guide. `onNewWorkspace` opens the console's own "New workspace" dialog, when the shell
 * that shows the guide has one; otherwise the first step links to the console's home, which offers it.
 */
export function GetStartedPage({ session, onNewWorkspace }: { session: Session; onNewWorkspace?: () => void }) {
  const accountId = session.account.id;
  const [progress, setProgress] = useState<Progress | null>(null);
  const [dismissed, setDismissed] = useState(() => getStartedDismissed(accountId));
  const { error, run } = useAction();

  const load = useCallback(async () => {
    await run(async () => setProgress(await readProgress()));
  }, [accountId]);

  useEffect(() => {
    void load();
    // A step done in another tab ticks when the person comes back to this one.
    const onVisible = () => {
      if (document.visibilityState === 'visible') void load();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, [load]);

  const steps = progress?.steps;
  const workspace = progress?.workspace ?? null;
  const done = steps ? Object.values(steps).filter((s) => s === 'done').length : 0;
  const total = 4;

  return (
    <div class="get-started" data-testid="get-started">
      <PageHeader
        title="Get started with Rampart"
        description="Four steps to a workspace that holds your data, lets the right people in, and keeps everyone else out."
      />
      <ErrorMessage error={error} testId="get-started-error" />
      {!steps && !error && <p role="status">Loading…</p>}
      {steps && (
        <>
          <p data-testid="get-started-count">
            {done === total ? 'All done: your workspace is set up.' : `${done} of ${total} done.`}
          </p>
          <ol class="checklist" aria-label="Steps to get started">
            <Step id="workspace" state={steps.workspace} title="Create a workspace">
              {workspace ? (
                <p>
                  <Link href={`/w/${encodeURIComponent(workspace.id)}`}>{workspace.name}</Link> is ready. Each workspace keeps its data apart, encrypted
                  under its own keys.
                </p>
              ) : (
                <>
                  <p>A workspace holds your collections, records and documents, apart from every other workspace.</p>
                  <p class="actions">
                    {onNewWorkspace ? (
                      <button type="button" onClick={onNewWorkspace}>
                        Create a workspace
                      </button>
                    ) : (
                      <Link href="/" class="button">
                        Create a workspace
                      </Link>
                    )}
                  </p>
                </>
              )}
            </Step>
            <Step id="data" state={steps.data} title="Add data or create an API key">
              <p>Store a collection of records or a document, or create an API key so that your own program can.</p>
              {workspace && steps.data !== 'closed' && (
                <p class="actions">
                  {can(workspace, 'records:read') && <Link href={sectionPath(workspace.id, 'collections')}>Open collections</Link>}
                  {can(workspace, 'api-keys:manage') && <Link href={sectionPath(workspace.id, 'api-keys')}>Create an API key</Link>}
                </p>
              )}
              {!workspace && <p class="hint">Create a workspace first.</p>}
            </Step>
            <Step id="invite" state={steps.invite} title="Invite someone">
              <p>Invite a colleague by email, with the role that fits what they will do.</p>
              {workspace && can(workspace, 'invitations:manage') && (
                <p class="actions">
                  <Link href={sectionPath(workspace.id, 'invitations')}>Invite someone</Link>
                </p>
              )}
              {!workspace && <p class="hint">Create a workspace first.</p>}
            </Step>
            <Step id="mfa" state={steps.mfa} title="Turn on multi-factor authentication">
              <p>An authenticator app or a passkey, so that a stolen password is not enough to sign in as you.</p>
              {steps.mfa !== 'done' && (
                <p class="actions">
                  <Link href="/account/security">Set up a second factor</Link>
                </p>
              )}
            </Step>
          </ol>
        </>
      )}
      <div class="actions">
        <button type="button" class="secondary" onClick={() => void load()}>
          Refresh
        </button>
        {!dismissed && (
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setGetStartedDismissed(accountId, true);
              setDismissed(true);
              navigate('/');
            }}
          >
            Hide this guide
          </button>
        )}
      </div>
      <Status message={dismissed ? 'You hid this guide: the console no longer leads you here, and “Get started” still does.' : null} />
    </div>
  );
}
