/** Schemas shared by every module's routes. */
import { z } from 'zod';
import { UUID_PATTERN } from '../ids.js';

/** Identifiers are lowercase UUIDs; anything else is `invalid_id` (400) before any lookup. */
export const Id = z.string().regex(UUID_PATTERN, 'must be a lowercase UUID');

export const WorkspaceParams = z.strictObject({ workspaceId: Id.describe('Workspace id.') });

/** Keyset pagination: an opaque cursor from the previous page and a page size. */
export const PageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('Page size, 1–200.'),
  cursor: z.string().max(200).optional().describe('The nextCursor of the previous page.'),
};

export function page<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page.'),
  });
}

export const NoContent = z.undefined().describe('No content.');

/**
 * `filter[field]=value` on a list of records, declared for the OpenAPI document (an object in the
 * query: `style: deepObject`); the values are read from the raw query string by the records
 * service (parseFilters), which refuses what this cannot say (docs/api.md).
 */
export function filterParam(max: number) {
  return z
    .record(z.string(), z.string())
    .optional()
    .describe(`filter[field]=value: records whose top-level field equals value (read as JSON when it is a JSON scalar, else as a string); up to ${max}, combined with AND.`);
}

/**
 * Characters that let a name shown to other people pass for another, or for nothing: C0 and C1
 * controls, bidirectional marks, embeddings, overrides and isolates (U+202E shows
 * "report\u202Efdp.exe" as "reportexe.pdf"), line and paragraph separators, and invisible format
 * characters (zero-width space, word joiner, invisible operators, byte order mark, …).
 */
const HIDDEN = /[\u0000-\u001F\u007F-\u009F\u061C\u180E\u200B\u200E\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]/u;
/** The same, less the tab and line breaks a longer text may hold. */
const HIDDEN_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u061C\u180E\u200B\u200E\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]/u;
/**
 * Zero-width (non-)joiners belong inside words of scripts that need them (Persian, Indic) and in
 * emoji sequences; at either end or next to ASCII they only hide something.
 */
const STRAY_JOINER = /(?:^|[\u0000-\u007F])[\u200C\u200D]|[\u200C\u200D](?:$|[\u0000-\u007F])/u;
const HIDDEN_MESSAGE = 'must not contain control characters, bidirectional overrides or invisible characters';

function shownSafely(hidden: RegExp): (value: string) => boolean {
  return (value) => !hidden.test(value) && !STRAY_JOINER.test(value);
}

/**
 * The one rule for a name other people are shown (a workspace, a role, an API key, a token, a
 * person): Unicode NFC, trimmed, 1 to `max` characters (0 with `allowEmpty`), and none of the
 * characters above.
 */
export function displayName(max: number, options: { allowEmpty?: boolean } = {}) {
  // Checked as sent, before trimming (which would quietly drop a byte order mark at an end).
  const base = z.string().refine(shownSafely(HIDDEN), { message: HIDDEN_MESSAGE, abort: true }).normalize('NFC').trim();
  return (options.allowEmpty ? base : base.min(1))
    .max(max)
    .describe(`${options.allowEmpty ? 'Up to' : '1 to'} ${max} characters, trimmed, kept in Unicode NFC; no control, bidirectional or invisible characters.`);
}

/** Every character of HIDDEN, to remove them all. */
const HIDDEN_ALL = new RegExp(HIDDEN.source, 'gu');
/** A joiner at either end or next to ASCII (STRAY_JOINER), to remove it and keep its neighbour. */
const STRAY_JOINER_ALL = /(?<=^|[\u0000-\u007F])[\u200C\u200D]+|[\u200C\u200D]+(?=$|[\u0000-\u007F])/gu;

/**
 * A name an identity provider asserts (a SAML attribute, an OpenID Connect profile, a SCIM user)
 * made safe to show by the same rule as `displayName`: the characters it refuses are removed, not
 * refused — the person signing in cannot fix what their directory holds, and refusing would lock
 * them out — runs of spaces become one, the result is NFC, trimmed and at most `max` characters
 * (never cutting a character in two). May be empty.
 */
export function cleanDisplayName(raw: string, max: number): string {
  const cleaned = raw.normalize('NFC').replace(HIDDEN_ALL, ' ').replace(STRAY_JOINER_ALL, '').replace(/\s+/gu, ' ').trim();
  return Array.from(cleaned).slice(0, max).join('').trim();
}

/** A longer text shown to other people (a description): as a display name, but lines may break. */
export function displayText(max: number) {
  return z
    .string()
    .refine(shownSafely(HIDDEN_IN_TEXT), { message: HIDDEN_MESSAGE, abort: true })
    .normalize('NFC')
    .trim()
    .max(max)
    .describe(`Up to ${max} characters, kept in Unicode NFC; no control (but line breaks), bidirectional or invisible characters.`);
}
