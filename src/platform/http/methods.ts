/**
 * A request for a path some route serves, with a method none of them takes, is 405 with `Allow`
 * listing the methods that path does take (RFC 9110 §15.5.6), not 404.
 */
import type { FastifyInstance } from 'fastify';
import { RampartError } from '../errors.js';

const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;

/** The methods routes take at this URL (its query ignored), in alphabetical order. */
export function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = url.split('?', 1)[0] ?? url;
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}

/** The 405 for a URL that routes serve under other methods; null when no route serves it. */
export function methodNotAllowed(app: FastifyInstance, method: string, url: string): { error: RampartError; allow: string } | null {
  const allowed = allowedMethods(app, url).filter((m) => m !== method);
  if (allowed.length === 0) return null;
  const allow = allowed.join(', ');
  return { error: new RampartError('method_not_allowed', { message: `${method} is not allowed here; use ${allow}.`, details: { allow: allowed } }), allow };
}
