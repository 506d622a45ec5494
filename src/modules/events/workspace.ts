/**
 * A workspace's events: every change to its roles, members, invitations and API keys, and every
 * refusal (403) in it — who (an account, an API key, or the system), what, on what, from where.
 * Append-only for the app role (SELECT and INSERT only); the audit log chains these.
 */
import type { Database, TenantContext, Tx } from '../../platform/db/types.js';
import type { Actor, RequestMeta } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';
import type { EventOutcome } from './service.js';

export interface WorkspaceEvent {
  /** Dotted, lowercase: `role.created`, `member.removed`, `api_key.revoked`, `access.denied`, … */
  readonly action: string;
  readonly outcome: EventOutcome;
  readonly target?: { readonly type: string; readonly id: string } | undefined;
  /** Public, non-secret facts. Never a token, secret or password. */
  readonly details?: Record<string, string | number | boolean | null | readonly string[]>;
}

export type WorkspaceEventRow = {
  id: string;
  actor_type: 'account' | 'api_key' | 'system';
  actor_id: string | null;
  action: string;
  outcome: EventOutcome;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
};

export class WorkspaceEvents {
  constructor(private readonly db: Database) {}

  /** Records an event inside the caller's tenant transaction: it commits or rolls back with the change. */
  async recordIn(tx: Tx, actor: Actor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await tx.query(
      `INSERT INTO workspace_events (tenant_id, id, actor_type, actor_id, action, outcome, target_type, target_id, ip, user_agent, request_id, details)
       VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        newId(),
        actor?.type ?? 'system',
        actor?.id ?? null,
        event.action,
        event.outcome,
        event.target?.type ?? null,
        event.target?.id.slice(0, 200) ?? null,
        meta?.ip ?? null,
        meta?.userAgent?.slice(0, 512) ?? null,
        meta?.requestId ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
  }

  /** Records an event in a transaction of its own (for refusals, whose own work never ran). */
  async record(ctx: TenantContext, actor: Actor | null, event: WorkspaceEvent, meta: RequestMeta | null): Promise<void> {
    await this.db.withTenant(ctx, (tx) => this.recordIn(tx, actor, event, meta));
  }

  /** The workspace's most recent events, newest first, optionally of one action. */
  async list(ctx: TenantContext, options: { limit: number; action?: string | undefined }): Promise<WorkspaceEventRow[]> {
    return this.db.withTenant(
      ctx,
      async (tx) =>
        (
          await tx.query<WorkspaceEventRow>(
            `SELECT id, actor_type, actor_id, action, outcome, target_type, target_id, ip, user_agent, request_id, details, created_at
               FROM workspace_events
              WHERE tenant_id = current_tenant_id() AND ($2::text IS NULL OR action = $2)
              ORDER BY created_at DESC, id DESC LIMIT $1`,
            [options.limit, options.action ?? null],
          )
        ).rows,
      { readOnly: true },
    );
  }
}
