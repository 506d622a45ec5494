/**
 * Sign-in with an OpenID Connect provider, against a real OpenID Provider (`oidc-provider`) run
 * in process. The browser is played by plain HTTP requests: redirects followed by hand, cookies
 * carried per side (Rampart through `inject`, the provider through `fetch`).
 *
 * The flows (sign-in, account keyed on issuer and subject, link offers, linking while signed in,
 * MFA, unlinking) run on every backend. The attack matrix — each forged or replayed step must be
 * refused — runs on PGlite only: what it tests is the protocol checks, not the database.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { OidcService } from '../src/modules/oidc/index.js';
import { RampartError } from '../src/platform/errors.js';
import { Throttle } from '../src/platform/http/throttle.js';
import { BACKENDS, type Backend } from './helpers/backends.js';
import { buildTestApp, signUp, type TestApp } from './helpers/app.js';
import { Browser, browserOf, csrfOf, OIDC_COOKIE, PUBLIC_URL, SESSION_COOKIE } from './helpers/oidc-browser.js';
import { startMismatchedDiscovery, startTestOp, without, type IdTokenTampering, type TestOp } from './helpers/oidc-provider.js';

const CALLBACK = `${PUBLIC_URL}/api/v1/auth/oidc/callback`;
const REFUSED = '/sign-in?error=sign_in_failed';

const pglite = BACKENDS.find((b) => b.name === 'pglite') as Backend;

function unique(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}`;
}

function sessionCookieOf(res: LightMyRequestResponse) {
  return res.cookies.find((c) => c.name === SESSION_COOKIE && c.value !== '');
}

async function accountCount(t: TestApp): Promise<number> {
  const [row] = await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM accounts');
  return row?.n ?? -1;
}

async function latestEvent(t: TestApp): Promise<{ action: string; outcome: string; account_id: string | null; details: Record<string, unknown> }> {
  const [row] = await t.database.raw<{ action: string; outcome: string; account_id: string | null; details: Record<string, unknown> }>(
    'SELECT action, outcome, account_id, details FROM auth_events ORDER BY created_at DESC, id DESC LIMIT 1',
  );
  if (!row) throw new Error('no events');
  return row;
}

async function sessionAccount(t: TestApp, browser: Browser): Promise<{ id: string; email: string; emailVerified: boolean }> {
  const res = await browser.rampartRequest('GET', '/api/v1/auth/session');
  expect(res.statusCode).toBe(200);
  return res.json<{ account: { id: string; email: string; emailVerified: boolean } }>().account;
}

function appOverrides(op: TestOp) {
  return { oidcIssuer: op.issuer, oidcClientId: op.clientId, oidcClientSecret: op.clientSecret, publicUrl: PUBLIC_URL };
}

describe.each(BACKENDS)('OIDC sign-in on $name', (backend) => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    op = await startTestOp({ redirectUri: CALLBACK });
    t = await buildTestApp(backend, appOverrides(op));
    // The first account exists (through the setup link) before anyone signs up with a provider.
    await signUp(t, 'owner');
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  it('tells the console whether the provider is available, and its name', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ enabled: true, displayName: 'Google' });
  });

  it('starts with state, nonce and PKCE S256, bound to this browser by a __Host- cookie', async () => {
    const browser = new Browser(t, op);
    const res = await browser.start();
    expect(res.statusCode).toBe(302);
    const url = new URL(res.headers.location as string);
    expect(url.origin).toBe(op.issuer);
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(op.clientId);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(url.searchParams.get('scope')).toBe('openid email profile');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = res.cookies.find((c) => c.name === OIDC_COOKIE);
    expect(cookie).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 600 });
    expect(cookie?.domain).toBeUndefined();
    // The cookie holds a random binding, not the state or anything the provider sees.
    expect(res.headers.location).not.toContain(cookie?.value);
  });

  it('signs in a new identity: an account keyed on (issuer, subject), a session cookie, redirect to /', async () => {
    const sub = unique('new');
    const email = `${sub}@example.test`;
    op.users.set(sub, { email, email_verified: true, name: 'New Person' });
    const before = await accountCount(t);
    const browser = new Browser(t, op);
    const { res, callbackUrl } = await browser.signIn(sub);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/');
    expect(sessionCookieOf(res)).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    expect(browser.rampart.has(OIDC_COOKIE)).toBe(false);
    expect(callbackUrl).toContain('code=');
    expect(await accountCount(t)).toBe(before + 1);
    const account = await sessionAccount(t, browser);
    expect(account).toMatchObject({ email, emailVerified: true });
    const identities = await t.database.raw<{ account_id: string; issuer: string; subject: string }>(
      'SELECT account_id, issuer, subject FROM account_identities WHERE subject = $1',
      [sub],
    );
    expect(identities).toEqual([{ account_id: account.id, issuer: op.issuer, subject: sub }]);
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.sign_in', outcome: 'success', account_id: account.id, details: { method: 'oidc' } });
    // Nothing secret in the redirect: no code, no token in the query string.
    expect(res.headers.location).not.toContain('code');
  });

  it('creates no account when the provider does not vouch for the email', async () => {
    const sub = unique('unverified');
    const email = `${sub}@example.test`;
    op.users.set(sub, { email, email_verified: false });
    const browser = new Browser(t, op);
    const { res } = await browser.signIn(sub);
    expect(res.headers.location).toBe('/sign-in?error=sign_in_failed');
    expect(res.cookies.find((c) => c.name === '__Host-rampart_session')).toBeUndefined();
    expect(await t.services.accounts.accountByEmail(email)).toBeNull();
  });

  it('signs the same subject in to the same account after its email changed at the provider', async () => {
    const sub = unique('mover');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const first = new Browser(t, op);
    expect((await first.signIn(sub)).res.headers.location).toBe('/');
    const accountId = (await sessionAccount(t, first)).id;

    op.users.set(sub, { email: `${sub}-renamed@example.test`, email_verified: true });
    const second = new Browser(t, op);
    const before = await accountCount(t);
    expect((await second.signIn(sub)).res.headers.location).toBe('/');
    expect((await sessionAccount(t, second)).id).toBe(accountId);
    expect(await accountCount(t)).toBe(before);
    const [identity] = await t.database.raw<{ email: string }>('SELECT email FROM account_identities WHERE subject = $1', [sub]);
    expect(identity?.email).toBe(`${sub}-renamed@example.test`);
  });

  it('takes the email from UserInfo when the ID token carries none', async () => {
    const sub = unique('minimal');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true, name: 'Minimal' });
    const browser = new Browser(t, op);
    const { res } = await browser.signIn(sub, { tamper: { claims: (c) => without(c, 'email', 'email_verified', 'name') } });
    expect(res.headers.location).toBe('/');
    expect(await sessionAccount(t, browser)).toMatchObject({ email: `${sub}@example.test`, emailVerified: true });
  });

  it('refuses a callback without the flow cookie, and a replayed callback', async () => {
    const sub = unique('replay');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });

    const noCookie = new Browser(t, op);
    const before = await accountCount(t);
    const { res: refused } = await noCookie.signIn(sub, {
      beforeCallback: (url, browser) => {
        browser.rampart.delete(OIDC_COOKIE);
        return url;
      },
    });
    expect(refused.headers.location).toBe(REFUSED);
    expect(sessionCookieOf(refused)).toBeUndefined();
    expect(await accountCount(t)).toBe(before);
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'no_flow_cookie' } });

    const browser = new Browser(t, op);
    let flowCookie = '';
    const { res, callbackUrl } = await browser.signIn(sub, {
      beforeCallback: (url, b) => {
        flowCookie = b.rampart.get(OIDC_COOKIE) as string;
        return url;
      },
    });
    expect(res.headers.location).toBe('/');
    // The same code and state again, with the same flow cookie: the flow is spent.
    const replay = new Browser(t, op);
    replay.rampart.set(OIDC_COOKIE, flowCookie);
    const again = await replay.callback(callbackUrl);
    expect(again.headers.location).toBe(REFUSED);
    expect(sessionCookieOf(again)).toBeUndefined();
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'no_live_flow' } });
  });

  it('offers a link to an existing account when the provider verified its email; the account accepts while signed in', async () => {
    const carol = await signUp(t, 'carol');
    const mallory = await signUp(t, 'mallory');
    const sub = unique('carol-google');
    op.users.set(sub, { email: carol.email, email_verified: true, name: 'Carol' });

    const browser = new Browser(t, op);
    const before = await accountCount(t);
    const { res } = await browser.signIn(sub);
    expect(res.headers.location).toMatch(/^\/link#token=rlo_[A-Za-z0-9_-]{43}$/);
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await accountCount(t)).toBe(before);
    const token = (res.headers.location as string).split('#token=')[1] as string;
    const binding = browser.rampart.get(OIDC_COOKIE);
    expect(binding).toBeDefined();

    // Carol signs in by her own means in this browser; mallory, signed in elsewhere, cannot take the offer.
    const asMallory = browserOf(t, op, mallory);
    asMallory.rampart.set(OIDC_COOKIE, binding as string);
    const stolen = await asMallory.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers: await csrfOf(asMallory), payload: { token } });
    expect(stolen.statusCode).toBe(403);

    const asCarol = browserOf(t, op, carol);
    const elsewhere = await asCarol.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers: await csrfOf(asCarol), payload: { token } });
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json().error.code).toBe('link_other_browser');

    asCarol.rampart.set(OIDC_COOKIE, binding as string);
    const accepted = await asCarol.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers: await csrfOf(asCarol), payload: { token } });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json().identity).toMatchObject({ issuer: op.issuer, subject: sub, email: carol.email });
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.identity_linked', outcome: 'success', account_id: carol.accountId });

    const reused = await asCarol.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers: await csrfOf(asCarol), payload: { token } });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().error.code).toBe('invalid_link');

    // From now on, signing in with the provider lands in carol's account.
    const later = new Browser(t, op);
    expect((await later.signIn(sub)).res.headers.location).toBe('/');
    expect((await sessionAccount(t, later)).id).toBe(carol.accountId);
  });

  it('refuses an identity whose unverified email belongs to an existing account', async () => {
    const dan = await signUp(t, 'dan');
    const sub = unique('dan-lookalike');
    op.users.set(sub, { email: dan.email, email_verified: false });
    const before = await accountCount(t);
    const browser = new Browser(t, op);
    const { res } = await browser.signIn(sub);
    expect(res.headers.location).toBe(REFUSED);
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(await accountCount(t)).toBe(before);
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'email_unverified' } });
    const linked = await t.database.raw('SELECT 1 FROM account_identities WHERE subject = $1', [sub]);
    expect(linked).toHaveLength(0);
  });

  it('asks an account with a second factor for it: /mfa#token=…, no session cookie', async () => {
    const sub = unique('mfa');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const first = new Browser(t, op);
    expect((await first.signIn(sub)).res.headers.location).toBe('/');
    const accountId = (await sessionAccount(t, first)).id;

    t.services.accounts.setMfaProvider({ factors: async (_tx, id) => (id === accountId ? ['totp'] : []) });
    try {
      const browser = new Browser(t, op);
      const { res } = await browser.signIn(sub);
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toMatch(/^\/mfa#token=rmf_[A-Za-z0-9_-]{43}&factors=totp$/);
      expect(sessionCookieOf(res)).toBeUndefined();
      expect(browser.rampart.has(SESSION_COOKIE)).toBe(false);
      expect(await latestEvent(t)).toMatchObject({ action: 'auth.mfa_challenge', outcome: 'success', account_id: accountId, details: { method: 'oidc' } });
    } finally {
      t.services.accounts.setMfaProvider({ factors: async () => [] });
    }
  });

  it('links an identity to the signed-in account, refuses one linked elsewhere, and unlinks', async () => {
    const erin = await signUp(t, 'erin');
    const frank = await signUp(t, 'frank');
    const sub = unique('erin-google');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });

    const asErin = browserOf(t, op, erin);
    const started = await asErin.rampartRequest('POST', '/api/v1/auth/oidc/link/start', { headers: await csrfOf(asErin) });
    expect(started.statusCode).toBe(200);
    expect(asErin.rampart.has(OIDC_COOKIE)).toBe(true);
    op.loginAs(sub);
    const linked = await asErin.callback(await asErin.throughProvider(started.json<{ url: string }>().url));
    expect(linked.headers.location).toBe('/settings?linked=oidc');
    const list = await asErin.rampartRequest('GET', '/api/v1/auth/oidc/identities');
    expect(list.statusCode).toBe(200);
    const [identity] = list.json<{ data: { id: string; issuer: string; subject: string }[] }>().data;
    expect(identity).toMatchObject({ issuer: op.issuer, subject: sub });

    // The same identity, linked from another account: refused.
    const asFrank = browserOf(t, op, frank);
    const startedFrank = await asFrank.rampartRequest('POST', '/api/v1/auth/oidc/link/start', { headers: await csrfOf(asFrank) });
    op.loginAs(sub);
    const refused = await asFrank.callback(await asFrank.throughProvider(startedFrank.json<{ url: string }>().url));
    expect(refused.headers.location).toBe('/settings?error=identity_in_use');
    expect((await asFrank.rampartRequest('GET', '/api/v1/auth/oidc/identities')).json().data).toEqual([]);

    // Signing in with the provider now lands in erin's account.
    const later = new Browser(t, op);
    expect((await later.signIn(sub)).res.headers.location).toBe('/');
    expect((await sessionAccount(t, later)).id).toBe(erin.accountId);

    // Erin has a password, so the identity can go; frank cannot remove what is not his.
    const notHis = await asFrank.rampartRequest('DELETE', `/api/v1/auth/oidc/identities/${identity?.id}`, { headers: await csrfOf(asFrank) });
    expect(notHis.statusCode).toBe(404);
    const removed = await asErin.rampartRequest('DELETE', `/api/v1/auth/oidc/identities/${identity?.id}`, { headers: await csrfOf(asErin) });
    expect(removed.statusCode).toBe(204);
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.identity_unlinked', outcome: 'success', account_id: erin.accountId });
    expect((await asErin.rampartRequest('GET', '/api/v1/auth/oidc/identities')).json().data).toEqual([]);
  });

  it('refuses to unlink the only way into an account without a password', async () => {
    const sub = unique('only-way');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const browser = new Browser(t, op);
    expect((await browser.signIn(sub)).res.headers.location).toBe('/');
    const [identity] = (await browser.rampartRequest('GET', '/api/v1/auth/oidc/identities')).json<{ data: { id: string }[] }>().data;
    const res = await browser.rampartRequest('DELETE', `/api/v1/auth/oidc/identities/${identity?.id}`, { headers: await csrfOf(browser) });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('conflict');
  });

  it('requires a signed-in account to link or list identities', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/link/start' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/identities' })).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/oidc/link/accept', payload: { token: 'rlo_aaaaaaaaaaaaaaaaaaaa' } })).statusCode).toBe(401);
  });
});

describe('OIDC attack matrix, on PGlite only (protocol checks, not storage)', () => {
  let op: TestOp;
  let t: TestApp;

  beforeAll(async () => {
    op = await startTestOp({ redirectUri: CALLBACK });
    t = await buildTestApp(pglite, appOverrides(op));
    await signUp(t, 'owner');
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);

  /** Signs in as a brand-new subject with one step forged; it must end refused, leaving nothing behind. */
  async function expectRefused(
    reason: string,
    options: { tamper?: IdTokenTampering; beforeCallback?: (url: URL, browser: Browser) => URL },
  ): Promise<void> {
    const sub = unique('victim');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const before = await accountCount(t);
    const tamperedBefore = op.tampered;
    const browser = new Browser(t, op);
    const { res } = await browser.signIn(sub, options);
    if (options.tamper) expect(op.tampered).toBe(tamperedBefore + 1);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(REFUSED);
    expect(sessionCookieOf(res)).toBeUndefined();
    expect(browser.rampart.has(SESSION_COOKIE)).toBe(false);
    expect(await accountCount(t)).toBe(before);
    expect(await t.database.raw('SELECT 1 FROM account_identities WHERE subject = $1', [sub])).toHaveLength(0);
    expect(await latestEvent(t)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', account_id: null, details: { method: 'oidc', reason } });
  }

  it('control: the same untampered flow signs in', async () => {
    const sub = unique('control');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const { res } = await new Browser(t, op).signIn(sub, { tamper: {} });
    expect(res.headers.location).toBe('/');
  });

  const tokenCases: [string, string, IdTokenTampering][] = [
    ['wrong issuer', 'token_rejected', { claims: (c) => ({ ...c, iss: 'https://evil.example' }) }],
    ['wrong audience', 'token_rejected', { claims: (c) => ({ ...c, aud: 'someone-else' }) }],
    ['missing audience', 'token_rejected', { claims: (c) => without(c, 'aud') }],
    ['an expired token', 'token_rejected', { claims: (c) => ({ ...c, exp: now() - 120 }) }],
    ['missing exp', 'token_rejected', { claims: (c) => without(c, 'exp') }],
    ['iat a week in the past', 'iat_too_old', { claims: (c) => ({ ...c, iat: now() - 7 * 24 * 3600 }) }],
    ['missing sub', 'token_rejected', { claims: (c) => without(c, 'sub') }],
    ['wrong nonce', 'token_rejected', { claims: (c) => ({ ...c, nonce: 'not-the-nonce-that-was-sent' }) }],
    ['missing nonce', 'token_rejected', { claims: (c) => without(c, 'nonce') }],
    ['alg: none', 'token_rejected', { signer: 'none' }],
    ['a bad signature (a key the provider does not publish, under its kid)', 'token_rejected', { signer: 'foreign_key' }],
    ['an unknown kid among several published keys', 'token_rejected', { signer: 'unknown_kid' }],
    // oidc-provider always issues `aud: <client id>` alone: these are its real tokens with the claims
    // changed, re-signed with its own key and served by its token endpoint.
    ['an audience the client does not trust beside its own, azp the client (re-signed with the OP key at its token endpoint)', 'untrusted_audience', { claims: (c) => ({ ...c, aud: [c['aud'], 'another-client'], azp: c['aud'] }) }],
    ['azp naming another client (re-signed with the OP key at its token endpoint)', 'azp_mismatch', { claims: (c) => ({ ...c, azp: 'another-client' }) }],
    ['azp naming another client, aud an array of the client alone (re-signed with the OP key at its token endpoint)', 'azp_mismatch', { claims: (c) => ({ ...c, aud: [c['aud']], azp: 'another-client' }) }],
  ];

  it.each(tokenCases)('refuses an ID token with %s', async (_name, reason, tamper) => {
    expect(op.publishedKids.length).toBeGreaterThan(1);
    await expectRefused(reason, { tamper });
  });

  describe('with an additional audience trusted (oidcTrustedAudiences)', () => {
    const API = 'https://api.example.test';
    let trusting: TestApp;

    beforeAll(async () => {
      trusting = await buildTestApp(pglite, { ...appOverrides(op), oidcTrustedAudiences: [API] });
      await signUp(trusting, 'owner');
    });
    afterAll(async () => {
      await trusting?.close();
    });

    /** Signs in a new subject whose ID token (re-signed with the OP key at its token endpoint) names `aud` and `azp`. */
    async function signInWithAudiences(aud: (client: unknown) => unknown[], azp: 'client' | 'absent') {
      const sub = unique('audiences');
      op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
      const { res } = await new Browser(trusting, op).signIn(sub, {
        tamper: { claims: (c) => (azp === 'client' ? { ...c, aud: aud(c['aud']), azp: c['aud'] } : without({ ...c, aud: aud(c['aud']) }, 'azp')) },
      });
      return res;
    }

    it('signs in with the client and the trusted audience, azp the client (re-signed with the OP key at its token endpoint)', async () => {
      expect((await signInWithAudiences((client) => [client, API], 'client')).headers.location).toBe('/');
    });

    it('reads OIDC_TRUSTED_AUDIENCES as a comma-separated list, none by default', () => {
      expect(loadConfig({ env: { OIDC_TRUSTED_AUDIENCES: ` ${API}, another-api ,` } }).oidcTrustedAudiences).toEqual([API, 'another-api']);
      expect(loadConfig({ env: {} }).oidcTrustedAudiences).toEqual([]);
    });

    it('still refuses any audience beyond the trusted ones, and several audiences without azp', async () => {
      expect((await signInWithAudiences((client) => [client, API, 'another-client'], 'client')).headers.location).toBe(REFUSED);
      expect(await latestEvent(trusting)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'untrusted_audience' } });
      expect((await signInWithAudiences((client) => [client, API], 'absent')).headers.location).toBe(REFUSED);
      expect(await latestEvent(trusting)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'token_rejected' } });
    });
  });

  it('refuses a wrong state', async () => {
    await expectRefused('state_mismatch', {
      beforeCallback: (url) => {
        url.searchParams.set('state', randomBytes(32).toString('base64url'));
        return url;
      },
    });
  });

  it('refuses a missing state', async () => {
    await expectRefused('state_missing', {
      beforeCallback: (url) => {
        url.searchParams.delete('state');
        return url;
      },
    });
  });

  it('refuses a provider whose discovery document names another issuer', async () => {
    const fake = await startMismatchedDiscovery(op);
    const other = await buildTestApp(pglite, { ...appOverrides(op), oidcIssuer: fake.issuer });
    try {
      await signUp(other, 'owner');
      const before = await accountCount(other);
      const res = await other.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/start' });
      expect(res.statusCode).toBe(302);
      expect(res.headers.location).toBe(REFUSED);
      expect(res.cookies.find((c) => c.name === OIDC_COOKIE)).toBeUndefined();
      expect(await accountCount(other)).toBe(before);
      expect(await latestEvent(other)).toMatchObject({ action: 'auth.sign_in', outcome: 'failure', details: { method: 'oidc', reason: 'discovery_failed' } });
      expect(other.logs.some((l) => l.includes('OIDC') && l.includes('discovery'))).toBe(true);
    } finally {
      await other.close();
      await fake.close();
    }
  });

  it('never logs a code or a token', async () => {
    const sub = unique('logs');
    op.users.set(sub, { email: `${sub}@example.test`, email_verified: true });
    const { callbackUrl } = await new Browser(t, op).signIn(sub, { tamper: { signer: 'none' } });
    const code = new URL(callbackUrl).searchParams.get('code') as string;
    expect(code.length).toBeGreaterThan(10);
    expect(t.logs.some((l) => l.includes('OIDC callback refused'))).toBe(true);
    expect(t.logs.some((l) => l.includes(code))).toBe(false);
    expect(t.logs.some((l) => /eyJ[A-Za-z0-9_-]{10,}\./.test(l))).toBe(false);
  });

  it('limits starts and callbacks per IP when given the throttle', async () => {
    const throttle = Throttle.create({ keyPrefix: unique('oidc'), limits: { ip: { points: 2, durationSeconds: 60 } } });
    const oidc = new OidcService({ db: t.database.db, config: t.config, accounts: t.services.accounts, events: t.services.events, throttle });
    const meta = { ip: '203.0.113.9', userAgent: null, requestId: null };
    try {
      await oidc.start('sign_in', null, meta);
      await oidc.start('sign_in', null, meta);
      await expect(oidc.start('sign_in', null, meta)).rejects.toMatchObject({ code: 'rate_limited' });
      expect(await oidc.callback(randomBytes(32).toString('base64url'), 'code=a&state=b', meta)).toMatchObject({ kind: 'failed', code: 'rate_limited' });
      // Another address is not affected.
      await oidc.start('sign_in', null, { ...meta, ip: '203.0.113.10' });
    } finally {
      await throttle.close();
    }
  });

  it('requires https of any issuer that is not on a loopback address', async () => {
    const oidc = new OidcService({
      db: t.database.db,
      config: { ...t.config, oidcIssuer: 'http://idp.example.com' },
      accounts: t.services.accounts,
      events: t.services.events,
    });
    expect(oidc.enabled()).toBe(true);
    expect(oidc.redirectUri()).toBe(CALLBACK);
    const err = await oidc.configuration().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RampartError);
    expect(err).toMatchObject({ code: 'sign_in_failed' });
    expect((err as RampartError).internal).toContain('https is required');
  });

  it('answers provider_not_configured when no provider is set', async () => {
    const bare = await buildTestApp(pglite, { publicUrl: PUBLIC_URL });
    try {
      expect((await bare.app.inject({ method: 'GET', url: '/api/v1/auth/oidc' })).json()).toEqual({ enabled: false, displayName: 'Google' });
      const res = await bare.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/start' });
      expect(res.headers.location).toBe('/sign-in?error=provider_not_configured');
      const cb = await bare.app.inject({ method: 'GET', url: '/api/v1/auth/oidc/callback?code=x&state=y' });
      expect(cb.headers.location).toBe('/sign-in?error=provider_not_configured');
    } finally {
      await bare.close();
    }
  });
});
