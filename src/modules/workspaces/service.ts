/**
 * Workspaces (tenants) and their members. A workspace's id is its tenant id; its creator becomes
 * its owner; its data region is fixed at creation.
 */
import { tenantContext, type Database, type TenantContext } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import type { Principal, WorkspaceRole } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';
import type { MemberView, WorkspaceView } from './schemas.js';
import * as store from './store.js';

/** Called after a workspace's rows are deleted, to remove what lives outside the database. */
export type WorkspaceDeletedListener = (workspace: { tenantId: string; region: string }) => Promise<void>;

function view(row: store.WorkspaceRow): WorkspaceView {
  return {
    id: row.tenant_id,
    name: row.name,
    region: row.region,
    role: row.role,
    requireMfa: row.require_mfa,
    createdAt: row.created_at.toISOString(),
  };
}

export class WorkspacesService {
  private readonly deletedListeners: WorkspaceDeletedListener[] = [];
  private readonly defaultRegion: string;

  constructor(
    private readonly db: Database,
    private readonly regions: readonly string[],
  ) {
    const [first] = regions;
    if (first === undefined) throw new Error('at least one region must be configured');
    this.defaultRegion = first;
  }

  onDeleted(listener: WorkspaceDeletedListener): void {
    this.deletedListeners.push(listener);
  }

  async create(principal: Principal, input: { name: string; region?: string | undefined }): Promise<WorkspaceView> {
    const region = input.region ?? this.defaultRegion;
    if (!this.regions.includes(region)) {
      throw new RampartError('validation_failed', {
        message: 'Unknown data region.',
        details: { issues: [{ path: 'body.region', message: `must be one of: ${this.regions.join(', ')}` }] },
      });
    }
    const tenantId = newId();
    return this.db.withTenant(tenantContext(tenantId, principal.accountId), async (tx) => {
      await store.insertWorkspace(tx, { tenantId, name: input.name, region, createdBy: principal.accountId });
      await store.insertMembership(tx, { tenantId, accountId: principal.accountId, role: 'owner' });
      const row = await store.workspace(tx);
      if (!row) throw new RampartError('internal_error', { internal: 'workspace not visible right after creating it' });
      return view(row);
    });
  }

  listMine(principal: Principal): Promise<WorkspaceView[]> {
    return this.db.withAccount(
      principal.accountId,
      async (tx) => (await store.workspacesOfAccount(tx, principal.accountId)).map(view),
      { readOnly: true },
    );
  }

  /** The workspace as the context's account sees it. */
  async get(ctx: TenantContext): Promise<WorkspaceView> {
    const row = await this.db.withTenant(ctx, (tx) => store.workspace(tx), { readOnly: true });
    if (!row) throw new RampartError('workspace_not_found');
    return view(row);
  }

  /**
   * Renames the workspace or changes its MFA requirement. Requiring MFA takes a session that has
   * proved a second factor itself, so an owner cannot lock themselves out.
   */
  async update(ctx: TenantContext, principal: Principal, changes: { name?: string | undefined; requireMfa?: boolean | undefined }): Promise<WorkspaceView> {
    if (changes.requireMfa === true && principal.mfaAt === null) {
      throw new RampartError('mfa_enrolment_required', { message: 'Set up a second factor and sign in with it before requiring one of everyone.' });
    }
    return this.db.withTenant(ctx, async (tx) => {
      await store.updateWorkspace(tx, changes);
      const row = await store.workspace(tx);
      if (!row) throw new RampartError('workspace_not_found');
      return view(row);
    });
  }

  /** Deletes the workspace and everything in it; `confirm` must equal its current name. */
  async delete(ctx: TenantContext, confirm: string): Promise<void> {
    const deleted = await this.db.withTenant(ctx, (tx) => store.deleteWorkspace(tx, confirm));
    if (!deleted) {
      throw new RampartError('confirmation_required', { message: "Type the workspace's current name in confirm to delete it." });
    }
    for (const listener of this.deletedListeners) await listener({ tenantId: ctx.tenantId, region: deleted.region });
  }

  members(ctx: TenantContext): Promise<MemberView[]> {
    return this.db.withTenant(
      ctx,
      async (tx) =>
        (await store.members(tx)).map((m) => ({
          accountId: m.account_id,
          email: m.email,
          name: m.name,
          role: m.role,
          joinedAt: m.created_at.toISOString(),
        })),
      { readOnly: true },
    );
  }

  /** Adds (or re-roles) a member. Invitations build on this; there is no public route for it yet. */
  async addMember(ctx: TenantContext, accountId: string, role: WorkspaceRole): Promise<void> {
    await this.db.withTenant(ctx, (tx) => store.insertMembership(tx, { tenantId: ctx.tenantId, accountId, role }));
  }
}
