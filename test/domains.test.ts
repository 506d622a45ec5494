/**
 * Verified domains and SSO enforcement. The TXT record is looked up through a real DNS server
 * (dns2, on loopback) that the `dnsServers` setting points at. With SSO enforced for a domain,
 * its accounts sign in only through the workspace's SAML connection: every other way in is
 * refused, and sessions begun another way end at once.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, sessionCookie, signUp, type Caller, type TestApp } from './helpers/app.js';
import { startTestDns, type TestDns } from './helpers/dns.js';
import { connectIdp, samlSignIn as samlSignInAt, type SpInfo } from './helpers/saml-flow.js';
import { TestIdp } from './helpers/saml-idp.js';

const PUBLIC_URL = 'https://rampart.test';

interface DomainView {
  id: string;
  domain: string;
  status: string;
  ssoEnforced: boolean;
  verification: { type: string; names: string[]; value: string };
}

describe.each(BACKENDS)('verified domains and SSO enforcement on $name', (backend) => {
  let t: TestApp;
  let dns: TestDns;
  let owner: Caller;
  let ws: string;
  const suffix = Math.random().toString(36).slice(2, 8);
  const domain = `acme-${suffix}.test`;

  const api = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, caller: Caller = owner) =>
    t.app.inject({ method, url, headers: caller.bearer, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  const code = (res: { json: <T>() => T }) => res.json<{ error: { code: string } }>().error.code;

  beforeAll(async () => {
    dns = await startTestDns();
    t = await buildTestApp(backend, { publicUrl: PUBLIC_URL, dnsServers: [dns.server] });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner)).id;
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it('refuses names that are not domains', async () => {
    for (const bad of ['localhost', '127.0.0.1', '[::1]', 'a..b.test', '-bad.test', 'x'.repeat(64) + '.test', 'under_score.test', 'tld.123']) {
      const res = await api('POST', `/api/v1/workspaces/${ws}/domains`, { domain: bad });
      expect(res.statusCode, bad).toBe(400);
      expect(code(res), bad).toBe('domain_invalid');
    }
  });

  it('stores internationalised names as punycode, and a domain once per workspace', async () => {
    const res = await api('POST', `/api/v1/workspaces/${ws}/domains`, { domain: `Bücher-${suffix}.Test.` });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<DomainView>().domain).toMatch(/^xn--/);
    expect(res.json<DomainView>().domain).toBe(new URL(`http://bücher-${suffix}.test`).hostname);
    const again = await api('POST', `/api/v1/workspaces/${ws}/domains`, { domain: `bücher-${suffix}.test` });
    expect(again.statusCode).toBe(409);
    expect(code(again)).toBe('domain_exists');
  });

  it('verifies a domain only once its TXT record is published, at the domain or at _rampart', async () => {
    const added = await api('POST', `/api/v1/workspaces/${ws}/domains`, { domain });
    expect(added.statusCode, added.body).toBe(201);
    const d = added.json<DomainView>();
    expect(d).toMatchObject({ status: 'pending', ssoEnforced: false, verification: { type: 'TXT', names: [domain, `_rampart.${domain}`] } });
    expect(d.verification.value).toMatch(/^rampart-domain-verification=[A-Za-z0-9_-]{32}$/);

    const early = await api('POST', `/api/v1/workspaces/${ws}/domains/${d.id}/verify`);
    expect(early.statusCode).toBe(400);
    expect(early.json<{ error: { code: string; details: { recordValue: string; reason: string } } }>().error).toMatchObject({
      code: 'domain_verification_failed',
      details: { recordValue: d.verification.value, reason: 'record_not_found' },
    });

    // A record with another token proves nothing.
    dns.txt.set(domain, ['v=spf1 -all', 'rampart-domain-verification=someone-elses-token-aaaaaaaaaaaaaaaa']);
    expect((await api('POST', `/api/v1/workspaces/${ws}/domains/${d.id}/verify`)).statusCode).toBe(400);

    dns.txt.set(domain, ['v=spf1 -all', d.verification.value]);
    const ok = await api('POST', `/api/v1/workspaces/${ws}/domains/${d.id}/verify`);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json<DomainView>().status).toBe('verified');
    const [row] = await t.database.raw<{ workspace_id: string }>('SELECT workspace_id FROM rampart.verified_domains WHERE domain = $1', [domain]);
    expect(row?.workspace_id).toBe(ws);

    await t.services.audit.settle();
    const events = await api('GET', `/api/v1/workspaces/${ws}/events?limit=10`);
    const actions = events.json<{ data: { action: string; outcome: string }[] }>().data.map((e) => `${e.action}:${e.outcome}`);
    expect(actions.slice(0, 4)).toEqual(['domain.verified:success', 'domain.verified:failure', 'domain.verified:failure', 'domain.added:success']);
  });

  it('a second workspace learns the domain is taken only after proving it too', async () => {
    const other = await signUp(t, 'other');
    const otherWs = (await createWorkspace(t, other, 'Other')).id;
    const added = await api('POST', `/api/v1/workspaces/${otherWs}/domains`, { domain }, other);
    expect(added.statusCode).toBe(201);
    const d = added.json<DomainView>();
    const unproven = await api('POST', `/api/v1/workspaces/${otherWs}/domains/${d.id}/verify`, undefined, other);
    expect(code(unproven)).toBe('domain_verification_failed');
    dns.txt.set(`_rampart.${domain}`, [d.verification.value]);
    const proven = await api('POST', `/api/v1/workspaces/${otherWs}/domains/${d.id}/verify`, undefined, other);
    expect(proven.statusCode).toBe(409);
    expect(code(proven)).toBe('domain_claimed');
    const [row] = await t.database.raw<{ workspace_id: string }>('SELECT workspace_id FROM rampart.verified_domains WHERE domain = $1', [domain]);
    expect(row?.workspace_id).toBe(ws);
  });

  it('another workspace cannot see or touch this workspace’s domains', async () => {
    const other = await signUp(t, 'snoop');
    const otherWs = (await createWorkspace(t, other, 'Snoop')).id;
    const [mine] = (await api('GET', `/api/v1/workspaces/${ws}/domains`)).json<{ data: DomainView[] }>().data;
    expect((await api('GET', `/api/v1/workspaces/${ws}/domains`, undefined, other)).statusCode).toBe(404);
    const res = await api('DELETE', `/api/v1/workspaces/${otherWs}/domains/${mine?.id ?? ''}`, undefined, other);
    expect(res.statusCode).toBe(404);
    expect(code(res)).toBe('domain_not_found');
  });

  describe('enforcement', () => {
    let domainId: string;
    let alice: { email: string; password: string; cookie: string };
    let idp: TestIdp;
    let sp: SpInfo;

    async function signUpAt(local: string): Promise<{ email: string; password: string; cookie: string }> {
      const email = `${local}@${domain}`;
      const password = `pw-${Math.random().toString(36).slice(2)}-long-enough`;
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password, name: local } });
      expect(res.statusCode, res.body).toBe(202);
      const verified = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: await latestLinkToken(t, email) } });
      expect(verified.statusCode, verified.body).toBe(200);
      return { email, password, cookie: sessionCookie(verified) };
    }

    const session = (cookie: string) => t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: `__Host-rampart_session=${cookie}` } });

    async function samlSignIn(email: string): Promise<string> {
      const res = await samlSignInAt(t, ws, idp, sp, email);
      expect(res.statusCode, res.body).toBe(303);
      expect(res.headers.location).toBe('/');
      return sessionCookie(res);
    }

    beforeAll(async () => {
      const [d] = (await api('GET', `/api/v1/workspaces/${ws}/domains`)).json<{ data: DomainView[] }>().data.filter((x) => x.domain === domain);
      domainId = d?.id ?? '';
      alice = await signUpAt('alice');
      idp = new TestIdp('https://idp.acme.test/metadata');
    });

    it('needs a verified domain and an enabled SAML connection', async () => {
      const [pending] = (await api('GET', `/api/v1/workspaces/${ws}/domains`)).json<{ data: DomainView[] }>().data.filter((x) => x.status === 'pending');
      const notVerified = await api('PATCH', `/api/v1/workspaces/${ws}/domains/${pending?.id ?? ''}`, { ssoEnforced: true });
      expect(code(notVerified)).toBe('domain_not_verified');
      const noConnection = await api('PATCH', `/api/v1/workspaces/${ws}/domains/${domainId}`, { ssoEnforced: true });
      expect(noConnection.statusCode).toBe(400);
      expect(code(noConnection)).toBe('sso_connection_required');
      sp = await connectIdp(t, ws, idp, 'https://idp.acme.test/sso', owner.bearer);
    });

    it('home-realm discovery names the workspace’s SSO for the domain', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sso/discover', payload: { email: `anyone@${domain.toUpperCase()}` } });
      expect(res.json()).toEqual({ sso: true, enforced: false, workspaceId: ws, loginUrl: `${PUBLIC_URL}/api/v1/sso/saml/${ws}/login` });
      const none = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sso/discover', payload: { email: 'someone@elsewhere.test' } });
      expect(none.json()).toEqual({ sso: false, enforced: false, workspaceId: null, loginUrl: null });
    });

    it('enforcing ends the sessions other methods began, and keeps the SAML ones', async () => {
      const samlCookie = await samlSignIn(alice.email);
      expect((await session(alice.cookie)).statusCode).toBe(200);
      const res = await api('PATCH', `/api/v1/workspaces/${ws}/domains/${domainId}`, { ssoEnforced: true });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<DomainView>().ssoEnforced).toBe(true);
      expect((await session(alice.cookie)).statusCode).toBe(401);
      expect((await session(samlCookie)).statusCode).toBe(200);
      // The owner's account is of another domain: untouched.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: owner.bearer })).statusCode).toBe(200);
    });

    it('refuses password sign-in and bearer tokens for the domain before any password check, and sends no email link', async () => {
      const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: alice.email, password: alice.password } });
      expect(signIn.statusCode).toBe(403);
      expect(signIn.json<{ error: { code: string; details: { workspaceId: string } } }>().error).toMatchObject({ code: 'sso_required', details: { workspaceId: ws } });
      // A wrong password gets the same answer: nothing is learnt about the password.
      const wrong = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: alice.email, password: 'wrong-password-123' } });
      expect(code(wrong)).toBe('sso_required');
      const tokens = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: alice.email, password: alice.password } });
      expect(code(tokens)).toBe('sso_required');
      // Email links answer as always (nothing tells whether the address has an account), and send nothing.
      await t.services.accounts.settle();
      const mailBefore = (await t.services.mailer.mailbox({ to: alice.email, limit: 50 })).length;
      for (const url of ['/api/v1/auth/magic-link', '/api/v1/auth/password-reset']) {
        const res = await t.app.inject({ method: 'POST', url, payload: { email: alice.email } });
        expect(res.statusCode, url).toBe(202);
      }
      await t.services.accounts.settle();
      expect((await t.services.mailer.mailbox({ to: alice.email, limit: 50 })).length).toBe(mailBefore);
      // Enumeration-safe: any address of the domain gets the same answer.
      const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: `nobody@${domain}`, password: 'whatever-password' } });
      expect(code(unknown)).toBe('sso_required');
      await t.services.audit.settle();
    });

    it('a link asked for before enforcement no longer signs in', async () => {
      // Stop enforcing, ask for a magic link, enforce again, then use it.
      expect((await api('PATCH', `/api/v1/workspaces/${ws}/domains/${domainId}`, { ssoEnforced: false })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: alice.email } })).statusCode).toBe(202);
      const token = await latestLinkToken(t, alice.email);
      expect((await api('PATCH', `/api/v1/workspaces/${ws}/domains/${domainId}`, { ssoEnforced: true })).statusCode).toBe(200);
      const used = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', payload: { token } });
      expect(used.statusCode).toBe(403);
      expect(code(used)).toBe('sso_required');
    });

    it('SAML sign-in through the workspace still works, and the connection cannot go while enforced', async () => {
      const cookie = await samlSignIn(alice.email);
      expect((await session(cookie)).statusCode).toBe(200);
      const remove = await api('DELETE', `/api/v1/workspaces/${ws}/sso/saml`);
      expect(remove.statusCode).toBe(409);
      const disable = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataXml: idp.metadata('https://idp.acme.test/sso'), enabled: false });
      expect(disable.statusCode).toBe(409);
    });

    it("asks an account with a second factor for it after SAML, and the session it opens is the workspace's SSO session", async () => {
      const cookie = await samlSignIn(alice.email);
      const me = await session(cookie);
      const csrf = me.json<{ csrfToken: string }>().csrfToken;
      const headers = { cookie: `__Host-rampart_session=${cookie}`, 'x-csrf-token': csrf };
      const started = await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/totp', headers });
      expect(started.statusCode, started.body).toBe(200);
      const { secret } = started.json<{ secret: string }>();
      const confirmed = await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/totp/confirm', headers, payload: { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) } });
      expect(confirmed.statusCode, confirmed.body).toBe(200);

      const res = await samlSignInAt(t, ws, idp, sp, alice.email);
      expect(res.statusCode).toBe(303);
      const location = res.headers.location as string;
      expect(location).toMatch(/^\/mfa#token=[^&]+&factors=totp/);
      expect(res.cookies.find((c) => c.name === '__Host-rampart_session')).toBeUndefined();
      const mfaToken = /token=([^&]+)/.exec(location)?.[1] ?? '';
      // The code of the next 30-second step, so it is not the one just used to confirm.
      const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
      const verified = await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload: { mfaToken, factor: 'totp', code } });
      expect(verified.statusCode, verified.body).toBe(200);
      const [row] = await t.database.raw<{ auth_method: string; sso_workspace_id: string; mfa: boolean }>(
        `SELECT auth_method, sso_workspace_id, mfa_at IS NOT NULL AS mfa FROM rampart.sessions WHERE id = $1`,
        [verified.json<{ session: { id: string } }>().session.id],
      );
      expect(row).toEqual({ auth_method: 'saml', sso_workspace_id: ws, mfa: true });
    });

    it('removing the domain ends its enforcement', async () => {
      const other = `other-${suffix}.test`;
      const added = (await api('POST', `/api/v1/workspaces/${ws}/domains`, { domain: other })).json<DomainView>();
      expect((await api('DELETE', `/api/v1/workspaces/${ws}/domains/${added.id}`)).statusCode).toBe(204);
      expect((await api('DELETE', `/api/v1/workspaces/${ws}/domains/${domainId}`)).statusCode).toBe(204);
      const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: alice.email, password: alice.password } });
      expect(signIn.statusCode, signIn.body).toBe(200);
    });
  });
});
