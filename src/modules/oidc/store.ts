/**
 * SQL for provider identities, sign-in flows in flight and link offers. Global tables scoped to
 * their account (migration 0013); what the provider's callback must find before any account is
 * known — a flow by its browser's binding, an identity by (issuer, subject), an offer by its
 * token — goes through the definer functions oidc_*, one row for one exact key.
 */
import { matched, type Tx } from '../../platform/db/types.js';

export type FlowPurpose = 'sign_in' | 'link';

export type FlowRow = {
  id: string;
  state: string;
  nonce: string;
  code_verifier: string;
  purpose: FlowPurpose;
  account_id: string | null;
};

export type IdentityRow = {
  id: string;
  account_id: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: Date;
  last_used_at: Date | null;
};

export type OfferRow = {
  id: string;
  account_id: string;
  binding_hash: Buffer;
  issuer: string;
  subject: string;
  email: string;
};

const IDENTITY_COLUMNS = 'id, account_id, issuer, subject, email, created_at, last_used_at';

/** Expired flows and offers are kept a day after expiry (for investigation), then purged. */
async function purgeExpired(tx: Tx): Promise<void> {
  await tx.query('SELECT oidc_purge_expired()');
}

export async function insertFlow(
  tx: Tx,
  f: { id: string; bindingHash: Buffer; state: string; nonce: string; codeVerifier: string; purpose: FlowPurpose; accountId: string | null; ttlSeconds: number },
): Promise<void> {
  await purgeExpired(tx);
  await tx.query(
    `INSERT INTO oidc_flows (id, binding_hash, state, nonce, code_verifier, purpose, account_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
    [f.id, f.bindingHash, f.state, f.nonce, f.codeVerifier, f.purpose, f.accountId, f.ttlSeconds],
  );
}

/** Marks the live flow of a binding used and returns it; null if unknown, used or expired. */
export async function claimFlow(tx: Tx, bindingHash: Buffer): Promise<FlowRow | null> {
  return matched((await tx.query<FlowRow>('SELECT * FROM oidc_claim_flow($1)', [bindingHash])).rows, 'id');
}

/** The identity (issuer, subject), marked used now with the email the provider reports now. */
export async function touchIdentity(tx: Tx, issuer: string, subject: string, email: string | null): Promise<IdentityRow | null> {
  return matched((await tx.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM oidc_touch_identity($1, $2, $3)`, [issuer, subject, email])).rows, 'id');
}

/** The identity (issuer, subject) if it is the transaction's own account's. */
export async function identityBySubject(tx: Tx, issuer: string, subject: string): Promise<IdentityRow | null> {
  const { rows } = await tx.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM account_identities WHERE issuer = $1 AND subject = $2`, [issuer, subject]);
  return rows[0] ?? null;
}

/** Links (issuer, subject) to the account; null if that identity is already linked (to anyone). */
export async function insertIdentity(
  tx: Tx,
  i: { id: string; accountId: string; issuer: string; subject: string; email: string | null; used: boolean },
): Promise<IdentityRow | null> {
  const { rows } = await tx.query<IdentityRow>(
    `INSERT INTO account_identities (id, account_id, issuer, subject, email, last_used_at)
     VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END)
     ON CONFLICT (issuer, subject) DO NOTHING
     RETURNING ${IDENTITY_COLUMNS}`,
    [i.id, i.accountId, i.issuer, i.subject, i.email, i.used],
  );
  return rows[0] ?? null;
}

export async function identitiesOf(tx: Tx, accountId: string): Promise<IdentityRow[]> {
  const { rows } = await tx.query<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM account_identities WHERE account_id = $1 ORDER BY created_at, id`, [accountId]);
  return rows;
}

/** Locks the account's identities (so two unlinks cannot both see "another one is left"). */
export async function lockIdentitiesOf(tx: Tx, accountId: string): Promise<IdentityRow[]> {
  const { rows } = await tx.query<IdentityRow>(
    `SELECT ${IDENTITY_COLUMNS} FROM account_identities WHERE account_id = $1 ORDER BY created_at, id FOR UPDATE`,
    [accountId],
  );
  return rows;
}

export async function deleteIdentity(tx: Tx, accountId: string, id: string): Promise<IdentityRow | null> {
  const { rows } = await tx.query<IdentityRow>(`DELETE FROM account_identities WHERE account_id = $1 AND id = $2 RETURNING ${IDENTITY_COLUMNS}`, [accountId, id]);
  return rows[0] ?? null;
}

export async function insertOffer(
  tx: Tx,
  o: { id: string; tokenHash: Buffer; bindingHash: Buffer; accountId: string; issuer: string; subject: string; email: string; ttlSeconds: number },
): Promise<void> {
  await purgeExpired(tx);
  await tx.query(
    `INSERT INTO oidc_link_offers (id, token_hash, binding_hash, account_id, issuer, subject, email, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
    [o.id, o.tokenHash, o.bindingHash, o.accountId, o.issuer, o.subject, o.email, o.ttlSeconds],
  );
}

/** Marks a live offer used and returns it, whoever's it is; null if unknown, used or expired. */
export async function claimOffer(tx: Tx, tokenHash: Buffer): Promise<OfferRow | null> {
  return matched((await tx.query<OfferRow>('SELECT * FROM oidc_claim_offer($1)', [tokenHash])).rows, 'id');
}
