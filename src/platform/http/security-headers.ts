/**
 * The security headers every answer carries, computed once at start from `helmet` (decision
 * 0006): the same set on routed answers, on error answers (whatever a handler had set before it
 * failed), and on the bytes written straight to the socket for requests Node could not parse
 * (client-errors.ts), where there is no request object for a middleware to run on.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import helmet from 'helmet';

export type SecurityHeaders = Readonly<Record<string, string>>;

export interface SecurityHeaderOptions {
  /** Served over HTTPS (or behind an HTTPS public URL): browsers are told to upgrade sub-requests. */
  readonly secureOrigin: boolean;
}

/** Helmet's headers for Rampart's policy, as header name (lower case) → value. */
export function securityHeaders(options: SecurityHeaderOptions): SecurityHeaders {
  const middleware = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(options.secureOrigin ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    strictTransportSecurity: { maxAge: 63_072_000, includeSubDomains: true, preload: false },
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  // Helmet's headers do not depend on the request (no nonces here): run it once on a response
  // that is never sent, and keep what it set.
  const request = new IncomingMessage(new Socket());
  const response = new ServerResponse(request);
  let failure: unknown;
  middleware(request, response, (err?: unknown) => {
    failure = err;
  });
  if (failure !== undefined) throw new Error('the security headers could not be built', { cause: failure });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.getHeaders())) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return Object.freeze(headers);
}
