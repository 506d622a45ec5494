/**
 * SCIM's error format (RFC 7644 §3.12): every answer of the SCIM server that is not a success is
 * `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":…,"detail":…}`,
 * whatever raised it — this module, a Rampart error from a service, or the framework (a body
 * that is not JSON, too large, of another content type). Server errors say nothing more.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RampartError, type ErrorCode } from '../../platform/errors.js';
import { toRampartError } from '../../platform/http/errors.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json';

export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  override name = 'ScimError';
  constructor(
    readonly status: number,
    readonly scimType: ScimType | null,
    readonly detail: string,
    /** For the log only. */
    readonly internal?: string,
  ) {
    super(detail);
  }
}

export const invalidSyntax = (detail: string) => new ScimError(400, 'invalidSyntax', detail);
export const invalidValue = (detail: string) => new ScimError(400, 'invalidValue', detail);
export const invalidFilter = (detail: string) => new ScimError(400, 'invalidFilter', detail);
export const invalidPath = (detail: string) => new ScimError(400, 'invalidPath', detail);
export const mutability = (detail: string) => new ScimError(400, 'mutability', detail);
export const noTarget = (detail: string) => new ScimError(400, 'noTarget', detail);
export const uniqueness = (detail: string) => new ScimError(409, 'uniqueness', detail);
export const notFound = (detail = 'Resource not found.') => new ScimError(404, null, detail);
export const unauthorized = (detail = 'Authentication failed.') => new ScimError(401, null, detail);
export const methodNotAllowed = (detail = 'This endpoint does not support the method.') => new ScimError(405, null, detail);

/** Rampart codes with a SCIM meaning of their own; others keep their status, with no scimType. */
const FROM_RAMPART: Partial<Record<ErrorCode, ScimType>> = {
  validation_failed: 'invalidSyntax',
  invalid_json: 'invalidSyntax',
  bad_request: 'invalidSyntax',
  invalid_id: 'invalidValue',
  domain_not_verified: 'invalidValue',
};

export function toScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  const rampart = err instanceof RampartError ? err : toRampartError(err);
  if (rampart.status >= 500) return new ScimError(rampart.status === 503 ? 503 : 500, null, 'An internal error occurred.', rampart.internal);
  return new ScimError(rampart.status, FROM_RAMPART[rampart.code] ?? null, rampart.message, rampart.internal);
}

export function scimErrorBody(error: ScimError): Record<string, unknown> {
  return { schemas: [ERROR_SCHEMA], status: String(error.status), ...(error.scimType ? { scimType: error.scimType } : {}), detail: error.detail };
}

export function sendScimError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const error = toScimError(err);
  if (error.status >= 500) request.log.error({ err, detail: error.internal }, 'SCIM request failed');
  else request.log.info({ status: error.status, scimType: error.scimType, detail: error.internal ?? error.detail }, 'SCIM request refused');
  reply.header('cache-control', 'no-store');
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="scim"');
  if (err instanceof RampartError && err.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterSeconds))));
  return reply.status(error.status).type(`${SCIM_CONTENT_TYPE}; charset=utf-8`).send(JSON.stringify(scimErrorBody(error)));
}
