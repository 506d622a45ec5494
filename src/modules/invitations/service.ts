/**
 * Invitations: an admin invites an email address with one role; the link (256 random bits, stored
 * only as SHA-256, single use) expires after 7 days by default. Accepting needs a signed-in
 * account whose verified email is the invited one. Inviting follows the members rules: nobody
 * invites with a role whose scopes they lack, and the owner role is never given by invitation.
 */
import { tenantContext, type Database, type Tx } from '../../platform/db/types.js';
import { RampartError } from '../../platform/errors.js';
import { accountableAccount, type Principal, type RequestMeta, type WorkspaceCaller } from '../../platform/http/context.js';
import { newId, sha256, tenantBoundToken, tenantOfToken } from '../../platform/ids.js';
import type { Throttle } from '../../platform/http/throttle.js';
import type { Mailer } from '../../platform/mail/index.js';
import type { AccountsService } from '../accounts/index.js';
import type { WorkspaceEvents } from '../events/index.js';
import type { MembersService } from '../members/index.js';
import type { WorkspacesService } from '../workspaces/index.js';
import type { InvitationPreviewView, InvitationView } from './schemas.js';
import * as store from './store.js';

const TOKEN_PREFIX = 'rinv';

export interface InvitationsDeps {
  readonly db: Database;
  readonly members: MembersService;
  readonly workspaces: WorkspacesService;
  readonly accounts: AccountsService;
  readonly events: WorkspaceEvents;
  readonly mailer: Mailer;
  /** Limits the signed-out preview per address, as the other token routes are. */
  readonly throttle: Throttle;
  /** An absolute console URL for a path and fragment. */
  readonly link: (pathAndFragment: string) => string;
}

function view(row: store.InvitationRow): InvitationView {
  return {
    id: row.id,
    email: row.email,
    role: { id: row.role_id, name: row.role_name, builtin: row.role_builtin },
    invitedBy:
      row.invited_by && row.inviter_email !== null
        ? { accountId: row.invited_by, name: row.inviter_name ?? '', email: row.inviter_email }
        : null,
    status: row.expired ? 'expired' : 'pending',
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at.toISOString(),
    sendCount: row.send_count,
    expiresAt: row.expires_at.toISOString(),
  };
}

export class InvitationsService {
  constructor(private readonly deps: InvitationsDeps) {
    deps.members.countRoleUses((tx, roleId) => store.pendingForRole(tx, roleId));
    // A member who leaves takes their pending invitations with them (told in the removal's event).
    deps.members.onMemberRemoved(async (tx, removed) => {
      const revoked = await store.revokeSentBy(tx, removed.accountId);
      return { invitationsRevoked: revoked };
    });
  }

  list(caller: WorkspaceCaller): Promise<InvitationView[]> {
    return this.deps.db.withTenant(caller.tenant, async (tx) => (await store.pending(tx)).map(view), { readOnly: true });
  }

  async create(caller: WorkspaceCaller, input: { email: string; roleId: string; expiresInDays: number }): Promise<InvitationView> {
    const email = input.email.trim().toLowerCase();
    const workspace = await this.deps.workspaces.get(caller.tenant);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const role = await this.deps.members.grantableRoleIn(tx, caller, input.roleId);
      if (await this.deps.members.isMemberWithEmailIn(tx, email)) throw new RampartError('already_member');
      await store.retireExpired(tx, email);
      const id = newId();
      const token = tenantBoundToken(TOKEN_PREFIX, caller.tenant.tenantId);
      const inserted = await store.insert(tx, { id, email, roleId: role.id, tokenHash: sha256(token), invitedBy: accountableAccount(caller.actor), days: input.expiresInDays });
      if (!inserted) throw new RampartError('invitation_pending');
      const row = await store.byId(tx, id);
      await this.send(tx, caller, row!, token, workspace.name, input.expiresInDays);
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'invitation.created', outcome: 'success', target: { type: 'invitation', id }, details: { email, role: role.name, expiresInDays: input.expiresInDays } },
        caller.meta,
      );
      return view(row!);
    });
  }

  /** A new link (the old one stops working) and a new expiry; at most once a minute. */
  async resend(caller: WorkspaceCaller, id: string): Promise<InvitationView> {
    const workspace = await this.deps.workspaces.get(caller.tenant);
    return this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await this.pendingById(tx, id);
      if (row.recently_sent) throw new RampartError('rate_limited', { message: 'This invitation was sent less than a minute ago.', retryAfterSeconds: 60 });
      // Resending re-issues the grant: the caller must still be able to give this role.
      await this.deps.members.grantableRoleIn(tx, caller, row.role_id);
      const token = tenantBoundToken(TOKEN_PREFIX, caller.tenant.tenantId);
      await store.resend(tx, id, sha256(token));
      const updated = (await store.byId(tx, id))!;
      const days = Math.max(1, Math.round((updated.expires_at.getTime() - updated.sent_at.getTime()) / 86_400_000));
      await this.send(tx, caller, updated, token, workspace.name, days);
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'invitation.resent', outcome: 'success', target: { type: 'invitation', id }, details: { email: row.email, sendCount: updated.send_count } },
        caller.meta,
      );
      return view(updated);
    });
  }

  async revoke(caller: WorkspaceCaller, id: string): Promise<void> {
    await this.deps.db.withTenant(caller.tenant, async (tx) => {
      const row = await this.pendingById(tx, id);
      await store.revoke(tx, id);
      await this.deps.events.recordIn(
        tx,
        caller.actor,
        { action: 'invitation.revoked', outcome: 'success', target: { type: 'invitation', id }, details: { email: row.email } },
        caller.meta,
      );
    });
  }

  /**
   * What an invitation link offers, to whoever holds it (signed in or not: the token is the only
   * credential, and the invited address lets the sign-up form be filled in). Every unusable token
   * is the same 410 `invitation_invalid`; each try counts against the address's rate limit.
   */
  async preview(token: string, meta: RequestMeta): Promise<InvitationPreviewView> {
    await this.deps.throttle.hitIp(meta.ip);
    const tenantId = this.tenantOf(token);
    const row = this.usable(await this.deps.db.withTenant(tenantContext(tenantId, null), (tx) => store.byToken(tx, sha256(token), false), { readOnly: true }));
    const workspace = await this.deps.workspaces.get(tenantContext(tenantId, null));
    return {
      workspace: { id: tenantId, name: workspace.name },
      email: row.email,
      role: { name: row.role_name },
      invitedBy: row.inviter_name || row.inviter_email,
      expiresAt: row.expires_at.toISOString(),
    };
  }

  /** Accepts an invitation as the signed-in account; returns the workspace joined. */
  async accept(principal: Principal, token: string, meta: RequestMeta): Promise<string> {
    const tenantId = this.tenantOf(token);
    const { account } = await this.deps.accounts.describeSession(principal);
    const ctx = tenantContext(tenantId, principal.accountId);
    await this.deps.db.withTenant(ctx, async (tx) => {
      const row = this.usable(await store.byToken(tx, sha256(token), true));
      if (!account.emailVerified) throw new RampartError('email_not_verified');
      if (account.email !== row.email) {
        throw new RampartError('invitation_email_mismatch', {
          message: `This invitation is for ${row.email}; sign in with that address to accept it.`,
          details: { email: row.email },
        });
      }
      if (!(await this.deps.members.addMemberIn(tx, principal.accountId, row.role_id, row.invited_by))) throw new RampartError('already_member');
      await store.accept(tx, row.id, principal.accountId);
      await this.deps.events.recordIn(
        tx,
        { type: 'account', id: principal.accountId },
        { action: 'invitation.accepted', outcome: 'success', target: { type: 'invitation', id: row.id }, details: { email: row.email, role: row.role_name } },
        meta,
      );
    });
    return tenantId;
  }

  private tenantOf(token: string): string {
    const tenantId = tenantOfToken(TOKEN_PREFIX, token);
    if (!tenantId) throw new RampartError('invitation_invalid');
    return tenantId;
  }

  /** 410 `invitation_invalid` unless the invitation is pending and unexpired. */
  private usable(row: store.InvitationRow | null): store.InvitationRow {
    if (!row || row.accepted_at || row.revoked_at || row.expired) throw new RampartError('invitation_invalid');
    return row;
  }

  private async pendingById(tx: Tx, id: string): Promise<store.InvitationRow> {
    const row = await store.byId(tx, id);
    if (!row || row.accepted_at || row.revoked_at) throw new RampartError('invitation_not_found');
    return row;
  }

  private async send(tx: Tx, caller: WorkspaceCaller, row: store.InvitationRow, token: string, workspace: string, days: number): Promise<void> {
    const inviter = caller.actor.type === 'account' ? (row.inviter_name || row.inviter_email || 'A workspace admin') : 'An API key of the workspace';
    await this.deps.mailer.enqueue(tx, {
      template: 'workspace_invitation',
      to: row.email,
      data: { name: '', inviter, workspace, role: row.role_name, link: this.deps.link(`/invitations/accept#token=${token}`), expiresDays: days },
    });
  }
}
