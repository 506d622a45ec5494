/**
 * A workspace's events — every change in it, every refusal (403) in it, every staff access to
 * it — each one event in the workspace's audit chain (src/platform/audit). Who (an account, an
 * API key, staff, or the system), what, on what, from where.
 */
import type { AuditDetailValue } from '../../platform/audit/entry.js';
import type { AuditEventView, AuditLog } from '../../platform/audit/log.js';
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import type { RequestMeta } from '../../platform/http/context.js';
import { actorRef, type EventActor } from './actors.js';
import type { EventOutcome } from './service.js';

export interface WorkspaceEvent {
  /** Dotted, lowercase: `role.created`, `member.removed`, `api_key.revoked`, `access.denied`, … */
  readonly action: string;
  readonly outcome: EventOutcome;
  readonly target?: { readonly type: string; readonly id: string } | undefined;
  /** Public, non-secret facts. Never a token, secret, password or customer content. */
  readonly details?: Readonly<Record<string, AuditDetailValue>>;
}

export class WorkspaceEvents {
  constructor(
    private readonly db: Database,
    readonly audit: AuditLog,
  ) {}

  /** Records an event inside the caller's tenant transaction: it commits or rolls back with the change. */
  async recordIn(tx: Tx, actor: EventActor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await this.audit.appendTenantIn(tx, { action: event.action, outcome: event.outcome, actor: actorRef(actor), target: event.target ?? null, details: event.details }, meta);
  }

  /** Records an event in a transaction of its own (for refusals, whose own work never ran). */
  async record(ctx: TenantContext, actor: EventActor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await this.db.withTenant(ctx, (tx) => this.recordIn(tx, actor, event, meta), { autocommit: true });
  }

  /** The workspace's most recent events, newest first, optionally of one action. */
  async list(ctx: TenantContext, options: { limit: number; action?: string | undefined }): Promise<AuditEventView[]> {
    return this.audit.list(ctx.tenantId, { limit: options.limit, action: options.action });
  }
}
