/**
 * Resources as plain JSON documents with canonical attribute names, and PATCH (RFC 7644
 * §3.5.2) applied to them: add, replace and remove, with or without a path, paths with a value
 * filter (`members[value eq "…"]`, `emails[type eq "work"].value`) and sub-attributes. The
 * patched document is then validated exactly like a PUT body, so PATCH can never store what PUT
 * would refuse, and the whole request is one transaction.
 *
 * Attribute names are case-insensitive and may be fully qualified (`urn:…:core:2.0:User:name.givenName`,
 * `urn:…:enterprise:2.0:User:manager`); an enterprise attribute may also go by its bare name
 * (`manager`) where no core attribute has it. A path-less add or replace applies each key of its
 * value exactly as the operation with that key as its path (so `"name.givenName"` and fully
 * qualified keys apply too). Attributes this server does not keep (phoneNumbers, addresses,
 * title, …) are ignored, in bodies, paths and keys alike; a schema URN it does not serve is
 * refused (invalidPath); a value it keeps but cannot apply is refused (invalidValue), never
 * dropped. A read-only attribute (id, meta, a user's groups) given with its current value changes
 * nothing and is accepted — Okta's group push sends the group's own id — while a change to one, or
 * its removal, is refused (mutability). Client quirks accepted: Entra ID's boolean strings
 * ("True"/"False") in PATCH values, its manager as a bare id or an array of one, and Okta's
 * path-less `{"op":"replace","value":{"active":false}}`.
 */
import type { Filter } from 'scim2-parse-filter';
import { invalidPath, invalidSyntax, invalidValue, mutability, noTarget } from './errors.js';
import { equalityTerms, matches, parseFilter } from './filter.js';
import { ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from './resources.js';

export interface Spec {
  readonly name: string;
  readonly sub?: Readonly<Record<string, Spec>>;
  readonly multi?: boolean;
  readonly boolean?: boolean;
  /** A complex attribute that may be given by its `value` alone: a bare id, or an array of one (Entra's manager). */
  readonly byValue?: boolean;
}
export interface ResourceSpec {
  /** The core schema, whose URN may prefix an attribute path. */
  readonly schema: string;
  /** Top-level attributes by lower-cased name (an extension under its lower-cased URN). */
  readonly attributes: Readonly<Record<string, Spec>>;
  /** Lower-cased names of attributes clients may not change (their current value is accepted). */
  readonly readOnly: ReadonlySet<string>;
}

const s = (name: string): Spec => ({ name });
const b = (name: string): Spec => ({ name, boolean: true });
const subs = (...specs: Spec[]): Record<string, Spec> => Object.fromEntries(specs.map((x) => [x.name.toLowerCase(), x]));

export const USER_SPEC: ResourceSpec = {
  schema: USER_SCHEMA,
  attributes: {
    ...subs(s('userName'), s('externalId'), s('displayName'), b('active')),
    name: { name: 'name', sub: subs(s('givenName'), s('familyName'), s('formatted')) },
    emails: { name: 'emails', multi: true, sub: subs(s('value'), s('type'), b('primary'), s('display')) },
    [ENTERPRISE_SCHEMA.toLowerCase()]: {
      name: ENTERPRISE_SCHEMA,
      sub: {
        ...subs(s('employeeNumber'), s('costCenter'), s('organization'), s('division'), s('department')),
        manager: { name: 'manager', byValue: true, sub: subs(s('value'), s('displayName')) },
      },
    },
  },
  readOnly: new Set(['id', 'meta', 'groups']),
};

export const GROUP_SPEC: ResourceSpec = {
  schema: GROUP_SCHEMA,
  attributes: {
    ...subs(s('displayName'), s('externalId')),
    members: { name: 'members', multi: true, sub: subs(s('value'), s('display'), s('type'), s('$ref')) },
  },
  readOnly: new Set(['id', 'meta']),
};

export type Doc = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Entra ID sends booleans as "True"/"False" in PATCH values. */
function lenientBoolean(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const l = v.toLowerCase();
  return l === 'true' ? true : l === 'false' ? false : v;
}

/** Entra ID's shapes of a reference: a bare id, or an array of one; an empty one is no value. */
function byValue(value: unknown, spec: Spec): unknown {
  if (typeof value === 'string') return value.trim() === '' ? null : { value };
  if (!Array.isArray(value)) return value;
  if (value.length > 1) throw invalidValue(`"${spec.name}" takes one value.`);
  return value.length === 0 ? null : (value[0] as unknown);
}

/** A value as the spec names it: known (sub-)attributes with canonical names, unknown ones dropped. */
export function normalize(value: unknown, spec: Spec, lenient: boolean): unknown {
  if (spec.multi) {
    const items = Array.isArray(value) ? value : [value];
    return items.map((item) => normalize(item, { ...spec, multi: false }, lenient));
  }
  if (spec.sub) {
    const given = spec.byValue ? byValue(value, spec) : value;
    if (!isObject(given)) return given; // the validator says what is wrong
    const out: Doc = {};
    for (const [k, v] of Object.entries(given)) {
      const sub = spec.sub[k.toLowerCase()];
      if (sub) out[sub.name] = normalize(v, sub, lenient);
    }
    return out;
  }
  return spec.boolean && lenient ? lenientBoolean(value) : value;
}

/**
 * A whole resource body (POST, PUT) as a document: known attributes only, canonical names.
 * Extension attributes must come under a URN this server serves; read-only values are ignored
 * (RFC 7644 §3.5.1).
 */
export function normalizeDoc(body: Record<string, unknown>, spec: ResourceSpec): Doc {
  const out: Doc = {};
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || spec.readOnly.has(lower)) continue;
    const attr = spec.attributes[lower];
    if (attr) out[attr.name] = normalize(value, attr, false);
    else if (lower.startsWith('urn:')) throw invalidSyntax(`"${key.slice(0, 200)}" is not a schema this server serves.`);
  }
  return out;
}

interface Target {
  /** Canonical names from the top: ['name', 'givenName'], [ENTERPRISE, 'manager', 'value'], ['emails']. */
  readonly steps: readonly string[];
  readonly specs: readonly Spec[];
  /** For `attr[filter]…`: the filter on the elements of steps[0]. */
  readonly filter?: Filter;
  /** For `attr[filter].sub`. */
  readonly sub?: Spec;
  /** A read-only attribute (id, meta, groups): only its current value is accepted. */
  readonly readOnly?: boolean;
}

const NAME = /^[A-Za-z$][\w$-]*$/;

/** The extension whose attribute this bare name is, when no core attribute has the name. */
function extensionOf(name: string, spec: ResourceSpec): Spec | undefined {
  if (spec.attributes[name.toLowerCase()]) return undefined;
  return Object.entries(spec.attributes).find(([key, ext]) => key.startsWith('urn:') && ext.sub?.[name.toLowerCase()])?.[1];
}

/** Parses a PATCH path (or a key of a path-less value); null when it names an attribute this server does not keep. */
export function parsePath(path: string, spec: ResourceSpec): Target | null {
  let rest = path.trim();
  if (rest.length === 0 || rest.length > 1000) throw invalidPath('The path is empty or too long.');
  const lower = rest.toLowerCase();
  let top: Spec | undefined;
  const core = `${spec.schema.toLowerCase()}:`;
  const extension = Object.keys(spec.attributes).find((k) => k.startsWith('urn:') && (lower === k || lower.startsWith(`${k}:`)));
  if (extension) {
    top = spec.attributes[extension];
    rest = rest.slice(extension.length + 1);
    if (rest.length === 0) return { steps: [top!.name], specs: [top!] };
  } else if (lower.startsWith(core)) {
    rest = rest.slice(core.length);
  } else if (lower.startsWith('urn:')) {
    throw invalidPath(`"${path.slice(0, 200)}" is not under a schema this server serves.`);
  }
  const bracket = rest.indexOf('[');
  if (bracket >= 0) {
    if (top) throw invalidPath('Value filters are not supported in extension attributes.');
    const close = rest.lastIndexOf(']');
    if (close < bracket) throw invalidPath(`"${path.slice(0, 200)}" is not a valid path.`);
    const name = rest.slice(0, bracket);
    const after = rest.slice(close + 1);
    if (!NAME.test(name) || (after !== '' && !/^\.[A-Za-z$][\w$-]*$/.test(after))) throw invalidPath(`"${path.slice(0, 200)}" is not a valid path.`);
    if (spec.readOnly.has(name.toLowerCase())) throw mutability(`"${name}" is read-only.`);
    const attr = spec.attributes[name.toLowerCase()];
    if (!attr) return null;
    if (!attr.multi) throw invalidPath(`"${name}" is not multi-valued; it takes no filter.`);
    const filter = parseFilter(rest.slice(bracket + 1, close));
    if (after === '') return { steps: [attr.name], specs: [attr], filter };
    const sub = attr.sub?.[after.slice(1).toLowerCase()];
    if (!sub) return null;
    return { steps: [attr.name], specs: [attr], filter, sub };
  }
  const parts = rest.split('.');
  if (parts.some((p) => !NAME.test(p))) throw invalidPath(`"${path.slice(0, 200)}" is not a valid path.`);
  if (!top && spec.readOnly.has(parts[0]!.toLowerCase())) {
    // Read-only: kept as written; applyOne accepts only the current value.
    const steps = parts.map((p) => p.toLowerCase());
    return { steps, specs: steps.map((name) => ({ name })), readOnly: true };
  }
  top ??= extensionOf(parts[0]!, spec);
  const steps: string[] = top ? [top.name] : [];
  const specs: Spec[] = top ? [top] : [];
  let level: Readonly<Record<string, Spec>> | undefined = top ? top.sub : spec.attributes;
  for (const part of parts) {
    const next: Spec | undefined = level?.[part.toLowerCase()];
    if (!next) return null;
    if (next.multi && part !== parts[parts.length - 1]) {
      // emails.value: every element's sub-attribute
      throw invalidPath(`"${path.slice(0, 200)}": use a value filter to address elements of "${next.name}".`);
    }
    steps.push(next.name);
    specs.push(next);
    level = next.sub;
  }
  if (steps.length > 3) throw invalidPath(`"${path.slice(0, 200)}" is nested too deeply.`);
  return { steps, specs };
}

export interface PatchOperation {
  readonly op: 'add' | 'replace' | 'remove';
  readonly path?: string | undefined;
  readonly value?: unknown;
}

/**
 * Applies the operations in order to a copy of the document: the resource as a GET shows it, so
 * that read-only attributes are compared with what the client read.
 */
export function applyPatch(original: Doc, operations: readonly PatchOperation[], spec: ResourceSpec): Doc {
  const doc = structuredClone(original);
  for (const operation of operations) applyOne(doc, operation, spec);
  return doc;
}

function applyOne(doc: Doc, { op, path, value }: PatchOperation, spec: ResourceSpec): void {
  if (op !== 'remove' && value === undefined) throw invalidValue(`"${op}" needs a value.`);
  if (path === undefined || path === '') {
    if (op === 'remove') throw noTarget('"remove" needs a path.');
    if (!isObject(value)) throw invalidValue(`"${op}" without a path takes an object of attributes.`);
    // Each attribute of the value, as the operation with its name as the path.
    for (const [key, v] of Object.entries(value)) {
      if (key.toLowerCase() === 'schemas') continue;
      const target = parsePath(key, spec);
      if (target) applyAt(doc, target, op, v);
    }
    return;
  }
  const target = parsePath(path, spec);
  if (target) applyAt(doc, target, op, value); // else an attribute this server does not keep
}

function applyAt(doc: Doc, target: Target, op: PatchOperation['op'], value: unknown): void {
  if (target.readOnly) {
    if (op === 'remove' || !unchanged(value, valueAt(doc, target.steps), op)) throw mutability(`"${target.steps.join('.')}" is read-only.`);
    return;
  }
  if (target.filter) return applyFiltered(doc, target, op, value);
  const last = target.specs[target.specs.length - 1]!;
  if (op === 'remove') {
    // A remove with a value on a multi-valued attribute removes those values (Entra removes members so).
    if (last.multi && value !== undefined && target.steps.length === 1) {
      const gone = (normalize(value, last, true) as unknown[]).map(identity);
      const current = asArray(doc[last.name]);
      doc[last.name] = current.filter((e) => !gone.includes(identity(e)));
      return;
    }
    removeAt(doc, target.steps);
    return;
  }
  setAt(doc, target.steps, target.specs, normalize(value, last, true), op);
}

/** The value at these steps, names compared case-insensitively. */
function valueAt(doc: Doc, steps: readonly string[]): unknown {
  let at: unknown = doc;
  for (const step of steps) {
    if (!isObject(at)) return undefined;
    const key = Object.keys(at).find((k) => k.toLowerCase() === step.toLowerCase());
    at = key === undefined ? undefined : at[key];
  }
  return at;
}

/**
 * Whether writing `given` over `current` would change nothing: the same scalar; an object whose
 * every given sub-attribute is unchanged; for a multi-valued attribute, elements each like one
 * already there (and, for replace, every one there given).
 */
function unchanged(given: unknown, current: unknown, op: 'add' | 'replace'): boolean {
  if (Array.isArray(given) || Array.isArray(current)) {
    const g = asArray(given);
    const c = asArray(current);
    const like = (x: unknown) => (y: unknown) => unchanged(x, y, 'replace');
    return g.every((x) => c.some(like(x))) && (op === 'add' || c.every((y) => g.some((x) => like(x)(y))));
  }
  if (isObject(given)) return isObject(current) && Object.entries(given).every(([k, v]) => unchanged(v, valueAt(current, [k]), 'replace'));
  if (given === null || given === undefined) return current === null || current === undefined;
  return given === current;
}

/** What identifies an element of a multi-valued attribute: its value, compared case-insensitively. */
function identity(element: unknown): string {
  const v = isObject(element) ? element['value'] : element;
  return typeof v === 'string' ? v.toLowerCase() : JSON.stringify(v);
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
}

function setAt(doc: Doc, steps: readonly string[], specs: readonly Spec[], value: unknown, op: 'add' | 'replace'): void {
  let parent: Doc = doc;
  for (const step of steps.slice(0, -1)) {
    const child = parent[step];
    if (!isObject(child)) parent[step] = {};
    parent = parent[step] as Doc;
  }
  const key = steps[steps.length - 1]!;
  const spec = specs[specs.length - 1]!;
  if (spec.multi) {
    const items = asArray(value);
    if (op === 'replace') {
      parent[key] = items;
      return;
    }
    const current = asArray(parent[key]);
    const known = new Set(current.map(identity));
    parent[key] = [...current, ...items.filter((i) => !known.has(identity(i)))];
    return;
  }
  if (spec.sub && isObject(value) && isObject(parent[key])) {
    // A complex attribute: the sub-attributes given replace or add; the others stay.
    parent[key] = { ...(parent[key] as Doc), ...value };
    return;
  }
  parent[key] = value;
}

function removeAt(doc: Doc, steps: readonly string[]): void {
  let parent: Doc = doc;
  for (const step of steps.slice(0, -1)) {
    const child = parent[step];
    if (!isObject(child)) return;
    parent = child;
  }
  delete parent[steps[steps.length - 1]!];
}

function applyFiltered(doc: Doc, target: Target, op: PatchOperation['op'], value: unknown): void {
  const attr = target.specs[0]!;
  const elements = asArray(doc[attr.name]).map((e) => (isObject(e) ? e : { value: e }));
  const hit = (e: Doc) => matches(e, target.filter!);
  const matched = elements.filter(hit);
  if (op === 'remove') {
    doc[attr.name] = target.sub
      ? elements.map((e) => {
          if (!hit(e)) return e;
          const copy = { ...e };
          delete copy[target.sub!.name];
          return copy;
        })
      : elements.filter((e) => !hit(e));
    return;
  }
  const elementSpec: Spec = { ...attr, multi: false };
  const given = target.sub ? normalize(value, target.sub, true) : normalize(value, elementSpec, true);
  if (!target.sub && !isObject(given)) throw invalidValue(`An element of "${attr.name}" is an object of its sub-attributes.`);
  if (matched.length === 0) {
    if (op === 'replace') throw noTarget('No value matches the path\'s filter.');
    // add: the element the filter describes, with the value
    const terms = equalityTerms(target.filter!);
    if (!terms) throw noTarget('No value matches the path\'s filter, and it does not describe one to add.');
    const base = normalize(terms, elementSpec, true) as Doc;
    doc[attr.name] = [...elements, target.sub ? { ...base, [target.sub.name]: given } : { ...base, ...(given as Doc) }];
    return;
  }
  doc[attr.name] = elements.map((e) => {
    if (!hit(e)) return e;
    if (target.sub) return { ...e, [target.sub.name]: given };
    return op === 'replace' ? (given as Doc) : { ...e, ...(given as Doc) };
  });
}
