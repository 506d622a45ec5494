/**
 * Which failures of the `pg` driver mean "the database cannot be reached", as opposed to an error
 * the server reported about a statement (a constraint, a syntax error) or a bug of ours.
 *
 * Connection-level: refused, reset, unreachable; the server ending the session (57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 53300 too many connections — each a
 * FATAL error — and SQLSTATE class 08, connection exception); and the driver's own reports, which
 * carry no code, only a message (pinned by test/db-faults.test.ts, so a pg upgrade that rewords
 * them is noticed).
 */
import pg from 'pg';
import { RampartError } from '../errors.js';
import { CONNECTION_CLOSED } from './pg-batch.js';
import { DatabaseUnavailableError } from './types.js';

/** SQLSTATE of a write of content under a retired tenant key version (migration 0012's trigger). */
export const RETIRED_KEY_VERSION = 'RK001';

/** What a client is told to wait before trying again while the database is unreachable. */
export const RETRY_AFTER_SECONDS = 5;

/** Node's socket and DNS failures: the database host could not be reached or the link broke. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * pg's failures without a code: the connection ended, timed out, or is unusable. (Failures to
 * check a connection out of the pool are all connection failures, whatever their message.)
 */
const DRIVER_MESSAGES = [
  /^Connection terminated/, // unexpectedly | due to connection timeout
  /^Query read timeout$/, // query_timeout
  /is not queryable$/, // a client whose connection already failed, or was closed
];

/** A server error after which the session is gone. */
export function endsSession(err: pg.DatabaseError): boolean {
  return err.severity === 'FATAL' || err.severity === 'PANIC' || err.code?.startsWith('08') === true || /^57P0[123]$/.test(err.code ?? '');
}

/** Whether `err`, thrown by the driver, means the connection (or the database) failed. */
export function isConnectionFailure(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return endsSession(err);
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return err.message === CONNECTION_CLOSED || DRIVER_MESSAGES.some((m) => m.test(err.message));
}

/**
 * The 503 a client gets when `err` is, or wraps (a rolled-back transaction's cause, say), the
 * database being unreachable; null for anything else.
 */
export function serviceUnavailable(err: unknown): RampartError | null {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && !(e instanceof RampartError) && depth < 5; depth++) {
    if (e instanceof DatabaseUnavailableError) {
      return new RampartError('service_unavailable', { internal: e.message, cause: e, retryAfterSeconds: RETRY_AFTER_SECONDS });
    }
    // Content sealed under a key version retired meanwhile (migration 0012): sealed again, the
    // retry is stored under the current version.
    if ((e as { code?: unknown }).code === RETIRED_KEY_VERSION) {
      return new RampartError('service_unavailable', { internal: `write refused: ${e.message}`, cause: e, retryAfterSeconds: 1 });
    }
    e = e.cause;
  }
  return null;
}
