/**
 * SQL for the staff realm (global tables) and staff access requests (a tenant table, read and
 * written only inside the workspace's tenant transaction, plus a global index of ids). Statement
 * text is fixed; values are always parameters.
 *
 * The staff realm's rows (migration 0013) are a staff member's own in a transaction of their id
 * (`withAccount(staffId)`), and all members' in the operator's realm (`operatorContext()`: staff
 * administration, the CLI). Sign-in by email, a session by its token's digest and a setup link's
 * use go through the definer functions staff_*, one row for one exact key; the password hash is
 * readable only through staff_credentials.
 */
import { matched, type Tx } from '../../platform/db/types.js';
import type { Justification, StaffRole } from './permissions.js';

// --- staff members -------------------------------------------------------------------------------

export type StaffMemberRow = {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  password_set: boolean;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  disabled_at: Date | null;
  totp: boolean;
};

/** A member with the password hash their sign-in checks. */
export type StaffCredentialRow = StaffMemberRow & { password_hash: string | null };

const MEMBER_COLUMNS = `m.id, m.email, m.name, m.role, m.password_set, m.created_by, m.created_at, m.updated_at, m.disabled_at,
  EXISTS (SELECT 1 FROM staff_totp_factors f WHERE f.staff_id = m.id AND f.confirmed_at IS NOT NULL) AS totp`;

export async function insertMember(tx: Tx, m: { id: string; email: string; name: string; role: StaffRole; createdBy: string | null }): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO staff_members (id, email, name, role, created_by) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING`,
    [m.id, m.email, m.name, m.role, m.createdBy],
  );
  return rowCount === 1;
}

export async function memberById(tx: Tx, id: string, lock = false): Promise<StaffMemberRow | null> {
  const { rows } = await tx.query<StaffMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM staff_members m WHERE m.id = $1${lock ? ' FOR UPDATE OF m' : ''}`, [id]);
  return rows[0] ?? null;
}

/** Password sign-in: the member with this exact email, with the password hash. */
export async function credentialsByEmail(tx: Tx, email: string): Promise<StaffCredentialRow | null> {
  return matched((await tx.query<StaffCredentialRow>('SELECT * FROM staff_credentials($1)', [email])).rows, 'id');
}

export async function members(tx: Tx): Promise<StaffMemberRow[]> {
  return (await tx.query<StaffMemberRow>(`SELECT ${MEMBER_COLUMNS} FROM staff_members m ORDER BY m.created_at, m.id`)).rows;
}

export async function setRole(tx: Tx, id: string, role: StaffRole): Promise<void> {
  await tx.query('UPDATE staff_members SET role = $2, updated_at = now() WHERE id = $1', [id, role]);
}

export async function disable(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE staff_members SET disabled_at = now(), updated_at = now() WHERE id = $1 AND disabled_at IS NULL', [id]);
}

export async function setPasswordHash(tx: Tx, id: string, hash: string | null): Promise<void> {
  await tx.query('UPDATE staff_members SET password_hash = $2, updated_at = now() WHERE id = $1', [id, hash]);
}

// --- setup links ---------------------------------------------------------------------------------

export async function replaceSetupToken(tx: Tx, staffId: string, tokenHash: Buffer, ttlSeconds: number): Promise<void> {
  await tx.query(
    `INSERT INTO staff_setup_tokens (staff_id, token_hash, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (staff_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at, created_at = now()`,
    [staffId, tokenHash, ttlSeconds],
  );
}

/** Takes a live setup token (single use): the id of the member it was for. */
export async function takeSetupToken(tx: Tx, tokenHash: Buffer): Promise<string | null> {
  const { rows } = await tx.query<{ staff_id: string | null }>('SELECT staff_take_setup_token($1) AS staff_id', [tokenHash]);
  return rows[0]?.staff_id ?? null;
}

export async function deleteSetupToken(tx: Tx, staffId: string): Promise<void> {
  await tx.query('DELETE FROM staff_setup_tokens WHERE staff_id = $1', [staffId]);
}

// --- sessions ------------------------------------------------------------------------------------

export type StaffSessionKind = 'cookie' | 'bearer';

export type StaffSessionRow = {
  id: string;
  staff_id: string;
  kind: StaffSessionKind;
  created_at: Date;
  expires_at: Date;
  mfa_at: Date | null;
};

export async function insertSession(
  tx: Tx,
  s: { id: string; tokenHash: Buffer; staffId: string; kind: StaffSessionKind; ttlSeconds: number; ip: string | null; userAgent: string | null },
): Promise<StaffSessionRow> {
  const { rows } = await tx.query<StaffSessionRow>(
    `INSERT INTO staff_sessions (id, token_hash, staff_id, kind, expires_at, ip, user_agent)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
     RETURNING id, staff_id, kind, created_at, expires_at, mfa_at`,
    [s.id, s.tokenHash, s.staffId, s.kind, s.ttlSeconds, s.ip, s.userAgent],
  );
  return rows[0] as StaffSessionRow;
}

export type StaffAccessRow = {
  session_id: string;
  staff_id: string;
  name: string;
  role: StaffRole;
  kind: StaffSessionKind;
  mfa_at: Date | null;
  stale: boolean;
};

/** The live session behind a token digest, with its enabled member. */
export async function liveSession(tx: Tx, tokenHash: Buffer, idleSeconds: number): Promise<StaffAccessRow | null> {
  return matched((await tx.query<StaffAccessRow>('SELECT * FROM staff_session($1, $2)', [tokenHash, idleSeconds])).rows, 'session_id');
}

export async function sessionById(tx: Tx, id: string): Promise<StaffSessionRow | null> {
  const { rows } = await tx.query<StaffSessionRow>('SELECT id, staff_id, kind, created_at, expires_at, mfa_at FROM staff_sessions WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function touchSession(tx: Tx, id: string): Promise<void> {
  await tx.query(`UPDATE staff_sessions SET last_seen_at = now() WHERE id = $1 AND last_seen_at < now() - interval '60 seconds'`, [id]);
}

/** Marks the session as having proved TOTP, with a new token digest when one is given. */
export async function markSessionMfa(tx: Tx, id: string, newTokenHash: Buffer | null): Promise<StaffSessionRow | null> {
  const { rows } = await tx.query<StaffSessionRow>(
    `UPDATE staff_sessions SET mfa_at = now(), token_hash = coalesce($2, token_hash), last_seen_at = now()
      WHERE id = $1 AND revoked_at IS NULL
      RETURNING id, staff_id, kind, created_at, expires_at, mfa_at`,
    [id, newTokenHash],
  );
  return rows[0] ?? null;
}

export async function revokeSession(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE staff_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
}

export async function revokeSessionByToken(tx: Tx, tokenHash: Buffer): Promise<void> {
  await tx.query('SELECT staff_revoke_session_by_token($1)', [tokenHash]);
}

export async function revokeSessionsOf(tx: Tx, staffId: string): Promise<number> {
  return (await tx.query('UPDATE staff_sessions SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL', [staffId])).rowCount;
}

// --- authenticator apps --------------------------------------------------------------------------

export type TotpRow = { secret_ciphertext: Buffer; confirmed_at: Date | null; last_used_step: string | number };

export async function totpFactor(tx: Tx, staffId: string): Promise<TotpRow | null> {
  const { rows } = await tx.query<TotpRow>('SELECT secret_ciphertext, confirmed_at, last_used_step FROM staff_totp_factors WHERE staff_id = $1', [staffId]);
  return rows[0] ?? null;
}

/** Starts (or restarts) an enrolment; refused (false) while a confirmed factor exists. */
export async function upsertPendingTotp(tx: Tx, staffId: string, ciphertext: Buffer): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO staff_totp_factors (staff_id, secret_ciphertext) VALUES ($1, $2)
     ON CONFLICT (staff_id) DO UPDATE SET secret_ciphertext = EXCLUDED.secret_ciphertext, last_used_step = 0, created_at = now()
       WHERE staff_totp_factors.confirmed_at IS NULL`,
    [staffId, ciphertext],
  );
  return rowCount === 1;
}

/** Spends a time step newer than any used before (atomically); also confirms a pending enrolment. */
export async function useTotpStep(tx: Tx, staffId: string, step: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE staff_totp_factors SET last_used_step = $2, confirmed_at = coalesce(confirmed_at, now())
      WHERE staff_id = $1 AND last_used_step < $2`,
    [staffId, step],
  );
  return rowCount === 1;
}

export async function deleteTotp(tx: Tx, staffId: string): Promise<void> {
  await tx.query('DELETE FROM staff_totp_factors WHERE staff_id = $1', [staffId]);
}

// --- access requests (tenant) ----------------------------------------------------------------------

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'revoked' | 'cancelled' | 'expired';

export type AccessRequestRow = {
  tenant_id: string;
  id: string;
  staff_id: string;
  staff_name: string;
  staff_role: StaffRole;
  scope: string;
  justification: Justification;
  reason: string;
  ticket: string | null;
  duration_minutes: number;
  break_glass: boolean;
  /** As stored. */
  stored_status: Exclude<RequestStatus, 'expired'>;
  /** As it reads now: `expired` once past its time. */
  status: RequestStatus;
  created_at: Date;
  pending_until: Date;
  decided_at: Date | null;
  decided_by: string | null;
  decision_note: string | null;
  grant_id: string | null;
  granted_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
};

const REQUEST_COLUMNS = `r.tenant_id, r.id, r.staff_id, r.staff_name, r.staff_role, r.scope, r.justification, r.reason, r.ticket,
  r.duration_minutes, r.break_glass, r.status AS stored_status,
  CASE WHEN r.status = 'approved' AND r.expires_at <= now() THEN 'expired'
       WHEN r.status = 'pending' AND r.pending_until <= now() THEN 'expired'
       ELSE r.status END AS status,
  r.created_at, r.pending_until, r.decided_at, r.decided_by, r.decision_note, r.grant_id, r.granted_at, r.expires_at,
  r.revoked_at, r.revoked_by`;

export interface NewRequest {
  readonly id: string;
  readonly staffId: string;
  readonly staffName: string;
  readonly staffRole: StaffRole;
  readonly scope: string;
  readonly justification: Justification;
  readonly reason: string;
  readonly ticket: string | null;
  readonly durationMinutes: number;
  readonly pendingHours: number;
}

export async function insertRequest(tx: Tx, r: NewRequest): Promise<AccessRequestRow> {
  const { rows } = await tx.query<AccessRequestRow>(
    `INSERT INTO staff_access_requests AS r (tenant_id, id, staff_id, staff_name, staff_role, scope, justification, reason, ticket,
                                             duration_minutes, status, pending_until)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', now() + make_interval(hours => $10))
     RETURNING ${REQUEST_COLUMNS}`,
    [r.id, r.staffId, r.staffName, r.staffRole, r.scope, r.justification, r.reason, r.ticket, r.durationMinutes, r.pendingHours],
  );
  return rows[0] as AccessRequestRow;
}

/** A break-glass opening: approved at once by nobody, its grant live from now. */
export async function insertBreakGlass(tx: Tx, r: Omit<NewRequest, 'pendingHours'> & { grantId: string }): Promise<AccessRequestRow> {
  const { rows } = await tx.query<AccessRequestRow>(
    `INSERT INTO staff_access_requests AS r (tenant_id, id, staff_id, staff_name, staff_role, scope, justification, reason, ticket,
                                             duration_minutes, break_glass, status, pending_until, decided_at,
                                             grant_id, granted_at, expires_at)
     VALUES (current_tenant_id(), $1, $2, $3, $4, $5, $6, $7, $8, $9, true, 'approved', now(), now(),
             $10, now(), now() + make_interval(mins => $9))
     RETURNING ${REQUEST_COLUMNS}`,
    [r.id, r.staffId, r.staffName, r.staffRole, r.scope, r.justification, r.reason, r.ticket, r.durationMinutes, r.grantId],
  );
  return rows[0] as AccessRequestRow;
}

export async function requestById(tx: Tx, id: string, lock = false): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM staff_access_requests r WHERE r.tenant_id = current_tenant_id() AND r.id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0] ?? null;
}

/** The request behind a grant, locked against a concurrent revocation while a read is recorded. */
export async function requestByGrant(tx: Tx, grantId: string, lock: boolean): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM staff_access_requests r WHERE r.tenant_id = current_tenant_id() AND r.grant_id = $1${lock ? ' FOR SHARE' : ''}`,
    [grantId],
  );
  return rows[0] ?? null;
}

export async function requestsOfStaff(tx: Tx, staffId: string, ids: readonly string[]): Promise<AccessRequestRow[]> {
  const { rows } = await tx.query<AccessRequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM staff_access_requests r
      WHERE r.tenant_id = current_tenant_id() AND r.staff_id = $1 AND r.id = ANY($2::uuid[])`,
    [staffId, ids],
  );
  return rows;
}

/** The workspace's requests, newest first, optionally in one (effective) status. */
export async function requests(tx: Tx, options: { limit: number; status?: RequestStatus | undefined }): Promise<AccessRequestRow[]> {
  const { rows } = await tx.query<AccessRequestRow>(
    `SELECT * FROM (SELECT ${REQUEST_COLUMNS} FROM staff_access_requests r WHERE r.tenant_id = current_tenant_id()) q
      WHERE ($2::text IS NULL OR q.status = $2)
      ORDER BY q.created_at DESC, q.id DESC LIMIT $1`,
    [options.limit, options.status ?? null],
  );
  return rows;
}

/** How many requests wait for the workspace's decision (pending, not yet expired), and since when the oldest. */
export async function pendingCount(tx: Tx): Promise<{ pending: number; oldest: Date | null }> {
  const { rows } = await tx.query<{ pending: number; oldest: Date | null }>(
    `SELECT count(*)::int AS pending, min(created_at) AS oldest FROM staff_access_requests
      WHERE tenant_id = current_tenant_id() AND status = 'pending' AND pending_until > now()`,
  );
  return rows[0] ?? { pending: 0, oldest: null };
}

/** Approves a pending, undecided, unexpired request: its grant runs from now. Null if it was not. */
export async function approve(tx: Tx, id: string, by: string, note: string | null, grantId: string): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `UPDATE staff_access_requests r
        SET status = 'approved', decided_at = now(), decided_by = $2, decision_note = $3,
            grant_id = $4, granted_at = now(), expires_at = now() + make_interval(mins => r.duration_minutes)
      WHERE r.tenant_id = current_tenant_id() AND r.id = $1 AND r.status = 'pending' AND r.pending_until > now()
      RETURNING ${REQUEST_COLUMNS}`,
    [id, by, note, grantId],
  );
  return rows[0] ?? null;
}

export async function deny(tx: Tx, id: string, by: string | null, note: string | null): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `UPDATE staff_access_requests r SET status = 'denied', decided_at = now(), decided_by = $2, decision_note = $3
      WHERE r.tenant_id = current_tenant_id() AND r.id = $1 AND r.status = 'pending' AND r.pending_until > now()
      RETURNING ${REQUEST_COLUMNS}`,
    [id, by, note],
  );
  return rows[0] ?? null;
}

export async function cancel(tx: Tx, id: string, staffId: string): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `UPDATE staff_access_requests r SET status = 'cancelled', decided_at = now()
      WHERE r.tenant_id = current_tenant_id() AND r.id = $1 AND r.staff_id = $2 AND r.status = 'pending' AND r.pending_until > now()
      RETURNING ${REQUEST_COLUMNS}`,
    [id, staffId],
  );
  return rows[0] ?? null;
}

/** Revokes a live grant at once. Null if it was not live. */
export async function revoke(tx: Tx, id: string, by: string | null, note: string | null): Promise<AccessRequestRow | null> {
  const { rows } = await tx.query<AccessRequestRow>(
    `UPDATE staff_access_requests r SET status = 'revoked', revoked_at = now(), revoked_by = $2, decision_note = coalesce($3, r.decision_note)
      WHERE r.tenant_id = current_tenant_id() AND r.id = $1 AND r.status = 'approved' AND r.expires_at > now()
      RETURNING ${REQUEST_COLUMNS}`,
    [id, by, note],
  );
  return rows[0] ?? null;
}

// --- the global index ------------------------------------------------------------------------------

export async function indexRequest(tx: Tx, e: { requestId: string; workspaceId: string; staffId: string; grantId: string | null }): Promise<void> {
  await tx.query('INSERT INTO staff_access_index (request_id, workspace_id, staff_id, grant_id) VALUES ($1, $2, $3, $4)', [
    e.requestId,
    e.workspaceId,
    e.staffId,
    e.grantId,
  ]);
}

export async function indexGrant(tx: Tx, requestId: string, grantId: string): Promise<void> {
  await tx.query('UPDATE staff_access_index SET grant_id = $2 WHERE request_id = $1', [requestId, grantId]);
}

export type IndexRow = { request_id: string; workspace_id: string };

export async function indexOfStaff(tx: Tx, staffId: string, limit: number): Promise<IndexRow[]> {
  return (
    await tx.query<IndexRow>(
      'SELECT request_id, workspace_id FROM staff_access_index WHERE staff_id = $1 ORDER BY created_at DESC, request_id DESC LIMIT $2',
      [staffId, limit],
    )
  ).rows;
}

export async function indexEntry(tx: Tx, requestId: string, staffId: string): Promise<IndexRow | null> {
  const { rows } = await tx.query<IndexRow>('SELECT request_id, workspace_id FROM staff_access_index WHERE request_id = $1 AND staff_id = $2', [
    requestId,
    staffId,
  ]);
  return rows[0] ?? null;
}

export async function indexOfGrant(tx: Tx, grantId: string, staffId: string): Promise<IndexRow | null> {
  const { rows } = await tx.query<IndexRow>('SELECT request_id, workspace_id FROM staff_access_index WHERE grant_id = $1 AND staff_id = $2', [
    grantId,
    staffId,
  ]);
  return rows[0] ?? null;
}

export async function dropWorkspaceIndex(tx: Tx, workspaceId: string): Promise<void> {
  await tx.query('DELETE FROM staff_access_index WHERE workspace_id = $1', [workspaceId]);
}
