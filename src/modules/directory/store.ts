/** SQL for directory provisioning; every function takes a Tx already scoped to one tenant. */
import type { Tx } from '../../platform/db/types.js';

export type MappingRow = {
  id: string;
  group_key: string;
  role_id: string;
  role_name: string;
  role_builtin: 'owner' | 'admin' | 'member' | null;
  created_by: string | null;
  created_at: Date;
};

const SELECT_MAPPING = `SELECT d.id, d.group_key, d.role_id, r.name AS role_name, r.builtin AS role_builtin, d.created_by, d.created_at
  FROM directory_group_roles d JOIN roles r ON r.tenant_id = d.tenant_id AND r.id = d.role_id`;

/** Whether this workspace has verified the domain (a row with verified_at set). */
/** The SAML connection's default role, when the workspace has a connection. */
export async function samlDefaultRole(tx: Tx): Promise<string | null> {
  const { rows } = await tx.query<{ default_role_id: string }>('SELECT default_role_id FROM saml_connections WHERE tenant_id = current_tenant_id()');
  return rows[0]?.default_role_id ?? null;
}

export async function mappings(tx: Tx): Promise<MappingRow[]> {
  const { rows } = await tx.query<MappingRow>(`${SELECT_MAPPING} WHERE d.tenant_id = current_tenant_id() ORDER BY d.group_key, lower(r.name), d.id`);
  return rows;
}

export async function mappingById(tx: Tx, id: string): Promise<MappingRow | null> {
  const { rows } = await tx.query<MappingRow>(`${SELECT_MAPPING} WHERE d.tenant_id = current_tenant_id() AND d.id = $1`, [id]);
  return rows[0] ?? null;
}

/** False when the group already gives the role. */
export async function insertMapping(tx: Tx, m: { id: string; groupKey: string; roleId: string; createdBy: string | null }): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO directory_group_roles (tenant_id, id, group_key, role_id, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4) ON CONFLICT (tenant_id, group_key, role_id) DO NOTHING`,
    [m.id, m.groupKey, m.roleId, m.createdBy],
  );
  return rowCount === 1;
}

export async function deleteMapping(tx: Tx, id: string): Promise<void> {
  await tx.query('DELETE FROM directory_group_roles WHERE tenant_id = current_tenant_id() AND id = $1', [id]);
}
