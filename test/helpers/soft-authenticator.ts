/**
 * A software WebAuthn authenticator for tests: ES256 keys from node:crypto, attestation "none"
 * registrations and signed assertions, built byte for byte as an authenticator and browser
 * would (authenticator data with the RP id hash, flags and signature counter; clientDataJSON
 * with type, challenge and origin). Every field can be overridden to forge a bad response.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
const FLAG_AT = 0x40;

type Json = Record<string, unknown>;

interface Credential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly cosePublicKey: Uint8Array;
  readonly userHandle: string;
  counter: number;
}

export interface CeremonyOverrides {
  origin?: string;
  rpId?: string;
  flags?: number;
  challenge?: string;
  type?: string;
  /** The signature counter to report (assertions); by default one more than the last. */
  counter?: number;
  /** Report no user handle (assertions). */
  omitUserHandle?: boolean;
  userHandle?: string;
  /** Corrupt the signature (assertions). */
  badSignature?: boolean;
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export class SoftAuthenticator {
  private readonly credentials: Credential[] = [];
  /** Authenticators that keep no counter report 0 every time. */
  countsSignatures = true;

  constructor(
    readonly origin: string,
    readonly rpId: string,
  ) {}

  /** An independent copy holding the same keys and counters (a cloned authenticator). */
  clone(): SoftAuthenticator {
    const copy = new SoftAuthenticator(this.origin, this.rpId);
    copy.countsSignatures = this.countsSignatures;
    for (const c of this.credentials) copy.credentials.push({ ...c });
    return copy;
  }

  get credentialIds(): string[] {
    return this.credentials.map((c) => b64url(c.id));
  }

  /** Answers creation options (navigator.credentials.create) with a new ES256 credential. */
  register(options: Json, overrides: CeremonyOverrides = {}): Json {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y as string, 'base64url'))],
      ]),
    );
    const id = randomBytes(32);
    const user = options['user'] as { id: string };
    const credential: Credential = { id, privateKey, cosePublicKey: cose, userHandle: user.id, counter: 0 };
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const authData = Buffer.concat([
      sha256(overrides.rpId ?? this.rpId),
      Buffer.from([overrides.flags ?? FLAG_UP | FLAG_UV | FLAG_AT]),
      u32(0),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      id,
      Buffer.from(cose),
    ]);
    const clientData = {
      type: overrides.type ?? 'webauthn.create',
      challenge: overrides.challenge ?? (options['challenge'] as string),
      origin: overrides.origin ?? this.origin,
      crossOrigin: false,
    };
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Map<string, string> | Uint8Array>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    this.credentials.push(credential);
    return {
      id: b64url(id),
      rawId: b64url(id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(JSON.stringify(clientData)),
        attestationObject: b64url(attestationObject),
        transports: ['internal', 'hybrid'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** Answers request options (navigator.credentials.get) with a signed assertion. */
  assert(options: Json, overrides: CeremonyOverrides = {}): Json {
    const allowed = ((options['allowCredentials'] as Array<{ id: string }> | undefined) ?? []).map((c) => c.id);
    const credential = allowed.length > 0 ? this.credentials.find((c) => allowed.includes(b64url(c.id))) : this.credentials[0];
    if (!credential) throw new Error('the soft authenticator holds none of the allowed credentials');
    const counter = overrides.counter ?? (this.countsSignatures ? credential.counter + 1 : 0);
    credential.counter = counter;
    const authData = Buffer.concat([sha256(overrides.rpId ?? this.rpId), Buffer.from([overrides.flags ?? FLAG_UP | FLAG_UV]), u32(counter)]);
    const clientDataJSON = Buffer.from(
      JSON.stringify({
        type: overrides.type ?? 'webauthn.get',
        challenge: overrides.challenge ?? (options['challenge'] as string),
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    if (overrides.badSignature) signature.writeUInt8((signature.readUInt8(signature.length - 1) ^ 0xff) & 0xff, signature.length - 1);
    const response: Json = {
      clientDataJSON: b64url(clientDataJSON),
      authenticatorData: b64url(authData),
      signature: b64url(signature),
    };
    if (!overrides.omitUserHandle) response['userHandle'] = overrides.userHandle ?? credential.userHandle;
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response,
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
