/**
 * API key secrets: `rk_live_` + 43 base62 characters (256 random bits) + 6 base62 characters of
 * CRC-32 over the random part. The fixed prefix lets secret scanners find leaked keys; the
 * checksum lets them (and Rampart, before any lookup) tell a real key from a look-alike offline.
 * Base62 keeps the whole secret one word: a double-click selects all of it.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { API_KEY_PREFIX } from '../../platform/http/auth.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY_LENGTH = 43;
const CHECK_LENGTH = 6;
export const API_KEY_PATTERN = /^rk_live_[0-9A-Za-z]{49}$/;

function base62(value: bigint, length: number): string {
  let out = '';
  let n = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

function checksum(body: string): string {
  return base62(BigInt(crc32(body)), CHECK_LENGTH);
}

export function newApiKeySecret(): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_LENGTH);
  return `${API_KEY_PREFIX}${body}${checksum(body)}`;
}

/** Whether a string has the shape and checksum of an API key secret. */
export function isWellFormedApiKey(secret: string): boolean {
  if (!API_KEY_PATTERN.test(secret)) return false;
  const body = secret.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + BODY_LENGTH);
  return secret.endsWith(checksum(body));
}

/** What is shown to recognise a key: the prefix and the first 4 characters. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, API_KEY_PREFIX.length + 4);
}
