/**
 * The console's client for the Rampart API (/api/v1).
 *
 * The session lives in an HttpOnly cookie the browser sends by itself; the CSRF token that must
 * accompany every write is kept here, in memory only, and set from the session responses.
 * Errors arrive as `{ "error": { code, message, details, requestId } }` and become ApiError.
 */

import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/browser';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface Account {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly emailVerified: boolean;
  readonly createdAt: string;
  /** The address of an email change asked for and not yet confirmed, cancelled or expired. */
  readonly pendingEmail: string | null;
}

export interface Session {
  readonly status: 'signed_in';
  readonly account: Account;
  readonly session: { readonly id: string; readonly kind: 'cookie' | 'bearer'; readonly expiresAt: string; readonly mfa: boolean };
  readonly csrfToken: string | null;
}

export type SecondFactor = 'totp' | 'webauthn' | 'recovery_code';

/** A sign-in that passed its first factor and waits for the second. */
export interface MfaRequired {
  readonly status: 'mfa_required';
  readonly mfaToken: string;
  readonly factors: SecondFactor[];
  readonly expiresAt: string;
}

export type SignInResult = Session | MfaRequired;

export interface SessionItem {
  readonly id: string;
  readonly kind: 'cookie' | 'bearer';
  readonly current: boolean;
  readonly method: 'setup' | 'password' | 'email_link' | 'oidc' | 'passkey' | 'saml';
  readonly mfa: boolean;
  readonly device: string;
  readonly ip: string | null;
  readonly place: string;
  readonly createdAt: string;
  readonly lastSeenAt: string;
  readonly expiresAt: string;
}

export interface AuthEvent {
  readonly id: string;
  readonly action: string;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly details: Record<string, unknown>;
  readonly createdAt: string;
}

export interface Passkey {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  /** Whether its provider syncs (backs up) the passkey. */
  readonly backedUp: boolean;
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly transports: string[];
}

export interface MfaStatus {
  readonly enabled: boolean;
  readonly totp: boolean;
  /** How many passkeys the account has. */
  readonly passkeys: number;
  readonly recoveryCodesLeft: number;
}

/** A factor was added or removed: the session (with a new token) and, for a first factor, recovery codes. */
export interface FactorChanged extends Session {
  readonly recoveryCodes: string[] | null;
}

/** Proof of who you are for a sensitive change: the password, or (without one) a code. */
export type Reauth = { readonly password: string } | { readonly code: string };

export interface LinkedIdentity {
  readonly id: string;
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
}

export interface TotpSetup {
  readonly secret: string;
  readonly otpauthUrl: string;
}

export interface OidcStatus {
  readonly enabled: boolean;
  readonly displayName: string;
}

export interface MailboxItem {
  readonly id: string;
  readonly template: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly createdAt: string;
}

/** A permission in a workspace; the catalogue (`GET /scopes`) lists them in display order. */
export type Scope =
  | 'workspace:read'
  | 'settings:manage'
  | 'members:read'
  | 'members:manage'
  | 'roles:manage'
  | 'invitations:manage'
  | 'api-keys:manage'
  | 'records:read'
  | 'records:write'
  | 'collections:manage'
  | 'documents:read'
  | 'documents:write'
  | 'integrations:manage'
  | 'keys:manage'
  | 'sso:manage'
  | 'audit:read'
  | 'staff-access:approve'
  | 'workspace:delete'
  | 'ownership:transfer'
  | 'keys:configure';

export interface ScopeInfo {
  readonly scope: Scope;
  readonly description: string;
  /** Held only by the built-in owner role: never part of a custom role or an API key. */
  readonly ownerOnly: boolean;
}

export type BuiltinRole = 'owner' | 'admin' | 'member';

/** A role as others refer to it. */
export interface RoleRef {
  readonly id: string;
  readonly name: string;
  readonly builtin: BuiltinRole | null;
}

export interface Role extends RoleRef {
  readonly description: string;
  readonly scopes: Scope[];
  readonly memberCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly requireMfa: boolean;
  readonly createdAt: string;
  /** The caller's roles here. */
  readonly roles: RoleRef[];
  /** The caller's effective scopes here: what the console offers follows from them. */
  readonly scopes: Scope[];
}

/** Whether the caller holds a scope in the workspace. The server decides; this only shapes the page. */
export function can(workspace: Pick<Workspace, 'scopes'>, scope: Scope): boolean {
  return workspace.scopes.includes(scope);
}

export interface Member {
  readonly accountId: string;
  readonly email: string;
  readonly name: string;
  readonly roles: RoleRef[];
  readonly joinedAt: string;
}

/** Someone in a list (who invited, who created a key); null once their account is gone. */
export interface PersonRef {
  readonly accountId: string;
  readonly name: string;
  readonly email: string;
}

export interface Invitation {
  readonly id: string;
  readonly email: string;
  readonly role: RoleRef;
  readonly invitedBy: PersonRef | null;
  readonly status: 'pending' | 'expired';
  readonly createdAt: string;
  readonly sentAt: string;
  readonly sendCount: number;
  readonly expiresAt: string;
}

/** What an invitation link offers, shown before accepting it. */
export interface InvitationPreview {
  readonly workspace: { readonly id: string; readonly name: string };
  readonly email: string;
  readonly role: { readonly name: string };
  readonly invitedBy: string | null;
  readonly expiresAt: string;
}

export interface ApiKey {
  readonly id: string;
  readonly name: string;
  /** The first characters of the secret, to recognise it. */
  readonly prefix: string;
  readonly scopes: Scope[];
  readonly createdBy: PersonRef | null;
  readonly createdByKey: string | null;
  readonly status: 'active' | 'expired' | 'revoked';
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/** A key just created: the only answer that carries its secret. */
export interface CreatedApiKey extends ApiKey {
  readonly secret: string;
}

export interface WorkspaceEvent {
  readonly id: string;
  readonly actor: AuditActor;
  readonly action: string;
  readonly outcome: string;
  readonly target: { readonly type: string; readonly id: string } | null;
  readonly ip: string | null;
  readonly requestId: string | null;
  readonly details: Record<string, unknown>;
  readonly createdAt: string;
}

/** Who holds a key: a file of root keys on the server, a PKCS#11 token, AWS KMS. */
export type KeyProviderKind = 'local' | 'pkcs11' | 'aws-kms';
export const KEY_PROVIDERS: readonly KeyProviderKind[] = ['aws-kms', 'pkcs11', 'local'];

/** How many rows of each encrypted table. */
export interface RowCounts {
  readonly records: number;
  readonly documents: number;
  readonly secrets: number;
}

export interface KeyVersion {
  readonly version: number;
  readonly provider: KeyProviderKind;
  /** The root key (or the workspace's own key) that wraps this version. */
  readonly keyRef: string;
  readonly state: 'active' | 'retired' | 'destroyed';
  readonly createdAt: string;
  /** Rows encrypted under this version. */
  readonly rows: RowCounts;
}

/** A workspace's encryption keys (`keys:manage`). */
export interface KeyStatus {
  readonly provider: KeyProviderKind;
  readonly ownKey: { readonly provider: KeyProviderKind; readonly keyRef: string } | null;
  /** The version new content is encrypted under; 0 until content is first encrypted. */
  readonly currentVersion: number;
  /** Versions below this no longer decrypt. */
  readonly minDecryptVersion: number;
  readonly versions: KeyVersion[];
  /** Rows stored before encryption, waiting for a rewrap. */
  readonly plainRows: RowCounts;
  /** Rows under versions older than the current one. */
  readonly pendingRewrap: number;
  readonly rotatedAt: string | null;
  readonly nextRotationAt: string | null;
  /** Automatic rotation period in days; 0 when off. */
  readonly rotationDays: number;
}

/** A secret in the workspace's vault: metadata only, its value is write-only. */
export interface VaultSecret {
  readonly id: string;
  /** `tenants/<workspace>/integrations/<integration>/<name>` */
  readonly path: string;
  readonly integration: string;
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastUsedAt: string | null;
}

export interface Collection {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}

/** The rule collection names follow, as the server states it: a pattern (matched whole) and its words. */
export interface CollectionNameRule {
  readonly pattern: string;
  readonly description: string;
}

export interface CollectionList {
  readonly data: Collection[];
  readonly nameRule: CollectionNameRule;
}

/** A value a record list can be filtered on: a top-level field equal to this (decision 0004). */
export type FilterValue = string | number | boolean | null;

export interface RecordQuery {
  /** Page size, 1–200; PAGE_SIZE unless given. */
  readonly limit?: number;
  /** Top-level field → the value it must equal; all must hold. */
  readonly filters?: ReadonlyArray<readonly [field: string, value: FilterValue]>;
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

/** Who did something, as the audit log names them; staff carry their name and the role they acted in. */
export type AuditActorType = 'account' | 'api_key' | 'staff' | 'system' | 'anonymous';

export interface AuditActor {
  readonly type: AuditActorType;
  readonly id: string | null;
  readonly name?: string | null;
  readonly role?: string | null;
}

/** One event of a workspace's tamper-evident audit chain. */
export interface AuditEvent {
  /** The event's place in the chain: gap-free, from 1. */
  readonly seq: number;
  readonly id: string;
  /** ISO 8601 UTC with microseconds. */
  readonly time: string;
  readonly actor: AuditActor;
  readonly action: string;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly target: { readonly type: string; readonly id: string } | null;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
  readonly details: Record<string, unknown>;
  readonly hash: string;
  readonly prevHash: string;
}

export interface AuditPage {
  readonly data: AuditEvent[];
  /** Pass as `before` for the next (older) page; null on the last one. */
  readonly nextBefore: number | null;
}

/** The audit log's filters, as the API takes them (times ISO 8601). */
export interface AuditFilter {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly actor?: string | undefined;
  readonly actorType?: AuditActorType | undefined;
  readonly action?: string | undefined;
}

export interface AuditCheckpoint {
  readonly chain: string;
  readonly seq: number;
  readonly head: string;
  readonly signedAt: string;
  readonly keyId: string;
  readonly signature: string;
}

export interface AuditVerifyReport {
  readonly ok: boolean;
  readonly chain: string;
  readonly from: number | null;
  readonly through: number | null;
  readonly count: number;
  readonly head: string;
  readonly checkpointsVerified: number;
  readonly signedThrough: number;
  readonly firstBad: { readonly seq: number; readonly problem: string; readonly message: string } | null;
}

export type AccessRequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'revoked' | 'cancelled';
export type Justification = 'customer-initiated-support' | 'incident-response' | 'legal-request' | 'security-investigation';

/** A staff member's request for access to a workspace's data, and the grant an approval made. */
export interface AccessRequest {
  readonly id: string;
  readonly workspaceId: string;
  readonly staff: { readonly id: string; readonly name: string; readonly role: string };
  readonly scope: string;
  readonly justification: Justification;
  readonly reason: string;
  readonly ticket: string | null;
  readonly durationMinutes: number;
  readonly breakGlass: boolean;
  readonly status: AccessRequestStatus;
  readonly createdAt: string;
  /** A pending request expires undecided at this time. */
  readonly pendingUntil: string;
  readonly decidedAt: string | null;
  /** The account that approved or denied. */
  readonly decidedBy: string | null;
  readonly decisionNote: string | null;
  readonly grant: {
    readonly id: string;
    readonly grantedAt: string;
    readonly expiresAt: string;
    readonly revokedAt: string | null;
    readonly revokedBy: string | null;
  } | null;
}

/** A domain a workspace claims: proven by a DNS TXT record, then optionally SSO-only. */
export interface Domain {
  readonly id: string;
  readonly domain: string;
  readonly status: 'pending' | 'verified';
  /** The record to publish, at either of the names. */
  readonly verification: { readonly type: 'TXT'; readonly names: string[]; readonly value: string };
  readonly verifiedAt: string | null;
  readonly lastCheckedAt: string | null;
  readonly ssoEnforced: boolean;
  readonly createdAt: string;
}

/** Rampart's values as a SAML service provider, for the workspace: what the IdP is told. */
export interface SpInfo {
  readonly entityId: string;
  readonly acsUrl: string;
  readonly metadataUrl: string;
  readonly loginUrl: string;
}

export interface SamlCertificate {
  readonly subject: string;
  readonly notAfter: string;
  readonly fingerprintSha256: string;
}

export interface SamlAttributes {
  readonly email: string | null;
  readonly name: string | null;
  readonly groups: string | null;
}

export interface SamlConnection {
  readonly id: string;
  readonly enabled: boolean;
  readonly idpEntityId: string;
  readonly ssoUrl: string;
  readonly metadataUrl: string | null;
  readonly certificates: SamlCertificate[];
  readonly allowIdpInitiated: boolean;
  readonly clockSkewSeconds: number;
  readonly jitProvisioning: boolean;
  readonly defaultRoleId: string;
  readonly attributes: SamlAttributes;
  readonly updatedAt: string;
}

export interface SamlConnectionView {
  readonly sp: SpInfo;
  readonly connection: SamlConnection | null;
}

/** Where the IdP's settings come from: exactly one of these. */
export type SamlSource =
  | { readonly metadataXml: string }
  | { readonly metadataUrl: string }
  | { readonly idpEntityId: string; readonly ssoUrl: string; readonly certificates: string[] };

/** The options a setup link may set: who gets in, and with which role, stays the admins' decision. */
export interface SamlSetupOptions {
  readonly enabled?: boolean;
  readonly allowIdpInitiated?: boolean;
  readonly clockSkewSeconds?: number;
  readonly attributes?: { readonly email?: string | null; readonly name?: string | null; readonly groups?: string | null };
}

export type SamlSetupInput = SamlSource & SamlSetupOptions;
export type SamlConnectionInput = SamlSetupInput & { readonly jitProvisioning?: boolean; readonly defaultRoleId?: string };

export interface SsoAttempt {
  readonly time: string;
  readonly outcome: 'success' | 'failure' | 'denied';
  readonly reason: string | null;
  readonly accountId: string | null;
  readonly nameId: string | null;
  readonly ip: string | null;
  readonly requestId: string | null;
}

export interface SsoDiscovery {
  readonly sso: boolean;
  readonly enforced: boolean;
  readonly workspaceId: string | null;
  readonly loginUrl: string | null;
}

/** A directory group (SCIM group or SAML groups value, lower-cased) that gives its members a role. */
export interface GroupRoleMapping {
  readonly id: string;
  readonly groupKey: string;
  readonly role: RoleRef;
  readonly createdBy: string | null;
  readonly createdAt: string;
}

/** A SCIM token as listed: never the token itself. */
export interface ScimToken {
  readonly id: string;
  readonly name: string;
  /** The token's first characters (rscim_…), to recognise it. */
  readonly prefix: string;
  readonly createdBy: string | null;
  readonly createdAt: string;
  readonly lastUsedAt: string | null;
  readonly revokedAt: string | null;
}

/** A SCIM token just created: the only answer that carries it, with the workspace's SCIM base URL. */
export interface CreatedScimToken extends ScimToken {
  readonly token: string;
  readonly baseUrl: string;
}

export interface SetupLink {
  readonly id: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/** A setup link just created: the only answer that carries its URL (and token). */
export interface CreatedSetupLink extends SetupLink {
  readonly url: string;
}

export interface IdpInstructions {
  readonly idp: 'okta' | 'entra' | 'google';
  readonly name: string;
  readonly steps: string[];
  /** The SCIM provisioning steps. */
  readonly provisioning: string[];
}

/** What a setup link opens, for the IT admin without an account. */
export interface SsoSetupView {
  readonly workspace: { readonly id: string; readonly name: string };
  readonly expiresAt: string;
  readonly sp: SpInfo;
  readonly connection: SamlConnection | null;
  readonly domains: Domain[];
  readonly scim: { readonly baseUrl: string; readonly tokens: ScimToken[] };
  readonly instructions: IdpInstructions[];
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
let onMfaEnrolmentRequired: ((path: string) => void) | null = null;

/** Remembers (or forgets) the CSRF token of the current cookie session. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a signed-in request comes back 401: the session ended elsewhere or expired. */
export function setUnauthenticatedHandler(handler: (() => void) | null): void {
  onUnauthenticated = handler;
}

/**
 * Called when a request is refused because a workspace requires a second factor this session
 * has not proved (403 `mfa_enrolment_required`); the console then sends the person to set one up.
 */
export function setMfaEnrolmentRequiredHandler(handler: ((path: string) => void) | null): void {
  onMfaEnrolmentRequired = handler;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RequestOptions {
  readonly json?: unknown;
  readonly form?: FormData;
  readonly headers?: Record<string, string>;
  /** Auth calls report a 401 to their caller instead of signalling a lost session. */
  readonly quiet401?: boolean;
  /** The caller reports a 403 `mfa_enrolment_required` itself instead of leaving for enrolment. */
  readonly quietMfa?: boolean;
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

/**
 * Sends a request and reads the answer: its JSON body (nothing for a 204), or else an ApiError,
 * thrown once `refused` has seen the status and the error's code (null when the body has none).
 */
export async function send<T>(url: string, init: RequestInit, refused: (status: number, code: string | null) => void): Promise<T> {
  const res = await fetch(url, { ...init, credentials: 'same-origin', cache: 'no-store' });
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
    const error = isErrorBody(parsed) ? parsed.error : null;
    refused(res.status, error?.code ?? null);
    if (error) throw new ApiError(res.status, error.code, error.message, error.details ?? null, error.requestId ?? null);
    const status = res.statusText ? `${res.status} ${res.statusText}` : String(res.status);
    throw new ApiError(res.status, 'http_error', `The server answered ${status}.`);
  }
  return parsed as T;
}

/** A write the server accepted: its method and API path (under /api/v1). */
export interface ApiWrite {
  readonly method: string;
  readonly path: string;
}

const writeListeners = new Set<(write: ApiWrite) => void>();

/**
 * Calls `listener` after every write (POST, PUT, PATCH, DELETE) the server accepted, so a view of
 * state that the write may have changed (the encryption keys after records were stored) can load
 * again; returns the unsubscribe function. See live.ts.
 */
export function onApiWrite(listener: (write: ApiWrite) => void): () => void {
  writeListeners.add(listener);
  return () => {
    writeListeners.delete(listener);
  };
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
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

  const answer = await send<T>(`/api/v1${path}`, { method, headers, body }, (status, code) => {
    // A request for a fresh sign-in (`reauthentication_required`) comes from a session that still works.
    if (status === 401 && !options.quiet401 && code !== 'reauthentication_required') onUnauthenticated?.();
    if (status === 403 && code === 'mfa_enrolment_required' && !options.quietMfa) onMfaEnrolmentRequired?.(path);
  });
  if (UNSAFE.has(method)) for (const listener of writeListeners) listener({ method, path });
  return answer;
}

const enc = encodeURIComponent;
const ws = (workspaceId: string) => `/workspaces/${enc(workspaceId)}`;
const col = (workspaceId: string, collection: string) => `${ws(workspaceId)}/collections/${enc(collection)}`;

/** A secret's address: its name may hold `/`, kept between the encoded segments. */
const secretPath = (workspaceId: string, integration: string, name: string) =>
  `${ws(workspaceId)}/secrets/integrations/${enc(integration)}/${name.split('/').map(enc).join('/')}`;

/** A session-changing call's answer: its new CSRF token replaces the old one at once. */
function adopt<T extends { csrfToken: string | null }>(body: T): T {
  if (body.csrfToken) setCsrfToken(body.csrfToken);
  return body;
}

/** A query string of the parameters that are set. */
function auditQuery(params: Record<string, string | number | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  return query.toString();
}

/** A decision's body: the note only when one was written. */
const decision = (note: string) => (note.trim() ? { note: note.trim() } : {});

export const api = {
  setupStatus: () => request<{ setupRequired: boolean }>('GET', '/setup'),
  session: () => request<Session>('GET', '/auth/session', { quiet401: true }),
  signUp: (body: { email: string; password: string; name?: string; setupToken?: string }) =>
    request<Session | { status: 'verification_sent' }>('POST', '/auth/sign-up', { json: body, quiet401: true }),
  signIn: (body: { email: string; password: string }) => request<SignInResult>('POST', '/auth/sign-in', { json: body, quiet401: true }),
  signOut: () => request<void>('POST', '/auth/sign-out', { quiet401: true }),
  verifyEmail: (token: string) =>
    request<SignInResult | { status: 'verified' }>('POST', '/auth/verify-email', { json: { token }, quiet401: true }),
  resendVerification: () => request<{ status: 'sent' }>('POST', '/auth/verify-email/resend'),
  requestMagicLink: (email: string) => request<{ status: 'sent' }>('POST', '/auth/magic-link', { json: { email }, quiet401: true }),
  consumeMagicLink: (token: string) => request<SignInResult>('POST', '/auth/magic-link/consume', { json: { token }, quiet401: true }),
  requestPasswordReset: (email: string) => request<{ status: 'sent' }>('POST', '/auth/password-reset', { json: { email }, quiet401: true }),
  completePasswordReset: (token: string, password: string) =>
    request<SignInResult>('POST', '/auth/password-reset/complete', { json: { token, password }, quiet401: true }),
  changePassword: async (body: { currentPassword?: string; newPassword: string }) =>
    adopt(await request<Session>('POST', '/auth/password', { json: body, quiet401: true })),
  sessions: () => request<{ data: SessionItem[] }>('GET', '/auth/sessions'),
  revokeSession: (sessionId: string) => request<void>('DELETE', `/auth/sessions/${enc(sessionId)}`),
  revokeOtherSessions: () => request<{ revoked: number }>('POST', '/auth/sessions/revoke-others'),
  authEvents: () => request<{ data: AuthEvent[] }>('GET', '/auth/events'),

  // Second factor at sign-in, and passwordless passkeys.
  verifySecondFactor: (body: { mfaToken: string; factor: 'totp' | 'recovery_code'; code: string }) =>
    request<Session>('POST', '/auth/mfa/verify', { json: body, quiet401: true }),
  secondFactorPasskeyOptions: (mfaToken: string) =>
    request<PublicKeyCredentialRequestOptionsJSON>('POST', '/auth/mfa/passkey/options', { json: { mfaToken }, quiet401: true }),
  secondFactorPasskey: (mfaToken: string, response: AuthenticationResponseJSON) =>
    request<Session>('POST', '/auth/mfa/passkey', { json: { mfaToken, response }, quiet401: true }),
  passkeySignInOptions: () =>
    request<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/auth/passkey/options', { quiet401: true }),
  passkeySignIn: (challengeId: string, response: AuthenticationResponseJSON) =>
    request<Session>('POST', '/auth/passkey', { json: { challengeId, response }, quiet401: true }),

  // My factors.
  mfa: () => request<MfaStatus>('GET', '/account/mfa'),
  startTotp: () => request<TotpSetup>('POST', '/account/mfa/totp'),
  confirmTotp: async (code: string) => adopt(await request<FactorChanged>('POST', '/account/mfa/totp/confirm', { json: { code } })),
  removeTotp: async (proof: Reauth) => adopt(await request<FactorChanged>('DELETE', '/account/mfa/totp', { json: proof, quiet401: true })),
  passkeys: () => request<{ data: Passkey[] }>('GET', '/account/mfa/passkeys'),
  passkeyRegistrationOptions: () => request<PublicKeyCredentialCreationOptionsJSON>('POST', '/account/mfa/passkeys/options'),
  addPasskey: async (response: RegistrationResponseJSON, name?: string) =>
    adopt(await request<FactorChanged & { passkey: Passkey }>('POST', '/account/mfa/passkeys', { json: { response, ...(name ? { name } : {}) } })),
  renamePasskey: (passkeyId: string, name: string) => request<Passkey>('PATCH', `/account/mfa/passkeys/${enc(passkeyId)}`, { json: { name } }),
  removePasskey: async (passkeyId: string, proof: Reauth) =>
    adopt(await request<FactorChanged>('DELETE', `/account/mfa/passkeys/${enc(passkeyId)}`, { json: proof, quiet401: true })),
  newRecoveryCodes: (proof: Reauth) => request<{ recoveryCodes: string[] }>('POST', '/account/mfa/recovery-codes', { json: proof, quiet401: true }),

  // Sign-in with an identity provider (OpenID Connect).
  oidcStatus: () => request<OidcStatus>('GET', '/auth/oidc'),
  /** Navigated to (not fetched): the server redirects to the provider. */
  oidcStartUrl: '/api/v1/auth/oidc/start',
  acceptIdentityLink: (token: string) => request<{ identity: LinkedIdentity }>('POST', '/auth/oidc/link/accept', { json: { token } }),
  startIdentityLink: () => request<{ url: string }>('POST', '/auth/oidc/link/start'),
  identities: () => request<{ data: LinkedIdentity[] }>('GET', '/auth/oidc/identities'),
  unlinkIdentity: (identityId: string) => request<void>('DELETE', `/auth/oidc/identities/${enc(identityId)}`),

  devMailbox: () => request<{ items: MailboxItem[] }>('GET', '/dev/mailbox', { quiet401: true }),

  workspaces: () => request<{ data: Workspace[] }>('GET', '/workspaces'),
  createWorkspace: (body: { name: string; region?: string }) => request<Workspace>('POST', '/workspaces', { json: body }),
  workspace: (workspaceId: string) => request<Workspace>('GET', ws(workspaceId)),
  updateWorkspace: (workspaceId: string, body: { name?: string; requireMfa?: boolean }) =>
    request<Workspace>('PATCH', ws(workspaceId), { json: body, quietMfa: true }),
  deleteWorkspace: (workspaceId: string, confirm: string) => request<void>('DELETE', ws(workspaceId), { json: { confirm } }),

  // Access control: the scope catalogue, roles, members, invitations, API keys, events.
  scopes: () => request<{ data: ScopeInfo[] }>('GET', '/scopes'),
  roles: (workspaceId: string) => request<{ data: Role[] }>('GET', `${ws(workspaceId)}/roles`),
  createRole: (workspaceId: string, body: { name: string; description?: string; scopes: Scope[] }) =>
    request<Role>('POST', `${ws(workspaceId)}/roles`, { json: body }),
  updateRole: (workspaceId: string, roleId: string, body: { name?: string; description?: string; scopes?: Scope[] }) =>
    request<Role>('PATCH', `${ws(workspaceId)}/roles/${enc(roleId)}`, { json: body }),
  deleteRole: (workspaceId: string, roleId: string) => request<void>('DELETE', `${ws(workspaceId)}/roles/${enc(roleId)}`),

  members: (workspaceId: string) => request<{ data: Member[] }>('GET', `${ws(workspaceId)}/members`),
  updateMember: (workspaceId: string, accountId: string, roleIds: string[]) =>
    request<Member>('PATCH', `${ws(workspaceId)}/members/${enc(accountId)}`, { json: { roleIds } }),
  removeMember: (workspaceId: string, accountId: string) => request<void>('DELETE', `${ws(workspaceId)}/members/${enc(accountId)}`),
  transferOwnership: (workspaceId: string, accountId: string) =>
    request<void>('POST', `${ws(workspaceId)}/transfer-ownership`, { json: { accountId } }),

  invitations: (workspaceId: string) => request<{ data: Invitation[] }>('GET', `${ws(workspaceId)}/invitations`),
  invite: (workspaceId: string, body: { email: string; roleId: string; expiresInDays?: number }) =>
    request<Invitation>('POST', `${ws(workspaceId)}/invitations`, { json: body }),
  resendInvitation: (workspaceId: string, invitationId: string) =>
    request<Invitation>('POST', `${ws(workspaceId)}/invitations/${enc(invitationId)}/resend`),
  revokeInvitation: (workspaceId: string, invitationId: string) =>
    request<void>('DELETE', `${ws(workspaceId)}/invitations/${enc(invitationId)}`),
  previewInvitation: (token: string) => request<InvitationPreview>('POST', '/invitations/preview', { json: { token } }),
  acceptInvitation: (token: string) => request<Workspace>('POST', '/invitations/accept', { json: { token } }),

  apiKeys: (workspaceId: string) => request<{ data: ApiKey[] }>('GET', `${ws(workspaceId)}/api-keys`),
  createApiKey: (workspaceId: string, body: { name: string; scopes: Scope[]; expiresAt?: string }) =>
    request<CreatedApiKey>('POST', `${ws(workspaceId)}/api-keys`, { json: body }),
  revokeApiKey: (workspaceId: string, keyId: string) => request<void>('DELETE', `${ws(workspaceId)}/api-keys/${enc(keyId)}`),

  workspaceEvents: (workspaceId: string) => request<{ data: WorkspaceEvent[] }>('GET', `${ws(workspaceId)}/events?limit=50`),

  // Encryption keys and the secrets vault.
  keys: (workspaceId: string) => request<KeyStatus>('GET', `${ws(workspaceId)}/keys`),
  rotateKeys: (workspaceId: string) => request<KeyStatus>('POST', `${ws(workspaceId)}/keys/rotate`),
  retireKeys: (workspaceId: string, minVersion: number) =>
    request<KeyStatus>('POST', `${ws(workspaceId)}/keys/retire`, { json: { minVersion } }),
  setOwnKey: (workspaceId: string, body: { provider: KeyProviderKind; keyRef: string }) =>
    request<KeyStatus>('PUT', `${ws(workspaceId)}/keys/own-key`, { json: body }),
  removeOwnKey: (workspaceId: string) => request<KeyStatus>('DELETE', `${ws(workspaceId)}/keys/own-key`),

  secrets: (workspaceId: string) => request<{ data: VaultSecret[] }>('GET', `${ws(workspaceId)}/secrets`),
  createSecret: (workspaceId: string, body: { integration: string; name: string; value: string }) =>
    request<VaultSecret>('POST', `${ws(workspaceId)}/secrets`, { json: body }),
  rotateSecret: (workspaceId: string, integration: string, name: string, value: string) =>
    request<VaultSecret>('PUT', secretPath(workspaceId, integration, name), { json: { value } }),
  deleteSecret: (workspaceId: string, integration: string, name: string) => request<void>('DELETE', secretPath(workspaceId, integration, name)),

  collections: (workspaceId: string) => request<CollectionList>('GET', `${ws(workspaceId)}/collections`),
  createCollection: (workspaceId: string, name: string) =>
    request<Collection>('POST', `${ws(workspaceId)}/collections`, { json: { name } }),
  deleteCollection: (workspaceId: string, name: string) => request<void>('DELETE', col(workspaceId, name)),

  records: (workspaceId: string, collection: string, cursor: string | null, options: RecordQuery = {}) => {
    const query = new URLSearchParams({ limit: String(options.limit ?? PAGE_SIZE) });
    if (cursor) query.set('cursor', cursor);
    // Values go as JSON, so a string is never read as a number or a boolean ("1" stays a string).
    for (const [field, value] of options.filters ?? []) query.append(`filter[${field}]`, JSON.stringify(value));
    return request<Page<RecordItem>>('GET', `${col(workspaceId, collection)}/records?${query.toString()}`);
  },
  record: (workspaceId: string, collection: string, recordId: string) =>
    request<RecordItem>('GET', `${col(workspaceId, collection)}/records/${enc(recordId)}`),
  createRecord: (workspaceId: string, collection: string, data: JsonObject) =>
    request<RecordItem>('POST', `${col(workspaceId, collection)}/records`, { json: { data } }),
  replaceRecord: (workspaceId: string, collection: string, recordId: string, data: JsonObject, version: number) =>
    request<RecordItem>('PUT', `${col(workspaceId, collection)}/records/${enc(recordId)}`, {
      json: { data },
      headers: { 'if-match': `"${version}"` },
    }),
  /** With `version`, only if the record is still at it (else 412 `precondition_failed`). */
  deleteRecord: (workspaceId: string, collection: string, recordId: string, version?: number) =>
    request<void>('DELETE', `${col(workspaceId, collection)}/records/${enc(recordId)}`, version === undefined ? {} : { headers: { 'if-match': `"${version}"` } }),

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
  // Single sign-on: domains, the SAML connection, setup links, attempts; discovery and setup links (public).
  domains: (workspaceId: string) => request<{ data: Domain[] }>('GET', `${ws(workspaceId)}/domains`),
  addDomain: (workspaceId: string, domain: string) => request<Domain>('POST', `${ws(workspaceId)}/domains`, { json: { domain } }),
  verifyDomain: (workspaceId: string, domainId: string) => request<Domain>('POST', `${ws(workspaceId)}/domains/${enc(domainId)}/verify`),
  setSsoEnforced: (workspaceId: string, domainId: string, ssoEnforced: boolean) =>
    request<Domain>('PATCH', `${ws(workspaceId)}/domains/${enc(domainId)}`, { json: { ssoEnforced } }),
  removeDomain: (workspaceId: string, domainId: string) => request<void>('DELETE', `${ws(workspaceId)}/domains/${enc(domainId)}`),
  saml: (workspaceId: string) => request<SamlConnectionView>('GET', `${ws(workspaceId)}/sso/saml`),
  putSaml: (workspaceId: string, body: SamlConnectionInput) => request<SamlConnectionView>('PUT', `${ws(workspaceId)}/sso/saml`, { json: body }),
  removeSaml: (workspaceId: string) => request<void>('DELETE', `${ws(workspaceId)}/sso/saml`),
  ssoAttempts: (workspaceId: string, limit = 50) => request<{ data: SsoAttempt[] }>('GET', `${ws(workspaceId)}/sso/attempts?limit=${limit}`),
  setupLinks: (workspaceId: string) => request<{ data: SetupLink[] }>('GET', `${ws(workspaceId)}/sso/setup-links`),
  createSetupLink: (workspaceId: string, expiresInHours: number) =>
    request<CreatedSetupLink>('POST', `${ws(workspaceId)}/sso/setup-links`, { json: { expiresInHours } }),
  revokeSetupLink: (workspaceId: string, linkId: string) => request<void>('DELETE', `${ws(workspaceId)}/sso/setup-links/${enc(linkId)}`),
  discoverSso: (email: string) => request<SsoDiscovery>('POST', '/auth/sso/discover', { json: { email }, quiet401: true }),
  /** Navigated to (not fetched): the server redirects to the workspace's IdP. */
  samlLoginUrl: (workspaceId: string) => `/api/v1/sso/saml/${enc(workspaceId)}/login`,
  ssoSetupView: (token: string) => request<SsoSetupView>('POST', '/sso/setup/view', { json: { token }, quiet401: true }),
  ssoSetupSaml: (token: string, body: SamlSetupInput) =>
    request<SamlConnectionView>('PUT', '/sso/setup/saml', { json: { token, ...body }, quiet401: true }),
  ssoSetupScimToken: (token: string, name: string) => request<CreatedScimToken>('POST', '/sso/setup/scim-tokens', { json: { token, name }, quiet401: true }),
  groupRoles: (workspaceId: string) => request<{ data: GroupRoleMapping[] }>('GET', `${ws(workspaceId)}/directory/group-roles`),
  createGroupRole: (workspaceId: string, group: string, roleId: string) =>
    request<GroupRoleMapping>('POST', `${ws(workspaceId)}/directory/group-roles`, { json: { group, roleId } }),
  removeGroupRole: (workspaceId: string, mappingId: string) => request<void>('DELETE', `${ws(workspaceId)}/directory/group-roles/${enc(mappingId)}`),
  scimTokens: (workspaceId: string) => request<{ data: ScimToken[] }>('GET', `${ws(workspaceId)}/scim/tokens`),
  createScimToken: (workspaceId: string, name: string) => request<CreatedScimToken>('POST', `${ws(workspaceId)}/scim/tokens`, { json: { name } }),
  revokeScimToken: (workspaceId: string, tokenId: string) => request<void>('DELETE', `${ws(workspaceId)}/scim/tokens/${enc(tokenId)}`),

  // The audit log, the access log (staff), and staff access requests.
  auditEvents: (workspaceId: string, filter: AuditFilter, before: number | null, limit = 100) =>
    request<AuditPage>('GET', `${ws(workspaceId)}/audit/events?${auditQuery({ ...filter, limit: String(limit), before })}`),
  accessLog: (workspaceId: string, filter: Pick<AuditFilter, 'from' | 'to'>, before: number | null, limit = 100) =>
    request<AuditPage>('GET', `${ws(workspaceId)}/audit/access-log?${auditQuery({ from: filter.from, to: filter.to, limit: String(limit), before })}`),
  /** A same-origin URL the browser downloads (an attachment) with its session cookie. */
  auditExportUrl: (workspaceId: string, format: 'jsonl' | 'csv', filter: Pick<AuditFilter, 'from' | 'to' | 'actor'>) =>
    `/api/v1${ws(workspaceId)}/audit/export?${auditQuery({ format, from: filter.from, to: filter.to, actor: filter.actor })}`,
  auditCheckpoints: (workspaceId: string) => request<{ data: AuditCheckpoint[] }>('GET', `${ws(workspaceId)}/audit/checkpoints`),
  verifyAudit: (workspaceId: string) => request<AuditVerifyReport>('POST', `${ws(workspaceId)}/audit/verify`, { json: {} }),
  /** The published keys that sign audit checkpoints (public). */
  auditPublicKeysUrl: '/api/v1/audit/public-keys',

  accessRequests: (workspaceId: string, status?: AccessRequestStatus) =>
    request<{ data: AccessRequest[] }>('GET', `${ws(workspaceId)}/access-requests${status ? `?status=${status}` : ''}`),
  approveAccessRequest: (workspaceId: string, requestId: string, note: string) =>
    request<AccessRequest>('POST', `${ws(workspaceId)}/access-requests/${enc(requestId)}/approve`, { json: decision(note) }),
  denyAccessRequest: (workspaceId: string, requestId: string, note: string) =>
    request<AccessRequest>('POST', `${ws(workspaceId)}/access-requests/${enc(requestId)}/deny`, { json: decision(note) }),
  revokeAccessRequest: (workspaceId: string, requestId: string, note: string) =>
    request<AccessRequest>('POST', `${ws(workspaceId)}/access-requests/${enc(requestId)}/revoke`, { json: decision(note) }),
};

// Profile, workspace-for-key, overview
// (PATCH /auth/account, POST and DELETE /auth/account/email, POST …/email/confirm, GET /workspace with an API key,
// GET /workspaces/:id/overview; members carry `mfa`; the invitation preview works signed out.)

/** Members gain whether they have a second factor (a confirmed authenticator app or a passkey). */
export interface Member {
  readonly mfa: boolean;
}

/** An email change asked for: the link went to this address (the same answer if it is taken). */
export interface EmailChangePending {
  readonly pendingEmail: string;
}

/** What an API key learns about itself: its workspace, and the key as it acts now. */
export interface KeyWorkspace {
  readonly id: string;
  readonly name: string;
  readonly region: string;
  readonly createdAt: string;
  readonly apiKey: {
    readonly id: string;
    readonly name: string;
    /** Its scopes, cut to what its creator still holds. */
    readonly scopes: Scope[];
    readonly createdAt: string;
  };
}

export type OverviewSeverity = 'critical' | 'warning' | 'info';

/** A console section an alert points to: /w/:workspaceId/<section>. */
export type OverviewSection =
  | 'collections'
  | 'documents'
  | 'members'
  | 'invitations'
  | 'roles'
  | 'sso'
  | 'api-keys'
  | 'encryption'
  | 'access-requests'
  | 'access-log'
  | 'audit'
  | 'settings';

export interface OverviewAlert {
  /** Names the condition (`audit.verification_failed`, `keys.rotation_overdue`, …). */
  readonly id: string;
  readonly severity: OverviewSeverity;
  readonly at: string;
  readonly title: string;
  readonly section: OverviewSection;
}

/** A workspace's security posture. A part is null when the caller lacks the scope that reads it. */
export interface WorkspaceOverview {
  readonly members: { readonly total: number; readonly withMfa: number; readonly mfaRequired: boolean } | null;
  readonly sso: {
    readonly saml: boolean;
    readonly oidc: boolean;
    readonly scim: boolean;
    readonly enforced: boolean;
    readonly domains: { readonly verified: number; readonly pending: number };
  } | null;
  readonly keys: { readonly currentVersion: number; readonly versions: number; readonly rotatedAt: string | null; readonly nextRotationAt: string | null } | null;
  readonly accessRequests: { readonly pending: number } | null;
  readonly audit: { readonly chain: 'verified' | 'failed' | 'unknown'; readonly lastCheckpointAt: string | null } | null;
  /** Most severe first. */
  readonly alerts: OverviewAlert[];
}

export const profileApi = {
  /** Renames the signed-in account; the answer is the Account as in the session. */
  updateProfile: (name: string) => request<Account>('PATCH', '/auth/account', { json: { name } }),
  /**
   * Asks to move the account to `email`. `password` is required when the account has one
   * (401 `reauthentication_required` otherwise, which is no sign-out); 403 `email_managed` when a
   * workspace manages the current address, `sso_required` when the new one's domain enforces SSO.
   */
  requestEmailChange: (email: string, password?: string) =>
    request<EmailChangePending>('POST', '/auth/account/email', { json: password === undefined ? { email } : { email, password } }),
  /** Cancels the pending email change (its link stops working); 204 whether or not one was pending. */
  cancelEmailChange: () => request<void>('DELETE', '/auth/account/email'),
  /** The /email-change#token=… page: confirms, signed in to the account that asked (401 signed out). */
  confirmEmailChange: (token: string) => request<Account>('POST', '/auth/account/email/confirm', { json: { token } }),
  /** Which workspace an API key opens (never the session's): 401 for an unknown, revoked or expired key. */
  workspaceForKey: (secret: string) =>
    request<KeyWorkspace>('GET', '/workspace', { headers: { authorization: `Bearer ${secret}` }, quiet401: true }),
  workspaceOverview: (workspaceId: string) => request<WorkspaceOverview>('GET', `${ws(workspaceId)}/overview`),
};
