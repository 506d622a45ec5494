/**
 * SCIM filters (RFC 7644 §3.4.2.2). Parsing is `scim2-parse-filter` (maintained, the full
 * grammar: every operator, and/or/not, precedence, parentheses, value paths); this file
 * compiles its syntax tree to a parameterised SQL condition — values only ever travel as
 * parameters — over the columns of scim_users or scim_groups, and evaluates value filters of
 * PATCH paths (`members[value eq "…"]`) in memory.
 *
 * String attributes that RFC 7643 makes case-insensitive (userName, displayName, emails) compare
 * lower-cased against lower($n); userName and a group's displayName through their stored
 * lower-cased copies, which the unique indexes are on, so `userName eq "…"` is an index scan even
 * under row-level security (see Column.ci). Attribute names are case-insensitive; a core schema's URN
 * before an attribute is allowed. Anything else — an unknown attribute, an operator that makes
 * no sense for the attribute's type, a value of the wrong type — is 400 invalidFilter.
 */
import { parse, type Filter } from 'scim2-parse-filter';
import { isUuid } from '../../platform/ids.js';
import { invalidFilter } from './errors.js';
import { GROUP_SCHEMA, USER_SCHEMA } from './resources.js';

/** Longer filters are refused before parsing. */
export const MAX_FILTER_LENGTH = 2000;
/** Filters with more comparisons than this are refused. */
export const MAX_FILTER_TERMS = 50;

type Kind = 'string' | 'exact' | 'uuid' | 'boolean' | 'datetime';
interface Column {
  readonly sql: string;
  readonly kind: Kind;
  /**
   * For case-insensitive strings: a stored lower-cased copy with an index. Under row-level
   * security the planner uses an index condition only if its functions of the row are
   * leakproof; lower(column) is not, column_ci = lower($1) is (the function is on the parameter).
   */
  readonly ci?: string;
}
interface MultiValued {
  readonly exists: (condition: string) => string;
  readonly sub: Readonly<Record<string, Column>>;
}
export interface FilterTarget {
  readonly schema: string;
  readonly columns: Readonly<Record<string, Column>>;
  readonly multi: Readonly<Record<string, MultiValued>>;
}

const meta = (alias: string) => ({
  'meta.created': { sql: `date_trunc('milliseconds', ${alias}.created_at)`, kind: 'datetime' as const },
  'meta.lastmodified': { sql: `date_trunc('milliseconds', ${alias}.updated_at)`, kind: 'datetime' as const },
});

export const USER_FILTER: FilterTarget = {
  schema: USER_SCHEMA,
  columns: {
    id: { sql: 'u.id', kind: 'uuid' },
    username: { sql: 'u.user_name', kind: 'string', ci: 'u.user_name_ci' },
    externalid: { sql: 'u.external_id', kind: 'exact' },
    displayname: { sql: 'u.display_name', kind: 'string' },
    active: { sql: 'u.active', kind: 'boolean' },
    'name.givenname': { sql: 'u.given_name', kind: 'string' },
    'name.familyname': { sql: 'u.family_name', kind: 'string' },
    'name.formatted': { sql: 'u.formatted_name', kind: 'string' },
    ...meta('u'),
  },
  multi: {
    emails: {
      exists: (c) => `EXISTS (SELECT 1 FROM jsonb_array_elements(u.emails) AS e(v) WHERE ${c})`,
      sub: {
        value: { sql: "(e.v->>'value')", kind: 'string' },
        type: { sql: "(e.v->>'type')", kind: 'string' },
        primary: { sql: "((e.v->'primary') = 'true'::jsonb)", kind: 'boolean' },
      },
    },
    groups: {
      exists: (c) => `EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.tenant_id = u.tenant_id AND gm.user_id = u.id AND ${c})`,
      sub: { value: { sql: 'gm.group_id', kind: 'uuid' } },
    },
  },
};

export const GROUP_FILTER: FilterTarget = {
  schema: GROUP_SCHEMA,
  columns: {
    id: { sql: 'g.id', kind: 'uuid' },
    displayname: { sql: 'g.display_name', kind: 'string', ci: 'g.display_name_ci' },
    externalid: { sql: 'g.external_id', kind: 'exact' },
    ...meta('g'),
  },
  multi: {
    members: {
      exists: (c) => `EXISTS (SELECT 1 FROM scim_group_members gm WHERE gm.tenant_id = g.tenant_id AND gm.group_id = g.id AND ${c})`,
      sub: { value: { sql: 'gm.user_id', kind: 'uuid' } },
    },
  },
};

/** Parses a filter, refusing what is too long or too complex; 400 invalidFilter on any failure. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH) throw invalidFilter(`A filter is at most ${MAX_FILTER_LENGTH} characters.`);
  let ast: Filter;
  try {
    ast = parse(text);
  } catch (err) {
    // The parser's messages name the offending token of the client's own filter.
    const why = err instanceof RangeError ? 'nested too deeply' : err instanceof Error ? err.message.slice(0, 200) : 'unparseable';
    throw invalidFilter(`The filter could not be parsed: ${why}.`);
  }
  if (terms(ast) > MAX_FILTER_TERMS) throw invalidFilter(`A filter has at most ${MAX_FILTER_TERMS} comparisons.`);
  return ast;
}

function terms(f: Filter): number {
  switch (f.op) {
    case 'and':
    case 'or':
      return (f as { filters: Filter[] }).filters.reduce((n, x) => n + terms(x), 0);
    case 'not':
      return terms((f as { filter: Filter }).filter);
    case '[]':
      return terms((f as { valFilter: Filter }).valFilter);
    default:
      return 1;
  }
}

/** An attribute path as written (schema URN allowed), lower-cased, without the URN. */
export function normalizeAttrPath(path: string, schema: string): string {
  const lower = path.toLowerCase();
  const prefix = `${schema.toLowerCase()}:`;
  return lower.startsWith(prefix) ? lower.slice(prefix.length) : lower;
}

export interface CompiledFilter {
  readonly sql: string;
  readonly params: unknown[];
}

/** Compiles a filter to a SQL condition whose parameters start at `$firstParam`. */
export function compileFilter(ast: Filter, target: FilterTarget, firstParam: number): CompiledFilter {
  const params: unknown[] = [];
  const bind = (value: unknown, cast: string) => {
    params.push(value);
    return `$${firstParam + params.length - 1}::${cast}`;
  };

  const compile = (f: Filter, scope: Readonly<Record<string, Column>> | null): string => {
    switch (f.op) {
      case 'and':
      case 'or': {
        const parts = (f as { filters: Filter[] }).filters.map((x) => `(${compile(x, scope)})`);
        return parts.join(f.op === 'and' ? ' AND ' : ' OR ');
      }
      case 'not':
        return `NOT coalesce((${compile((f as { filter: Filter }).filter, scope)}), false)`;
      case '[]': {
        if (scope) throw invalidFilter('Value filters do not nest.');
        const { attrPath, valFilter } = f as { attrPath: string; valFilter: Filter };
        const multi = target.multi[normalizeAttrPath(attrPath, target.schema)];
        if (!multi) throw invalidFilter(`"${attrPath.slice(0, 100)}" is not a multi-valued attribute that can be filtered.`);
        return multi.exists(compile(valFilter, multi.sub));
      }
      default: {
        const { attrPath, op } = f as { attrPath: string; op: string };
        const compValue = (f as { compValue?: unknown }).compValue;
        const name = scope ? attrPath.toLowerCase() : normalizeAttrPath(attrPath, target.schema);
        if (scope) {
          const column = scope[name];
          if (!column) throw invalidFilter(`Unknown sub-attribute "${attrPath.slice(0, 100)}".`);
          return leaf(column, op, compValue, bind);
        }
        const column = target.columns[name];
        if (column) return leaf(column, op, compValue, bind);
        // emails, emails.value, members.value: a condition on the multi-valued attribute's elements.
        const [head, sub = 'value', ...rest] = name.split('.');
        const multi = target.multi[head ?? ''];
        const subColumn = multi?.sub[sub];
        if (!multi || !subColumn || rest.length > 0) throw invalidFilter(`Filtering on "${attrPath.slice(0, 100)}" is not supported.`);
        if (op === 'pr' && !name.includes('.')) return multi.exists('true');
        return multi.exists(leaf(subColumn, op, compValue, bind));
      }
    }
  };
  return { sql: compile(ast, null), params };
}

const ORDER: Record<string, string> = { gt: '>', ge: '>=', lt: '<', le: '<=' };

function leaf(column: Column, op: string, value: unknown, bind: (value: unknown, cast: string) => string): string {
  const col = column.sql;
  if (op === 'pr') return column.kind === 'string' || column.kind === 'exact' ? `(${col} IS NOT NULL AND ${col} <> '')` : `${col} IS NOT NULL`;
  if (value === null) {
    if (op === 'eq') return `${col} IS NULL`;
    if (op === 'ne') return `${col} IS NOT NULL`;
    throw invalidFilter(`"${op}" cannot compare with null.`);
  }
  switch (column.kind) {
    case 'boolean': {
      if (typeof value !== 'boolean') throw invalidFilter('A boolean attribute compares with true or false.');
      if (op === 'eq') return `${col} = ${bind(value, 'boolean')}`;
      if (op === 'ne') return `${col} IS DISTINCT FROM ${bind(value, 'boolean')}`;
      throw invalidFilter(`"${op}" does not apply to a boolean attribute.`);
    }
    case 'datetime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidFilter('A dateTime attribute compares with an xsd:dateTime string.');
      const at = bind(new Date(value).toISOString(), 'timestamptz');
      if (op === 'eq') return `${col} = ${at}`;
      if (op === 'ne') return `${col} IS DISTINCT FROM ${at}`;
      const sign = ORDER[op];
      if (sign) return `${col} ${sign} ${at}`;
      throw invalidFilter(`"${op}" does not apply to a dateTime attribute.`);
    }
    case 'uuid': {
      if (typeof value !== 'string') throw invalidFilter('An id compares with a string.');
      if (op === 'eq') return isUuid(value) ? `${col} = ${bind(value, 'uuid')}` : 'false';
      if (op === 'ne') return isUuid(value) ? `${col} <> ${bind(value, 'uuid')}` : 'true';
      return text(`${col}::text`, op, value, bind, false);
    }
    case 'string':
    case 'exact': {
      if (typeof value !== 'string') throw invalidFilter('A string attribute compares with a string.');
      return text(column.ci ?? col, op, value, bind, column.kind === 'string', column.ci !== undefined);
    }
  }
}

function text(col: string, op: string, value: string, bind: (value: unknown, cast: string) => string, caseInsensitive: boolean, lowered = false): string {
  const c = caseInsensitive && !lowered ? `lower(${col})` : col;
  const v = caseInsensitive ? `lower(${bind(value, 'text')})` : bind(value, 'text');
  switch (op) {
    case 'eq':
      return `${c} = ${v}`;
    case 'ne':
      return `${c} IS DISTINCT FROM ${v}`;
    case 'co':
      return `strpos(${c}, ${v}) > 0`;
    case 'sw':
      return `starts_with(${c}, ${v})`;
    case 'ew':
      return `right(${c}, length(${v})) = ${v}`;
    default: {
      const sign = ORDER[op];
      if (!sign) throw invalidFilter(`Unknown operator "${op}".`);
      return `${c} ${sign} ${v}`;
    }
  }
}

// --- in memory, for PATCH value paths ------------------------------------------------------------

/** Whether an element of a multi-valued attribute matches a value filter (sub-attribute names case-insensitive; strings compared case-insensitively except `value` of members). */
export function matches(element: Record<string, unknown>, f: Filter): boolean {
  switch (f.op) {
    case 'and':
      return (f as { filters: Filter[] }).filters.every((x) => matches(element, x));
    case 'or':
      return (f as { filters: Filter[] }).filters.some((x) => matches(element, x));
    case 'not':
      return !matches(element, (f as { filter: Filter }).filter);
    case '[]':
      throw invalidFilter('Value filters do not nest.');
    default: {
      const { attrPath, op } = f as { attrPath: string; op: string };
      const expected = (f as { compValue?: unknown }).compValue;
      const key = Object.keys(element).find((k) => k.toLowerCase() === attrPath.toLowerCase());
      const actual = key === undefined ? undefined : element[key];
      if (op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      if (expected === null) return op === 'eq' ? actual == null : op === 'ne' ? actual != null : false;
      if (typeof actual === 'boolean' || typeof expected === 'boolean') {
        if (op === 'eq') return actual === expected;
        if (op === 'ne') return actual !== expected;
        throw invalidFilter(`"${op}" does not apply to a boolean attribute.`);
      }
      if (typeof actual !== 'string' || typeof expected !== 'string') return op === 'ne';
      const a = actual.toLowerCase();
      const e = expected.toLowerCase();
      switch (op) {
        case 'eq':
          return a === e;
        case 'ne':
          return a !== e;
        case 'co':
          return a.includes(e);
        case 'sw':
          return a.startsWith(e);
        case 'ew':
          return a.endsWith(e);
        case 'gt':
          return a > e;
        case 'ge':
          return a >= e;
        case 'lt':
          return a < e;
        case 'le':
          return a <= e;
        default:
          throw invalidFilter(`Unknown operator "${op}".`);
      }
    }
  }
}

/** The `sub eq "value"` terms of a value filter made only of them (joined by and), to create the element an `add` names. */
export function equalityTerms(f: Filter): Record<string, unknown> | null {
  if (f.op === 'eq') {
    const { attrPath, compValue } = f as { attrPath: string; compValue: unknown };
    return { [attrPath]: compValue };
  }
  if (f.op === 'and') {
    const out: Record<string, unknown> = {};
    for (const x of (f as { filters: Filter[] }).filters) {
      const t = equalityTerms(x);
      if (!t) return null;
      Object.assign(out, t);
    }
    return out;
  }
  return null;
}
