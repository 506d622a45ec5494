/**
 * How a staff session goes back over HTTP: the `__Host-rampart_staff` cookie for the staff
 * console (its own cookie: a customer's session cookie is never read on staff routes, nor this one
 * on customer routes), or a bearer token for API use.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { STAFF_SESSION_COOKIE } from '../../platform/http/auth.js';
import { clearCookie, COOKIE_OPTIONS } from '../../platform/http/cookies.js';
import { permissionsOf } from './permissions.js';
import type { IssuedStaffSession, StaffService } from './service.js';

export function setStaffCookie(reply: FastifyReply, token: string, expiresAt: Date): void {
  reply.setCookie(STAFF_SESSION_COOKIE, token, { ...COOKIE_OPTIONS, expires: expiresAt });
}

export function clearStaffCookie(reply: FastifyReply): void {
  clearCookie(reply, STAFF_SESSION_COOKIE);
}

/** A new cookie session replaces (and revokes) whatever staff session this browser carried. */
export async function startStaffCookie(staff: StaffService, request: FastifyRequest, reply: FastifyReply, issued: IssuedStaffSession): Promise<void> {
  const previous = request.cookies[STAFF_SESSION_COOKIE];
  if (previous && previous !== issued.token) await staff.revokeToken(previous);
  setStaffCookie(reply, issued.token, issued.expiresAt);
}

/** The body describing a session just issued. */
export function issuedBody(staff: StaffService, issued: IssuedStaffSession) {
  return {
    staff: issued.member,
    permissions: permissionsOf(issued.member.role),
    session: { id: issued.sessionId, kind: issued.kind, expiresAt: issued.expiresAt.toISOString(), mfa: issued.mfa },
    csrfToken: issued.kind === 'cookie' ? staff.csrfToken(issued.token) : null,
  };
}
