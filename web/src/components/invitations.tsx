/**
 * A workspace's invitations (`invitations:manage`): a form to invite someone by email with a
 * role and an expiry, and the pending (or expired) invitations, each with resend and revoke.
 * The invitee accepts at `/invitations/accept` (see pages/invitation.tsx).
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, can, type Invitation, type Role, type Workspace } from '../api';
import { useAction } from '../hooks';
import { ConfirmButton, ErrorMessage, Panel, Status } from './ui';
import { Time } from './time';
import { describeAccessError, preferredRole, roleChoices, RoleSelect } from './scopes';

function InviteForm({ workspace, roles, onInvited }: { workspace: Workspace; roles: Role[] | null; onInvited: (invitation: Invitation) => void }) {
  const choices = roleChoices(workspace, roles);
  const preferred = preferredRole(choices);
  const [email, setEmail] = useState('');
  const [roleId, setRoleId] = useState('');
  const [days, setDays] = useState('7');
  const { busy, error, setError, run } = useAction({ describeError: describeAccessError });
  const selected = roleId || preferred?.id || '';

  const invite = async () => {
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      setError('Enter the email address to invite.');
      return;
    }
    if (!selected) {
      setError('Choose a role.');
      return;
    }
    const expiresInDays = Number(days);
    if (!Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 30) {
      setError('An invitation expires after 1 to 30 days.');
      return;
    }
    await run(async () => {
      const created = await api.invite(workspace.id, { email: address, roleId: selected, expiresInDays });
      setEmail('');
      onInvited(created);
    });
  };

  return (
    <form
      class="inline-form"
      aria-label="Invite someone"
      onSubmit={(event) => {
        event.preventDefault();
        void invite();
      }}
    >
      <label>
        Email to invite
        <input type="email" name="invite-email" required autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <RoleSelect id="invite-role" label="Role" name="invite-role" value={selected} choices={choices} placeholder="No role to offer" onChange={setRoleId} />
      <label>
        Expires after (days)
        <input type="number" name="invite-days" min={1} max={30} step={1} required value={days} onInput={(e) => setDays(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        Send invitation
      </button>
      <p class="hint">They get an email with a link; they accept it signed in with that address (creating an account first if they have none).</p>
      <ErrorMessage error={error} testId="invite-error" />
    </form>
  );
}

function InvitationRow(props: { workspace: Workspace; invitation: Invitation; onChanged: (invitation: Invitation, message: string) => void; onRevoked: () => void }) {
  const { workspace, invitation: inv } = props;
  const resend = useAction({ describeError: describeAccessError });
  return (
    <li class="row" data-testid="invitation" data-email={inv.email} data-status={inv.status}>
      <span class="row-main">
        <span>
          <strong data-testid="invitation-email">{inv.email}</strong> <span class="badge">{inv.role.name}</span>{' '}
          <span class={inv.status === 'pending' ? 'badge ok' : 'badge warn'} data-testid="invitation-status">
            {inv.status}
          </span>
        </span>
        <span class="muted">
          {inv.invitedBy ? `Invited by ${inv.invitedBy.name || inv.invitedBy.email}` : 'Invited'} · sent <Time iso={inv.sentAt} />
          {inv.sendCount > 1 ? ` (${inv.sendCount} times)` : ''} · {inv.status === 'expired' ? 'expired' : 'expires'} <Time iso={inv.expiresAt} />
        </span>
      </span>
      <span class="actions">
        <button
          type="button"
          class="secondary"
          aria-label={`Resend the invitation to ${inv.email}`}
          disabled={resend.busy}
          onClick={() =>
            void resend.run(async () => {
              const updated = await api.resendInvitation(workspace.id, inv.id);
              props.onChanged(updated, `A new invitation link was sent to ${inv.email}; the previous one no longer works.`);
            })
          }
        >
          Resend
        </button>
        <ConfirmButton
          label="Revoke"
          confirmLabel={`Revoke the invitation to ${inv.email}`}
          accessibleName={`Revoke the invitation to ${inv.email}`}
          testId="revoke-invitation"
          describeError={describeAccessError}
          onConfirm={async () => {
            await api.revokeInvitation(workspace.id, inv.id);
            props.onRevoked();
          }}
        />
      </span>
      <ErrorMessage error={resend.error} />
    </li>
  );
}

export function InvitationsSection({ workspace }: { workspace: Workspace }) {
  const [invitations, setInvitations] = useState<Invitation[] | null>(null);
  const [roles, setRoles] = useState<Role[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const readRoles = can(workspace, 'members:read');

  const load = useCallback(
    () =>
      loading.run(async () => {
        const [list, roleList] = await Promise.all([api.invitations(workspace.id), readRoles ? api.roles(workspace.id) : Promise.resolve(null)]);
        setInvitations(list.data);
        setRoles(roleList?.data ?? null);
      }),
    [workspace.id, readRoles],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Panel title="Invitations" titleId="invitations-title" testId="invitations-panel">
      {(roles !== null || !readRoles) && (
        <InviteForm
          workspace={workspace}
          roles={roles}
          onInvited={(created) => {
            setInvitations((previous) => [created, ...(previous ?? []).filter((i) => i.id !== created.id)]);
            setStatus(`Invitation sent to ${created.email}.`);
          }}
        />
      )}
      <Status message={status} />
      <ErrorMessage error={loading.error} testId="invitations-error" />
      {invitations === null && !loading.error && <p role="status">Loading…</p>}
      {invitations !== null && invitations.length === 0 && (
        <p class="empty" data-testid="invitations-empty">
          No pending invitations.
        </p>
      )}
      {invitations !== null && invitations.length > 0 && (
        <ul class="rows" aria-label="Pending invitations">
          {invitations.map((inv) => (
            <InvitationRow
              key={`${inv.id}:${inv.sentAt}`}
              workspace={workspace}
              invitation={inv}
              onChanged={(updated, message) => {
                setInvitations((previous) => previous?.map((i) => (i.id === updated.id ? updated : i)) ?? null);
                setStatus(message);
              }}
              onRevoked={() => {
                setInvitations((previous) => previous?.filter((i) => i.id !== inv.id) ?? null);
                setStatus(`The invitation to ${inv.email} was revoked.`);
              }}
            />
          ))}
        </ul>
      )}
    </Panel>
  );
}
