/** SQL for accounts, sessions, email links, pending sign-ins and the setup link. Global tables. */
import type { Tx } from '../../platform/db/types.js';

export type AccountRow = { id: string; email: string; name: string; created_at: Date; email_verified_at: Date | null };
export type CredentialRow = AccountRow & { password_hash: string | null };
export type SessionKind = 'cookie' | 'bearer';
export type AuthMethod = 'setup' | 'password' | 'email_link' | 'oidc' | 'passkey' | 'saml';
export type SessionRow = {
  id: string;
  account_id: string;
  kind: SessionKind;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  auth_method: AuthMethod;
  mfa_at: Date | null;
  ip: string | null;
  user_agent: string | null;
};
export type EmailPurpose = 'verify_email' | 'magic_link' | 'password_reset';
export type EmailTokenRow = {
  id: string;
  purpose: EmailPurpose;
  account_id: string;
  binding_hash: Buffer | null;
  /** Whether the token is unused, unexpired, and its email is still the account's email. */
  live: boolean;
};
export type PendingRow = {
  id: string;
  account_id: string;
  kind: SessionKind;
  method: 'password' | 'email_link' | 'oidc' | 'saml';
  sso_workspace_id: string | null;
  expires_at: Date;
};

const ACCOUNT_COLUMNS = 'id, email, name, created_at, email_verified_at';
const SESSION_COLUMNS = 'id, account_id, kind, created_at, last_seen_at, expires_at, auth_method, mfa_at, ip, user_agent';

export async function anyAccount(tx: Tx): Promise<boolean> {
  const { rows } = await tx.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM accounts) AS exists');
  return rows[0]?.exists === true;
}

export async function insertAccount(
  tx: Tx,
  a: { id: string; email: string; name: string; passwordHash: string | null; emailVerified: boolean },
): Promise<AccountRow | null> {
  const { rows } = await tx.query<AccountRow>(
    `INSERT INTO accounts (id, email, name, password_hash, password_changed_at, email_verified_at)
     VALUES ($1, $2, $3, $4, CASE WHEN $4::text IS NULL THEN NULL ELSE now() END, CASE WHEN $5 THEN now() END)
     ON CONFLICT (email) DO NOTHING
     RETURNING ${ACCOUNT_COLUMNS}`,
    [a.id, a.email, a.name, a.passwordHash, a.emailVerified],
  );
  return rows[0] ?? null;
}

export async function credentialsByEmail(tx: Tx, email: string): Promise<CredentialRow | null> {
  const { rows } = await tx.query<CredentialRow>(`SELECT ${ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE email = $1`, [email]);
  return rows[0] ?? null;
}

export async function credentialsById(tx: Tx, id: string): Promise<CredentialRow | null> {
  const { rows } = await tx.query<CredentialRow>(`SELECT ${ACCOUNT_COLUMNS}, password_hash FROM accounts WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function accountById(tx: Tx, id: string): Promise<AccountRow | null> {
  const { rows } = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function setPasswordHash(tx: Tx, accountId: string, passwordHash: string, changed: boolean): Promise<void> {
  await tx.query(
    `UPDATE accounts SET password_hash = $2, updated_at = now(),
            password_changed_at = CASE WHEN $3 THEN now() ELSE password_changed_at END
      WHERE id = $1`,
    [accountId, passwordHash, changed],
  );
}

/** Marks the address verified; true if it was not verified before. */
export async function markEmailVerified(tx: Tx, accountId: string): Promise<boolean> {
  const { rowCount } = await tx.query('UPDATE accounts SET email_verified_at = now(), updated_at = now() WHERE id = $1 AND email_verified_at IS NULL', [
    accountId,
  ]);
  return rowCount === 1;
}

export async function clearPassword(tx: Tx, accountId: string): Promise<void> {
  await tx.query('UPDATE accounts SET password_hash = NULL, password_changed_at = now(), updated_at = now() WHERE id = $1', [accountId]);
}

// --- sessions ---------------------------------------------------------------------------------

export async function insertSession(
  tx: Tx,
  s: {
    id: string;
    tokenHash: Buffer;
    accountId: string;
    kind: SessionKind;
    ttlSeconds: number;
    method: AuthMethod;
    mfa: boolean;
    ip: string | null;
    userAgent: string | null;
    /** The workspace whose IdP vouched for a SAML sign-in. */
    ssoWorkspaceId?: string | null;
  },
): Promise<SessionRow> {
  const { rows } = await tx.query<SessionRow>(
    `INSERT INTO sessions (id, token_hash, account_id, kind, expires_at, auth_method, mfa_at, ip, user_agent, sso_workspace_id)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, CASE WHEN $7 THEN now() END, $8, $9, $10)
     RETURNING ${SESSION_COLUMNS}`,
    [s.id, s.tokenHash, s.accountId, s.kind, s.ttlSeconds, s.method, s.mfa, s.ip, s.userAgent, s.ssoWorkspaceId ?? null],
  );
  return rows[0] as SessionRow;
}

/** Live sessions of an account (not revoked, within both timeouts), most recently used first. */
export async function liveSessions(tx: Tx, accountId: string, idleSeconds: number): Promise<SessionRow[]> {
  const { rows } = await tx.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions
      WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > now()
        AND last_seen_at > now() - make_interval(secs => $2)
      ORDER BY last_seen_at DESC, id`,
    [accountId, idleSeconds],
  );
  return rows;
}

export async function sessionById(tx: Tx, id: string): Promise<SessionRow | null> {
  const { rows } = await tx.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()`,
    [id],
  );
  return rows[0] ?? null;
}

/** Revokes one of an account's sessions; true if it was live. */
export async function revokeSession(tx: Tx, accountId: string, id: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'UPDATE sessions SET revoked_at = now() WHERE id = $1 AND account_id = $2 AND revoked_at IS NULL',
    [id, accountId],
  );
  return rowCount === 1;
}

export async function revokeSessionByToken(tx: Tx, tokenHash: Buffer): Promise<void> {
  await tx.query('UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL', [tokenHash]);
}

/** Revokes every session of an account except `keep`; returns how many. */
export async function revokeSessionsExcept(tx: Tx, accountId: string, keep: string | null): Promise<number> {
  const { rowCount } = await tx.query(
    'UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2::uuid)',
    [accountId, keep],
  );
  return rowCount;
}

/** Gives a live session a new token (and, with `mfa`, records that it proved a second factor). */
export async function rotateSession(tx: Tx, id: string, tokenHash: Buffer, mfa: boolean): Promise<SessionRow | null> {
  const { rows } = await tx.query<SessionRow>(
    `UPDATE sessions SET token_hash = $2, rotated_at = now(), mfa_at = CASE WHEN $3 THEN now() ELSE mfa_at END
      WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
      RETURNING ${SESSION_COLUMNS}`,
    [id, tokenHash, mfa],
  );
  return rows[0] ?? null;
}

/** Moves the idle clock; only when it is more than `slackSeconds` behind, so reads stay cheap. */
export async function touchSession(tx: Tx, id: string, slackSeconds: number): Promise<void> {
  await tx.query(
    `UPDATE sessions SET last_seen_at = now()
      WHERE id = $1 AND revoked_at IS NULL AND last_seen_at < now() - make_interval(secs => $2)`,
    [id, slackSeconds],
  );
}

// --- email links ------------------------------------------------------------------------------

export async function insertEmailToken(
  tx: Tx,
  t: { id: string; purpose: EmailPurpose; accountId: string; email: string; tokenHash: Buffer; bindingHash: Buffer | null; ttlSeconds: number },
): Promise<void> {
  // A new link of a purpose voids the account's earlier ones of that purpose.
  await tx.query('UPDATE email_tokens SET used_at = now() WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL', [t.accountId, t.purpose]);
  await tx.query(
    `INSERT INTO email_tokens (id, purpose, account_id, email, token_hash, binding_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [t.id, t.purpose, t.accountId, t.email, t.tokenHash, t.bindingHash, t.ttlSeconds],
  );
}

/** Locks the token's row and tells whether it is live. */
export async function emailTokenForUpdate(tx: Tx, tokenHash: Buffer): Promise<EmailTokenRow | null> {
  const { rows } = await tx.query<EmailTokenRow>(
    `SELECT t.id, t.purpose, t.account_id, t.binding_hash,
            (t.used_at IS NULL AND t.expires_at > now() AND a.email = t.email) AS live
       FROM email_tokens t JOIN accounts a ON a.id = t.account_id
      WHERE t.token_hash = $1
        FOR UPDATE OF t`,
    [tokenHash],
  );
  return rows[0] ?? null;
}

export async function useEmailToken(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE email_tokens SET used_at = now() WHERE id = $1', [id]);
}

// --- sign-ins waiting for a second factor -----------------------------------------------------

export async function insertPending(
  tx: Tx,
  p: { id: string; tokenHash: Buffer; accountId: string; kind: SessionKind; method: PendingRow['method']; ttlSeconds: number; ssoWorkspaceId: string | null },
): Promise<PendingRow> {
  const { rows } = await tx.query<PendingRow>(
    `INSERT INTO pending_sign_ins (id, token_hash, account_id, kind, method, expires_at, sso_workspace_id)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7)
     RETURNING id, account_id, kind, method, sso_workspace_id, expires_at`,
    [p.id, p.tokenHash, p.accountId, p.kind, p.method, p.ttlSeconds, p.ssoWorkspaceId],
  );
  return rows[0] as PendingRow;
}

export async function livePending(tx: Tx, tokenHash: Buffer, maxFailures: number): Promise<PendingRow | null> {
  const { rows } = await tx.query<PendingRow>(
    `SELECT id, account_id, kind, method, sso_workspace_id, expires_at FROM pending_sign_ins
      WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() AND failures < $2`,
    [tokenHash, maxFailures],
  );
  return rows[0] ?? null;
}

export async function setPendingChallenge(tx: Tx, id: string, challenge: string): Promise<void> {
  await tx.query('UPDATE pending_sign_ins SET webauthn_challenge = $2 WHERE id = $1 AND used_at IS NULL', [id, challenge]);
}

/** Takes the pending sign-in's passkey challenge: returns it and clears it, atomically (single use). */
export async function takePendingChallenge(tx: Tx, id: string): Promise<string | null> {
  const { rows } = await tx.query<{ challenge: string }>(
    `UPDATE pending_sign_ins p SET webauthn_challenge = NULL
       FROM (SELECT id, webauthn_challenge FROM pending_sign_ins WHERE id = $1 FOR UPDATE) old
      WHERE p.id = old.id AND old.webauthn_challenge IS NOT NULL AND p.used_at IS NULL
      RETURNING old.webauthn_challenge AS challenge`,
    [id],
  );
  return rows[0]?.challenge ?? null;
}

export async function failPending(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE pending_sign_ins SET failures = failures + 1 WHERE id = $1', [id]);
}

/** Marks a pending sign-in used; true exactly once, and only while it is live. */
export async function usePending(tx: Tx, id: string, maxFailures: number): Promise<boolean> {
  const { rowCount } = await tx.query(
    'UPDATE pending_sign_ins SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now() AND failures < $2',
    [id, maxFailures],
  );
  return rowCount === 1;
}

// --- the setup link ---------------------------------------------------------------------------

export async function replaceSetupToken(tx: Tx, tokenHash: Buffer, ttlSeconds: number): Promise<void> {
  await tx.query(
    `INSERT INTO setup_tokens (id, token_hash, expires_at) VALUES (1, $1, now() + make_interval(secs => $2))
     ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at`,
    [tokenHash, ttlSeconds],
  );
}

/** Consumes the setup token if it matches and is unexpired; true exactly once. */
export async function consumeSetupToken(tx: Tx, tokenHash: Buffer): Promise<boolean> {
  const { rows } = await tx.query(
    'DELETE FROM setup_tokens WHERE id = 1 AND token_hash = $1 AND expires_at > now() RETURNING id',
    [tokenHash],
  );
  return rows.length === 1;
}

/**
 * Ends the live sessions of accounts whose email is at `domain`, except those SAML sign-in
 * through `workspaceId` began; pending second-factor sign-ins of other methods end too.
 */
export async function revokeNonSsoSessions(tx: Tx, domain: string, workspaceId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE sessions s SET revoked_at = now()
       FROM accounts a
      WHERE a.id = s.account_id AND s.revoked_at IS NULL AND s.expires_at > now()
        AND lower(split_part(a.email, '@', 2)) = $1
        AND NOT (s.auth_method = 'saml' AND s.sso_workspace_id IS NOT DISTINCT FROM $2::uuid)`,
    [domain, workspaceId],
  );
  await tx.query(
    `UPDATE pending_sign_ins p SET used_at = now()
       FROM accounts a
      WHERE a.id = p.account_id AND p.used_at IS NULL AND p.expires_at > now()
        AND lower(split_part(a.email, '@', 2)) = $1
        AND NOT (p.method = 'saml' AND p.sso_workspace_id IS NOT DISTINCT FROM $2::uuid)`,
    [domain, workspaceId],
  );
  return rowCount ?? 0;
}
