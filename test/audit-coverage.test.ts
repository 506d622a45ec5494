/**
 * Every write through the API is exactly one audit event, walked from the route table.
 *
 * Each write route (POST, PUT, PATCH, DELETE under /api, public, account or workspace access —
 * staff routes are walked by their own suite), and each GET that writes (the OIDC browser
 * steps), has an entry below that drives it successfully with the fixtures it needs and names
 * the event it must leave. The test counts the events before and after the request and reads
 * the request's own events by its request id: one, with that action, outcome `success`. A
 * write route without an entry fails the walk, so a new route cannot be added silently; an
 * entry without a route fails it too. Exceptions say why, and are few.
 *
 * A refused write (403) is one event as well: `access.denied`, or the refusing code's own event
 * when it records the refusal with its reason.
 *
 * Runs on every backend, with a real OpenID Provider (`oidc-provider`) for the OIDC steps and a
 * software WebAuthn authenticator for passkeys.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaffMember } from '../src/modules/staff/index.js';
import { tenantContext } from '../src/platform/db/types.js';
import type { StaffPrincipal } from '../src/platform/http/context.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { auditEventCount, auditEventsOfRequest } from './helpers/audit.js';
import { buildTestApp, createWorkspace, latestLinkToken, latestMail, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';
import { Browser, browserOf, csrfOf, OIDC_COOKIE, PUBLIC_URL } from './helpers/oidc-browser.js';
import { startTestOp, type TestOp } from './helpers/oidc-provider.js';
import { startTestDns, type TestDns } from './helpers/dns.js';
import { connectIdp, postSaml, startSaml, verifyDomain } from './helpers/saml-flow.js';
import { base64, TestIdp } from './helpers/saml-idp.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Send = () => Promise<LightMyRequestResponse>;

const WRITE_METHODS: readonly string[] = ['POST', 'PUT', 'PATCH', 'DELETE'];
/** GET routes that write: the browser steps of OIDC and SAML sign-in (a navigation cannot POST). */
const WRITING_GETS: readonly string[] = ['GET /api/v1/auth/oidc/start', 'GET /api/v1/auth/oidc/callback', 'GET /api/v1/sso/saml/:workspaceId/login'];
const RP_ID = new URL(PUBLIC_URL).hostname;

interface Write {
  /** `METHOD /url` as the route table has it. */
  readonly route: string;
  /** The one event the request must record, with outcome `success`. */
  readonly action: string;
  readonly status: number;
  /** Makes the fixtures the write needs (their own events come before the count) and returns the request. */
  readonly prepare: () => Promise<Send>;
  /**
   * Events that work started by the request records afterwards as the system, with no request
   * id (the rewrap after a key change retires the older version): counted, and named here.
   */
  readonly afterwards?: readonly string[];
}

interface Exception {
  readonly route: string;
  /** Why this write route is not driven here. */
  readonly reason: string;
}

function totp(secret: string): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) });
}

function expectStatus(res: LightMyRequestResponse, status: number): LightMyRequestResponse {
  if (res.statusCode !== status) throw new Error(`expected ${status}, got ${res.statusCode}: ${res.body}`);
  return res;
}

describe.each(BACKENDS)('every write is one audit event, on $name', (backend) => {
  let op: TestOp;
  let dns: TestDns;
  let t: TestApp;
  let owner: Caller;
  let ws: string;

  const send = (method: Method, url: string, headers: Record<string, string>, payload?: unknown): Send => () =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  /** A request made while preparing: it must succeed. */
  const call = async (method: Method, url: string, headers: Record<string, string>, payload?: unknown, status = 200) =>
    expectStatus(await send(method, url, headers, payload)(), status);
  const post = (url: string, headers: Record<string, string>, payload?: unknown) => send('POST', url, headers, payload);
  const wsUrl = (path = '', workspace = ws) => `/api/v1/workspaces/${workspace}${path}`;

  async function roleId(workspace: string, builtin: string): Promise<string> {
    const roles = (await call('GET', wsUrl('/roles', workspace), owner.bearer)).json<{ data: { id: string; builtin: string | null }[] }>().data;
    return roles.find((r) => r.builtin === builtin)!.id;
  }
  /** A member added directly (no request, no event), as the access-control suite does. */
  async function member(workspace: string, name: string, builtin: 'admin' | 'member' = 'member', by = owner): Promise<Caller> {
    const c = await signUp(t, name);
    await t.services.members.addMember(tenantContext(workspace, by.accountId), c.accountId, builtin);
    return c;
  }
  async function enrolTotp(c: Caller): Promise<{ secret: string; recoveryCodes: string[] }> {
    const { secret } = (await call('POST', '/api/v1/account/mfa/totp', c.bearer)).json<{ secret: string }>();
    const confirmed = await call('POST', '/api/v1/account/mfa/totp/confirm', c.bearer, { code: await totp(secret) });
    return { secret, recoveryCodes: confirmed.json<{ recoveryCodes: string[] }>().recoveryCodes };
  }
  async function addPasskey(c: Caller, soft: SoftAuthenticator): Promise<string> {
    const options = await call('POST', '/api/v1/account/mfa/passkeys/options', c.bearer);
    const added = await call('POST', '/api/v1/account/mfa/passkeys', c.bearer, { response: soft.register(options.json()), name: 'Laptop' }, 201);
    return added.json<{ passkey: { id: string } }>().passkey.id;
  }
  async function mfaToken(c: Caller): Promise<string> {
    const res = await call('POST', '/api/v1/auth/sign-in', {}, { email: c.email, password: c.password });
    return res.json<{ mfaToken: string }>().mfaToken;
  }
  async function invitationToken(email: string): Promise<string> {
    const match = /\/invitations\/accept#token=([A-Za-z0-9_-]+)/.exec((await latestMail(t, email)).text);
    if (!match) throw new Error(`no invitation link for ${email}`);
    return match[1]!;
  }
  async function collection(name: string): Promise<string> {
    await call('POST', wsUrl('/collections'), owner.bearer, { name }, 201);
    return name;
  }
  async function record(coll: string): Promise<string> {
    return (await call('POST', wsUrl(`/collections/${coll}/records`), owner.bearer, { data: { note: 'fixture' } }, 201)).json<{ id: string }>().id;
  }
  /** The workspace's newest events, newest first, as its API lists them. */
  async function workspaceEvents(limit = 200): Promise<Array<{ action: string; requestId: string | null; details: Record<string, unknown> }>> {
    return (await call('GET', wsUrl(`/events?limit=${limit}`), owner.bearer)).json<{ data: Array<{ action: string; requestId: string | null; details: Record<string, unknown> }> }>().data;
  }
  /** A pending staff request for access to the workspace, filed by a fresh support engineer. */
  async function staffRequest(): Promise<string> {
    const { member } = await addStaffMember(t.database.db, t.services.staffEvents, { email: `support-${newId()}@operator.test`, name: 'Sam Support', role: 'support' }, null, null);
    const staff: StaffPrincipal = { staffId: member.id, name: member.name, role: member.role, sessionId: newId(), sessionKind: 'bearer', mfaAt: new Date(), csrfToken: null };
    const input = { workspaceId: ws, scope: 'records:read', justification: 'customer-initiated-support' as const, reason: 'A record the customer cannot find', ticket: 'T-1', durationMinutes: 60 };
    return (await t.services.staffAccess.request(staff, input, { ip: null, userAgent: null, requestId: null })).id;
  }

  /** A fresh workspace with a verified domain and a SAML connection to a samlify IdP. */
  async function ssoWorkspace(): Promise<{ id: string; domain: string; idp: TestIdp; sp: { entityId: string; acsUrl: string } }> {
    const id = (await createWorkspace(t, owner, 'SSO')).id;
    const domain = `sso-${randomBytes(4).toString('hex')}.test`;
    await verifyDomain(t, dns, id, domain, owner.bearer);
    const idp = new TestIdp(`https://idp.${domain}/metadata`);
    return { id, domain, idp, sp: await connectIdp(t, id, idp, `https://idp.${domain}/sso`, owner.bearer) };
  }

  /** An OIDC user at the provider, with a fresh subject. */
  function providerUser(email: string): string {
    const sub = `sub-${Math.random().toString(36).slice(2, 10)}`;
    op.users.set(sub, { email, email_verified: true, name: 'Provider Person' });
    return sub;
  }

  const WRITES: readonly Write[] = [
    // --- accounts and sessions -------------------------------------------------------------------
    {
      route: 'POST /api/v1/auth/sign-up',
      action: 'auth.sign_up',
      status: 202,
      prepare: async () => post('/api/v1/auth/sign-up', {}, { email: `new-${Date.now()}@example.test`, password: 'a long enough password 1', name: 'New' }),
    },
    {
      route: 'POST /api/v1/auth/verify-email',
      action: 'auth.email_verified',
      status: 200,
      prepare: async () => {
        const email = `verify-${Date.now()}@example.test`;
        await call('POST', '/api/v1/auth/sign-up', {}, { email, password: 'a long enough password 2', name: 'Verify' }, 202);
        return post('/api/v1/auth/verify-email', {}, { token: await latestLinkToken(t, email) });
      },
    },
    {
      route: 'POST /api/v1/auth/verify-email/resend',
      action: 'auth.verification_resent',
      status: 202,
      prepare: async () => {
        const c = await signUp(t, 'resend');
        // An address that stopped being verified (no flow here leaves a session unverified).
        await t.database.raw('UPDATE rampart.accounts SET email_verified_at = NULL WHERE id = $1', [c.accountId]);
        return post('/api/v1/auth/verify-email/resend', c.bearer);
      },
    },
    {
      route: 'POST /api/v1/auth/sign-in',
      action: 'auth.sign_in',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'sign-in');
        return post('/api/v1/auth/sign-in', {}, { email: c.email, password: c.password });
      },
    },
    {
      route: 'POST /api/v1/auth/tokens',
      action: 'auth.sign_in',
      status: 201,
      prepare: async () => {
        const c = await signUp(t, 'token');
        return post('/api/v1/auth/tokens', {}, { email: c.email, password: c.password });
      },
    },
    {
      route: 'POST /api/v1/auth/magic-link',
      action: 'auth.magic_link_requested',
      status: 202,
      prepare: async () => post('/api/v1/auth/magic-link', {}, { email: (await signUp(t, 'magic')).email }),
    },
    {
      route: 'POST /api/v1/auth/magic-link/consume',
      action: 'auth.sign_in',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'magic-consume');
        await call('POST', '/api/v1/auth/magic-link', {}, { email: c.email }, 202);
        return post('/api/v1/auth/magic-link/consume', {}, { token: await latestLinkToken(t, c.email) });
      },
    },
    {
      route: 'POST /api/v1/auth/password-reset',
      action: 'auth.password_reset_requested',
      status: 202,
      prepare: async () => post('/api/v1/auth/password-reset', {}, { email: (await signUp(t, 'reset')).email }),
    },
    {
      route: 'POST /api/v1/auth/password-reset/complete',
      action: 'auth.password_reset',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'reset-complete');
        await call('POST', '/api/v1/auth/password-reset', {}, { email: c.email }, 202);
        return post('/api/v1/auth/password-reset/complete', {}, { token: await latestLinkToken(t, c.email), password: 'a brand new password 3' });
      },
    },
    {
      route: 'POST /api/v1/auth/password',
      action: 'auth.password_changed',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'password');
        return post('/api/v1/auth/password', c.bearer, { currentPassword: c.password, newPassword: 'a brand new password 4' });
      },
    },
    {
      route: 'PATCH /api/v1/auth/account',
      action: 'auth.name_changed',
      status: 200,
      prepare: async () => send('PATCH', '/api/v1/auth/account', (await signUp(t, 'rename')).bearer, { name: 'Renamed' }),
    },
    {
      route: 'POST /api/v1/auth/account/email',
      action: 'auth.email_change_requested',
      status: 202,
      prepare: async () => {
        const c = await signUp(t, 'email-change');
        return post('/api/v1/auth/account/email', c.bearer, { email: `moved-${Date.now()}@example.test`, password: c.password });
      },
    },
    {
      route: 'DELETE /api/v1/auth/account/email',
      action: 'auth.email_change_cancelled',
      status: 204,
      prepare: async () => {
        const c = await signUp(t, 'email-cancel');
        await call('POST', '/api/v1/auth/account/email', c.bearer, { email: `cancelled-${Date.now()}@example.test`, password: c.password }, 202);
        await t.services.accounts.settle();
        return send('DELETE', '/api/v1/auth/account/email', c.bearer);
      },
    },
    {
      route: 'POST /api/v1/auth/account/email/confirm',
      action: 'auth.email_changed',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'email-confirm');
        const email = `confirmed-${Date.now()}@example.test`;
        await call('POST', '/api/v1/auth/account/email', c.bearer, { email, password: c.password }, 202);
        return post('/api/v1/auth/account/email/confirm', c.bearer, { token: await latestLinkToken(t, email) });
      },
    },
    {
      route: 'POST /api/v1/auth/sign-out',
      action: 'auth.sign_out',
      status: 204,
      prepare: async () => post('/api/v1/auth/sign-out', (await signUp(t, 'sign-out')).bearer),
    },
    {
      route: 'DELETE /api/v1/auth/sessions/:sessionId',
      action: 'session.revoked',
      status: 204,
      prepare: async () => {
        const c = await signUp(t, 'revoke');
        const sessions = (await call('GET', '/api/v1/auth/sessions', c.bearer)).json<{ data: { id: string; current: boolean }[] }>().data;
        const other = sessions.find((s) => !s.current)!;
        return send('DELETE', `/api/v1/auth/sessions/${other.id}`, c.bearer);
      },
    },
    {
      route: 'POST /api/v1/auth/sessions/revoke-others',
      action: 'session.revoked_others',
      status: 200,
      prepare: async () => post('/api/v1/auth/sessions/revoke-others', (await signUp(t, 'revoke-others')).bearer),
    },

    // --- second factors ----------------------------------------------------------------------------
    {
      route: 'POST /api/v1/account/mfa/totp',
      action: 'auth.mfa.totp_enrolment_started',
      status: 200,
      prepare: async () => post('/api/v1/account/mfa/totp', (await signUp(t, 'totp-start')).bearer),
    },
    {
      route: 'POST /api/v1/account/mfa/totp/confirm',
      action: 'auth.mfa.totp_enabled',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'totp-confirm');
        const { secret } = (await call('POST', '/api/v1/account/mfa/totp', c.bearer)).json<{ secret: string }>();
        return async () => post('/api/v1/account/mfa/totp/confirm', c.bearer, { code: await totp(secret) })();
      },
    },
    {
      route: 'DELETE /api/v1/account/mfa/totp',
      action: 'auth.mfa.factor_removed',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'totp-remove');
        await enrolTotp(c);
        return send('DELETE', '/api/v1/account/mfa/totp', c.bearer, { password: c.password });
      },
    },
    {
      route: 'POST /api/v1/account/mfa/passkeys/options',
      action: 'auth.mfa.passkey_registration_started',
      status: 200,
      prepare: async () => post('/api/v1/account/mfa/passkeys/options', (await signUp(t, 'passkey-options')).bearer),
    },
    {
      route: 'POST /api/v1/account/mfa/passkeys',
      action: 'auth.mfa.passkey_added',
      status: 201,
      prepare: async () => {
        const c = await signUp(t, 'passkey-add');
        const options = await call('POST', '/api/v1/account/mfa/passkeys/options', c.bearer);
        return post('/api/v1/account/mfa/passkeys', c.bearer, { response: new SoftAuthenticator(PUBLIC_URL, RP_ID).register(options.json()), name: 'Laptop' });
      },
    },
    {
      route: 'PATCH /api/v1/account/mfa/passkeys/:passkeyId',
      action: 'auth.mfa.passkey_renamed',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'passkey-rename');
        const id = await addPasskey(c, new SoftAuthenticator(PUBLIC_URL, RP_ID));
        return send('PATCH', `/api/v1/account/mfa/passkeys/${id}`, c.bearer, { name: 'Old laptop' });
      },
    },
    {
      route: 'DELETE /api/v1/account/mfa/passkeys/:passkeyId',
      action: 'auth.mfa.factor_removed',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'passkey-remove');
        const id = await addPasskey(c, new SoftAuthenticator(PUBLIC_URL, RP_ID));
        return send('DELETE', `/api/v1/account/mfa/passkeys/${id}`, c.bearer, { password: c.password });
      },
    },
    {
      route: 'POST /api/v1/account/mfa/recovery-codes',
      action: 'auth.mfa.recovery_codes_regenerated',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'recovery');
        await enrolTotp(c);
        return post('/api/v1/account/mfa/recovery-codes', c.bearer, { password: c.password });
      },
    },
    {
      route: 'POST /api/v1/auth/mfa/verify',
      action: 'auth.sign_in',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'mfa-verify');
        const { recoveryCodes } = await enrolTotp(c);
        return post('/api/v1/auth/mfa/verify', {}, { mfaToken: await mfaToken(c), factor: 'recovery_code', code: recoveryCodes[0] });
      },
    },
    {
      route: 'POST /api/v1/auth/mfa/passkey/options',
      action: 'auth.passkey_challenge',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'mfa-passkey-options');
        await addPasskey(c, new SoftAuthenticator(PUBLIC_URL, RP_ID));
        return post('/api/v1/auth/mfa/passkey/options', {}, { mfaToken: await mfaToken(c) });
      },
    },
    {
      route: 'POST /api/v1/auth/mfa/passkey',
      action: 'auth.sign_in',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'mfa-passkey');
        const soft = new SoftAuthenticator(PUBLIC_URL, RP_ID);
        await addPasskey(c, soft);
        const token = await mfaToken(c);
        const options = await call('POST', '/api/v1/auth/mfa/passkey/options', {}, { mfaToken: token });
        return post('/api/v1/auth/mfa/passkey', {}, { mfaToken: token, response: soft.assert(options.json()) });
      },
    },
    {
      route: 'POST /api/v1/auth/passkey/options',
      action: 'auth.passkey_challenge',
      status: 200,
      prepare: async () => post('/api/v1/auth/passkey/options', {}),
    },
    {
      route: 'POST /api/v1/auth/passkey',
      action: 'auth.sign_in',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'passwordless');
        const soft = new SoftAuthenticator(PUBLIC_URL, RP_ID);
        await addPasskey(c, soft);
        const { challengeId, options } = (await call('POST', '/api/v1/auth/passkey/options', {})).json<{ challengeId: string; options: Record<string, unknown> }>();
        return post('/api/v1/auth/passkey', {}, { challengeId, response: soft.assert(options) });
      },
    },

    // --- verified domains and SAML SSO (a samlify IdP, a dns2 server) ----------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/domains',
      action: 'domain.added',
      status: 201,
      prepare: async () => post(wsUrl('/domains'), owner.bearer, { domain: `added-${randomBytes(4).toString('hex')}.test` }),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/domains/:domainId/verify',
      action: 'domain.verified',
      status: 200,
      prepare: async () => {
        const domain = `verify-${randomBytes(4).toString('hex')}.test`;
        const d = (await call('POST', wsUrl('/domains'), owner.bearer, { domain }, 201)).json<{ id: string; verification: { value: string } }>();
        dns.txt.set(domain, [d.verification.value]);
        return post(wsUrl(`/domains/${d.id}/verify`), owner.bearer);
      },
    },
    {
      route: 'PATCH /api/v1/workspaces/:workspaceId/domains/:domainId',
      action: 'domain.sso_enforcement_changed',
      status: 200,
      prepare: async () => {
        const w = await ssoWorkspace();
        const [d] = (await call('GET', wsUrl('/domains', w.id), owner.bearer)).json<{ data: { id: string }[] }>().data;
        return send('PATCH', wsUrl(`/domains/${d!.id}`, w.id), owner.bearer, { ssoEnforced: true });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/domains/:domainId',
      action: 'domain.removed',
      status: 204,
      prepare: async () => {
        const d = (await call('POST', wsUrl('/domains'), owner.bearer, { domain: `gone-${randomBytes(4).toString('hex')}.test` }, 201)).json<{ id: string }>();
        return send('DELETE', wsUrl(`/domains/${d.id}`), owner.bearer);
      },
    },
    {
      route: 'PUT /api/v1/workspaces/:workspaceId/sso/saml',
      action: 'sso.connection.created',
      status: 200,
      prepare: async () => {
        const id = (await createWorkspace(t, owner, 'SSO setup')).id;
        return send('PUT', wsUrl('/sso/saml', id), owner.bearer, { metadataXml: new TestIdp('https://idp.setup.test/metadata').metadata('https://idp.setup.test/sso') });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/sso/saml',
      action: 'sso.connection.deleted',
      status: 204,
      prepare: async () => {
        const w = await ssoWorkspace();
        return send('DELETE', wsUrl('/sso/saml', w.id), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/sso/setup-links',
      action: 'sso.setup_link.created',
      status: 201,
      prepare: async () => post(wsUrl('/sso/setup-links'), owner.bearer, { expiresInHours: 2 }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/sso/setup-links/:linkId',
      action: 'sso.setup_link.revoked',
      status: 204,
      prepare: async () => {
        const link = (await call('POST', wsUrl('/sso/setup-links'), owner.bearer, { expiresInHours: 2 }, 201)).json<{ id: string }>();
        return send('DELETE', wsUrl(`/sso/setup-links/${link.id}`), owner.bearer);
      },
    },
    {
      route: 'PUT /api/v1/sso/setup/saml',
      action: 'sso.connection.created',
      status: 200,
      prepare: async () => {
        const id = (await createWorkspace(t, owner, 'SSO by link')).id;
        const url = (await call('POST', wsUrl('/sso/setup-links', id), owner.bearer, { expiresInHours: 2 }, 201)).json<{ url: string }>().url;
        const token = url.split('#token=')[1] as string;
        return send('PUT', '/api/v1/sso/setup/saml', {}, { token, metadataXml: new TestIdp('https://idp.link.test/metadata').metadata('https://idp.link.test/sso') });
      },
    },
    {
      route: 'POST /api/v1/sso/setup/scim-tokens',
      action: 'scim.token.created',
      status: 201,
      prepare: async () => {
        const url = (await call('POST', wsUrl('/sso/setup-links'), owner.bearer, { expiresInHours: 2 }, 201)).json<{ url: string }>().url;
        return send('POST', '/api/v1/sso/setup/scim-tokens', {}, { token: url.split('#token=')[1] as string, name: 'IdP by link' });
      },
    },
    {
      route: 'GET /api/v1/sso/saml/:workspaceId/login',
      action: 'sso.sign_in_started',
      status: 302,
      prepare: async () => {
        const w = await ssoWorkspace();
        return send('GET', `/api/v1/sso/saml/${w.id}/login`, {});
      },
    },
    {
      route: 'POST /api/v1/sso/saml/:workspaceId/acs',
      action: 'sso.sign_in',
      status: 303,
      prepare: async () => {
        // A new person of the verified domain: provisioned, linked and signed in by this one request.
        const w = await ssoWorkspace();
        const started = await startSaml(t, w.id);
        const response = base64(w.idp.response(w.sp, { nameId: `person@${w.domain}`, inResponseTo: started.requestId }));
        return () => postSaml(t, w.id, response, started.binding);
      },
    },

    // --- OpenID Connect (a real provider) --------------------------------------------------------------
    {
      route: 'GET /api/v1/auth/oidc/start',
      action: 'auth.oidc_started',
      status: 302,
      prepare: async () => {
        const browser = new Browser(t, op);
        return () => browser.start();
      },
    },
    {
      route: 'GET /api/v1/auth/oidc/callback',
      action: 'auth.sign_in',
      status: 302,
      prepare: async () => {
        // A new identity: the account is created, linked and signed in by this one request.
        const sub = providerUser(`oidc-${Date.now()}@example.test`);
        const browser = new Browser(t, op);
        const started = expectStatus(await browser.start(), 302);
        op.loginAs(sub);
        const callbackUrl = await browser.throughProvider(started.headers.location as string);
        return () => browser.callback(callbackUrl);
      },
    },
    {
      route: 'POST /api/v1/auth/oidc/link/start',
      action: 'auth.oidc_started',
      status: 200,
      prepare: async () => {
        const browser = browserOf(t, op, await signUp(t, 'link-start'));
        const headers = await csrfOf(browser);
        return () => browser.rampartRequest('POST', '/api/v1/auth/oidc/link/start', { headers });
      },
    },
    {
      route: 'POST /api/v1/auth/oidc/link/accept',
      action: 'auth.identity_linked',
      status: 200,
      prepare: async () => {
        const c = await signUp(t, 'link-accept');
        const sub = providerUser(c.email);
        // Signing in with the provider offers a link to the existing account…
        const stranger = new Browser(t, op);
        const { res } = await stranger.signIn(sub);
        const token = (res.headers.location as string).split('#token=')[1] as string;
        // …which its owner accepts, signed in, in that browser.
        const browser = browserOf(t, op, c);
        browser.rampart.set(OIDC_COOKIE, stranger.rampart.get(OIDC_COOKIE) as string);
        const headers = await csrfOf(browser);
        return () => browser.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers, payload: { token } });
      },
    },
    {
      route: 'DELETE /api/v1/auth/oidc/identities/:identityId',
      action: 'auth.identity_unlinked',
      status: 204,
      prepare: async () => {
        const c = await signUp(t, 'unlink');
        const sub = providerUser(`unlink-${Date.now()}@example.test`);
        const browser = browserOf(t, op, c);
        const started = expectStatus(await browser.rampartRequest('POST', '/api/v1/auth/oidc/link/start', { headers: await csrfOf(browser) }), 200);
        op.loginAs(sub);
        expectStatus(await browser.callback(await browser.throughProvider(started.json<{ url: string }>().url)), 302);
        const [identity] = (await call('GET', '/api/v1/auth/oidc/identities', c.bearer)).json<{ data: { id: string }[] }>().data;
        return send('DELETE', `/api/v1/auth/oidc/identities/${identity!.id}`, c.bearer);
      },
    },

    // --- workspaces, roles, members --------------------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces',
      action: 'workspace.created',
      status: 201,
      prepare: async () => post('/api/v1/workspaces', owner.bearer, { name: 'Created' }),
    },
    {
      route: 'PATCH /api/v1/workspaces/:workspaceId',
      action: 'workspace.updated',
      status: 200,
      prepare: async () => send('PATCH', wsUrl(), owner.bearer, { name: 'Renamed' }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId',
      action: 'workspace.deleted',
      status: 204,
      prepare: async () => {
        const doomed = (await createWorkspace(t, owner, 'Doomed')).id;
        return send('DELETE', wsUrl('', doomed), owner.bearer, { confirm: 'Doomed' });
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/roles',
      action: 'role.created',
      status: 201,
      prepare: async () => post(wsUrl('/roles'), owner.bearer, { name: 'Readers', scopes: ['records:read'] }),
    },
    {
      route: 'PATCH /api/v1/workspaces/:workspaceId/roles/:roleId',
      action: 'role.updated',
      status: 200,
      prepare: async () => {
        const id = (await call('POST', wsUrl('/roles'), owner.bearer, { name: 'Editable', scopes: ['records:read'] }, 201)).json<{ id: string }>().id;
        return send('PATCH', wsUrl(`/roles/${id}`), owner.bearer, { scopes: ['records:read', 'documents:read'] });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/roles/:roleId',
      action: 'role.deleted',
      status: 204,
      prepare: async () => {
        const id = (await call('POST', wsUrl('/roles'), owner.bearer, { name: 'Unused', scopes: ['records:read'] }, 201)).json<{ id: string }>().id;
        return send('DELETE', wsUrl(`/roles/${id}`), owner.bearer);
      },
    },
    {
      route: 'PATCH /api/v1/workspaces/:workspaceId/members/:accountId',
      action: 'member.roles_changed',
      status: 200,
      prepare: async () => {
        const m = await member(ws, 'promoted');
        return send('PATCH', wsUrl(`/members/${m.accountId}`), owner.bearer, { roleIds: [await roleId(ws, 'admin')] });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/members/:accountId',
      action: 'member.removed',
      status: 204,
      prepare: async () => {
        // With an API key and an invitation of their own, which go with them in the same event.
        const m = await member(ws, 'removed', 'admin');
        await call('POST', wsUrl('/api-keys'), m.bearer, { name: 'theirs', scopes: ['records:read'] }, 201);
        await call('POST', wsUrl('/invitations'), m.bearer, { email: `invited-by-removed-${Date.now()}@example.test`, roleId: await roleId(ws, 'member') }, 201);
        return send('DELETE', wsUrl(`/members/${m.accountId}`), owner.bearer);
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/membership',
      action: 'member.left',
      status: 204,
      prepare: async () => send('DELETE', wsUrl('/membership'), (await member(ws, 'leaver')).bearer),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/transfer-ownership',
      action: 'ownership.transferred',
      status: 204,
      prepare: async () => {
        const boss = await signUp(t, 'boss');
        const own = (await createWorkspace(t, boss, 'Handed on')).id;
        const heir = await member(own, 'heir', 'admin', boss);
        return post(wsUrl('/transfer-ownership', own), boss.bearer, { accountId: heir.accountId });
      },
    },

    // --- invitations -------------------------------------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/invitations',
      action: 'invitation.created',
      status: 201,
      prepare: async () => post(wsUrl('/invitations'), owner.bearer, { email: `invitee-${Date.now()}@example.test`, roleId: await roleId(ws, 'member') }),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/invitations/:invitationId/resend',
      action: 'invitation.resent',
      status: 200,
      prepare: async () => {
        const inv = (await call('POST', wsUrl('/invitations'), owner.bearer, { email: `resent-${Date.now()}@example.test`, roleId: await roleId(ws, 'member') }, 201)).json<{ id: string }>();
        // Resending waits a minute after the last send.
        await t.database.raw(`UPDATE rampart.invitations SET sent_at = sent_at - interval '2 minutes', created_at = created_at - interval '2 minutes' WHERE id = $1`, [inv.id]);
        return post(wsUrl(`/invitations/${inv.id}/resend`), owner.bearer);
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/invitations/:invitationId',
      action: 'invitation.revoked',
      status: 204,
      prepare: async () => {
        const inv = (await call('POST', wsUrl('/invitations'), owner.bearer, { email: `revoked-${Date.now()}@example.test`, roleId: await roleId(ws, 'member') }, 201)).json<{ id: string }>();
        return send('DELETE', wsUrl(`/invitations/${inv.id}`), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/invitations/accept',
      action: 'invitation.accepted',
      status: 200,
      prepare: async () => {
        const guest = await signUp(t, 'guest');
        await call('POST', wsUrl('/invitations'), owner.bearer, { email: guest.email, roleId: await roleId(ws, 'member') }, 201);
        return post('/api/v1/invitations/accept', guest.bearer, { token: await invitationToken(guest.email) });
      },
    },

    // --- API keys ----------------------------------------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/api-keys',
      action: 'api_key.created',
      status: 201,
      prepare: async () => post(wsUrl('/api-keys'), owner.bearer, { name: 'ci', scopes: ['records:read'] }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/api-keys/:keyId',
      action: 'api_key.revoked',
      status: 204,
      prepare: async () => {
        // A key that made a key: both go, in one event.
        const parent = (await call('POST', wsUrl('/api-keys'), owner.bearer, { name: 'parent', scopes: ['api-keys:manage', 'records:read'] }, 201)).json<{ id: string; secret: string }>();
        await call('POST', wsUrl('/api-keys'), { authorization: `Bearer ${parent.secret}` }, { name: 'child', scopes: ['records:read'] }, 201);
        return send('DELETE', wsUrl(`/api-keys/${parent.id}`), owner.bearer);
      },
    },

    // --- records and documents ---------------------------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/collections',
      action: 'collection.created',
      status: 201,
      prepare: async () => post(wsUrl('/collections'), owner.bearer, { name: 'created' }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/collections/:collection',
      action: 'collection.deleted',
      status: 204,
      prepare: async () => {
        const name = await collection('doomed');
        await record(name);
        return send('DELETE', wsUrl(`/collections/${name}`), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/collections/:collection/records',
      action: 'record.created',
      status: 201,
      prepare: async () => post(wsUrl(`/collections/${await collection('notes')}/records`), owner.bearer, { data: { title: 'secret title', n: 1 } }),
    },
    {
      route: 'PUT /api/v1/workspaces/:workspaceId/collections/:collection/records/:recordId',
      action: 'record.updated',
      status: 200,
      prepare: async () => {
        const id = await record('notes');
        return send('PUT', wsUrl(`/collections/notes/records/${id}`), { ...owner.bearer, 'if-match': '"1"' }, { data: { title: 'another secret title', n: 2 } });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/collections/:collection/records/:recordId',
      action: 'record.deleted',
      status: 204,
      prepare: async () => send('DELETE', wsUrl(`/collections/notes/records/${await record('notes')}`), owner.bearer),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/documents',
      action: 'document.uploaded',
      status: 201,
      prepare: async () => {
        const body = multipart('private-name.txt', 'document contents');
        return () => t.app.inject({ method: 'POST', url: wsUrl('/documents'), headers: { ...owner.bearer, ...body.headers }, payload: body.payload });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/documents/:documentId',
      action: 'document.deleted',
      status: 204,
      prepare: async () => {
        const body = multipart('to-delete.txt', 'more contents');
        const uploaded = expectStatus(await t.app.inject({ method: 'POST', url: wsUrl('/documents'), headers: { ...owner.bearer, ...body.headers }, payload: body.payload }), 201);
        return send('DELETE', wsUrl(`/documents/${uploaded.json<{ id: string }>().id}`), owner.bearer);
      },
    },

    // --- directory provisioning: SCIM tokens and group → role mappings --------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/scim/tokens',
      action: 'scim.token.created',
      status: 201,
      prepare: async () => post(wsUrl('/scim/tokens'), owner.bearer, { name: 'Okta' }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/scim/tokens/:tokenId',
      action: 'scim.token.revoked',
      status: 204,
      prepare: async () => {
        const created = await call('POST', wsUrl('/scim/tokens'), owner.bearer, { name: 'Entra' }, 201);
        return send('DELETE', wsUrl(`/scim/tokens/${created.json<{ id: string }>().id}`), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/directory/group-roles',
      action: 'directory.group_role.created',
      status: 201,
      prepare: async () => post(wsUrl('/directory/group-roles'), owner.bearer, { group: 'Coverage A', roleId: await roleId(ws, 'member') }),
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/directory/group-roles/:mappingId',
      action: 'directory.group_role.deleted',
      status: 204,
      prepare: async () => {
        const created = await call('POST', wsUrl('/directory/group-roles'), owner.bearer, { group: 'Coverage B', roleId: await roleId(ws, 'member') }, 201);
        return send('DELETE', wsUrl(`/directory/group-roles/${created.json<{ id: string }>().id}`), owner.bearer);
      },
    },

    // --- staff access: the workspace's decisions -----------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/approve',
      action: 'staff.access.approved',
      status: 200,
      prepare: async () => post(wsUrl(`/access-requests/${await staffRequest()}/approve`), owner.bearer, { note: 'Go ahead' }),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/deny',
      action: 'staff.access.denied',
      status: 200,
      prepare: async () => post(wsUrl(`/access-requests/${await staffRequest()}/deny`), owner.bearer, { note: 'Not now' }),
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/revoke',
      action: 'staff.access.revoked',
      status: 200,
      prepare: async () => {
        const id = await staffRequest();
        await call('POST', wsUrl(`/access-requests/${id}/approve`), owner.bearer, { note: 'Go ahead' });
        return post(wsUrl(`/access-requests/${id}/revoke`), owner.bearer, { note: 'Done' });
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/audit/verify',
      action: 'audit.verified',
      status: 200,
      prepare: async () => post(wsUrl('/audit/verify'), owner.bearer, {}),
    },

    // --- keys and the vault ------------------------------------------------------------------------------
    {
      route: 'POST /api/v1/workspaces/:workspaceId/keys/rotate',
      action: 'key.rotated',
      status: 200,
      // The content moves to the new version in the background (the old version retires later,
      // once no cached keyring may still write under it).
      afterwards: ['key.rewrapped'],
      prepare: async () => {
        await record('notes');
        return post(wsUrl('/keys/rotate'), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/keys/retire',
      action: 'key.retired',
      status: 200,
      prepare: async () => {
        // Versions below the previous one: nothing is under them after the rewrap.
        const { currentVersion } = (await call('GET', wsUrl('/keys'), owner.bearer)).json<{ currentVersion: number }>();
        return post(wsUrl('/keys/retire'), owner.bearer, { minVersion: Math.max(1, currentVersion - 1) });
      },
    },
    {
      route: 'PUT /api/v1/workspaces/:workspaceId/keys/own-key',
      action: 'key.own_key_set',
      status: 200,
      afterwards: ['key.rewrapped'],
      prepare: async () => {
        await record('notes');
        return send('PUT', wsUrl('/keys/own-key'), owner.bearer, { provider: 'local', keyRef: 'local:1' });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/keys/own-key',
      action: 'key.own_key_removed',
      status: 200,
      afterwards: ['key.rewrapped'],
      prepare: async () => {
        await record('notes');
        return send('DELETE', wsUrl('/keys/own-key'), owner.bearer);
      },
    },
    {
      route: 'POST /api/v1/workspaces/:workspaceId/secrets',
      action: 'secret.created',
      status: 201,
      prepare: async () => post(wsUrl('/secrets'), owner.bearer, { integration: 'stripe', name: 'api-key', value: 'sk_test_value' }),
    },
    {
      route: 'PUT /api/v1/workspaces/:workspaceId/secrets/integrations/:integration/*',
      action: 'secret.rotated',
      status: 200,
      prepare: async () => {
        await call('POST', wsUrl('/secrets'), owner.bearer, { integration: 'github', name: 'app/key', value: 'first value' }, 201);
        return send('PUT', wsUrl('/secrets/integrations/github/app/key'), owner.bearer, { value: 'second value' });
      },
    },
    {
      route: 'DELETE /api/v1/workspaces/:workspaceId/secrets/integrations/:integration/*',
      action: 'secret.deleted',
      status: 204,
      prepare: async () => {
        await call('POST', wsUrl('/secrets'), owner.bearer, { integration: 'slack', name: 'webhook', value: 'https://hooks.example.test/x' }, 201);
        return send('DELETE', wsUrl('/secrets/integrations/slack/webhook'), owner.bearer);
      },
    },
  ];

  const EXCEPTIONS: readonly Exception[] = [
    {
      route: 'POST /api/v1/invitations/preview',
      reason: 'a read sent as POST so that the invitation token travels in the body, not the URL; it changes nothing',
    },
    {
      route: 'POST /api/v1/sso/setup/view',
      reason: 'a read sent as POST so that the setup link token travels in the body, not the URL; it changes nothing',
    },
    {
      route: 'POST /api/v1/auth/sso/discover',
      reason: 'home-realm discovery: a read sent as POST so that the email travels in the body, not the URL; it changes nothing',
    },
  ];

  beforeAll(async () => {
    op = await startTestOp({ redirectUri: `${PUBLIC_URL}/api/v1/auth/oidc/callback` });
    dns = await startTestDns();
    t = await buildTestApp(backend, {
      dnsServers: [dns.server],
      oidcIssuer: op.issuer,
      oidcClientId: op.clientId,
      oidcClientSecret: op.clientSecret,
      publicUrl: PUBLIC_URL,
    });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Audited')).id;
  });
  afterAll(async () => {
    await t?.close();
    await op?.close();
    await dns?.close();
  });

  it('has an entry for every write route, and none for a route that does not exist', () => {
    // The staff realm (its own sign-in included) is walked by the staff suite.
    const writes = t.routes
      .filter((r) => r.url.startsWith('/api/') && !r.url.startsWith('/api/v1/staff/') && WRITE_METHODS.includes(r.method) && r.access !== 'staff')
      .map((r) => `${r.method} ${r.url}`);
    for (const get of WRITING_GETS) expect(t.routes.map((r) => `${r.method} ${r.url}`), get).toContain(get);
    const covered = [...WRITES.map((w) => w.route), ...EXCEPTIONS.map((e) => e.route)];
    expect(new Set(covered).size, 'a route listed twice').toBe(covered.length);
    expect([...covered].sort()).toEqual([...writes, ...WRITING_GETS].sort());
    for (const e of EXCEPTIONS) expect(e.reason.length, e.route).toBeGreaterThan(20);
  });

  describe.each(WRITES)('$route', (write) => {
    it(`records exactly one event: ${write.action}`, async () => {
      const request = await write.prepare();
      const before = await auditEventCount(t);
      const res = await request();
      expect(res.statusCode, res.body).toBe(write.status);
      const requestId = res.headers['x-request-id'] as string;
      expect(await auditEventsOfRequest(t, requestId)).toEqual([{ action: write.action, outcome: 'success' }]);
      const afterwards = write.afterwards ?? [];
      expect((await auditEventCount(t)) - before).toBe(1 + afterwards.length);
      if (afterwards.length > 0) {
        // The work the request started, recorded by the system after it: no request id.
        const newest = (await workspaceEvents(1 + afterwards.length)).filter((e) => e.requestId !== requestId);
        expect(newest.map((e) => [e.action, e.requestId])).toEqual(afterwards.map((a) => [a, null]).reverse());
      }
    });
  });

  describe('the events say what happened without the content', () => {
    it('records, collections and documents: ids and names, never values or file names', async () => {
      const rows = (await workspaceEvents()).filter((e) => /^(record|collection|document)\./.test(e.action)).map(({ action, details }) => ({ action, details }));
      expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['record.created', 'record.updated', 'record.deleted', 'collection.created', 'collection.deleted', 'document.uploaded', 'document.deleted']));
      const text = JSON.stringify(rows);
      for (const content of ['secret title', 'fixture', 'document contents', 'private-name', 'to-delete']) expect(text).not.toContain(content);
      expect(rows.find((r) => r.action === 'collection.deleted')?.details).toMatchObject({ name: 'doomed', records: 1 });
    });

    it('a removed member: their keys and invitations go in the same event', async () => {
      const [removal] = (await workspaceEvents()).filter((e) => e.action === 'member.removed');
      expect(removal?.details).toMatchObject({ roles: ['Admin'], invitationsRevoked: 1 });
      expect(removal?.details['apiKeysRevoked']).toHaveLength(1);
    });
  });

  describe('a refused write is one event too', () => {
    it('every workspace write refused for want of its scope: one access.denied each', async () => {
      const key = (await call('POST', wsUrl('/api-keys'), owner.bearer, { name: 'reader', scopes: ['workspace:read'] }, 201)).json<{ secret: string }>().secret;
      const refused = t.routes.filter((r) => r.access === 'workspace' && WRITE_METHODS.includes(r.method) && r.scope !== 'workspace:read');
      expect(refused.length).toBeGreaterThan(20);
      for (const route of refused) {
        const url = route.url
          .replace(':workspaceId', ws)
          .replace(':collection', 'notes')
          .replace(':integration', 'stripe')
          .replace('*', 'api-key')
          .replace(/:[A-Za-z]+Id\b/g, '018f0000-0000-7000-8000-000000000000');
        const where = `${route.method} ${route.url}`;
        const before = await auditEventCount(t);
        const res = await t.app.inject({ method: route.method as Method, url, headers: { authorization: `Bearer ${key}` }, ...(route.jsonBody ? { payload: {} } : {}) });
        expect(res.statusCode, `${where}: ${res.body}`).toBe(403);
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string), where).toEqual([{ action: 'access.denied', outcome: 'denied' }]);
        expect((await auditEventCount(t)) - before, where).toBe(1);
      }
    });

    it('a cookie write without its CSRF token: one access.denied', async () => {
      const c = await signUp(t, 'csrf');
      const before = await auditEventCount(t);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sessions/revoke-others', headers: { cookie: c.cookie['cookie'] as string } });
      expect(res.json<{ error: { code: string } }>().error.code).toBe('csrf_failed');
      expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'access.denied', outcome: 'denied' }]);
      expect((await auditEventCount(t)) - before).toBe(1);
    });

    it('a refusal recorded with its own reason is not recorded twice', async () => {
      // Sign-in before the address is verified: the sign-in's own event, denied.
      const email = `unverified-${Date.now()}@example.test`;
      await call('POST', '/api/v1/auth/sign-up', {}, { email, password: 'a long enough password 5', name: 'Unverified' }, 202);
      let before = await auditEventCount(t);
      const signIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email, password: 'a long enough password 5' } });
      expect(signIn.statusCode).toBe(403);
      expect(await auditEventsOfRequest(t, signIn.headers['x-request-id'] as string)).toEqual([{ action: 'auth.sign_in', outcome: 'denied' }]);
      expect((await auditEventCount(t)) - before).toBe(1);

      // A link offer taken by another signed-in account: the link's own event, failed.
      const carol = await signUp(t, 'carol');
      const offered = new Browser(t, op);
      const { res } = await offered.signIn(providerUser(carol.email));
      const token = (res.headers.location as string).split('#token=')[1] as string;
      const mallory = browserOf(t, op, await signUp(t, 'mallory'));
      mallory.rampart.set(OIDC_COOKIE, offered.rampart.get(OIDC_COOKIE) as string);
      const headers = await csrfOf(mallory);
      before = await auditEventCount(t);
      const stolen = await mallory.rampartRequest('POST', '/api/v1/auth/oidc/link/accept', { headers, payload: { token } });
      expect(stolen.statusCode).toBe(403);
      expect(await auditEventsOfRequest(t, stolen.headers['x-request-id'] as string)).toEqual([{ action: 'auth.identity_linked', outcome: 'failure' }]);
      expect((await auditEventCount(t)) - before).toBe(1);
    });
  });
});
