/**
 * Recovery codes: ten per account, each 10 characters of Crockford base32 (50 random bits),
 * shown grouped as `xxxxx-xxxxx` once, stored only as HMAC-SHA256 under a key derived from the
 * root secret (so a copy of the table alone cannot be brute-forced), each usable once.
 */
import { randomBytes } from 'node:crypto';
import { hmacSha256 } from '../../platform/ids.js';
import { RECOVERY_CODE_COUNT } from './store.js';

export { RECOVERY_CODE_COUNT };

/** Crockford's base32 alphabet: no I, L, O, U. */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const CODE_LENGTH = 10;

export function newRecoveryCodes(): string[] {
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) {
    const bytes = randomBytes(CODE_LENGTH);
    // 256 is a multiple of 32: taking the low five bits of each byte keeps every symbol equally likely.
    let code = '';
    for (const b of bytes) code += ALPHABET[b & 31];
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return [...codes];
}

/**
 * A code as typed, in canonical form (lowercase, no separators), or null if it cannot be one.
 * Case, dashes and spaces do not matter; Crockford's look-alikes (I, L → 1; O → 0) are accepted.
 */
export function normaliseRecoveryCode(input: string): string | null {
  const code = input
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
  if (code.length !== CODE_LENGTH) return null;
  for (const c of code) if (!ALPHABET.includes(c)) return null;
  return code;
}

/** The stored digest of a (normalised) code, bound to its account. */
export function recoveryCodeHash(key: Buffer, accountId: string, normalised: string): Buffer {
  return hmacSha256(key, `${accountId}:${normalised}`);
}
