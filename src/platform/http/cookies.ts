/**
 * The cookies Rampart sets, and the "browser binding" values some of them carry.
 *
 * Every cookie is `__Host-` prefixed by name, and set Secure, HttpOnly, SameSite=Lax, Path=/ with
 * no Domain: host-only, never readable by script, never sent on cross-site subrequests.
 *
 * A binding is a random value a browser holds in a cookie while something it asked for is in
 * flight (an email link, an OpenID Connect flow); the server keeps only its SHA-256, and accepts
 * the result only from a browser that still holds the value.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const COOKIE_OPTIONS = { path: '/', secure: true, httpOnly: true, sameSite: 'lax' as const };

const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;

/** A fresh binding value: 256 random bits, base64url. */
export function newBindingValue(): string {
  return randomBytes(32).toString('base64url');
}

/** The binding value the browser holds in cookie `name`, if it holds a well-formed one. */
export function bindingValue(request: FastifyRequest, name: string): string | null {
  const value = request.cookies[name];
  return value && BINDING_VALUE.test(value) ? value : null;
}

export function setBindingCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number): void {
  reply.setCookie(name, value, { ...COOKIE_OPTIONS, maxAge: maxAgeSeconds });
}

/**
 * A binding cookie the browser must send back on a cross-site POST (the IdP's page posting a
 * SAML response): SameSite=None, still Secure, HttpOnly and host-only.
 */
export function setCrossSiteBindingCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number): void {
  reply.setCookie(name, value, { ...COOKIE_OPTIONS, sameSite: 'none', maxAge: maxAgeSeconds });
}

export function clearCookie(reply: FastifyReply, name: string): void {
  reply.clearCookie(name, COOKIE_OPTIONS);
}
