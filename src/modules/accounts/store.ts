/**
 * SQL for accounts, sessions, email links, pending sign-ins and the setup link. Global tables,
 * scoped to their account (migration 0013): a statement here sees and writes the rows of the
 * account its transaction acts for (withAccount, or `tx.bindAccount` once a proof named it). What
 * must run before any account is known goes through the definer functions `auth_*`, each for one
 * exact key, answering one row (all NULL when nothing matched).
 */
import { matched, type Tx } from '../../platform/db/types.js';

export type AccountRow = { id: string; email: string; name: string; created_at: Date; email_verified_at: Date | null };
export type CredentialRow = AccountRow & { password_hash: string | null };
/** An account with the address of its pending email change (`ownAccountById`). */
export type OwnAccountRow = AccountRow & { pending_email: string | null };
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
export type EmailPurpose = 'verify_email' | 'magic_link' | 'password_reset' | 'change_email';
/** A consumed email link: its account, and whether the browser that asked for it opened it. */
export type ConsumedLink = { account_id: string; same_browser: boolean };
/** Why a link was not consumed (see `consumeEmailToken`). */
export type LinkRefusal = 'invalid_link' | 'link_other_browser';
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
  const { rows } = await tx.query<{ exists: boolean }>('SELECT auth_accounts_exist() AS exists');
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

/** Password sign-in: the account with this exact email, with its password hash. */
export async function credentialsByEmail(tx: Tx, email: string): Promise<CredentialRow | null> {
  return matched((await tx.query<CredentialRow>('SELECT * FROM auth_account_credentials($1)', [email])).rows, 'id');
}

/** The account with this exact email, in any transaction (no password hash). */
export async function accountByEmail(tx: Tx, email: string): Promise<AccountRow | null> {
  return matched((await tx.query<AccountRow>('SELECT * FROM auth_account_by_email($1)', [email])).rows, 'id');
}

/** The transaction's own account with its password hash (re-authentication). */
export async function ownCredentials(tx: Tx): Promise<CredentialRow | null> {
  const { rows } = await tx.query<CredentialRow>(
    `SELECT ${ACCOUNT_COLUMNS}, auth_own_password_hash() AS password_hash FROM accounts WHERE id = current_account_id()`,
  );
  return rows[0] ?? null;
}

export async function accountById(tx: Tx, id: string): Promise<AccountRow | null> {
  const { rows } = await tx.query<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The account as its own answers carry it: with the address of its pending email change, in the same read. */
export async function ownAccountById(tx: Tx, id: string): Promise<OwnAccountRow | null> {
  const { rows } = await tx.query<OwnAccountRow>(`SELECT ${ACCOUNT_COLUMNS}, ${pendingEmailOf('accounts.id')} AS pending_email FROM accounts WHERE id = $1`, [id]);
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

/** Renames the transaction's own account; null when it is not that account. */
export async function setName(tx: Tx, accountId: string, name: string): Promise<OwnAccountRow | null> {
  const { rows } = await tx.query<OwnAccountRow>(
    `UPDATE accounts SET name = $2, updated_at = now() WHERE id = $1 AND id = current_account_id() RETURNING ${ACCOUNT_COLUMNS}, ${pendingEmailOf('accounts.id')} AS pending_email`,
    [accountId, name],
  );
  return rows[0] ?? null;
}

/**
 * Gives the transaction's own account a new, proved address. Throws a unique violation when
 * another account holds it (the caller looked first; this is the race).
 */
export async function setEmail(tx: Tx, accountId: string, email: string): Promise<OwnAccountRow | null> {
  const { rows } = await tx.query<OwnAccountRow>(
    `UPDATE accounts SET email = $2, email_verified_at = now(), updated_at = now() WHERE id = $1 AND id = current_account_id() RETURNING ${ACCOUNT_COLUMNS}, ${pendingEmailOf('accounts.id')} AS pending_email`,
    [accountId, email],
  );
  return rows[0] ?? null;
}

export async function clearPassword(tx: Tx, accountId: string): Promise<void> {
  await tx.query('UPDATE accounts SET password_hash = NULL, password_changed_at = now(), updated_at = now() WHERE id = $1', [accountId]);
}

// --- sessions ---------------------------------------------------------------------------------

/** Begins a session; the row carries the account's pending email change (the sign-in's answer shows it). */
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
): Promise<SessionRow & { pending_email: string | null }> {
  const { rows } = await tx.query<SessionRow & { pending_email: string | null }>(
    `INSERT INTO sessions (id, token_hash, account_id, kind, expires_at, auth_method, mfa_at, ip, user_agent, sso_workspace_id)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, CASE WHEN $7 THEN now() END, $8, $9, $10)
     RETURNING ${SESSION_COLUMNS}, ${pendingEmailOf('sessions.account_id')} AS pending_email`,
    [s.id, s.tokenHash, s.accountId, s.kind, s.ttlSeconds, s.method, s.mfa, s.ip, s.userAgent, s.ssoWorkspaceId ?? null],
  );
  return rows[0] as SessionRow & { pending_email: string | null };
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
  await tx.query('SELECT auth_revoke_session_by_token($1)', [tokenHash]);
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
  await voidEmailTokens(tx, t.accountId, t.purpose);
  await tx.query(
    `INSERT INTO email_tokens (id, purpose, account_id, email, token_hash, binding_hash, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
    [t.id, t.purpose, t.accountId, t.email, t.tokenHash, t.bindingHash, t.ttlSeconds],
  );
}

/**
 * Voids the account's unused links of a purpose (as a new one of the purpose does); returns the
 * addresses of those that were still live (unexpired), newest first.
 */
export async function voidEmailTokens(tx: Tx, accountId: string, purpose: EmailPurpose): Promise<string[]> {
  // One writer of an account's links of a purpose at a time, until its transaction ends: two
  // requests at once would each void what is there and each add one, leaving two live links.
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('rampart.email_tokens:' || $1 || ':' || $2, 0))`, [accountId, purpose]);
  const { rows } = await tx.query<{ email: string; live: boolean; created_at: Date }>(
    `UPDATE email_tokens SET used_at = now() WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL
      RETURNING email, expires_at > now() AS live, created_at`,
    [accountId, purpose],
  );
  return rows
    .filter((r) => r.live)
    .sort((a, b) => b.created_at.getTime() - a.created_at.getTime())
    .map((r) => r.email);
}

/**
 * The address of the newest live email-change request (unused, unexpired) of the account whose id
 * `accountId` (an SQL expression) names, or NULL: a column expression, so the account's own read
 * carries it without a round trip of its own. Only the transaction's own account's: row-level
 * security hides every other account's links.
 */
function pendingEmailOf(accountId: string): string {
  return `(SELECT t.email FROM email_tokens t
            WHERE t.account_id = ${accountId} AND t.purpose = 'change_email' AND t.used_at IS NULL AND t.expires_at > now()
            ORDER BY t.created_at DESC, t.id DESC LIMIT 1)`;
}

/**
 * Consumes the transaction's own account's live email-change link behind a token digest and
 * returns the address it proves; null (nothing written) for any other token, another account's
 * included (row-level security hides it).
 */
export async function consumeEmailChange(tx: Tx, tokenHash: Buffer): Promise<string | null> {
  const { rows } = await tx.query<{ email: string }>(
    `UPDATE email_tokens SET used_at = now()
      WHERE token_hash = $1 AND purpose = 'change_email' AND account_id = current_account_id() AND used_at IS NULL AND expires_at > now()
      RETURNING email`,
    [tokenHash],
  );
  return rows[0]?.email ?? null;
}

/**
 * Consumes the link behind a token digest if it is live (unused, unexpired, its email still the
 * account's) and of `purpose`, and, when a browser asked for it, opened in that browser
 * (`binding`; verification excepted). Otherwise the refusal, and nothing is written.
 */
export async function consumeEmailToken(tx: Tx, tokenHash: Buffer, purpose: EmailPurpose, binding: Buffer | null): Promise<ConsumedLink | LinkRefusal> {
  const { rows } = await tx.query<{ account_id: string | null; same_browser: boolean | null; refused: LinkRefusal | null }>(
    'SELECT account_id, same_browser, refused FROM auth_consume_email_token($1, $2, $3)',
    [tokenHash, purpose, binding],
  );
  const row = rows[0];
  if (!row || row.account_id === null) return row?.refused ?? 'invalid_link';
  return { account_id: row.account_id, same_browser: row.same_browser === true };
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
  return matched((await tx.query<PendingRow>('SELECT * FROM auth_pending_sign_in($1, $2)', [tokenHash, maxFailures])).rows, 'id');
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

/** Replaces the setup token while no account exists; false (nothing written) once one does. */
export async function replaceSetupToken(tx: Tx, tokenHash: Buffer, ttlSeconds: number): Promise<boolean> {
  const { rows } = await tx.query<{ replaced: boolean }>('SELECT setup_token_replace($1, $2) AS replaced', [tokenHash, ttlSeconds]);
  return rows[0]?.replaced === true;
}

/** Consumes the setup token if it matches and is unexpired; true exactly once. */
export async function consumeSetupToken(tx: Tx, tokenHash: Buffer): Promise<boolean> {
  const { rows } = await tx.query<{ consumed: boolean }>('SELECT setup_token_consume($1) AS consumed', [tokenHash]);
  return rows[0]?.consumed === true;
}

/**
 * Ends the live sessions of accounts whose email is at `domain`, except those SAML sign-in
 * through `workspaceId` began; pending second-factor sign-ins of other methods end too. Only in
 * that workspace's transaction, for a domain it verified (the definer function checks both).
 */
export async function revokeNonSsoSessions(tx: Tx, domain: string, workspaceId: string): Promise<number> {
  const { rows } = await tx.query<{ ended: number }>('SELECT sso_end_other_sessions($1, $2) AS ended', [domain, workspaceId]);
  return rows[0]?.ended ?? 0;
}
