/**
 * SQL for workspaces. Every function takes a Tx already scoped by the caller. Row-level security
 * confines each statement to the transaction's tenant; the statements also name
 * `tenant_id = current_tenant_id()` themselves, so a policy lost by mistake would not widen what
 * they touch.
 */
import type { Tx } from '../../platform/db/types.js';

export type WorkspaceRow = { tenant_id: string; name: string; region: string; require_mfa: boolean; created_at: Date };

export async function insertWorkspace(
  tx: Tx,
  w: { tenantId: string; name: string; region: string; createdBy: string },
): Promise<void> {
  await tx.query('INSERT INTO workspaces (tenant_id, name, region, created_by) VALUES ($1, $2, $3, $4)', [
    w.tenantId,
    w.name,
    w.region,
    w.createdBy,
  ]);
  // The workspace's audit chain begins with it, so a sweep finds its events even before the first is chained.
  await tx.query('INSERT INTO audit_heads (chain) VALUES ($1) ON CONFLICT DO NOTHING', [w.tenantId]);
}

/** Under withAccount: the workspaces of the account's own memberships (the own_membership_read policy). */
export async function workspacesOfAccount(tx: Tx, accountId: string): Promise<WorkspaceRow[]> {
  const { rows } = await tx.query<WorkspaceRow>(
    `SELECT w.tenant_id, w.name, w.region, w.require_mfa, w.created_at
       FROM memberships m JOIN workspaces w ON w.tenant_id = m.tenant_id
      WHERE m.account_id = $1
      ORDER BY w.created_at, w.tenant_id`,
    [accountId],
  );
  return rows;
}

export async function workspace(tx: Tx): Promise<WorkspaceRow | null> {
  const { rows } = await tx.query<WorkspaceRow>(
    'SELECT w.tenant_id, w.name, w.region, w.require_mfa, w.created_at FROM workspaces w WHERE w.tenant_id = current_tenant_id()',
  );
  return rows[0] ?? null;
}

export async function updateWorkspace(tx: Tx, changes: { name?: string | undefined; requireMfa?: boolean | undefined }): Promise<void> {
  await tx.query(
    `UPDATE workspaces SET name = coalesce($1, name), require_mfa = coalesce($2, require_mfa), updated_at = now()
      WHERE tenant_id = current_tenant_id()`,
    [changes.name ?? null, changes.requireMfa ?? null],
  );
}

/** Deletes the tenant's workspace row; foreign keys cascade to all of its data. */
export async function deleteWorkspace(tx: Tx, expectedName: string): Promise<{ region: string } | null> {
  const { rows } = await tx.query<{ region: string }>('DELETE FROM workspaces WHERE tenant_id = current_tenant_id() AND name = $1 RETURNING region', [expectedName]);
  return rows[0] ?? null;
}
