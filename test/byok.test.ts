/**
 * Bring your own key, end to end: a workspace points its tenant key at its own key in an HSM
 * (a real SoftHSM2 token through PKCS#11), its content moves under that key, and revoking the key
 * makes exactly that workspace unreadable and unwritable — failing closed with a clear error —
 * until the key is enabled again.
 */
import pkcs11js from 'pkcs11js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pkcs11KeyProvider } from '../src/platform/crypto/providers/pkcs11.js';
import { secret } from '../src/platform/secret.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { createSoftHsmToken, findKeys, softHsmAvailable, withTokenSession, type SoftHsmToken } from './helpers/softhsm.js';

const availability = softHsmAvailable();
const skip = !availability.available && process.env.RAMPART_SKIP_PKCS11 === '1';
const CUSTOMER_LABEL = 'acme-byok';

describe.skipIf(skip)(skip ? 'bring your own key (skipped: SoftHSM2 is not installed, RAMPART_SKIP_PKCS11=1)' : 'bring your own key on SoftHSM2', () => {
  let token: SoftHsmToken;

  beforeAll(async () => {
    if (!availability.available) throw new Error(`${availability.reason}: install softhsm2, or set RAMPART_SKIP_PKCS11=1 to skip`);
    token = createSoftHsmToken();
    // The customer's key, made on their token (here the same token, under its own label).
    const customer = await Pkcs11KeyProvider.open({ module: token.module, tokenLabel: token.tokenLabel, pin: secret(token.pin), keyLabel: CUSTOMER_LABEL });
    await customer.close();
  });
  afterAll(() => token?.cleanup());

  const setDecrypt = (allowed: boolean) =>
    withTokenSession(token, (pkcs11, session) => {
      const [key] = findKeys(pkcs11, session, `${CUSTOMER_LABEL}-1`);
      if (!key) throw new Error('customer key missing');
      pkcs11.C_SetAttributeValue(session, key, [{ type: pkcs11js.CKA_DECRYPT, value: allowed }]);
    });

  describe.each(BACKENDS)('on $name', (backend) => {
    let t: TestApp;
    let owner: Caller;
    let ws: string;
    let other: string;

    const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
      t.app.inject({ method, url, headers: owner.bearer, ...(payload ? { payload } : {}) });
    const recordIn = async (w: string, data: Record<string, unknown>) => {
      const res = await call('POST', `/api/v1/workspaces/${w}/collections/notes/records`, { data });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<{ id: string }>().id;
    };

    beforeAll(async () => {
      t = await buildTestApp(backend, {
        keyCacheSeconds: 0,
        pkcs11Module: token.module,
        pkcs11TokenLabel: token.tokenLabel,
        pkcs11Pin: token.pin,
      });
      owner = await signUp(t, 'owner');
      ws = (await createWorkspace(t, owner, 'Enterprise')).id;
      other = (await createWorkspace(t, owner, 'Other')).id;
      for (const w of [ws, other]) await call('POST', `/api/v1/workspaces/${w}/collections`, { name: 'notes' });
    });
    afterAll(async () => {
      setDecrypt(true);
      await t?.close();
    });

    it('moves the workspace under its own key, and revoking that key fails closed for it alone', async () => {
      const before = await recordIn(ws, { under: 'root' });
      const neighbour = await recordIn(other, { neighbour: true });

      const set = await call('PUT', `/api/v1/workspaces/${ws}/keys/own-key`, { provider: 'pkcs11', keyRef: `pkcs11:${CUSTOMER_LABEL}-1` });
      expect(set.statusCode, set.body).toBe(200);
      expect(set.json()).toMatchObject({ provider: 'pkcs11', ownKey: { provider: 'pkcs11', keyRef: `pkcs11:${CUSTOMER_LABEL}-1` }, currentVersion: 2 });
      await t.services.accounts.settle();
      const status = (await call('GET', `/api/v1/workspaces/${ws}/keys`)).json<{ minDecryptVersion: number; pendingRewrap: number; versions: unknown[] }>();
      // Everything moved, and the version under the instance's root key no longer decrypts.
      expect(status).toMatchObject({ minDecryptVersion: 2, pendingRewrap: 0 });
      expect(status.versions).toMatchObject([
        { version: 1, provider: 'local', state: 'retired' },
        { version: 2, provider: 'pkcs11', keyRef: `pkcs11:${CUSTOMER_LABEL}-1`, state: 'active' },
      ]);
      const after = await recordIn(ws, { under: 'own key' });
      for (const id of [before, after]) expect((await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${id}`)).statusCode).toBe(200);

      // The customer revokes Rampart's use of the key.
      setDecrypt(false);
      for (const res of [
        await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${before}`),
        await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records?filter[under]=root`),
        await call('POST', `/api/v1/workspaces/${ws}/collections/notes/records`, { data: { refused: true } }),
      ]) {
        expect(res.statusCode, res.body).toBe(409);
        expect(res.json<{ error: { code: string } }>().error.code).toBe('encryption_key_disabled');
        expect(res.body).not.toContain('root');
      }
      // The neighbour, under the instance's key, is untouched.
      expect((await call('GET', `/api/v1/workspaces/${other}/collections/notes/records/${neighbour}`)).statusCode).toBe(200);
      const [written] = await t.database.raw<{ n: number }>("SELECT count(*)::int AS n FROM records WHERE tenant_id = $1 AND filter_tokens IS NOT NULL", [ws]);
      expect(written?.n).toBe(2);

      // Enabled again: readable again.
      setDecrypt(true);
      expect((await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records/${before}`)).json<{ data: unknown }>().data).toEqual({ under: 'root' });
    });

    it('goes back to the root key when the owner stops using the own key', async () => {
      const res = await call('DELETE', `/api/v1/workspaces/${ws}/keys/own-key`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ provider: 'local', ownKey: null });
      await t.services.accounts.settle();
      const status = (await call('GET', `/api/v1/workspaces/${ws}/keys`)).json<{ currentVersion: number; minDecryptVersion: number; pendingRewrap: number }>();
      expect(status.pendingRewrap).toBe(0);
      expect(status.minDecryptVersion).toBe(status.currentVersion);
      // Revoking the old own key no longer matters.
      setDecrypt(false);
      try {
        const list = await call('GET', `/api/v1/workspaces/${ws}/collections/notes/records`);
        expect(list.statusCode, list.body).toBe(200);
        expect(list.json<{ data: unknown[] }>().data).toHaveLength(2);
      } finally {
        setDecrypt(true);
      }
      const actions = (await t.database.raw<{ action: string }>("SELECT action FROM workspace_events WHERE tenant_id = $1 AND action LIKE 'key.own%' ORDER BY created_at", [ws])).map(
        (e) => e.action,
      );
      expect(actions).toEqual(['key.own_key_set', 'key.own_key_removed']);
    });
  });
});
