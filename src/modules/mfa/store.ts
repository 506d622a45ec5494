/**
 * SQL for second factors: authenticator apps, passkeys, recovery codes and pending WebAuthn
 * challenges. Global tables scoped to their account (migration 0013): every statement names the
 * account it acts for, and runs in a transaction of that account. A passkey named by its
 * credential id before any account is known is found through the definer function auth_passkey.
 * Statement text is fixed; values are always parameters.
 */
import { matched, type Tx } from '../../platform/db/types.js';

export type TotpRow = {
  secret_ciphertext: Buffer;
  confirmed_at: Date | null;
  last_used_step: number;
};

export type PasskeyRow = {
  id: string;
  account_id: string;
  credential_id: Buffer;
  public_key: Buffer;
  counter: number;
  transports: string[];
  name: string;
  aaguid: string;
  backed_up: boolean;
  device_type: 'singleDevice' | 'multiDevice';
  created_at: Date;
  last_used_at: Date | null;
};

const PASSKEY_COLUMNS = 'id, account_id, credential_id, public_key, counter, transports, name, aaguid, backed_up, device_type, created_at, last_used_at';

export type FactorSummary = { totp: boolean; passkeys: number; recovery_left: number };

/** Which factors an account has, in one statement. */
export async function summary(tx: Tx, accountId: string): Promise<FactorSummary> {
  const { rows } = await tx.query<FactorSummary>(
    `SELECT EXISTS (SELECT 1 FROM totp_factors WHERE account_id = $1 AND confirmed_at IS NOT NULL) AS totp,
            (SELECT count(*)::int FROM webauthn_credentials WHERE account_id = $1) AS passkeys,
            (SELECT count(*)::int FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL) AS recovery_left`,
    [accountId],
  );
  return rows[0] as FactorSummary;
}

// --- TOTP ------------------------------------------------------------------------------------------

export async function totpFactor(tx: Tx, accountId: string): Promise<TotpRow | null> {
  const { rows } = await tx.query<TotpRow>('SELECT secret_ciphertext, confirmed_at, last_used_step FROM totp_factors WHERE account_id = $1', [accountId]);
  return rows[0] ?? null;
}

/** Starts (or restarts) an enrolment; refused (false) while a confirmed factor exists. */
export async function upsertPendingTotp(tx: Tx, accountId: string, ciphertext: Buffer): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO totp_factors (account_id, secret_ciphertext) VALUES ($1, $2)
     ON CONFLICT (account_id) DO UPDATE SET secret_ciphertext = EXCLUDED.secret_ciphertext, last_used_step = 0, created_at = now()
       WHERE totp_factors.confirmed_at IS NULL`,
    [accountId, ciphertext],
  );
  return rowCount === 1;
}

/**
 * Spends a time step: true only if it is newer than every step used before. Atomic, so two
 * concurrent uses of one code cannot both pass. `confirm` also marks an enrolment confirmed.
 */
export async function useTotpStep(tx: Tx, accountId: string, step: number, confirm: boolean): Promise<boolean> {
  const { rowCount } = await tx.query(
    confirm
      ? `UPDATE totp_factors SET last_used_step = $2, confirmed_at = now()
          WHERE account_id = $1 AND confirmed_at IS NULL AND last_used_step < $2`
      : `UPDATE totp_factors SET last_used_step = $2
          WHERE account_id = $1 AND confirmed_at IS NOT NULL AND last_used_step < $2`,
    [accountId, step],
  );
  return rowCount === 1;
}

export async function deleteTotp(tx: Tx, accountId: string, confirmedOnly: boolean): Promise<boolean> {
  const { rowCount } = await tx.query(
    confirmedOnly ? 'DELETE FROM totp_factors WHERE account_id = $1 AND confirmed_at IS NOT NULL' : 'DELETE FROM totp_factors WHERE account_id = $1',
    [accountId],
  );
  return rowCount === 1;
}

// --- recovery codes --------------------------------------------------------------------------------

/** How many recovery codes an account has (the insert below has one fixed text for them). */
export const RECOVERY_CODE_COUNT = 10;
const INSERT_RECOVERY_CODES = `INSERT INTO recovery_codes (account_id, code_hash) VALUES ${Array.from(
  { length: RECOVERY_CODE_COUNT },
  (_, i) => `($1, $${i + 2})`,
).join(', ')}`;

/** Replaces the account's recovery codes with these digests. */
export async function replaceRecoveryCodes(tx: Tx, accountId: string, hashes: readonly Buffer[]): Promise<void> {
  if (hashes.length !== RECOVERY_CODE_COUNT) throw new Error(`expected ${RECOVERY_CODE_COUNT} recovery codes`);
  await tx.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
  await tx.query(INSERT_RECOVERY_CODES, [accountId, ...hashes]);
}

export async function deleteRecoveryCodes(tx: Tx, accountId: string): Promise<void> {
  await tx.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
}

/** Spends a recovery code: true exactly once per code. */
export async function useRecoveryCode(tx: Tx, accountId: string, hash: Buffer): Promise<boolean> {
  const { rowCount } = await tx.query('UPDATE recovery_codes SET used_at = now() WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL', [
    accountId,
    hash,
  ]);
  return rowCount === 1;
}

// --- passkeys --------------------------------------------------------------------------------------

export async function passkeys(tx: Tx, accountId: string): Promise<PasskeyRow[]> {
  const { rows } = await tx.query<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id`, [accountId]);
  return rows;
}

/** The passkey an authenticator names by its credential id, whoever's it is (sign-in). */
export async function passkeyByCredentialId(tx: Tx, credentialId: Buffer): Promise<PasskeyRow | null> {
  return matched((await tx.query<PasskeyRow>(`SELECT ${PASSKEY_COLUMNS} FROM auth_passkey($1)`, [credentialId])).rows, 'id');
}

/** Stores a new passkey; null when that credential is already registered. */
export async function insertPasskey(
  tx: Tx,
  p: {
    id: string;
    accountId: string;
    credentialId: Buffer;
    publicKey: Buffer;
    counter: number;
    transports: string[];
    name: string;
    aaguid: string;
    backedUp: boolean;
    deviceType: string;
  },
): Promise<PasskeyRow | null> {
  const { rows } = await tx.query<PasskeyRow>(
    `INSERT INTO webauthn_credentials (id, account_id, credential_id, public_key, counter, transports, name, aaguid, backed_up, device_type)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (credential_id) DO NOTHING
     RETURNING ${PASSKEY_COLUMNS}`,
    [p.id, p.accountId, p.credentialId, p.publicKey, p.counter, p.transports, p.name, p.aaguid, p.backedUp, p.deviceType],
  );
  return rows[0] ?? null;
}

export async function renamePasskey(tx: Tx, accountId: string, id: string, name: string): Promise<PasskeyRow | null> {
  const { rows } = await tx.query<PasskeyRow>(`UPDATE webauthn_credentials SET name = $3 WHERE account_id = $1 AND id = $2 RETURNING ${PASSKEY_COLUMNS}`, [
    accountId,
    id,
    name,
  ]);
  return rows[0] ?? null;
}

export async function deletePasskey(tx: Tx, accountId: string, id: string): Promise<boolean> {
  const { rowCount } = await tx.query('DELETE FROM webauthn_credentials WHERE account_id = $1 AND id = $2', [accountId, id]);
  return rowCount === 1;
}

/**
 * Records a use. The counter moves only forward (or stays 0 for authenticators without one), in
 * one conditional statement, so two uses reporting the same counter cannot both pass.
 */
export async function usePasskey(tx: Tx, id: string, expectedCounter: number, newCounter: number, backedUp: boolean): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE webauthn_credentials SET counter = $3, backed_up = $4, last_used_at = now()
      WHERE id = $1 AND counter = $2 AND ($3 > $2 OR ($3 = 0 AND $2 = 0))`,
    [id, expectedCounter, newCounter, backedUp],
  );
  return rowCount === 1;
}

// --- WebAuthn challenges ---------------------------------------------------------------------------

export async function putRegistration(tx: Tx, accountId: string, challenge: string, ttlSeconds: number): Promise<void> {
  await tx.query(
    `INSERT INTO webauthn_registrations (account_id, challenge, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
     ON CONFLICT (account_id) DO UPDATE SET challenge = EXCLUDED.challenge, expires_at = EXCLUDED.expires_at`,
    [accountId, challenge, ttlSeconds],
  );
}

/** Takes the account's pending registration challenge (single use); null if none is live. */
export async function takeRegistration(tx: Tx, accountId: string): Promise<string | null> {
  const { rows } = await tx.query<{ challenge: string; live: boolean }>(
    'DELETE FROM webauthn_registrations WHERE account_id = $1 RETURNING challenge, expires_at > now() AS live',
    [accountId],
  );
  const row = rows[0];
  return row?.live ? row.challenge : null;
}

export async function putSignInChallenge(tx: Tx, id: string, challenge: string, ttlSeconds: number): Promise<void> {
  // Expired challenges nobody answered are swept a few at a time as new ones arrive.
  await tx.query(
    `DELETE FROM webauthn_sign_in_challenges WHERE id IN (
       SELECT id FROM webauthn_sign_in_challenges WHERE expires_at < now() ORDER BY expires_at LIMIT 20)`,
  );
  await tx.query('INSERT INTO webauthn_sign_in_challenges (id, challenge, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))', [
    id,
    challenge,
    ttlSeconds,
  ]);
}

/** Takes a passwordless sign-in challenge (single use); null if unknown, used or expired. */
export async function takeSignInChallenge(tx: Tx, id: string): Promise<string | null> {
  const { rows } = await tx.query<{ challenge: string; live: boolean }>(
    'DELETE FROM webauthn_sign_in_challenges WHERE id = $1 RETURNING challenge, expires_at > now() AS live',
    [id],
  );
  const row = rows[0];
  return row?.live ? row.challenge : null;
}
