/**
 * Request validation with the routes' zod schemas, and what its refusals say: plain words that
 * name the field ("name must be at most 100 characters", "email is not an email address",
 * "roleId is required"), never the validator's own wording. `details.issues[]` lists every
 * problem with its path (`body.name`, `querystring.limit`, `params.recordId`: stable, clients
 * may key on them) and the same sentence; the error's message joins the first few.
 *
 * A schema's own message (`.regex(re, 'must be a lowercase UUID')`) is kept, with the field
 * named before it. Nothing a client sent is repeated back except the names of unknown fields.
 */
import type { FastifySchemaCompiler } from 'fastify';
import type { z } from 'zod';
import { RampartError } from '../errors.js';
import { humanBytes } from './sizes.js';

/** What each part of a request is called when the problem is the part itself. */
const PART_NAMES: Record<string, string> = {
  body: 'the request body',
  querystring: 'the query string',
  params: 'the path',
  headers: 'the headers',
};

/** Issues named in the error's message; `details.issues` has them all. */
const MESSAGE_ISSUES = 3;
/** Client-chosen names (unknown fields, record keys) are cut to this many characters. */
const NAME_MAX = 64;

type RawIssue = z.core.$ZodRawIssue;

function clip(name: string): string {
  return name.length > NAME_MAX ? `${name.slice(0, NAME_MAX)}…` : name;
}

function quoted(value: unknown): string {
  return typeof value === 'string' ? `"${clip(value)}"` : String(value);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  bigint: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  record: 'an object',
  array: 'a list',
  null: 'null',
  date: 'a date',
};

/** What kind of JSON value was sent (never the value itself). */
function kindOf(input: unknown): string | null {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  switch (typeof input) {
    case 'string':
      return 'text';
    case 'number':
      return Number.isNaN(input) ? null : 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    default:
      return null;
  }
}

function expectedType(issue: Extract<RawIssue, { code: 'invalid_type' }>): string {
  const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
  const sent = kindOf(issue.input);
  // "must be a whole number, not a number" says nothing; only a different kind is worth naming.
  return sent === null || sent === expected || (issue.expected === 'int' && sent === 'a number') ? `must be ${expected}` : `must be ${expected}, not ${sent}`;
}

function tooBig(issue: Extract<RawIssue, { code: 'too_big' }>): string {
  const max = Number(issue.maximum);
  switch (issue.origin) {
    case 'string':
      return issue.inclusive ? `must be at most ${max} characters` : `must be fewer than ${max} characters`;
    case 'array':
    case 'set':
      return issue.inclusive ? `must have at most ${max} items` : `must have fewer than ${max} items`;
    case 'file':
      return `must be at most ${humanBytes(max)}`;
    case 'number':
    case 'int':
    case 'bigint':
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    default:
      return 'is too large';
  }
}

function tooSmall(issue: Extract<RawIssue, { code: 'too_small' }>): string {
  const min = Number(issue.minimum);
  switch (issue.origin) {
    case 'string':
      return min <= 1 ? 'must not be empty' : `must be at least ${min} characters`;
    case 'array':
    case 'set':
      return min <= 1 ? 'must not be empty' : `must have at least ${min} items`;
    case 'number':
    case 'int':
    case 'bigint':
      return issue.inclusive ? `must be at least ${min}` : `must be more than ${min}`;
    default:
      return 'is too small';
  }
}

const FORMATS: Record<string, string> = {
  email: 'is not an email address',
  url: 'is not a URL',
  uuid: 'is not a UUID',
  guid: 'is not a UUID',
  datetime: 'is not a date and time such as 2025-01-31T12:00:00Z',
  date: 'is not a date such as 2025-01-31',
  time: 'is not a time such as 12:00:00',
  regex: 'is not in the expected format',
};

/**
 * The predicate for an issue the schema did not word itself ("must be at most 100 characters");
 * the field is named in front of it later, when the whole path is known.
 */
function predicate(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : expectedType(issue);
    case 'too_big':
      return tooBig(issue);
    case 'too_small':
      return tooSmall(issue);
    case 'invalid_format':
      if (issue.format === 'starts_with' && 'prefix' in issue) return `must start with ${quoted(issue['prefix'])}`;
      if (issue.format === 'ends_with' && 'suffix' in issue) return `must end with ${quoted(issue['suffix'])}`;
      return FORMATS[issue.format] ?? `is not a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return issue.keys.length === 1
        ? `has an unknown field ${quoted(issue.keys[0])}`
        : `has unknown fields ${issue.keys.slice(0, 5).map(quoted).join(', ')}${issue.keys.length > 5 ? ', …' : ''}`;
    case 'invalid_value':
      if (issue.input === undefined) return 'is required';
      return issue.values.length === 1 ? `must be ${quoted(issue.values[0])}` : `must be one of ${issue.values.slice(0, 20).map(quoted).join(', ')}${issue.values.length > 20 ? ', …' : ''}`;
    case 'invalid_union':
      return issue.input === undefined ? 'is required' : 'is not any of the accepted forms';
    case 'invalid_key':
      return 'is not an accepted field name';
    case 'invalid_element':
      return 'has an item that is not accepted';
    default:
      return 'is not valid';
  }
}

/** `scopes.0` → `scopes[0]`: how people write a path into a JSON body. */
function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += `${out === '' ? '' : '.'}${clip(String(segment))}`;
  }
  return out;
}

/** The sentence for one issue: the field (or the part) named, then what is wrong. */
function sentence(part: string, issue: z.core.$ZodIssue, ours: boolean): string {
  const field = fieldName(issue.path);
  if (ours) return `${field === '' ? (PART_NAMES[part] ?? part) : field} ${issue.message}`;
  // A schema's own wording: kept whole when it names the field or stands alone (a rule about the
  // whole body), else the field is put before it.
  if (field === '' || issue.message.toLowerCase().includes(field.toLowerCase())) return issue.message;
  return /^(must|is|are|has|cannot|may) /.test(issue.message) ? `${field} ${issue.message}` : `${field}: ${issue.message}`;
}

/** The refusal for a part of the request that failed its schema. */
export function validationError(part: string, issues: readonly z.core.$ZodIssue[], ours: ReadonlySet<string>): RampartError {
  const listed = issues.map((issue) => ({
    path: [part, ...issue.path.map(String)].join('.'),
    message: sentence(part, issue, ours.has(issue.message)),
  }));
  const named = listed.slice(0, MESSAGE_ISSUES).map((i) => i.message);
  const more = listed.length - named.length;
  const message = `${named.join('; ')}${more > 0 ? `; and ${more} more` : ''}.`;
  // Malformed path parameters are identifiers that cannot be: `invalid_id`, as the auth hook says.
  return new RampartError(part === 'params' ? 'invalid_id' : 'validation_failed', { message, details: { issues: listed } });
}

/** Fastify's validator compiler for zod schemas, with Rampart's wording. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const ours = new Set<string>();
    const result = schema.safeParse(data, {
      error: (issue) => {
        const said = predicate(issue);
        ours.add(said);
        return said;
      },
    });
    if (result.success) return { value: result.data };
    return { error: validationError(httpPart ?? 'request', result.error.issues, ours) };
  };
