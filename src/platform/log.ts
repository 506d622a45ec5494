import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';

/**
 * What pino replaces with `[redacted]` before a line is written. Code never logs bodies, headers
 * or credentials (errors.ts logs `{ err, code, detail }`, the mailer `{ mail: { id, template,
 * to } }`, Fastify `req`/`res` without headers); this is the net under that rule, and `Secret`
 * (platform/secret.ts) is how a value that must never print is carried. A secret inside a
 * message or `detail` string is beyond any path: never build one from a secret.
 *
 * Pino matches fixed depths only, and each path starting with `*` is tried on every key of every
 * line (about 0.15 µs per path and key), so the list is layered:
 * - every name in SECRET_FIELDS at the top level (`password`) and one level down inside `err`'s
 *   properties (`err.*.password`: `err.config.secret`, `err.response.headers.authorization`);
 * - the core credential names in ANY_CONTAINER one level down in any object (`*.password`:
 *   `{ user: { password } }`, `err.token`, `mail.body`);
 * - request/response header and configuration paths spelled out.
 * Names as the code spells them: request bodies (password, newPassword, currentPassword, token,
 * setupToken, mfaToken, recoveryCode), responses (secret: the API key shown once; csrfToken,
 * recoveryCodes, otpauthUrl), configuration (rootSecret, pkcs11Pin, localRootKeys,
 * oidcClientSecret, the URLs whose userinfo holds a password), key material (`key` is a root key
 * file entry's and the envelope's raw key), OIDC and AWS credentials, credential headers, and
 * `body` whole (a logged request, mail or HTTP-client body: MFA codes, vault values, links).
 * Deliberately not by name: `code` (the error code of every refusal line, and `err.code` the
 * errno or SQLSTATE; MFA codes travel only in bodies), `value` and `state` (too generic).
 */
/** The core credential names: redacted at the top level, inside `err`, and one level down in any object. */
const ANY_CONTAINER = [
  'password',
  'newPassword',
  'currentPassword',
  'token',
  'setupToken',
  'mfaToken',
  'csrfToken',
  'recoveryCode',
  'recoveryCodes',
  'secret',
  'rootSecret',
  'pin',
  'key',
  'privateKey',
  'authorization',
  'cookie',
  '["set-cookie"]',
  'body',
];

/** Every secret-ish name: the core ones, and these, at the top level and inside `err` only. */
const SECRET_FIELDS = [
  ...ANY_CONTAINER,
  'otpauthUrl',
  'pkcs11Pin',
  'localRootKeys',
  'rootKey',
  'rootKeys',
  'dataKey',
  'tenantKey',
  'apiKey',
  'clientSecret',
  'oidcClientSecret',
  'auditSinkToken',
  'client_secret',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'codeVerifier',
  'secretAccessKey',
  'sessionToken',
  '["x-csrf-token"]',
  '["x-api-key"]',
];

const SPELLED_OUT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'config.databaseUrl',
  'config.databaseOwnerUrl',
  'config.smtpUrl',
  'config.redisUrl',
  'config.pkcs11Pin',
  'config.localRootKeys',
  'config.oidcClientSecret',
  'config.auditSinkToken',
  'config.auditSinkUrl',
];

const under = (prefix: string, field: string) => (field.startsWith('[') ? `${prefix}${field}` : `${prefix}.${field}`);

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => under('err.*', f)),
  ...ANY_CONTAINER.map((f) => under('*', f)),
  ...SPELLED_OUT,
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { service: 'rampart' },
  };
}

interface LoggedRequest {
  readonly req?: { readonly method?: unknown; readonly url?: unknown };
  readonly res?: { readonly statusCode?: unknown };
  readonly responseTime?: unknown;
  readonly requestId?: unknown;
  readonly msg?: unknown;
}

/** A request's line in development: `GET /path 200 3 ms <request id>`; any other line, its message. */
function developmentMessage(entry: LoggedRequest): string {
  const { req, res } = entry;
  if (!req || !res) return typeof entry.msg === 'string' ? entry.msg : '';
  const ms = typeof entry.responseTime === 'number' ? Math.round(entry.responseTime) : '?';
  return `${String(req.method)} ${String(req.url)} ${String(res.statusCode)} ${ms} ms ${String(entry.requestId)}`;
}

/**
 * The logger the server writes with. Production: JSON lines on standard output. Development
 * (`--dev`, what `npm start` runs): the same lines, redacted the same way by pino before they are
 * written, then shown readably by pino-pretty, one line each, the fields a request line carries
 * folded into its message.
 */
export function createLogger(config: { readonly dev: boolean; readonly logLevel: string }, destination?: DestinationStream): Logger {
  const options = loggerOptions(config.logLevel);
  if (!config.dev) return destination ? pino(options, destination) : pino(options);
  const readable = pretty({
    ...(destination ? { destination } : {}),
    sync: true,
    colorize: !destination && Boolean(process.stdout.isTTY),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,service,req,res,responseTime,requestId',
    messageFormat: (entry) => developmentMessage(entry),
  });
  return pino(options, readable);
}

/** Development logs a request once, when it completes (production: when it comes in and when it completes). */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    // Through the request's logger, so a route's own serializers (the OIDC callback hides its query) still apply.
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export function requestLogController(config: { readonly dev: boolean }): LogController {
  const options = { requestIdLogLabel: 'requestId' };
  return config.dev ? new OneLinePerRequest(options) : new LogController(options);
}

/** A database URL with its password removed, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = 'redacted';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
