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
 * 6. An API key (`Bearer rk_live_…`) works on workspace routes only, and only in its workspace.
 * 7. Sessions end when revoked, at their absolute expiry, or after the idle timeout; the idle
 *    clock (and a key's last-used time) moves at most once a minute, after authentication.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { RampartError } from '../errors.js';
import { isUuid, safeEqual } from '../ids.js';
import type { Actor, Membership, Principal } from './context.js';
import { isScope } from './scopes.js';

export const SESSION_COOKIE = '__Host-rampart_session';
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
  /** Moves a session's idle clock (after the request authenticated, off the request's path). */
  touch(principal: Principal): void;
  /** Moves an API key's last-used time, off the request's path. */
  touchApiKey(membership: Membership, keyId: string): void;
}

/** Every API key secret starts so, for people and secret scanners to recognise one. */
export const API_KEY_PREFIX = 'rk_live_';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Checks each route's declaration as it is registered. */
export function assertRouteDeclaration(route: Pick<RouteOptions, 'url' | 'method' | 'config'>): void {
  if (!route.url.startsWith('/api/')) return;
  const access = route.config?.access;
  const where = `${String(route.method)} ${route.url}`;
  if (access !== 'public' && access !== 'account' && access !== 'workspace') {
    throw new Error(`route ${where} declares no access (config.access: public | account | workspace)`);
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

export function installAuth(app: FastifyInstance, backend: AuthBackend): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('actor', null);
  app.decorateRequest('membership', null);
  app.addHook('onRoute', assertRouteDeclaration);

  app.addHook('onRequest', async (request) => {
    const { access, scope } = request.routeOptions.config;
    if (access === undefined) return;

    const unsafe = UNSAFE.has(request.method);
    if (unsafe && request.headers['sec-fetch-site'] === 'cross-site') {
      throw new RampartError('csrf_failed', { internal: 'cross-site unsafe request' });
    }
    // Public routes act on no one's behalf: no session lookup, and a stale cookie cannot get in
    // the way of signing in.
    if (access === 'public') return;

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
      if (!resolved) throw new RampartError('unauthenticated');
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
