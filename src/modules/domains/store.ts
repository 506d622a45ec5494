import type { Tx } from '../../platform/db/types.js';

export type DomainRow = {
  id: string;
  domain: string;
  verification_token: string;
  created_at: Date;
  verified_at: Date | null;
  last_checked_at: Date | null;
  sso_enforced: boolean;
};

const COLUMNS = 'id, domain, verification_token, created_at, verified_at, last_checked_at, sso_enforced';

export async function list(tx: Tx): Promise<DomainRow[]> {
  const { rows } = await tx.query<DomainRow>(`SELECT ${COLUMNS} FROM workspace_domains ORDER BY domain`);
  return rows;
}

export async function byId(tx: Tx, id: string, lock = false): Promise<DomainRow | null> {
  const { rows } = await tx.query<DomainRow>(`SELECT ${COLUMNS} FROM workspace_domains WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ?? null;
}

/** null when the workspace already has this domain. */
export async function insert(tx: Tx, d: { id: string; domain: string; token: string; createdBy: string | null }): Promise<DomainRow | null> {
  const { rows } = await tx.query<DomainRow>(
    `INSERT INTO workspace_domains (tenant_id, id, domain, verification_token, created_by)
     VALUES (current_tenant_id(), $1, $2, $3, $4)
     ON CONFLICT (tenant_id, domain) DO NOTHING
     RETURNING ${COLUMNS}`,
    [d.id, d.domain, d.token, d.createdBy],
  );
  return rows[0] ?? null;
}

export async function checked(tx: Tx, id: string, verified: boolean): Promise<DomainRow> {
  const { rows } = await tx.query<DomainRow>(
    `UPDATE workspace_domains SET last_checked_at = now(), verified_at = CASE WHEN $2 THEN coalesce(verified_at, now()) ELSE verified_at END
      WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, verified],
  );
  return rows[0] as DomainRow;
}

export async function setEnforced(tx: Tx, id: string, enforced: boolean): Promise<DomainRow> {
  const { rows } = await tx.query<DomainRow>(`UPDATE workspace_domains SET sso_enforced = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [id, enforced]);
  return rows[0] as DomainRow;
}

export async function remove(tx: Tx, id: string): Promise<void> {
  await tx.query('DELETE FROM workspace_domains WHERE id = $1', [id]);
}

/** Whether another workspace has verified `domain` (a global read of the index). */
export async function claimedElsewhere(tx: Tx, domain: string): Promise<boolean> {
  const { rows } = await tx.query<{ one: number }>('SELECT 1 AS one FROM verified_domains WHERE domain = $1 AND workspace_id <> current_tenant_id()', [domain]);
  return rows.length > 0;
}

/** How many domains the workspace verified and has waiting, and whether it enforces SSO for any. */
export async function summary(tx: Tx): Promise<{ verified: number; pending: number; enforced: boolean }> {
  const { rows } = await tx.query<{ verified: number; pending: number; enforced: boolean }>(
    `SELECT (count(*) FILTER (WHERE verified_at IS NOT NULL))::int AS verified, (count(*) FILTER (WHERE verified_at IS NULL))::int AS pending,
            coalesce(bool_or(sso_enforced AND verified_at IS NOT NULL), false) AS enforced
       FROM workspace_domains WHERE tenant_id = current_tenant_id()`,
  );
  return rows[0] ?? { verified: 0, pending: 0, enforced: false };
}

export type DomainPolicyRow = {
  workspace_id: string;
  sso_enforced: boolean;
};

/** The verified owner of an email's domain, in any transaction (the index is global). */
export async function policyOf(tx: Tx, domain: string): Promise<DomainPolicyRow | null> {
  const { rows } = await tx.query<DomainPolicyRow>('SELECT workspace_id, sso_enforced FROM verified_domains WHERE domain = $1', [domain]);
  return rows[0] ?? null;
}

/** Whether this workspace (the transaction's tenant) has verified `domain`. */
export async function verifiedHere(tx: Tx, domain: string): Promise<boolean> {
  const { rows } = await tx.query<{ one: number }>('SELECT 1 AS one FROM workspace_domains WHERE domain = $1 AND verified_at IS NOT NULL', [domain]);
  return rows.length > 0;
}
