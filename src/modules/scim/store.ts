/** SQL of the SCIM server; every function takes a Tx already scoped to one tenant by the caller. */
import type { Tx } from '../../platform/db/types.js';
import type { CompiledFilter } from './filter.js';

// --- tokens ----------------------------------------------------------------------------------

export type TokenRow = {
  id: string;
  name: string;
  display_prefix: string;
  created_by: string | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

const TOKEN_COLUMNS = 'id, name, display_prefix, created_by, created_at, last_used_at, revoked_at';

/** Serialises token creation in a workspace, so the limit on live tokens holds under concurrency. */
export async function lockTokens(tx: Tx): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('rampart.scim_tokens:' || current_tenant_id()::text, 0))`);
}

export async function liveTokenCount(tx: Tx): Promise<number> {
  const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM scim_tokens WHERE tenant_id = current_tenant_id() AND revoked_at IS NULL');
  return rows[0]?.n ?? 0;
}

export async function insertToken(tx: Tx, t: { id: string; name: string; displayPrefix: string; tokenHash: Buffer; createdBy: string | null }): Promise<TokenRow> {
  const { rows } = await tx.query<TokenRow>(
    `INSERT INTO scim_tokens (tenant_id, id, name, display_prefix, token_hash, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5) RETURNING ${TOKEN_COLUMNS}`,
    [t.id, t.name, t.displayPrefix, t.tokenHash, t.createdBy],
  );
  return rows[0]!;
}

export async function tokens(tx: Tx): Promise<TokenRow[]> {
  const { rows } = await tx.query<TokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM scim_tokens WHERE tenant_id = current_tenant_id() ORDER BY revoked_at IS NOT NULL, created_at DESC, id`,
  );
  return rows;
}

/** Revokes a live token; the revoked row, or null when there was no live one. */
export async function revokeToken(tx: Tx, id: string): Promise<TokenRow | null> {
  const { rows } = await tx.query<TokenRow>(
    `UPDATE scim_tokens SET revoked_at = now() WHERE tenant_id = current_tenant_id() AND id = $1 AND revoked_at IS NULL RETURNING ${TOKEN_COLUMNS}`,
    [id],
  );
  return rows[0] ?? null;
}

/**
 * The live token with this digest, in one statement that also moves its last-used time when it
 * is more than a minute old.
 */
export async function authenticate(tx: Tx, tokenHash: Buffer): Promise<{ id: string } | null> {
  const { rows } = await tx.query<{ id: string }>(
    `WITH t AS (
       SELECT id, last_used_at FROM scim_tokens
        WHERE tenant_id = current_tenant_id() AND token_hash = $1 AND revoked_at IS NULL
     ), touched AS (
       UPDATE scim_tokens s SET last_used_at = now() FROM t
        WHERE s.tenant_id = current_tenant_id() AND s.id = t.id
          AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute')
     )
     SELECT id FROM t`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function workspaceExists(tx: Tx): Promise<boolean> {
  const { rowCount } = await tx.query('SELECT 1 FROM workspaces WHERE tenant_id = current_tenant_id()');
  return rowCount > 0;
}

// --- users -----------------------------------------------------------------------------------

export type EmailValue = { value: string; type?: string | null; primary?: boolean | null; display?: string | null };

export type UserRow = {
  id: string;
  external_id: string | null;
  user_name: string;
  account_id: string;
  active: boolean;
  display_name: string | null;
  given_name: string | null;
  family_name: string | null;
  formatted_name: string | null;
  emails: EmailValue[];
  enterprise: Record<string, unknown> | null;
  version: number;
  created_at: Date;
  updated_at: Date;
  groups: { value: string; display: string }[] | null;
};

const USER_COLUMNS = `u.id, u.external_id, u.user_name, u.account_id, u.active, u.display_name, u.given_name, u.family_name,
       u.formatted_name, u.emails, u.enterprise, u.version, u.created_at, u.updated_at`;
const USER_GROUPS = `(SELECT coalesce(json_agg(json_build_object('value', g.id, 'display', g.display_name) ORDER BY lower(g.display_name), g.id), '[]'::json)
          FROM scim_group_members gm JOIN scim_groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id
         WHERE gm.tenant_id = u.tenant_id AND gm.user_id = u.id) AS groups`;

export type UserFields = {
  externalId: string | null;
  userName: string;
  active: boolean;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  formattedName: string | null;
  emails: EmailValue[];
  enterprise: Record<string, unknown> | null;
};

export async function userById(tx: Tx, id: string, options: { lock?: boolean; groups?: boolean } = {}): Promise<UserRow | null> {
  const { rows } = await tx.query<UserRow>(
    `SELECT ${USER_COLUMNS}, ${options.groups === false ? 'NULL AS groups' : USER_GROUPS}
       FROM scim_users u WHERE u.tenant_id = current_tenant_id() AND u.id = $1${options.lock ? ' FOR UPDATE OF u' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

/** The user holding this userName (case-insensitively), other than `except`. */
export async function userNameHolder(tx: Tx, userName: string, except: string | null): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM scim_users WHERE tenant_id = current_tenant_id() AND user_name_ci = lower($1::text) AND ($2::uuid IS NULL OR id <> $2::uuid)',
    [userName, except],
  );
  return rows[0]?.id ?? null;
}

export async function userOfAccount(tx: Tx, accountId: string): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM scim_users WHERE tenant_id = current_tenant_id() AND account_id = $1', [accountId]);
  return rows[0]?.id ?? null;
}

/** False when the userName or the account is already another user's. */
export async function insertUser(tx: Tx, id: string, accountId: string, f: UserFields): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO scim_users (tenant_id, id, account_id, external_id, user_name, active, display_name, given_name, family_name, formatted_name, emails, enterprise)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb) ON CONFLICT DO NOTHING`,
    [id, accountId, f.externalId, f.userName, f.active, f.displayName, f.givenName, f.familyName, f.formattedName, JSON.stringify(f.emails), f.enterprise === null ? null : JSON.stringify(f.enterprise)],
  );
  return rowCount === 1;
}

export async function updateUser(tx: Tx, id: string, f: UserFields): Promise<void> {
  await tx.query(
    `UPDATE scim_users SET external_id = $2, user_name = $3, active = $4, display_name = $5, given_name = $6, family_name = $7,
            formatted_name = $8, emails = $9::jsonb, enterprise = $10::jsonb, version = version + 1, updated_at = now()
      WHERE tenant_id = current_tenant_id() AND id = $1`,
    [id, f.externalId, f.userName, f.active, f.displayName, f.givenName, f.familyName, f.formattedName, JSON.stringify(f.emails), f.enterprise === null ? null : JSON.stringify(f.enterprise)],
  );
}

export async function deleteUser(tx: Tx, id: string): Promise<void> {
  await tx.query('DELETE FROM scim_users WHERE tenant_id = current_tenant_id() AND id = $1', [id]);
}

/** The statement that lists users: shared with the bench, which explains it. */
export function listUsersSql(filter: CompiledFilter | null): { sql: string; params: unknown[] } {
  const where = filter ? ` AND (${filter.sql})` : '';
  const n = (filter?.params.length ?? 0) + 1;
  return {
    sql: `SELECT ${USER_COLUMNS}, ${USER_GROUPS}, count(*) OVER () AS total
            FROM scim_users u WHERE u.tenant_id = current_tenant_id()${where}
           ORDER BY u.id LIMIT $${n} OFFSET $${n + 1}`,
    params: filter?.params ?? [],
  };
}

export async function listUsers(tx: Tx, filter: CompiledFilter | null, limit: number, offset: number): Promise<{ rows: UserRow[]; total: number }> {
  const { sql, params } = listUsersSql(filter);
  const { rows } = await tx.query<UserRow & { total: string | number }>(sql, [...params, limit, offset]);
  if (rows.length > 0) return { rows, total: Number(rows[0]!.total) };
  return { rows: [], total: offset === 0 && limit > 0 ? 0 : await countUsers(tx, filter) };
}

export async function countUsers(tx: Tx, filter: CompiledFilter | null): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM scim_users u WHERE u.tenant_id = current_tenant_id()${filter ? ` AND (${filter.sql})` : ''}`,
    filter?.params ?? [],
  );
  return rows[0]?.n ?? 0;
}

/** Of these ids, the users that exist. */
export async function existingUsers(tx: Tx, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<{ id: string; display: string }>(
    'SELECT id, coalesce(display_name, user_name) AS display FROM scim_users WHERE tenant_id = current_tenant_id() AND id = ANY($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, r.display]));
}

/** The directory group keys of a user: each group's lower-cased displayName and externalId. */
export async function groupKeysOfUser(tx: Tx, userId: string): Promise<string[]> {
  const { rows } = await tx.query<{ key: string }>(
    `SELECT DISTINCT k AS key FROM scim_group_members gm JOIN scim_groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id
       CROSS JOIN LATERAL (VALUES (lower(g.display_name)), (lower(g.external_id))) AS keys (k)
      WHERE gm.tenant_id = current_tenant_id() AND gm.user_id = $1 AND k IS NOT NULL ORDER BY 1`,
    [userId],
  );
  return rows.map((r) => r.key);
}

/** Users in a group that a directory key names. */
export async function usersInGroupsWithKey(tx: Tx, key: string): Promise<string[]> {
  const { rows } = await tx.query<{ user_id: string }>(
    `SELECT DISTINCT gm.user_id FROM scim_group_members gm JOIN scim_groups g ON g.tenant_id = gm.tenant_id AND g.id = gm.group_id
      WHERE gm.tenant_id = current_tenant_id() AND (lower(g.display_name) = $1 OR lower(g.external_id) = $1) ORDER BY 1`,
    [key],
  );
  return rows.map((r) => r.user_id);
}

// --- groups ----------------------------------------------------------------------------------

export type GroupRow = {
  id: string;
  external_id: string | null;
  display_name: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  members: { value: string; display: string }[] | null;
};

const GROUP_COLUMNS = 'g.id, g.external_id, g.display_name, g.version, g.created_at, g.updated_at';
const GROUP_MEMBERS = `(SELECT coalesce(json_agg(json_build_object('value', u.id, 'display', coalesce(u.display_name, u.user_name)) ORDER BY u.id), '[]'::json)
          FROM scim_group_members gm JOIN scim_users u ON u.tenant_id = gm.tenant_id AND u.id = gm.user_id
         WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id) AS members`;

export async function groupById(tx: Tx, id: string, options: { lock?: boolean; members?: boolean } = {}): Promise<GroupRow | null> {
  const { rows } = await tx.query<GroupRow>(
    `SELECT ${GROUP_COLUMNS}, ${options.members === false ? 'NULL AS members' : GROUP_MEMBERS}
       FROM scim_groups g WHERE g.tenant_id = current_tenant_id() AND g.id = $1${options.lock ? ' FOR UPDATE OF g' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

export async function memberIds(tx: Tx, groupId: string): Promise<string[]> {
  const { rows } = await tx.query<{ user_id: string }>(
    'SELECT user_id FROM scim_group_members WHERE tenant_id = current_tenant_id() AND group_id = $1 ORDER BY user_id',
    [groupId],
  );
  return rows.map((r) => r.user_id);
}

export async function displayNameHolder(tx: Tx, displayName: string, except: string | null): Promise<string | null> {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM scim_groups WHERE tenant_id = current_tenant_id() AND display_name_ci = lower($1::text) AND ($2::uuid IS NULL OR id <> $2::uuid)',
    [displayName, except],
  );
  return rows[0]?.id ?? null;
}

export async function insertGroup(tx: Tx, g: { id: string; externalId: string | null; displayName: string }): Promise<boolean> {
  const { rowCount } = await tx.query(
    'INSERT INTO scim_groups (tenant_id, id, external_id, display_name) VALUES (current_tenant_id(), $1, $2, $3) ON CONFLICT DO NOTHING',
    [g.id, g.externalId, g.displayName],
  );
  return rowCount === 1;
}

export async function updateGroup(tx: Tx, id: string, g: { externalId: string | null; displayName: string }): Promise<void> {
  await tx.query(
    'UPDATE scim_groups SET external_id = $2, display_name = $3, version = version + 1, updated_at = now() WHERE tenant_id = current_tenant_id() AND id = $1',
    [id, g.externalId, g.displayName],
  );
}

export async function deleteGroup(tx: Tx, id: string): Promise<void> {
  await tx.query('DELETE FROM scim_groups WHERE tenant_id = current_tenant_id() AND id = $1', [id]);
}

export async function addMembers(tx: Tx, groupId: string, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.query(
    `INSERT INTO scim_group_members (tenant_id, group_id, user_id) SELECT current_tenant_id(), $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING`,
    [groupId, userIds],
  );
}

export async function removeMembers(tx: Tx, groupId: string, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.query('DELETE FROM scim_group_members WHERE tenant_id = current_tenant_id() AND group_id = $1 AND user_id = ANY($2::uuid[])', [groupId, userIds]);
}

export async function listGroups(tx: Tx, filter: CompiledFilter | null, limit: number, offset: number, members: boolean): Promise<{ rows: GroupRow[]; total: number }> {
  const where = filter ? ` AND (${filter.sql})` : '';
  const n = (filter?.params.length ?? 0) + 1;
  const { rows } = await tx.query<GroupRow & { total: string | number }>(
    `SELECT ${GROUP_COLUMNS}, ${members ? GROUP_MEMBERS : 'NULL AS members'}, count(*) OVER () AS total
       FROM scim_groups g WHERE g.tenant_id = current_tenant_id()${where}
      ORDER BY g.id LIMIT $${n} OFFSET $${n + 1}`,
    [...(filter?.params ?? []), limit, offset],
  );
  if (rows.length > 0) return { rows, total: Number(rows[0]!.total) };
  if (offset === 0 && limit > 0) return { rows: [], total: 0 };
  const counted = await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM scim_groups g WHERE g.tenant_id = current_tenant_id()${where}`, filter?.params ?? []);
  return { rows: [], total: counted.rows[0]?.n ?? 0 };
}
