import { z } from 'zod';
import { Id } from '../../platform/http/schemas.js';

export const PASSWORD_MIN = 12;
/** Bounded so a huge password cannot make hashing a denial of service. */
export const PASSWORD_MAX = 256;

export const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((v) => v.toLowerCase())
  .describe('Email address; compared case-insensitively.');

const Password = z.string().max(PASSWORD_MAX).describe(`At least ${PASSWORD_MIN} characters.`);

export const SignUpBody = z.strictObject({
  email: Email,
  password: Password,
  name: z.string().trim().max(200).default(''),
  setupToken: z.string().max(200).optional().describe('From the one-time setup link; required for the first account only.'),
});

export const SignInBody = z.strictObject({ email: Email, password: Password });

export const Account = z
  .object({ id: Id, email: z.string(), name: z.string(), createdAt: z.iso.datetime() })
  .meta({ id: 'Account' });

export const SessionResponse = z
  .object({
    account: Account,
    session: z.object({ id: Id, kind: z.enum(['cookie', 'bearer']), expiresAt: z.iso.datetime() }),
    csrfToken: z.string().nullable().describe('Send as x-csrf-token on cookie-authenticated writes; null for bearer sessions.'),
  })
  .meta({ id: 'Session' });

export const TokenResponse = z
  .object({
    account: Account,
    token: z.string().describe('Bearer token; shown once. Send as `Authorization: Bearer <token>`.'),
    tokenType: z.literal('Bearer'),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'BearerToken' });

export const SetupStatus = z.object({ setupRequired: z.boolean() });

export type AccountView = z.infer<typeof Account>;
