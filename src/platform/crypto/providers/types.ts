/**
 * The one interface every key-management provider implements. A provider holds root keys that
 * never leave it in usable form (a file readable only by Rampart, a PKCS#11 token, AWS KMS) and
 * wraps and unwraps 256-bit tenant keys under them. Rampart keeps only wrapped tenant keys in its
 * database.
 *
 * A key reference names one root key (version) of the provider: `local:3`, a PKCS#11 key label,
 * an AWS KMS key ARN. Tenant keys record the reference that wraps them, so a rotated root keeps
 * old references unwrapping until everything is rewrapped.
 *
 * Errors are `KeyProviderError` with a coarse, stable failure kind. Their messages never carry
 * key material, wrapped keys or credentials.
 */

export type ProviderKind = 'local' | 'pkcs11' | 'aws-kms';
export const PROVIDER_KINDS: readonly ProviderKind[] = ['local', 'pkcs11', 'aws-kms'];

/**
 * What a wrapped tenant key is bound to. Providers authenticate it with the wrap (AES-GCM
 * additional data, a KMS encryption context): a wrapped key copied to another tenant or version
 * does not unwrap.
 */
export interface WrapContext {
  readonly tenantId: string;
  readonly version: number;
}

export type KeyProviderFailure =
  /** The key is disabled, revoked, scheduled for deletion, deleted, or access to it is denied. */
  | 'key_disabled'
  /** The provider could not be reached or refused for load (timeouts, throttling): retryable. */
  | 'kms_unavailable'
  /** The wrapped key or its context does not match: tampered, or bound to something else. */
  | 'unwrap_failed'
  /** The provider cannot do this (for example root rotation where the KMS rotates by itself). */
  | 'not_supported'
  /** The provider's own configuration or key store is unusable (corrupt key file, wrong PIN). */
  | 'misconfigured';

export class KeyProviderError extends Error {
  constructor(
    readonly failure: KeyProviderFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KeyProviderError';
  }
}

export interface GeneratedKey {
  /** 32 bytes, to be used at once and kept only in memory. */
  readonly plaintext: Buffer;
  /** What the database stores. */
  readonly wrapped: Buffer;
}

export interface KeyProvider {
  readonly kind: ProviderKind;
  /** The reference new tenant keys are wrapped under: the provider's newest root key. */
  currentKeyRef(): Promise<string>;
  /** Makes a fresh 256-bit key and returns it with its wrapped form under `keyRef`. */
  generateKey(keyRef: string, context: WrapContext): Promise<GeneratedKey>;
  /** Unwraps a key wrapped under `keyRef` with the same context. */
  unwrap(keyRef: string, wrapped: Buffer, context: WrapContext): Promise<Buffer>;
  /**
   * Wraps the key under `toRef` instead of `fromRef`. Providers that can do this without the
   * key leaving them (KMS ReEncrypt) do so.
   */
  rewrap(fromRef: string, wrapped: Buffer, toRef: string, context: WrapContext): Promise<Buffer>;
  /** Adds a new root key version, makes it current and returns its reference. */
  rotateRoot(): Promise<string>;
  /** Proves a key reference is usable (generate, then unwrap): used before a workspace adopts its own key. */
  verify(keyRef: string): Promise<void>;
  close(): Promise<void>;
}

/** Generate-and-unwrap round trip, for providers with nothing better. */
export async function verifyByRoundTrip(provider: KeyProvider, keyRef: string): Promise<void> {
  const context: WrapContext = { tenantId: '00000000-0000-0000-0000-000000000000', version: 0 };
  const { plaintext, wrapped } = await provider.generateKey(keyRef, context);
  const back = await provider.unwrap(keyRef, wrapped, context);
  const same = back.equals(plaintext);
  plaintext.fill(0);
  back.fill(0);
  if (!same) throw new KeyProviderError('misconfigured', `key ${keyRef} did not return the key it wrapped`);
}

/** The additional data a provider binds a wrapped tenant key to; the same bytes everywhere. */
export function wrapAad(context: WrapContext): Buffer {
  return Buffer.from(`rampart/tenant-key/v1\u0000${context.tenantId}\u0000${context.version}`, 'utf8');
}

/** The same binding as a KMS encryption context. */
export function encryptionContext(context: WrapContext): Record<string, string> {
  return { purpose: 'rampart-tenant-key', tenant: context.tenantId, version: String(context.version) };
}
