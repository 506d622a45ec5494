import type { Tx } from '../../platform/db/types.js';

export type ConnectionRow = {
  id: string;
  enabled: boolean;
  idp_entity_id: string;
  sso_url: string;
  certificates: string[];
  metadata_url: string | null;
  allow_idp_initiated: boolean;
  clock_skew_seconds: number;
  jit_provisioning: boolean;
  default_role_id: string;
  email_attribute: string | null;
  name_attribute: string | null;
  groups_attribute: string | null;
  created_at: Date;
  updated_at: Date;
};

const COLUMNS = `id, enabled, idp_entity_id, sso_url, certificates, metadata_url, allow_idp_initiated, clock_skew_seconds,
  jit_provisioning, default_role_id, email_attribute, name_attribute, groups_attribute, created_at, updated_at`;

export async function connection(tx: Tx, lock = false): Promise<ConnectionRow | null> {
  const { rows } = await tx.query<ConnectionRow>(`SELECT ${COLUMNS} FROM saml_connections${lock ? ' FOR UPDATE' : ''}`);
  return rows[0] ?? null;
}

export interface ConnectionInput {
  readonly enabled: boolean;
  readonly entityId: string;
  readonly ssoUrl: string;
  readonly certificates: readonly string[];
  readonly metadataUrl: string | null;
  readonly allowIdpInitiated: boolean;
  readonly clockSkewSeconds: number;
  readonly jitProvisioning: boolean;
  readonly defaultRoleId: string;
  readonly emailAttribute: string | null;
  readonly nameAttribute: string | null;
  readonly groupsAttribute: string | null;
}

export async function upsertConnection(tx: Tx, id: string, c: ConnectionInput, by: string | null): Promise<ConnectionRow> {
  const { rows } = await tx.query<ConnectionRow>(
    `INSERT INTO saml_connections (tenant_id, id, enabled, idp_entity_id, sso_url, certificates, metadata_url, allow_idp_initiated,
       clock_skew_seconds, jit_provisioning, default_role_id, email_attribute, name_attribute, groups_attribute, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (tenant_id) DO UPDATE SET enabled = EXCLUDED.enabled, idp_entity_id = EXCLUDED.idp_entity_id,
       sso_url = EXCLUDED.sso_url, certificates = EXCLUDED.certificates, metadata_url = EXCLUDED.metadata_url,
       allow_idp_initiated = EXCLUDED.allow_idp_initiated, clock_skew_seconds = EXCLUDED.clock_skew_seconds,
       jit_provisioning = EXCLUDED.jit_provisioning, default_role_id = EXCLUDED.default_role_id,
       email_attribute = EXCLUDED.email_attribute, name_attribute = EXCLUDED.name_attribute,
       groups_attribute = EXCLUDED.groups_attribute, updated_at = now()
     RETURNING ${COLUMNS}`,
    [id, c.enabled, c.entityId, c.ssoUrl, [...c.certificates], c.metadataUrl, c.allowIdpInitiated, c.clockSkewSeconds, c.jitProvisioning, c.defaultRoleId, c.emailAttribute, c.nameAttribute, c.groupsAttribute, by],
  );
  return rows[0] as ConnectionRow;
}

export async function deleteConnection(tx: Tx): Promise<void> {
  await tx.query('DELETE FROM saml_connections');
}

export async function enforcedDomains(tx: Tx): Promise<string[]> {
  const { rows } = await tx.query<{ domain: string }>('SELECT domain FROM workspace_domains WHERE sso_enforced ORDER BY domain');
  return rows.map((r) => r.domain);
}

export async function insertRequest(tx: Tx, r: { id: string; bindingHash: Buffer; returnTo: string | null; ttlSeconds: number }): Promise<void> {
  await tx.query(
    `INSERT INTO saml_requests (tenant_id, id, binding_hash, return_to, expires_at)
     VALUES (current_tenant_id(), $1, $2, $3, now() + make_interval(secs => $4))`,
    [r.id, r.bindingHash, r.returnTo, r.ttlSeconds],
  );
}

/** Uses a live request once; null when unknown, used or expired. */
export async function claimRequest(tx: Tx, id: string): Promise<{ binding_hash: Buffer; return_to: string | null } | null> {
  const { rows } = await tx.query<{ binding_hash: Buffer; return_to: string | null }>(
    `UPDATE saml_requests SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING binding_hash, return_to`,
    [id],
  );
  return rows[0] ?? null;
}

/** false when the assertion id was seen before (a replay). */
export async function rememberAssertion(tx: Tx, id: string, expiresAt: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO saml_assertions (tenant_id, assertion_id, expires_at) VALUES (current_tenant_id(), $1, $2) ON CONFLICT DO NOTHING`,
    [id, expiresAt],
  );
  return rowCount === 1;
}

export async function purgeExpired(tx: Tx): Promise<void> {
  await tx.query(`DELETE FROM saml_requests WHERE expires_at < now() - interval '1 hour'`);
  await tx.query('DELETE FROM saml_assertions WHERE expires_at < now()');
}

export async function identity(tx: Tx, connectionId: string, nameId: string): Promise<string | null> {
  const { rows } = await tx.query<{ account_id: string }>(
    `UPDATE sso_identities SET last_used_at = now() WHERE connection_id = $1 AND name_id = $2 RETURNING account_id`,
    [connectionId, nameId],
  );
  return rows[0]?.account_id ?? null;
}

export async function linkIdentity(tx: Tx, i: { connectionId: string; nameId: string; accountId: string; email: string }): Promise<void> {
  await tx.query(
    `INSERT INTO sso_identities (tenant_id, connection_id, name_id, account_id, email, last_used_at)
     VALUES (current_tenant_id(), $1, $2, $3, $4, now())`,
    [i.connectionId, i.nameId, i.accountId, i.email],
  );
}

export async function workspaceExists(tx: Tx): Promise<boolean> {
  const { rows } = await tx.query<{ one: number }>('SELECT 1 AS one FROM workspaces WHERE tenant_id = current_tenant_id()');
  return rows.length > 0;
}

// --- setup links ---------------------------------------------------------------------------------

export type SetupLinkRow = { id: string; created_at: Date; expires_at: Date; revoked_at: Date | null };

export async function insertSetupLink(tx: Tx, l: { id: string; tokenHash: Buffer; createdBy: string | null; hours: number }): Promise<SetupLinkRow> {
  const { rows } = await tx.query<SetupLinkRow>(
    `INSERT INTO sso_setup_links (tenant_id, id, token_hash, created_by, expires_at)
     VALUES (current_tenant_id(), $1, $2, $3, now() + make_interval(hours => $4)) RETURNING id, created_at, expires_at, revoked_at`,
    [l.id, l.tokenHash, l.createdBy, l.hours],
  );
  return rows[0] as SetupLinkRow;
}

export async function liveSetupLinks(tx: Tx): Promise<SetupLinkRow[]> {
  const { rows } = await tx.query<SetupLinkRow>(
    'SELECT id, created_at, expires_at, revoked_at FROM sso_setup_links WHERE revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC',
  );
  return rows;
}

export async function setupLinkByHash(tx: Tx, tokenHash: Buffer): Promise<SetupLinkRow | null> {
  const { rows } = await tx.query<SetupLinkRow>(
    'SELECT id, created_at, expires_at, revoked_at FROM sso_setup_links WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()',
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function revokeSetupLink(tx: Tx, id: string): Promise<boolean> {
  const { rowCount } = await tx.query('UPDATE sso_setup_links SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()', [id]);
  return rowCount === 1;
}
