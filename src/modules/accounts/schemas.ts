import { z } from 'zod';
import { displayName, Id } from '../../platform/http/schemas.js';
import { PASSWORD_MAX } from './passwords.js';

export { PASSWORD_MIN, PASSWORD_MAX } from './passwords.js';

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((v) => v.toLowerCase())
  .describe('Email address; compared case-insensitively.');

/** Checked against the policy by the service (so the message can say why); bounded here. */
export const Password = z.string().min(1).max(PASSWORD_MAX).describe('At least 12 characters; not a common password.');
/** Email-link, MFA and setup tokens: opaque, URL-safe. */
export const OpaqueToken = z.string().min(16).max(200).regex(/^[A-Za-z0-9_-]+$/, 'malformed token');

export const SignUpBody = z.strictObject({
  email: Email,
  password: Password,
  name: displayName(200, { allowEmpty: true }).default(''),
  setupToken: z.string().max(200).optional().describe('From the one-time setup link; required for the first account only.'),
});

export const SignInBody = z.strictObject({ email: Email, password: Password });
export const EmailBody = z.strictObject({ email: Email });
export const TokenBody = z.strictObject({ token: OpaqueToken });
export const ResetBody = z.strictObject({ token: OpaqueToken, password: Password });
export const ChangePasswordBody = z.strictObject({
  currentPassword: Password.optional().describe('Required when the account has a password.'),
  newPassword: Password,
});
export const SessionParams = z.strictObject({ sessionId: Id });
export const ProfileBody = z.strictObject({
  name: displayName(200, { allowEmpty: true }).describe('The name others see in your workspaces; up to 200 characters.'),
});
export const EmailChangeBody = z
  .strictObject({
    email: Email.describe('The new address; it is used once its link is opened, signed in to this account.'),
    password: Password.optional().describe('Required when the account has a password. Without one, a sign-in within the last 15 minutes.'),
  })
  .meta({ examples: [{ email: 'dana@example.com', password: 'correct horse battery staple' }] });
export const EmailChangePending = z
  .object({ pendingEmail: z.string().describe('The address a confirmation link was sent to (the answer is the same whether or not it already has an account).') })
  .meta({ id: 'EmailChangePending' });

/** An account as the modules that look one up use it (never serialized as such). */
const AccountFields = z.object({ id: Id, email: z.string(), name: z.string(), emailVerified: z.boolean(), createdAt: z.iso.datetime() });

/** The signed-in account, in its own answers only (the session, sign-ins, its profile). */
export const Account = AccountFields.extend({
  pendingEmail: z
    .string()
    .nullable()
    .describe(
      'The address of an email change asked for and not yet confirmed, cancelled or expired; else null. The same whether or not another account holds it.',
    ),
}).meta({ id: 'Account' });

const SessionInfo = z.object({
  id: Id,
  kind: z.enum(['cookie', 'bearer']),
  expiresAt: z.iso.datetime(),
  mfa: z.boolean().describe('Whether this session proved a second factor.'),
});

export const SessionResponse = z
  .object({
    status: z.literal('signed_in'),
    account: Account,
    session: SessionInfo,
    csrfToken: z.string().nullable().describe('Send as x-csrf-token on cookie-authenticated writes; null for bearer sessions.'),
  })
  .meta({ id: 'Session' });

/**
 * After a bearer session rotated (a password change): the session, and the token it now goes on
 * under, which the old one no longer opens. Never for cookie sessions (their token stays in the
 * HttpOnly cookie, out of reach of a page's script).
 */
export const RotatedBearerSession = SessionResponse.extend({
  token: z.string().describe('The new bearer token of this session; shown once. The old token stopped working.'),
  tokenType: z.literal('Bearer'),
}).meta({ id: 'RotatedBearerSession' });

export const TokenResponse = z
  .object({
    status: z.literal('signed_in'),
    account: Account,
    token: z.string().describe('Bearer token; shown once. Send as `Authorization: Bearer <token>`.'),
    tokenType: z.literal('Bearer'),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'BearerToken' });

export const SecondFactor = z.enum(['totp', 'webauthn', 'recovery_code']);

export const MfaRequired = z
  .object({
    status: z.literal('mfa_required'),
    mfaToken: z.string().describe('Present with a second factor to /api/v1/auth/mfa/…; valid for 5 minutes.'),
    factors: z.array(SecondFactor),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'MfaRequired' });

export const SignInResponse = z.union([SessionResponse, TokenResponse, MfaRequired]);
export const SignUpResponse = z.union([
  SessionResponse,
  z.object({ status: z.literal('verification_sent') }).meta({ id: 'VerificationSent' }),
]);
export const VerifyResponse = z.union([
  SessionResponse,
  TokenResponse,
  MfaRequired,
  z.object({ status: z.literal('verified') }).describe('Verified; sign in (this browser did not ask for the link).'),
]);
export const Accepted = z.object({ status: z.literal('sent') }).describe('Sent if the address has an account; the answer is the same either way.');

export const SessionItem = z
  .object({
    id: Id,
    kind: z.enum(['cookie', 'bearer']),
    current: z.boolean(),
    method: z.enum(['setup', 'password', 'email_link', 'oidc', 'passkey', 'saml']),
    mfa: z.boolean(),
    device: z.string(),
    ip: z.string().nullable(),
    place: z.string(),
    createdAt: z.iso.datetime(),
    lastSeenAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'SessionItem' });

export const AuthEventItem = z
  .object({
    id: Id,
    action: z.string(),
    outcome: z.enum(['success', 'failure', 'denied']),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'AuthEvent' });

export const SetupStatus = z.object({ setupRequired: z.boolean() });

/** The signed-in account as its own answers carry it, with its pending email change. */
export type AccountView = z.infer<typeof Account>;
/** Any account, as another module looks it up (no pending email change: that is the account's own). */
export type AccountSummary = z.infer<typeof AccountFields>;
export type SessionView = z.infer<typeof SessionItem>;
