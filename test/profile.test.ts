/**
 * The account's own profile: its name, and its email address. An email change is asked for with
 * the password (or a recent sign-in without one), proved by a link to the new address opened
 * signed in to the same account, told to the old address at both steps, and refused when a
 * workspace's identity provider owns the address. Asking for an address another account holds
 * answers exactly as asking for a free one: the holder is told instead of a link being sent.
 * Runs on every backend, with a real DNS server for the domain proofs and a samlify IdP.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { auditEventsOfRequest } from './helpers/audit.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, latestMail, sessionCookie, signUp, type Caller, type TestApp } from './helpers/app.js';
import { startTestDns, type TestDns } from './helpers/dns.js';
import { connectIdp, verifyDomain } from './helpers/saml-flow.js';
import { TestIdp } from './helpers/saml-idp.js';

type Headers = Record<string, string>;

function code(res: LightMyRequestResponse): string | undefined {
  return res.statusCode >= 400 ? res.json<{ error: { code: string } }>().error.code : undefined;
}

const unique = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

describe.each(BACKENDS)('the profile on $name', (backend) => {
  let t: TestApp;
  let dns: TestDns;

  const session = (headers: Headers) => t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers });
  const rename = (headers: Headers, payload: unknown) => t.app.inject({ method: 'PATCH', url: '/api/v1/auth/account', headers, payload: payload as object });
  const askChange = (headers: Headers, payload: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/auth/account/email', headers, payload: payload as object });
  const confirm = (headers: Headers, token: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/account/email/confirm', headers, payload: { token } });
  const cancel = (headers: Headers) => t.app.inject({ method: 'DELETE', url: '/api/v1/auth/account/email', headers });
  /** The pending address the account reads back in its session, once the request's work is done. */
  const pendingOf = async (headers: Headers) => {
    await t.services.accounts.settle();
    const res = await session(headers);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ account: { pendingEmail: string | null } }>().account.pendingEmail;
  };
  const expireChangeLinks = (accountId: string) =>
    t.database.raw(`UPDATE rampart.email_tokens SET expires_at = now() - interval '1 second' WHERE account_id = $1 AND purpose = 'change_email'`, [accountId]);
  const signIn = (email: string, password: string) => t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email, password } });
  /** The mail held for an address, newest first (the outbox, as the development mailbox reads it). */
  const mailTo = async (to: string) => {
    await t.services.accounts.settle();
    return t.services.mailer.mailbox({ to, limit: 50 });
  };
  const linkOf = (text: string) => /\/email-change#token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
  /** The account's own events, newest first, as it reads them. */
  const ownEvents = async (c: Caller) => {
    await t.services.accounts.settle();
    await t.services.audit.settle();
    return (await session(c.bearer)).statusCode === 200
      ? (await t.app.inject({ method: 'GET', url: '/api/v1/auth/events', headers: c.bearer })).json<{ data: Array<{ action: string; outcome: string; details: Record<string, unknown> }> }>().data
      : [];
  };

  /** Asks for a change to `email` and returns the token of the link sent there. */
  async function changeLink(c: Caller, email: string): Promise<string> {
    const res = await askChange(c.bearer, { email, password: c.password });
    expect(res.statusCode, res.body).toBe(202);
    const token = linkOf((await latestMail(t, email)).text);
    if (!token) throw new Error(`no email-change link for ${email}`);
    return token;
  }

  beforeAll(async () => {
    dns = await startTestDns();
    t = await buildTestApp(backend, { dnsServers: [dns.server] });
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  describe('the name', () => {
    it('changes with PATCH /auth/account: the answer, the session and the workspace show it; one event without the name', async () => {
      const c = await signUp(t, 'renamed');
      const ws = (await createWorkspace(t, c, 'Names')).id;
      const res = await rename(c.cookie, { name: '  Dana  Scully ' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ id: c.accountId, email: c.email, name: 'Dana  Scully', emailVerified: true, createdAt: expect.any(String), pendingEmail: null });
      expect((await session(c.bearer)).json().account.name).toBe('Dana  Scully');
      const members = (await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/members`, headers: c.bearer })).json<{ data: Array<{ name: string }> }>().data;
      expect(members.map((m) => m.name)).toEqual(['Dana  Scully']);
      expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'auth.name_changed', outcome: 'success' }]);
      const [event] = await ownEvents(c);
      expect(event).toMatchObject({ action: 'auth.name_changed', details: {} });
      expect(JSON.stringify(event)).not.toContain('Scully');
    });

    it('refuses a name with hidden characters, a cookie write without its CSRF token, and no session; nothing changes', async () => {
      const c = await signUp(t, 'kept');
      const before = (await session(c.bearer)).json().account.name;
      const hidden = await rename(c.bearer, { name: 'Eve\u202Egnp.exe' });
      expect(hidden.statusCode).toBe(400);
      expect(code(hidden)).toBe('validation_failed');
      expect(code(await rename(c.bearer, { name: 'x'.repeat(201) }))).toBe('validation_failed');
      expect(code(await rename(c.bearer, { name: 'Ok', email: 'x@example.test' }))).toBe('validation_failed');
      expect(code(await rename({ cookie: c.cookie['cookie'] as string }, { name: 'No CSRF' }))).toBe('csrf_failed');
      expect(code(await rename({}, { name: 'Nobody' }))).toBe('unauthenticated');
      expect((await session(c.bearer)).json().account.name).toBe(before);
    });
  });

  describe('the email address', () => {
    it('changes once the link sent to the new address is opened signed in: other sessions end, the old address is told at both steps', async () => {
      const c = await signUp(t, 'mover');
      const newEmail = `${unique('moved')}@example.test`;
      const asked = await askChange(c.bearer, { email: newEmail.toUpperCase(), password: c.password });
      expect(asked.statusCode, asked.body).toBe(202);
      expect(asked.json()).toEqual({ pendingEmail: newEmail });
      expect(await auditEventsOfRequest(t, asked.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_change_requested', outcome: 'success' }]);
      // Nothing changed yet; the new address has the link, the current one a notice naming it.
      expect((await session(c.bearer)).json().account.email).toBe(c.email);
      const [link] = await mailTo(newEmail);
      expect(link?.template).toBe('email_change_verify');
      const token = linkOf(link?.text ?? '') as string;
      expect(token).toMatch(/^rel_/);
      const [notice] = await mailTo(c.email);
      expect(notice).toMatchObject({ template: 'email_change_requested' });
      expect(notice?.text).toContain(newEmail);
      expect(notice?.text).not.toContain(token);

      const confirmed = await confirm(c.bearer, token);
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      expect(confirmed.json()).toEqual({ id: c.accountId, email: newEmail, name: expect.any(String), emailVerified: true, createdAt: expect.any(String), pendingEmail: null });
      expect(await auditEventsOfRequest(t, confirmed.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_changed', outcome: 'success' }]);
      expect((await ownEvents(c))[0]).toMatchObject({ action: 'auth.email_changed', details: { from: c.email, to: newEmail, sessionsEnded: 1 } });
      // This session goes on; the cookie session signUp also opened has ended.
      expect((await session(c.bearer)).json().account).toMatchObject({ email: newEmail, emailVerified: true });
      expect((await session(c.cookie)).statusCode).toBe(401);
      const [changed] = await mailTo(c.email);
      expect(changed).toMatchObject({ template: 'email_changed' });
      expect(changed?.text).toContain(newEmail);
      // Signing in is with the new address now.
      expect((await signIn(newEmail, c.password)).statusCode).toBe(201);
      expect(code(await signIn(c.email, c.password))).toBe('invalid_credentials');
      // The link works once.
      const again = await confirm(c.bearer, token);
      expect(again.statusCode).toBe(400);
      expect(code(again)).toBe('invalid_link');
    });

    it('with a cookie session: the CSRF token still works after confirming (the session is kept, not rotated)', async () => {
      const c = await signUp(t, 'cookie-mover');
      const newEmail = `${unique('cookie-moved')}@example.test`;
      const res = await askChange(c.cookie, { email: newEmail, password: c.password });
      expect(res.statusCode, res.body).toBe(202);
      const token = linkOf((await latestMail(t, newEmail)).text) as string;
      expect((await confirm(c.cookie, token)).statusCode).toBe(200);
      expect((await rename(c.cookie, { name: 'Still here' })).statusCode).toBe(200);
      expect((await session(c.bearer)).statusCode).toBe(401);
    });

    it('needs the password: a missing or wrong one is 401 reauthentication_required, recorded, and sends nothing', async () => {
      const c = await signUp(t, 'no-proof');
      const target = `${unique('never')}@example.test`;
      for (const payload of [{ email: target }, { email: target, password: 'not the password at all' }]) {
        const res = await askChange(c.bearer, payload);
        expect(res.statusCode).toBe(401);
        expect(code(res)).toBe('reauthentication_required');
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_change_requested', outcome: 'failure' }]);
      }
      expect(await mailTo(target)).toEqual([]);
      // The session is fine: a 401 here is not a signed-out answer.
      expect((await session(c.bearer)).statusCode).toBe(200);
    });

    it('without a password: a sign-in within the last 15 minutes instead', async () => {
      const c = await signUp(t, 'passwordless');
      await t.database.raw('UPDATE rampart.accounts SET password_hash = NULL WHERE id = $1', [c.accountId]);
      const fresh = await askChange(c.bearer, { email: `${unique('fresh')}@example.test` });
      expect(fresh.statusCode, fresh.body).toBe(202);
      await t.database.raw(`UPDATE rampart.sessions SET created_at = now() - interval '20 minutes' WHERE account_id = $1`, [c.accountId]);
      const stale = await askChange(c.bearer, { email: `${unique('stale')}@example.test` });
      expect(stale.statusCode).toBe(401);
      expect(code(stale)).toBe('reauthentication_required');
    });

    it('refuses the address it already has, and a malformed one', async () => {
      const c = await signUp(t, 'same');
      const same = await askChange(c.bearer, { email: c.email, password: c.password });
      expect(same.statusCode).toBe(400);
      expect(same.json().error).toMatchObject({ code: 'validation_failed', details: { issues: [{ path: 'body.email' }] } });
      expect(code(await askChange(c.bearer, { email: 'not an address', password: c.password }))).toBe('validation_failed');
      expect(code(await confirm(c.bearer, 'short'))).toBe('validation_failed');
    });

    it("an address another account holds: the same answer and the same events for the asker, a notice to the holder, no link anywhere", async () => {
      const asker = await signUp(t, 'asker');
      const holder = await signUp(t, 'holder');
      const free = `${unique('free')}@example.test`;
      const answers: Array<{ status: number; body: unknown }> = [];
      for (const email of [free, holder.email]) {
        const res = await askChange(asker.bearer, { email, password: asker.password });
        answers.push({ status: res.statusCode, body: Object.keys(res.json()) });
        expect(res.json()).toEqual({ pendingEmail: email });
      }
      expect(answers[0]).toEqual(answers[1]);
      const events = (await ownEvents(asker)).filter((e) => e.action === 'auth.email_change_requested').slice(0, 2);
      expect(events.map((e) => [e.outcome, Object.keys(e.details)])).toEqual([
        ['success', ['pendingEmail']],
        ['success', ['pendingEmail']],
      ]);
      const [toHolder] = await mailTo(holder.email);
      expect(toHolder?.template).toBe('email_change_taken');
      expect(toHolder?.text).not.toMatch(/#token=/);
      expect(toHolder?.text).not.toContain(asker.email);
      // The asker's account was told both times; no change link went to the holder's address.
      expect((await mailTo(asker.email)).filter((m) => m.template === 'email_change_requested')).toHaveLength(2);
      expect((await mailTo(holder.email)).filter((m) => m.template === 'email_change_verify')).toEqual([]);
      // Asking again voids the earlier link whichever the second address was: nothing to tell them apart by.
      const token = linkOf((await mailTo(free))[0]?.text ?? '') as string;
      expect(code(await confirm(asker.bearer, token))).toBe('invalid_link');
      expect((await session(asker.bearer)).json().account.email).toBe(asker.email);
    });

    it("a link opened by another account, expired, or asked for again is invalid_link; the right account's fresh link still works", async () => {
      const c = await signUp(t, 'owner-of-link');
      const other = await signUp(t, 'other');
      const first = await changeLink(c, `${unique('first')}@example.test`);
      // Another signed-in account cannot use it, and using it so spends nothing.
      const stolen = await confirm(other.bearer, first);
      expect(code(stolen)).toBe('invalid_link');
      expect(await auditEventsOfRequest(t, stolen.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_changed', outcome: 'failure' }]);
      expect((await session(other.bearer)).json().account.email).toBe(other.email);
      // Signed out, it is not even looked at.
      expect(code(await confirm({}, first))).toBe('unauthenticated');
      // Expired.
      await t.database.raw(`UPDATE rampart.email_tokens SET expires_at = now() - interval '1 second' WHERE account_id = $1 AND purpose = 'change_email'`, [c.accountId]);
      expect(code(await confirm(c.bearer, first))).toBe('invalid_link');
      // A new link voids the one before it.
      const second = await changeLink(c, `${unique('second')}@example.test`);
      const thirdEmail = `${unique('third')}@example.test`;
      const third = await changeLink(c, thirdEmail);
      expect(code(await confirm(c.bearer, second))).toBe('invalid_link');
      expect((await confirm(c.bearer, third)).json().email).toBe(thirdEmail);
      // A link of another kind is no email-change link.
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: thirdEmail } });
      expect(code(await confirm(c.bearer, await latestLinkToken(t, thirdEmail)))).toBe('invalid_link');
    });

    it('an address taken between the request and the link: 409 account_exists, nothing changes, the link stays unused', async () => {
      const c = await signUp(t, 'racer');
      const contested = `${unique('contested')}@example.test`;
      const token = await changeLink(c, contested);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: contested, password: 'a long enough password 9', name: 'Quick' } });
      expect(res.statusCode).toBe(202);
      await t.services.accounts.settle();
      const taken = await confirm(c.bearer, token);
      expect(taken.statusCode).toBe(409);
      expect(code(taken)).toBe('account_exists');
      expect((await session(c.bearer)).json().account.email).toBe(c.email);
      const [row] = await t.database.raw<{ used_at: Date | null }>(`SELECT used_at FROM rampart.email_tokens WHERE account_id = $1 AND purpose = 'change_email' AND email = $2`, [
        c.accountId,
        contested,
      ]);
      expect(row?.used_at).toBeNull();
    });

    describe('an address a workspace manages', () => {
      let owner: Caller;
      let ws: string;
      let domain: string;
      let managed: Caller & { email: string };

      beforeAll(async () => {
        owner = await signUp(t, 'domain-owner');
        ws = (await createWorkspace(t, owner, 'Managed')).id;
        domain = `${unique('managed')}.test`;
        // An account moves to the domain's address before the workspace verifies the domain.
        const c = await signUp(t, 'employee');
        const email = `employee@${domain}`;
        expect((await confirm(c.bearer, await changeLink(c, email))).statusCode).toBe(200);
        managed = { ...c, email };
        await verifyDomain(t, dns, ws, domain, owner.bearer);
      });

      it('is refused 403 email_managed, recorded once with its reason, and nothing is sent', async () => {
        const target = `${unique('escape')}@example.test`;
        const res = await askChange(managed.bearer, { email: target, password: managed.password });
        expect(res.statusCode).toBe(403);
        expect(res.json().error).toMatchObject({ code: 'email_managed', details: { workspaceId: ws } });
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_change_requested', outcome: 'denied' }]);
        expect(await mailTo(target)).toEqual([]);
      });

      it('a link asked for before the current address became managed is refused when opened after', async () => {
        const c = await signUp(t, 'late');
        const later = `${unique('later')}.test`;
        expect((await confirm(c.bearer, await changeLink(c, `late@${later}`))).statusCode).toBe(200);
        const token = await changeLink(c, `${unique('away')}@example.test`);
        await verifyDomain(t, dns, ws, later, owner.bearer);
        const res = await confirm(c.bearer, token);
        expect(res.statusCode).toBe(403);
        expect(code(res)).toBe('email_managed');
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_changed', outcome: 'denied' }]);
        expect((await session(c.bearer)).json().account.email).toBe(`late@${later}`);
      });

      it('moving into a domain that enforces SSO is 403 sso_required, at the request and at the link', async () => {
        const c = await signUp(t, 'joiner');
        const token = await changeLink(c, `joiner@${domain}`);
        const idp = new TestIdp(`https://idp.${domain}/metadata`);
        await connectIdp(t, ws, idp, `https://idp.${domain}/sso`, owner.bearer);
        const domains = (await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/domains`, headers: owner.bearer })).json<{ data: Array<{ id: string; domain: string }> }>().data;
        const id = domains.find((d) => d.domain === domain)?.id ?? '';
        const enforce = await t.app.inject({ method: 'PATCH', url: `/api/v1/workspaces/${ws}/domains/${id}`, headers: owner.bearer, payload: { ssoEnforced: true } });
        expect(enforce.statusCode, enforce.body).toBe(200);
        const asked = await askChange(c.bearer, { email: `joiner2@${domain}`, password: c.password });
        expect(asked.json().error).toMatchObject({ code: 'sso_required', details: { workspaceId: ws } });
        const opened = await confirm(c.bearer, token);
        expect(code(opened)).toBe('sso_required');
        expect((await session(c.bearer)).json().account.email).toBe(c.email);
      });
    });

    describe('the pending change, as the account reads it back', () => {
      it('is on the Account of every answer of its own until confirmed: the session, a sign-in, a rename; then null', async () => {
        const c = await signUp(t, 'pending');
        expect(await pendingOf(c.bearer)).toBeNull();
        const newEmail = `${unique('pending')}@example.test`;
        const token = await changeLink(c, newEmail);
        expect(await pendingOf(c.bearer)).toBe(newEmail);
        expect(await pendingOf(c.cookie)).toBe(newEmail);
        const signedIn = await signIn(c.email, c.password);
        expect(signedIn.json().account).toMatchObject({ email: c.email, pendingEmail: newEmail });
        expect((await rename(c.bearer, { name: 'Pending Person' })).json()).toMatchObject({ email: c.email, pendingEmail: newEmail });
        const confirmed = await confirm(c.bearer, token);
        expect(confirmed.json()).toMatchObject({ email: newEmail, pendingEmail: null });
        expect(await pendingOf(c.bearer)).toBeNull();
      });

      it('is null once its link expired', async () => {
        const c = await signUp(t, 'pending-expired');
        await changeLink(c, `${unique('expiring')}@example.test`);
        await expireChangeLinks(c.accountId);
        expect(await pendingOf(c.bearer)).toBeNull();
      });

      it('is the newest request: asking again, the same address or another, shows that one and voids the earlier link', async () => {
        const c = await signUp(t, 'pending-again');
        const first = `${unique('first')}@example.test`;
        const firstToken = await changeLink(c, first);
        // "Send the link again": the same address, with the password again.
        const resent = await changeLink(c, first);
        expect(resent).not.toBe(firstToken);
        expect(await pendingOf(c.bearer)).toBe(first);
        expect(code(await confirm(c.bearer, firstToken))).toBe('invalid_link');
        const second = `${unique('second')}@example.test`;
        await changeLink(c, second);
        expect(await pendingOf(c.bearer)).toBe(second);
        expect(code(await confirm(c.bearer, resent))).toBe('invalid_link');
      });

      it('takes effect in the order answered: a cancel right after a request leaves nothing pending; requests at once leave one live link', async () => {
        const c = await signUp(t, 'pending-order');
        // No waiting between the two: the request's work must be done when it answers.
        expect((await askChange(c.bearer, { email: `${unique('asked')}@example.test`, password: c.password })).statusCode).toBe(202);
        expect((await cancel(c.bearer)).statusCode).toBe(204);
        await t.services.accounts.settle();
        expect(await pendingOf(c.bearer)).toBeNull();
        const live = async () =>
          (await t.database.raw<{ n: number }>(`SELECT count(*)::int AS n FROM rampart.email_tokens WHERE account_id = $1 AND purpose = 'change_email' AND used_at IS NULL`, [c.accountId]))[0]!.n;
        expect(await live()).toBe(0);
        const asked = Array.from({ length: 6 }, (_, i) => `${unique(`at-once-${i}`)}@example.test`);
        const answers = await Promise.all(asked.map((email) => askChange(c.bearer, { email, password: c.password })));
        expect(answers.map((r) => r.statusCode)).toEqual(asked.map(() => 202));
        await t.services.accounts.settle();
        expect(await live()).toBe(1);
        expect(asked).toContain(await pendingOf(c.bearer));
      });

      it('DELETE /auth/account/email cancels it: 204, its link stops working, one event naming the address; again is 204 too', async () => {
        const c = await signUp(t, 'canceller');
        const newEmail = `${unique('cancelled')}@example.test`;
        const token = await changeLink(c, newEmail);
        const res = await cancel(c.cookie);
        expect(res.statusCode, res.body).toBe(204);
        expect(res.body).toBe('');
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_change_cancelled', outcome: 'success' }]);
        expect((await ownEvents(c))[0]).toMatchObject({ action: 'auth.email_change_cancelled', outcome: 'success', details: { pendingEmail: newEmail } });
        expect(await pendingOf(c.bearer)).toBeNull();
        const opened = await confirm(c.bearer, token);
        expect(code(opened)).toBe('invalid_link');
        expect((await session(c.bearer)).json().account.email).toBe(c.email);
        // Nothing pending: the same answer; the event says nothing was.
        const again = await cancel(c.bearer);
        expect(again.statusCode).toBe(204);
        expect(await auditEventsOfRequest(t, again.headers['x-request-id'] as string)).toEqual([{ action: 'auth.email_change_cancelled', outcome: 'failure' }]);
        expect((await ownEvents(c))[0]).toMatchObject({ action: 'auth.email_change_cancelled', details: { reason: 'nothing_pending' } });
      });

      it('cancelling needs the session: without the CSRF token or signed out nothing is cancelled', async () => {
        const c = await signUp(t, 'cancel-refused');
        const newEmail = `${unique('kept')}@example.test`;
        await changeLink(c, newEmail);
        expect(code(await cancel({ cookie: c.cookie['cookie'] as string }))).toBe('csrf_failed');
        expect(code(await cancel({}))).toBe('unauthenticated');
        expect(await pendingOf(c.bearer)).toBe(newEmail);
      });

      it('an address another account holds reads exactly as a free one: present, expired, cancelled', async () => {
        const asker = await signUp(t, 'pending-asker');
        const holder = await signUp(t, 'pending-holder');
        const free = `${unique('free')}@example.test`;
        const seen: Array<{ account: unknown; cancelled: unknown }> = [];
        for (const email of [free, holder.email]) {
          expect((await askChange(asker.bearer, { email, password: asker.password })).statusCode).toBe(202);
          await t.services.accounts.settle();
          const account = (await session(asker.bearer)).json().account;
          expect(account.pendingEmail).toBe(email);
          const res = await cancel(asker.bearer);
          expect(res.statusCode).toBe(204);
          const [event] = await ownEvents(asker);
          seen.push({ account: { ...account, pendingEmail: '(asked)' }, cancelled: [event?.action, event?.outcome, Object.keys(event?.details ?? {})] });
          expect(await pendingOf(asker.bearer)).toBeNull();
          // Asked again, then expired: gone the same way.
          expect((await askChange(asker.bearer, { email, password: asker.password })).statusCode).toBe(202);
          expect(await pendingOf(asker.bearer)).toBe(email);
          await expireChangeLinks(asker.accountId);
          expect(await pendingOf(asker.bearer)).toBeNull();
        }
        expect(seen[0]).toEqual(seen[1]);
        // The holder's own account shows nothing of it, and still no link went to the holder.
        expect(await pendingOf(holder.bearer)).toBeNull();
        expect((await mailTo(holder.email)).filter((m) => m.template === 'email_change_verify')).toEqual([]);
      });

      it("is the account's own only: not in member lists, not in another account's answers", async () => {
        const owner = await signUp(t, 'pending-owner');
        const ws = (await createWorkspace(t, owner, 'Pending')).id;
        const member = await signUp(t, 'pending-member');
        await t.services.members.addMember(tenantContext(ws, owner.accountId), member.accountId, 'member');
        const newEmail = `${unique('secret-move')}@example.test`;
        await changeLink(member, newEmail);
        expect(await pendingOf(member.bearer)).toBe(newEmail);
        for (const viewer of [owner, member]) {
          const res = await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/members`, headers: viewer.bearer });
          expect(res.statusCode, res.body).toBe(200);
          const listed = res.json<{ data: Array<Record<string, unknown>> }>().data;
          expect(listed.map((m) => m['email']).sort()).toEqual([owner.email, member.email].sort());
          expect(listed.every((m) => !('pendingEmail' in m))).toBe(true);
          expect(res.body).not.toContain(newEmail);
        }
        expect(JSON.stringify((await session(owner.bearer)).json())).not.toContain(newEmail);
      });
    });

    it('is rate limited per new address', async () => {
      const limited = await buildTestApp(backend, {}, { limits: { email_link: { points: 2, durationSeconds: 60 } } });
      try {
        const c = await signUp(limited, 'limited');
        const target = `${unique('flooded')}@example.test`;
        const ask = () => limited.app.inject({ method: 'POST', url: '/api/v1/auth/account/email', headers: c.bearer, payload: { email: target, password: c.password } });
        // Sign-up's own verification link counted against the account's address, not this one.
        expect((await ask()).statusCode).toBe(202);
        expect((await ask()).statusCode).toBe(202);
        const third = await ask();
        expect(third.statusCode).toBe(429);
        expect(code(third)).toBe('rate_limited');
      } finally {
        await limited.close();
      }
    });
  });

  it('a new session after the change is asked with the new address only', async () => {
    const c = await signUp(t, 'cookie-after');
    const newEmail = `${unique('after')}@example.test`;
    expect((await confirm(c.bearer, await changeLink(c, newEmail))).statusCode).toBe(200);
    const signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: newEmail, password: c.password } });
    expect(signedIn.statusCode).toBe(200);
    expect(sessionCookie(signedIn)).toBeTruthy();
  });
});
