/**
 * The staff console's client for /api/v1/staff: a realm apart from customer accounts.
 *
 * The staff session lives in its own HttpOnly cookie (`__Host-rampart_staff`), which the browser
 * sends by itself; the CSRF token every write needs is kept here, in memory only, apart from the
 * customer console's. Errors become the same ApiError as the customer API's.
 */
import { send, type AccessRequest, type Justification } from './api';

export type StaffRole = 'support' | 'engineer' | 'security' | 'staff-admin';
export const STAFF_ROLES: readonly StaffRole[] = ['support', 'engineer', 'security', 'staff-admin'];
export type StaffPermission = 'access:request' | 'access:use' | 'break-glass:open' | 'staff-audit:read' | 'staff:manage';

export interface StaffMember {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly role: StaffRole;
  /** Whether an authenticator app is enrolled. */
  readonly totp: boolean;
  readonly passwordSet: boolean;
  readonly disabled: boolean;
  readonly createdAt: string;
}

export interface StaffSession {
  readonly staff: StaffMember;
  readonly permissions: StaffPermission[];
  /** `mfa`: whether this session proved a TOTP code; until it does, it can only enrol or prove one. */
  readonly session: { readonly id: string; readonly kind: 'cookie' | 'bearer'; readonly expiresAt: string; readonly mfa: boolean };
  readonly csrfToken: string | null;
}

export interface StaffTotpEnrolment {
  readonly secret: string;
  readonly otpauthUrl: string;
}

export interface StaffCollection {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface StaffRecord {
  readonly id: string;
  readonly collection: string;
  readonly data: Record<string, unknown>;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface StaffDocument {
  readonly id: string;
  readonly name: string;
  readonly contentType: string;
  readonly size: number;
  readonly sha256: string;
  readonly createdAt: string;
}

export interface StaffPage<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}

export interface AccessRequestInput {
  readonly workspaceId: string;
  readonly scope: string;
  readonly justification: Justification;
  readonly reason: string;
  readonly ticket: string;
  readonly durationMinutes: number;
}

export interface BreakGlassInput {
  readonly workspaceId: string;
  readonly scope: string;
  readonly reason: string;
  readonly ticket?: string;
  readonly durationMinutes?: number;
}

let csrfToken: string | null = null;
let onUnauthenticated: (() => void) | null = null;
let onMfaRequired: (() => void) | null = null;

export function setStaffCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a staff request comes back 401: the staff session ended or expired. */
export function setStaffUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

/** Called when a request is refused because this session has not proved a TOTP code. */
export function setStaffMfaRequiredHandler(handler: (() => void) | null): void {
  onMfaRequired = handler;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

async function request<T>(method: string, path: string, options: { json?: unknown; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  if (UNSAFE.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  return send<T>(`/api/v1/staff${path}`, { method, headers, body }, (status, code) => {
    if (status === 401 && !options.quiet401) onUnauthenticated?.();
    if (status === 403 && code === 'staff_mfa_required') onMfaRequired?.();
  });
}

/** A session-changing call's answer: its CSRF token replaces the old one at once. */
function adopt<T extends { csrfToken: string | null }>(body: T): T {
  setStaffCsrfToken(body.csrfToken);
  return body;
}

const enc = encodeURIComponent;
const grant = (grantId: string) => `/grants/${enc(grantId)}`;

export const staffApi = {
  session: () => request<StaffSession>('GET', '/session', { quiet401: true }),
  signIn: async (email: string, password: string) => adopt(await request<StaffSession>('POST', '/auth/sign-in', { json: { email, password }, quiet401: true })),
  setup: async (token: string, password: string) => adopt(await request<StaffSession>('POST', '/setup', { json: { token, password }, quiet401: true })),
  signOut: () => request<void>('POST', '/auth/sign-out', { quiet401: true }),
  startTotp: () => request<StaffTotpEnrolment>('POST', '/mfa/totp'),
  verifyTotp: async (code: string) => adopt(await request<StaffSession>('POST', '/mfa/totp/verify', { json: { code }, quiet401: true })),

  members: () => request<{ data: StaffMember[] }>('GET', '/members'),
  addMember: (body: { email: string; name: string; role: StaffRole }) => request<{ member: StaffMember; setupLink: string }>('POST', '/members', { json: body }),
  changeRole: (staffId: string, role: StaffRole) => request<StaffMember>('PATCH', `/members/${enc(staffId)}`, { json: { role } }),
  disableMember: (staffId: string) => request<StaffMember>('POST', `/members/${enc(staffId)}/disable`),
  resetMember: (staffId: string) => request<{ member: StaffMember; setupLink: string }>('POST', `/members/${enc(staffId)}/reset`),

  myRequests: () => request<{ data: AccessRequest[] }>('GET', '/access-requests'),
  myRequest: (requestId: string) => request<AccessRequest>('GET', `/access-requests/${enc(requestId)}`),
  requestAccess: (input: AccessRequestInput) => request<AccessRequest>('POST', '/access-requests', { json: input }),
  cancelRequest: (requestId: string) => request<AccessRequest>('POST', `/access-requests/${enc(requestId)}/cancel`),
  breakGlass: (input: BreakGlassInput) => request<AccessRequest>('POST', '/break-glass', { json: input }),

  collections: (grantId: string) => request<{ data: StaffCollection[] }>('GET', `${grant(grantId)}/collections`),
  records: (grantId: string, collection: string, cursor: string | null) => {
    const query = new URLSearchParams({ limit: '50' });
    if (cursor) query.set('cursor', cursor);
    return request<StaffPage<StaffRecord>>('GET', `${grant(grantId)}/collections/${enc(collection)}/records?${query.toString()}`);
  },
  record: (grantId: string, collection: string, recordId: string) =>
    request<StaffRecord>('GET', `${grant(grantId)}/collections/${enc(collection)}/records/${enc(recordId)}`),
  documents: (grantId: string, cursor: string | null) => {
    const query = new URLSearchParams({ limit: '50' });
    if (cursor) query.set('cursor', cursor);
    return request<StaffPage<StaffDocument>>('GET', `${grant(grantId)}/documents?${query.toString()}`);
  },
  /** A same-origin URL the browser downloads with the staff session cookie (always an attachment). */
  documentUrl: (grantId: string, documentId: string) => `/api/v1/staff${grant(grantId)}/documents/${enc(documentId)}/content`,
};
