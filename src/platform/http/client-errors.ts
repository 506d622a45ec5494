/**
 * Requests Node's HTTP parser refuses before Fastify sees them: headers over the size limit, a
 * request line or header that is not HTTP, a malformed Content-Length or chunked body, a request
 * that took too long to arrive. Node hands these to the server's `clientError` event with the
 * raw socket; this answers them with the same error body, security headers and `x-request-id`
 * as any other error, then closes the connection (its framing can no longer be trusted).
 */
import { randomUUID } from 'node:crypto';
import { maxHeaderSize, STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { RampartError } from '../errors.js';
import type { SecurityHeaders } from './security-headers.js';
import { humanBytes } from './sizes.js';

/** How long a refused connection may keep sending before it is cut (so the client reads the answer). */
const LINGER_MS = 2000;

type ParserError = Error & { readonly code?: string };

/** The error for a parser failure; the raw bytes it carries are never read (they may hold credentials). */
export function parserRefusal(err: ParserError): RampartError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new RampartError('request_header_fields_too_large', {
        message: `The request line and headers are larger than ${humanBytes(maxHeaderSize)}.`,
        internal: err.code,
      });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RampartError('request_timeout', { internal: err.code });
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return new RampartError('bad_request', { message: 'The Content-Length header is not valid.', internal: err.code });
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CHUNK_SIZE':
      return new RampartError('bad_request', { message: 'The chunked request body is not valid.', internal: err.code });
    default:
      return new RampartError('bad_request', { message: 'The request is not valid HTTP.', internal: err.code ?? 'parse error' });
  }
}

/** The whole answer as bytes: status line, the usual headers, the error body. */
export function rawErrorResponse(error: RampartError, requestId: string, securityHeaders: SecurityHeaders): string {
  const body = JSON.stringify(error.toBody(requestId));
  const headers: Record<string, string> = {
    ...securityHeaders,
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    connection: 'close',
  };
  const head = [`HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/** Whether a response on this connection has started: writing another would corrupt it. */
function responseStarted(socket: Socket): boolean {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  return inFlight?.headersSent === true;
}

/** The server's `clientError` listener (Fastify's `clientErrorHandler` option). */
export function clientErrorHandler(securityHeaders: SecurityHeaders, log: () => FastifyBaseLogger): (err: ParserError, socket: Socket) => void {
  const answered = new WeakSet<Socket>();
  return (err, socket) => {
    // A reset connection has no one to answer; the parser may report the same socket again.
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    if (!socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    const error = parserRefusal(err);
    log().info({ requestId, code: error.code, detail: error.internal }, 'request refused before parsing');
    socket.end(rawErrorResponse(error, requestId, securityHeaders));
    // Lingering close: the client may still be sending; cutting it at once could reset the
    // connection before it has read the answer.
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
