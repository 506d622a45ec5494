/**
 * What every request knows about who is calling and for which workspace, and what each route
 * must declare about who may call it. Routes under /api declare `config.access`; the server
 * refuses to start if one does not (deny by default).
 */
import type { FastifyRequest } from 'fastify';
import { RampartError } from '../errors.js';
import type { TenantContext } from '../db/types.js';

/**
 * - `public`: anyone (sign-in, health, the OpenAPI document).
 * - `account`: a signed-in account; no workspace.
 * - `workspace`: a signed-in member of the workspace named by `:workspaceId`.
 */
export type Access = 'public' | 'account' | 'workspace';
export type WorkspaceRole = 'owner' | 'member';

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

/** Where a request came from, for sessions and events. */
export interface RequestMeta {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export function requestMeta(request: FastifyRequest): RequestMeta {
  return { ip: request.ip, userAgent: request.headers['user-agent']?.slice(0, 512) ?? null, requestId: request.id };
}

export interface Membership {
  readonly tenant: TenantContext;
  readonly role: WorkspaceRole;
  /** The workspace's data region: where its objects are stored. */
  readonly region: string;
  /** Whether the workspace admits only sessions that proved a second factor. */
  readonly requireMfa: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** For `workspace` routes: the role required beyond membership. */
    role?: WorkspaceRole;
  }
  interface FastifyRequest {
    principal: Principal | null;
    membership: Membership | null;
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

/** The tenant context of a workspace route, resolved from the principal's membership. */
export function tenantOf(request: FastifyRequest): TenantContext {
  return requireMembership(request).tenant;
}
