/**
 * A workspace's settings (`/w/:id/settings`): its name and whether its members must use a second
 * factor (`settings:manage`), shown with how many members have one now; its data region; and,
 * apart, the danger zone: deleting the workspace (`workspace:delete`).
 */
import { useState } from 'preact/hooks';
import { api, ApiError, can, type Workspace } from '../api';
import { ConfirmButton, ErrorMessage, Panel, Status, TextField } from '../components/ui';
import { Time } from '../components/time';
import { useAction, useMembers } from '../hooks';
import { mfaEnrolmentPath } from '../flow';
import { Link } from '../router';
import { sectionPath } from '../sections';

function GeneralPanel(props: { workspace: Workspace; onUpdated: (workspace: Workspace) => void }) {
  const { workspace, onUpdated } = props;
  const [status, setStatus] = useState<string | null>(null);
  const [needsOwnMfa, setNeedsOwnMfa] = useState(false);
  // The box shows what was asked for while the server answers, then what the server says.
  const [asked, setAsked] = useState<boolean | null>(null);
  const [name, setName] = useState(workspace.name);
  const { busy, error, run } = useAction();
  const renaming = useAction();
  // How many members have a second factor, when the caller may list members: context for the decision.
  const members = useMembers(workspace);
  const coverage = members && { total: members.length, withMfa: members.filter((m) => m.mfa).length };

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

  const without = coverage ? coverage.total - coverage.withMfa : 0;
  return (
    <Panel title="General" titleId="settings-general-title">
      <form
        class="inline-form"
        aria-label="Rename the workspace"
        onSubmit={(event) => {
          event.preventDefault();
          rename();
        }}
      >
        <TextField label="Workspace name" name="rename-workspace" required maxLength={100} value={name} onInput={setName} />
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
        Members whose session did not prove a second factor (an authenticator app or a passkey) are sent to set one up before they see this
        workspace.
        {coverage && (
          <>
            {' '}
            <span data-testid="settings-mfa-coverage">
              Now {coverage.withMfa} of {coverage.total} {coverage.total === 1 ? 'member has' : 'members have'} one
              {without > 0 && !workspace.requireMfa ? `; the ${without === 1 ? 'other' : `other ${without}`} would be asked to set one up` : ''}.
            </span>{' '}
            <Link href={sectionPath(workspace.id, 'members')}>See who</Link>
          </>
        )}
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

function RegionPanel({ workspace }: { workspace: Workspace }) {
  return (
    <Panel title="Region" titleId="settings-region-title" testId="settings-region">
      <dl class="facts">
        <dt>Data region</dt>
        <dd data-testid="settings-region-name">{workspace.region}</dd>
        <dt>Created</dt>
        <dd>
          <Time iso={workspace.createdAt} />
        </dd>
      </dl>
      <p class="hint">The region is chosen when the workspace is created: its records, documents and backups stay in that region’s storage.</p>
    </Panel>
  );
}

function DangerZone({ workspace, onDeleted }: { workspace: Workspace; onDeleted: () => void }) {
  const [confirmName, setConfirmName] = useState('');
  return (
    <section class="panel danger-zone" aria-labelledby="danger-zone-title" data-testid="danger-zone">
      <h2 id="danger-zone-title">Danger zone</h2>
      <h3>Delete this workspace</h3>
      <p class="hint" id="delete-workspace-hint">
        Deletes every collection, record and document in it, for every member. This cannot be undone. The delete button
        appears once the name matches.
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
              onDeleted();
            }}
          />
        )}
      </div>
    </section>
  );
}

export function WorkspaceSettingsPage(props: { workspace: Workspace; onUpdated: (workspace: Workspace) => void; onDeleted: () => void }) {
  const { workspace } = props;
  return (
    <div class="page-stack" data-testid="workspace-settings">
      {can(workspace, 'settings:manage') && <GeneralPanel workspace={workspace} onUpdated={props.onUpdated} />}
      <RegionPanel workspace={workspace} />
      {can(workspace, 'workspace:delete') && <DangerZone workspace={workspace} onDeleted={props.onDeleted} />}
    </div>
  );
}
