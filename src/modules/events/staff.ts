/**
 * The staff chain: what the operator's staff do outside any one workspace (signing in, enrolling
 * a factor, managing staff accounts, refused attempts) and what the system does on its own. Staff
 * access to a workspace is recorded in that workspace's chain instead (WorkspaceEvents), where the
 * workspace sees it.
 */
import type { AuditEventView, AuditLog } from '../../platform/audit/log.js';
import type { Database, Tx } from '../../platform/db/types.js';
import type { RequestMeta } from '../../platform/http/context.js';
import { actorRef, type StaffActor } from './actors.js';
import type { WorkspaceEvent } from './workspace.js';

export class StaffEvents {
  constructor(
    private readonly db: Database,
    readonly audit: AuditLog,
  ) {}

  /** Records an event inside the caller's transaction (any: global, account or tenant). */
  async recordIn(tx: Tx, actor: StaffActor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await this.audit.appendPlatformIn(tx, 'staff', { action: event.action, outcome: event.outcome, actor: actorRef(actor), target: event.target ?? null, details: event.details }, meta);
  }

  /** Records an event in a transaction of its own. */
  async record(actor: StaffActor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await this.db.withGlobal((tx) => this.recordIn(tx, actor, event, meta), { autocommit: true });
  }

  async list(options: { limit: number; action?: string | undefined; beforeSeq?: number | undefined; actorId?: string | undefined }): Promise<AuditEventView[]> {
    return this.audit.list('staff', options);
  }
}
