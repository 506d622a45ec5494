/**
 * Identity end to end, on every backend: sign-up with email verification, magic links, password
 * reset, the password policy, sessions (timeouts, rotation, listing, revocation), brute-force
 * limits and lockout, the workspace MFA requirement, and the authentication events behind them.
 * Mail is read from the outbox, where it stays when no SMTP server is configured.
 */
import { randomBytes } from 'node:crypto';
import { hash } from '@node-rs/argon2';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import os from 'node:os';
import { passwordProblem, Passwords } from '../src/modules/accounts/passwords.js';
import { tenantContext } from '../src/platform/db/types.js';
import { sha256 } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, latestMail, sessionCookie, signUp, type Caller, type TestApp } from './helpers/app.js';

const BROWSER = { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36' };

function newEmail(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.test`;
}
const strongPassword = () => `correct horse ${randomBytes(6).toString('hex')}`;

function cookieOf(res: LightMyRequestResponse, name: string): string | undefined {
  return res.cookies.find((c) => c.name === name)?.value;
}

function withoutRequestId(res: LightMyRequestResponse): unknown {
  const body = res.json<Record<string, unknown>>();
  if ('error' in body) return { ...(body['error'] as object), requestId: undefined };
  return body;
}

describe.each(BACKENDS)('identity on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
  });
  afterAll(async () => t?.close());

  /**
   * Answers for an email with an account and for fresh ones take the same time: medians of
   * interleaved samples, each measured alone (the work deferred after an answer is waited for
   * outside the measurement).
   */
  async function expectSameTiming(url: string, body: (email: string) => Record<string, unknown>, known: string): Promise<void> {
    const db = t.database.db;
    const time = async (email: string) => {
      // Nothing is looked up before the answer: no transaction starts until it has been sent.
      // (The audit sequencer, background work of earlier requests, is settled first.)
      await t.services.audit.settle();
      const spies = [vi.spyOn(db, 'withGlobal'), vi.spyOn(db, 'withAccount')];
      const start = process.hrtime.bigint();
      const res = await t.app.inject({ method: 'POST', url, payload: body(email) });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const queried = spies.reduce((n, spy) => n + spy.mock.calls.length, 0);
      for (const spy of spies) spy.mockRestore();
      expect(res.statusCode).toBe(202);
      expect(queried, `${url} for ${email}`).toBe(0);
      await t.services.accounts.settle();
      return ms;
    };
    const withAccount: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < 24; i++) {
      if (i % 2 === 0) {
        withAccount.push(await time(known));
        without.push(await time(newEmail('timing')));
      } else {
        without.push(await time(newEmail('timing')));
        withAccount.push(await time(known));
      }
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    // Both answer before any lookup or hashing, so neither is slower by a query or an argon2 hash.
    // Each pair is timed back to back, so the median of the pairs' differences is not moved by
    // other test files loading the machine in between; a query or a hash would still show in it.
    const differences = withAccount.map((ms, i) => ms - (without[i] as number));
    expect(Math.abs(median(differences))).toBeLessThan(Math.max(4, 0.5 * Math.min(median(withAccount), median(without))));
  }

  async function eventsOf(accountId: string): Promise<Array<{ action: string; outcome: string; ip: string | null; user_agent: string | null }>> {
    await t.services.accounts.settle();
    return t.database.raw('SELECT action, outcome, ip, user_agent FROM auth_events WHERE account_id = $1 ORDER BY created_at', [accountId]);
  }

  describe('sign-up and verification', () => {
    it('answers a new and a taken email alike, and mails each what fits', async () => {
      const fresh = newEmail('fresh');
      const a = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: fresh, password: strongPassword() } });
      const b = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email: owner.email.toUpperCase(), password: strongPassword() } });
      expect(a.statusCode).toBe(202);
      expect(b.statusCode).toBe(202);
      expect(a.json()).toEqual({ status: 'verification_sent' });
      expect(b.json()).toEqual(a.json());
      expect(a.cookies.find((c) => c.name === '__Host-rampart_session')).toBeUndefined();
      expect((await latestMail(t, fresh)).template).toBe('verify_email');
      expect((await latestMail(t, owner.email)).template).toBe('signup_existing');
      // The taken email's password did not change.
      const still = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: owner.email, password: owner.password } });
      expect(still.statusCode).toBe(200);
    });

    it('takes about as long for a taken email as for a new one', async () => {
      await expectSameTiming('/api/v1/auth/sign-up', (email) => ({ email, password: strongPassword() }), owner.email);
    });

    it('refuses password sign-in until the address is verified, and sends a new link', async () => {
      const email = newEmail('unverified');
      const password = strongPassword();
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password } });
      const first = await latestLinkToken(t, email);
      const early = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email, password } });
      expect(early.statusCode).toBe(403);
      expect(early.json().error.code).toBe('email_not_verified');
      const second = await latestLinkToken(t, email);
      expect(second).not.toBe(first);
      // A new link voids the earlier one.
      const old = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: first } });
      expect(old.json().error.code).toBe('invalid_link');
      const ok = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: second } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ status: 'signed_in', account: { email, emailVerified: true } });
      const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: second } });
      expect(again.statusCode).toBe(400);
      expect(again.json().error.code).toBe('invalid_link');
    });

    it('binds the link re-sent at a refused sign-in to the browser that tried', async () => {
      const email = newEmail('resent');
      const password = strongPassword();
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', headers: BROWSER, payload: { email, password } });
      await t.services.accounts.settle();
      const early = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: BROWSER, payload: { email, password } });
      expect(early.json().error.code).toBe('email_not_verified');
      const bind = cookieOf(early, '__Host-rampart_bind') as string;
      const token = await latestLinkToken(t, email);
      const elsewhere = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', headers: BROWSER, payload: { token } });
      expect(elsewhere.json()).toEqual({ status: 'verified' });
      // The token is spent; the browser that tried signs in with its password now.
      const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: { ...BROWSER, cookie: `__Host-rampart_bind=${bind}` }, payload: { email, password } });
      expect(again.statusCode).toBe(200);
    });

    it('verifies from another browser but signs in only in the one that signed up', async () => {
      const email = newEmail('bound');
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', headers: BROWSER, payload: { email, password: strongPassword() } });
      const bind = cookieOf(res, '__Host-rampart_bind');
      expect(bind).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const token = await latestLinkToken(t, email);
      const elsewhere = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', headers: BROWSER, payload: { token } });
      expect(elsewhere.json()).toEqual({ status: 'verified' });
      expect(cookieOf(elsewhere, '__Host-rampart_session')).toBeUndefined();
    });

    it('refuses unknown, forged and malformed tokens with the same answer, changing nothing', async () => {
      const forged = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: `rel_${randomBytes(32).toString('base64url')}` } });
      expect(forged.statusCode).toBe(400);
      expect(forged.json().error.code).toBe('invalid_link');
      const malformed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: 'abc<script>' } });
      expect(malformed.json().error.code).toBe('validation_failed');
      const huge = await t.app.inject({ method: 'POST', url: '/api/v1/auth/verify-email', payload: { token: 'a'.repeat(5000) } });
      expect(huge.json().error.code).toBe('validation_failed');
    });
  });

  describe('magic links', () => {
    it('answers known and unknown emails alike, and signs in once with the link', async () => {
      const known = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: owner.email } });
      const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: newEmail('nobody') } });
      expect(known.statusCode).toBe(202);
      expect(unknown.json()).toEqual(known.json());
      const mail = await latestMail(t, owner.email);
      expect(mail.template).toBe('magic_link');
      expect(mail.text).toContain('15 minutes');
      const token = await latestLinkToken(t, owner.email);
      const used = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', payload: { token } });
      expect(used.statusCode).toBe(200);
      expect(used.json()).toMatchObject({ status: 'signed_in', account: { id: owner.accountId } });
      const replay = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', payload: { token } });
      expect(replay.json().error.code).toBe('invalid_link');
    });

    it("drops the password of an unverified sign-up when the address's owner signs in by link", async () => {
      // Someone signs up with another person's address and a password of their choosing...
      const email = newEmail('prehijack');
      const squatterPassword = strongPassword();
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-up', payload: { email, password: squatterPassword } });
      await t.services.accounts.settle();
      // ...the owner, who never signed up, signs in with a magic link...
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email } });
      const token = await latestLinkToken(t, email);
      const owned = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', payload: { token } });
      expect(owned.statusCode).toBe(200);
      expect(owned.json().account.emailVerified).toBe(true);
      // ...and the squatter's password no longer opens the account.
      const squatter = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email, password: squatterPassword } });
      expect(squatter.statusCode).toBe(401);
    });

    it('takes about as long for an unknown email, and the same for a reset', async () => {
      await expectSameTiming('/api/v1/auth/magic-link', (email) => ({ email }), owner.email);
      await expectSameTiming('/api/v1/auth/password-reset', (email) => ({ email }), owner.email);
    });

    it('expires after 15 minutes', async () => {
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: owner.email } });
      const token = await latestLinkToken(t, owner.email);
      const [row] = await t.database.raw<{ ttl: number }>(
        "SELECT extract(epoch FROM expires_at - created_at)::int AS ttl FROM email_tokens WHERE account_id = $1 AND used_at IS NULL",
        [owner.accountId],
      );
      expect(row?.ttl).toBe(900);
      await t.database.raw("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE account_id = $1 AND used_at IS NULL", [owner.accountId]);
      const late = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', payload: { token } });
      expect(late.json().error.code).toBe('invalid_link');
    });

    it('stores only a digest of the token', async () => {
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email: owner.email } });
      const token = await latestLinkToken(t, owner.email);
      const rows = await t.database.raw<{ token_hash: Buffer }>('SELECT token_hash FROM email_tokens WHERE account_id = $1', [owner.accountId]);
      // The row holds the token's SHA-256, and nothing anywhere in the table holds the token.
      expect(rows.filter((r) => r.token_hash.equals(sha256(token)))).toHaveLength(1);
      const dump = JSON.stringify(await t.database.raw('SELECT * FROM email_tokens'));
      expect(dump).not.toContain(token);
    });

    it('works only in the browser that asked for it', async () => {
      const asked = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', headers: BROWSER, payload: { email: owner.email } });
      const bind = cookieOf(asked, '__Host-rampart_bind') as string;
      const token = await latestLinkToken(t, owner.email);
      const other = await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link/consume', headers: BROWSER, payload: { token } });
      expect(other.statusCode).toBe(400);
      expect(other.json().error.code).toBe('link_other_browser');
      const same = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/magic-link/consume',
        headers: { ...BROWSER, cookie: `__Host-rampart_bind=${bind}` },
        payload: { token },
      });
      expect(same.statusCode).toBe(200);
      expect(cookieOf(same, '__Host-rampart_session')).toBeDefined();
    });
  });

  describe('password reset and change', () => {
    it('resets the password, ends every session, and refuses a weak one without using the link', async () => {
      const user = await signUp(t, 'resetter');
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/password-reset', payload: { email: user.email } });
      const token = await latestLinkToken(t, user.email);
      const weak = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password: 'password1234' } });
      expect(weak.statusCode).toBe(400);
      expect(weak.json().error.code).toBe('weak_password');
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: user.bearer })).statusCode).toBe(200);
      const password = strongPassword();
      const done = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password-reset/complete', payload: { token, password } });
      expect(done.statusCode).toBe(200);
      expect(done.json().status).toBe('signed_in');
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: user.bearer })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password: user.password } })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password } })).statusCode).toBe(200);
      expect((await latestMail(t, user.email)).template).toBe('password_changed');
    });

    it('changes the password with the current one, ending other sessions and rotating this one', async () => {
      const user = await signUp(t, 'changer');
      const wrong = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password',
        headers: user.cookie,
        payload: { currentPassword: 'not the password at all', newPassword: strongPassword() },
      });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.code).toBe('reauthentication_required');
      const newPassword = strongPassword();
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: user.cookie, payload: { currentPassword: user.password, newPassword } });
      expect(res.statusCode).toBe(200);
      const rotated = sessionCookie(res);
      expect(`__Host-rampart_session=${rotated}`).not.toBe(user.cookie['cookie']);
      // The old cookie token and the other (bearer) session are dead; the rotated cookie works.
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: user.cookie['cookie'] as string } })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: user.bearer })).statusCode).toBe(401);
      const now = await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: `__Host-rampart_session=${rotated}` } });
      expect(now.statusCode).toBe(200);
      expect(now.json().csrfToken).toBe(res.json().csrfToken);
      // The CSRF token rotated with the session token: the old one no longer passes.
      expect(res.json().csrfToken).not.toBe(user.cookie['x-csrf-token']);
      const staleCsrf = await t.app.inject({
        method: 'POST',
        url: '/api/v1/workspaces',
        headers: { cookie: `__Host-rampart_session=${rotated}`, 'x-csrf-token': user.cookie['x-csrf-token'] as string },
        payload: { name: 'Stale CSRF' },
      });
      expect(staleCsrf.statusCode).toBe(403);
      expect(staleCsrf.json().error.code).toBe('csrf_failed');
    });

    it('rehashes a password stored with other argon2 parameters at the next sign-in', async () => {
      const user = await signUp(t, 'rehash');
      const old = await hash(user.password, { algorithm: 2, memoryCost: 8192, timeCost: 1, parallelism: 1 });
      await t.database.raw('UPDATE accounts SET password_hash = $2 WHERE id = $1', [user.accountId, old]);
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password: user.password } });
      expect(res.statusCode).toBe(200);
      const [row] = await t.database.raw<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [user.accountId]);
      expect(row?.password_hash).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${t.config.argon2MemoryKib},t=${t.config.argon2TimeCost},p=${t.config.argon2Parallelism}\\$`));
    });
  });

  describe('sessions', () => {
    it('lists my sessions with device and place, and revokes one at once', async () => {
      const user = await signUp(t, 'sessions');
      const browser = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: BROWSER, payload: { email: user.email, password: user.password } });
      const browserCookie = `__Host-rampart_session=${sessionCookie(browser)}`;
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: user.bearer });
      expect(list.statusCode).toBe(200);
      const items = list.json<{ data: Array<{ id: string; current: boolean; device: string; place: string; kind: string }> }>().data;
      expect(items.length).toBeGreaterThanOrEqual(3);
      expect(items.filter((s) => s.current)).toHaveLength(1);
      const chrome = items.find((s) => s.id === browser.json().session.id);
      expect(chrome).toMatchObject({ kind: 'cookie', device: 'Chrome 156 on Linux', place: 'This machine' });
      const revoke = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${chrome?.id}`, headers: user.bearer });
      expect(revoke.statusCode).toBe(204);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: browserCookie } })).statusCode).toBe(401);
      // Another account's session id is not mine to revoke.
      const foreign = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${chrome?.id}`, headers: owner.bearer });
      expect(foreign.json().error.code).toBe('session_not_found');
      const others = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sessions/revoke-others', headers: user.bearer });
      expect(others.json().revoked).toBeGreaterThanOrEqual(1);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: user.cookie['cookie'] as string } })).statusCode).toBe(401);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: user.bearer })).statusCode).toBe(200);
    });

    it('ends a session after the idle timeout and at its absolute expiry, and moves the idle clock', async () => {
      const user = await signUp(t, 'idle');
      const sid = (await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: user.bearer })).json().session.id as string;
      await t.database.raw("UPDATE sessions SET last_seen_at = now() - interval '5 minutes' WHERE id = $1", [sid]);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: user.bearer })).statusCode).toBe(200);
      await t.services.accounts.settle();
      const [seen] = await t.database.raw<{ age: number }>('SELECT extract(epoch FROM now() - last_seen_at) AS age FROM sessions WHERE id = $1', [sid]);
      expect(Number(seen?.age)).toBeLessThan(30);
      await t.database.raw('UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE id = $1', [sid, t.config.sessionIdleSeconds + 1]);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: user.bearer })).statusCode).toBe(401);
      const other = (await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: user.cookie['cookie'] as string } })).json().session.id as string;
      await t.database.raw("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [other]);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: { cookie: user.cookie['cookie'] as string } })).statusCode).toBe(401);
    });

    it('replaces the session a browser carried when it signs in again', async () => {
      const user = await signUp(t, 'fixation');
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/sign-in',
        headers: { cookie: user.cookie['cookie'] as string },
        payload: { email: user.email, password: user.password },
      });
      expect(res.statusCode).toBe(200);
      expect(`__Host-rampart_session=${sessionCookie(res)}`).not.toBe(user.cookie['cookie']);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { cookie: user.cookie['cookie'] as string } })).statusCode).toBe(401);
    });
  });

  describe('adding a sign-in method', () => {
    it('needs a recent sign-in, so an old stolen session cannot plant its own factor', async () => {
      const user = await signUp(t, 'sudo');
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/totp', headers: user.bearer })).statusCode).toBe(200);
      await t.database.raw("UPDATE sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1", [user.accountId]);
      for (const url of ['/api/v1/account/mfa/totp', '/api/v1/account/mfa/passkeys/options']) {
        const res = await t.app.inject({ method: 'POST', url, headers: user.bearer });
        expect(res.statusCode, url).toBe(401);
        expect(res.json().error.code).toBe('reauthentication_required');
      }
    });
  });

  describe('workspace MFA requirement', () => {
    it('an owner must have proved a second factor to require one; members without are sent to enrol', async () => {
      const boss = await signUp(t, 'boss');
      const member = await signUp(t, 'member');
      const ws = await createWorkspace(t, boss, 'Strict');
      await t.services.members.addMember(tenantContext(ws.id, boss.accountId), member.accountId, 'member');
      const url = `/api/v1/workspaces/${ws.id}`;
      const refused = await t.app.inject({ method: 'PATCH', url, headers: boss.bearer, payload: { requireMfa: true } });
      expect(refused.statusCode).toBe(403);
      expect(refused.json().error.code).toBe('mfa_enrolment_required');
      // As if the owner's session had proved a second factor.
      await t.database.raw('UPDATE sessions SET mfa_at = now() WHERE account_id = $1', [boss.accountId]);
      const on = await t.app.inject({ method: 'PATCH', url, headers: boss.bearer, payload: { requireMfa: true } });
      expect(on.statusCode).toBe(200);
      expect(on.json().requireMfa).toBe(true);
      const blocked = await t.app.inject({ method: 'GET', url, headers: member.bearer });
      expect(blocked.statusCode).toBe(403);
      expect(blocked.json().error.code).toBe('mfa_enrolment_required');
      // The member still sees the workspace in their list (to be told to enrol).
      const mine = await t.app.inject({ method: 'GET', url: '/api/v1/workspaces', headers: member.bearer });
      expect(mine.json().data).toEqual(expect.arrayContaining([expect.objectContaining({ id: ws.id, requireMfa: true })]));
    });
  });

  describe('events', () => {
    it('records sign-ins, failures and revocations with address and user agent', async () => {
      const user = await signUp(t, 'audited');
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', headers: BROWSER, payload: { email: user.email, password: 'wrong password here' } });
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: user.bearer });
      const events = await eventsOf(user.accountId);
      const actions = events.map((e) => `${e.action}:${e.outcome}`);
      expect(actions).toEqual(expect.arrayContaining(['auth.sign_up:success', 'auth.email_verified:success', 'auth.sign_in:success', 'auth.sign_in:failure', 'auth.sign_out:success']));
      const failure = events.find((e) => e.action === 'auth.sign_in' && e.outcome === 'failure');
      expect(failure).toMatchObject({ ip: '127.0.0.1', user_agent: BROWSER['user-agent'] });
      const api = await t.app.inject({ method: 'GET', url: '/api/v1/auth/events', headers: owner.bearer });
      expect(api.statusCode).toBe(200);
      expect(api.json().data.length).toBeGreaterThan(0);
      expect(JSON.stringify(api.json())).not.toContain(user.accountId);
    });
  });
});

const STORES = [
  { store: 'memory', redisUrl: undefined },
  { store: 'Redis', redisUrl: process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379' },
] as const;

describe.each(STORES)('brute-force protection with the $store store', ({ redisUrl }) => {
  let t: TestApp;
  let user: Caller;

  beforeAll(async () => {
    t = await buildTestApp(BACKENDS[BACKENDS.length - 1]!, {}, { redisUrl, limits: { account: { points: 50, durationSeconds: 60 }, lockout: { failures: 3, windowSeconds: 60, lockSeconds: 120 }, email_link: { points: 2, durationSeconds: 60 } } });
    user = await signUp(t, 'target');
  });
  afterAll(async () => t?.close());

  it('locks an account after repeated failures, with Retry-After and an email to its owner', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password: `wrong password ${i}` } });
      expect(res.statusCode).toBe(401);
    }
    const locked = await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: user.email, password: user.password } });
    expect(locked.statusCode).toBe(429);
    expect(locked.json().error.code).toBe('rate_limited');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(60);
    expect((await latestMail(t, user.email)).template).toBe('account_locked');
    const [lockout] = await t.database.raw('SELECT outcome FROM auth_events WHERE account_id = $1 AND action = $2', [user.accountId, 'auth.lockout']);
    expect(lockout).toEqual({ outcome: 'denied' });
  });

  it('locks an unknown email exactly like a real one', async () => {
    const ghost = newEmail('ghost');
    const answers: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(withoutRequestId(await t.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { email: ghost, password: `wrong password ${i}` } })));
    }
    expect(answers[3]).toMatchObject({ code: 'rate_limited' });
  });

  it('limits email links per address, whether or not it has an account', async () => {
    for (const email of [user.email, newEmail('nobody')]) {
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push((await t.app.inject({ method: 'POST', url: '/api/v1/auth/magic-link', payload: { email } })).statusCode);
      expect(codes).toEqual([202, 202, 429]);
    }
  });
});

describe('password policy', () => {
  it('refuses short, common, padded-common, repeated and email-like passwords', async () => {
    expect(await passwordProblem('short')).toMatch(/at least 12/);
    expect(await passwordProblem('qwerty123456')).toMatch(/common/);
    expect(await passwordProblem('password123456!')).toMatch(/common/);
    expect(await passwordProblem('Iloveyou2024!!')).toMatch(/common/);
    expect(await passwordProblem('abcabcabcabc')).toMatch(/repeated/);
    expect(await passwordProblem('jane.doe@example.com', 'jane.doe@example.com')).toMatch(/email/);
    expect(await passwordProblem('correct horse battery staple')).toBeNull();
    expect(await passwordProblem('x7#Lq9!vB2$m')).toBeNull();
  });
});

describe('password hashing', () => {
  it('runs at most one hash per core and refuses beyond a bounded queue, with Retry-After', async () => {
    const passwords = new Passwords({ argon2MemoryKib: 8192, argon2TimeCost: 1, argon2Parallelism: 1 }, 2);
    const cores = os.availableParallelism();
    const settled = await Promise.allSettled(Array.from({ length: cores + 3 }, (_, i) => passwords.hash(`password number ${i}`)));
    const refused = settled.filter((r) => r.status === 'rejected');
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(cores + 2);
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'not_ready', status: 503, retryAfterSeconds: 1 });
  });

  it('verifies what it hashed, and nothing else', async () => {
    const passwords = new Passwords({ argon2MemoryKib: 8192, argon2TimeCost: 1, argon2Parallelism: 1 });
    const stored = await passwords.hash('correct horse battery staple');
    expect(await passwords.verify(stored, 'correct horse battery staple')).toBe(true);
    expect(await passwords.verify(stored, 'correct horse battery stable')).toBe(false);
    expect(await passwords.verify(null, 'anything at all here')).toBe(false);
    expect(passwords.needsRehash(stored)).toBe(false);
    expect(new Passwords({ argon2MemoryKib: 9216, argon2TimeCost: 1, argon2Parallelism: 1 }).needsRehash(stored)).toBe(true);
  });
});
