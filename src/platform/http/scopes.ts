/**
 * Permission scopes and the built-in roles made of them. Every workspace route names the one
 * scope it needs (`config.scope`); a request is allowed when the caller's effective scopes hold
 * it. docs/permissions.md lists this catalogue (a test keeps the two equal), and every scope in it
 * guards at least one route (a test walks the route table): a scope is added with the first route
 * that needs it, never ahead of it, so no role or key is offered a permission that does nothing.
 *
 * The decision runs in process on every workspace request, from the grants the authenticating
 * statement already read: no extra query and no network hop. `npm run bench` P7 measures it.
 */

export const SCOPE_CATALOGUE = {
  'workspace:read': 'See the workspace: its name, region and settings.',
  'settings:manage': 'Rename the workspace and change its settings, such as requiring MFA.',
  'members:read': "See the workspace's members, their roles, and the roles there are.",
  'members:manage': "Change members' roles and remove members.",
  'roles:manage': 'Create, edit and delete custom roles.',
  'invitations:manage': 'Invite people by email; list, resend and revoke invitations.',
  'api-keys:manage': "Create, list and revoke the workspace's API keys.",
  'records:read': 'List and read collections and records.',
  'records:write': 'Create collections; create, update and delete records.',
  'collections:manage': 'Delete whole collections with all their records.',
  'documents:read': 'List and download documents.',
  'documents:write': 'Upload and delete documents.',
  'integrations:manage': "Connect, configure and disconnect integrations; write, rotate and delete their secrets (values are never readable).",
  'keys:manage': "See the workspace's encryption keys; rotate them and retire old versions.",
  'sso:manage': "Configure single sign-on: verified domains and SSO enforcement, the SAML connection, SCIM tokens, directory group mappings and setup links.",
  'audit:read': "Read and export the workspace's audit log and access log.",
  'staff-access:approve': "See the operator's staff requests for access to the workspace's data; approve, deny and revoke them.",
  'workspace:delete': 'Delete the workspace and everything in it. Owner only.',
  'ownership:transfer': 'Hand the owner role to another member. Owner only.',
  'keys:configure': "Point the workspace's encryption at its own KMS key, or back. Owner only.",
} as const satisfies Record<string, string>;

export type Scope = keyof typeof SCOPE_CATALOGUE;

export const SCOPES = Object.keys(SCOPE_CATALOGUE) as [Scope, ...Scope[]];

const SCOPE_SET: ReadonlySet<string> = new Set(SCOPES);

export function isScope(value: string): value is Scope {
  return SCOPE_SET.has(value);
}

/** Scopes only the built-in owner role holds: never part of a custom role or an API key. */
export const OWNER_ONLY_SCOPES: readonly Scope[] = ['workspace:delete', 'ownership:transfer', 'keys:configure'];

/** What custom roles and API keys may be made of. */
export const GRANTABLE_SCOPES = SCOPES.filter((s) => !OWNER_ONLY_SCOPES.includes(s)) as [Scope, ...Scope[]];

export type BuiltinRole = 'owner' | 'admin' | 'member';
export const BUILTIN_ROLES: readonly BuiltinRole[] = ['owner', 'admin', 'member'];

/**
 * The scopes of the built-in roles. They are defined here, not stored: a scope added to the
 * catalogue reaches owners and admins everywhere without a data migration.
 */
export const BUILTIN_ROLE_SCOPES: Readonly<Record<BuiltinRole, ReadonlySet<Scope>>> = {
  owner: new Set(SCOPES),
  admin: new Set(GRANTABLE_SCOPES),
  member: new Set<Scope>(['workspace:read', 'members:read', 'records:read', 'records:write', 'documents:read', 'documents:write']),
};

export const BUILTIN_ROLE_DESCRIPTIONS: Readonly<Record<BuiltinRole, string>> = {
  owner: 'Everything, including deleting the workspace and handing ownership on. There is always exactly one.',
  admin: 'Everything except deleting the workspace and transferring ownership.',
  member: 'Works with records and documents; sees the members.',
};

/**
 * A grant as the authenticating statement reads it: `role:<builtin>` for a built-in role, or a
 * scope of a custom role.
 */
export const BUILTIN_GRANT_PREFIX = 'role:';

const EMPTY: ReadonlySet<Scope> = new Set();

/**
 * The effective scopes of a set of grants. A single built-in role (the common case) returns
 * that role's shared set without allocating; unknown strings (a scope since retired) grant
 * nothing.
 */
export function scopesFromGrants(grants: readonly string[]): ReadonlySet<Scope> {
  if (grants.length === 0) return EMPTY;
  if (grants.length === 1) {
    const builtin = builtinOfGrant(grants[0] as string);
    if (builtin) return BUILTIN_ROLE_SCOPES[builtin];
  }
  const scopes = new Set<Scope>();
  for (const grant of grants) {
    const builtin = builtinOfGrant(grant);
    if (builtin) {
      if (builtin === 'owner') return BUILTIN_ROLE_SCOPES.owner;
      for (const s of BUILTIN_ROLE_SCOPES[builtin]) scopes.add(s);
    } else if (isScope(grant)) {
      scopes.add(grant);
    }
  }
  return scopes;
}

function builtinOfGrant(grant: string): BuiltinRole | null {
  if (!grant.startsWith(BUILTIN_GRANT_PREFIX)) return null;
  const name = grant.slice(BUILTIN_GRANT_PREFIX.length);
  return name === 'owner' || name === 'admin' || name === 'member' ? name : null;
}

/** The known scopes of a stored list (a custom role's, an API key's); grants no role. */
export function scopesOf(list: readonly string[]): ReadonlySet<Scope> {
  return new Set(list.filter(isScope));
}

/** The scopes in `wanted` that `held` lacks, in catalogue order. */
export function missingScopes(held: ReadonlySet<Scope>, wanted: Iterable<Scope>): Scope[] {
  const missing = new Set<Scope>();
  for (const s of wanted) if (!held.has(s)) missing.add(s);
  return SCOPES.filter((s) => missing.has(s));
}

/** The scopes of `a` that `b` also holds, in catalogue order. */
export function intersectScopes(a: ReadonlySet<Scope>, b: ReadonlySet<Scope>): ReadonlySet<Scope> {
  return new Set(SCOPES.filter((s) => a.has(s) && b.has(s)));
}

/** Catalogue order, for stable output. */
export function sortScopes(scopes: Iterable<Scope>): Scope[] {
  const set = new Set(scopes);
  return SCOPES.filter((s) => set.has(s));
}
