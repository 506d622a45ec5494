/**
 * Authentication, CSRF and tenant context for every request, before its body is read.
 *
 * 1. Every route under /api declares `config.access`; registering one without it throws, so the
 *    server refuses to start (deny by default). `workspace` routes must carry `:workspaceId`.
 * 2. The principal comes from `Authorization: Bearer` (API clients) or the `__Host-` session
 *    cookie (the console). A token is only accepted in the form it was issued for.
 * 3. Cookie-authenticated writes must echo the session's CSRF token in `x-csrf-token`; any
 *    unsafe request a browser labels cross-site is refused.
 * 4. The tenant of a workspace route is the path's workspace, only if the principal is a member
 *    (or the API key belongs to it); otherwise 404, exactly as for a workspace that does not
 *    exist. A workspace that requires MFA admits only sessions that proved a second factor
 *    (403 `mfa_enrolment_required`).
 * 5. Every workspace route declares the one scope it needs; the caller's effective scopes, read
 *    by the same statement that authenticated it, must hold it (403 `forbidden`). Deny by
 *    default: a workspace route without a scope stops the server from starting.
 * 6. An API key (`Bearer rk_live_…`) works on workspace routes only, and only in its workspace;
 *    elsewhere it is 401, as an unknown key (decision 0019). `api_key` routes take a key and
 *    nothing else: the key names its workspace (found by its digest alone, decision 0026).
 * 7. Sessions end when revoked, at their absolute expiry, or after the idle timeout; the idle
 *    clock (and a key's last-used time) moves at most once a minute, after authentication.
 * 8. Staff routes (`staff`, under /api/v1/staff/) take only a staff session: the `__Host-` staff
 *    cookie or a staff bearer token — a customer session or API key is no staff session. CSRF as
 *    for customer cookies. A staff session that has not proved TOTP reaches only `enrolment`
 *    routes (403 `staff_mfa_required`); the staff role must hold the route's `staffPermission`
 *    (403 `forbidden`), from the table in src/modules/staff/permissions.ts.
 * 9. SCIM routes (`scim`, under /scim/v2/) are authenticated by the SCIM module with the
 *    workspace's SCIM tokens, never a session or API key (docs/scim.md).
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { RampartError } from '../errors.js';
import { isUuid, safeEqual } from '../ids.js';
import { isStaffRouteLevel, staffMay } from '../../modules/staff/permissions.js';
import type { Actor, Membership, Principal, StaffPrincipal } from './context.js';
import { isScope } from './scopes.js';

export const SESSION_COOKIE = '__Host-rampart_session';
/** The staff realm's session cookie: never read on customer routes, nor the customer's on staff routes. */
export const STAFF_SESSION_COOKIE = '__Host-rampart_staff';
export const CSRF_HEADER = 'x-csrf-token';

export interface AuthBackend {
  /**
   * The live session behind a presented token, or null (unknown, expired, revoked, wrong kind),
   * with its membership of `workspaceId` when one is given (null when not a member).
   */
  resolve(
    token: string,
    kind: Principal['sessionKind'],
    workspaceId: string | null,
  ): Promise<{ principal: Principal; membership: Membership | null; stale: boolean } | null>;
  /** The live API key behind a presented secret, in the workspace it is presented to. */
  resolveApiKey(secret: string, workspaceId: string): Promise<{ actor: Actor & { type: 'api_key' }; membership: Membership; stale: boolean } | null>;
  /** The live API key behind a presented secret, in its own workspace; without it every `api_key` route answers 401. */
  resolveOwnApiKey?(secret: string): Promise<{ actor: Actor & { type: 'api_key' }; membership: Membership; stale: boolean } | null>;
  /** Moves a session's idle clock (after the request authenticated, off the request's path). */
  touch(principal: Principal): void;
  /** Moves an API key's last-used time, off the request's path. */
  touchApiKey(membership: Membership, keyId: string): void;
  /** The staff realm; without it every staff route answers 401. */
  readonly staff?: StaffAuthBackend;
}

export interface StaffAuthBackend {
  /** The live staff session behind a presented token (of the kind it was issued as), or null. */
  resolve(token: string, kind: StaffPrincipal['sessionKind']): Promise<{ principal: StaffPrincipal; stale: boolean } | null>;
  /** Moves a staff session's idle clock, off the request's path. */
  touch(principal: StaffPrincipal): void;
}

/** Every API key secret starts so, for people and secret scanners to recognise one. */
export const API_KEY_PREFIX = 'rk_live_';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const API_KEY_REFUSED = "This API key does not open this workspace: it is unknown, revoked, expired, or another workspace's.";
const API_KEY_ONLY = 'This route answers a workspace API key only: send Authorization: Bearer rk_live_….';
const API_KEY_UNKNOWN = 'This API key is unknown, revoked or expired.';

/** Checks each route's declaration as it is registered. */
export function assertRouteDeclaration(route: Pick<RouteOptions, 'url' | 'method' | 'config'>): void {
  const access = route.config?.access;
  const where = `${String(route.method)} ${route.url}`;
  // The SCIM server authenticates its own tokens (src/modules/scim): its routes say so, and no other does.
  if (route.url.startsWith('/scim/') !== (access === 'scim')) {
    throw new Error(`route ${where}: SCIM routes, and only they, are under /scim/ with config.access 'scim'`);
  }
  if (!route.url.startsWith('/api/')) return;
  if (access !== 'public' && access !== 'account' && access !== 'workspace' && access !== 'api_key' && access !== 'staff') {
    throw new Error(`route ${where} declares no access (config.access: public | account | workspace | api_key | staff)`);
  }
  if (access === 'api_key' && route.url.includes(':workspaceId')) {
    throw new Error(`route ${where} takes API keys only: the key names its workspace, the path does not`);
  }
  const staffPermission = route.config?.staffPermission;
  if (access === 'staff' && !route.url.startsWith('/api/v1/staff/')) {
    throw new Error(`staff route ${where} is not under /api/v1/staff/`);
  }
  if (access === 'staff' && !isStaffRouteLevel(staffPermission)) {
    throw new Error(`staff route ${where} declares no known staff permission (config.staffPermission)`);
  }
  if (access !== 'staff' && staffPermission !== undefined) {
    throw new Error(`route ${where} declares a staff permission but is not a staff route`);
  }
  if (access === 'workspace' && !route.url.includes(':workspaceId')) {
    throw new Error(`route ${where} is a workspace route without :workspaceId`);
  }
  const scope = route.config?.scope;
  if (access === 'workspace' && (scope === undefined || !isScope(scope))) {
    throw new Error(`workspace route ${where} declares no known scope (config.scope)`);
  }
  if (access !== 'workspace' && scope !== undefined) {
    throw new Error(`route ${where} declares a scope but is not a workspace route`);
  }
  if (route.config?.crossSitePost && (access !== 'public' || route.method !== 'POST')) {
    throw new Error(`route ${where} accepts cross-site posts but is not a public POST route`);
  }
}

function presentedToken(request: FastifyRequest): { token: string; kind: Principal['sessionKind'] } | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]{16,200})$/.exec(header);
    if (!match) throw new RampartError('unauthenticated', { message: 'The Authorization header is malformed.' });
    return { token: match[1] as string, kind: 'bearer' };
  }
  const cookie = request.cookies[SESSION_COOKIE];
  if (cookie) return { token: cookie, kind: 'cookie' };
  return null;
}

/** A staff route's credential: a staff bearer token, or the staff cookie (never the customer's). */
function presentedStaffToken(request: FastifyRequest): { token: string; kind: StaffPrincipal['sessionKind'] } | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]{16,200})$/.exec(header);
    if (!match) throw new RampartError('unauthenticated', { message: 'The Authorization header is malformed.' });
    return { token: match[1] as string, kind: 'bearer' };
  }
  const cookie = request.cookies[STAFF_SESSION_COOKIE];
  if (cookie) return { token: cookie, kind: 'cookie' };
  return null;
}

async function authenticateStaff(request: FastifyRequest, backend: StaffAuthBackend | undefined, unsafe: boolean): Promise<void> {
  const presented = presentedStaffToken(request);
  // An API key is a workspace credential, never a staff one: not even looked up.
  if (!presented || !backend || presented.token.startsWith(API_KEY_PREFIX)) throw new RampartError('unauthenticated');
  const resolved = await backend.resolve(presented.token, presented.kind);
  if (!resolved) throw new RampartError('unauthenticated');
  const { principal } = resolved;
  request.staff = principal;
  if (unsafe && principal.sessionKind === 'cookie') {
    const sent = request.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || principal.csrfToken === null || !safeEqual(sent, principal.csrfToken)) {
      throw new RampartError('csrf_failed');
    }
  }
  if (resolved.stale) backend.touch(principal);
  const level = request.routeOptions.config.staffPermission;
  if (level !== 'enrolment' && principal.mfaAt === null) throw new RampartError('staff_mfa_required');
  if (level === undefined || !staffMay(principal.role, level)) {
    throw new RampartError('forbidden', { message: 'Your staff role does not allow this.', details: { staffPermission: level ?? null, role: principal.role } });
  }
}

export function installAuth(app: FastifyInstance, backend: AuthBackend): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('actor', null);
  app.decorateRequest('membership', null);
  app.decorateRequest('staff', null);
  app.addHook('onRoute', assertRouteDeclaration);

  app.addHook('onRequest', async (request) => {
    const { access, scope, crossSitePost } = request.routeOptions.config;
    if (access === undefined || access === 'scim') return;

    const unsafe = UNSAFE.has(request.method);
    if (unsafe && request.headers['sec-fetch-site'] === 'cross-site' && !(access === 'public' && crossSitePost === true)) {
      throw new RampartError('csrf_failed', { internal: 'cross-site unsafe request' });
    }
    // Public routes act on no one's behalf: no session lookup, and a stale cookie cannot get in
    // the way of signing in.
    if (access === 'public') return;
    if (access === 'staff') return authenticateStaff(request, backend.staff, unsafe);

    // A key's own workspace: only a key, never a session (whose workspaces are many).
    if (access === 'api_key') {
      const presented = presentedToken(request);
      if (!presented || presented.kind !== 'bearer' || !presented.token.startsWith(API_KEY_PREFIX)) {
        throw new RampartError('unauthenticated', { message: API_KEY_ONLY });
      }
      const resolved = backend.resolveOwnApiKey ? await backend.resolveOwnApiKey(presented.token) : null;
      if (!resolved) throw new RampartError('unauthenticated', { message: API_KEY_UNKNOWN });
      request.actor = resolved.actor;
      request.membership = resolved.membership;
      if (resolved.stale) backend.touchApiKey(resolved.membership, resolved.actor.id);
      return;
    }

    // A workspace route's id is checked before anything is looked up with it.
    let workspaceId: string | null = null;
    if (access === 'workspace') {
      workspaceId = (request.params as Record<string, string | undefined>)['workspaceId'] ?? '';
      if (!isUuid(workspaceId)) throw new RampartError('invalid_id', { details: { param: 'workspaceId' } });
    }
    const presented = presentedToken(request);
    if (!presented) throw new RampartError('unauthenticated');

    let membership: Membership | null;
    let missingMfa = false;
    if (presented.kind === 'bearer' && presented.token.startsWith(API_KEY_PREFIX)) {
      if (workspaceId === null) {
        throw new RampartError('unauthenticated', { message: 'API keys work on workspace routes only; sign in for this.' });
      }
      const resolved = await backend.resolveApiKey(presented.token, workspaceId);
      // Looked up in this workspace only (its tenant context): another workspace's key is no
      // key here, and answers as an unknown one does, whether or not this workspace exists.
      if (!resolved) throw new RampartError('unauthenticated', { message: API_KEY_REFUSED });
      request.actor = resolved.actor;
      membership = resolved.membership;
      if (resolved.stale) backend.touchApiKey(membership, resolved.actor.id);
    } else {
      const resolved = await backend.resolve(presented.token, presented.kind, workspaceId);
      if (!resolved) throw new RampartError('unauthenticated');
      const { principal } = resolved;
      request.principal = principal;
      if (unsafe && principal.sessionKind === 'cookie') {
        const sent = request.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || principal.csrfToken === null || !safeEqual(sent, principal.csrfToken)) {
          throw new RampartError('csrf_failed');
        }
      }
      if (resolved.stale) backend.touch(principal);
      if (workspaceId === null) return;
      membership = resolved.membership;
      if (!membership) throw new RampartError('workspace_not_found');
      request.actor = { type: 'account', id: principal.accountId };
      missingMfa = membership.requireMfa && principal.mfaAt === null;
    }
    // Known from here on, so a refusal below is recorded in this workspace's events.
    request.membership = membership;
    if (missingMfa) throw new RampartError('mfa_enrolment_required');
    if (scope === undefined || !membership.scopes.has(scope)) {
      throw new RampartError('forbidden', { message: 'You lack the permission this needs.', details: { scope: scope ?? null } });
    }
  });
}
