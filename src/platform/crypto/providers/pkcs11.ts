/**
 * Root keys on a PKCS#11 token (an HSM, a cloud HSM, SoftHSM2). Each root key version is an
 * AES-256 secret key object labelled `<keyLabel>-<n>`, created on the token as sensitive and
 * non-extractable, so its value never reaches Rampart. Tenant keys are made here and encrypted
 * inside the token with AES-GCM, the wrap context bound as additional data.
 *
 * Wrapped form: IV (12 bytes) || ciphertext (32) || tag (16).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import pkcs11js, { type GcmParams, type Handle, type Mechanism, type PKCS11, type Template, type TemplateResult } from 'pkcs11js';
import { type Secret } from '../../secret.js';
import {
  type GeneratedKey,
  type KeyProvider,
  KeyProviderError,
  type KeyProviderFailure,
  type WrapContext,
  verifyByRoundTrip,
  wrapAad,
} from './types.js';

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (shared library). */
  module: string;
  tokenLabel: string;
  pin: Secret<string> | string;
  /** Label prefix of the root keys: versions are `<keyLabel>-1`, `<keyLabel>-2`, … */
  keyLabel: string;
}

const REF_PREFIX = 'pkcs11:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;

/**
 * C_Initialize and the login state are per process, not per session. One loaded library per
 * module path is shared by every provider in the process, so one provider's close does not
 * finalize the library or log out the token under another.
 */
interface Library {
  readonly pkcs11: PKCS11;
  /** False when other code in this process initialized the module first: that code finalizes it. */
  readonly initializedHere: boolean;
  users: number;
  /** Per slot (hex handle): our open sessions and a digest of the PIN that logged them in. */
  readonly logins: Map<string, { sessions: number; pinDigest: Buffer | undefined }>;
}

const libraries = new Map<string, Library>();

function acquireLibrary(modulePath: string): Library {
  const existing = libraries.get(modulePath);
  if (existing) {
    existing.users += 1;
    return existing;
  }
  const pkcs11 = new pkcs11js.PKCS11();
  try {
    pkcs11.load(modulePath);
  } catch (err) {
    throw new KeyProviderError('misconfigured', `PKCS#11 module ${modulePath} could not be loaded`, { cause: err });
  }
  let initializedHere = true;
  try {
    // The module may be called from the libuv thread pool (the async calls below).
    pkcs11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckr(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      throw new KeyProviderError('misconfigured', `PKCS#11 module ${modulePath} did not initialize`, { cause: err });
    }
    initializedHere = false;
  }
  const library: Library = { pkcs11, initializedHere, users: 1, logins: new Map() };
  libraries.set(modulePath, library);
  return library;
}

function releaseLibrary(modulePath: string, library: Library): void {
  library.users -= 1;
  if (library.users > 0) return;
  libraries.delete(modulePath);
  if (library.initializedHere) {
    try {
      library.pkcs11.C_Finalize();
    } catch {
      // Nothing left to do with a module that will not finalize.
    }
  }
}

/** The CKR_ name of a binding error, or undefined for anything else. */
function ckr(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  return /^CKR_[A-Z0-9_]+/.exec(err.message)?.[0];
}

const KEY_UNUSABLE = new Set([
  'CKR_KEY_FUNCTION_NOT_PERMITTED',
  'CKR_KEY_HANDLE_INVALID',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_TYPE_INCONSISTENT',
  'CKR_KEY_SIZE_RANGE',
]);

const TOKEN_UNAVAILABLE = new Set([
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_FUNCTION_CANCELED',
  'CKR_HOST_MEMORY',
]);

/** Maps a failed token call to a provider error; `fallback` when the code says nothing specific. */
function tokenError(err: unknown, message: string, fallback: KeyProviderFailure): KeyProviderError {
  if (err instanceof KeyProviderError) return err;
  const code = ckr(err);
  const failure: KeyProviderFailure =
    code && KEY_UNUSABLE.has(code) ? 'key_disabled' : code && TOKEN_UNAVAILABLE.has(code) ? 'kms_unavailable' : fallback;
  return new KeyProviderError(failure, code ? `${message} (${code})` : message, { cause: err });
}

function pinDigest(pin: string): Buffer {
  return createHash('sha256').update('rampart/pkcs11-pin\u0000').update(pin, 'utf8').digest();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function readBool(value: Buffer | undefined): boolean {
  return value !== undefined && value.length > 0 && value[0] !== 0;
}

/** CK_ULONG is the platform's unsigned long: 8 bytes on 64-bit Linux, 4 elsewhere. */
function readUlong(value: Buffer | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.length === 8) return Number(value.readBigUInt64LE());
  if (value.length === 4) return value.readUInt32LE();
  return undefined;
}

function gcm(iv: Buffer, context: WrapContext): Mechanism {
  const parameter: GcmParams = {
    type: pkcs11js.CK_PARAMS_AES_GCM,
    iv,
    ivBits: IV_BYTES * 8,
    aad: wrapAad(context),
    tagBits: TAG_BYTES * 8,
  };
  return { mechanism: pkcs11js.CKM_AES_GCM, parameter };
}

export class Pkcs11KeyProvider implements KeyProvider {
  readonly kind = 'pkcs11' as const;

  readonly #modulePath: string;
  readonly #library: Library;
  readonly #slot: string;
  readonly #session: Handle;
  readonly #keyLabel: string;
  readonly #versionPattern: RegExp;
  /**
   * A session runs one operation at a time (C_EncryptInit then C_Encrypt), and the async calls
   * run on other threads: every token call goes through this queue.
   */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(modulePath: string, library: Library, slot: string, session: Handle, keyLabel: string) {
    this.#modulePath = modulePath;
    this.#library = library;
    this.#slot = slot;
    this.#session = session;
    this.#keyLabel = keyLabel;
    this.#versionPattern = new RegExp(`^${escapeRegExp(keyLabel)}-([1-9][0-9]{0,8})$`);
  }

  static async open(options: Pkcs11Options): Promise<Pkcs11KeyProvider> {
    const pin = typeof options.pin === 'string' ? options.pin : options.pin.reveal();
    const library = acquireLibrary(options.module);
    const { pkcs11 } = library;
    let session: Handle | undefined;
    let slot: Handle;
    try {
      slot = findTokenSlot(pkcs11, options.tokenLabel);
      session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      login(library, slot.toString('hex'), session, pin, options.tokenLabel);
    } catch (err) {
      if (session !== undefined) {
        try {
          pkcs11.C_CloseSession(session);
        } catch {
          // Already gone.
        }
      }
      releaseLibrary(options.module, library);
      throw tokenError(err, `PKCS#11 token ${options.tokenLabel} could not be opened`, 'misconfigured');
    }
    const provider = new Pkcs11KeyProvider(options.module, library, slot.toString('hex'), session, options.keyLabel);
    try {
      if (provider.#rootVersions().length === 0) provider.#generateRoot(1);
    } catch (err) {
      await provider.close();
      throw tokenError(err, `root key ${options.keyLabel}-1 could not be created on token ${options.tokenLabel}`, 'misconfigured');
    }
    return provider;
  }

  async currentKeyRef(): Promise<string> {
    return this.#serial(() => {
      const newest = this.#rootVersions().at(-1);
      if (newest === undefined) {
        throw new KeyProviderError('key_disabled', `no root key ${this.#keyLabel}-<n> on the token`);
      }
      return `${REF_PREFIX}${this.#keyLabel}-${newest}`;
    });
  }

  async generateKey(keyRef: string, context: WrapContext): Promise<GeneratedKey> {
    return this.#serial(async () => {
      const plaintext = randomBytes(KEY_BYTES);
      try {
        const wrapped = await this.#wrap(keyRef, plaintext, context);
        return { plaintext, wrapped };
      } catch (err) {
        plaintext.fill(0);
        throw err;
      }
    });
  }

  async unwrap(keyRef: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    return this.#serial(() => this.#unwrap(keyRef, wrapped, context));
  }

  async rewrap(fromRef: string, wrapped: Buffer, toRef: string, context: WrapContext): Promise<Buffer> {
    return this.#serial(async () => {
      const plaintext = await this.#unwrap(fromRef, wrapped, context);
      try {
        return await this.#wrap(toRef, plaintext, context);
      } finally {
        plaintext.fill(0);
      }
    });
  }

  async rotateRoot(): Promise<string> {
    return this.#serial(() => {
      const next = (this.#rootVersions().at(-1) ?? 0) + 1;
      try {
        this.#generateRoot(next);
      } catch (err) {
        throw tokenError(err, `root key ${this.#keyLabel}-${next} could not be created`, 'misconfigured');
      }
      return `${REF_PREFIX}${this.#keyLabel}-${next}`;
    });
  }

  async verify(keyRef: string): Promise<void> {
    await verifyByRoundTrip(this, keyRef);
  }

  async close(): Promise<void> {
    const closing = this.#queue.then(() => {
      if (this.#closed) return;
      this.#closed = true;
      const { pkcs11, logins } = this.#library;
      const login = logins.get(this.#slot);
      if (login) {
        login.sessions -= 1;
        if (login.sessions === 0) {
          logins.delete(this.#slot);
          // Logging out ends the login of every session of this process on the token: only the last one does.
          try {
            pkcs11.C_Logout(this.#session);
          } catch {
            // Closing the last session logs out anyway.
          }
        }
      }
      try {
        pkcs11.C_CloseSession(this.#session);
      } catch {
        // The token may already have dropped it.
      }
      releaseLibrary(this.#modulePath, this.#library);
    });
    this.#queue = closing.catch(() => undefined);
    await closing;
  }

  #serial<T>(operation: () => T | Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#closed) throw new KeyProviderError('misconfigured', 'the PKCS#11 provider is closed');
      return operation();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Root key versions on the token, ascending. Read each time: another instance may have rotated. */
  #rootVersions(): number[] {
    const { pkcs11 } = this.#library;
    const versions: number[] = [];
    try {
      for (const handle of this.#findSecretKeys([])) {
        const [label] = pkcs11.C_GetAttributeValue(this.#session, handle, [{ type: pkcs11js.CKA_LABEL }]);
        const match = label ? this.#versionPattern.exec(label.value.toString('utf8')) : null;
        if (match?.[1]) versions.push(Number(match[1]));
      }
    } catch (err) {
      throw tokenError(err, `root keys ${this.#keyLabel}-<n> could not be listed`, 'kms_unavailable');
    }
    return versions.sort((a, b) => a - b);
  }

  #generateRoot(version: number): void {
    this.#library.pkcs11.C_GenerateKey(this.#session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE_LEN, value: KEY_BYTES },
      { type: pkcs11js.CKA_LABEL, value: `${this.#keyLabel}-${version}` },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      { type: pkcs11js.CKA_ENCRYPT, value: true },
      { type: pkcs11js.CKA_DECRYPT, value: true },
      { type: pkcs11js.CKA_WRAP, value: false },
      { type: pkcs11js.CKA_UNWRAP, value: false },
      { type: pkcs11js.CKA_SIGN, value: false },
      { type: pkcs11js.CKA_VERIFY, value: false },
      { type: pkcs11js.CKA_DERIVE, value: false },
    ]);
  }

  #findSecretKeys(extra: Template): Handle[] {
    const { pkcs11 } = this.#library;
    pkcs11.C_FindObjectsInit(this.#session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
      { type: pkcs11js.CKA_TOKEN, value: true },
      ...extra,
    ]);
    try {
      const found: Handle[] = [];
      for (;;) {
        const batch = pkcs11.C_FindObjects(this.#session, 64);
        if (batch.length === 0) return found;
        found.push(...batch);
      }
    } finally {
      pkcs11.C_FindObjectsFinal(this.#session);
    }
  }

  /** The key a reference names, if it is an AES key allowed to encrypt and decrypt. */
  #key(keyRef: string): Handle {
    const label = keyRef.startsWith(REF_PREFIX) ? keyRef.slice(REF_PREFIX.length) : '';
    if (label === '') throw new KeyProviderError('key_disabled', `${keyRef} is not a PKCS#11 key reference`);
    let handles: Handle[];
    try {
      handles = this.#findSecretKeys([{ type: pkcs11js.CKA_LABEL, value: label }]);
    } catch (err) {
      throw tokenError(err, `key ${keyRef} could not be looked up`, 'kms_unavailable');
    }
    const [handle] = handles;
    if (handle === undefined) throw new KeyProviderError('key_disabled', `no key labelled ${label} on the token`);
    // Two keys with one label would make unwrapping depend on which one the token lists first.
    if (handles.length > 1) throw new KeyProviderError('misconfigured', `${handles.length} keys labelled ${label} on the token`);
    let attributes: TemplateResult;
    try {
      attributes = this.#library.pkcs11.C_GetAttributeValue(this.#session, handle, [
        { type: pkcs11js.CKA_KEY_TYPE },
        { type: pkcs11js.CKA_ENCRYPT },
        { type: pkcs11js.CKA_DECRYPT },
      ]);
    } catch (err) {
      throw tokenError(err, `key ${keyRef} could not be read`, 'key_disabled');
    }
    const [keyType, encrypt, decrypt] = attributes;
    // A key that may no longer decrypt is revoked: wrapping under it would make keys nobody can unwrap.
    if (readUlong(keyType?.value) !== pkcs11js.CKK_AES || !readBool(encrypt?.value) || !readBool(decrypt?.value)) {
      throw new KeyProviderError('key_disabled', `key ${keyRef} is not an AES key usable for encryption and decryption`);
    }
    return handle;
  }

  async #wrap(keyRef: string, plaintext: Buffer, context: WrapContext): Promise<Buffer> {
    const { pkcs11 } = this.#library;
    const key = this.#key(keyRef);
    const iv = randomBytes(IV_BYTES);
    try {
      pkcs11.C_EncryptInit(this.#session, gcm(iv, context), key);
      // More room than ciphertext and tag need; the length is checked below.
      const sealed = await pkcs11.C_EncryptAsync(this.#session, plaintext, Buffer.alloc(WRAPPED_BYTES));
      if (sealed.length !== KEY_BYTES + TAG_BYTES) throw new Error('unexpected ciphertext length');
      return Buffer.concat([iv, sealed]);
    } catch (err) {
      throw tokenError(err, `key could not be wrapped under ${keyRef}`, 'misconfigured');
    }
  }

  async #unwrap(keyRef: string, wrapped: Buffer, context: WrapContext): Promise<Buffer> {
    const { pkcs11 } = this.#library;
    const key = this.#key(keyRef);
    if (wrapped.length !== WRAPPED_BYTES) throw new KeyProviderError('unwrap_failed', `key could not be unwrapped under ${keyRef}`);
    const iv = wrapped.subarray(0, IV_BYTES);
    try {
      pkcs11.C_DecryptInit(this.#session, gcm(iv, context), key);
    } catch (err) {
      throw tokenError(err, `key could not be unwrapped under ${keyRef}`, 'misconfigured');
    }
    // Sized for the whole input: some modules want room for it before they check the tag.
    const out = Buffer.alloc(WRAPPED_BYTES);
    try {
      const plaintext = await pkcs11.C_DecryptAsync(this.#session, wrapped.subarray(IV_BYTES), out);
      if (plaintext.length !== KEY_BYTES) throw new Error('unexpected plaintext length');
      // Its own memory (not the shared pool small buffers come from), so the caller can zero it.
      const key = Buffer.alloc(KEY_BYTES);
      plaintext.copy(key);
      return key;
    } catch (err) {
      // A wrong tag is CKR_ENCRYPTED_DATA_INVALID in the standard but CKR_GENERAL_ERROR in SoftHSM2:
      // once the key was accepted, any failure but a lost token means the wrapped bytes are wrong.
      const code = ckr(err);
      const failure = code && TOKEN_UNAVAILABLE.has(code) ? 'kms_unavailable' : 'unwrap_failed';
      throw new KeyProviderError(failure, `key could not be unwrapped under ${keyRef}`, { cause: err });
    } finally {
      out.fill(0);
    }
  }
}

function findTokenSlot(pkcs11: PKCS11, tokenLabel: string): Handle {
  // Token labels are blank-padded to 32 bytes.
  const slots = pkcs11.C_GetSlotList(true).filter((slot) => pkcs11.C_GetTokenInfo(slot).label.trimEnd() === tokenLabel);
  const [slot] = slots;
  if (slot === undefined) throw new KeyProviderError('misconfigured', `no PKCS#11 token labelled ${tokenLabel}`);
  if (slots.length > 1) throw new KeyProviderError('misconfigured', `${slots.length} PKCS#11 tokens labelled ${tokenLabel}`);
  return slot;
}

/** Logs the session in, or checks the PIN against the one that already logged this process in. */
function login(library: Library, slotKey: string, session: Handle, pin: string, tokenLabel: string): void {
  const digest = pinDigest(pin);
  const existing = library.logins.get(slotKey);
  let verified = true;
  try {
    library.pkcs11.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (err) {
    if (ckr(err) !== 'CKR_USER_ALREADY_LOGGED_IN') {
      throw tokenError(err, `login to PKCS#11 token ${tokenLabel} failed`, 'misconfigured');
    }
    // The token does not check a PIN twice; compare with the one we logged in with, when it was us.
    if (existing?.pinDigest && !timingSafeEqual(existing.pinDigest, digest)) {
      throw new KeyProviderError('misconfigured', `login to PKCS#11 token ${tokenLabel} failed (CKR_PIN_INCORRECT)`);
    }
    verified = false;
  }
  if (existing) existing.sessions += 1;
  // Logged in by other code in this process: the PIN was not checked, so it is not remembered.
  else library.logins.set(slotKey, { sessions: 1, pinDigest: verified ? digest : undefined });
}
