/**
 * The aws-kms provider against AWS KMS's wire contract. No AWS endpoint is reachable here, so a
 * local HTTP server replays exchanges kept in test/fixtures/aws-kms/: each file is the sequence of
 * JSON 1.1 requests the provider must send and the responses KMS gives, written from the AWS KMS
 * API reference (the key material in them is fake). The real SDK client talks to the replay
 * server, which checks every request: target, SigV4 signature, and the exact JSON body. A request
 * that differs from the recording fails the test.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { inspect, isDeepStrictEqual } from 'node:util';
import { type KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeAll, afterAll, describe, expect, it, vi } from 'vitest';
import { AwsKmsKeyProvider, createKmsClient } from '../src/platform/crypto/providers/aws-kms.js';
import { encryptionContext, KeyProviderError, type KeyProviderFailure, type WrapContext } from '../src/platform/crypto/providers/types.js';

const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const REGION = 'eu-west-1';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const CUSTOMER_KEY_ARN = 'arn:aws:kms:eu-west-1:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321';
const TENANT = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const OTHER_TENANT = '16fd2706-8baf-433b-82eb-8c7fada847da';
/** The fake data key every recording hands out. */
const DATA_KEY = Buffer.alloc(32, 0x11);

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}
interface RecordedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}
interface Exchange {
  readonly request: RecordedRequest;
  readonly response: RecordedResponse;
}
interface Recording {
  readonly description: string;
  readonly source: string;
  readonly exchanges: readonly Exchange[];
}

function recording(name: string): Recording {
  return JSON.parse(readFileSync(new URL(`./fixtures/aws-kms/${name}.json`, import.meta.url), 'utf8')) as Recording;
}

function fixtureBlob(name: string, exchange: number, field: 'request' | 'response', key: string): string {
  const ex = recording(name).exchanges[exchange]!;
  return (ex[field].body as Record<string, string>)[key]!;
}

const WRAPPED_B64 = fixtureBlob('generate-unwrap', 0, 'response', 'CiphertextBlob');
const REWRAPPED_B64 = fixtureBlob('rewrap-to-customer-key', 0, 'response', 'CiphertextBlob');
const TAMPERED_B64 = fixtureBlob('invalid-ciphertext', 1, 'request', 'CiphertextBlob');

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Checks an AWS Signature Version 4 header the way KMS does: scope (our test key, today, region,
 * kms), the signed headers, and the signature recomputed over the canonical request and body.
 */
function sigV4Problems(req: IncomingMessage, body: Buffer): string[] {
  const auth = req.headers.authorization ?? '';
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const day = amzDate.slice(0, 8);
  const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const scope = `${day}/${REGION}/kms/aws4_request`;
  const prefix = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, `;
  if (!auth.startsWith(prefix) || day !== today) return [`authorization is not SigV4 for ${ACCESS_KEY}/${today}/${REGION}/kms: ${auth.split(',')[0]}`];
  const m = /SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return ['authorization has no SignedHeaders/Signature'];
  const signedHeaders = m[1]!.split(';');
  const problems: string[] = [];
  for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type']) {
    if (!signedHeaders.includes(required)) problems.push(`${required} is not signed`);
  }
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = typeof req.headers['x-amz-content-sha256'] === 'string' ? req.headers['x-amz-content-sha256'] : sha256(body);
  const [path, query = ''] = (req.url ?? '/').split('?');
  const canonicalRequest = [req.method, path, query, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const signingKey = ['eu-west-1', 'kms', 'aws4_request'].reduce<Buffer>((key, part) => hmac(key, part), hmac(`AWS4${SECRET_KEY}`, day));
  if (hmac(signingKey, stringToSign).toString('hex') !== m[2]) problems.push('SigV4 signature does not verify');
  return problems;
}

function requestProblems(expected: RecordedRequest, req: IncomingMessage, body: Buffer): string[] {
  const problems: string[] = [];
  if (req.method !== expected.method) problems.push(`method ${req.method} != ${expected.method}`);
  if (req.url !== expected.path) problems.push(`path ${req.url} != ${expected.path}`);
  for (const [name, value] of Object.entries(expected.headers)) {
    const got = req.headers[name.toLowerCase()];
    if (got !== value) problems.push(`${name}: ${String(got)} != ${value}`);
  }
  problems.push(...sigV4Problems(req, body));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    problems.push('body is not JSON');
  }
  if (parsed !== undefined && !isDeepStrictEqual(parsed, expected.body)) {
    problems.push(`body ${JSON.stringify(parsed)} != recorded ${JSON.stringify(expected.body)}`);
  }
  return problems;
}

/** Plays one recording at a time; records what arrived and every departure from the recording. */
class ReplayServer {
  private server!: Server;
  private queue: Exchange[] = [];
  /** Each request's X-Amz-Target and SDK attempt header (`attempt=2; max=3`). */
  readonly seen: { target: string; attempt: string }[] = [];
  readonly mismatches: string[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Loads a recording; null expects no request at all. */
  play(name: string | null): Recording | null {
    const rec = name === null ? null : recording(name);
    this.queue = [...(rec?.exchanges ?? [])];
    this.seen.length = 0;
    this.mismatches.length = 0;
    return rec;
  }

  get remaining(): number {
    return this.queue.length;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const target = String(req.headers['x-amz-target'] ?? '');
      this.seen.push({ target, attempt: String(req.headers['amz-sdk-request'] ?? '') });
      const expected = this.queue.shift();
      const problems = expected ? requestProblems(expected.request, req, body) : [`unexpected request ${target}`];
      if (!expected || problems.length > 0) {
        this.mismatches.push(`${target}: ${problems.join('; ')}`);
        this.send(res, 400, { 'content-type': 'application/x-amz-json-1.1' }, { __type: 'ReplayMismatchException', message: problems.join('; ') });
        return;
      }
      this.send(res, expected.response.status, expected.response.headers, expected.response.body);
    });
  }

  private send(res: ServerResponse, status: number, headers: Readonly<Record<string, string>>, body: unknown): void {
    const payload = body === null ? '' : JSON.stringify(body);
    // The current time: a recorded Date would trigger the SDK's clock-skew correction.
    res.writeHead(status, { ...headers, date: new Date().toUTCString(), 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  }
}

function testClient(endpoint: string, timeoutMs?: number): KMSClient {
  return createKmsClient({
    region: REGION,
    endpoint,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    ...(timeoutMs ? { timeoutMs } : {}),
  });
}

/** Nothing an error says may carry key material, wrapped keys or credentials. */
function expectNoSecrets(error: Error): void {
  const forbidden = [
    DATA_KEY.toString('base64'),
    DATA_KEY.toString('hex'),
    WRAPPED_B64,
    REWRAPPED_B64,
    TAMPERED_B64,
    SECRET_KEY,
    ACCESS_KEY,
  ];
  // The whole error as a logger would walk it, cause included: no SDK response or signed request.
  const everything = inspect(error, { depth: 8, showHidden: true });
  for (const secret of forbidden) expect(everything).not.toContain(secret);
  expect(everything).not.toMatch(/AWS4-HMAC-SHA256|Signature=|x-amz-security-token|\$response/i);
}

async function expectFailure(promise: Promise<unknown>, failure: KeyProviderFailure): Promise<KeyProviderError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyProviderError);
  const providerError = error as KeyProviderError;
  expect(providerError.failure, providerError.message).toBe(failure);
  expectNoSecrets(providerError);
  return providerError;
}

const targets = (server: ReplayServer): string[] => server.seen.map((s) => s.target.replace('TrentService.', ''));

describe('aws-kms provider — contract test replaying AWS KMS exchanges written from the API reference (no AWS endpoint runs here)', () => {
  const server = new ReplayServer();
  let client: KMSClient | undefined;
  let provider: AwsKmsKeyProvider;
  const ctx: WrapContext = { tenantId: TENANT, version: 3 };

  beforeAll(() => server.start());
  afterAll(() => server.stop());

  function setUp(name: string, keyId = KEY_ARN): Recording {
    const rec = server.play(name)!;
    client = testClient(server.url);
    provider = new AwsKmsKeyProvider({ keyId, client });
    return rec;
  }

  afterEach(async () => {
    await provider.close();
    client?.destroy();
    client = undefined;
    vi.unstubAllEnvs();
    // Every request matched its recording, and the whole recording was played.
    expect(server.mismatches).toEqual([]);
    expect(server.remaining).toBe(0);
  });

  it('generates a tenant key under the configured key and unwraps it to the same bytes', async () => {
    const rec = setUp('generate-unwrap');
    // The recording's context is exactly what the provider binds (tenant and version).
    expect(rec.exchanges[0]!.request.body).toMatchObject({ EncryptionContext: encryptionContext(ctx) });

    expect(await provider.currentKeyRef()).toBe(KEY_ARN);
    const { plaintext, wrapped } = await provider.generateKey(KEY_ARN, ctx);
    expect(plaintext.equals(DATA_KEY)).toBe(true);
    expect(wrapped.toString('base64')).toBe(WRAPPED_B64);

    const back = await provider.unwrap(KEY_ARN, wrapped, ctx);
    expect(back.equals(plaintext)).toBe(true);
    expect(targets(server)).toEqual(['GenerateDataKey', 'Decrypt']);
  });

  it('rewraps under a workspace’s own key with ReEncrypt, never asking for the plaintext', async () => {
    const rec = setUp('rewrap-to-customer-key');
    const out = await provider.rewrap(KEY_ARN, Buffer.from(WRAPPED_B64, 'base64'), CUSTOMER_KEY_ARN, ctx);
    expect(out.toString('base64')).toBe(REWRAPPED_B64);
    expect(targets(server)).toEqual(['ReEncrypt']);
    expect(rec.exchanges[0]!.response.body).not.toHaveProperty('Plaintext');
  });

  it('rotates the root with RotateKeyOnDemand and keeps the same key reference (default credential chain)', async () => {
    server.play('rotate-on-demand');
    // Built the way production builds it: credentials from the SDK's chain, here the environment.
    vi.stubEnv('AWS_ACCESS_KEY_ID', ACCESS_KEY);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET_KEY);
    vi.stubEnv('AWS_SESSION_TOKEN', '');
    provider = new AwsKmsKeyProvider({ keyId: KEY_ARN, region: REGION, endpoint: server.url });
    expect(await provider.rotateRoot()).toBe(KEY_ARN);
    expect(targets(server)).toEqual(['RotateKeyOnDemand']);
  });

  it('reports keys KMS cannot rotate on demand as not_supported', async () => {
    setUp('rotate-unsupported');
    const error = await expectFailure(provider.rotateRoot(), 'not_supported');
    expect(error.message).toContain('UnsupportedOperationException');
    expect(targets(server)).toEqual(['RotateKeyOnDemand']);
  });

  it('verifies a workspace’s own key: DescribeKey, then a generate/decrypt round trip', async () => {
    setUp('verify-customer-key');
    await provider.verify(CUSTOMER_KEY_ARN);
    expect(targets(server)).toEqual(['DescribeKey', 'GenerateDataKey', 'Decrypt']);
  });

  it('refuses to verify an asymmetric key, without generating anything', async () => {
    setUp('verify-asymmetric-key');
    await expectFailure(provider.verify(CUSTOMER_KEY_ARN), 'misconfigured');
    expect(targets(server)).toEqual(['DescribeKey']);
  });

  it('refuses to verify a key pending deletion as key_disabled', async () => {
    setUp('verify-pending-deletion');
    await expectFailure(provider.verify(CUSTOMER_KEY_ARN), 'key_disabled');
    expect(targets(server)).toEqual(['DescribeKey']);
  });

  it('maps DisabledException to key_disabled, without retrying', async () => {
    setUp('disabled-key');
    const error = await expectFailure(provider.generateKey(KEY_ARN, { tenantId: TENANT, version: 4 }), 'key_disabled');
    expect(error.message).toContain('DisabledException');
    expect(server.seen).toHaveLength(1);
  });

  it('maps AccessDeniedException (a customer revoked our access to their key) to key_disabled', async () => {
    setUp('access-denied-customer-key');
    await expectFailure(provider.unwrap(CUSTOMER_KEY_ARN, Buffer.from(REWRAPPED_B64, 'base64'), ctx), 'key_disabled');
    expect(server.seen).toHaveLength(1);
  });

  it('maps InvalidCiphertextException and IncorrectKeyException to unwrap_failed', async () => {
    setUp('invalid-ciphertext');
    const wrapped = Buffer.from(WRAPPED_B64, 'base64');
    // Another tenant's context, a tampered blob, and the right blob presented under the wrong key.
    await expectFailure(provider.unwrap(KEY_ARN, wrapped, { tenantId: OTHER_TENANT, version: 3 }), 'unwrap_failed');
    await expectFailure(provider.unwrap(KEY_ARN, Buffer.from(TAMPERED_B64, 'base64'), ctx), 'unwrap_failed');
    await expectFailure(provider.unwrap(CUSTOMER_KEY_ARN, wrapped, ctx), 'unwrap_failed');
    expect(targets(server)).toEqual(['Decrypt', 'Decrypt', 'Decrypt']);
  });

  it('retries throttling and reports kms_unavailable when every attempt is throttled', async () => {
    setUp('throttled');
    await expectFailure(provider.generateKey(KEY_ARN, { tenantId: TENANT, version: 5 }), 'kms_unavailable');
    expect(server.seen.map((s) => s.attempt)).toEqual(['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
  });

  it('succeeds when a throttled request succeeds on retry', async () => {
    setUp('throttled-then-ok');
    const { plaintext } = await provider.generateKey(KEY_ARN, { tenantId: TENANT, version: 5 });
    expect(plaintext.equals(DATA_KEY)).toBe(true);
    expect(server.seen).toHaveLength(2);
  });

  it('retries 503 and KMSInternalException and reports kms_unavailable', async () => {
    setUp('unavailable');
    await expectFailure(provider.unwrap(KEY_ARN, Buffer.from(WRAPPED_B64, 'base64'), ctx), 'kms_unavailable');
    expect(server.seen.map((s) => s.attempt)).toEqual(['attempt=1; max=3', 'attempt=2; max=3', 'attempt=3; max=3']);
  });

  it('reports a refused connection as kms_unavailable', async () => {
    server.play(null);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    client = testClient(`http://127.0.0.1:${port}`);
    provider = new AwsKmsKeyProvider({ keyId: KEY_ARN, client });
    await expectFailure(provider.generateKey(KEY_ARN, ctx), 'kms_unavailable');
  });

  it('reports an endpoint that never answers as kms_unavailable once the request timeout passes', async () => {
    server.play(null);
    let attempts = 0;
    const silent = createServer(() => {
      attempts += 1;
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      client = testClient(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`, 200);
      provider = new AwsKmsKeyProvider({ keyId: KEY_ARN, client });
      await expectFailure(provider.unwrap(KEY_ARN, Buffer.from(WRAPPED_B64, 'base64'), ctx), 'kms_unavailable');
      expect(attempts).toBe(3);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
