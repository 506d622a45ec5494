/**
 * Roles and members of a workspace. The rules, each enforced here in the transaction that makes
 * the change and recorded as a workspace event:
 *
 * - Built-in roles (owner, admin, member) are fixed; custom roles are made of grantable scopes.
 * - Nobody grants or takes away what they do not hold: creating, editing or deleting a role, and
 *   adding a role to or removing one from a member, needs every scope of every role touched
 *   (403 `scope_escalation`). Removing a member needs every scope that member holds.
 * - A workspace always has exactly one owner. The owner role is never given or taken by a role
 *   change or an invitation (403 `owner_role_reserved`); it moves only by an ownership transfer,
 *   and the owner cannot be removed (409 `last_owner`).
 * - A member holds at least one role.
 *
 * Access is resolved from these tables on every request, so a change takes effect on the next
 * request of every session and key.
 */
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { Actor, RequestMeta, WorkspaceCaller } from '../../platform/http/context.js';
import {
  BUILTIN_ROLE_DESCRIPTIONS,
  BUILTIN_ROLE_SCOPES,
  BUILTIN_ROLES,
  missingScopes,
  scopesFromGrants,
  scopesOf,
  sortScopes,
  type BuiltinRole,
  type Scope,
} from '../../platform/http/scopes.js';
import { newId } from '../../platform/ids.js';
import type { WorkspaceEvent, WorkspaceEvents } from '../events/index.js';
import type { MemberView, RoleRefView, RoleView } from './schemas.js';
import * as store from './store.js';

/**
 * Called in the transaction that removes a member, to undo what the member left behind. What it
 * undid comes back as facts for the removal's one event (for example the API keys revoked).
 */
export type MemberRemovedListener = (tx: Tx, removed: { accountId: string }, by: RemovedBy) => Promise<WorkspaceEvent['details']>;
/** Who removed a member: a caller of the API, or the directory (a SCIM token), by id. */
export interface RemovedBy {
  readonly actor: { readonly id: string };
}
/** How many pending things (invitations) still hold a role, so it is not deleted from under them. */
export type RoleUseCounter = (tx: Tx, roleId: string) => Promise<number>;

const OWNER: BuiltinRole = 'owner';

/** A role's scopes: the built-in ones from code, a custom role's as stored. */
export function roleScopes(role: { builtin: BuiltinRole | null; scopes: readonly string[] }): ReadonlySet<Scope> {
  return role.builtin ? BUILTIN_ROLE_SCOPES[role.builtin] : scopesOf(role.scopes);
}

function roleView(row: store.RoleRow): RoleView {
  return {
    id: row.id,
    name: row.name,
    description: row.builtin ? BUILTIN_ROLE_DESCRIPTIONS[row.builtin] : row.description,
    builtin: row.builtin,
    scopes: sortScopes(roleScopes(row)),
    memberCount: row.member_count,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function roleRef(row: { id: string; name: string; builtin: BuiltinRole | null }): RoleRefView {
  return { id: row.id, name: row.name, builtin: row.builtin };
}

/** 403 `scope_escalation` unless the caller holds every scope wanted. */
export function assertHolds(caller: WorkspaceCaller, wanted: Iterable<Scope>): void {
  const missing = missingScopes(caller.scopes, wanted);
  if (missing.length > 0) throw new RampartError('scope_escalation', { details: { missing } });
}

export class MembersService {
  private readonly removedListeners: MemberRemovedListener[] = [];
  private readonly roleUseCounters: RoleUseCounter[] = [];

  constructor(
    private readonly db: Database,
    private readonly events: WorkspaceEvents,
  ) {}

  onMemberRemoved(listener: MemberRemovedListener): void {
    this.removedListeners.push(listener);
  }

  countRoleUses(counter: RoleUseCounter): void {
    this.roleUseCounters.push(counter);
  }

  private record(tx: Tx, caller: { actor: Actor | null; meta: RequestMeta | null }, event: WorkspaceEvent): Promise<void> {
    return this.events.recordIn(tx, caller.actor, event, caller.meta);
  }

  // --- for other modules ---------------------------------------------------------------------

  /** In the transaction that creates a workspace: its built-in roles, and its creator as owner. */
  async setUpWorkspaceIn(tx: Tx, ownerAccountId: string): Promise<void> {
    const ids: Partial<Record<BuiltinRole, string>> = {};
    for (const builtin of BUILTIN_ROLES) {
      const id = newId();
      ids[builtin] = id;
      const name = builtin[0]!.toUpperCase() + builtin.slice(1);
      await store.insertRole(tx, { id, builtin, name, description: '', scopes: [], createdBy: null });
    }
    await store.insertMembership(tx, ownerAccountId);
    await store.grantRoles(tx, ownerAccountId, [ids.owner!], ownerAccountId);
  }

  /** A role by id, for granting: 404 `role_not_found`, and the owner role is reserved. */
  async grantableRoleIn(tx: Tx, caller: WorkspaceCaller, roleId: string): Promise<store.RoleRow> {
    const [role] = await store.rolesById(tx, [roleId], true);
    if (!role) throw new RampartError('role_not_found');
    if (role.builtin === OWNER) throw new RampartError('owner_role_reserved');
    assertHolds(caller, roleScopes(role));
    return role;
  }

  /**
   * Adds an account as a member with one role; false when it already is one. `viaDirectory`:
   * the directory (SCIM, SAML) grants the role, and may take it away again.
   */
  async addMemberIn(tx: Tx, accountId: string, roleId: string, grantedBy: string | null, options: { viaDirectory?: boolean } = {}): Promise<boolean> {
    if (!(await store.insertMembership(tx, accountId))) return false;
    await store.grantRoles(tx, accountId, [roleId], grantedBy, options.viaDirectory ?? false);
    return true;
  }

  /** The id of a built-in role of the transaction's workspace. */
  builtinRoleIdIn(tx: Tx, builtin: BuiltinRole): Promise<string> {
    return store.builtinRoleId(tx, builtin);
  }

  /** Whether the account is a member of the transaction's workspace. */
  async isMemberIn(tx: Tx, accountId: string): Promise<boolean> {
    return (await store.lockMembership(tx, accountId)) !== null;
  }

  /**
   * Removes a member on the directory's word (SCIM deprovisioning), running the removal
   * listeners like any removal. False when the account was not a member; the owner is never
   * removed (409 `last_owner`). The caller records the one event, with the facts returned.
   */
  async removeByDirectoryIn(tx: Tx, accountId: string, by: RemovedBy): Promise<{ removed: boolean; facts: NonNullable<WorkspaceEvent['details']> }> {
    if (!(await store.lockMembership(tx, accountId))) return { removed: false, facts: {} };
    const roles = await store.memberRoles(tx, accountId);
    if (roles.some((r) => r.builtin === OWNER)) throw new RampartError('last_owner');
    await store.deleteMembership(tx, accountId);
    const undone = await this.memberRemovedIn(tx, accountId, by);
    return { removed: true, facts: { roles: roles.map((r) => r.name), ...undone } };
  }

  /**
   * Sets the roles a member holds through directory groups (SAML groups, SCIM groups): a role
   * some group maps to is held, marked as the directory's; a directory role no group maps to any
   * more is taken away; roles granted by hand stay. The owner role is never the directory's to
   * give, and a member left without any role gets `defaultRoleId`.
   */
  async setDirectoryRolesIn(tx: Tx, accountId: string, groupKeys: readonly string[], defaultRoleId: string): Promise<{ added: number; removed: number }> {
    const keys = [...new Set(groupKeys.map((k) => k.trim().toLowerCase()).filter((k) => k.length > 0 && k.length <= 256))];
    const wanted = new Set(await store.rolesMappedFrom(tx, keys));
    const held = await store.heldRoles(tx, accountId);
    const add = [...wanted].filter((id) => !held.some((h) => h.role_id === id));
    const remove = held.filter((h) => h.via_directory && !wanted.has(h.role_id)).map((h) => h.role_id);
    if (remove.length > 0) await store.revokeRoles(tx, accountId, remove);
    if (add.length > 0) await store.grantRoles(tx, accountId, add, null, true);
    if (held.length - remove.length + add.length === 0) await store.grantRoles(tx, accountId, [defaultRoleId], null, true);
    return { added: add.length, removed: remove.length };
  }

  /** Whether an account with this email is a member. */
  async isMemberWithEmailIn(tx: Tx, email: string): Promise<boolean> {
    return store.memberWithEmail(tx, email);
  }

  /** Adds a member with a built-in role directly (setup and tests; people join by invitation). */
  async addMember(ctx: TenantContext, accountId: string, builtin: Exclude<BuiltinRole, 'owner'>): Promise<void> {
    await this.db.withTenant(ctx, async (tx) => {
      await this.addMemberIn(tx, accountId, await store.builtinRoleId(tx, builtin), ctx.accountId);
    });
  }

  /** The roles an account holds in the transaction's workspace. */
  async rolesOfIn(tx: Tx, accountId: string): Promise<RoleRefView[]> {
    return (await store.memberRoles(tx, accountId)).map(roleRef);
  }

  /** Under withAccount: each workspace's roles of the account, and the scopes they give. */
  async rolesOfAccountIn(tx: Tx, accountId: string): Promise<Map<string, { roles: RoleRefView[]; scopes: Scope[] }>> {
    const byTenant = new Map<string, { roles: RoleRefView[]; scopes: Scope[] }>();
    for (const row of await store.rolesOfAccount(tx, accountId)) {
      const entry = byTenant.get(row.tenant_id) ?? { roles: [], scopes: sortScopes(scopesFromGrants(row.grants)) };
      entry.roles.push(roleRef(row));
      byTenant.set(row.tenant_id, entry);
    }
    return byTenant;
  }

  // --- roles ---------------------------------------------------------------------------------

  listRoles(ctx: TenantContext): Promise<RoleView[]> {
    return this.db.withTenant(ctx, async (tx) => (await store.roles(tx)).map(roleView), { readOnly: true });
  }

  async createRole(caller: WorkspaceCaller, input: { name: string; description?: string | undefined; scopes: readonly Scope[] }): Promise<RoleView> {
    const scopes = sortScopes(input.scopes);
    assertHolds(caller, scopes);
    return this.db.withTenant(caller.tenant, async (tx) => {
      const id = newId();
      const inserted = await store.insertRole(tx, {
        id,
        builtin: null,
        name: input.name,
        description: input.description ?? '',
        scopes,
        createdBy: caller.actor.id,
      });
      if (!inserted) throw new RampartError('role_name_taken');
      await this.record(tx, caller, { action: 'role.created', outcome: 'success', target: { type: 'role', id }, details: { name: input.name, scopes } });
      const [row] = await store.rolesById(tx, [id]);
      return roleView(row!);
    });
  }

  async updateRole(
    caller: WorkspaceCaller,
    roleId: string,
    changes: { name?: string | undefined; description?: string | undefined; scopes?: readonly Scope[] | undefined },
  ): Promise<RoleView> {
    return this.db.withTenant(caller.tenant, async (tx) => {
      const role = await store.lockRole(tx, roleId);
      if (!role) throw new RampartError('role_not_found');
      if (role.builtin) throw new RampartError('role_immutable');
      const before = roleScopes(role);
      const after = changes.scopes ? new Set(changes.scopes) : before;
      // Editing a role touches everyone who holds it: the editor must hold all it gave and gives.
      assertHolds(caller, [...before, ...after]);
      if (!(await store.updateRole(tx, roleId, { ...changes, scopes: changes.scopes ? sortScopes(changes.scopes) : undefined }))) {
        throw new RampartError('role_name_taken');
      }
      await this.record(tx, caller, {
        action: 'role.updated',
        outcome: 'success',
        target: { type: 'role', id: roleId },
        details: {
          name: changes.name ?? role.name,
          added: sortScopes([...after].filter((s) => !before.has(s))),
          removed: sortScopes([...before].filter((s) => !after.has(s))),
        },
      });
      const [row] = await store.rolesById(tx, [roleId]);
      return roleView(row!);
    });
  }

  async deleteRole(caller: WorkspaceCaller, roleId: string): Promise<void> {
    await this.db.withTenant(caller.tenant, async (tx) => {
      const role = await store.lockRole(tx, roleId);
      if (!role) throw new RampartError('role_not_found');
      if (role.builtin) throw new RampartError('role_immutable');
      assertHolds(caller, roleScopes(role));
      const members = await store.roleHolders(tx, roleId);
      let pending = 0;
      for (const count of this.roleUseCounters) pending += await count(tx, roleId);
      if (members > 0 || pending > 0) throw new RampartError('role_in_use', { details: { members, pendingInvitations: pending } });
      await store.deleteRole(tx, roleId);
      await this.record(tx, caller, { action: 'role.deleted', outcome: 'success', target: { type: 'role', id: roleId }, details: { name: role.name } });
    });
  }

  // --- members -------------------------------------------------------------------------------

  list(ctx: TenantContext): Promise<MemberView[]> {
    return this.db.withTenant(ctx, (tx) => this.membersIn(tx), { readOnly: true });
  }

  private async membersIn(tx: Tx, accountId?: string): Promise<MemberView[]> {
    const [members, roles] = [await store.members(tx, accountId), await store.memberRoles(tx, accountId)];
    const byAccount = new Map<string, RoleRefView[]>();
    for (const r of roles) byAccount.set(r.account_id, [...(byAccount.get(r.account_id) ?? []), roleRef(r)]);
    return members.map((m) => ({
      accountId: m.account_id,
      email: m.email,
      name: m.name,
      roles: byAccount.get(m.account_id) ?? [],
      joinedAt: m.created_at.toISOString(),
      mfa: m.mfa,
    }));
  }

  /** How many members the transaction's workspace has, and how many have a second factor. */
  async mfaCountsIn(tx: Tx): Promise<{ total: number; withMfa: number }> {
    const { total, with_mfa } = await store.mfaCounts(tx);
    return { total, withMfa: with_mfa };
  }

  /** Sets a member's roles (replacing them). */
  async setRoles(caller: WorkspaceCaller, accountId: string, roleIds: readonly string[]): Promise<MemberView> {
    const wanted = [...new Set(roleIds)];
    return this.db.withTenant(caller.tenant, async (tx) => {
      if (!(await store.lockMembership(tx, accountId))) throw new RampartError('member_not_found');
      const roles = await store.rolesById(tx, wanted, true);
      if (roles.length !== wanted.length) {
        const found = new Set(roles.map((r) => r.id));
        throw new RampartError('role_not_found', { details: { roleIds: wanted.filter((id) => !found.has(id)) } });
      }
      const current = await store.memberRoles(tx, accountId);
      const currentIds = new Set(current.map((r) => r.id));
      const wantedIds = new Set(wanted);
      const added = roles.filter((r) => !currentIds.has(r.id));
      const removed = current.filter((r) => !wantedIds.has(r.id));
      if ([...added, ...removed].some((r) => r.builtin === OWNER)) throw new RampartError('owner_role_reserved');
      assertHolds(caller, [...added, ...removed].flatMap((r) => [...roleScopes(r)]));
      await store.revokeRoles(tx, accountId, removed.map((r) => r.id));
      await store.grantRoles(tx, accountId, added.map((r) => r.id), caller.actor.id);
      // Recorded even when nothing changed: every write is one event.
      await this.record(tx, caller, {
        action: 'member.roles_changed',
        outcome: 'success',
        target: { type: 'account', id: accountId },
        details: { added: added.map((r) => r.name), removed: removed.map((r) => r.name) },
      });
      const [member] = await this.membersIn(tx, accountId);
      return member!;
    });
  }

  /** Removes a member: their sessions lose the workspace on their next request; their keys are revoked. */
  async remove(caller: WorkspaceCaller, accountId: string): Promise<void> {
    await this.db.withTenant(caller.tenant, async (tx) => {
      const grants = await store.lockMembership(tx, accountId);
      if (!grants) throw new RampartError('member_not_found');
      const roles = await store.memberRoles(tx, accountId);
      if (roles.some((r) => r.builtin === OWNER)) throw new RampartError('last_owner');
      assertHolds(caller, scopesFromGrants(grants));
      await store.deleteMembership(tx, accountId);
      const undone = await this.memberRemovedIn(tx, accountId, caller);
      await this.record(tx, caller, {
        action: 'member.removed',
        outcome: 'success',
        target: { type: 'account', id: accountId },
        details: { roles: roles.map((r) => r.name), ...undone },
      });
    });
  }

  /** Runs the removal listeners; their facts, merged, go into the removal's one event. */
  private async memberRemovedIn(tx: Tx, accountId: string, caller: RemovedBy): Promise<NonNullable<WorkspaceEvent['details']>> {
    let facts: NonNullable<WorkspaceEvent['details']> = {};
    for (const listener of this.removedListeners) facts = { ...facts, ...(await listener(tx, { accountId }, caller)) };
    return facts;
  }

  /** The caller leaves the workspace (the owner must hand ownership on first). */
  async leave(caller: WorkspaceCaller): Promise<void> {
    if (caller.actor.type !== 'account') throw new RampartError('bad_request', { message: 'An API key is not a member; revoke it instead.' });
    const accountId = caller.actor.id;
    await this.db.withTenant(caller.tenant, async (tx) => {
      if (!(await store.lockMembership(tx, accountId))) throw new RampartError('member_not_found');
      const roles = await store.memberRoles(tx, accountId);
      if (roles.some((r) => r.builtin === OWNER)) throw new RampartError('last_owner');
      await store.deleteMembership(tx, accountId);
      const undone = await this.memberRemovedIn(tx, accountId, caller);
      await this.record(tx, caller, { action: 'member.left', outcome: 'success', target: { type: 'account', id: accountId }, details: { roles: roles.map((r) => r.name), ...undone } });
    });
  }

  /**
   * Hands the owner role to another member; the owner becomes an admin. The route asks for a
   * recent sign-in first.
   */
  async transferOwnership(caller: WorkspaceCaller, accountId: string): Promise<void> {
    if (caller.actor.type !== 'account') throw new RampartError('forbidden', { message: 'Only the owner can transfer ownership.' });
    const from = caller.actor.id;
    if (accountId === from) {
      throw new RampartError('validation_failed', {
        message: 'You already own this workspace.',
        details: { issues: [{ path: 'body.accountId', message: 'must be another member' }] },
      });
    }
    await this.db.withTenant(caller.tenant, async (tx) => {
      // Both memberships, in a fixed order so two transfers cannot deadlock.
      for (const id of [from, accountId].sort()) {
        if (!(await store.lockMembership(tx, id))) throw new RampartError(id === from ? 'forbidden' : 'member_not_found');
      }
      const owner = await store.builtinRoleId(tx, 'owner');
      const admin = await store.builtinRoleId(tx, 'admin');
      const fromRoles = await store.memberRoles(tx, from);
      if (!fromRoles.some((r) => r.id === owner)) throw new RampartError('forbidden', { message: 'Only the owner can transfer ownership.' });
      await store.revokeRoles(tx, from, [owner]);
      await store.grantRoles(tx, from, [admin], from);
      await store.grantRoles(tx, accountId, [owner], from);
      await this.record(tx, caller, { action: 'ownership.transferred', outcome: 'success', target: { type: 'account', id: accountId }, details: { from } });
    });
  }
}
