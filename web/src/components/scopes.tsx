/**
 * What the access-control pages share: the scope catalogue (loaded once), the words for the
 * server's access errors, the scope checkboxes of the role and API key forms, the API key
 * presets, role badges, and the roles a caller may give (invitations, SSO's default role,
 * directory groups) with their select.
 *
 * The console hides or disables what the caller's scopes do not allow, but the server decides:
 * whatever it refuses is shown as it says.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, can, errorMessage, type Role, type RoleRef, type Scope, type ScopeInfo, type Workspace } from '../api';

let catalogue: Promise<ScopeInfo[]> | null = null;

/** The scope catalogue, in display order; fetched once per page load (a failure is retried). */
export function useScopeCatalogue(): { scopes: ScopeInfo[] | null; error: string | null } {
  const [scopes, setScopes] = useState<ScopeInfo[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    catalogue ??= api.scopes().then((r) => r.data);
    catalogue
      .then((list) => {
        if (live) setScopes(list);
      })
      .catch((err: unknown) => {
        catalogue = null;
        if (live) setError(errorMessage(err));
      });
    return () => {
      live = false;
    };
  }, []);
  return { scopes, error };
}

function missingScopes(details: unknown): string[] {
  if (typeof details !== 'object' || details === null || !('missing' in details)) return [];
  const missing = details.missing;
  return Array.isArray(missing) ? missing.filter((s): s is string => typeof s === 'string') : [];
}

/** The server's refusal in words, naming the scopes a `scope_escalation` says the caller lacks. */
export function describeAccessError(err: unknown): string {
  if (err instanceof ApiError && err.code === 'scope_escalation') {
    const missing = missingScopes(err.details);
    if (missing.length > 0) return `${err.message} You do not hold: ${missing.join(', ')}.`;
  }
  return errorMessage(err);
}

/** Whether every scope of `wanted` is among `held`. */
export function holdsAll(held: readonly Scope[], wanted: readonly Scope[]): boolean {
  return wanted.every((s) => held.includes(s));
}

/**
 * Checkboxes for choosing scopes, in catalogue order. A scope the caller does not hold is shown
 * disabled (its box keeps its state); owner-only scopes are never offered.
 */
export function ScopeCheckboxes(props: {
  idPrefix: string;
  legend: string;
  catalogue: ScopeInfo[];
  held: readonly Scope[];
  /** Offer only the scopes the caller holds, instead of showing the others disabled. */
  onlyHeld?: boolean;
  selected: ReadonlySet<Scope>;
  onChange: (selected: Set<Scope>) => void;
  disabled?: boolean;
}) {
  const { idPrefix, catalogue: all, held, selected } = props;
  const offered = all.filter((s) => !s.ownerOnly && (!props.onlyHeld || held.includes(s.scope)));
  const toggle = (scope: Scope, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(scope);
    else next.delete(scope);
    props.onChange(next);
  };
  const lacking = offered.some((s) => !held.includes(s.scope));
  return (
    <fieldset class="scopes" data-testid="scope-checkboxes">
      <legend>{props.legend}</legend>
      {lacking && <p class="hint">Scopes you do not hold yourself cannot be given or taken away; they are greyed out.</p>}
      <ul class="scope-list">
        {offered.map((s) => {
          const id = `${idPrefix}-${s.scope.replace(/[^a-z0-9]/g, '-')}`;
          const mine = held.includes(s.scope);
          return (
            <li key={s.scope} class={mine ? undefined : 'unavailable'}>
              <label class="checkbox">
                <input
                  type="checkbox"
                  name="scope"
                  value={s.scope}
                  checked={selected.has(s.scope)}
                  disabled={props.disabled || !mine}
                  aria-describedby={`${id}-hint`}
                  onChange={(e) => toggle(s.scope, e.currentTarget.checked)}
                />
                <code>{s.scope}</code>
              </label>
              <p class="hint" id={`${id}-hint`}>
                {s.description}
                {mine ? '' : ' (You do not hold this scope.)'}
              </p>
            </li>
          );
        })}
      </ul>
    </fieldset>
  );
}

/** Ready-made scope sets for an API key; `custom` is chosen one by one. */
export type KeyPreset = 'read-only' | 'read-write' | 'custom';

/**
 * The scopes a preset gives, in catalogue order, of those the creator may give (held, never
 * owner-only, as the server allows no more): `read-only` every `:read` scope, `read-write` also
 * the `:write` scopes of the data (records, documents) and no admin scope (`:manage` and the
 * like); `custom` none until chosen.
 */
export function presetScopes(preset: KeyPreset, catalogue: readonly ScopeInfo[], held: readonly Scope[]): Scope[] {
  if (preset === 'custom') return [];
  const grantable = catalogue.filter((s) => !s.ownerOnly && held.includes(s.scope)).map((s) => s.scope);
  return grantable.filter((s) => s.endsWith(':read') || (preset === 'read-write' && s.endsWith(':write')));
}

const BUILTIN_ORDER = { owner: 0, admin: 1, member: 2 } as const;

/** Built-ins first (owner, admin, member), then the custom roles by name. */
export function byRoleOrder(a: RoleRef, b: RoleRef): number {
  const ra = a.builtin ? BUILTIN_ORDER[a.builtin] : 3;
  const rb = b.builtin ? BUILTIN_ORDER[b.builtin] : 3;
  return ra - rb || a.name.localeCompare(b.name);
}

/** A person's roles as badges. */
export function RoleBadges({ roles, testId = 'role-badge' }: { roles: readonly RoleRef[]; testId?: string }) {
  return (
    <>
      {[...roles].sort(byRoleOrder).map((r) => (
        <span key={r.id} class={r.builtin === 'owner' ? 'badge ok' : 'badge'} data-testid={testId}>
          {r.name}
        </span>
      ))}
    </>
  );
}

/** A role that may be offered: never the owner's, and (when its scopes are known) one the caller holds all of. */
export interface RoleChoice {
  readonly role: RoleRef;
  readonly grantable: boolean;
}

/** The roles to offer, in display order. `roles` null: they could not be listed, so the caller's own roles are offered. */
export function roleChoices(workspace: Workspace, roles: readonly Role[] | null): RoleChoice[] {
  const known: readonly (RoleRef & { scopes?: Role['scopes'] })[] = roles ?? workspace.roles;
  return [...known]
    .filter((r) => r.builtin !== 'owner')
    .sort(byRoleOrder)
    .map((r) => ({ role: r, grantable: r.scopes ? holdsAll(workspace.scopes, r.scopes) : true }));
}

/** The member role when it can be given, else the first that can; undefined when none can. */
export function preferredRole(choices: readonly RoleChoice[]): RoleRef | undefined {
  return (choices.find((c) => c.grantable && c.role.builtin === 'member') ?? choices.find((c) => c.grantable))?.role;
}

/**
 * The workspace's role choices, listed once for the panels that share them; null while loading.
 * Without `members:read` the roles cannot be listed: the caller's own roles are what it can offer.
 */
export function useRoleChoices(workspace: Workspace): { choices: RoleChoice[] | null; error: string | null } {
  const [roles, setRoles] = useState<Role[] | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const readable = can(workspace, 'members:read');
  useEffect(() => {
    let live = true;
    setRoles(undefined);
    setError(null);
    if (!readable) {
      setRoles(null);
      return;
    }
    api
      .roles(workspace.id)
      .then((list) => {
        if (live) setRoles(list.data);
      })
      .catch((err: unknown) => {
        if (live) setError(errorMessage(err));
      });
    return () => {
      live = false;
    };
  }, [workspace.id, readable]);
  return { choices: roles === undefined ? null : roleChoices(workspace, roles), error };
}

/**
 * A select of role choices; one the caller cannot give is shown disabled, as the server would
 * refuse it. `placeholder` stands in while `value` is none of the choices.
 */
export function RoleSelect(props: { id: string; label: string; name: string; value: string; choices: readonly RoleChoice[]; placeholder: string; onChange: (roleId: string) => void }) {
  return (
    // A label of its own: one around the select would take the options into its name.
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.name} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {!props.choices.some((c) => c.role.id === props.value) && <option value="">{props.placeholder}</option>}
        {props.choices.map((c) => (
          <option key={c.role.id} value={c.role.id} disabled={!c.grantable}>
            {c.role.name}
            {c.grantable ? '' : ' (grants scopes you do not hold)'}
          </option>
        ))}
      </select>
    </div>
  );
}
