/**
 * SQL for roles, memberships and the roles members hold. Every function takes a Tx already
 * scoped to one tenant by the caller; the statements also name `tenant_id = current_tenant_id()`
 * themselves, so a policy lost by mistake would not widen what they touch.
 */
import type { Tx } from '../../platform/db/types.js';
import type { BuiltinRole } from '../../platform/http/scopes.js';

export type RoleRow = {
  id: string;
  builtin: BuiltinRole | null;
  name: string;
  description: string;
  scopes: string[];
  member_count: number;
  created_at: Date;
  updated_at: Date;
};

export type MemberRow = { account_id: string; email: string; name: string; created_at: Date; mfa: boolean };
export type MemberRoleRow = { account_id: string; id: string; name: string; builtin: BuiltinRole | null; scopes: string[] };

const ROLE_COLUMNS = `r.id, r.builtin, r.name, r.description, r.scopes, r.created_at, r.updated_at,
  (SELECT count(*)::int FROM member_roles mr WHERE mr.tenant_id = r.tenant_id AND mr.role_id = r.id) AS member_count`;
const ROLE_ORDER = `CASE r.builtin WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END, lower(r.name), r.id`;

export async function insertRole(
  tx: Tx,
  role: { id: string; builtin: BuiltinRole | null; name: string; description: string; scopes: readonly string[]; createdBy: string | null },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO roles (tenant_id, id, builtin, name, description, scopes, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [role.id, role.builtin, role.name, role.description, role.scopes, role.createdBy],
  );
  return rowCount === 1;
}

export async function roles(tx: Tx): Promise<RoleRow[]> {
  const { rows } = await tx.query<RoleRow>(`SELECT ${ROLE_COLUMNS} FROM roles r WHERE r.tenant_id = current_tenant_id() ORDER BY ${ROLE_ORDER}`);
  return rows;
}

/** The roles with these ids (those that exist in this tenant). `lock` takes them FOR SHARE. */
export async function rolesById(tx: Tx, ids: readonly string[], lock = false): Promise<RoleRow[]> {
  const { rows } = await tx.query<RoleRow>(
    `SELECT ${ROLE_COLUMNS} FROM roles r WHERE r.tenant_id = current_tenant_id() AND r.id = ANY($1::uuid[])
      ORDER BY ${ROLE_ORDER}${lock ? ' FOR SHARE OF r' : ''}`,
    [ids],
  );
  return rows;
}

export async function lockRole(tx: Tx, id: string): Promise<RoleRow | null> {
  const { rows } = await tx.query<RoleRow>(`SELECT ${ROLE_COLUMNS} FROM roles r WHERE r.tenant_id = current_tenant_id() AND r.id = $1 FOR UPDATE OF r`, [id]);
  return rows[0] ?? null;
}

export async function builtinRoleId(tx: Tx, builtin: BuiltinRole): Promise<string> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM roles WHERE tenant_id = current_tenant_id() AND builtin = $1', [builtin]);
  const id = rows[0]?.id;
  if (!id) throw new Error(`workspace has no built-in ${builtin} role`);
  return id;
}

/** Renames or re-scopes a custom role; false when the new name is taken. */
export async function updateRole(
  tx: Tx,
  id: string,
  changes: { name?: string | undefined; description?: string | undefined; scopes?: readonly string[] | undefined },
): Promise<boolean> {
  if (changes.name !== undefined) {
    const { rowCount } = await tx.query(
      'SELECT 1 FROM roles WHERE tenant_id = current_tenant_id() AND lower(name) = lower($1) AND id <> $2',
      [changes.name, id],
    );
    if (rowCount > 0) return false;
  }
  await tx.query(
    `UPDATE roles SET name = coalesce($2, name), description = coalesce($3, description), scopes = coalesce($4, scopes), updated_at = now()
      WHERE tenant_id = current_tenant_id() AND id = $1 AND builtin IS NULL`,
    [id, changes.name ?? null, changes.description ?? null, changes.scopes ?? null],
  );
  return true;
}

/** How many members hold the role. */
export async function roleHolders(tx: Tx, id: string): Promise<number> {
  const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM member_roles WHERE tenant_id = current_tenant_id() AND role_id = $1', [id]);
  return rows[0]?.n ?? 0;
}

export async function deleteRole(tx: Tx, id: string): Promise<void> {
  await tx.query('DELETE FROM roles WHERE tenant_id = current_tenant_id() AND id = $1 AND builtin IS NULL', [id]);
}

export async function insertMembership(tx: Tx, accountId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'INSERT INTO memberships (tenant_id, account_id) VALUES (current_tenant_id(), $1) ON CONFLICT DO NOTHING',
    [accountId],
  );
  return rowCount === 1;
}

/**
 * Locks a membership for a change and returns the member's grants (kept by triggers: see
 * migration 0006); null when the account is not a member.
 */
export async function lockMembership(tx: Tx, accountId: string): Promise<string[] | null> {
  const { rows } = await tx.query<{ grants: string[] }>(
    'SELECT grants FROM memberships WHERE tenant_id = current_tenant_id() AND account_id = $1 FOR UPDATE',
    [accountId],
  );
  return rows[0]?.grants ?? null;
}

export async function deleteMembership(tx: Tx, accountId: string): Promise<void> {
  await tx.query('DELETE FROM memberships WHERE tenant_id = current_tenant_id() AND account_id = $1', [accountId]);
}

export async function grantRoles(tx: Tx, accountId: string, roleIds: readonly string[], grantedBy: string | null, viaDirectory = false): Promise<void> {
  if (roleIds.length === 0) return;
  await tx.query(
    `INSERT INTO member_roles (tenant_id, account_id, role_id, granted_by, via_directory)
     SELECT current_tenant_id(), $1, unnest($2::uuid[]), $3, $4 ON CONFLICT DO NOTHING`,
    [accountId, roleIds, grantedBy, viaDirectory],
  );
}

/** The roles directory groups with these (lower-cased) keys map to; never the owner role. */
export async function rolesMappedFrom(tx: Tx, groupKeys: readonly string[]): Promise<string[]> {
  if (groupKeys.length === 0) return [];
  const { rows } = await tx.query<{ id: string }>(
    `SELECT DISTINCT r.id FROM directory_group_roles g JOIN roles r ON r.tenant_id = g.tenant_id AND r.id = g.role_id
      WHERE g.group_key = ANY($1::text[]) AND r.builtin IS DISTINCT FROM 'owner'`,
    [groupKeys],
  );
  return rows.map((r) => r.id);
}

export async function heldRoles(tx: Tx, accountId: string): Promise<{ role_id: string; via_directory: boolean }[]> {
  const { rows } = await tx.query<{ role_id: string; via_directory: boolean }>('SELECT role_id, via_directory FROM member_roles WHERE account_id = $1', [accountId]);
  return rows;
}

export async function revokeRoles(tx: Tx, accountId: string, roleIds: readonly string[]): Promise<void> {
  if (roleIds.length === 0) return;
  await tx.query('DELETE FROM member_roles WHERE tenant_id = current_tenant_id() AND account_id = $1 AND role_id = ANY($2::uuid[])', [
    accountId,
    roleIds,
  ]);
}

export async function members(tx: Tx, accountId?: string): Promise<MemberRow[]> {
  const { rows } = await tx.query<MemberRow>(
    `SELECT m.account_id, a.email, a.name, m.created_at, member_has_mfa(m.account_id) AS mfa
       FROM memberships m JOIN accounts a ON a.id = m.account_id
      WHERE m.tenant_id = current_tenant_id() AND ($1::uuid IS NULL OR m.account_id = $1)
      ORDER BY m.created_at, m.account_id`,
    [accountId ?? null],
  );
  return rows;
}

/**
 * How many members the workspace has, and how many of them have a second factor (read through
 * the definer function member_has_mfa: factors are their accounts' rows).
 */
export async function mfaCounts(tx: Tx): Promise<{ total: number; with_mfa: number }> {
  const { rows } = await tx.query<{ total: number; with_mfa: number }>(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE member_has_mfa(m.account_id)))::int AS with_mfa
       FROM memberships m WHERE m.tenant_id = current_tenant_id()`,
  );
  return rows[0] ?? { total: 0, with_mfa: 0 };
}

/** The roles members hold: all members', or one account's. */
export async function memberRoles(tx: Tx, accountId?: string): Promise<MemberRoleRow[]> {
  const { rows } = await tx.query<MemberRoleRow>(
    `SELECT mr.account_id, r.id, r.name, r.builtin, r.scopes
       FROM member_roles mr JOIN roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id
      WHERE mr.tenant_id = current_tenant_id() AND ($1::uuid IS NULL OR mr.account_id = $1)
      ORDER BY ${ROLE_ORDER}`,
    [accountId ?? null],
  );
  return rows;
}

/**
 * Under withAccount: every role the account holds, in every workspace, with that membership's
 * grants, through the own_membership_read, own_member_roles_read and own_roles_read policies.
 */
export async function rolesOfAccount(tx: Tx, accountId: string): Promise<(MemberRoleRow & { tenant_id: string; grants: string[] })[]> {
  const { rows } = await tx.query<MemberRoleRow & { tenant_id: string; grants: string[] }>(
    `SELECT mr.tenant_id, mr.account_id, r.id, r.name, r.builtin, r.scopes, m.grants
       FROM member_roles mr
       JOIN roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id
       JOIN memberships m ON m.tenant_id = mr.tenant_id AND m.account_id = mr.account_id
      WHERE mr.account_id = $1
      ORDER BY ${ROLE_ORDER}`,
    [accountId],
  );
  return rows;
}

export async function memberWithEmail(tx: Tx, email: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'SELECT 1 FROM memberships m JOIN accounts a ON a.id = m.account_id WHERE m.tenant_id = current_tenant_id() AND a.email = $1',
    [email],
  );
  return rowCount > 0;
}
