/**
 * What the access-control pages share: the scope catalogue (loaded once), the words for the
 * server's access errors, the scope checkboxes of the role and API key forms, and role badges.
 *
 * The console hides or disables what the caller's scopes do not allow, but the server decides:
 * whatever it refuses is shown as it says.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type RoleRef, type Scope, type ScopeInfo } from '../api';

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
