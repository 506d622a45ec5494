/**
 * The statements that authenticate a request: the live session behind a token digest (or the
 * live API key behind a secret digest) and, when a workspace is named, the caller's grants in it.
 * Run in the requested workspace's tenant context (or none), so row-level security limits every
 * tenant read to that tenant; the joins limit it to the session's own account. A session is live
 * until revoked, past its absolute expiry, or idle for longer than the idle timeout. Sessions are
 * readable only by their account, so the session comes from the definer function auth_session
 * (one row for the digest, inside the same statement: still one round trip).
 */
import type { Tx } from '../../platform/db/types.js';

export type AccessRow = {
  session_id: string;
  account_id: string;
  kind: 'cookie' | 'bearer';
  mfa_at: Date | null;
  /** Whether the idle clock is more than a minute behind (the caller then moves it). */
  stale: boolean;
  /** Set when the account is a member of the requested workspace. */
  member: boolean;
  /**
   * The member's grants there (kept on the membership by triggers): `role:<builtin>` for each
   * built-in role held, and the scopes of each custom role.
   */
  grants: string[] | null;
  region: string | null;
  require_mfa: boolean | null;
};

export async function sessionAndMembership(tx: Tx, tokenHash: Buffer, idleSeconds: number): Promise<AccessRow | null> {
  const { rows } = await tx.query<AccessRow>(
    `SELECT s.session_id, s.account_id, s.kind, s.mfa_at, s.stale,
            m.account_id IS NOT NULL AS member, m.grants,
            w.region, w.require_mfa
       FROM auth_session($1, $2) s
       LEFT JOIN memberships m ON m.tenant_id = current_tenant_id() AND m.account_id = s.account_id
       LEFT JOIN workspaces w ON w.tenant_id = m.tenant_id
      WHERE s.session_id IS NOT NULL`,
    [tokenHash, idleSeconds],
  );
  return rows[0] ?? null;
}

export type ApiKeyAccessRow = {
  id: string;
  created_by: string;
  scopes: string[];
  /** The creator's grants now; null once the creator is no longer a member. */
  creator_grants: string[] | null;
  stale: boolean;
  region: string;
  require_mfa: boolean;
};

/** The live key of the current tenant with this secret digest. */
export async function apiKey(tx: Tx, secretHash: Buffer): Promise<ApiKeyAccessRow | null> {
  const { rows } = await tx.query<ApiKeyAccessRow>(
    `SELECT k.id, k.created_by, k.scopes,
            (SELECT m.grants FROM memberships m WHERE m.tenant_id = current_tenant_id() AND m.account_id = k.created_by) AS creator_grants,
            k.last_used_at IS NULL OR k.last_used_at < now() - interval '60 seconds' AS stale,
            w.region, w.require_mfa
       FROM api_keys k JOIN workspaces w ON w.tenant_id = k.tenant_id
      WHERE k.tenant_id = current_tenant_id() AND k.secret_hash = $1
        AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())`,
    [secretHash],
  );
  return rows[0] ?? null;
}

export async function touchApiKey(tx: Tx, keyId: string): Promise<void> {
  await tx.query('UPDATE api_keys SET last_used_at = now() WHERE tenant_id = current_tenant_id() AND id = $1', [keyId]);
}

/** The workspace of the live key behind a secret digest, found without a tenant (definer function). */
export async function apiKeyWorkspace(tx: Tx, secretHash: Buffer): Promise<string | null> {
  const { rows } = await tx.query<{ tenant_id: string | null }>('SELECT api_key_workspace($1) AS tenant_id', [secretHash]);
  return rows[0]?.tenant_id ?? null;
}
