/**
 * Multi-factor authentication end to end, on every backend: authenticator apps (TOTP codes
 * computed here with otplib from the secret the API hands out), recovery codes, passkeys (a
 * software authenticator that signs real WebAuthn responses, and forges bad ones), the second
 * step on every sign-in path, re-authentication for removals, and session rotation.
 */
import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, latestLinkToken, latestMail, sessionCookie, signUp, type Caller, type TestApp } from './helpers/app.js';
import { FLAG_UP, SoftAuthenticator } from './helpers/soft-authenticator.js';

const PUBLIC_URL = 'https://rampart.example.test';
const ORIGIN = PUBLIC_URL;
const RP_ID = 'rampart.example.test';
const STEP_MS = 30_000;

/** The code an authenticator app would show `offset` steps from now. */
function totp(secret: string, offset = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor((Date.now() + offset * STEP_MS) / 1000) });
}

/** Waits, if need be, until at least 10 s of the current step remain, so step arithmetic holds. */
async function awayFromStepEdge(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 250));
}

function errorCode(res: LightMyRequestResponse): string | undefined {
  return res.json<{ error?: { code: string } }>().error?.code;
}

function cookieValue(res: LightMyRequestResponse): string | undefined {
  return res.cookies.find((c) => c.name === '__Host-rampart_session')?.value;
}

const RECOVERY_CODE = /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/;

describe.each(BACKENDS)('MFA on $name', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await buildTestApp(backend, { publicUrl: PUBLIC_URL });
    await signUp(t, 'first');
  });
  afterAll(async () => t?.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url, payload: payload as object, headers });

  async function passwordSignIn(caller: Caller): Promise<LightMyRequestResponse> {
    return post('/api/v1/auth/sign-in', { email: caller.email, password: caller.password });
  }

  /** Signs in with the password and returns the pending sign-in's token. */
  async function pendingToken(caller: Caller): Promise<string> {
    const res = await passwordSignIn(caller);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{ status: string; mfaToken: string }>();
    expect(body.status).toBe('mfa_required');
    return body.mfaToken;
  }

  const verify = (mfaToken: string, code: string, factor: 'totp' | 'recovery_code' = 'totp') => post('/api/v1/auth/mfa/verify', { mfaToken, factor, code });

  /** Adds an authenticator app over the bearer token; returns its secret and the recovery codes. */
  async function enrolTotp(caller: Caller, offset = 0): Promise<{ secret: string; recoveryCodes: string[] | null }> {
    const start = await post('/api/v1/account/mfa/totp', undefined, caller.bearer);
    expect(start.statusCode, start.body).toBe(200);
    const { secret, otpauthUrl } = start.json<{ secret: string; otpauthUrl: string }>();
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Rampart:/);
    const confirm = await post('/api/v1/account/mfa/totp/confirm', { code: await totp(secret, offset) }, caller.bearer);
    expect(confirm.statusCode, confirm.body).toBe(200);
    return { secret, recoveryCodes: confirm.json<{ recoveryCodes: string[] | null }>().recoveryCodes };
  }

  async function addPasskey(caller: Caller, soft: SoftAuthenticator, name = 'Laptop'): Promise<LightMyRequestResponse> {
    const options = await post('/api/v1/account/mfa/passkeys/options', undefined, caller.bearer);
    expect(options.statusCode, options.body).toBe(200);
    return post('/api/v1/account/mfa/passkeys', { response: soft.register(options.json()), name }, caller.bearer);
  }

  async function status(caller: Caller) {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/account/mfa', headers: caller.bearer });
    expect(res.statusCode).toBe(200);
    return res.json<{ enabled: boolean; totp: boolean; passkeys: number; recoveryCodesLeft: number }>();
  }

  async function actions(accountId: string): Promise<string[]> {
    await t.services.accounts.settle();
    const rows = await t.database.raw<{ action: string; outcome: string }>('SELECT action, outcome FROM auth_events WHERE account_id = $1 ORDER BY created_at, id', [
      accountId,
    ]);
    return rows.map((r) => `${r.action}:${r.outcome}`);
  }

  describe('authenticator apps (TOTP)', () => {
    it('enrols, then asks every password sign-in for a code; each code works once', async () => {
      await awayFromStepEdge();
      const a = await signUp(t, 'totp');
      expect(await status(a)).toEqual({ enabled: false, totp: false, passkeys: 0, recoveryCodesLeft: 0 });
      const { secret, recoveryCodes } = await enrolTotp(a);
      expect(recoveryCodes).toHaveLength(10);
      expect(await status(a)).toEqual({ enabled: true, totp: true, passkeys: 0, recoveryCodesLeft: 10 });

      const signIn = await passwordSignIn(a);
      expect(signIn.statusCode).toBe(200);
      expect(signIn.json()).toMatchObject({ status: 'mfa_required', factors: ['totp', 'recovery_code'] });
      expect(cookieValue(signIn)).toBeUndefined();
      const mfaToken = signIn.json<{ mfaToken: string }>().mfaToken;

      // The code that confirmed the app was spent; the next step's code is accepted (±1 step).
      const reused = await verify(mfaToken, await totp(secret));
      expect(reused.statusCode).toBe(401);
      expect(errorCode(reused)).toBe('invalid_credentials');
      const next = await totp(secret, 1);
      const ok = await verify(mfaToken, next);
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'signed_in', session: { kind: 'cookie', mfa: true } });
      const cookie = cookieValue(ok);
      expect(cookie).toBeDefined();
      const session = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', cookies: { '__Host-rampart_session': cookie as string } });
      expect(session.json()).toMatchObject({ session: { mfa: true } });

      // The same code on a new sign-in, and an older one after a newer was used: refused.
      const again = await pendingToken(a);
      expect((await verify(again, next)).statusCode).toBe(401);
      expect((await verify(again, await totp(secret, -1))).statusCode).toBe(401);
      // The second step's success is the sign-in itself: one event naming the factor checked.
      expect(await actions(a.accountId)).toEqual(expect.arrayContaining(['auth.mfa.totp_enabled:success', 'auth.sign_in:success', 'auth.mfa_verify:failure']));
      const [signedIn] = await t.database.raw<{ details: Record<string, unknown> }>(
        "SELECT details FROM auth_events WHERE account_id = $1 AND action = 'auth.sign_in' AND details->>'factor' IS NOT NULL",
        [a.accountId],
      );
      expect(signedIn?.details).toMatchObject({ method: 'password', factor: 'totp' });
      expect((await latestMail(t, a.email)).template).toBe('mfa_changed');
    });

    it('accepts the previous step once and refuses codes two steps away', async () => {
      await awayFromStepEdge();
      const b = await signUp(t, 'window');
      const { secret } = await enrolTotp(b);
      // As if the app had not been used for a while.
      await t.database.raw('UPDATE totp_factors SET last_used_step = 1 WHERE account_id = $1', [b.accountId]);
      const token = await pendingToken(b);
      expect((await verify(token, await totp(secret, -2))).statusCode).toBe(401);
      expect((await verify(token, await totp(secret, 2))).statusCode).toBe(401);
      const previous = await totp(secret, -1);
      expect((await verify(token, previous)).statusCode).toBe(200);
      const second = await pendingToken(b);
      expect((await verify(second, previous)).statusCode).toBe(401);
      expect((await verify(second, await totp(secret, 0))).statusCode).toBe(200);
    });

    it('lets one code through once when it is sent twice at the same moment', async () => {
      await awayFromStepEdge();
      const c = await signUp(t, 'race');
      const { secret } = await enrolTotp(c);
      const [one, two] = [await pendingToken(c), await pendingToken(c)];
      const code = await totp(secret, 1);
      const results = await Promise.all([verify(one, code), verify(two, code)]);
      expect(results.map((r) => r.statusCode).sort()).toEqual([200, 401]);
    });

    it('refuses garbage and oversized input with validation_failed, changing nothing', async () => {
      await awayFromStepEdge();
      const d = await signUp(t, 'garbage');
      const { secret } = await enrolTotp(d);
      const token = await pendingToken(d);
      for (const code of ['abcdef', '12345', '1234567', '1'.repeat(10_000), '１２３４５６', '12 34 5x']) {
        const res = await verify(token, code);
        expect(res.statusCode, code.slice(0, 20)).toBe(400);
        expect(errorCode(res)).toBe('validation_failed');
      }
      for (const payload of [
        { mfaToken: 'x'.repeat(5000), factor: 'totp', code: '123456' },
        { mfaToken: token, factor: 'sms', code: '123456' },
        { mfaToken: token, factor: 'totp', code: 123456 },
        { mfaToken: token, factor: 'totp', code: '123456', extra: true },
        { mfaToken: token, factor: 'recovery_code', code: '!!!!!-!!!!!' },
      ]) {
        const res = await post('/api/v1/auth/mfa/verify', payload);
        expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
        expect(errorCode(res)).toBe('validation_failed');
      }
      const confirm = await post('/api/v1/account/mfa/totp/confirm', { code: 'x'.repeat(100_000) }, d.bearer);
      expect(confirm.statusCode).toBeGreaterThanOrEqual(400);
      expect(confirm.statusCode).toBeLessThan(500);
      // Nothing was counted against the pending sign-in: it still takes a right code.
      const [row] = await t.database.raw<{ failures: number }>('SELECT failures FROM pending_sign_ins WHERE account_id = $1 AND used_at IS NULL', [d.accountId]);
      expect(row?.failures).toBe(0);
      expect((await verify(token, await totp(secret, 1))).statusCode).toBe(200);
    });

    it('kills a pending sign-in after five wrong codes, and refuses an expired one', async () => {
      await awayFromStepEdge();
      const e = await signUp(t, 'wrong');
      const { secret } = await enrolTotp(e);
      const valid = new Set(await Promise.all([-1, 0, 1].map((o) => totp(secret, o))));
      const wrong = ['000000', '111111', '222222', '333333', '444444', '555555', '666666'].filter((c) => !valid.has(c)).slice(0, 5);
      const token = await pendingToken(e);
      for (const code of wrong) {
        const res = await verify(token, code);
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ error: { code: 'invalid_credentials', message: 'Invalid credentials.' } });
      }
      const dead = await verify(token, await totp(secret, 1));
      expect(dead.statusCode).toBe(400);
      expect(errorCode(dead)).toBe('challenge_expired');

      const late = await pendingToken(e);
      await t.database.raw("UPDATE pending_sign_ins SET expires_at = now() - interval '1 second' WHERE account_id = $1 AND used_at IS NULL", [e.accountId]);
      const expired = await verify(late, await totp(secret, 1));
      expect(expired.statusCode).toBe(400);
      expect(errorCode(expired)).toBe('challenge_expired');
      // The refused code was not spent.
      expect((await verify(await pendingToken(e), await totp(secret, 1))).statusCode).toBe(200);
    });

    it('refuses a second enrolment while an app is on, and a wrong confirmation code', async () => {
      await awayFromStepEdge();
      const f = await signUp(t, 'twice');
      const start = await post('/api/v1/account/mfa/totp', undefined, f.bearer);
      const { secret } = start.json<{ secret: string }>();
      const wrong = await post('/api/v1/account/mfa/totp/confirm', { code: (await totp(secret)) === '000000' ? '000001' : '000000' }, f.bearer);
      // Not a 401: the session is fine, and a client must not read the answer as being signed out.
      expect(wrong.statusCode).toBe(400);
      expect(errorCode(wrong)).toBe('mfa_code_invalid');
      expect((await status(f)).enabled).toBe(false);
      expect((await post('/api/v1/account/mfa/totp/confirm', { code: await totp(secret) }, f.bearer)).statusCode).toBe(200);
      const again = await post('/api/v1/account/mfa/totp', undefined, f.bearer);
      expect(again.statusCode).toBe(409);
      expect(errorCode(again)).toBe('mfa_already_enabled');
      const noEnrolment = await signUp(t, 'noenrol');
      const confirm = await post('/api/v1/account/mfa/totp/confirm', { code: '123456' }, noEnrolment.bearer);
      expect(errorCode(confirm)).toBe('factor_not_found');
    });

    it('stores the secret encrypted and bound to its account', async () => {
      const g = await signUp(t, 'sealed');
      const start = await post('/api/v1/account/mfa/totp', undefined, g.bearer);
      const { secret } = start.json<{ secret: string }>();
      const [row] = await t.database.raw<{ secret_ciphertext: Buffer }>('SELECT secret_ciphertext FROM totp_factors WHERE account_id = $1', [g.accountId]);
      expect(row?.secret_ciphertext.includes(Buffer.from(secret))).toBe(false);
      expect(row?.secret_ciphertext.length).toBe(12 + secret.length + 16);
    });
  });

  describe('every sign-in path asks for the second factor', () => {
    let h: Caller;
    let secret: string;

    beforeAll(async () => {
      h = await signUp(t, 'paths');
      ({ secret } = await enrolTotp(h));
    });

    it('bearer tokens (/auth/tokens)', async () => {
      await awayFromStepEdge();
      const res = await post('/api/v1/auth/tokens', { email: h.email, password: h.password });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'mfa_required' });
      expect(res.json()).not.toHaveProperty('token');
      // Far enough from the confirmation code: set the used step back, as if time had passed.
      await t.database.raw('UPDATE totp_factors SET last_used_step = 1 WHERE account_id = $1', [h.accountId]);
      const ok = await verify(res.json<{ mfaToken: string }>().mfaToken, await totp(secret));
      expect(ok.statusCode).toBe(200);
      const body = ok.json<{ token: string; tokenType: string }>();
      expect(body.tokenType).toBe('Bearer');
      expect(cookieValue(ok)).toBeUndefined();
      const session = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { authorization: `Bearer ${body.token}` } });
      expect(session.json()).toMatchObject({ session: { kind: 'bearer', mfa: true } });
    });

    it('magic links', async () => {
      await post('/api/v1/auth/magic-link', { email: h.email });
      const token = await latestLinkToken(t, h.email);
      const res = await post('/api/v1/auth/magic-link/consume', { token });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'mfa_required', factors: ['totp', 'recovery_code'] });
      expect(cookieValue(res)).toBeUndefined();
    });

    it('identity providers (the gate OpenID Connect sign-in ends in)', async () => {
      const result = await t.services.accounts.beginSignIn(h.accountId, 'oidc', 'cookie', { ip: '127.0.0.1', userAgent: null, requestId: null });
      expect(result).toMatchObject({ status: 'mfa_required', factors: ['totp', 'recovery_code'] });
    });

    it('password reset', async () => {
      await post('/api/v1/auth/password-reset', { email: h.email });
      const token = await latestLinkToken(t, h.email);
      const password = `new password ${Math.random().toString(36).slice(2)}`;
      const res = await post('/api/v1/auth/password-reset/complete', { token, password });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'mfa_required' });
      expect(cookieValue(res)).toBeUndefined();
      h = { ...h, password };
    });
  });

  describe('recovery codes', () => {
    it('are ten, shown once, each working once; regenerating voids the old ones', async () => {
      const r = await signUp(t, 'recovery');
      const { recoveryCodes } = await enrolTotp(r);
      const codes = recoveryCodes as string[];
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const c of codes) expect(c).toMatch(RECOVERY_CODE);
      // Stored only as digests.
      const rows = await t.database.raw<{ code_hash: Buffer }>('SELECT code_hash FROM recovery_codes WHERE account_id = $1', [r.accountId]);
      expect(rows).toHaveLength(10);
      const dump = JSON.stringify(rows);
      for (const c of codes) expect(dump).not.toContain(c.replace('-', ''));

      // Case, dashes and spaces do not matter.
      const typed = ` ${(codes[0] as string).toUpperCase().replace('-', ' ')} `;
      const ok = await verify(await pendingToken(r), typed, 'recovery_code');
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ session: { mfa: true } });
      const reused = await verify(await pendingToken(r), codes[0] as string, 'recovery_code');
      expect(reused.statusCode).toBe(401);
      expect((await status(r)).recoveryCodesLeft).toBe(9);

      const wrongPassword = await post('/api/v1/account/mfa/recovery-codes', { password: 'not the password at all' }, r.bearer);
      expect(wrongPassword.statusCode).toBe(401);
      expect(errorCode(wrongPassword)).toBe('reauthentication_required');
      expect((await status(r)).recoveryCodesLeft).toBe(9);

      const fresh = await post('/api/v1/account/mfa/recovery-codes', { password: r.password }, r.bearer);
      expect(fresh.statusCode, fresh.body).toBe(200);
      const newCodes = fresh.json<{ recoveryCodes: string[] }>().recoveryCodes;
      expect(newCodes).toHaveLength(10);
      expect((await status(r)).recoveryCodesLeft).toBe(10);
      expect((await verify(await pendingToken(r), codes[1] as string, 'recovery_code')).statusCode).toBe(401);
      expect((await verify(await pendingToken(r), newCodes[0] as string, 'recovery_code')).statusCode).toBe(200);
      expect(await actions(r.accountId)).toContain('auth.mfa.recovery_codes_regenerated:success');

      // No factor, no recovery codes.
      const none = await signUp(t, 'nocodes');
      const refused = await post('/api/v1/account/mfa/recovery-codes', { password: none.password }, none.bearer);
      expect(errorCode(refused)).toBe('factor_not_found');
    });
  });

  describe('passkeys', () => {
    it('registers only a response over our live challenge, origin and RP id, with user verification', async () => {
      const p = await signUp(t, 'passkey');
      const soft = new SoftAuthenticator(ORIGIN, RP_ID);
      const options = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      expect(options.statusCode).toBe(200);
      expect(options.json()).toMatchObject({
        rp: { id: RP_ID, name: 'Rampart' },
        user: { name: p.email },
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
        excludeCredentials: [],
      });

      const forged: Array<[string, Parameters<SoftAuthenticator['register']>[1]]> = [
        ['wrong origin', { origin: 'https://evil.example' }],
        ['wrong RP id', { rpId: 'evil.example' }],
        ['no user verification', { flags: FLAG_UP | 0x40 }],
        ['no user presence', { flags: 0x04 | 0x40 }],
        ['wrong type', { type: 'webauthn.get' }],
      ];
      for (const [what, overrides] of forged) {
        const opts = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
        const res = await post('/api/v1/account/mfa/passkeys', { response: soft.register(opts.json(), overrides), name: 'x' }, p.bearer);
        expect(res.statusCode, what).toBe(400);
        expect(errorCode(res), what).toBe('passkey_invalid');
        // The challenge was spent by the failed attempt: a good answer to it is now too late.
        const late = await post('/api/v1/account/mfa/passkeys', { response: soft.register(opts.json()), name: 'x' }, p.bearer);
        expect(errorCode(late), what).toBe('challenge_expired');
      }

      // A stale challenge (superseded by newer options) is refused.
      const stale = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      const staleRes = await post('/api/v1/account/mfa/passkeys', { response: soft.register(stale.json()) }, p.bearer);
      expect(staleRes.statusCode).toBe(400);
      expect(errorCode(staleRes)).toBe('passkey_invalid');
      // An expired challenge is refused.
      const expiring = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      await t.database.raw("UPDATE webauthn_registrations SET expires_at = now() - interval '1 second' WHERE account_id = $1", [p.accountId]);
      const expired = await post('/api/v1/account/mfa/passkeys', { response: soft.register(expiring.json()) }, p.bearer);
      expect(errorCode(expired)).toBe('challenge_expired');
      expect((await status(p)).passkeys).toBe(0);

      // Oversized fields are refused before anything happens.
      const big = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      const response = soft.register(big.json()) as { response: Record<string, unknown> };
      const oversized = await post('/api/v1/account/mfa/passkeys', { response: { ...response, response: { ...response.response, clientDataJSON: 'A'.repeat(20_000) } } }, p.bearer);
      expect(oversized.statusCode).toBe(400);
      expect(errorCode(oversized)).toBe('validation_failed');

      // The real thing.
      const added = await addPasskey(p, soft, 'Work laptop');
      expect(added.statusCode, added.body).toBe(201);
      const body = added.json<{ passkey: { id: string; name: string }; recoveryCodes: string[] }>();
      expect(body.passkey.name).toBe('Work laptop');
      expect(body.recoveryCodes).toHaveLength(10);
      expect(await status(p)).toEqual({ enabled: true, totp: false, passkeys: 1, recoveryCodesLeft: 10 });
      // New options exclude the registered passkey (the refused ones were never stored).
      const options2 = await post('/api/v1/account/mfa/passkeys/options', undefined, p.bearer);
      expect(options2.json<{ excludeCredentials: Array<{ id: string }> }>().excludeCredentials.map((c) => c.id)).toEqual([soft.credentialIds.at(-1)]);

      const list = await t.app.inject({ method: 'GET', url: '/api/v1/account/mfa/passkeys', headers: p.bearer });
      expect(list.json<{ data: unknown[] }>().data).toHaveLength(1);
      const renamed = await t.app.inject({ method: 'PATCH', url: `/api/v1/account/mfa/passkeys/${body.passkey.id}`, headers: p.bearer, payload: { name: 'Old laptop' } });
      expect(renamed.json()).toMatchObject({ id: body.passkey.id, name: 'Old laptop' });
      const notMine = await t.app.inject({ method: 'PATCH', url: '/api/v1/account/mfa/passkeys/018f0000-0000-7000-8000-000000000000', headers: p.bearer, payload: { name: 'x' } });
      expect(errorCode(notMine)).toBe('factor_not_found');
      // Another account cannot touch this passkey by its id: not found, and it stays as it was.
      const q = await signUp(t, 'neighbour');
      const rename = await t.app.inject({ method: 'PATCH', url: `/api/v1/account/mfa/passkeys/${body.passkey.id}`, headers: q.bearer, payload: { name: 'Mine now' } });
      expect(errorCode(rename)).toBe('factor_not_found');
      const remove = await t.app.inject({ method: 'DELETE', url: `/api/v1/account/mfa/passkeys/${body.passkey.id}`, headers: q.bearer, payload: { password: q.password } });
      expect(errorCode(remove)).toBe('factor_not_found');
      const after = await t.app.inject({ method: 'GET', url: '/api/v1/account/mfa/passkeys', headers: p.bearer });
      expect(after.json<{ data: Array<{ id: string; name: string }> }>().data).toEqual([expect.objectContaining({ id: body.passkey.id, name: 'Old laptop' })]);
      expect(await actions(p.accountId)).toEqual(expect.arrayContaining(['auth.mfa.passkey_added:failure', 'auth.mfa.passkey_added:success']));
    });

    it('a replayed registration response is refused', async () => {
      const q = await signUp(t, 'replay');
      const soft = new SoftAuthenticator(ORIGIN, RP_ID);
      const options = await post('/api/v1/account/mfa/passkeys/options', undefined, q.bearer);
      const response = soft.register(options.json());
      expect((await post('/api/v1/account/mfa/passkeys', { response }, q.bearer)).statusCode).toBe(201);
      const again = await post('/api/v1/account/mfa/passkeys', { response }, q.bearer);
      expect(errorCode(again)).toBe('challenge_expired');
    });

    it('finishes a sign-in as second factor; a clone whose counter does not move is refused', async () => {
      const s = await signUp(t, 'assert');
      const soft = new SoftAuthenticator(ORIGIN, RP_ID);
      expect((await addPasskey(s, soft)).statusCode).toBe(201);
      const token = await pendingToken(s);
      const options = await post('/api/v1/auth/mfa/passkey/options', { mfaToken: token });
      expect(options.statusCode, options.body).toBe(200);
      expect(options.json<{ allowCredentials: Array<{ id: string }>; rpId: string }>()).toMatchObject({ rpId: RP_ID, allowCredentials: [{ id: soft.credentialIds[0] }] });

      // Forgeries over the right challenge fail, and each failure counts.
      const forged = await post('/api/v1/auth/mfa/passkey', { mfaToken: token, response: soft.assert(options.json(), { origin: 'https://evil.example' }) });
      expect(errorCode(forged)).toBe('invalid_credentials');
      // The challenge was single use.
      const afterFailure = await post('/api/v1/auth/mfa/passkey', { mfaToken: token, response: soft.assert(options.json()) });
      expect(errorCode(afterFailure)).toBe('challenge_expired');

      const cases: Array<[string, Parameters<SoftAuthenticator['assert']>[1]]> = [
        ['wrong RP id', { rpId: 'evil.example' }],
        ['bad signature', { badSignature: true }],
        ['wrong challenge', { challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
        ['no user presence', { flags: 0x04 }],
      ];
      for (const [what, overrides] of cases) {
        const mfaToken = await pendingToken(s);
        const opts = await post('/api/v1/auth/mfa/passkey/options', { mfaToken });
        const res = await post('/api/v1/auth/mfa/passkey', { mfaToken, response: soft.assert(opts.json(), overrides) });
        expect(res.statusCode, what).toBe(401);
      }

      const clone = soft.clone();
      const mfaToken = await pendingToken(s);
      const opts = await post('/api/v1/auth/mfa/passkey/options', { mfaToken });
      const ok = await post('/api/v1/auth/mfa/passkey', { mfaToken, response: soft.assert(opts.json()) });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'signed_in', session: { mfa: true } });

      // The clone reports the counter the original already used.
      const cloneToken = await pendingToken(s);
      const cloneOpts = await post('/api/v1/auth/mfa/passkey/options', { mfaToken: cloneToken });
      const cloned = await post('/api/v1/auth/mfa/passkey', { mfaToken: cloneToken, response: clone.assert(cloneOpts.json()) });
      expect(cloned.statusCode).toBe(401);
      expect(errorCode(cloned)).toBe('invalid_credentials');
      expect(await actions(s.accountId)).toContain('auth.mfa.passkey_clone_suspected:denied');
      // The original, moving on, still works.
      const onward = await pendingToken(s);
      const onwardOpts = await post('/api/v1/auth/mfa/passkey/options', { mfaToken: onward });
      expect((await post('/api/v1/auth/mfa/passkey', { mfaToken: onward, response: soft.assert(onwardOpts.json()) })).statusCode).toBe(200);
      // Without options first there is no challenge to answer.
      const bare = await pendingToken(s);
      expect(errorCode(await post('/api/v1/auth/mfa/passkey', { mfaToken: bare, response: soft.assert(onwardOpts.json()) }))).toBe('challenge_expired');
    });

    it('signs in with a passkey alone (discoverable, user verification required)', async () => {
      const u = await signUp(t, 'passwordless');
      const soft = new SoftAuthenticator(ORIGIN, RP_ID);
      expect((await addPasskey(u, soft)).statusCode).toBe(201);

      const begin = await post('/api/v1/auth/passkey/options', undefined);
      expect(begin.statusCode).toBe(200);
      const { challengeId, options } = begin.json<{ challengeId: string; options: Record<string, unknown> }>();
      expect(options).toMatchObject({ rpId: RP_ID, userVerification: 'required' });
      expect(options['allowCredentials'] ?? []).toEqual([]);
      const res = await post('/api/v1/auth/passkey', { challengeId, response: soft.assert(options) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ status: 'signed_in', account: { id: u.accountId }, session: { mfa: true } });
      const cookie = cookieValue(res) as string;
      const sessions = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', cookies: { '__Host-rampart_session': cookie } });
      expect(sessions.json<{ data: Array<{ current: boolean; method: string }> }>().data.find((x) => x.current)?.method).toBe('passkey');

      // The challenge is single use.
      const replay = await post('/api/v1/auth/passkey', { challengeId, response: soft.assert(options) });
      expect(errorCode(replay)).toBe('challenge_expired');
      // User verification is required here.
      const again = (await post('/api/v1/auth/passkey/options', undefined)).json<{ challengeId: string; options: Record<string, unknown> }>();
      const noUv = await post('/api/v1/auth/passkey', { challengeId: again.challengeId, response: soft.assert(again.options, { flags: FLAG_UP }) });
      expect(errorCode(noUv)).toBe('invalid_credentials');
      // A user handle naming someone else is refused.
      const third = (await post('/api/v1/auth/passkey/options', undefined)).json<{ challengeId: string; options: Record<string, unknown> }>();
      const otherUser = await post('/api/v1/auth/passkey', { challengeId: third.challengeId, response: soft.assert(third.options, { userHandle: 'AAAAAAAAAAAAAAAAAAAAAA' }) });
      expect(errorCode(otherUser)).toBe('invalid_credentials');
      // An unknown credential is refused.
      const stranger = new SoftAuthenticator(ORIGIN, RP_ID);
      stranger.register({ challenge: 'x', user: { id: 'AAAAAAAAAAAAAAAAAAAAAA' } });
      const fourth = (await post('/api/v1/auth/passkey/options', undefined)).json<{ challengeId: string; options: Record<string, unknown> }>();
      expect(errorCode(await post('/api/v1/auth/passkey', { challengeId: fourth.challengeId, response: stranger.assert(fourth.options) }))).toBe('invalid_credentials');
      // An expired challenge is refused.
      const fifth = (await post('/api/v1/auth/passkey/options', undefined)).json<{ challengeId: string; options: Record<string, unknown> }>();
      await t.database.raw("UPDATE webauthn_sign_in_challenges SET expires_at = now() - interval '1 second' WHERE id = $1", [fifth.challengeId]);
      expect(errorCode(await post('/api/v1/auth/passkey', { challengeId: fifth.challengeId, response: soft.assert(fifth.options) }))).toBe('challenge_expired');
    });
  });

  describe('removing factors and rotating sessions', () => {
    it('rotates a cookie session when a factor is added: the old token stops working', async () => {
      await awayFromStepEdge();
      const v = await signUp(t, 'rotate');
      const start = await post('/api/v1/account/mfa/totp', undefined, v.cookie);
      const { secret } = start.json<{ secret: string }>();
      const confirm = await post('/api/v1/account/mfa/totp/confirm', { code: await totp(secret) }, v.cookie);
      expect(confirm.statusCode, confirm.body).toBe(200);
      const body = confirm.json<{ csrfToken: string; session: { mfa: boolean } }>();
      expect(body.session.mfa).toBe(true);
      const fresh = sessionCookie(confirm);
      expect(`__Host-rampart_session=${fresh}`).not.toBe(v.cookie['cookie']);
      expect(body.csrfToken).toBeTruthy();
      const old = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: v.cookie['cookie'] as string } });
      expect(old.statusCode).toBe(401);
      const now = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', cookies: { '__Host-rampart_session': fresh } });
      expect(now.json()).toMatchObject({ session: { mfa: true } });
      // The bearer session is not rotated under the client.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: v.bearer })).statusCode).toBe(200);
    });

    it('needs the password to remove a factor, then sign-in stops asking', async () => {
      await awayFromStepEdge();
      const w = await signUp(t, 'remove');
      await enrolTotp(w);
      const soft = new SoftAuthenticator(ORIGIN, RP_ID);
      const added = await addPasskey(w, soft);
      expect(added.json<{ recoveryCodes: unknown }>().recoveryCodes).toBeNull();
      const passkeyId = added.json<{ passkey: { id: string } }>().passkey.id;

      const noBody = await t.app.inject({ method: 'DELETE', url: '/api/v1/account/mfa/totp', headers: w.bearer });
      expect(noBody.statusCode).toBe(400);
      const wrong = await t.app.inject({ method: 'DELETE', url: '/api/v1/account/mfa/totp', headers: w.bearer, payload: { password: 'wrong password entirely' } });
      expect(wrong.statusCode).toBe(401);
      expect(errorCode(wrong)).toBe('reauthentication_required');
      const byCode = await t.app.inject({ method: 'DELETE', url: '/api/v1/account/mfa/totp', headers: w.bearer, payload: { code: '123456' } });
      expect(errorCode(byCode)).toBe('reauthentication_required');
      expect((await status(w)).totp).toBe(true);

      const removed = await t.app.inject({ method: 'DELETE', url: '/api/v1/account/mfa/totp', headers: w.bearer, payload: { password: w.password } });
      expect(removed.statusCode, removed.body).toBe(200);
      expect(await status(w)).toMatchObject({ enabled: true, totp: false, passkeys: 1 });
      expect((await passwordSignIn(w)).json()).toMatchObject({ status: 'mfa_required', factors: ['webauthn', 'recovery_code'] });

      const wrongKey = await t.app.inject({ method: 'DELETE', url: `/api/v1/account/mfa/passkeys/${passkeyId}`, headers: w.bearer, payload: { password: 'nope nope nope' } });
      expect(errorCode(wrongKey)).toBe('reauthentication_required');
      const gone = await t.app.inject({ method: 'DELETE', url: `/api/v1/account/mfa/passkeys/${passkeyId}`, headers: w.bearer, payload: { password: w.password } });
      expect(gone.statusCode, gone.body).toBe(200);
      expect(await status(w)).toEqual({ enabled: false, totp: false, passkeys: 0, recoveryCodesLeft: 0 });
      const rows = await t.database.raw('SELECT 1 FROM recovery_codes WHERE account_id = $1', [w.accountId]);
      expect(rows).toHaveLength(0);
      expect((await passwordSignIn(w)).json()).toMatchObject({ status: 'signed_in' });
      expect(await actions(w.accountId)).toEqual(expect.arrayContaining(['auth.mfa.factor_removed:failure', 'auth.mfa.factor_removed:success']));
    });

    it('takes a current code instead when the account has no password', async () => {
      await awayFromStepEdge();
      const x = await signUp(t, 'nopassword');
      const { secret, recoveryCodes } = await enrolTotp(x);
      await t.database.raw('UPDATE accounts SET password_hash = NULL WHERE id = $1', [x.accountId]);
      const withPassword = await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/recovery-codes', headers: x.bearer, payload: { password: x.password } });
      expect(errorCode(withPassword)).toBe('reauthentication_required');
      const withRecovery = await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/recovery-codes', headers: x.bearer, payload: { code: recoveryCodes?.[0] } });
      expect(withRecovery.statusCode, withRecovery.body).toBe(200);
      const removed = await t.app.inject({ method: 'DELETE', url: '/api/v1/account/mfa/totp', headers: x.bearer, payload: { code: await totp(secret, 1) } });
      expect(removed.statusCode, removed.body).toBe(200);
      expect((await status(x)).enabled).toBe(false);
    });
  });
});
