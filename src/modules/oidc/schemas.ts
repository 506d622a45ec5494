import { z } from 'zod';
import { Id } from '../../platform/http/schemas.js';

export const OidcStatus = z
  .object({
    enabled: z.boolean().describe('Whether sign-in with an OpenID Connect provider is configured.'),
    displayName: z.string().describe('The provider name for the sign-in button.'),
  })
  .meta({ id: 'OidcStatus' });

/**
 * The provider's redirect back. Only bounded strings; the parameters are read from the raw query
 * (the provider may add its own, which are ignored), so this never refuses a callback by shape.
 */
export const CallbackQuery = z.looseObject({
  code: z.string().optional().describe('Authorization code.'),
  state: z.string().optional().describe('The state this instance sent.'),
  iss: z.string().optional().describe('Issuer identifier (RFC 9207).'),
  error: z.string().optional().describe('Error code, when the provider refused.'),
});

export const LinkStartResponse = z.object({ url: z.url().describe("The provider's authorization URL; navigate the browser to it.") });

/** Link offers travel in a URL fragment as an opaque, URL-safe token. */
export const LinkAcceptBody = z.strictObject({ token: z.string().min(16).max(200).regex(/^[A-Za-z0-9_-]+$/, 'malformed token') });

export const Identity = z
  .object({
    id: Id,
    issuer: z.string().describe('The provider (OpenID Connect issuer).'),
    subject: z.string().describe("The account's identifier at the provider."),
    email: z.string().nullable().describe('The email the provider last reported.'),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'LinkedIdentity' });
export type IdentityView = z.infer<typeof Identity>;

export const IdentityParams = z.strictObject({ identityId: Id.describe('Linked identity id.') });
