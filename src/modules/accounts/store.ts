/** SQL for accounts, sessions and the setup link. Global tables: callers pass a withGlobal/withAccount Tx. */
import type { Tx } from '../../platform/db/types.js';

export type AccountRow = { id: string; email: string; name: string; created_at: Date };
export type CredentialRow = AccountRow & { password_hash: string | null };
export type SessionRow = { id: string; account_id: string; kind: 'cookie' | 'bearer'; expires_at: Date };

export async function anyAccount(tx: Tx): Promise<boolean> {
  const { rows } = await tx.query<{ exists: boolean }>('SELECT EXISTS (SELECT 1 FROM accounts) AS exists');
  return rows[0]?.exists === true;
}

export async function insertAccount(
  tx: Tx,
  a: { id: string; email: string; name: string; passwordHash: string },
): Promise<AccountRow | null> {
  const { rows } = await tx.query<AccountRow>(
    `INSERT INTO accounts (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (email) DO NOTHING
     RETURNING id, email, name, created_at`,
    [a.id, a.email, a.name, a.passwordHash],
  );
  return rows[0] ?? null;
}

export async function credentialsByEmail(tx: Tx, email: string): Promise<CredentialRow | null> {
  const { rows } = await tx.query<CredentialRow>(
    'SELECT id, email, name, created_at, password_hash FROM accounts WHERE email = $1',
    [email],
  );
  return rows[0] ?? null;
}

export async function accountById(tx: Tx, id: string): Promise<AccountRow | null> {
  const { rows } = await tx.query<AccountRow>('SELECT id, email, name, created_at FROM accounts WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function insertSession(
  tx: Tx,
  s: { id: string; tokenHash: Buffer; accountId: string; kind: 'cookie' | 'bearer'; ttlSeconds: number; ip: string | null; userAgent: string | null },
): Promise<SessionRow> {
  const { rows } = await tx.query<SessionRow>(
    `INSERT INTO sessions (id, token_hash, account_id, kind, expires_at, ip, user_agent)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6, $7)
     RETURNING id, account_id, kind, expires_at`,
    [s.id, s.tokenHash, s.accountId, s.kind, s.ttlSeconds, s.ip, s.userAgent],
  );
  return rows[0] as SessionRow;
}

export async function sessionById(tx: Tx, id: string): Promise<SessionRow | null> {
  const { rows } = await tx.query<SessionRow>(
    'SELECT id, account_id, kind, expires_at FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()',
    [id],
  );
  return rows[0] ?? null;
}

export async function revokeSession(tx: Tx, id: string): Promise<void> {
  await tx.query('UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id]);
}

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
