/**
 * Passkeys in the browser, through @simplewebauthn/browser: the server's options in, the
 * authenticator's response out, and failures turned into messages a person can act on.
 */
import {
  browserSupportsWebAuthn,
  startAuthentication,
  startRegistration,
  WebAuthnError,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';

export { browserSupportsWebAuthn };

/** Raised when the browser or the authenticator, not the server, stopped the ceremony. */
export class PasskeyError extends Error {
  override readonly name = 'PasskeyError';
}

function explain(err: unknown): never {
  if (err instanceof WebAuthnError) {
    switch (err.code) {
      case 'ERROR_CEREMONY_ABORTED':
        throw new PasskeyError('The passkey request was cancelled.');
      case 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED':
        throw new PasskeyError('This authenticator already holds a passkey for your account.');
      case 'ERROR_INVALID_DOMAIN':
      case 'ERROR_INVALID_RP_ID':
        throw new PasskeyError('Passkeys do not work at this address. Open Rampart at its public URL (HTTPS, or localhost).');
      default:
        break;
    }
  }
  if (err instanceof Error && err.name === 'NotAllowedError') {
    throw new PasskeyError('The passkey request was cancelled or timed out, or no passkey for this site was found.');
  }
  if (err instanceof Error) throw new PasskeyError(`The passkey could not be used: ${err.message}`);
  throw new PasskeyError('The passkey could not be used.');
}

export async function createPasskey(optionsJSON: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON> {
  if (!browserSupportsWebAuthn()) throw new PasskeyError('This browser does not support passkeys.');
  try {
    return await startRegistration({ optionsJSON });
  } catch (err) {
    explain(err);
  }
}

export async function assertPasskey(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON> {
  if (!browserSupportsWebAuthn()) throw new PasskeyError('This browser does not support passkeys.');
  try {
    return await startAuthentication({ optionsJSON });
  } catch (err) {
    explain(err);
  }
}
