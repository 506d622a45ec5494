/** SQL for API keys; every function takes a Tx already scoped to one tenant by the caller. */
import type { Tx } from '../../platform/db/types.js';

export type ApiKeyRow = {
  id: string;
  name: string;
  display_prefix: string;
  scopes: string[];
  created_by: string;
  creator_name: string | null;
  creator_email: string | null;
  created_by_key: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  expired: boolean;
};

const SELECT = `SELECT k.id, k.name, k.display_prefix, k.scopes, k.created_by, a.name AS creator_name, a.email AS creator_email,
       k.created_by_key, k.created_at, k.expires_at, k.last_used_at, k.revoked_at,
       k.expires_at IS NOT NULL AND k.expires_at <= now() AS expired
  FROM api_keys k LEFT JOIN accounts a ON a.id = k.created_by`;

export async function insert(
  tx: Tx,
  k: { id: string; name: string; displayPrefix: string; secretHash: Buffer; scopes: readonly string[]; createdBy: string; createdByKey: string | null; expiresAt: Date | null },
): Promise<void> {
  await tx.query(
    `INSERT INTO api_keys (tenant_id, id, name, display_prefix, secret_hash, scopes, created_by, created_by_key, expires_at)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8)`,
    [k.id, k.name, k.displayPrefix, k.secretHash, k.scopes, k.createdBy, k.createdByKey, k.expiresAt],
  );
}

/** Every key, live first, newest first. */
export async function list(tx: Tx): Promise<ApiKeyRow[]> {
  const { rows } = await tx.query<ApiKeyRow>(`${SELECT} WHERE k.tenant_id = current_tenant_id() ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id`);
  return rows;
}

export async function byId(tx: Tx, id: string): Promise<ApiKeyRow | null> {
  const { rows } = await tx.query<ApiKeyRow>(`${SELECT} WHERE k.tenant_id = current_tenant_id() AND k.id = $1`, [id]);
  return rows[0] ?? null;
}

/**
 * Revokes live keys and every live key they created, however deep; returns the ids revoked.
 * `roots` selects the starting keys: by id, or all that one account created.
 */
export async function revokeWithDescendants(tx: Tx, roots: { keyId: string } | { createdBy: string }, revokedBy: string): Promise<string[]> {
  const [condition, value] = 'keyId' in roots ? ['id = $1', roots.keyId] : ['created_by = $1', roots.createdBy];
  const { rows } = await tx.query<{ id: string }>(
    `WITH RECURSIVE tree AS (
       SELECT id FROM api_keys WHERE tenant_id = current_tenant_id() AND ${condition}
       UNION
       SELECT k.id FROM api_keys k JOIN tree t ON k.created_by_key = t.id WHERE k.tenant_id = current_tenant_id()
     )
     UPDATE api_keys SET revoked_at = now(), revoked_by = $2
      WHERE tenant_id = current_tenant_id() AND id IN (SELECT id FROM tree) AND revoked_at IS NULL
      RETURNING id`,
    [value, revokedBy],
  );
  return rows.map((r) => r.id);
}
