/**
 * What the SCIM server accepts, as zod schemas over the canonical documents of patch.ts: loose
 * where SCIM is (unknown attributes were already dropped), strict on every type it uses.
 */
import { z } from 'zod';
import { displayName, Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { invalidSyntax, invalidValue } from './errors.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, MAX_MEMBERS_PER_REQUEST, MAX_PATCH_OPERATIONS, PATCH_SCHEMA, USER_SCHEMA } from './resources.js';

const text = (max: number) => z.string().max(max);
const optionalText = (max: number) => text(max).nullish();

export const Email = z.object({
  value: z.string().trim().min(3).max(254),
  type: optionalText(32),
  primary: z.boolean().nullish(),
  display: optionalText(256),
});

export const Enterprise = z.object({
  employeeNumber: optionalText(256),
  costCenter: optionalText(256),
  organization: optionalText(256),
  division: optionalText(256),
  department: optionalText(256),
  manager: z.object({ value: optionalText(256), displayName: optionalText(256) }).nullish(),
});

export const UserDoc = z.object({
  userName: z.string().trim().min(1).max(254),
  externalId: z.string().min(1).max(512).nullish(),
  displayName: optionalText(256),
  name: z.object({ givenName: optionalText(256), familyName: optionalText(256), formatted: optionalText(512) }).nullish(),
  emails: z.array(Email).max(20).nullish(),
  active: z.boolean().optional(),
  [ENTERPRISE_SCHEMA]: Enterprise.nullish(),
});
export type UserDocValue = z.infer<typeof UserDoc>;

export const Member = z.object({ value: z.string().trim().min(1).max(64), display: z.unknown().optional(), type: z.unknown().optional(), $ref: z.unknown().optional() });

export const GroupDoc = z.object({
  displayName: z.string().trim().min(1).max(256),
  externalId: z.string().min(1).max(256).nullish(),
  members: z.array(Member).max(MAX_MEMBERS_PER_REQUEST).nullish(),
});
export type GroupDocValue = z.infer<typeof GroupDoc>;

const Operation = z.object({
  op: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(['add', 'replace', 'remove'])),
  path: z.string().max(1000).optional(),
  value: z.unknown().optional(),
});

export const PatchBody = z.object({
  schemas: z.array(z.string()).refine((v) => v.length === 1 && v[0] === PATCH_SCHEMA, `schemas must be ["${PATCH_SCHEMA}"]`),
  Operations: z.array(Operation).min(1).max(MAX_PATCH_OPERATIONS),
});

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || 'body'}: ${i.message}`)
    .join('; ');
}

/** 400 invalidValue with the first problems, or the parsed value. */
export function validate<T extends z.ZodType>(schema: T, value: unknown, syntax = false): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw (syntax ? invalidSyntax : invalidValue)(describe(parsed.error));
  return parsed.data;
}

/**
 * A resource body: a JSON object whose `schemas` name its core schema and otherwise only schemas
 * this server serves for it. An extension URN this server does not know is ignored when the body
 * carries none of its attributes (no key that is the URN or starts with it), as Entra ID names its
 * ADSCIM group schema: it asks for nothing. One whose attributes are present is refused, and so
 * is a schema this server serves for another resource type.
 */
export function resourceBody(body: unknown, core: typeof USER_SCHEMA | typeof GROUP_SCHEMA): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidSyntax('The body must be a JSON object.');
  const record = body as Record<string, unknown>;
  const schemas = Object.entries(record).find(([k]) => k.toLowerCase() === 'schemas')?.[1];
  if (!Array.isArray(schemas) || schemas.length === 0 || schemas.some((x) => typeof x !== 'string')) {
    throw invalidSyntax('"schemas" must be a non-empty array of schema URNs.');
  }
  const allowed = (core === USER_SCHEMA ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [GROUP_SCHEMA]).map((urn) => urn.toLowerCase());
  const served = [USER_SCHEMA, ENTERPRISE_SCHEMA, GROUP_SCHEMA].map((urn) => urn.toLowerCase());
  const keys = Object.keys(record).map((k) => k.toLowerCase());
  for (const urn of schemas as string[]) {
    const lower = urn.toLowerCase();
    if (allowed.includes(lower)) continue;
    if (served.includes(lower) || keys.some((k) => k === lower || k.startsWith(`${lower}:`))) throw invalidValue(`Unknown schema "${urn.slice(0, 200)}".`);
  }
  if (!(schemas as string[]).some((x) => x.toLowerCase() === core.toLowerCase())) throw invalidSyntax(`"schemas" must include "${core}".`);
  return record;
}

const Int = z
  .string()
  .regex(/^-?\d{1,9}$/, 'must be an integer')
  .transform(Number);

/** The query of a list (RFC 7644 §3.4.2): repeated parameters are refused. */
export const ListQuery = z.object({
  filter: z.string().max(20_000).optional(),
  startIndex: Int.optional(),
  count: Int.optional(),
  attributes: z.string().max(2000).optional(),
  excludedAttributes: z.string().max(2000).optional(),
  sortBy: z.string().max(200).optional(),
  sortOrder: z.string().max(20).optional(),
});

export const ResourceQuery = ListQuery.pick({ attributes: true, excludedAttributes: true });

// --- the admin API of SCIM tokens (/api/v1) ------------------------------------------------------

export const ScimToken = z
  .object({
    id: Id,
    name: z.string(),
    prefix: z.string().describe('The first characters of the token (rscim_…), to recognise it.'),
    createdBy: Id.nullable(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable().describe('Updated at most about once a minute.'),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ScimToken' });

export const CreatedScimToken = ScimToken.extend({
  token: z.string().describe('The bearer token for the identity provider. Shown only in this response; store it now.'),
  baseUrl: z.string().describe("The SCIM base URL of this workspace, for the identity provider's configuration."),
}).meta({ id: 'CreatedScimToken' });

export const CreateScimTokenBody = z.strictObject({
  name: displayName(100).describe('What the token is for (say, the identity provider), 1–100 characters; no control, bidirectional or invisible characters.'),
});

export const ScimTokenParams = WorkspaceParams.extend({ tokenId: Id.describe('SCIM token id.') });

export type ScimTokenView = z.infer<typeof ScimToken>;
