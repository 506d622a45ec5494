import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

/** Time-ordered UUIDv7: new rows cluster at the end of their indexes and paginate by creation. */
export function newId(): string {
  return uuidv7();
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** An unguessable opaque token: a short prefix naming its kind, then 256 random bits. */
export function randomToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

export function hmacSha256(key: Buffer, value: string | Buffer): Buffer {
  return createHmac('sha256', key).update(value).digest();
}

/** Constant-time string comparison: equal-length digests hide where, and whether, lengths differ. */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A 32-byte key for one purpose, derived from the root secret with HKDF-SHA256. */
export function deriveKey(rootSecret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(rootSecret, 'utf8'), Buffer.alloc(0), `rampart:${purpose}`, 32));
}

/**
 * A token that carries the tenant it belongs to: `<prefix>_` then the tenant id (22 base64url
 * characters) then 256 random bits (43). The tenant part only says where to look — the lookup
 * is by the whole token's digest, inside that tenant — so it can be found without a global
 * index while row-level security stays on.
 */
export function tenantBoundToken(prefix: string, tenantId: string): string {
  const tenant = Buffer.from(tenantId.replaceAll('-', ''), 'hex').toString('base64url');
  return `${prefix}_${tenant}${randomBytes(32).toString('base64url')}`;
}

/** The tenant a tenant-bound token names, or null when the token is not one. */
export function tenantOfToken(prefix: string, token: string): string | null {
  const match = new RegExp(`^${prefix}_([A-Za-z0-9_-]{22})[A-Za-z0-9_-]{43}$`).exec(token);
  if (!match) return null;
  const hex = Buffer.from(match[1] as string, 'base64url').toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return isUuid(id) ? id : null;
}
