/**
 * The one parser for `application/json` request bodies. JSON is UTF-8 (RFC 8259 §8.1): a body
 * declared in another charset is refused (415), not read as UTF-8 and half understood.
 * Prototype-poisoning keys are refused as Fastify's own parser refuses them. An empty body on a
 * route that takes none (a DELETE, a POST that acts on the path alone) is no body: clients that
 * always send `Content-Type: application/json` are not refused for sending nothing.
 */
import { parse as parseContentType } from 'content-type';
import type { FastifyInstance } from 'fastify';
import { RampartError } from '../errors.js';

const UTF8 = new Set(['utf-8', 'utf8']);

/** The charset a content type declares, lower-cased; null when it declares none. */
function declaredCharset(header: string | undefined): string | null {
  if (header === undefined) return null;
  try {
    return parseContentType(header).parameters['charset']?.toLowerCase() ?? null;
  } catch {
    // Fastify refused malformed content types before any parser runs; nothing to add here.
    return null;
  }
}

export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const charset = declaredCharset(request.headers['content-type']);
    if (charset !== null && !UTF8.has(charset)) {
      done(new RampartError('unsupported_media_type', { message: 'JSON bodies must be UTF-8.', internal: `charset ${charset}` }), undefined);
      return;
    }
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text === '' && request.routeOptions.schema?.body === undefined) {
      done(null, undefined);
      return;
    }
    void parse(request, text, done);
  });
}
