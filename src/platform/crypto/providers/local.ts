/**
 * The `local` provider: root keys held by Rampart itself, in a file under the data directory
 * (created at first start, mode 0600) or in `RAMPART_LOCAL_ROOT_KEYS`. Tenant keys are wrapped
 * with AES-256-GCM under a root key version, bound to tenant and version as additional data.
 *
 * Each version in the file carries a check value (an HMAC of a fixed label under the key), so a
 * damaged file is refused at start instead of surfacing later as "decryption failed" on every
 * read. A file made in development mode is marked so, and refused outside development.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, openSync, closeSync, readFileSync, renameSync, statSync, writeSync, fsyncSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KeyProviderError, verifyByRoundTrip, wrapAad, type GeneratedKey, type KeyProvider, type WrapContext } from './types.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES;
const FILE_FORMAT = 'rampart-root-keys/1';

const FileSchema = z.strictObject({
  format: z.literal(FILE_FORMAT),
  development: z.boolean(),
  versions: z
    .array(
      z.strictObject({
        version: z.number().int().min(1),
        key: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
        check: z.string().regex(/^[A-Za-z0-9_-]{11}$/),
        createdAt: z.string(),
      }),
    )
    .min(1),
});
type KeyFile = z.infer<typeof FileSchema>;

function checkValue(key: Buffer): string {
  return createHmac('sha256', key).update('rampart root key check').digest().subarray(0, 8).toString('base64url');
}

function refOf(version: number): string {
  return `local:${version}`;
}

function versionOf(keyRef: string): number | null {
  const m = /^local:([1-9]\d{0,8})$/.exec(keyRef);
  return m ? Number(m[1]) : null;
}

export type LocalKeySource =
  | { readonly kind: 'file'; readonly file: string; readonly dev: boolean }
  | { readonly kind: 'env'; readonly value: string };

export class LocalKeyProvider implements KeyProvider {
  readonly kind = 'local' as const;

  private constructor(
    private readonly keys: Map<number, Buffer>,
    private readonly created: Map<number, string>,
    private readonly file: string | null,
    private readonly development: boolean,
  ) {}

  /**
   * Opens the key file (creating it at first start) or parses the environment's key list.
   * Throws KeyProviderError('misconfigured') with a message fit for the operator.
   */
  static open(source: LocalKeySource): LocalKeyProvider {
    if (source.kind === 'env') return new LocalKeyProvider(parseEnvKeys(source.value), new Map(), null, false);
    const file = path.resolve(source.file);
    if (!existsSync(file)) {
      const key = randomBytes(KEY_BYTES);
      writeKeyFile(file, { format: FILE_FORMAT, development: source.dev, versions: [entry(1, key)] }, 'wx');
    }
    const provider = LocalKeyProvider.load(file);
    if (provider.development && !source.dev) {
      throw new KeyProviderError(
        'misconfigured',
        `the root key file ${file} was made in development mode and is refused outside it: pass --dev to keep developing with it, or run production on another --data-dir (RAMPART_DATA_DIR), where a production key file is made, or with RAMPART_LOCAL_ROOT_KEY_FILE, RAMPART_LOCAL_ROOT_KEYS or another KMS provider`,
      );
    }
    return provider;
  }

  private static load(file: string): LocalKeyProvider {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeyProviderError('misconfigured', `the root key file ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
    }
    let parsed: KeyFile;
    try {
      parsed = FileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      throw new KeyProviderError('misconfigured', `the root key file ${file} is corrupt`);
    }
    const keys = new Map<number, Buffer>();
    const created = new Map<number, string>();
    for (const v of parsed.versions) {
      const key = Buffer.from(v.key, 'base64url');
      if (key.length !== KEY_BYTES || !timingSafeEqual(Buffer.from(checkValue(key)), Buffer.from(v.check)) || keys.has(v.version)) {
        throw new KeyProviderError('misconfigured', `the root key file ${file} is corrupt (version ${v.version} fails its check)`);
      }
      keys.set(v.version, key);
      created.set(v.version, v.createdAt);
    }
    return new LocalKeyProvider(keys, created, file, parsed.development);
  }

  private current(): number {
    return Math.max(...this.keys.keys());
  }

  private key(keyRef: string): Buffer {
    const version = versionOf(keyRef);
    // A version this process has not seen may have been added since it read the file: another
    // process (`rampart keys rotate --root`, another instance) rotated the root key. Read again.
    if (version !== null && !this.keys.has(version)) this.reload();
    const key = version === null ? undefined : this.keys.get(version);
    if (!key) throw new KeyProviderError('key_disabled', `root key ${keyRef} is not in the local key store`);
    return key;
  }

  /** Adds the versions the key file has now (it only ever gains versions). */
  private reload(): void {
    if (!this.file) return;
    const onDisk = LocalKeyProvider.load(this.file);
    for (const [v, k] of onDisk.keys) if (!this.keys.has(v)) this.keys.set(v, k);
    for (const [v, at] of onDisk.created) if (!this.created.has(v)) this.created.set(v, at);
  }

  currentKeyRef(): Promise<string> {
    return Promise.resolve(refOf(this.current()));
  }

  async generateKey(keyRef: string, context: WrapContext): Promise<GeneratedKey> {
    const plaintext = randomBytes(KEY_BYTES);
    return { plaintext, wrapped: await this.wrap(keyRef, plaintext, context) };
  }

  // async: a synchronous throw (an unknown reference) becomes a rejection like every other failure.
  private async wrap(keyRef: string, plaintext: Buffer, context: WrapContext): Promise<Buffer> {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key(keyRef), nonce);
    cipher.setAAD(wrapAad(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([nonce, body, cipher.getAuthTag()]);
  }

  async unwrap(keyRef: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    const key = this.key(keyRef);
    if (wrapped.length !== WRAPPED_BYTES) throw new KeyProviderError('unwrap_failed', 'wrapped key has the wrong length');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, NONCE_BYTES));
      decipher.setAAD(wrapAad(context));
      decipher.setAuthTag(wrapped.subarray(NONCE_BYTES + KEY_BYTES));
      return Buffer.concat([decipher.update(wrapped.subarray(NONCE_BYTES, NONCE_BYTES + KEY_BYTES)), decipher.final()]);
    } catch {
      throw new KeyProviderError('unwrap_failed', `wrapped key does not open under ${keyRef}`);
    }
  }

  async rewrap(fromRef: string, wrapped: Buffer, toRef: string, context: WrapContext): Promise<Buffer> {
    const plaintext = await this.unwrap(fromRef, wrapped, context);
    try {
      return await this.wrap(toRef, plaintext, context);
    } finally {
      plaintext.fill(0);
    }
  }

  rotateRoot(): Promise<string> {
    if (!this.file) {
      return Promise.reject(
        new KeyProviderError('not_supported', 'root keys come from RAMPART_LOCAL_ROOT_KEYS: add a version there (`<n>:<base64url 32 bytes>`) and restart'),
      );
    }
    // Re-read first: another process (the CLI, another instance) may have rotated since we loaded.
    this.reload();
    const version = this.current() + 1;
    this.keys.set(version, randomBytes(KEY_BYTES));
    this.created.set(version, new Date().toISOString());
    const versions = [...this.keys.entries()].sort(([a], [b]) => a - b).map(([v, k]) => entry(v, k, this.created.get(v)));
    writeKeyFile(this.file, { format: FILE_FORMAT, development: this.development, versions }, 'replace');
    return Promise.resolve(refOf(version));
  }

  verify(keyRef: string): Promise<void> {
    return verifyByRoundTrip(this, keyRef);
  }

  close(): Promise<void> {
    for (const key of this.keys.values()) key.fill(0);
    this.keys.clear();
    return Promise.resolve();
  }
}

function entry(version: number, key: Buffer, createdAt?: string): KeyFile['versions'][number] {
  return { version, key: key.toString('base64url'), check: checkValue(key), createdAt: createdAt ?? new Date().toISOString() };
}

/** `1:<base64url>,2:<base64url>`: each a 32-byte key. */
function parseEnvKeys(value: string): Map<number, Buffer> {
  const keys = new Map<number, Buffer>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([1-9]\d{0,8}):([A-Za-z0-9_-]{43})$/.exec(part);
    const key = m ? Buffer.from(m[2] as string, 'base64url') : null;
    if (!m || !key || key.length !== KEY_BYTES || keys.has(Number(m[1]))) {
      throw new KeyProviderError('misconfigured', 'RAMPART_LOCAL_ROOT_KEYS must be `<version>:<base64url of 32 bytes>` entries separated by commas');
    }
    keys.set(Number(m[1]), key);
  }
  if (keys.size === 0) throw new KeyProviderError('misconfigured', 'RAMPART_LOCAL_ROOT_KEYS holds no key');
  return keys;
}

/** A fresh `RAMPART_LOCAL_ROOT_KEYS` value with one version. */
export function newLocalRootKeys(): string {
  return `1:${randomBytes(KEY_BYTES).toString('base64url')}`;
}

function writeKeyFile(file: string, content: KeyFile, mode: 'wx' | 'replace'): void {
  const text = `${JSON.stringify(content, null, 2)}\n`;
  const target = mode === 'wx' ? file : `${file}.${process.pid}.tmp`;
  const fd = openSync(target, mode === 'wx' ? 'wx' : 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(target, 0o600);
  if (mode === 'replace') renameSync(target, file);
}
