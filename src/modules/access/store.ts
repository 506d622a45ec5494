/**
 * The one statement that authenticates a request: the live session behind a token digest and,
 * when a workspace is named, that session's membership of it. Run in the requested workspace's
 * tenant context (or none), so row-level security limits the membership read to that tenant;
 * the join limits it to the session's own account. A session is live until revoked, past its
 * absolute expiry, or idle for longer than the idle timeout.
 */
import type { Tx } from '../../platform/db/types.js';
import type { WorkspaceRole } from '../../platform/http/context.js';

export type AccessRow = {
  session_id: string;
  account_id: string;
  kind: 'cookie' | 'bearer';
  mfa_at: Date | null;
  /** Whether the idle clock is more than a minute behind (the caller then moves it). */
  stale: boolean;
  role: WorkspaceRole | null;
  region: string | null;
  require_mfa: boolean | null;
};

export async function sessionAndMembership(tx: Tx, tokenHash: Buffer, idleSeconds: number): Promise<AccessRow | null> {
  const { rows } = await tx.query<AccessRow>(
    `SELECT s.id AS session_id, s.account_id, s.kind, s.mfa_at, s.last_seen_at < now() - interval '60 seconds' AS stale,
            m.role, w.region, w.require_mfa
       FROM sessions s
       LEFT JOIN memberships m ON m.tenant_id = current_tenant_id() AND m.account_id = s.account_id
       LEFT JOIN workspaces w ON w.tenant_id = m.tenant_id
      WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
        AND s.last_seen_at > now() - make_interval(secs => $2)`,
    [tokenHash, idleSeconds],
  );
  return rows[0] ?? null;
}
