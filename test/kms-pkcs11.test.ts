/**
 * The PKCS#11 key provider against a real SoftHSM2 token. Without SoftHSM2 installed these tests
 * fail, so a machine that lacks it cannot pass them by accident; RAMPART_SKIP_PKCS11=1 skips
 * them there instead.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyProvider } from '../src/platform/crypto/providers/pkcs11.js';
import { KeyProviderError, type KeyProviderFailure, type WrapContext } from '../src/platform/crypto/providers/types.js';
import { secret } from '../src/platform/secret.js';
import { createSoftHsmToken, findKeys, softHsmAvailable, type SoftHsmToken, withTokenSession } from './helpers/softhsm.js';

const availability = softHsmAvailable();
const skipReason =
  !availability.available && process.env.RAMPART_SKIP_PKCS11 === '1' ? `${availability.reason}, RAMPART_SKIP_PKCS11=1` : undefined;
const KEY_LABEL = 'rampart-root';

function context(version = 1, tenantId: string = randomUUID()): WrapContext {
  return { tenantId, version };
}

async function failure(promise: Promise<unknown>): Promise<KeyProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KeyProviderError);
  return err as KeyProviderError;
}

async function expectFailure(promise: Promise<unknown>, kind: KeyProviderFailure): Promise<KeyProviderError> {
  const err = await failure(promise);
  expect(err.failure, err.message).toBe(kind);
  return err;
}

describe.skipIf(skipReason !== undefined)(skipReason ? `pkcs11 key provider (skipped: ${skipReason})` : 'pkcs11 key provider on SoftHSM2', () => {
  let token: SoftHsmToken;
  let provider: Pkcs11KeyProvider;

  function open(pin: string = token.pin): Promise<Pkcs11KeyProvider> {
    return Pkcs11KeyProvider.open({ module: token.module, tokenLabel: token.tokenLabel, pin: secret(pin), keyLabel: KEY_LABEL });
  }

  beforeAll(async () => {
    if (!availability.available) {
      throw new Error(`${availability.reason}: install softhsm2 (apt-get install softhsm2), or set RAMPART_SKIP_PKCS11=1 to skip`);
    }
    token = createSoftHsmToken();
    provider = await open();
  });

  afterAll(async () => {
    await provider?.close();
    token?.cleanup();
  });

  it('creates <label>-1 on a token without root keys and makes it current', async () => {
    expect(await provider.currentKeyRef()).toBe(`pkcs11:${KEY_LABEL}-1`);
  });

  it('keeps root keys on the token as sensitive, non-extractable AES-256 keys whose value cannot be read', () => {
    withTokenSession(token, (pkcs11, session) => {
      const [key, ...others] = findKeys(pkcs11, session, `${KEY_LABEL}-1`);
      expect(key).toBeDefined();
      expect(others).toHaveLength(0);
      const attributes = pkcs11.C_GetAttributeValue(session, key!, [
        { type: pkcs11js.CKA_TOKEN },
        { type: pkcs11js.CKA_SENSITIVE },
        { type: pkcs11js.CKA_EXTRACTABLE },
        { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
        { type: pkcs11js.CKA_ENCRYPT },
        { type: pkcs11js.CKA_DECRYPT },
        { type: pkcs11js.CKA_VALUE_LEN },
      ]);
      const flags = attributes.slice(0, 6).map((a) => a.value[0]);
      expect(flags).toEqual([1, 1, 0, 1, 1, 1]);
      expect(attributes[6]!.value.readUInt32LE()).toBe(32);
      expect(() => pkcs11.C_GetAttributeValue(session, key!, [{ type: pkcs11js.CKA_VALUE }])).toThrow(/CKR_ATTRIBUTE_SENSITIVE/);
      // Nor can it be made extractable afterwards.
      expect(() => pkcs11.C_SetAttributeValue(session, key!, [{ type: pkcs11js.CKA_EXTRACTABLE, value: true }])).toThrow(/CKR_/);
    });
  });

  it('generates a 32-byte key whose wrapped form unwraps to it and does not contain it', async () => {
    const ref = await provider.currentKeyRef();
    const ctx = context();
    const { plaintext, wrapped } = await provider.generateKey(ref, ctx);
    expect(plaintext).toHaveLength(32);
    expect(wrapped).toHaveLength(12 + 32 + 16);
    expect(wrapped.includes(plaintext)).toBe(false);
    expect(wrapped.includes(plaintext.subarray(0, 8))).toBe(false);
    expect((await provider.unwrap(ref, wrapped, ctx)).equals(plaintext)).toBe(true);

    const second = await provider.generateKey(ref, ctx);
    expect(second.plaintext.equals(plaintext)).toBe(false);
    expect(second.wrapped.subarray(0, 12).equals(wrapped.subarray(0, 12))).toBe(false);
  });

  it('binds the wrapped key to its tenant and version', async () => {
    const ref = await provider.currentKeyRef();
    const ctx = context(1);
    const { plaintext, wrapped } = await provider.generateKey(ref, ctx);
    await expectFailure(provider.unwrap(ref, wrapped, context(1)), 'unwrap_failed');
    await expectFailure(provider.unwrap(ref, wrapped, { tenantId: ctx.tenantId, version: 2 }), 'unwrap_failed');
    await expectFailure(provider.unwrap(ref, wrapped, { tenantId: ctx.tenantId, version: 0 }), 'unwrap_failed');
    await expectFailure(provider.rewrap(ref, wrapped, ref, context(1)), 'unwrap_failed');
    expect((await provider.unwrap(ref, wrapped, ctx)).equals(plaintext)).toBe(true);
  });

  it('refuses tampered, truncated and extended wrapped keys', async () => {
    const ref = await provider.currentKeyRef();
    const ctx = context();
    const { wrapped } = await provider.generateKey(ref, ctx);
    // A byte of the IV, of the ciphertext and of the tag.
    for (const at of [0, 11, 12, 43, 44, 59]) {
      const tampered = Buffer.from(wrapped);
      tampered[at]! ^= 0x01;
      const err = await expectFailure(provider.unwrap(ref, tampered, ctx), 'unwrap_failed');
      expect(err.message).not.toContain(tampered.toString('hex'));
    }
    await expectFailure(provider.unwrap(ref, wrapped.subarray(0, 59), ctx), 'unwrap_failed');
    await expectFailure(provider.unwrap(ref, Buffer.concat([wrapped, Buffer.alloc(1)]), ctx), 'unwrap_failed');
    await expectFailure(provider.unwrap(ref, Buffer.alloc(0), ctx), 'unwrap_failed');
  });

  let oldRef: string;
  let newRef: string;
  const kept = { ctx: context(3), plaintext: Buffer.alloc(0), wrapped: Buffer.alloc(0) };

  it('rotates to <label>-2, and the old root still unwraps what it wrapped', async () => {
    oldRef = await provider.currentKeyRef();
    const ctx = kept.ctx;
    const before = await provider.generateKey(oldRef, ctx);
    Object.assign(kept, before);

    newRef = await provider.rotateRoot();
    expect(newRef).toBe(`pkcs11:${KEY_LABEL}-2`);
    expect(await provider.currentKeyRef()).toBe(newRef);
    expect((await provider.unwrap(oldRef, before.wrapped, ctx)).equals(before.plaintext)).toBe(true);

    const after = await provider.generateKey(newRef, ctx);
    expect((await provider.unwrap(newRef, after.wrapped, ctx)).equals(after.plaintext)).toBe(true);
    // Each root key is its own key: one does not unwrap the other's.
    await expectFailure(provider.unwrap(oldRef, after.wrapped, ctx), 'unwrap_failed');
  });

  it('rewraps a key from the old root to the new one, where only the new one unwraps it', async () => {
    const rewrapped = await provider.rewrap(oldRef, kept.wrapped, newRef, kept.ctx);
    expect(rewrapped.equals(kept.wrapped)).toBe(false);
    expect(rewrapped.includes(kept.plaintext)).toBe(false);
    expect((await provider.unwrap(newRef, rewrapped, kept.ctx)).equals(kept.plaintext)).toBe(true);
    await expectFailure(provider.unwrap(oldRef, rewrapped, kept.ctx), 'unwrap_failed');
    await expectFailure(provider.rewrap(oldRef, kept.wrapped, newRef, context(3)), 'unwrap_failed');
  });

  it('refuses a wrong PIN as misconfigured, without the PIN in the error', async () => {
    const wrongPin = `wrong-${randomUUID()}`;
    // Checked by the token (nothing of this process is logged in) and, with a provider open, by the provider.
    await provider.close();
    const errors = [await expectFailure(open(wrongPin), 'misconfigured')];
    provider = await open();
    errors.push(await expectFailure(open(wrongPin), 'misconfigured'));
    for (const err of errors) {
      const shown = `${err.message}\n${err.stack}\n${inspect(err, { depth: 5 })}\n${JSON.stringify(err)}`;
      expect(shown).toContain(token.tokenLabel);
      expect(shown).not.toContain(wrongPin);
      expect(shown).not.toContain(token.pin);
    }
    // The refused open did not end the open provider's login.
    expect(await provider.currentKeyRef()).toBe(newRef);
  });

  it('refuses an unknown token or module as misconfigured', async () => {
    await expectFailure(
      Pkcs11KeyProvider.open({ module: token.module, tokenLabel: 'no-such-token', pin: token.pin, keyLabel: KEY_LABEL }),
      'misconfigured',
    );
    await expectFailure(
      Pkcs11KeyProvider.open({ module: '/nonexistent/libpkcs11.so', tokenLabel: token.tokenLabel, pin: token.pin, keyLabel: KEY_LABEL }),
      'misconfigured',
    );
    expect(await provider.currentKeyRef()).toBe(newRef);
  });

  it('finds the same root keys after the module is finalized and opened again', async () => {
    await provider.close();
    await expectFailure(provider.currentKeyRef(), 'misconfigured');
    provider = await open();
    expect(await provider.currentKeyRef()).toBe(newRef);
    expect((await provider.unwrap(oldRef, kept.wrapped, kept.ctx)).equals(kept.plaintext)).toBe(true);
  });

  it('verifies a usable key reference and refuses unknown ones as key_disabled', async () => {
    await provider.verify(newRef);
    await provider.verify(oldRef);
    await expectFailure(provider.verify(`pkcs11:${KEY_LABEL}-99`), 'key_disabled');
    await expectFailure(provider.verify('pkcs11:no-such-key'), 'key_disabled');
    await expectFailure(provider.verify('pkcs11:'), 'key_disabled');
    await expectFailure(provider.verify('local:1'), 'key_disabled');
  });

  it('reports key_disabled once the key may no longer decrypt, and again once it is destroyed', async () => {
    // A workspace's own key, made by its administrator on the token.
    const label = `customer-${randomUUID()}`;
    const ref = `pkcs11:${label}`;
    withTokenSession(token, (pkcs11, session) => {
      pkcs11.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
      ]);
    });
    await provider.verify(ref);
    const ctx = context();
    const { wrapped } = await provider.generateKey(ref, ctx);

    withTokenSession(token, (pkcs11, session) => {
      const [key] = findKeys(pkcs11, session, label);
      pkcs11.C_SetAttributeValue(session, key!, [{ type: pkcs11js.CKA_DECRYPT, value: false }]);
    });
    const revoked = await expectFailure(provider.unwrap(ref, wrapped, ctx), 'key_disabled');
    expect(revoked.message).toContain(label);
    await expectFailure(provider.generateKey(ref, context()), 'key_disabled');
    await expectFailure(provider.verify(ref), 'key_disabled');
    await expectFailure(provider.rewrap(ref, wrapped, newRef, ctx), 'key_disabled');

    withTokenSession(token, (pkcs11, session) => {
      const [key] = findKeys(pkcs11, session, label);
      pkcs11.C_DestroyObject(session, key!);
    });
    await expectFailure(provider.unwrap(ref, wrapped, ctx), 'key_disabled');
  });

  it('reports key_disabled for a destroyed root key version and keeps the newest one current', async () => {
    const ctx = context();
    const { wrapped } = await provider.generateKey(oldRef, ctx);
    withTokenSession(token, (pkcs11, session) => {
      const [key] = findKeys(pkcs11, session, `${KEY_LABEL}-1`);
      pkcs11.C_DestroyObject(session, key!);
    });
    await expectFailure(provider.unwrap(oldRef, wrapped, ctx), 'key_disabled');
    await expectFailure(provider.rewrap(oldRef, wrapped, newRef, ctx), 'key_disabled');
    expect(await provider.currentKeyRef()).toBe(newRef);
    expect(await provider.rotateRoot()).toBe(`pkcs11:${KEY_LABEL}-3`);
    newRef = await provider.currentKeyRef();
  });

  it('serializes concurrent calls on one provider, and two providers share the token', async () => {
    const second = await open();
    const ref = await provider.currentKeyRef();
    const rounds = Array.from({ length: 50 }, async (_, i) => {
      const ctx = context(i);
      const on = i % 5 === 0 ? second : provider;
      const { plaintext, wrapped } = await on.generateKey(ref, ctx);
      const back = await on.unwrap(ref, wrapped, ctx);
      const rewrapped = await provider.rewrap(ref, wrapped, ref, ctx);
      const again = await second.unwrap(ref, rewrapped, ctx);
      return back.equals(plaintext) && again.equals(plaintext);
    });
    const results = await Promise.all([...rounds, provider.verify(ref).then(() => true), provider.currentKeyRef().then((r) => r === ref)]);
    expect(results.every(Boolean)).toBe(true);
    // Closing one provider leaves the other logged in.
    await second.close();
    await provider.verify(ref);
  });
});
