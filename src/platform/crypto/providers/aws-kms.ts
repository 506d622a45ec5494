/**
 * AWS KMS as the root key holder. Tenant keys are KMS data keys: GenerateDataKey makes them,
 * Decrypt unwraps them, ReEncrypt moves them to another KMS key without the key leaving KMS. A key
 * reference is the KMS key id or ARN itself, so a workspace that brings its own key simply names
 * its own key ARN. Credentials come from the SDK's default chain (environment, profile, web
 * identity, ECS or EC2 role); Rampart never stores them.
 */
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyCommand,
  KMSClient,
  type KMSClientConfig,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import {
  encryptionContext,
  type GeneratedKey,
  type KeyProvider,
  KeyProviderError,
  type KeyProviderFailure,
  type WrapContext,
  verifyByRoundTrip,
} from './types.js';

const KEY_BYTES = 32;

/** Short enough that a stalled KMS fails the request instead of holding it; the SDK retries. */
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 3;

export interface KmsClientOptions {
  region?: string;
  endpoint?: string;
  /** Only for tests and tools; production uses the SDK's default credential chain. */
  credentials?: KMSClientConfig['credentials'];
  /** Connection and request timeout, each. */
  timeoutMs?: number;
}

/** The KMS client Rampart runs with: bounded timeouts and a few retries. */
export function createKmsClient(options: KmsClientOptions = {}): KMSClient {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new KMSClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: timeout,
      requestTimeout: timeout,
      // Without this the SDK only warns when the request timeout passes.
      throwOnRequestTimeout: true,
    },
  });
}

export interface AwsKmsKeyProviderOptions {
  /** The KMS key (id, ARN or alias ARN) new tenant keys are wrapped under. */
  keyId: string;
  region?: string;
  endpoint?: string;
  /** A client to use instead of one built here; the caller keeps ownership of it. */
  client?: KMSClient;
}

export class AwsKmsKeyProvider implements KeyProvider {
  readonly kind = 'aws-kms' as const;
  private readonly keyId: string;
  private readonly client: KMSClient;
  private readonly ownsClient: boolean;

  constructor(options: AwsKmsKeyProviderOptions) {
    if (!options.keyId) throw new KeyProviderError('misconfigured', 'aws-kms needs a key id');
    this.keyId = options.keyId;
    this.ownsClient = !options.client;
    this.client =
      options.client ?? createKmsClient({ region: options.region, endpoint: options.endpoint });
  }

  async currentKeyRef(): Promise<string> {
    return this.keyId;
  }

  async generateKey(keyRef: string, context: WrapContext): Promise<GeneratedKey> {
    const out = await this.call('GenerateDataKey', keyRef, () =>
      this.client.send(
        new GenerateDataKeyCommand({
          KeyId: keyRef,
          KeySpec: 'AES_256',
          EncryptionContext: encryptionContext(context),
        }),
      ),
    );
    const plaintext = takeKey(out.Plaintext, 'GenerateDataKey', keyRef);
    if (!out.CiphertextBlob?.length) {
      plaintext.fill(0);
      throw new KeyProviderError('misconfigured', `AWS KMS GenerateDataKey on ${keyRef} returned no wrapped key`);
    }
    return { plaintext, wrapped: Buffer.from(out.CiphertextBlob) };
  }

  async unwrap(keyRef: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    const out = await this.call('Decrypt', keyRef, () =>
      this.client.send(
        new DecryptCommand({
          // Always named: KMS then refuses a ciphertext made under any other key.
          KeyId: keyRef,
          CiphertextBlob: wrapped,
          EncryptionContext: encryptionContext(context),
        }),
      ),
    );
    return takeKey(out.Plaintext, 'Decrypt', keyRef);
  }

  async rewrap(fromRef: string, wrapped: Buffer, toRef: string, context: WrapContext): Promise<Buffer> {
    const bound = encryptionContext(context);
    const out = await this.call('ReEncrypt', fromRef, () =>
      this.client.send(
        new ReEncryptCommand({
          CiphertextBlob: wrapped,
          SourceKeyId: fromRef,
          SourceEncryptionContext: bound,
          DestinationKeyId: toRef,
          DestinationEncryptionContext: bound,
        }),
      ),
    );
    if (!out.CiphertextBlob?.length) {
      throw new KeyProviderError('misconfigured', `AWS KMS ReEncrypt to ${toRef} returned no wrapped key`);
    }
    return Buffer.from(out.CiphertextBlob);
  }

  /**
   * New key material under the same key ARN; KMS keeps the old material for what it wrapped, so
   * the reference does not change. Automatic yearly rotation in KMS is the usual path.
   */
  async rotateRoot(): Promise<string> {
    try {
      await this.client.send(new RotateKeyOnDemandCommand({ KeyId: this.keyId }));
    } catch (error) {
      const mapped = toProviderError(error, 'RotateKeyOnDemand', this.keyId);
      const code = errorCode(error);
      // Imported material, custom key stores and the on-demand rotation quota.
      if (code === 'UnsupportedOperationException' || code === 'LimitExceededException') {
        throw new KeyProviderError(
          'not_supported',
          `AWS KMS cannot rotate key ${this.keyId} on demand (${code}); use the key's automatic rotation`,
          { cause: mapped.cause },
        );
      }
      throw mapped;
    }
    return this.keyId;
  }

  async verify(keyRef: string): Promise<void> {
    const out = await this.call('DescribeKey', keyRef, () =>
      this.client.send(new DescribeKeyCommand({ KeyId: keyRef })),
    );
    const meta = out.KeyMetadata;
    if (!meta) throw new KeyProviderError('misconfigured', `AWS KMS DescribeKey on ${keyRef} returned no key metadata`);
    if (meta.KeyState !== 'Enabled' || meta.Enabled === false) {
      throw new KeyProviderError('key_disabled', `AWS KMS key ${keyRef} is not enabled (state ${meta.KeyState ?? 'unknown'})`);
    }
    if (meta.KeyUsage !== 'ENCRYPT_DECRYPT' || meta.KeySpec !== 'SYMMETRIC_DEFAULT') {
      throw new KeyProviderError(
        'misconfigured',
        `AWS KMS key ${keyRef} must be a symmetric encryption key (is ${meta.KeySpec ?? '?'} for ${meta.KeyUsage ?? '?'})`,
      );
    }
    await verifyByRoundTrip(this, keyRef);
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }

  private async call<T>(operation: string, keyRef: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toProviderError(error, operation, keyRef);
    }
  }
}

/** Copies the key out of the SDK's buffer and wipes that buffer. */
function takeKey(raw: Uint8Array | undefined, operation: string, keyRef: string): Buffer {
  const length = raw?.length ?? 0;
  if (!raw || length !== KEY_BYTES) {
    raw?.fill(0);
    throw new KeyProviderError('misconfigured', `AWS KMS ${operation} on ${keyRef} returned a key of ${length} bytes, not ${KEY_BYTES}`);
  }
  const key = Buffer.from(raw);
  raw.fill(0);
  return key;
}

const FAILURE_BY_CODE: Readonly<Record<string, KeyProviderFailure>> = {
  // The key cannot be used: disabled, pending deletion or import, deleted, or our access revoked.
  DisabledException: 'key_disabled',
  KMSInvalidStateException: 'key_disabled',
  NotFoundException: 'key_disabled',
  AccessDeniedException: 'key_disabled',
  // The wrapped key, its context or the key named does not match.
  InvalidCiphertextException: 'unwrap_failed',
  IncorrectKeyException: 'unwrap_failed',
  // Retryable by AWS's own description (KeyUnavailableException is a server fault: "you can retry").
  ThrottlingException: 'kms_unavailable',
  LimitExceededException: 'kms_unavailable',
  KMSInternalException: 'kms_unavailable',
  DependencyTimeoutException: 'kms_unavailable',
  KeyUnavailableException: 'kms_unavailable',
  ConflictException: 'kms_unavailable',
  TimeoutError: 'kms_unavailable',
  RequestTimeout: 'kms_unavailable',
  UnsupportedOperationException: 'not_supported',
  // A key of the wrong kind, a malformed key id, or credentials that do not work.
  InvalidKeyUsageException: 'misconfigured',
  InvalidArnException: 'misconfigured',
  ValidationException: 'misconfigured',
  InvalidGrantTokenException: 'misconfigured',
  UnrecognizedClientException: 'misconfigured',
  InvalidSignatureException: 'misconfigured',
  IncompleteSignature: 'misconfigured',
  ExpiredTokenException: 'misconfigured',
  CredentialsProviderError: 'misconfigured',
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** AWS's error code, or the socket error's code (ECONNREFUSED) for a plain Error. */
function errorCode(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  const code = (error as { code?: unknown }).code;
  return error.name === 'Error' && typeof code === 'string' ? code : error.name;
}

/**
 * A coarse failure for a KMS or transport error. The message names the operation, the key and
 * AWS's error code only; AWS's own message goes to `cause` for the logs.
 */
export function toProviderError(error: unknown, operation: string, keyRef: string): KeyProviderError {
  if (error instanceof KeyProviderError) return error;
  const code = errorCode(error);
  const failure = FAILURE_BY_CODE[code] ?? classifyUnknown(error);
  const status = httpStatus(error);
  const detail = status && !FAILURE_BY_CODE[code] ? `${code}, HTTP ${status}` : code;
  return new KeyProviderError(failure, `AWS KMS ${operation} on key ${keyRef} failed: ${detail}`, { cause: summary(error) });
}

/**
 * What of an SDK error is safe to keep. The SDK's errors hold the raw response and through it the
 * signed request (its Authorization and session-token headers), which must not reach a log.
 */
function summary(error: unknown): Error {
  const out = new Error(error instanceof Error ? error.message : String(error));
  out.name = errorCode(error);
  const code = (error as { code?: unknown } | null)?.code;
  const metadata = (error as { $metadata?: { requestId?: unknown; attempts?: unknown } } | null)?.$metadata;
  Object.assign(out, {
    ...(typeof code === 'string' ? { code } : {}),
    ...(httpStatus(error) ? { httpStatus: httpStatus(error) } : {}),
    ...(typeof metadata?.requestId === 'string' ? { requestId: metadata.requestId } : {}),
    ...(typeof metadata?.attempts === 'number' ? { attempts: metadata.attempts } : {}),
  });
  return out;
}

function classifyUnknown(error: unknown, depth = 0): KeyProviderFailure {
  if (!(error instanceof Error)) return 'misconfigured';
  const nodeCode = (error as { code?: unknown }).code;
  if (typeof nodeCode === 'string' && NETWORK_CODES.has(nodeCode)) return 'kms_unavailable';
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429)) return 'kms_unavailable';
  if ((error as { $fault?: unknown }).$fault === 'server') return 'kms_unavailable';
  // Socket errors arrive wrapped (SDK errors with a cause, AggregateError from dual-stack connects).
  const inner = error instanceof AggregateError ? (error.errors as unknown[]) : [error.cause];
  if (depth < 5 && inner.some((e) => classifyUnknown(e, depth + 1) === 'kms_unavailable')) return 'kms_unavailable';
  return 'misconfigured';
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata;
  return typeof metadata?.httpStatusCode === 'number' ? metadata.httpStatusCode : undefined;
}
