/**
 * Workspaces (tenants). A workspace's id is its tenant id; its creator becomes its owner; its data
 * region is fixed at creation. Its roles and members are the members module's.
 */
import { tenantContext, type Database, type TenantContext, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { Principal, RequestMeta, WorkspaceCaller } from '../../platform/http/context.js';
import { sortScopes } from '../../platform/http/scopes.js';
import { newId } from '../../platform/ids.js';
import type { WorkspaceEvents } from '../events/index.js';
import type { MembersService } from '../members/index.js';
import type { WorkspaceInfo, WorkspaceView } from './schemas.js';
import * as store from './store.js';

/** Called after a workspace's rows are deleted, to remove what lives outside the database. */
export type WorkspaceDeletedListener = (workspace: { tenantId: string; region: string }) => Promise<void>;

function info(row: store.WorkspaceRow): WorkspaceInfo {
  return { id: row.tenant_id, name: row.name, region: row.region, requireMfa: row.require_mfa, createdAt: row.created_at.toISOString() };
}

export class WorkspacesService {
  private readonly deletedListeners: WorkspaceDeletedListener[] = [];
  private readonly defaultRegion: string;

  constructor(
    private readonly db: Database,
    private readonly regions: readonly string[],
    private readonly members: MembersService,
    private readonly events: WorkspaceEvents,
  ) {
    const [first] = regions;
    if (first === undefined) throw new Error('at least one region must be configured');
    this.defaultRegion = first;
  }

  onDeleted(listener: WorkspaceDeletedListener): void {
    this.deletedListeners.push(listener);
  }

  /** Creates a workspace with its creator as owner; its log begins with `workspace.created`. */
  async create(principal: Principal, input: { name: string; region?: string | undefined }, meta: RequestMeta): Promise<WorkspaceView> {
    const region = input.region ?? this.defaultRegion;
    if (!this.regions.includes(region)) {
      throw new RampartError('validation_failed', {
        message: 'Unknown data region.',
        details: { issues: [{ path: 'body.region', message: `must be one of: ${this.regions.join(', ')}` }] },
      });
    }
    const tenantId = newId();
    await this.db.withTenant(tenantContext(tenantId, principal.accountId), async (tx) => {
      await store.insertWorkspace(tx, { tenantId, name: input.name, region, createdBy: principal.accountId });
      await this.members.setUpWorkspaceIn(tx, principal.accountId);
      await this.events.recordIn(
        tx,
        { type: 'account', id: principal.accountId },
        { action: 'workspace.created', outcome: 'success', target: { type: 'workspace', id: tenantId }, details: { name: input.name, region } },
        meta,
      );
    });
    return this.getForAccount(tenantId, principal.accountId);
  }

  listMine(principal: Principal): Promise<WorkspaceView[]> {
    return this.db.withAccount(
      principal.accountId,
      async (tx) => {
        const access = await this.members.rolesOfAccountIn(tx, principal.accountId);
        return (await store.workspacesOfAccount(tx, principal.accountId)).map((row) => ({
          ...info(row),
          ...(access.get(row.tenant_id) ?? { roles: [], scopes: [] }),
        }));
      },
      { readOnly: true },
    );
  }

  /** The workspace itself, without anyone's roles. */
  async get(ctx: TenantContext): Promise<WorkspaceInfo> {
    const row = await this.db.withTenant(ctx, (tx) => store.workspace(tx), { readOnly: true });
    if (!row) throw new RampartError('workspace_not_found');
    return info(row);
  }

  /** The transaction's workspace itself, without anyone's roles. */
  async getIn(tx: Tx): Promise<WorkspaceInfo> {
    const row = await store.workspace(tx);
    if (!row) throw new RampartError('workspace_not_found');
    return info(row);
  }

  /** The workspace as the caller sees it: with the caller's roles and scopes. */
  describe(caller: WorkspaceCaller): Promise<WorkspaceView> {
    return this.db.withTenant(caller.tenant, (tx) => this.describeIn(tx, caller), { readOnly: true });
  }

  private async describeIn(tx: Tx, caller: WorkspaceCaller): Promise<WorkspaceView> {
    const row = await store.workspace(tx);
    if (!row) throw new RampartError('workspace_not_found');
    const roles = caller.actor.type === 'account' ? await this.members.rolesOfIn(tx, caller.actor.id) : [];
    return { ...info(row), roles, scopes: sortScopes(caller.scopes) };
  }

  /** The workspace as an account that is a member sees it. */
  async getForAccount(workspaceId: string, accountId: string): Promise<WorkspaceView> {
    return this.db.withTenant(
      tenantContext(workspaceId, accountId),
      async (tx) => {
        const row = await store.workspace(tx);
        const access = (await this.members.rolesOfAccountIn(tx, accountId)).get(workspaceId);
        if (!row || !access) throw new RampartError('workspace_not_found');
        return { ...info(row), ...access };
      },
      { readOnly: true },
    );
  }

  /**
   * Renames the workspace or changes its MFA requirement. Requiring MFA takes a session that has
   * proved a second factor itself, so nobody locks themselves out (and an API key cannot).
   */
  async update(caller: WorkspaceCaller, principal: Principal | null, changes: { name?: string | undefined; requireMfa?: boolean | undefined }): Promise<WorkspaceView> {
    if (changes.requireMfa === true && (principal === null || principal.mfaAt === null)) {
      throw new RampartError('mfa_enrolment_required', { message: 'Set up a second factor and sign in with it before requiring one of everyone.' });
    }
    return this.db.withTenant(caller.tenant, async (tx) => {
      await store.updateWorkspace(tx, changes);
      const changed = { ...(changes.name === undefined ? {} : { name: changes.name }), ...(changes.requireMfa === undefined ? {} : { requireMfa: changes.requireMfa }) };
      await this.events.recordIn(
        tx,
        caller.actor,
        { action: 'workspace.updated', outcome: 'success', target: { type: 'workspace', id: caller.tenant.tenantId }, details: changed },
        caller.meta,
      );
      return this.describeIn(tx, caller);
    });
  }

  /**
   * Deletes the workspace and everything in it; `confirm` must equal its current name. The
   * deletion is the last event of the workspace's log, recorded in the same transaction.
   */
  async delete(caller: Pick<WorkspaceCaller, 'tenant' | 'actor' | 'meta'>, confirm: string): Promise<void> {
    const { tenant } = caller;
    const deleted = await this.db.withTenant(tenant, async (tx) => {
      const row = await store.workspace(tx);
      if (!row || row.name !== confirm) return null;
      await this.events.recordIn(
        tx,
        caller.actor,
        { action: 'workspace.deleted', outcome: 'success', target: { type: 'workspace', id: tenant.tenantId }, details: { name: row.name, region: row.region } },
        caller.meta,
      );
      return store.deleteWorkspace(tx, confirm);
    });
    if (!deleted) {
      throw new RampartError('confirmation_required', { message: "Type the workspace's current name in confirm to delete it." });
    }
    for (const listener of this.deletedListeners) await listener({ tenantId: tenant.tenantId, region: deleted.region });
  }
}
