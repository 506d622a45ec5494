/**
 * Authenticator apps (RFC 6238): SHA-1, 6 digits, 30-second steps — the parameters every app
 * supports — accepted one step either side of now, each step at most once. The secret is kept
 * as AES-256-GCM ciphertext bound to its account.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';

export const TOTP_ISSUER = 'Rampart';
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of the current one (clock drift, a code typed as it changes). */
export const TOTP_WINDOW_STEPS = 1;
/** 160-bit secrets, the size RFC 4226 recommends for HMAC-SHA-1. */
const SECRET_BYTES = 20;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function newTotpSecret(): string {
  return generateSecret({ length: SECRET_BYTES });
}

export function otpauthUrl(secret: string, accountEmail: string): string {
  return generateURI({
    issuer: TOTP_ISSUER,
    label: accountEmail,
    secret,
    algorithm: 'sha1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

/** A code as typed: digits, maybe with spaces in the middle ("123 456"). */
export function normaliseTotpCode(input: string): string | null {
  const code = input.replace(/\s+/g, '');
  return new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code) ? code : null;
}

/**
 * The time step `code` belongs to, if it is within the window and newer than `afterStep`
 * (the newest step already used); null otherwise. The caller must then spend the step atomically.
 */
export async function matchTotpStep(secret: string, code: string, afterStep: number, nowMs = Date.now()): Promise<number | null> {
  const token = normaliseTotpCode(code);
  if (token === null) return null;
  try {
    const result = await verify({
      secret,
      token,
      algorithm: 'sha1',
      digits: TOTP_DIGITS,
      period: TOTP_PERIOD_SECONDS,
      epoch: Math.floor(nowMs / 1000),
      epochTolerance: TOTP_WINDOW_STEPS * TOTP_PERIOD_SECONDS,
      ...(afterStep > 0 ? { afterTimeStep: afterStep } : {}),
    });
    return result.valid && 'timeStep' in result ? result.timeStep : null;
  } catch {
    // otplib throws when the last used step lies beyond the window (a clock set back): no match.
    return null;
  }
}

/** Encrypts a TOTP secret: IV ‖ ciphertext ‖ tag, with the account id as additional data. */
export function sealSecret(key: Buffer, accountId: string, secret: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(accountId, 'utf8'));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Decrypts a sealed secret; throws if it was altered or belongs to another account. */
export function openSecret(key: Buffer, accountId: string, sealed: Buffer): string {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const body = sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(accountId, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
}
