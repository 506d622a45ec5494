import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { RampartError } from '../../platform/errors.js';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A domain as stored: lower-case ASCII (internationalised names in punycode), no trailing dot,
 * at least two labels, each a valid host label, the last not all digits. Anything else is
 * `domain_invalid`.
 */
export function normalizeDomain(input: string): string {
  const trimmed = input.trim().replace(/\.$/, '');
  if (trimmed.length === 0 || trimmed.length > 253 || isIP(trimmed) !== 0) throw new RampartError('domain_invalid');
  const ascii = domainToASCII(trimmed).toLowerCase();
  const labels = ascii.split('.');
  if (ascii.length === 0 || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels.at(-1) ?? '')) {
    throw new RampartError('domain_invalid');
  }
  return ascii;
}

/** The domain of an email address as stored (lower-case ASCII), or null if it has none usable. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at < 1) return null;
  try {
    return normalizeDomain(email.slice(at + 1));
  } catch {
    return null;
  }
}

export const TXT_PREFIX = 'rampart-domain-verification=';
/** Where the TXT record may be published: at the domain, or at this label under it. */
export const TXT_LABEL = '_rampart';
