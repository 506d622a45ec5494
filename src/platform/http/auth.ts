/**
 * Authentication, CSRF and tenant context for every request, before its body is read.
 *
 * 1. Every route under /api declares `config.access`; registering one without it throws, so the
 *    server refuses to start (deny by default). `workspace` routes must carry `:workspaceId`.
 * 2. The principal comes from `Authorization: Bearer` (API clients) or the `__Host-` session
 *    cookie (the console). A token is only accepted in the form it was issued for.
 * 3. Cookie-authenticated writes must echo the session's CSRF token in `x-csrf-token`; any
 *    unsafe request a browser labels cross-site is refused.
 * 4. The tenant of a workspace route is the path's workspace, only if the principal is a member;
 *    otherwise 404, exactly as for a workspace that does not exist. A workspace that requires MFA
 *    admits only sessions that proved a second factor (403 `mfa_enrolment_required`).
 * 5. Sessions end when revoked, at their absolute expiry, or after the idle timeout; the idle
 *    clock moves at most once a minute, after the request is authenticated.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { RampartError } from '../errors.js';
import { isUuid, safeEqual } from '../ids.js';
import type { Membership, Principal } from './context.js';

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
  /** Moves a session's idle clock (after the request authenticated, off the request's path). */
  touch(principal: Principal): void;
}

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
  if (route.config?.role && access !== 'workspace') {
    throw new Error(`route ${where} requires a workspace role but is not a workspace route`);
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
  app.decorateRequest('membership', null);
  app.addHook('onRoute', assertRouteDeclaration);

  app.addHook('onRequest', async (request) => {
    const { access, role } = request.routeOptions.config;
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
    const resolved = await authenticate(request, backend, workspaceId);
    if (!resolved) throw new RampartError('unauthenticated');
    const { principal, membership } = resolved;
    if (unsafe && principal.sessionKind === 'cookie') {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || principal.csrfToken === null || !safeEqual(sent, principal.csrfToken)) {
        throw new RampartError('csrf_failed');
      }
    }
    if (resolved.stale) backend.touch(principal);
    if (access !== 'workspace') return;
    if (!membership) throw new RampartError('workspace_not_found');
    if (membership.requireMfa && principal.mfaAt === null) throw new RampartError('mfa_enrolment_required');
    if (role === 'owner' && membership.role !== 'owner') {
      throw new RampartError('forbidden', { message: 'Only a workspace owner can do this.' });
    }
    request.membership = membership;
  });
}

/** Resolves the principal (and membership); a malformed Authorization header is a 401. */
async function authenticate(
  request: FastifyRequest,
  backend: AuthBackend,
  workspaceId: string | null,
): Promise<{ principal: Principal; membership: Membership | null; stale: boolean } | null> {
  const presented = presentedToken(request);
  if (!presented) return null;
  const resolved = await backend.resolve(presented.token, presented.kind, workspaceId);
  request.principal = resolved?.principal ?? null;
  return resolved;
}
