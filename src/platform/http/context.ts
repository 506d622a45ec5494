/**
 * What every request knows about who is calling and for which workspace, and what each route
 * must declare about who may call it. Routes under /api declare `config.access`; the server
 * refuses to start if one does not (deny by default).
 */
import type { FastifyRequest } from 'fastify';
import { RampartError, type ErrorCode } from '../errors.js';
import type { TenantContext } from '../db/types.js';
import type { StaffRole } from '../../modules/events/actors.js';
import type { StaffRouteLevel } from '../../modules/staff/permissions.js';
import type { Scope } from './scopes.js';

/**
 * - `public`: anyone (sign-in, health, the OpenAPI document).
 * - `account`: a signed-in account (a session, never an API key); no workspace.
 * - `workspace`: a member of the workspace named by `:workspaceId`, or one of its API keys,
 *   holding the route's `scope`.
 * - `api_key`: a live workspace API key and nothing else (a session is 401); the workspace is the
 *   key's own, so the path names none. Such a route reads only what any key may know about itself.
 * - `staff`: a member of the operator's staff (the staff session cookie or a staff bearer token,
 *   never a customer's), whose session proved TOTP and whose role holds the route's
 *   `staffPermission` (docs/staff-access.md). Only under /api/v1/staff/.
 * - `scim`: the SCIM 2.0 server (under /scim/v2/, docs/scim.md), which authenticates its own
 *   bearer tokens and answers in SCIM's error format; the hook here leaves it alone.
 */
export type Access = 'public' | 'account' | 'workspace' | 'api_key' | 'staff' | 'scim';

export interface Principal {
  readonly accountId: string;
  readonly sessionId: string;
  readonly sessionKind: 'cookie' | 'bearer';
  /** When this session proved a second factor; null if it never did. */
  readonly mfaAt: Date | null;
  /**
   * What cookie-authenticated writes must send as `x-csrf-token`: an HMAC of the session token,
   * so it changes whenever the token rotates. Null for bearer sessions (no CSRF token needed).
   */
  readonly csrfToken: string | null;
}

/** The staff member behind a staff route's request: a realm of its own, apart from accounts. */
export interface StaffPrincipal {
  readonly staffId: string;
  readonly name: string;
  readonly role: StaffRole;
  readonly sessionId: string;
  readonly sessionKind: 'cookie' | 'bearer';
  /** When this session proved TOTP; null until it does (it can then only enrol or prove TOTP). */
  readonly mfaAt: Date | null;
  /** What cookie-authenticated writes must send as `x-csrf-token`; null for bearer sessions. */
  readonly csrfToken: string | null;
}

/** Where a request came from, for sessions and events. */
export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export function requestMeta(request: FastifyRequest): RequestMeta {
  return { ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 512) ?? null, requestId: request.id };
}

/** Who acts in a workspace request: a signed-in account, or an API key (never both). */
export type Actor =
  | { readonly type: 'account'; readonly id: string }
  | { readonly type: 'api_key'; readonly id: string; /** The account that created the key. */ readonly createdBy: string };

export interface Membership {
  readonly tenant: TenantContext;
  /** The caller's effective scopes here: its roles' (a key's own, within its creator's). */
  readonly scopes: ReadonlySet<Scope>;
  /** The workspace's data region: where its objects are stored. */
  readonly region: string;
  /** Whether the workspace admits only sessions that proved a second factor. */
  readonly requireMfa: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** For `workspace` routes (and only those): the scope the caller must hold. */
    scope?: Scope;
    /** For `staff` routes (and only those): the staff permission (or level) the caller's role must hold. */
    staffPermission?: StaffRouteLevel;
    /**
     * A public route that browsers post to from another site by design (the SAML assertion
     * consumer service, which an IdP's page posts to): the cross-site write refusal spares it.
     */
    crossSitePost?: true;
    /**
     * Error codes this route can answer beyond those its declaration implies (access, scope,
     * parameters, body: platform/http/openapi.ts); listed per operation in the OpenAPI document.
     */
    errors?: readonly ErrorCode[];
  }
  interface FastifyRequest {
    /** The session behind the request; null for public routes and API keys. */
    principal: Principal | null;
    /** Who acts on a workspace route. */
    actor: Actor | null;
    membership: Membership | null;
    /** The staff member behind a `staff` route's request; null everywhere else. */
    staff: StaffPrincipal | null;
  }
}

export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new RampartError('unauthenticated');
  return request.principal;
}

export function requireMembership(request: FastifyRequest): Membership {
  if (!request.membership) throw new RampartError('internal_error', { internal: 'workspace route reached without a membership' });
  return request.membership;
}

export function requireStaff(request: FastifyRequest): StaffPrincipal {
  if (!request.staff) throw new RampartError('unauthenticated');
  return request.staff;
}

/** Who acts on a workspace route: the session's account or the API key. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new RampartError('internal_error', { internal: 'workspace route reached without an actor' });
  return request.actor;
}

/** The tenant context of a workspace route, resolved from the principal's membership. */
export function tenantOf(request: FastifyRequest): TenantContext {
  return requireMembership(request).tenant;
}

/** The account answerable for what an actor does: the account itself, or the key's creator. */
export function accountableAccount(actor: Actor): string {
  return actor.type === 'account' ? actor.id : actor.createdBy;
}

/** Everything a workspace service needs to know about who is acting, and from where. */
export interface WorkspaceCaller {
  readonly tenant: TenantContext;
  readonly actor: Actor;
  /** The caller's effective scopes here: nobody grants what they do not hold. */
  readonly scopes: ReadonlySet<Scope>;
  readonly meta: RequestMeta;
}

/**
 * The customer's IT admin acting through a setup link: no account, so no actor; what they do is
 * recorded with the link's id. Only the SSO configuration services accept it.
 */
export interface SetupLinkCaller {
  readonly tenant: TenantContext;
  readonly actor: null;
  readonly setupLinkId: string;
  readonly meta: RequestMeta;
}

/** Who made a configuration change: an account (or its key), or a setup link. */
export type ConfigCaller = WorkspaceCaller | SetupLinkCaller;

/** The account answerable for a change, and the audit details naming a setup link. */
export function configAttribution(caller: ConfigCaller): { createdBy: string | null; details: { via: 'setup_link'; setupLinkId: string } | Record<string, never> } {
  return caller.actor === null ? { createdBy: null, details: { via: 'setup_link', setupLinkId: caller.setupLinkId } } : { createdBy: accountableAccount(caller.actor), details: {} };
}

export function callerOf(request: FastifyRequest): WorkspaceCaller {
  const membership = requireMembership(request);
  return { tenant: membership.tenant, actor: actorOf(request), scopes: membership.scopes, meta: requestMeta(request) };
}
