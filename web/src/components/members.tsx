/**
 * A workspace's members: the list with their roles; with `members:manage`, changing a member's
 * roles (any set of roles whose scopes the caller holds; the owner role moves only by
 * transferring ownership) and removing a member; for the owner, transferring ownership (which
 * needs a recent sign-in); and, with `audit:read`, the workspace's recent events.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, can, type Member, type Role, type Workspace, type WorkspaceEvent } from '../api';
import { useAction } from '../hooks';
import { Badge, ConfirmButton, ErrorMessage, Panel, Status } from './ui';
import { Time } from './time';
import { byRoleOrder, describeAccessError, holdsAll, RoleBadges } from './scopes';
import { EventsPanel } from './events';

const isOwner = (m: Member) => m.roles.some((r) => r.builtin === 'owner');
const who = (m: Member) => (m.name ? `${m.name} (${m.email})` : m.email);

function RolesEditor(props: { workspace: Workspace; member: Member; roles: Role[]; onSaved: (member: Member) => void; onCancel: () => void }) {
  const { workspace, member, roles } = props;
  const [chosen, setChosen] = useState<ReadonlySet<string>>(() => new Set(member.roles.map((r) => r.id)));
  const { busy, error, setError, run } = useAction({ describeError: describeAccessError });
  const legendId = `member-roles-${member.accountId}`;
  const offered = roles.filter((r) => r.builtin !== 'owner');
  const fieldset = useRef<HTMLFieldSetElement>(null);
  // The form appears in place of its button: the keyboard's focus follows it.
  useEffect(() => fieldset.current?.querySelector<HTMLInputElement>('input:not(:disabled)')?.focus(), []);

  const save = async () => {
    const roleIds = offered.filter((r) => chosen.has(r.id)).map((r) => r.id);
    if (roleIds.length === 0) {
      setError('A member needs at least one role. To take every role away, remove the member.');
      return;
    }
    await run(async () => props.onSaved(await api.updateMember(workspace.id, member.accountId, roleIds)));
  };

  return (
    <form
      class="stack"
      aria-label={`Roles of ${member.email}`}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <fieldset class="scopes" ref={fieldset}>
        <legend id={legendId}>Roles of {who(member)}</legend>
        <ul class="scope-list">
          {offered.map((r) => {
            // Giving or taking away a role needs every scope it grants.
            const grantable = holdsAll(workspace.scopes, r.scopes);
            return (
              <li key={r.id} class={grantable ? undefined : 'unavailable'}>
                <label class="checkbox">
                  <input
                    type="checkbox"
                    name="role"
                    value={r.id}
                    checked={chosen.has(r.id)}
                    disabled={busy || !grantable}
                    aria-describedby={`${legendId}-${r.id}`}
                    onChange={(e) => {
                      const next = new Set(chosen);
                      if (e.currentTarget.checked) next.add(r.id);
                      else next.delete(r.id);
                      setChosen(next);
                    }}
                  />
                  {r.name}
                </label>
                <p class="hint" id={`${legendId}-${r.id}`}>
                  {r.description || `${r.scopes.length} scopes`}
                  {grantable ? '' : ' (It grants scopes you do not hold, so you cannot give or take it away.)'}
                </p>
              </li>
            );
          })}
        </ul>
      </fieldset>
      <ErrorMessage error={error} testId="member-roles-error" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          Save roles
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/**
 * Whether the member has a second factor: shown where roles and removal are decided. Without one in a workspace that requires MFA, they cannot open it.
 */
function MfaBadge({ member, requireMfa }: { member: Member; requireMfa: boolean }) {
  return member.mfa ? (
    <Badge tone="ok" testId="member-mfa" title="Has an authenticator app or a passkey">
      MFA
    </Badge>
  ) : (
    <Badge tone={requireMfa ? 'danger' : 'warn'} testId="member-mfa" title={requireMfa ? 'Cannot open this workspace until they set up a second factor' : 'Signs in with a password alone'}>
      No MFA
    </Badge>
  );
}

function MemberRow(props: {
  workspace: Workspace;
  member: Member;
  me: string;
  roles: Role[] | null;
  onChanged: (member: Member) => void;
  onRemoved: (member: Member) => void;
}) {
  const { workspace, member, roles } = props;
  const [editing, setEditing] = useState(false);
  const manage = can(workspace, 'members:manage');
  const owner = isOwner(member);
  const self = member.accountId === props.me;

  return (
    <li class="row" data-testid="member" data-email={member.email} data-account-id={member.accountId}>
      <span class="row-main">
        <span>
          <strong data-testid="member-name">{member.name || member.email}</strong> {self && <span class="badge ok">You</span>}{' '}
          <MfaBadge member={member} requireMfa={workspace.requireMfa} />
        </span>
        <span class="muted">
          {member.email} · joined <Time iso={member.joinedAt} />
        </span>
        <span class="badges" data-testid="member-roles">
          <RoleBadges roles={member.roles} testId="member-role" />
        </span>
      </span>
      {editing && roles ? (
        <RolesEditor
          workspace={workspace}
          member={member}
          roles={roles}
          onCancel={() => setEditing(false)}
          onSaved={(updated) => {
            setEditing(false);
            props.onChanged(updated);
          }}
        />
      ) : (
        manage &&
        (owner ? (
          <span class="muted">The owner's roles change only by transferring ownership.</span>
        ) : (
          <span class="actions">
            <button type="button" class="secondary" aria-label={`Change roles of ${member.email}`} disabled={!roles} onClick={() => setEditing(true)}>
              Change roles
            </button>
            {!self && (
              <ConfirmButton
                label="Remove"
                confirmLabel={`Remove ${member.email}`}
                accessibleName={`Remove ${member.email} from the workspace`}
                testId="remove-member"
                describeError={describeAccessError}
                onConfirm={async () => {
                  await api.removeMember(workspace.id, member.accountId);
                  props.onRemoved(member);
                }}
              />
            )}
          </span>
        ))
      )}
    </li>
  );
}

/** Hands the owner role to another member; the owner becomes an admin. Needs a recent sign-in. */
function TransferOwnershipPanel(props: {
  workspace: Workspace;
  members: Member[];
  me: string;
  onTransferred: (to: Member) => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const candidates = props.members.filter((m) => m.accountId !== props.me);
  const [target, setTarget] = useState('');
  const [asking, setAsking] = useState(false);
  const [needsSignIn, setNeedsSignIn] = useState(false);
  const { busy, error, setError, run } = useAction({
    describeError: (err) =>
      err instanceof ApiError && err.code === 'reauthentication_required'
        ? 'Transferring ownership needs a recent sign-in (within the last 15 minutes). Sign in again, then transfer.'
        : describeAccessError(err),
  });
  const chosen = candidates.find((m) => m.accountId === target) ?? null;

  if (candidates.length === 0) return null;
  return (
    <Panel title="Transfer ownership" titleId="transfer-title" testId="transfer-panel">
      <p class="hint">
        The workspace has exactly one owner. Hand the role to another member and you become an admin: you can no longer delete the workspace
        or transfer it again.
      </p>
      <form
        class="inline-form"
        aria-label="Transfer ownership"
        onSubmit={(event) => {
          event.preventDefault();
          setNeedsSignIn(false);
          if (!chosen) {
            setError('Choose the member who becomes the owner.');
            return;
          }
          if (!asking) {
            setError(null);
            setAsking(true);
            return;
          }
          void run(async () => {
            try {
              await api.transferOwnership(props.workspace.id, chosen.accountId);
            } catch (err) {
              if (err instanceof ApiError && err.code === 'reauthentication_required') setNeedsSignIn(true);
              setAsking(false);
              throw err;
            }
            setAsking(false);
            props.onTransferred(chosen);
          });
        }}
      >
        <div class="field">
          <label for="new-owner">New owner</label>
          <select
            id="new-owner"
            name="new-owner"
            value={target}
            disabled={busy}
            onChange={(e) => {
              setTarget(e.currentTarget.value);
              setAsking(false);
            }}
          >
            <option value="">Choose a member</option>
            {candidates.map((m) => (
              <option key={m.accountId} value={m.accountId}>
                {who(m)}
              </option>
            ))}
          </select>
        </div>
        {asking && chosen ? (
          <>
            <button type="submit" class="danger" disabled={busy}>
              Make {chosen.email} the owner
            </button>
            <button type="button" class="secondary" disabled={busy} onClick={() => setAsking(false)}>
              Cancel
            </button>
          </>
        ) : (
          <button type="submit" class="secondary" disabled={busy}>
            Transfer ownership
          </button>
        )}
        <ErrorMessage error={error} testId="transfer-error" />
      </form>
      {needsSignIn && (
        <button
          type="button"
          onClick={() => {
            setError(null);
            props.onSignOut(`/sign-in?next=${encodeURIComponent(location.pathname)}`).catch((err: unknown) => setError(describeAccessError(err)));
          }}
        >
          Sign in again
        </button>
      )}
    </Panel>
  );
}

function describeActor(event: WorkspaceEvent, members: Member[] | null): string {
  const { actor } = event;
  if (actor.type === 'system') return 'Rampart';
  if (actor.type === 'api_key') return `API key ${actor.id?.slice(0, 8) ?? ''}`.trim();
  if (actor.type === 'staff') return `Staff: ${actor.name ?? 'unknown'}${actor.role ? ` (${actor.role})` : ''}`;
  if (actor.type === 'anonymous') return 'Anonymous';
  const member = members?.find((m) => m.accountId === actor.id);
  return member ? member.email : `Account ${actor.id?.slice(0, 8) ?? ''}`.trim();
}

/** The workspace's recent events (`audit:read`). */
function WorkspaceEventsPanel({ workspace, members }: { workspace: Workspace; members: Member[] | null }) {
  const load = useCallback(async () => (await api.workspaceEvents(workspace.id)).data, [workspace.id]);
  return (
    <EventsPanel<WorkspaceEvent>
      title="Recent events"
      titleId="workspace-events-title"
      testId="workspace-events-panel"
      rowTestId="workspace-event"
      load={load}
      columns={[
        { header: 'Who', cell: (e) => describeActor(e, members) },
        {
          header: 'What',
          cell: (e) => (
            <>
              <code>{e.action}</code>
              {e.target && <span class="muted"> · {e.target.type}</span>}
            </>
          ),
        },
      ]}
    />
  );
}

export function MembersSection(props: {
  workspace: Workspace;
  me: string;
  onAccessChanged: () => void;
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { workspace, me } = props;
  const [members, setMembers] = useState<Member[] | null>(null);
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const manage = can(workspace, 'members:manage');

  const load = useCallback(
    () =>
      loading.run(async () => {
        const [list, roleList] = await Promise.all([api.members(workspace.id), manage ? api.roles(workspace.id) : Promise.resolve(null)]);
        setMembers(list.data);
        if (roleList) setRoles([...roleList.data].sort(byRoleOrder));
      }),
    [workspace.id, manage],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <Panel title="Members" titleId="members-title" testId="members-panel">
        <ErrorMessage error={loading.error} testId="members-error" />
        {members === null && !loading.error && <p role="status">Loading…</p>}
        {members !== null && (
          <ul class="rows" aria-labelledby="members-title" data-testid="members">
            {members.map((m) => (
              <MemberRow
                key={`${m.accountId}:${m.roles.map((r) => r.id).join(',')}`}
                workspace={workspace}
                member={m}
                me={me}
                roles={roles}
                onChanged={(updated) => {
                  setMembers((previous) => previous?.map((x) => (x.accountId === updated.accountId ? updated : x)) ?? null);
                  setStatus(`Roles of ${updated.email} saved.`);
                  if (updated.accountId === me) props.onAccessChanged();
                }}
                onRemoved={(removed) => {
                  setMembers((previous) => previous?.filter((x) => x.accountId !== removed.accountId) ?? null);
                  setStatus(`${removed.email} was removed from the workspace.`);
                }}
              />
            ))}
          </ul>
        )}
        <Status message={status} />
      </Panel>
      {members && can(workspace, 'ownership:transfer') && (
        <TransferOwnershipPanel
          workspace={workspace}
          members={members}
          me={me}
          onSignOut={props.onSignOut}
          onTransferred={(to) => {
            setStatus(`${to.email} is now the owner of ${workspace.name}. You are an admin.`);
            void load();
            props.onAccessChanged();
          }}
        />
      )}
      {can(workspace, 'audit:read') && <WorkspaceEventsPanel workspace={workspace} members={members} />}
    </>
  );
}
