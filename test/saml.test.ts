/**
 * SAML single sign-on against responses built by samlify acting as the IdP (a SAML library
 * independent of the one Rampart verifies with). Each attack the SAML libraries keep being broken
 * by is built here and must be refused — with nothing signed in, nothing created, and the reason
 * in the workspace's SSO log — while valid responses sign in.
 *
 * Runs on every backend, with a real DNS server (dns2) for the domain proof.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { startTestDns, type TestDns } from './helpers/dns.js';
import { connectIdp, postSaml, SAML_COOKIE_PREFIX, SamlBrowser, samlSignIn, startSaml, verifyDomain, type SpInfo, type StartedSaml } from './helpers/saml-flow.js';
import { base64, keyPair, newSamlId, RSA_SHA1, TestIdp, type ResponseOptions } from './helpers/saml-idp.js';

const PUBLIC_URL = 'https://rampart.test';

/** The binding cookie of a pending sign-in: the prefix and the first 16 hex digits of its request id's SHA-256. */
function bindingCookieName(requestId: string): string {
  return `${SAML_COOKIE_PREFIX}_${createHash('sha256').update(requestId).digest('hex').slice(0, 16)}`;
}

describe.each(BACKENDS)('SAML sign-in on $name', (backend) => {
  let t: TestApp;
  let dns: TestDns;
  let owner: Caller;
  let ws: string;
  let sp: SpInfo;
  let idp: TestIdp;
  const domain = `corp-${Math.random().toString(36).slice(2, 8)}.test`;
  const ssoUrl = 'https://idp.example.test/sso';

  async function api(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, caller: Caller = owner) {
    return t.app.inject({ method, url, headers: caller.bearer, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  }

  async function start(workspaceId = ws) {
    const started = await startSaml(t, workspaceId);
    expect(started.response.statusCode, started.response.body).toBe(302);
    expect(started.location.startsWith(`${ssoUrl}?`)).toBe(true);
    const cookie = started.response.cookies.find((c) => c.name.startsWith(SAML_COOKIE_PREFIX));
    // One cookie per pending sign-in, named by its request id; SameSite=None: the IdP's POST is cross-site.
    expect(cookie).toMatchObject({ name: bindingCookieName(started.requestId), sameSite: 'None', secure: true, httpOnly: true, path: '/', maxAge: 300 });
    expect(cookie?.domain).toBeUndefined();
    return started;
  }

  const post = (samlResponse: string, binding: string | null, workspaceId = ws) => postSaml(t, workspaceId, samlResponse, binding);

  /** Starts a sign-in and posts the response the IdP built for it. */
  async function signInWith(build: (requestId: string) => string): Promise<LightMyRequestResponse> {
    const started = await start();
    return post(base64(build(started.requestId)), started.binding);
  }

  function valid(nameId: string, requestId: string, extra: Partial<ResponseOptions> = {}): string {
    return idp.response(sp, { nameId, inResponseTo: requestId, ...extra });
  }

  async function latestAttempt(workspaceId = ws): Promise<{ outcome: string; reason: string | null }> {
    await t.services.audit.settle();
    const res = await api('GET', `/api/v1/workspaces/${workspaceId}/sso/attempts?limit=1`);
    expect(res.statusCode, res.body).toBe(200);
    const [latest] = res.json<{ data: { outcome: string; reason: string | null }[] }>().data;
    return { outcome: latest?.outcome ?? 'none', reason: latest?.reason ?? null };
  }

  async function counts(): Promise<{ accounts: number; sessions: number; identities: number; members: number }> {
    const [row] = await t.database.raw<{ accounts: number; sessions: number; identities: number; members: number }>(
      `SELECT (SELECT count(*)::int FROM rampart.accounts) AS accounts, (SELECT count(*)::int FROM rampart.sessions) AS sessions,
              (SELECT count(*)::int FROM rampart.sso_identities) AS identities, (SELECT count(*)::int FROM rampart.memberships) AS members`,
    );
    return row as { accounts: number; sessions: number; identities: number; members: number };
  }

  async function expectSignedIn(res: LightMyRequestResponse, email: string, workspaceId = ws): Promise<string> {
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/');
    const session = res.cookies.find((c) => c.name === '__Host-rampart_session');
    expect(session).toBeDefined();
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: `__Host-rampart_session=${session?.value ?? ''}` } });
    expect(me.statusCode, me.body).toBe(200);
    expect(me.json<{ account: { email: string } }>().account.email).toBe(email);
    expect((await latestAttempt(workspaceId)).outcome).toBe('success');
    return session?.value ?? '';
  }

  /** Refused: back to sign-in with a vague code, no session, nothing created, the reason logged. */
  async function expectRefused(send: () => Promise<LightMyRequestResponse>, reason: string, code = 'sign_in_failed'): Promise<LightMyRequestResponse> {
    const before = await counts();
    const res = await send();
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe(`/sign-in?error=${code}`);
    expect(res.cookies.find((c) => c.name === '__Host-rampart_session')).toBeUndefined();
    expect(await counts()).toEqual(before);
    expect(await latestAttempt()).toEqual({ outcome: 'failure', reason });
    return res;
  }

  beforeAll(async () => {
    dns = await startTestDns();
    t = await buildTestApp(backend, { publicUrl: PUBLIC_URL, dnsServers: [dns.server] });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner)).id;
    await verifyDomain(t, dns, ws, domain, owner.bearer);
    idp = new TestIdp('https://idp.example.test/metadata');
    sp = await connectIdp(t, ws, idp, ssoUrl, owner.bearer, { attributes: { groups: 'groups' } });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it('publishes per-workspace SP metadata with its entity id and ACS URL', async () => {
    expect(sp.entityId).toBe(`${PUBLIC_URL}/api/v1/sso/saml/${ws}/metadata`);
    expect(sp.acsUrl).toBe(`${PUBLIC_URL}/api/v1/sso/saml/${ws}/acs`);
    const res = await t.app.inject({ method: 'GET', url: `/api/v1/sso/saml/${ws}/metadata` });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/samlmetadata+xml');
    expect(res.body).toContain(`entityID="${sp.entityId}"`);
    expect(res.body).toContain(`Location="${sp.acsUrl}"`);
  });

  it('reads the connection from the IdP metadata samlify wrote', async () => {
    const res = await api('GET', `/api/v1/workspaces/${ws}/sso/saml`);
    const c = res.json<{ connection: { idpEntityId: string; ssoUrl: string; certificates: unknown[]; clockSkewSeconds: number; allowIdpInitiated: boolean } }>().connection;
    expect(c).toMatchObject({ idpEntityId: idp.entityId, ssoUrl, clockSkewSeconds: 120, allowIdpInitiated: false });
    expect(c.certificates).toHaveLength(1);
  });

  it('a valid SP-initiated response signs in, provisioning the account just in time', async () => {
    const email = `new.person@${domain}`;
    const before = await counts();
    await expectSignedIn(await signInWith((id) => valid(email, id)), email);
    const after = await counts();
    expect(after.accounts).toBe(before.accounts + 1);
    expect(after.identities).toBe(before.identities + 1);
    expect(after.members).toBe(before.members + 1);
    const [session] = await t.database.raw<{ auth_method: string; sso_workspace_id: string }>(
      `SELECT s.auth_method, s.sso_workspace_id FROM rampart.sessions s JOIN rampart.accounts a ON a.id = s.account_id WHERE a.email = $1`,
      [email],
    );
    expect(session).toEqual({ auth_method: 'saml', sso_workspace_id: ws });
  });

  it('a response signed as a whole (assertion unsigned) signs in too', async () => {
    const email = `whole.response@${domain}`;
    await expectSignedIn(await signInWith((id) => valid(email, id, { sign: 'response' })), email);
  });

  it('the same NameID signs in to the same account the next time', async () => {
    const email = `again@${domain}`;
    await expectSignedIn(await signInWith((id) => valid(email, id)), email);
    const before = await counts();
    await expectSignedIn(await signInWith((id) => valid(email, id)), email);
    const after = await counts();
    expect({ accounts: after.accounts, identities: after.identities }).toEqual({ accounts: before.accounts, identities: before.identities });
  });

  it('reads an email NameID case-blind, and refuses one that is no address', async () => {
    await expectSignedIn(await signInWith((id) => valid(`Mixed.Case@${domain.toUpperCase()}`, id)), `mixed.case@${domain}`);
    for (const nameId of ['not-an-email', `two@@${domain}`, `spaced out@${domain}`, `dotless@${domain.replace(/\./g, '')}`]) {
      await expectRefused(() => signInWith((id) => valid(nameId, id)), 'email_missing');
    }
  });

  it('refuses a response with nothing signed', async () => {
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { sign: 'none' })), 'unsigned');
  });

  it('refuses a response re-signed with another key whose certificate sits in KeyInfo', async () => {
    const forger = keyPair('forger');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { keys: forger })), 'invalid_signature');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { keys: forger, sign: 'response' })), 'invalid_signature');
  });

  it('refuses a SHA-1 signature', async () => {
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { signatureAlgorithm: RSA_SHA1 })), 'weak_signature_algorithm');
  });

  it('refuses a response where only an Advice assertion is signed', async () => {
    await expectRefused(
      () =>
        signInWith((id) => {
          const signed = valid(`victim@${domain}`, id);
          const signedAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)?.[0] ?? '';
          // An unsigned assertion for the attacker's choice, carrying the signed one as Advice.
          const outer = idp.unsignedResponse(sp, { nameId: `ceo@${domain}`, inResponseTo: id });
          return outer.replace('</saml:Conditions>', `</saml:Conditions><saml:Advice>${signedAssertion}</saml:Advice>`);
        }),
      'multiple_assertions',
    );
  });

  it('refuses an unsigned assertion inserted beside the signed one', async () => {
    await expectRefused(
      () =>
        signInWith((id) => {
          const signed = valid(`attacker@${domain}`, id);
          const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(idp.unsignedResponse(sp, { nameId: `ceo@${domain}`, inResponseTo: id }))?.[0] ?? '';
          return signed.replace('<saml:Assertion', `${evil}<saml:Assertion`);
        }),
      'multiple_assertions',
    );
  });

  it('refuses an unsigned assertion inserted inside the signed one', async () => {
    await expectRefused(
      () =>
        signInWith((id) => {
          const signed = valid(`attacker@${domain}`, id);
          const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(idp.unsignedResponse(sp, { nameId: `ceo@${domain}`, inResponseTo: id }))?.[0] ?? '';
          return signed.replace('</saml:Subject>', `</saml:Subject>${evil}`);
        }),
      'multiple_assertions',
    );
  });

  it('refuses the signed assertion moved into Extensions with an unsigned one in its place', async () => {
    await expectRefused(
      () =>
        signInWith((id) => {
          const signed = valid(`attacker@${domain}`, id);
          const signedAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)?.[0] ?? '';
          const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(idp.unsignedResponse(sp, { nameId: `ceo@${domain}`, inResponseTo: id }))?.[0] ?? '';
          return signed.replace(signedAssertion, `${evil}`).replace('<samlp:Status>', `<samlp:Extensions>${signedAssertion}</samlp:Extensions><samlp:Status>`);
        }),
      'multiple_assertions',
    );
  });

  it('refuses a NameID altered after signing', async () => {
    await expectRefused(() => signInWith((id) => valid(`attacker@${domain}`, id).replace(`attacker@${domain}`, `ceo@${domain}`)), 'invalid_signature');
  });

  it('refuses a comment injected into the NameID, and never reads it truncated', async () => {
    // The IdP signed the attacker's own address admin@<domain>.evil.test; the comment is
    // outside canonicalization, so the signature still verifies.
    const attacker = `admin@${domain}.evil.test`;
    await expectRefused(() => signInWith((id) => valid(attacker, id).replace(`admin@${domain}.evil.test`, `admin@${domain}<!---->.evil.test`)), 'name_id_not_plain_text');
    const [row] = await t.database.raw<{ n: number }>(`SELECT count(*)::int AS n FROM rampart.accounts WHERE email = $1`, [`admin@${domain}`]);
    expect(row?.n).toBe(0);
  });

  it('refuses an expired and a not-yet-valid assertion, and accepts one within the clock skew', async () => {
    const now = Date.now();
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { notBefore: new Date(now - 600_000), notOnOrAfter: new Date(now - 180_000) })), 'expired');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { notBefore: new Date(now + 300_000), notOnOrAfter: new Date(now + 600_000) })), 'not_yet_valid');
    const email = `skewed@${domain}`;
    await expectSignedIn(await signInWith((id) => valid(email, id, { notBefore: new Date(now + 60_000), notOnOrAfter: new Date(now + 600_000) })), email);
  });

  it('refuses a wrong Audience, Recipient, Destination or Issuer', async () => {
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { audience: 'https://other-sp.test/metadata' })), 'audience_mismatch');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { recipient: 'https://other-sp.test/acs' })), 'recipient_mismatch');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { destination: 'https://other-sp.test/acs' })), 'destination_mismatch');
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { issuer: 'https://other-idp.test' })), 'issuer_mismatch');
  });

  it("refuses the ACS URL of another workspace as Recipient", async () => {
    const other = (await createWorkspace(t, owner, 'Other')).id;
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { recipient: `${PUBLIC_URL}/api/v1/sso/saml/${other}/acs` })), 'recipient_mismatch');
  });

  it('refuses a missing (IdP-initiated, off) or unknown InResponseTo, and a request used twice', async () => {
    await expectRefused(() => post(base64(idp.response(sp, { nameId: `a@${domain}`, inResponseTo: null })), null), 'unsolicited_response');
    const started = await start();
    await expectRefused(() => post(base64(valid(`a@${domain}`, newSamlId())), started.binding), 'unknown_in_response_to');
    const email = `once@${domain}`;
    const again = await start();
    const response = base64(valid(email, again.requestId));
    await expectSignedIn(await post(response, again.binding), email);
    await expectRefused(() => post(base64(valid(email, again.requestId)), again.binding), 'unknown_in_response_to');
  });

  it('refuses a response brought back to another browser than the one that started', async () => {
    const started = await start();
    await expectRefused(() => post(base64(valid(`a@${domain}`, started.requestId)), null), 'other_browser');
  });

  describe('several pending sign-ins in one browser', () => {
    /** A SAML sign-in this browser started: its request, and the response the IdP signed for it. */
    async function pending(browser: SamlBrowser, nameId: string, workspaceId = ws, server: { idp: TestIdp; sp: SpInfo } = { idp, sp }): Promise<StartedSaml & { response64: string }> {
      const started = await browser.start(workspaceId);
      expect(started.response.statusCode, started.response.body).toBe(302);
      return { ...started, response64: base64(server.idp.response(server.sp, { nameId, inResponseTo: started.requestId })) };
    }

    it('each completes, in either order, in one workspace (two tabs) and in two', async () => {
      const browser = new SamlBrowser(t);
      const first = await pending(browser, `tab.one@${domain}`);
      const second = await pending(browser, `tab.two@${domain}`);
      expect(browser.bindings().sort()).toEqual([bindingCookieName(first.requestId), bindingCookieName(second.requestId)].sort());
      // The later one first: the earlier one's binding is still there afterwards.
      await expectSignedIn(await browser.post(ws, second.response64), `tab.two@${domain}`);
      expect(browser.bindings()).toEqual([bindingCookieName(first.requestId)]);
      await expectSignedIn(await browser.post(ws, first.response64), `tab.one@${domain}`);
      expect(browser.bindings()).toEqual([]);

      // Another workspace, with its own IdP and domain, pending beside this one; the earlier one first.
      const otherDomain = `other-${Math.random().toString(36).slice(2, 8)}.test`;
      const other = (await createWorkspace(t, owner, 'Second SSO')).id;
      await verifyDomain(t, dns, other, otherDomain, owner.bearer);
      const otherIdp = new TestIdp('https://idp.second.test/metadata');
      const otherSp = await connectIdp(t, other, otherIdp, 'https://idp.second.test/sso', owner.bearer);
      const here = await pending(browser, `here@${domain}`);
      const there = await pending(browser, `there@${otherDomain}`, other, { idp: otherIdp, sp: otherSp });
      await expectSignedIn(await browser.post(ws, here.response64), `here@${domain}`);
      expect(browser.bindings()).toEqual([bindingCookieName(there.requestId)]);
      await expectSignedIn(await browser.post(other, there.response64), `there@${otherDomain}`, other);
      expect(browser.bindings()).toEqual([]);
    });

    it('a junk response, a forged one, or another browser’s response posted in between clears and uses nothing', async () => {
      const victim = new SamlBrowser(t);
      const someoneElse = new SamlBrowser(t);
      const mine = await pending(victim, `victim@${domain}`);
      const theirs = await pending(someoneElse, `someone.else@${domain}`);
      const held = victim.jar.header();
      const unchanged = (res: LightMyRequestResponse) => {
        expect(res.cookies).toEqual([]);
        expect(victim.jar.header()).toBe(held);
      };

      // What a cross-site page can auto-post to the ACS in the victim's browser.
      unchanged(await expectRefused(() => victim.post(ws, 'bm90IFNBTUw='), 'malformed_xml'));
      unchanged(await expectRefused(() => victim.post(ws, base64(valid(`victim@${domain}`, mine.requestId, { keys: keyPair('forger') }))), 'invalid_signature'));
      // A genuine response to a request another browser started.
      unchanged(await expectRefused(() => victim.post(ws, theirs.response64), 'other_browser'));

      // Both genuine sign-ins still complete, each in its own browser.
      await expectSignedIn(await victim.post(ws, mine.response64), `victim@${domain}`);
      await expectSignedIn(await someoneElse.post(ws, theirs.response64), `someone.else@${domain}`);
    });

    it('a response replayed in the browser after it completed is refused, and the other pending sign-in still completes', async () => {
      const browser = new SamlBrowser(t);
      const done = await pending(browser, `replayed@${domain}`);
      const waiting = await pending(browser, `waiting@${domain}`);
      await expectSignedIn(await browser.post(ws, done.response64), `replayed@${domain}`);
      const replay = await expectRefused(() => browser.post(ws, done.response64), 'unknown_in_response_to');
      expect(replay.cookies).toEqual([]);
      expect(browser.bindings()).toEqual([bindingCookieName(waiting.requestId)]);
      await expectSignedIn(await browser.post(ws, waiting.response64), `waiting@${domain}`);
    });

    it('holds at most eight: a ninth start drops the others, and itself completes', async () => {
      const browser = new SamlBrowser(t);
      const started: StartedSaml[] = [];
      for (let i = 0; i < 8; i += 1) started.push(await browser.start(ws));
      expect(browser.bindings()).toHaveLength(8);
      const ninth = await pending(browser, `ninth@${domain}`);
      expect(browser.bindings()).toEqual([bindingCookieName(ninth.requestId)]);
      await expectRefused(() => browser.post(ws, base64(valid(`first@${domain}`, started[0]?.requestId ?? ''))), 'other_browser');
      await expectSignedIn(await browser.post(ws, ninth.response64), `ninth@${domain}`);
    });
  });

  describe('identity attributes given more than once', () => {
    const attribute = (name: string, value: string) => `<saml:Attribute Name="${name}"><saml:AttributeValue xsi:type="xs:string">${value}</saml:AttributeValue></saml:Attribute>`;
    /** The attribute `name` once more, as a second Attribute element of the signed statement. */
    const again = (name: string, value: string) => (xml: string) => xml.replace('</saml:AttributeStatement>', `${attribute(name, value)}</saml:AttributeStatement>`);

    beforeAll(async () => {
      const res = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataXml: idp.metadata(ssoUrl), attributes: { email: 'email', name: 'name', groups: 'groups' } });
      expect(res.statusCode, res.body).toBe(200);
    });
    afterAll(async () => {
      const res = await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataXml: idp.metadata(ssoUrl), attributes: { email: null, name: null, groups: 'groups' } });
      expect(res.statusCode, res.body).toBe(200);
    });

    async function accountNamed(email: string): Promise<{ name: string } | undefined> {
      const [row] = await t.database.raw<{ name: string }>('SELECT name FROM rampart.accounts WHERE email = $1', [email]);
      return row;
    }

    it('control: one email and one name attribute sign in an opaque NameID as that email and name', async () => {
      const email = `attributed@${domain}`;
      await expectSignedIn(await signInWith((id) => valid('emp-000123', id, { attributes: { email: [email], name: ['Ada Attributed'] } })), email);
      expect(await accountNamed(email)).toEqual({ name: 'Ada Attributed' });
    });

    it('refuses an email attribute with two values (or a second one empty), signing in as neither', async () => {
      const [first, second] = [`first.value@${domain}`, `second.value@${domain}`];
      await expectRefused(() => signInWith((id) => valid('emp-000124', id, { attributes: { email: [first, second] } })), 'email_ambiguous');
      await expectRefused(() => signInWith((id) => valid('emp-000124', id, { attributes: { email: [first, ''] } })), 'email_ambiguous');
      expect(await accountNamed(first)).toBeUndefined();
      expect(await accountNamed(second)).toBeUndefined();
    });

    it('refuses an email attribute given twice, even with the same value', async () => {
      const [first, second] = [`twice.first@${domain}`, `twice.second@${domain}`];
      await expectRefused(() => signInWith((id) => valid('emp-000125', id, { attributes: { email: [first] }, edit: again('email', second) })), 'email_ambiguous');
      await expectRefused(() => signInWith((id) => valid('emp-000125', id, { attributes: { email: [first] }, edit: again('email', first) })), 'email_ambiguous');
      expect(await accountNamed(first)).toBeUndefined();
      expect(await accountNamed(second)).toBeUndefined();
    });

    it('refuses a name attribute with two values, or given twice', async () => {
      const email = `two.names@${domain}`;
      await expectRefused(() => signInWith((id) => valid('emp-000126', id, { attributes: { email: [email], name: ['Ada', 'Eve'] } })), 'name_ambiguous');
      await expectRefused(() => signInWith((id) => valid('emp-000126', id, { attributes: { email: [email], name: ['Ada'] }, edit: again('name', 'Eve') })), 'name_ambiguous');
      expect(await accountNamed(email)).toBeUndefined();
    });

    it('refuses a Subject with two NameIDs (the email a NameID gives)', async () => {
      const [first, second] = [`nameid.first@${domain}`, `nameid.second@${domain}`];
      const secondNameId = (xml: string) => xml.replace(/(<saml:NameID[^>]*>)[^<]*(<\/saml:NameID>)/, (one, open: string, close: string) => `${one}${open}${second}${close}`);
      await expectRefused(() => signInWith((id) => valid(first, id, { edit: secondNameId })), 'name_id_ambiguous');
      expect(await accountNamed(first)).toBeUndefined();
      expect(await accountNamed(second)).toBeUndefined();
    });

    it('refuses the ambiguity for a NameID already linked too', async () => {
      const email = `linked.once@${domain}`;
      await expectSignedIn(await signInWith((id) => valid('emp-000127', id, { attributes: { email: [email] } })), email);
      await expectRefused(() => signInWith((id) => valid('emp-000127', id, { attributes: { email: [email, `other@${domain}`] } })), 'email_ambiguous');
    });
  });

  it('accepts IdP-initiated sign-in only when the workspace turns it on, and each assertion once', async () => {
    expect((await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataXml: idp.metadata(ssoUrl), allowIdpInitiated: true })).statusCode).toBe(200);
    try {
      const email = `idp.initiated@${domain}`;
      const response = base64(idp.response(sp, { nameId: email, inResponseTo: null }));
      await expectSignedIn(await post(response, null), email);
      await expectRefused(() => post(response, null), 'replayed_assertion');
    } finally {
      expect((await api('PUT', `/api/v1/workspaces/${ws}/sso/saml`, { metadataXml: idp.metadata(ssoUrl), allowIdpInitiated: false })).statusCode).toBe(200);
    }
  });

  it('refuses malformed XML, multiple roots, DTDs, entity bombs and external entities', async () => {
    const started = await start();
    const attempt = (xml: string) => () => post(base64(xml), started.binding);
    await expectRefused(attempt('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><unclosed></samlp:Response>'), 'malformed_xml');
    const one = valid(`a@${domain}`, started.requestId);
    await expectRefused(attempt(`${one}${one}`), 'malformed_xml');
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${one.replace(`a@${domain}`, '&lol2;')}`;
    await expectRefused(attempt(bomb), 'dtd_present');
    const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${one.replace(`a@${domain}`, '&x;')}`;
    await expectRefused(attempt(xxe), 'dtd_present');
    await expectRefused(attempt(`<?xml-stylesheet href="x"?>${one}`), 'processing_instruction');
  });

  it('refuses huge responses, wrong encodings and non-base64 unread', async () => {
    const started = await start();
    const one = valid(`a@${domain}`, started.requestId);
    await expectRefused(() => post(base64(one.replace('</saml:Issuer>', `</saml:Issuer><!--${'x'.repeat(300_000)}-->`)), started.binding), 'response_too_large');
    await expectRefused(() => post(Buffer.from(one.replace(`a@${domain}`, `\u00e9@${domain}`), 'latin1').toString('base64'), started.binding), 'not_utf8');
    await expectRefused(() => post(base64(`<?xml version="1.0" encoding="ISO-8859-1"?>${one}`), started.binding), 'wrong_encoding');
    await expectRefused(() => post('not base64 at all!', started.binding), 'not_base64');
    await expectRefused(() => post('', started.binding), 'empty_response');
  });

  it('answers a form without SAMLResponse, or with it twice, with a 400 and no change', async () => {
    const before = await counts();
    const missing = await t.app.inject({ method: 'POST', url: `/api/v1/sso/saml/${ws}/acs`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'RelayState=x' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('validation_failed');
    const twice = await t.app.inject({ method: 'POST', url: `/api/v1/sso/saml/${ws}/acs`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'SAMLResponse=a&SAMLResponse=b' });
    expect(twice.statusCode).toBe(400);
    expect(await counts()).toEqual(before);
  });

  it('no form posted to the ACS makes it answer 5xx or sign anyone in', async () => {
    const before = await counts();
    const one = valid(`a@${domain}`, newSamlId());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.base64String({ maxLength: 400 }),
          // A real response with bytes flipped or cut.
          fc.tuple(fc.nat({ max: one.length - 1 }), fc.nat({ max: 255 })).map(([at, byte]) => base64(one.slice(0, at) + String.fromCharCode(byte) + one.slice(at + 1))),
          fc.nat({ max: one.length }).map((at) => base64(one.slice(0, at))),
        ),
        fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
        async (samlResponse, relayState) => {
          const res = await t.app.inject({
            method: 'POST',
            url: `/api/v1/sso/saml/${ws}/acs`,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            payload: new URLSearchParams({ SAMLResponse: samlResponse, ...(relayState === undefined ? {} : { RelayState: relayState }) }).toString(),
          });
          expect(res.statusCode === 303 || res.statusCode === 400, res.body).toBe(true);
          if (res.statusCode === 303) expect(res.headers.location).toBe('/sign-in?error=sign_in_failed');
        },
      ),
      { numRuns: 60 },
    );
    const after = await counts();
    expect({ accounts: after.accounts, sessions: after.sessions }).toEqual({ accounts: before.accounts, sessions: before.sessions });
  });

  it('a JSON route never reads a form body (forms are for the ACS only)', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=a%40b.test&password=x' });
    expect(res.statusCode).toBe(415);
  });

  it('refuses an email in a domain the workspace has not verified, creating nothing', async () => {
    await expectRefused(() => signInWith((id) => valid('someone@unverified.example', id)), 'domain_not_verified');
  });

  it("never links a bare email asserted by another workspace's IdP", async () => {
    // Workspace B sets up its own IdP (a real one: its admin controls it) asserting an address of
    // A's verified domain. B has not proved that domain, so nothing links or signs in.
    const bOwner = await signUp(t, 'b-owner');
    const b = (await createWorkspace(t, bOwner, 'B')).id;
    const bIdp = new TestIdp('https://idp.b.test/metadata');
    const bSp = await connectIdp(t, b, bIdp, 'https://idp.b.test/sso', bOwner.bearer);
    const before = await counts();
    const res = await samlSignIn(t, b, bIdp, bSp, `new.person@${domain}`);
    expect(res.headers.location).toBe('/sign-in?error=sign_in_failed');
    expect(await counts()).toEqual(before);
  });

  it('maps IdP groups to roles; the owner role is never the directory’s', async () => {
    const role = await api('POST', `/api/v1/workspaces/${ws}/roles`, { name: 'Engineers', scopes: ['records:read'] });
    expect(role.statusCode, role.body).toBe(201);
    const roleId = role.json<{ id: string }>().id;
    await t.database.raw(`INSERT INTO rampart.directory_group_roles (tenant_id, id, group_key, role_id) VALUES ($1, gen_random_uuid(), 'engineering', $2)`, [ws, roleId]);
    const email = `engineer@${domain}`;
    await expectSignedIn(await signInWith((id) => valid(email, id, { attributes: { groups: ['Engineering', 'Everyone'] } })), email);
    const roles = async () =>
      (
        await t.database.raw<{ name: string; via_directory: boolean }>(
          `SELECT r.name, mr.via_directory FROM rampart.member_roles mr JOIN rampart.roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id
             JOIN rampart.accounts a ON a.id = mr.account_id WHERE mr.tenant_id = $1 AND a.email = $2 ORDER BY r.name`,
          [ws, email],
        )
      ).map((r) => `${r.name}${r.via_directory ? ' (directory)' : ''}`);
    // The default role given at provisioning is the directory's too: a mapped role replaces it.
    expect(await roles()).toEqual(['Engineers (directory)']);
    // Out of the group: the mapped role goes, and the member falls back to the default role, never to none.
    await expectSignedIn(await signInWith((id) => valid(email, id, { attributes: { groups: ['Everyone'] } })), email);
    expect(await roles()).toEqual(['Member (directory)']);
  });

  it('a refused attempt names its reason to the workspace admins, without the response', async () => {
    await expectRefused(() => signInWith((id) => valid(`a@${domain}`, id, { sign: 'none' })), 'unsigned');
    const res = await api('GET', `/api/v1/workspaces/${ws}/sso/attempts?limit=5`);
    expect(res.body).not.toContain('SAMLResponse');
    expect(res.body).not.toContain('<saml');
  });
});
