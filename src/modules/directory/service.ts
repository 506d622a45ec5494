/**
 * Directory provisioning: what a customer's identity provider may do to a workspace's members,
 * shared by SCIM (src/modules/scim) and SAML just-in-time provisioning. Each `…In` method runs
 * inside the caller's tenant transaction, so the change and its one event commit together.
 *
 * - An account is provisioned only for an email whose domain the workspace has verified
 *   (400 `domain_not_verified` otherwise): a directory never creates or attaches an account of a
 *   domain its workspace has not proven. An existing account of such a domain is linked; one
 *   that never verified its address is taken over (password and sessions gone: see
 *   AccountsService.takeOverUnverifiedIn).
 * - It joins with the SAML connection's default role, else the built-in member role, granted
 *   by the directory.
 * - Directory groups map to roles (directory_group_roles, keys lower-cased). The directory's
 *   roles follow the groups: granted when a group maps to them, taken away when none does;
 *   roles granted by hand are never touched, the owner role is never granted, and a member is
 *   never left without a role (the default role is then granted).
 * - Deprovisioning removes the membership (running the member-removed listeners: the member's
 *   API keys and invitations are revoked) and ends every session of the account at once.
 */
import type { Database, Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { WorkspaceCaller } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';
import type { DomainsService } from '../domains/index.js';
import type { AccountsService } from '../accounts/index.js';
import type { WorkspaceEvent, WorkspaceEvents } from '../events/index.js';
import type { MembersService, RemovedBy } from '../members/index.js';
import type { GroupRoleMappingView } from './schemas.js';
import * as store from './store.js';

/** Called in the transaction that changed a group's mapping, to apply it to known members. */
export type MappingChangedListener = (tx: Tx, groupKey: string) => Promise<WorkspaceEvent['details']>;

export interface Provisioned {
  readonly accountId: string;
  /** A new account was created. */
  readonly created: boolean;
  /** The account became a member of the workspace now. */
  readonly joined: boolean;
}

/** A group's key as directory_group_roles stores it. */
export function groupKey(name: string): string {
  return name.trim().toLowerCase();
}

function mappingView(row: store.MappingRow): GroupRoleMappingView {
  return {
    id: row.id,
    groupKey: row.group_key,
    role: { id: row.role_id, name: row.role_name, builtin: row.role_builtin },
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

const EMAIL = /^[^\s@]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

/** Whether a directory (SCIM or SAML) can provision this address, compared lower-cased and trimmed. */
export function isProvisionableEmail(email: string): boolean {
  return EMAIL.test(email.trim().toLowerCase());
}

export class DirectoryService {
  private readonly mappingListeners: MappingChangedListener[] = [];

  constructor(
    private readonly deps: { db: Database; members: MembersService; accounts: AccountsService; domains: Pick<DomainsService, 'verifiedForEmailIn'>; events: WorkspaceEvents },
  ) {}

  onMappingChanged(listener: MappingChangedListener): void {
    this.mappingListeners.push(listener);
  }

  /** The role a provisioned member joins with: the SAML connection's default role, else member. */
  async defaultRoleIdIn(tx: Tx): Promise<string> {
    const owner = await this.deps.members.builtinRoleIdIn(tx, 'owner');
    const configured = await store.samlDefaultRole(tx);
    return configured && configured !== owner ? configured : this.deps.members.builtinRoleIdIn(tx, 'member');
  }

  /** 400 `domain_not_verified` unless the email is well formed and of a domain this workspace verified. */
  async assertProvisionableIn(tx: Tx, email: string): Promise<void> {
    if (!isProvisionableEmail(email) || !(await this.deps.domains.verifiedForEmailIn(tx, email))) {
      throw new RampartError('domain_not_verified', { message: "The email's domain is not verified for this workspace.", details: { email } });
    }
  }

  /** The id of the account with this email (lower-cased here), if there is one. */
  async accountIdIn(tx: Tx, email: string): Promise<string | null> {
    return (await this.deps.accounts.accountByEmailIn(tx, email.trim().toLowerCase()))?.id ?? null;
  }

  /**
   * The account with this email, created if there is none (lower-cased here), without any
   * membership: for a user the directory provisions as inactive.
   */
  async accountForIn(tx: Tx, input: { email: string; name: string }): Promise<{ accountId: string; created: boolean }> {
    const email = input.email.trim().toLowerCase();
    await this.assertProvisionableIn(tx, email);
    const { accounts } = this.deps;
    const existing = await accounts.accountByEmailIn(tx, email);
    if (!existing) {
      // Verified email, no password; 409 account_exists if created concurrently (the client retries).
      const account = await accounts.createDirectoryAccountIn(tx, { email, name: input.name });
      return { accountId: account.id, created: true };
    }
    if (!existing.emailVerified) await accounts.takeOverUnverifiedIn(tx, existing.id);
    return { accountId: existing.id, created: false };
  }

  /** Provisions the account with this email and its membership of the transaction's workspace. */
  async provisionIn(tx: Tx, input: { email: string; name: string }): Promise<Provisioned> {
    const { accountId, created } = await this.accountForIn(tx, input);
    const joined = await this.deps.members.addMemberIn(tx, accountId, await this.defaultRoleIdIn(tx), null, { viaDirectory: true });
    return { accountId, created, joined };
  }

  /**
   * Gives a known account its membership back (a reactivated user), if its email's domain is
   * still verified by the workspace; true when it joined now.
   */
  async rejoinIn(tx: Tx, accountId: string): Promise<boolean> {
    const account = await this.deps.accounts.accountByIdIn(tx, accountId);
    if (!account) throw new RampartError('conflict', { internal: 'provisioned account is gone' });
    await this.assertProvisionableIn(tx, account.email);
    return this.deps.members.addMemberIn(tx, accountId, await this.defaultRoleIdIn(tx), null, { viaDirectory: true });
  }

  /**
   * Sets the directory's roles of a member from the groups they are in (keys compared
   * lower-cased). Null when the account is not a member (nothing to set).
   */
  async setDirectoryRolesIn(tx: Tx, accountId: string, groupKeys: readonly string[]): Promise<{ added: number; removed: number } | null> {
    if (!(await this.deps.members.isMemberIn(tx, accountId))) return null;
    return this.deps.members.setDirectoryRolesIn(tx, accountId, groupKeys, await this.defaultRoleIdIn(tx));
  }

  /** Removes the account's membership (if any) and ends all of its sessions at once. */
  async deprovisionIn(tx: Tx, accountId: string, by: RemovedBy): Promise<{ sessionsRevoked: number; membershipRemoved: boolean; facts: NonNullable<WorkspaceEvent['details']> }> {
    const { removed, facts } = await this.deps.members.removeByDirectoryIn(tx, accountId, by);
    const sessionsRevoked = await this.deps.accounts.revokeAllSessionsIn(tx, accountId);
    return { sessionsRevoked, membershipRemoved: removed, facts };
  }

  // --- group → role mappings (the admin API) -----------------------------------------------------

  listMappings(caller: WorkspaceCaller): Promise<GroupRoleMappingView[]> {
    return this.deps.db.withTenant(caller.tenant, async (tx) => (await store.mappings(tx)).map(mappingView), { readOnly: true });
  }

  async createMapping(caller: WorkspaceCaller, input: { group: string; roleId: string }): Promise<GroupRoleMappingView> {
    const key = groupKey(input.group);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      // The role exists here, is not the owner's, and the caller holds all its scopes.
      const role = await this.deps.members.grantableRoleIn(tx, caller, input.roleId);
      const id = newId();
      if (!(await store.insertMapping(tx, { id, groupKey: key, roleId: role.id, createdBy: caller.actor.id }))) {
        throw new RampartError('group_role_mapping_exists');
      }
      const applied = await this.mappingChangedIn(tx, key);
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'directory.group_role.created', outcome: 'success', target: { type: 'group_role_mapping', id }, details: { group: key, role: role.name, ...applied } },
        caller.meta,
      );
      return mappingView((await store.mappingById(tx, id))!);
    });
  }

  async deleteMapping(caller: WorkspaceCaller, id: string): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await store.mappingById(tx, id);
      if (!row) throw new RampartError('group_role_mapping_not_found');
      // Taking a role away from the group's members needs its scopes too.
      await this.deps.members.grantableRoleIn(tx, caller, row.role_id);
      await store.deleteMapping(tx, id);
      const applied = await this.mappingChangedIn(tx, row.group_key);
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'directory.group_role.deleted', outcome: 'success', target: { type: 'group_role_mapping', id }, details: { group: row.group_key, role: row.role_name, ...applied } },
        caller.meta,
      );
    });
  }

  private async mappingChangedIn(tx: Tx, key: string): Promise<NonNullable<WorkspaceEvent['details']>> {
    let facts: NonNullable<WorkspaceEvent['details']> = {};
    for (const listener of this.mappingListeners) facts = { ...facts, ...(await listener(tx, key)) };
    return facts;
  }
}
