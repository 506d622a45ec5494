import { z } from 'zod';
import { Id } from '../../platform/http/schemas.js';
import { OpaqueToken, SessionResponse } from '../accounts/index.js';
import { normaliseRecoveryCode } from './recovery.js';
import { normaliseTotpCode } from './totp.js';

/** Every string inside a WebAuthn response is bounded (16 KiB), so no field is a sink. */
const WEBAUTHN_STRING_MAX = 16 * 1024;
const Base64Url = z.string().max(WEBAUTHN_STRING_MAX).regex(/^[A-Za-z0-9_-]*$/, 'must be base64url');
const Transports = z.array(z.string().max(32)).max(16);
/** Extension outputs are not used; accepted and dropped. */
const ExtensionResults = z.object({}).default({});
const Attachment = z.enum(['platform', 'cross-platform']).optional();

export const RegistrationResponse = z
  .object({
    id: Base64Url.min(1),
    rawId: Base64Url.min(1),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: Base64Url,
      attestationObject: Base64Url,
      authenticatorData: Base64Url.optional(),
      transports: Transports.optional(),
      publicKeyAlgorithm: z.number().int().optional(),
      publicKey: Base64Url.optional(),
    }),
    authenticatorAttachment: Attachment,
    clientExtensionResults: ExtensionResults,
  })
  .describe('The credential from navigator.credentials.create(), as JSON (what @simplewebauthn/browser startRegistration returns).');

export const AuthenticationResponse = z
  .object({
    id: Base64Url.min(1),
    rawId: Base64Url.min(1),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: Base64Url,
      authenticatorData: Base64Url,
      signature: Base64Url,
      userHandle: Base64Url.nullish().transform((v) => v ?? undefined),
    }),
    authenticatorAttachment: Attachment,
    clientExtensionResults: ExtensionResults,
  })
  .describe('The assertion from navigator.credentials.get(), as JSON (what @simplewebauthn/browser startAuthentication returns).');

/** A TOTP code as typed: six digits, spaces allowed. */
const TotpCode = z
  .string()
  .max(32)
  .refine((v) => normaliseTotpCode(v) !== null, 'must be a 6-digit code')
  .describe('The 6-digit code the authenticator app shows.');

/** A code as typed: an authenticator app's 6 digits or a recovery code (`xxxxx-xxxxx`). */
const AnyCode = z
  .string()
  .max(32)
  .refine((v) => normaliseTotpCode(v) !== null || normaliseRecoveryCode(v) !== null, 'must be a 6-digit code or a recovery code')
  .describe('A 6-digit authenticator code or a recovery code.');

const PasskeyName = z.string().trim().min(1).max(100).describe('A name to tell this passkey apart, e.g. "Work laptop".');

export const TotpConfirmBody = z.strictObject({ code: TotpCode });

/**
 * Re-authentication for removing a factor or regenerating recovery codes: the current password
 * when the account has one, otherwise a current code.
 */
export const ReauthBody = z
  .strictObject({
    password: z.string().min(1).max(1024).optional().describe('The current password (accounts that have one).'),
    code: AnyCode.optional().describe('A current authenticator or recovery code (accounts without a password).'),
  })
  .refine((b) => (b.password === undefined) !== (b.code === undefined), 'give either password or code');

export const PasskeyRegisterBody = z.strictObject({ response: RegistrationResponse, name: PasskeyName.optional() });
export const PasskeyRenameBody = z.strictObject({ name: PasskeyName });
export const PasskeyParams = z.strictObject({ passkeyId: Id });

export const VerifyBody = z
  .strictObject({
    mfaToken: OpaqueToken,
    factor: z.enum(['totp', 'recovery_code']),
    code: z.string().max(32).describe('The 6-digit code, or a recovery code (case, dashes and spaces do not matter).'),
  })
  .superRefine((b, ctx) => {
    const ok = b.factor === 'totp' ? normaliseTotpCode(b.code) !== null : normaliseRecoveryCode(b.code) !== null;
    if (!ok) ctx.addIssue({ code: 'custom', path: ['code'], message: b.factor === 'totp' ? 'must be a 6-digit code' : 'must be a recovery code' });
  });

export const MfaTokenBody = z.strictObject({ mfaToken: OpaqueToken });
export const PasskeyAssertionBody = z.strictObject({ mfaToken: OpaqueToken, response: AuthenticationResponse });
export const PasswordlessBody = z.strictObject({ challengeId: Id, response: AuthenticationResponse });

export const MfaStatus = z
  .object({
    enabled: z.boolean().describe('Whether sign-in asks for a second factor.'),
    totp: z.boolean(),
    passkeys: z.number().int(),
    recoveryCodesLeft: z.number().int(),
  })
  .meta({ id: 'MfaStatus' });

export const TotpEnrolment = z
  .object({
    secret: z.string().describe('Base32 secret, for typing into the app.'),
    otpauthUrl: z.string().describe('otpauth:// URI, for a QR code.'),
  })
  .meta({ id: 'TotpEnrolment' });

const RecoveryCodes = z.array(z.string()).describe('Ten single-use recovery codes, shown this once.');

export const FactorChanged = SessionResponse.extend({
  recoveryCodes: RecoveryCodes.nullable().describe('Ten single-use recovery codes when this was the first factor (shown this once); otherwise null.'),
}).describe('The factor change is done; a cookie session got a new token (and CSRF token).');

export const PasskeyItem = z
  .object({
    id: Id,
    name: z.string(),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime().nullable(),
    backedUp: z.boolean().describe('Whether the passkey is synced (backed up) by its provider.'),
    deviceType: z.enum(['singleDevice', 'multiDevice']),
    transports: z.array(z.string()),
  })
  .meta({ id: 'Passkey' });

export const PasskeyAdded = FactorChanged.extend({ passkey: PasskeyItem });

export const RecoveryCodesResponse = z.object({ recoveryCodes: RecoveryCodes });

export const CreationOptions = z
  .looseObject({ challenge: z.string() })
  .describe('PublicKeyCredentialCreationOptionsJSON: pass to navigator.credentials.create() (e.g. @simplewebauthn/browser startRegistration).');
export const RequestOptions = z
  .looseObject({ challenge: z.string() })
  .describe('PublicKeyCredentialRequestOptionsJSON: pass to navigator.credentials.get() (e.g. @simplewebauthn/browser startAuthentication).');

export const PasswordlessOptions = z.object({
  challengeId: Id.describe('Send back with the assertion; valid 5 minutes, single use.'),
  options: RequestOptions,
});

export type PasskeyView = z.infer<typeof PasskeyItem>;
export type ReauthInput = z.infer<typeof ReauthBody>;
