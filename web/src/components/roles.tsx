/**
 * A workspace's roles: the list (built-ins first), a matrix of which scopes each role grants,
 * and, with `roles:manage`, a form to create or edit a custom role (its scope checkboxes offer
 * only the scopes the caller holds) and a delete. Built-in roles cannot be changed.
 */
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, can, type Role, type Scope, type ScopeInfo, type Workspace } from '../api';
import { useAction } from '../hooks';
import { ConfirmButton, ErrorMessage, Panel, Status } from './ui';
import { describeAccessError, ScopeCheckboxes, useScopeCatalogue } from './scopes';

/** New roles start with what it takes to open the workspace at all. */
const DEFAULT_SCOPES: readonly Scope[] = ['workspace:read'];

function RoleForm(props: {
  idPrefix: string;
  workspace: Workspace;
  catalogue: ScopeInfo[];
  role: Role | null;
  onSaved: (role: Role) => void;
  onCancel: () => void;
}) {
  const { workspace, catalogue, role } = props;
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [scopes, setScopes] = useState<ReadonlySet<Scope>>(
    () => new Set(role ? role.scopes : DEFAULT_SCOPES.filter((s) => can(workspace, s))),
  );
  const { busy, error, setError, run } = useAction({ describeError: describeAccessError });
  const nameInput = useRef<HTMLInputElement>(null);
  // The form appears in place of a button: the keyboard's focus follows it.
  useEffect(() => nameInput.current?.focus(), []);

  const save = async () => {
    const wanted = name.trim();
    if (!wanted) {
      setError('Give the role a name.');
      return;
    }
    // Catalogue order, as the matrix shows them.
    const chosen = catalogue.map((s) => s.scope).filter((s) => scopes.has(s));
    if (chosen.length === 0) {
      setError('Choose at least one scope.');
      return;
    }
    await run(async () => {
      const body = { name: wanted, description: description.trim(), scopes: chosen };
      props.onSaved(role ? await api.updateRole(workspace.id, role.id, body) : await api.createRole(workspace.id, body));
    });
  };

  const title = role ? `Edit role ${role.name}` : 'New role';
  return (
    <form
      class="stack role-form"
      aria-label={title}
      data-testid="role-form"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <h3>{title}</h3>
      <label>
        Role name
        <input
          ref={nameInput}
          type="text"
          name="role-name"
          required
          maxLength={60}
          autocomplete="off"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        Description (optional)
        <input type="text" name="role-description" maxLength={500} autocomplete="off" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <ScopeCheckboxes
        idPrefix={props.idPrefix}
        legend="Scopes this role grants"
        catalogue={catalogue}
        held={workspace.scopes}
        selected={scopes}
        onChange={setScopes}
        disabled={busy}
      />
      <p class="hint">Without workspace:read, members who hold only this role cannot open the workspace.</p>
      <ErrorMessage error={error} testId="role-form-error" />
      <div class="actions">
        <button type="submit" disabled={busy}>
          {role ? 'Save role' : 'Create role'}
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** Rows are the scopes, columns the roles; a check where the role grants the scope. */
function ScopeMatrix({ catalogue, roles }: { catalogue: ScopeInfo[]; roles: Role[] }) {
  const captionId = 'scope-matrix-caption';
  return (
    // Scrolls sideways on a narrow screen; focusable so that the keyboard can scroll it too.
    <div class="matrix" role="region" aria-labelledby={captionId} tabIndex={0}>
      <table class="matrix-table" data-testid="scope-matrix">
        <caption id={captionId}>Scopes each role grants</caption>
        <thead>
          <tr>
            <th scope="col">Scope</th>
            {roles.map((r) => (
              <th key={r.id} scope="col" data-testid="matrix-role" data-role={r.name}>
                {r.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {catalogue.map((s) => (
            <tr key={s.scope} data-scope={s.scope}>
              <th scope="row">
                <code>{s.scope}</code> {s.ownerOnly && <span class="badge">Owner only</span>}
                <span class="hint">{s.description}</span>
              </th>
              {roles.map((r) => {
                const granted = r.scopes.includes(s.scope);
                return (
                  <td key={r.id} data-testid="matrix-cell" data-role={r.name} data-scope={s.scope} data-granted={granted ? 'true' : 'false'}>
                    {granted ? (
                      <>
                        <span aria-hidden="true" class="check">
                          ✓
                        </span>
                        <span class="visually-hidden">Granted</span>
                      </>
                    ) : (
                      <span class="visually-hidden">Not granted</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RolesSection({ workspace, onAccessChanged }: { workspace: Workspace; onAccessChanged: () => void }) {
  const { scopes: catalogue, error: catalogueError } = useScopeCatalogue();
  const [roles, setRoles] = useState<Role[] | null>(null);
  // The id of the role being edited, 'new' for the create form, or null.
  const [editing, setEditing] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const loading = useAction();
  const manage = can(workspace, 'roles:manage');

  const load = useCallback(() => loading.run(async () => setRoles((await api.roles(workspace.id)).data)), [workspace.id]);
  useEffect(() => {
    void load();
  }, [load]);

  const saved = (role: Role, created: boolean) => {
    setEditing(null);
    setStatus(created ? `Role ${role.name} created.` : `Role ${role.name} saved.`);
    void load();
    // A role the caller holds may have changed what the caller may do.
    if (!created && workspace.roles.some((r) => r.id === role.id)) onAccessChanged();
  };

  const custom = roles?.filter((r) => r.builtin === null).length ?? 0;
  return (
    <>
      <Panel title="Roles" titleId="roles-title" testId="roles-panel">
        <p class="hint">
          A member's permissions are the scopes of all their roles. Owner, Admin and Member are built in and cannot be changed.
        </p>
        <ErrorMessage error={loading.error} testId="roles-error" />
        {roles === null && !loading.error && <p role="status">Loading…</p>}
        {roles !== null && (
          <ul class="rows" aria-label="Roles">
            {roles.map((r) =>
              editing === r.id && catalogue ? (
                <li key={r.id} class="row" data-testid="role" data-role-name={r.name}>
                  <RoleForm
                    idPrefix={`edit-role-${r.id}`}
                    workspace={workspace}
                    catalogue={catalogue}
                    role={r}
                    onSaved={(role) => saved(role, false)}
                    onCancel={() => setEditing(null)}
                  />
                </li>
              ) : (
                <li key={r.id} class="row" data-testid="role" data-role-name={r.name}>
                  <span class="row-main">
                    <span>
                      <strong data-testid="role-name">{r.name}</strong> {r.builtin ? <span class="badge">Built-in</span> : <span class="badge">Custom</span>}
                    </span>
                    {r.description && <span class="muted">{r.description}</span>}
                    <span class="muted">
                      {r.scopes.length} {r.scopes.length === 1 ? 'scope' : 'scopes'} · {r.memberCount} {r.memberCount === 1 ? 'member' : 'members'}
                    </span>
                  </span>
                  {manage && r.builtin === null && (
                    <span class="actions">
                      <button
                        type="button"
                        class="secondary"
                        aria-label={`Edit role ${r.name}`}
                        disabled={!catalogue}
                        onClick={() => {
                          setStatus(null);
                          setEditing(r.id);
                        }}
                      >
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        confirmLabel={`Delete role ${r.name}`}
                        accessibleName={`Delete role ${r.name}`}
                        testId="delete-role"
                        describeError={describeAccessError}
                        onConfirm={async () => {
                          await api.deleteRole(workspace.id, r.id);
                          setRoles((previous) => previous?.filter((x) => x.id !== r.id) ?? null);
                          setStatus(`Role ${r.name} deleted.`);
                        }}
                      />
                    </span>
                  )}
                </li>
              ),
            )}
          </ul>
        )}
        {manage &&
          catalogue &&
          (editing === 'new' ? (
            <RoleForm
              idPrefix="new-role"
              workspace={workspace}
              catalogue={catalogue}
              role={null}
              onSaved={(role) => saved(role, true)}
              onCancel={() => setEditing(null)}
            />
          ) : (
            <div class="actions">
              <button
                type="button"
                onClick={() => {
                  setStatus(null);
                  setEditing('new');
                }}
              >
                New role
              </button>
              {custom === 0 && <span class="muted">No custom roles yet.</span>}
            </div>
          ))}
        <Status message={status} />
      </Panel>
      <Panel title="Scope matrix" titleId="scope-matrix-title" testId="scope-matrix-panel">
        <ErrorMessage error={catalogueError} />
        {catalogue && roles ? <ScopeMatrix catalogue={catalogue} roles={roles} /> : !catalogueError && !loading.error && <p role="status">Loading…</p>}
      </Panel>
    </>
  );
}
