/**
 * The records grid's data, apart from how it looks: the fields records have (and which of them
 * can be filtered), filters as the API takes them, the columns a person chose (remembered per
 * collection in this browser), and keyset paging forward and back with the API's cursors.
 *
 * What can be filtered follows the API exactly (docs/api.md, decision 0004): a record's body is
 * encrypted, so the server matches keyed digests of its top-level scalar values. A filter is
 * "this top-level field equals this string, number, boolean or null", up to eight at once, all
 * of which must hold; nothing else (no partial text, ranges, nested fields, ids or times).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type FilterValue, type JsonValue, type RecordItem } from '../api';

// Fields and their kinds -----------------------------------------------------------------------

export type ValueKind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';
export type ScalarKind = Extract<ValueKind, 'string' | 'number' | 'boolean' | 'null'>;

export function kindOf(value: JsonValue): ValueKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

export const isScalarKind = (kind: ValueKind): kind is ScalarKind => kind !== 'object' && kind !== 'array';

/** A top-level field seen in the records loaded so far, and how often each kind of value was. */
export interface FieldInfo {
  readonly name: string;
  readonly kinds: ReadonlyMap<ValueKind, number>;
}

/** Fields in the order they were first seen; the map is replaced, never changed in place. */
export type Fields = ReadonlyMap<string, FieldInfo>;

/** The fields of `records` added to those already known. */
export function learnFields(known: Fields, records: readonly RecordItem[]): Fields {
  let next: Map<string, FieldInfo> | null = null;
  for (const record of records) {
    for (const [name, value] of Object.entries(record.data)) {
      const kind = kindOf(value);
      const current = (next ?? known).get(name);
      next ??= new Map(known);
      const kinds = new Map(current?.kinds ?? []);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      next.set(name, { name, kinds });
    }
  }
  return next ?? known;
}

/** A field can be filtered when some record holds a scalar in it. */
export function filterableKinds(field: FieldInfo): ScalarKind[] {
  return [...field.kinds.keys()].filter(isScalarKind);
}

/** The kind a filter on this field most likely wants: its most frequent scalar kind. */
export function likelyKind(field: FieldInfo | undefined): ScalarKind {
  let best: ScalarKind = 'string';
  let count = 0;
  for (const [kind, n] of field?.kinds ?? []) {
    if (isScalarKind(kind) && n > count) {
      best = kind;
      count = n;
    }
  }
  return best;
}

// Filters --------------------------------------------------------------------------------------

/** The server's limit on filters in one request (docs/api.md). */
export const MAX_FILTERS = 8;

export interface RecordFilter {
  readonly field: string;
  readonly value: FilterValue;
}

/** A filter's value typed as the person chose its kind; a message when it cannot be that kind. */
export function filterValue(kind: ScalarKind, raw: string): { ok: true; value: FilterValue } | { ok: false; error: string } {
  switch (kind) {
    case 'string':
      return { ok: true, value: raw };
    case 'null':
      return { ok: true, value: null };
    case 'boolean':
      if (raw === 'true' || raw === 'false') return { ok: true, value: raw === 'true' };
      return { ok: false, error: 'Choose true or false.' };
    case 'number': {
      const text = raw.trim();
      // JSON's number syntax: what a record can hold.
      if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(text)) return { ok: false, error: 'Enter a number, such as 42 or -1.5.' };
      const value = Number(text);
      return Number.isFinite(value) ? { ok: true, value } : { ok: false, error: 'That number is too large.' };
    }
  }
}

/** `status = "open"`, `priority = 2`, `archived = null`. */
export function describeFilter(filter: RecordFilter): string {
  return `${filter.field} = ${JSON.stringify(filter.value)}`;
}

/** Adds a filter, replacing one on the same field (a field equals one value at a time). */
export function withFilter(filters: readonly RecordFilter[], added: RecordFilter): RecordFilter[] {
  return [...filters.filter((f) => f.field !== added.field), added];
}

// Columns --------------------------------------------------------------------------------------

/** Fields shown before anyone chooses. */
export const DEFAULT_FIELD_COLUMNS = 4;
export const PAGE_SIZES = [10, 25, 50, 100] as const;
export type PageSize = (typeof PAGE_SIZES)[number];
export const DEFAULT_PAGE_SIZE: PageSize = 25;

/** What a person chose to see of a collection: which fields, the two times, and how many rows. */
export interface GridChoice {
  readonly fields: readonly string[];
  readonly created: boolean;
  readonly updated: boolean;
  readonly pageSize: PageSize;
}

const STORAGE_PREFIX = 'rampart.records-grid.v1';
const MAX_STORED_FIELDS = 256;

export function choiceKey(workspaceId: string, collection: string): string {
  return `${STORAGE_PREFIX}:${workspaceId}:${collection}`;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A stored choice, checked field by field: anything else (edited by hand, an older shape) is ignored. */
export function readChoice(stored: string | null): GridChoice | null {
  if (stored === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return null;
  }
  if (!isRecord(value)) return null;
  const { fields, created, updated, pageSize } = value;
  if (!Array.isArray(fields) || fields.length > MAX_STORED_FIELDS) return null;
  if (!fields.every((f): f is string => typeof f === 'string' && f.length > 0 && f.length <= 256)) return null;
  if (typeof created !== 'boolean' || typeof updated !== 'boolean') return null;
  const size = PAGE_SIZES.find((s) => s === pageSize);
  if (size === undefined) return null;
  return { fields: [...new Set(fields)], created, updated, pageSize: size };
}

/** The choice remembered in this browser, or null (none yet, or storage not available). */
export function loadChoice(workspaceId: string, collection: string): GridChoice | null {
  try {
    return readChoice(localStorage.getItem(choiceKey(workspaceId, collection)));
  } catch {
    return null;
  }
}

export function saveChoice(workspaceId: string, collection: string, choice: GridChoice | null): void {
  try {
    const key = choiceKey(workspaceId, collection);
    if (choice === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(choice));
  } catch {
    // Storage full or turned off: the choice lasts until the page is left.
  }
}

/** The field columns to show: the chosen ones, or the first few fields when nothing was chosen. */
export function shownFields(choice: GridChoice | null, fields: Fields): string[] {
  if (choice) return [...choice.fields];
  return [...fields.keys()].slice(0, DEFAULT_FIELD_COLUMNS);
}

/** Every field a column can show: those seen, then chosen ones not seen on the pages loaded. */
export function columnOptions(choice: GridChoice | null, fields: Fields): string[] {
  const names = [...fields.keys()];
  for (const f of choice?.fields ?? []) if (!fields.has(f)) names.push(f);
  return names;
}

/** The choice with one field shown or hidden, keeping the fields in the order they are offered. */
export function toggleField(choice: GridChoice, options: readonly string[], field: string, shown: boolean): GridChoice {
  const chosen = new Set(choice.fields);
  if (shown) chosen.add(field);
  else chosen.delete(field);
  return { ...choice, fields: options.filter((f) => chosen.has(f)) };
}

// Paging ---------------------------------------------------------------------------------------

const FIRST_PAGE: readonly (string | null)[] = Object.freeze([null]);

export interface RecordPages {
  /** The records of the page shown; null until the first page arrives. */
  readonly rows: RecordItem[] | null;
  /** Pages are counted from 0; there is no total (keyset pages have none). */
  readonly pageIndex: number;
  readonly hasNext: boolean;
  readonly hasPrevious: boolean;
  readonly loading: boolean;
  readonly error: string | null;
  /** The error's code from the API (`collection_not_found`, …), when it gave one. */
  readonly errorCode: string | null;
  /** Every top-level field seen on any page loaded for this collection. */
  readonly fields: Fields;
  readonly next: () => void;
  readonly previous: () => void;
  /** Loads the page shown again (after a change), keeping its rows on screen meanwhile. */
  readonly reload: () => void;
  /** Shows a record's new state at once, ahead of the reload that follows a change. */
  readonly replace: (record: RecordItem) => void;
  readonly remove: (id: string) => void;
}

/**
 * Keyset pages of a collection's records, oldest first. Page k is fetched with the cursor page
 * k−1 answered (page 0 with none); going back fetches the previous page again with its own
 * cursor, so a page always shows the records as they are now. The filters and the page size
 * start the paging afresh.
 */
export function useRecordPages(workspaceId: string, collection: string, filters: readonly RecordFilter[], pageSize: number): RecordPages {
  // cursors[k] is the cursor page k was asked with, for the query (filters and size) named by key.
  const queryKey = `${pageSize} ${JSON.stringify(filters.map((f) => [f.field, f.value]))}`;
  const [paging, setPaging] = useState<{ readonly key: string; readonly cursors: readonly (string | null)[] }>({ key: queryKey, cursors: FIRST_PAGE });
  const cursors = paging.key === queryKey ? paging.cursors : FIRST_PAGE;
  const [rows, setRows] = useState<RecordItem[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<{ message: string; code: string | null } | null>(null);
  const [fields, setFields] = useState<Fields>(new Map());
  const [generation, setGeneration] = useState(0);
  const latest = useRef(0);

  const pageIndex = cursors.length - 1;
  const moveTo = (next: readonly (string | null)[]) => setPaging({ key: queryKey, cursors: next });

  useEffect(() => {
    const ticket = ++latest.current;
    setLoading(true);
    api
      .records(workspaceId, collection, cursors[pageIndex] ?? null, { limit: pageSize, filters: filters.map((f) => [f.field, f.value] as const) })
      .then((page) => {
        if (ticket !== latest.current) return;
        // A page emptied by deletions (past the first): step back to the one before.
        if (page.data.length === 0 && pageIndex > 0) {
          moveTo(cursors.slice(0, -1));
          return;
        }
        setRows(page.data);
        setNextCursor(page.nextCursor);
        setFields((known) => learnFields(known, page.data));
        setError(null);
        setLoading(false);
      })
      .catch((err: unknown) => {
        if (ticket !== latest.current) return;
        setError({ message: errorMessage(err), code: err instanceof ApiError ? err.code : null });
        setLoading(false);
      });
    // The cursor list itself (not only its last cursor): reloading the same page asks again.
  }, [workspaceId, collection, queryKey, cursors, generation]);

  return {
    rows,
    pageIndex,
    hasNext: nextCursor !== null,
    hasPrevious: pageIndex > 0,
    loading,
    error: error?.message ?? null,
    errorCode: error?.code ?? null,
    fields,
    next: () => {
      if (nextCursor !== null && !loading) moveTo([...cursors, nextCursor]);
    },
    previous: () => {
      if (pageIndex > 0 && !loading) moveTo(cursors.slice(0, -1));
    },
    reload: () => setGeneration((g) => g + 1),
    replace: (record) => {
      setRows((previous) => previous?.map((r) => (r.id === record.id ? record : r)) ?? null);
      setFields((known) => learnFields(known, [record]));
    },
    remove: (id) => setRows((previous) => previous?.filter((r) => r.id !== id) ?? null),
  };
}
