/**
 * How a sign-in result goes back over HTTP, shared by every sign-in route (password, email
 * links, second factors, OpenID Connect): the session cookie for the console, a bearer token
 * for API clients, or the pending second-factor step.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/http/context.js';
import { SESSION_COOKIE } from '../../platform/http/auth.js';
import { bindingValue, clearCookie, COOKIE_OPTIONS, newBindingValue, setBindingCookie } from '../../platform/http/cookies.js';
import { sha256 } from '../../platform/ids.js';
import type { AccountView } from './schemas.js';
import type { AccountsService, IssuedSession, SessionKind, SignInResult } from './service.js';

/** Holds a random value naming this browser, so email links work only where they were asked for. */
export const BINDING_COOKIE = '__Host-rampart_bind';
const BINDING_MAX_AGE_SECONDS = 3600;


/** The binding of the browser making this request, or null (no cookie: an API client). */
export function bindingOf(request: FastifyRequest): Buffer | null {
  const value = bindingValue(request, BINDING_COOKIE);
  return value ? sha256(value) : null;
}

/**
 * The binding for a link asked for in this request: a browser (it sends Sec-Fetch-* headers)
 * gets a binding cookie if it has none; an API client gets no binding.
 */
export function ensureBinding(request: FastifyRequest, reply: FastifyReply): Buffer | null {
  const existing = bindingOf(request);
  if (existing) return existing;
  if (request.headers['sec-fetch-site'] === undefined) return null;
  const value = newBindingValue();
  setBindingCookie(reply, BINDING_COOKIE, value, BINDING_MAX_AGE_SECONDS);
  return sha256(value);
}

/** The `Session` body: who, which session, and the CSRF token of a cookie session. */
function body(account: AccountView, session: { id: string; kind: SessionKind; expiresAt: Date; mfa: boolean }, csrfToken: string | null) {
  return {
    status: 'signed_in' as const,
    account,
    session: { id: session.id, kind: session.kind, expiresAt: session.expiresAt.toISOString(), mfa: session.mfa },
    csrfToken,
  };
}

/** The body for a session just issued or rotated. */
export function sessionBody(accounts: AccountsService, issued: IssuedSession) {
  const session = { id: issued.sessionId, kind: issued.kind, expiresAt: issued.expiresAt, mfa: issued.mfa };
  return body(issued.account, session, issued.kind === 'cookie' ? accounts.csrfToken(issued.token) : null);
}

/** The body describing the session that made the request (as read back from the database). */
export async function currentSessionBody(accounts: AccountsService, principal: Principal) {
  const { account, session } = await accounts.describeSession(principal);
  return body(account, { id: session.id, kind: session.kind, expiresAt: session.expires_at, mfa: session.mfa_at !== null }, principal.csrfToken);
}

export function setSessionCookie(reply: FastifyReply, issued: IssuedSession): void {
  reply.setCookie(SESSION_COOKIE, issued.token, { ...COOKIE_OPTIONS, expires: issued.expiresAt });
}

export function clearSessionCookie(reply: FastifyReply): void {
  clearCookie(reply, SESSION_COOKIE);
}

/**
 * A new cookie session replaces whatever session this browser carried: that one is revoked, so
 * a session fixed in the browser before sign-in never gains the new privileges.
 */
export async function startCookieSession(accounts: AccountsService, request: FastifyRequest, reply: FastifyReply, issued: IssuedSession): Promise<void> {
  const previous = request.cookies[SESSION_COOKIE];
  if (previous && previous !== issued.token) await accounts.revokeToken(previous);
  setSessionCookie(reply, issued);
}

/** The body for a sign-in result, with the cookie set for cookie sessions. */
export async function signInBody(accounts: AccountsService, request: FastifyRequest, reply: FastifyReply, result: SignInResult) {
  if (result.status === 'mfa_required') {
    return { status: 'mfa_required' as const, mfaToken: result.mfaToken, factors: result.factors, expiresAt: result.expiresAt.toISOString() };
  }
  const issued = result.issued;
  reply.header('cache-control', 'no-store');
  if (issued.kind === 'bearer') {
    return { status: 'signed_in' as const, account: issued.account, token: issued.token, tokenType: 'Bearer' as const, expiresAt: issued.expiresAt.toISOString() };
  }
  await startCookieSession(accounts, request, reply, issued);
  return sessionBody(accounts, issued);
}
