/**
 * Authentication events: every sign-in, failure, lockout, factor change and session revocation,
 * with who, from where and when. Append-only for the app role (SELECT and INSERT only). The audit
 * log chains these later; until then this table is the record.
 */
import type { Database, Tx } from '../../platform/db/types.js';
import type { RequestMeta } from '../../platform/http/context.js';
import { newId } from '../../platform/ids.js';

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
  constructor(private readonly db: Database) {}

  /** Records an event inside the caller's transaction: it commits or rolls back with the change. */
  async recordIn(tx: Tx, event: AuthEvent, meta: RequestMeta | null): Promise<void> {
    await tx.query(
      `INSERT INTO auth_events (id, account_id, email, action, outcome, ip, user_agent, request_id, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        newId(),
        event.accountId ?? null,
        event.email?.slice(0, 254) ?? null,
        event.action,
        event.outcome,
        meta?.ip ?? null,
        meta?.userAgent?.slice(0, 512) ?? null,
        meta?.requestId ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
  }

  /** Records an event in a transaction of its own (for failures, whose own work rolled back). */
  async record(event: AuthEvent, meta: RequestMeta | null): Promise<void> {
    await this.db.withGlobal((tx) => this.recordIn(tx, event, meta));
  }

  /** The most recent events of an account, newest first. */
  async forAccount(accountId: string, limit = 50): Promise<EventRow[]> {
    return this.db.withAccount(
      accountId,
      async (tx) =>
        (
          await tx.query<EventRow>(
            `SELECT id, account_id, email, action, outcome, ip, user_agent, request_id, details, created_at
               FROM auth_events WHERE account_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
            [accountId, limit],
          )
        ).rows,
      { readOnly: true },
    );
  }
}
