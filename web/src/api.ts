/**
 * The console's client for the Rampart API (/api/v1).
 *
 * The session lives in an HttpOnly cookie the browser sends by itself; the CSRF token that must
 * accompany every write is kept here, in memory only, and set from the session responses.
 * Errors arrive as `{ "error": { code, message, details, requestId } }` and become ApiError.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Account {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface Session {
  readonly account: Account;
  readonly session: { readonly id: string; readonly kind: 'cookie' | 'bearer'; readonly expiresAt: string };
  readonly csrfToken: string | null;
}

export type Role = 'owner' | 'member';

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly role: Role;
  readonly createdAt: string;
}

export interface Collection {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface RecordItem {
  readonly id: string;
  readonly collection: string;
  readonly data: JsonObject;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface DocumentItem {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly createdAt: string;
}

export interface Page<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly requestId: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A message fit to show a person, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof TypeError) return 'The server could not be reached. Check your connection and try again.';
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

export const PAGE_SIZE = 50;

let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;

/** Remembers (or forgets) the CSRF token of the current cookie session. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a signed-in request comes back 401: the session ended elsewhere or expired. */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface RequestOptions {
  readonly json?: unknown;
  readonly form?: FormData;
  readonly headers?: Record<string, string>;
  /** Auth calls report a 401 to their caller instead of signalling a lost session. */
  readonly quiet401?: boolean;
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string; details?: unknown; requestId?: string } } {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error = value.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    'message' in error &&
    typeof error.message === 'string'
  );
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    // The browser sets multipart/form-data with its boundary.
    body = options.form;
  }
  if (UNSAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;

  const res = await fetch(`/api/v1${path}`, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 204) return undefined as T;

  const text = await res.text();
  let parsed: unknown = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !options.quiet401) onUnauthenticated?.();
    if (isErrorBody(parsed)) {
      const e = parsed.error;
      throw new ApiError(res.status, e.code, e.message, e.details ?? null, e.requestId ?? null);
    }
    const status = res.statusText ? `${res.status} ${res.statusText}` : String(res.status);
    throw new ApiError(res.status, 'http_error', `The server answered ${status}.`);
  }
  return parsed as T;
}

const enc = encodeURIComponent;
const ws = (workspaceId: string) => `/workspaces/${enc(workspaceId)}`;
const col = (workspaceId: string, collection: string) => `${ws(workspaceId)}/collections/${enc(collection)}`;

export const api = {
  setupStatus: () => request<{ setupRequired: boolean }>('GET', '/setup'),
  session: () => request<Session>('GET', '/auth/session', { quiet401: true }),
  signUp: (body: { email: string; password: string; name?: string; setupToken?: string }) =>
    request<Session>('POST', '/auth/sign-up', { json: body, quiet401: true }),
  signIn: (body: { email: string; password: string }) => request<Session>('POST', '/auth/sign-in', { json: body, quiet401: true }),
  signOut: () => request<void>('POST', '/auth/sign-out', { quiet401: true }),

  workspaces: () => request<{ data: Workspace[] }>('GET', '/workspaces'),
  createWorkspace: (body: { name: string; region?: string }) => request<Workspace>('POST', '/workspaces', { json: body }),
  workspace: (workspaceId: string) => request<Workspace>('GET', ws(workspaceId)),

  collections: (workspaceId: string) => request<{ data: Collection[] }>('GET', `${ws(workspaceId)}/collections`),
  createCollection: (workspaceId: string, name: string) =>
    request<Collection>('POST', `${ws(workspaceId)}/collections`, { json: { name } }),
  deleteCollection: (workspaceId: string, name: string) => request<void>('DELETE', col(workspaceId, name)),

  records: (workspaceId: string, collection: string, cursor: string | null) => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    return request<Page<RecordItem>>('GET', `${col(workspaceId, collection)}/records?${query.toString()}`);
  },
  createRecord: (workspaceId: string, collection: string, data: JsonObject) =>
    request<RecordItem>('POST', `${col(workspaceId, collection)}/records`, { json: { data } }),
  replaceRecord: (workspaceId: string, collection: string, recordId: string, data: JsonObject, version: number) =>
    request<RecordItem>('PUT', `${col(workspaceId, collection)}/records/${enc(recordId)}`, {
      json: { data },
      headers: { 'if-match': `"${version}"` },
    }),
  deleteRecord: (workspaceId: string, collection: string, recordId: string) =>
    request<void>('DELETE', `${col(workspaceId, collection)}/records/${enc(recordId)}`),

  documents: (workspaceId: string, cursor: string | null) => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    return request<Page<DocumentItem>>('GET', `${ws(workspaceId)}/documents?${query.toString()}`);
  },
  uploadDocument: (workspaceId: string, file: File) => {
    const form = new FormData();
    form.append('file', file, file.name);
    return request<DocumentItem>('POST', `${ws(workspaceId)}/documents`, { form });
  },
  deleteDocument: (workspaceId: string, documentId: string) =>
    request<void>('DELETE', `${ws(workspaceId)}/documents/${enc(documentId)}`),
  /** A same-origin URL the browser downloads with its session cookie. */
  documentContentUrl: (workspaceId: string, documentId: string) => `/api/v1${ws(workspaceId)}/documents/${enc(documentId)}/content`,
};
