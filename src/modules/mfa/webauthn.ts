/**
 * Passkeys (WebAuthn) through @simplewebauthn/server: options for the browser, and verification
 * of its answers against the challenge we issued, our origin and RP id, user presence (always)
 * and user verification (when asked), the signature, and the signature counter.
 *
 * Every failure of the library (a malformed or forged response throws) becomes a plain refusal
 * here; callers answer `invalid_credentials` without saying which check failed.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
  Uint8Array_,
} from '@simplewebauthn/server';

/** The WebAuthn library is loaded on first use (it is large; most processes never see a passkey). */
const loadWebauthn = () => import('@simplewebauthn/server');
import { publicUrl, type Config } from '../../config.js';
import type { PasskeyRow } from './store.js';

export const WEBAUTHN_TIMEOUT_MS = 5 * 60 * 1000;
/** EdDSA, ES256, RS256: what authenticators in use support (and the library's default set). */
const ALGORITHMS = [-8, -7, -257];

export interface RelyingParty {
  /** The RP id: the host name of the public URL. */
  readonly id: string;
  /** The one origin ceremonies may come from: the public URL's origin. */
  readonly origin: string;
  readonly name: string;
}

export function relyingParty(config: Config, baseUrl?: string): RelyingParty {
  const url = new URL(baseUrl ?? publicUrl(config));
  return { id: url.hostname, origin: url.origin, name: config.webauthnRpName };
}

/** The user handle a passkey carries: the account id's 16 bytes. */
export function userHandle(accountId: string): Uint8Array_ {
  return new Uint8Array(Buffer.from(accountId.replace(/-/g, ''), 'hex'));
}

export function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** A credential id sent by a client, as bytes; null if it is not base64url. */
export function credentialIdBytes(value: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]{1,16384}$/.test(value)) return null;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.length > 0 && bytes.length <= 1023 ? bytes : null;
}

function transportsOf(row: PasskeyRow): string[] {
  return row.transports;
}

export async function registrationOptions(
  rp: RelyingParty,
  account: { id: string; email: string; name: string },
  existing: readonly PasskeyRow[],
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  return (await loadWebauthn()).generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: account.email,
    userID: userHandle(account.id),
    userDisplayName: account.name || account.email,
    timeout: WEBAUTHN_TIMEOUT_MS,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: base64url(p.credential_id), transports: transportsOf(p) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
    supportedAlgorithmIDs: ALGORITHMS,
  });
}

export interface NewCredential {
  readonly credentialId: Buffer;
  readonly publicKey: Buffer;
  readonly counter: number;
  readonly transports: string[];
  readonly aaguid: string;
  readonly backedUp: boolean;
  readonly deviceType: 'singleDevice' | 'multiDevice';
}

/** Verifies a registration (user verification required); null if anything is wrong with it. */
export async function verifyRegistration(rp: RelyingParty, response: RegistrationResponseJSON, expectedChallenge: string): Promise<NewCredential | null> {
  try {
    const result = await (await loadWebauthn()).verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    });
    if (!result.verified) return null;
    const info = result.registrationInfo;
    const credentialId = credentialIdBytes(info.credential.id);
    if (!credentialId) return null;
    return {
      credentialId,
      publicKey: Buffer.from(info.credential.publicKey),
      counter: info.credential.counter,
      transports: (response.response.transports ?? []).slice(0, 16),
      aaguid: info.aaguid,
      backedUp: info.credentialBackedUp,
      deviceType: info.credentialDeviceType,
    };
  } catch {
    return null;
  }
}

export async function authenticationOptions(
  rp: RelyingParty,
  allow: readonly PasskeyRow[] | null,
  userVerification: 'required' | 'preferred',
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  return (await loadWebauthn()).generateAuthenticationOptions({
    rpID: rp.id,
    timeout: WEBAUTHN_TIMEOUT_MS,
    userVerification,
    ...(allow ? { allowCredentials: allow.map((p) => ({ id: base64url(p.credential_id), transports: transportsOf(p) })) } : {}),
  });
}

export type AssertionResult =
  | { readonly ok: true; readonly newCounter: number; readonly backedUp: boolean }
  /** `clone`: a valid signature whose counter did not move forward (a copied authenticator). */
  | { readonly ok: false; readonly reason: 'invalid' | 'clone' };

/**
 * Verifies an assertion by `passkey` against our challenge, origin and RP id. The counter rule
 * is applied here rather than by the library, after the signature checks out, so only a
 * genuinely signed assertion is reported as a suspected clone.
 */
export async function verifyAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  passkey: PasskeyRow,
  requireUserVerification: boolean,
): Promise<AssertionResult> {
  try {
    const result = await (await loadWebauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      // Counter 0: the library's own counter check never fires; ours below does.
      credential: { id: base64url(passkey.credential_id), publicKey: new Uint8Array(passkey.public_key), counter: 0, transports: transportsOf(passkey) },
      requireUserVerification,
    });
    if (!result.verified) return { ok: false, reason: 'invalid' };
    const stored = Number(passkey.counter);
    const { newCounter, credentialBackedUp } = result.authenticationInfo;
    if ((stored > 0 || newCounter > 0) && newCounter <= stored) return { ok: false, reason: 'clone' };
    return { ok: true, newCounter, backedUp: credentialBackedUp };
  } catch {
    return { ok: false, reason: 'invalid' };
  }
}
