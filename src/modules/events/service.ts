/**
 * Authentication events: every sign-in, failure, lockout, factor change and session revocation,
 * with who, from where and when: each one event in the `accounts` audit chain.
 */
import type { Database, Tx } from '../../platform/db/types.js';
import type { RequestMeta } from '../../platform/http/context.js';
import type { AuditLog } from '../../platform/audit/log.js';

export type EventOutcome = 'success' | 'failure' | 'denied';

export interface AuthEvent {
  /** Dotted, lowercase: `auth.sign_in`, `auth.mfa.totp_enabled`, `session.revoked`, … */
  readonly action: string;
  readonly outcome: EventOutcome;
  readonly accountId?: string | null;
  /** The email an attempt named, when there is no account (or not yet). */
  readonly email?: string | null;
  /** Public, non-secret facts: method, reason, session id. Never a token, code or password. */
  readonly details?: Record<string, string | number | boolean | null>;
}

export type EventRow = {
  id: string;
  account_id: string | null;
  email: string | null;
  action: string;
  outcome: EventOutcome;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
};

export class AuthEvents {
  constructor(
    private readonly db: Database,
    readonly audit: AuditLog,
  ) {}

  /** Records an event inside the caller's transaction: it commits or rolls back with the change. */
  async recordIn(tx: Tx, event: AuthEvent, meta: RequestMeta | null): Promise<void> {
    const accountId = event.accountId ?? null;
    await this.audit.appendPlatformIn(
      tx,
      'accounts',
      {
        action: event.action,
        outcome: event.outcome,
        actor: accountId ? { type: 'account', id: accountId } : { type: 'anonymous', id: null },
        details: event.details,
        account: accountId,
        email: event.email ?? null,
      },
      meta,
    );
  }

  /** Records an event in a transaction of its own (for failures, whose own work rolled back). */
  async record(event: AuthEvent, meta: RequestMeta | null): Promise<void> {
    await this.db.withGlobal((tx) => this.recordIn(tx, event, meta), { autocommit: true });
  }

  /** The most recent events of an account, newest first. */
  async forAccount(accountId: string, limit = 50): Promise<EventRow[]> {
    return (await this.audit.forAccount(accountId, limit)).map((e) => ({
      id: e.id,
      account_id: e.account ?? null,
      email: e.email ?? null,
      action: e.action,
      outcome: e.outcome,
      ip: e.ip,
      user_agent: e.userAgent,
      request_id: e.requestId,
      details: e.details,
      created_at: new Date(e.time),
    }));
  }
}
