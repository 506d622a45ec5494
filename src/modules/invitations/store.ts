/** SQL for invitations; every function takes a Tx already scoped to one tenant by the caller. */
import type { Tx } from '../../platform/db/types.js';
import type { BuiltinRole } from '../../platform/http/scopes.js';

export type InvitationRow = {
  id: string;
  email: string;
  role_id: string;
  role_name: string;
  role_builtin: BuiltinRole | null;
  invited_by: string | null;
  inviter_name: string | null;
  inviter_email: string | null;
  created_at: Date;
  sent_at: Date;
  send_count: number;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
  expired: boolean;
  /** Whether the last send was less than a minute ago. */
  recently_sent: boolean;
};

const SELECT = `SELECT i.id, i.email, i.role_id, r.name AS role_name, r.builtin AS role_builtin, i.invited_by,
       a.name AS inviter_name, a.email AS inviter_email, i.created_at, i.sent_at, i.send_count, i.expires_at,
       i.accepted_at, i.revoked_at, i.expires_at <= now() AS expired, i.sent_at > now() - interval '60 seconds' AS recently_sent
  FROM invitations i
  JOIN roles r ON r.tenant_id = i.tenant_id AND r.id = i.role_id
  LEFT JOIN accounts a ON a.id = i.invited_by`;

/** Marks expired pending invitations to an email as revoked, so a new one can be sent. */
export async function retireExpired(tx: Tx, email: string): Promise<void> {
  await tx.query(
    `UPDATE invitations SET revoked_at = now()
      WHERE tenant_id = current_tenant_id() AND email = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at <= now()`,
    [email],
  );
}

/** Inserts a pending invitation; false when one to this email is already pending. */
export async function insert(
  tx: Tx,
  i: { id: string; email: string; roleId: string; tokenHash: Buffer; invitedBy: string | null; days: number },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO invitations (tenant_id, id, email, role_id, token_hash, invited_by, expires_at)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, now() + make_interval(days => $6)) ON CONFLICT DO NOTHING`,
    [i.id, i.email, i.roleId, i.tokenHash, i.invitedBy, i.days],
  );
  return rowCount === 1;
}

export async function pending(tx: Tx): Promise<InvitationRow[]> {
  const { rows } = await tx.query<InvitationRow>(
    `${SELECT} WHERE i.tenant_id = current_tenant_id() AND i.accepted_at IS NULL AND i.revoked_at IS NULL ORDER BY i.created_at DESC, i.id`,
  );
  return rows;
}

export async function byId(tx: Tx, id: string): Promise<InvitationRow | null> {
  const { rows } = await tx.query<InvitationRow>(`${SELECT} WHERE i.tenant_id = current_tenant_id() AND i.id = $1 FOR UPDATE OF i`, [id]);
  return rows[0] ?? null;
}

export async function byToken(tx: Tx, tokenHash: Buffer, lock: boolean): Promise<InvitationRow | null> {
  const { rows } = await tx.query<InvitationRow>(
    `${SELECT} WHERE i.tenant_id = current_tenant_id() AND i.token_hash = $1${lock ? ' FOR UPDATE OF i' : ''}`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

/** A new link and a new expiry, as long as the first one gave. The old link stops working. */
export async function resend(tx: Tx, id: string, tokenHash: Buffer): Promise<void> {
  await tx.query(
    `UPDATE invitations SET token_hash = $2, expires_at = now() + (expires_at - sent_at), sent_at = now(), send_count = send_count + 1
      WHERE tenant_id = current_tenant_id() AND id = $1`,
    [id, tokenHash],
  );
}

export async function revoke(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE invitations SET revoked_at = now() WHERE tenant_id = current_tenant_id() AND id = $1', [id]);
}

export async function accept(tx: Tx, id: string, accountId: string): Promise<void> {
  await tx.query('UPDATE invitations SET accepted_at = now(), accepted_by = $2 WHERE tenant_id = current_tenant_id() AND id = $1', [id, accountId]);
}

/** Revokes the pending invitations an account sent (when it leaves); returns how many. */
export async function revokeSentBy(tx: Tx, accountId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE invitations SET revoked_at = now()
      WHERE tenant_id = current_tenant_id() AND invited_by = $1 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [accountId],
  );
  return rowCount;
}

export async function pendingForRole(tx: Tx, roleId: string): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM invitations
      WHERE tenant_id = current_tenant_id() AND role_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()`,
    [roleId],
  );
  return rows[0]?.n ?? 0;
}
