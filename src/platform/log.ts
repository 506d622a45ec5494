import type { LoggerOptions } from 'pino';

/**
 * Paths that may hold a secret anywhere a log line is built from a request, a response or an
 * error. Pino replaces them before anything is written. Routes never log bodies; this is the net
 * under that rule.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.password',
  '*.token',
  '*.setupToken',
  '*.rootSecret',
  '*.secret',
  '*.csrfToken',
  'config.rootSecret',
  'config.databaseUrl',
  'config.databaseOwnerUrl',
  'config.smtpUrl',
  'config.oidcClientSecret',
  'config.redisUrl',
  '*.mfaToken',
  '*.newPassword',
  '*.currentPassword',
  '*.recoveryCode',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'rampart' },
  };
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
