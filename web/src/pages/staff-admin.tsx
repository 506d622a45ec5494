/**
 * Staff members, for `staff-admin` (permission `staff:manage`): the list, adding a member (their
 * one-time setup link is shown once, to hand over by a trusted channel), changing a role,
 * resetting a member's sign-in (a new setup link) and disabling a member. Never one's own account.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ConfirmButton, ErrorMessage, Panel, Status } from '../components/ui';
import { ShortTime } from '../components/time';
import { useAction } from '../hooks';
import { STAFF_ROLES, staffApi, type StaffMember, type StaffRole, type StaffSession } from '../staff-api';

const ROLE_HINTS: Readonly<Record<StaffRole, string>> = {
  support: 'asks workspaces for access, reads through approved grants',
  engineer: 'asks workspaces for access, reads through approved grants',
  security: 'also opens break-glass access and reads the staff audit chain',
  'staff-admin': 'manages staff members; never reads workspace data',
};

/** A setup link just made: shown once. */
function SetupLink({ who, link }: { who: string; link: string }) {
  return (
    <div class="notice" data-testid="staff-setup-link-notice">
      <p>
        <strong>One-time setup link for {who}.</strong> It is shown only now and works once, for 24 hours. Hand it over by a channel you
        trust; whoever opens it chooses the password.
      </p>
      <code class="secret small" data-testid="staff-setup-link">
        {link}
      </code>
    </div>
  );
}

function AddMemberForm({ onAdded }: { onAdded: (member: StaffMember, setupLink: string) => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<StaffRole>('support');
  const { busy, error, run } = useAction();
  return (
    <form
      class="inline-form"
      aria-label="Add a staff member"
      onSubmit={(event) => {
        event.preventDefault();
        void run(async () => {
          const added = await staffApi.addMember({ email: email.trim(), name: name.trim(), role });
          setEmail('');
          setName('');
          onAdded(added.member, added.setupLink);
        });
      }}
    >
      <label>
        Email
        <input type="email" name="staff-email" required autocomplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
      </label>
      <label>
        Name
        <input type="text" name="staff-name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Role
        <select name="staff-role" value={role} onChange={(e) => setRole(e.currentTarget.value as StaffRole)}>
          {STAFF_ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={busy}>
        Add staff member
      </button>
      <p class="hint">A {role} {ROLE_HINTS[role]}.</p>
      <ErrorMessage error={error} testId="add-staff-error" />
    </form>
  );
}

function MemberRow(props: { member: StaffMember; me: boolean; onChanged: (member: StaffMember, setupLink?: string) => void }) {
  const { member: m, me } = props;
  const changing = useAction();
  return (
    <li class="row" data-testid="staff-member" data-email={m.email} data-disabled={m.disabled ? 'true' : 'false'}>
      <div class="row-main">
        <span>
          <strong>{m.name}</strong> <span class="muted">{m.email}</span> {me && <span class="badge">you</span>}
        </span>
        <span class="muted">
          {m.disabled ? (
            <span class="badge warn">disabled</span>
          ) : (
            <>
              {m.passwordSet ? 'password set' : 'setup link not used yet'} · {m.totp ? 'authenticator app on' : 'no authenticator app yet'}
            </>
          )}{' '}
          · added <ShortTime iso={m.createdAt} />
        </span>
        <ErrorMessage error={changing.error} />
      </div>
      {me || m.disabled ? (
        <span class="badge">{m.role}</span>
      ) : (
        <div class="actions">
          <label class="visually-hidden" for={`role-${m.id}`}>
            Role of {m.name}
          </label>
          <select
            id={`role-${m.id}`}
            value={m.role}
            disabled={changing.busy}
            onChange={(e) => {
              const role = e.currentTarget.value as StaffRole;
              void changing.run(async () => props.onChanged(await staffApi.changeRole(m.id, role)));
            }}
          >
            {STAFF_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <ConfirmButton
            label="Reset sign-in"
            confirmLabel={`Remove ${m.name}'s password and app`}
            testId="reset-staff"
            onConfirm={async () => {
              const reset = await staffApi.resetMember(m.id);
              props.onChanged(reset.member, reset.setupLink);
            }}
          />
          <ConfirmButton label="Disable" confirmLabel={`Disable ${m.name} now`} testId="disable-staff" onConfirm={async () => props.onChanged(await staffApi.disableMember(m.id))} />
        </div>
      )}
    </li>
  );
}

export function StaffMembersPanel({ session }: { session: StaffSession }) {
  const [members, setMembers] = useState<StaffMember[] | null>(null);
  const [link, setLink] = useState<{ who: string; link: string } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const { error, run } = useAction();
  const load = useCallback(() => run(async () => setMembers((await staffApi.members()).data)), []);
  useEffect(() => {
    void load();
  }, [load]);

  const changed = (member: StaffMember, setupLink?: string) => {
    setMembers((previous) => (previous?.some((p) => p.id === member.id) ? previous.map((p) => (p.id === member.id ? member : p)) : [...(previous ?? []), member]));
    setLink(setupLink ? { who: member.name, link: setupLink } : null);
    setStatus(member.disabled ? `${member.name} is disabled; their sessions have ended.` : null);
  };

  return (
    <Panel title="Staff members" titleId="staff-members-title" testId="staff-members-panel">
      <AddMemberForm onAdded={(member, setupLink) => changed(member, setupLink)} />
      {link && <SetupLink who={link.who} link={link.link} />}
      <Status message={status} />
      <ErrorMessage error={error} />
      {members === null && !error && <p role="status">Loading…</p>}
      {members && (
        <ul class="rows">
          {members.map((m) => (
            <MemberRow key={m.id} member={m} me={m.id === session.staff.id} onChanged={changed} />
          ))}
        </ul>
      )}
    </Panel>
  );
}
