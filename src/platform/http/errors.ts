/**
 * Turns anything thrown while serving a request into the one error body:
 * `{ "error": { "code", "message", "details", "requestId" } }`. Known framework errors map to
 * stable codes; anything unknown is a 500 `internal_error` whose cause is logged, never sent.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isResponseSerializationError } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { serviceUnavailable } from '../db/failures.js';
import { ERROR_CODES, RampartError, type ErrorCode } from '../errors.js';
import { humanBytes } from './sizes.js';

export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]).describe('Stable error code; see docs/errors.md.'),
      message: z.string().describe('Human-readable, safe to show.'),
      details: z.unknown().describe('Structured details, such as the fields that failed validation; null when none.'),
      requestId: z.string().describe('Quote this when reporting a problem.'),
    }),
  })
  .meta({ id: 'Error' });

/** Framework error codes with a meaning of their own. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_PARTS_LIMIT: 'payload_too_large',
  FST_FILES_LIMIT: 'payload_too_large',
  FST_FIELDS_LIMIT: 'payload_too_large',
  FST_PROTO_VIOLATION: 'validation_failed',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'unsupported_media_type',
  FST_MP_PREMATURE_CLOSE: 'bad_request',
  FST_ERR_NOT_FOUND: 'not_found',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_MAX_PARAM_LENGTH: 'uri_too_long',
};

/** PostgreSQL data exceptions that only bad input can cause (a NUL character, say). */
const SQLSTATE_CODES: Record<string, ErrorCode> = {
  '22021': 'validation_failed', // character_not_in_repertoire
  '22P05': 'validation_failed', // untranslatable_character
};

/** Otherwise, a client error is classified by its status. */
const STATUS_CODES: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/**
 * The one error for anything thrown while serving a request. `bodyLimit` (the route's) lets an
 * over-large body say the limit, in human units.
 */
export function toRampartError(err: unknown, bodyLimit?: number): RampartError {
  if (err instanceof RampartError) return err;
  // The database unreachable (refused, ended, busy, hung), or a write that raced a key retirement: 503 with Retry-After, not a 500.
  const unavailable = serviceUnavailable(err);
  if (unavailable) return unavailable;
  if (isResponseSerializationError(err)) {
    return new RampartError('internal_error', { internal: 'response failed its schema', cause: err });
  }
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && bodyLimit !== undefined) return bodyTooLarge('The request body', bodyLimit, err);
  const mapped = typeof fe.code === 'string' ? (FRAMEWORK_CODES[fe.code] ?? SQLSTATE_CODES[fe.code]) : undefined;
  if (mapped) return new RampartError(mapped, { internal: fe.message, cause: err });
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    return new RampartError(STATUS_CODES[status] ?? 'bad_request', { internal: fe.message, cause: err });
  }
  return new RampartError('internal_error', { cause: err });
}

/** Headers describing the answer a handler meant to give; an error answer is not that answer. */
const REPRESENTATION_HEADERS = ['content-disposition', 'content-encoding', 'content-language', 'content-range', 'accept-ranges', 'etag', 'last-modified', 'location'];

/** `payload_too_large` saying the limit as people read it ("1 MiB"), and in bytes in `details`. */
export function bodyTooLarge(what: string, limitBytes: number, cause?: unknown): RampartError {
  return new RampartError('payload_too_large', { message: `${what} is larger than ${humanBytes(limitBytes)}.`, details: { limitBytes }, cause });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: RampartError): FastifyReply {
  if (error.status >= 500) {
    request.log.error({ err: error.cause ?? error, code: error.code, detail: error.internal }, 'request failed');
  } else {
    request.log.info({ code: error.code, detail: error.internal }, 'request refused');
  }
  for (const name of REPRESENTATION_HEADERS) reply.removeHeader(name);
  // Set here too: errors raised before routing skip the hooks that set it on other answers.
  reply.header('x-request-id', request.id);
  // An error must never leave a session cookie or a cached copy behind.
  reply.header('cache-control', 'no-store');
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  return reply.status(error.status).type('application/json; charset=utf-8').send(error.toBody(request.id));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => sendError(request, reply, toRampartError(err, request.routeOptions.bodyLimit)));
}
