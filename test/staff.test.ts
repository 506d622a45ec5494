/**
 * The staff realm and consent-based staff access, end to end on every backend: a staff-admin
 * added as the CLI adds one, setup, TOTP (nothing else until it is proved), staff management,
 * the two realms kept apart, access requests emailed to those who may approve, approval, reads
 * through the grant recorded in the workspace's chain, expiry, denial, revocation, break-glass,
 * and every bad input refused with its code and recorded.
 */
import { createHash } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, latestLinkToken, latestMail, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';
import { addViaCli, errorCode, onboard, proveTotp, staffBearer, staffChain, totp, workspaceChain, type StaffCaller } from './helpers/staff.js';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

const STEP_MS = 30_000;

/** Waits, if need be, until at least 10 s of the current TOTP step remain, so "the same step" holds. */
async function awayFromStepEdge(): Promise<void> {
  const left = STEP_MS - (Date.now() % STEP_MS);
  if (left < 10_000) await new Promise((r) => setTimeout(r, left + 250));
}

/** The stored digest of the session behind bearer headers (to age that one session only). */
function digestOf(bearer: Record<string, string>): Buffer {
  return createHash('sha256').update((bearer['authorization'] as string).slice('Bearer '.length)).digest();
}

describe.each(BACKENDS)('staff access on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let admin: Caller;
  let member: Caller;
  let bob: Caller;
  let ws: string;
  let wsB: string;
  let recordIds: string[];
  let bRecordId: string;
  let staffAdmin: StaffCaller;
  let support: StaffCaller;
  let security: StaffCaller;
  let engineer: StaffCaller;

  const call = (headers: Record<string, string>, method: Method, url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const wbase = () => `/api/v1/workspaces/${ws}/access-requests`;

  async function join(role: 'admin' | 'member'): Promise<Caller> {
    const who = await signUp(t, role);
    const roles = (await call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/roles`)).json<{ data: Array<{ id: string; builtin: string | null }> }>().data;
    const invite = await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: who.email, roleId: roles.find((r) => r.builtin === role)?.id });
    expect(invite.statusCode, invite.body).toBe(201);
    const token = await latestLinkToken(t, who.email);
    expect((await call(who.bearer, 'POST', '/api/v1/invitations/accept', { token })).statusCode).toBe(200);
    return who;
  }

  async function request(who: StaffCaller, overrides: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
    return call(who.bearer, 'POST', '/api/v1/staff/access-requests', {
      workspaceId: ws,
      scope: 'records:read',
      justification: 'customer-initiated-support',
      reason: 'The customer reports a record that does not save.',
      ticket: 'SUP-1234',
      durationMinutes: 120,
      ...overrides,
    });
  }

  /** Files a request and has the owner approve it; returns the request and its grant id. */
  async function granted(who: StaffCaller, overrides: Record<string, unknown> = {}): Promise<{ id: string; grantId: string }> {
    const filed = await request(who, overrides);
    expect(filed.statusCode, filed.body).toBe(201);
    const id = filed.json<{ id: string }>().id;
    const approved = await call(owner.bearer, 'POST', `${wbase()}/${id}/approve`, {});
    expect(approved.statusCode, approved.body).toBe(200);
    return { id, grantId: approved.json<{ grant: { id: string } }>().grant.id };
  }

  const refusals = async (code: string) => (await staffChain(t)).filter((e) => e.action === 'staff.refused' && e.details['code'] === code);

  beforeAll(async () => {
    t = await buildTestApp(backend, { publicUrl: 'https://rampart.example.test' });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Acme')).id;
    admin = await join('admin');
    member = await join('member');
    await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/collections`, { name: 'tickets' });
    recordIds = [];
    for (const subject of ['Printer on fire', 'Cannot save record']) {
      const res = await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/collections/tickets/records`, { data: { subject } });
      recordIds.push(res.json<{ id: string }>().id);
    }
    bob = await signUp(t, 'bob');
    wsB = (await createWorkspace(t, bob, 'Beta')).id;
    await call(bob.bearer, 'POST', `/api/v1/workspaces/${wsB}/collections`, { name: 'tickets' });
    bRecordId = (await call(bob.bearer, 'POST', `/api/v1/workspaces/${wsB}/collections/tickets/records`, { data: { subject: 'beta-only-secret' } })).json<{ id: string }>().id;

    staffAdmin = await onboard(t, await addViaCli(t, 'staff-admin', 'Ada Admin'), 'staff-admin');
    const add = async (role: 'support' | 'security' | 'engineer', name: string) => {
      const res = await call(staffAdmin.bearer, 'POST', '/api/v1/staff/members', { email: `${role}-${Date.now()}@staff.example.test`, name, role });
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<{ member: { id: string; email: string; name: string }; setupLink: string }>();
      const setupToken = /#token=([A-Za-z0-9_-]+)$/.exec(body.setupLink)?.[1] as string;
      return onboard(t, { ...body.member, setupToken }, role);
    };
    support = await add('support', 'Sam Support');
    security = await add('security', 'Sec Ops');
    engineer = await add('engineer', 'Eng Ineer');
  });
  afterAll(async () => t?.close());

  it('a new staff member sets up with the link, and until a TOTP code is proved can do nothing but enrol', async () => {
    const added = await addViaCli(t, 'support', 'New Starter');
    expect((await staffChain(t)).find((e) => e.action === 'staff.member.created' && e.target?.id === added.id)).toMatchObject({
      actor: { type: 'system', id: null },
      details: { role: 'support', by: 'cli' },
    });
    // The setup link works once; a weak password is refused first.
    expect(errorCode(await call({}, 'POST', '/api/v1/staff/setup', { token: added.setupToken, password: 'shortpw12' }))).toBe('weak_password');
    const password = 'a long and unusual staff passphrase';
    const setup = await call({}, 'POST', '/api/v1/staff/setup', { token: added.setupToken, password });
    expect(setup.statusCode, setup.body).toBe(201);
    expect(setup.json()).toMatchObject({ staff: { id: added.id, role: 'support', totp: false }, session: { kind: 'cookie', mfa: false } });
    expect(errorCode(await call({}, 'POST', '/api/v1/staff/setup', { token: added.setupToken, password }))).toBe('invalid_link');
    const cookie = setup.cookies.find((c) => c.name === '__Host-rampart_staff');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    const csrf = setup.json<{ csrfToken: string }>().csrfToken;
    const headers = { cookie: `__Host-rampart_staff=${cookie?.value}`, 'x-csrf-token': csrf };

    // Before TOTP: the session can describe itself and enrol, nothing else (and the refusal is an event).
    expect((await call(headers, 'GET', '/api/v1/staff/session')).json()).toMatchObject({ session: { mfa: false }, permissions: ['access:request', 'access:use'] });
    const early = await call(headers, 'GET', '/api/v1/staff/access-requests');
    expect(early.statusCode).toBe(403);
    expect(errorCode(early)).toBe('staff_mfa_required');
    expect(errorCode(await request({ ...support, bearer: headers }))).toBe('staff_mfa_required');
    expect((await refusals('staff_mfa_required')).some((e) => e.actor.id === added.id)).toBe(true);
    // A cookie write without the CSRF token is refused.
    expect(errorCode(await call({ cookie: headers.cookie }, 'POST', '/api/v1/staff/mfa/totp'))).toBe('csrf_failed');

    const start = await call(headers, 'POST', '/api/v1/staff/mfa/totp');
    expect(start.statusCode, start.body).toBe(200);
    const { secret, otpauthUrl } = start.json<{ secret: string; otpauthUrl: string }>();
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Rampart:/);
    const wrong = await call(headers, 'POST', '/api/v1/staff/mfa/totp/verify', { code: (Number(await totp(secret)) + 1).toString().padStart(6, '0').slice(-6) });
    expect(errorCode(wrong)).toBe('invalid_credentials');
    await awayFromStepEdge();
    const proved = await call(headers, 'POST', '/api/v1/staff/mfa/totp/verify', { code: await totp(secret) });
    expect(proved.statusCode, proved.body).toBe(200);
    expect(proved.json()).toMatchObject({ staff: { totp: true }, session: { mfa: true } });
    // The cookie session got a new token: the old one is dead.
    const rotated = proved.cookies.find((c) => c.name === '__Host-rampart_staff')?.value;
    expect(rotated).toBeDefined();
    expect(rotated).not.toBe(cookie?.value);
    expect((await call(headers, 'GET', '/api/v1/staff/session')).statusCode).toBe(401);
    const fresh = { cookie: `__Host-rampart_staff=${rotated}`, 'x-csrf-token': proved.json<{ csrfToken: string }>().csrfToken };
    expect((await call(fresh, 'GET', '/api/v1/staff/access-requests')).statusCode).toBe(200);
    // The same code again (the same step) is refused: each step works once.
    const bearer = { authorization: `Bearer ${(await call({}, 'POST', '/api/v1/staff/auth/tokens', { email: added.email, password })).json<{ token: string }>().token}` };
    expect(errorCode(await call(bearer, 'POST', '/api/v1/staff/mfa/totp/verify', { code: await totp(secret) }))).toBe('invalid_credentials');
    // A second enrolment is refused once an app is on.
    expect(errorCode(await call(fresh, 'POST', '/api/v1/staff/mfa/totp'))).toBe('mfa_already_enabled');

    const actions = (await staffChain(t)).filter((e) => e.actor.id === added.id).map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'staff.setup_completed:success',
        'staff.refused:denied',
        'staff.mfa.totp_enrolment_started:success',
        'staff.mfa.verified:failure',
        'staff.mfa.totp_enabled:success',
        'staff.sign_in:success',
      ]),
    );
  });

  it('signs in with a password and refuses wrong ones; signing out and idling end a session', async () => {
    expect(errorCode(await call({}, 'POST', '/api/v1/staff/auth/sign-in', { email: support.email, password: 'not the password at all' }))).toBe('invalid_credentials');
    expect(errorCode(await call({}, 'POST', '/api/v1/staff/auth/sign-in', { email: 'nobody@staff.example.test', password: 'not the password at all' }))).toBe('invalid_credentials');
    const failures = (await staffChain(t)).filter((e) => e.action === 'staff.sign_in' && e.outcome === 'failure');
    expect(failures.some((e) => e.actor.id === support.id)).toBe(true);
    expect(failures.some((e) => e.actor.type === 'system' && e.details['email'] === 'nobody@staff.example.test')).toBe(true);

    const bearer = await staffBearer(t, support);
    expect((await call(bearer, 'POST', '/api/v1/staff/auth/sign-out')).statusCode).toBe(204);
    expect(errorCode(await call(bearer, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');

    const idle = await staffBearer(t, support);
    expect((await call(idle, 'GET', '/api/v1/staff/session')).statusCode).toBe(200);
    await t.database.raw(`UPDATE staff_sessions SET last_seen_at = now() - interval '31 minutes' WHERE token_hash = $1`, [digestOf(idle)]);
    expect(errorCode(await call(idle, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');
    // Absolute expiry.
    const old = await staffBearer(t, support);
    await t.database.raw(`UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [digestOf(old)]);
    expect(errorCode(await call(old, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');
    // Sessions last at most 12 hours.
    const [session] = await t.database.raw<{ ttl: number }>(`SELECT extract(epoch FROM expires_at - created_at)::int AS ttl FROM staff_sessions ORDER BY created_at DESC LIMIT 1`);
    expect(session?.ttl).toBeLessThanOrEqual(12 * 3600);
  });

  it('staff and customer sessions are separate realms', async () => {
    // A staff token is no customer session, nor a staff cookie.
    expect(errorCode(await call(support.bearer, 'GET', '/api/v1/auth/sessions'))).toBe('unauthenticated');
    expect(errorCode(await call(support.bearer, 'GET', `/api/v1/workspaces/${ws}/collections`))).toBe('unauthenticated');
    const signIn = await call({}, 'POST', '/api/v1/staff/auth/sign-in', { email: support.email, password: support.password });
    const staffCookie = signIn.cookies.find((c) => c.name === '__Host-rampart_staff')?.value as string;
    expect(errorCode(await call({ cookie: `__Host-rampart_staff=${staffCookie}` }, 'GET', '/api/v1/auth/sessions'))).toBe('unauthenticated');
    // Nor the other way: customer sessions and API keys open no staff route.
    expect(errorCode(await call(owner.bearer, 'GET', '/api/v1/staff/access-requests'))).toBe('unauthenticated');
    expect(errorCode(await call({ cookie: owner.cookie.cookie as string }, 'GET', '/api/v1/staff/access-requests'))).toBe('unauthenticated');
    const key = await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'k', scopes: ['records:read'] });
    const secret = key.json<{ secret: string }>().secret;
    expect(errorCode(await call({ authorization: `Bearer ${secret}` }, 'GET', '/api/v1/staff/access-requests'))).toBe('unauthenticated');
    // The customer cookie under the staff cookie's name is no staff session either.
    const customerToken = /__Host-rampart_session=([^;]+)/.exec(owner.cookie.cookie as string)?.[1];
    expect(errorCode(await call({ cookie: `__Host-rampart_staff=${customerToken}` }, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');
  });

  it('each staff role does only what the permission table gives it', async () => {
    // staff-admin manages staff and touches no workspace data.
    expect((await call(staffAdmin.bearer, 'GET', '/api/v1/staff/members')).statusCode).toBe(200);
    expect(errorCode(await request(staffAdmin))).toBe('forbidden');
    expect(errorCode(await call(staffAdmin.bearer, 'POST', '/api/v1/staff/break-glass', { workspaceId: ws, scope: 'records:read', reason: 'x' }))).toBe('forbidden');
    // support and engineer request and read, nothing else.
    for (const who of [support, engineer]) {
      expect(errorCode(await call(who.bearer, 'GET', '/api/v1/staff/members')), who.role).toBe('forbidden');
      expect(errorCode(await call(who.bearer, 'GET', '/api/v1/staff/audit')), who.role).toBe('forbidden');
      expect(errorCode(await call(who.bearer, 'POST', '/api/v1/staff/break-glass', { workspaceId: ws, scope: 'records:read', reason: 'x' })), who.role).toBe('forbidden');
      expect((await call(who.bearer, 'GET', '/api/v1/staff/access-requests')).statusCode, who.role).toBe(200);
    }
    // security also reads the staff chain.
    const audit = await call(security.bearer, 'GET', '/api/v1/staff/audit?limit=500');
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json<{ data: Array<{ action: string }> }>().data.some((e) => e.action === 'staff.member.created')).toBe(true);
    expect(errorCode(await call(security.bearer, 'GET', '/api/v1/staff/members'))).toBe('forbidden');
    const refused = (await refusals('forbidden')).filter((e) => e.actor.id === support.id);
    expect(refused.length).toBeGreaterThanOrEqual(3);
    expect(refused[0]?.details).toMatchObject({ status: 403, staffPermission: expect.any(String) });
  });

  it('a staff-admin adds, re-roles, resets and disables staff, never themselves', async () => {
    const added = await call(staffAdmin.bearer, 'POST', '/api/v1/staff/members', { email: 'Temp.Person@Staff.Example.Test', name: 'Temp Person', role: 'support' });
    expect(added.statusCode, added.body).toBe(201);
    const body = added.json<{ member: { id: string; email: string }; setupLink: string }>();
    expect(body.member.email).toBe('temp.person@staff.example.test');
    expect(body.setupLink).toMatch(/^https:\/\/rampart\.example\.test\/staff\/setup#token=rsts_/);
    expect(errorCode(await call(staffAdmin.bearer, 'POST', '/api/v1/staff/members', { email: 'temp.person@staff.example.test', name: 'Again', role: 'support' }))).toBe('staff_member_exists');
    const temp = await onboard(t, { ...body.member, name: 'Temp Person', setupToken: /#token=(.+)$/.exec(body.setupLink)?.[1] as string }, 'support');

    const promoted = await call(staffAdmin.bearer, 'PATCH', `/api/v1/staff/members/${temp.id}`, { role: 'engineer' });
    expect(promoted.json()).toMatchObject({ role: 'engineer' });
    expect((await call(temp.bearer, 'GET', '/api/v1/staff/session')).json()).toMatchObject({ staff: { role: 'engineer' } });
    expect(errorCode(await call(staffAdmin.bearer, 'PATCH', `/api/v1/staff/members/${staffAdmin.id}`, { role: 'support' }))).toBe('conflict');
    expect(errorCode(await call(staffAdmin.bearer, 'POST', `/api/v1/staff/members/${staffAdmin.id}/disable`))).toBe('conflict');
    expect(errorCode(await call(staffAdmin.bearer, 'PATCH', `/api/v1/staff/members/018f0000-0000-7000-8000-000000000000`, { role: 'support' }))).toBe('staff_member_not_found');

    const reset = await call(staffAdmin.bearer, 'POST', `/api/v1/staff/members/${temp.id}/reset`);
    expect(reset.statusCode, reset.body).toBe(200);
    expect(reset.json()).toMatchObject({ member: { totp: false, passwordSet: false } });
    expect(errorCode(await call(temp.bearer, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');
    const again = await onboard(t, { ...body.member, name: 'Temp Person', setupToken: /#token=(.+)$/.exec(reset.json<{ setupLink: string }>().setupLink)?.[1] as string }, 'engineer');

    const disabled = await call(staffAdmin.bearer, 'POST', `/api/v1/staff/members/${temp.id}/disable`);
    expect(disabled.json()).toMatchObject({ disabled: true });
    expect(errorCode(await call(again.bearer, 'GET', '/api/v1/staff/session'))).toBe('unauthenticated');
    expect(errorCode(await call({}, 'POST', '/api/v1/staff/auth/tokens', { email: again.email, password: again.password }))).toBe('invalid_credentials');

    const actions = (await staffChain(t)).filter((e) => e.target?.id === temp.id && e.actor.id === staffAdmin.id).map((e) => e.action);
    expect(actions).toEqual(['staff.member.created', 'staff.member.role_changed', 'staff.member.reset', 'staff.member.disabled']);
    const listed = (await call(staffAdmin.bearer, 'GET', '/api/v1/staff/members')).json<{ data: Array<{ id: string; disabled: boolean }> }>().data;
    expect(listed.find((m) => m.id === temp.id)).toMatchObject({ disabled: true });
  });

  it('a request is emailed to those who may approve; a member without the scope can neither see nor approve it', async () => {
    const filed = await request(support);
    expect(filed.statusCode, filed.body).toBe(201);
    const req = filed.json<{ id: string; status: string; grant: unknown; staff: unknown; pendingUntil: string }>();
    expect(req).toMatchObject({ status: 'pending', grant: null, staff: { id: support.id, name: 'Sam Support', role: 'support' }, scope: 'records:read' });

    for (const who of [owner, admin]) {
      const mail = await latestMail(t, who.email);
      expect(mail.template).toBe('staff_access_requested');
      expect(mail.text).toContain('Sam Support (support)');
      expect(mail.text).toContain('records:read');
      expect(mail.text).toContain('SUP-1234');
      expect(mail.text).toContain(`https://rampart.example.test/w/${ws}/access-requests`);
    }
    await expect(latestMail(t, member.email)).resolves.not.toMatchObject({ template: 'staff_access_requested' });

    const events = await workspaceChain(t, ws);
    const requested = events.find((e) => e.action === 'staff.access.requested' && e.details['accessRequestId'] === req.id);
    expect(requested).toMatchObject({
      actor: { type: 'staff', id: support.id, name: 'Sam Support', role: 'support' },
      outcome: 'success',
      target: { type: 'access_request', id: req.id },
      details: { scope: 'records:read', justification: 'customer-initiated-support', ticket: 'SUP-1234', durationMinutes: 120, breakGlass: false, notified: 2 },
    });

    // The member lacks staff-access:approve: 403, recorded in the workspace's chain by the refusal hook.
    expect(errorCode(await call(member.bearer, 'GET', wbase()))).toBe('forbidden');
    expect(errorCode(await call(member.bearer, 'POST', `${wbase()}/${req.id}/approve`, {}))).toBe('forbidden');
    const denied = (await workspaceChain(t, ws)).filter((e) => e.action === 'access.denied' && e.actor.id === member.accountId);
    expect(denied.map((e) => e.details['scope'])).toEqual(['staff-access:approve', 'staff-access:approve']);
    // An API key holding the scope may not approve: consent is a person's.
    const key = await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'approver', scopes: ['staff-access:approve'] });
    expect(key.statusCode, key.body).toBe(201);
    expect(errorCode(await call({ authorization: `Bearer ${key.json<{ secret: string }>().secret}` }, 'POST', `${wbase()}/${req.id}/approve`, {}))).toBe('approval_requires_session');
    expect((await workspaceChain(t, ws)).filter((e) => e.action === 'staff.access.approved' && e.details['accessRequestId'] === req.id)).toEqual([
      expect.objectContaining({ outcome: 'denied', actor: { type: 'api_key', id: key.json<{ id: string }>().id }, details: expect.objectContaining({ code: 'approval_requires_session' }) }),
    ]);

    // The admin sees it; the staff member sees it among their own.
    const list = await call(admin.bearer, 'GET', `${wbase()}?status=pending`);
    expect(list.json<{ data: Array<{ id: string }> }>().data.map((r) => r.id)).toContain(req.id);
    expect((await call(support.bearer, 'GET', `/api/v1/staff/access-requests/${req.id}`)).json()).toMatchObject({ id: req.id, status: 'pending' });
    expect(errorCode(await call(engineer.bearer, 'GET', `/api/v1/staff/access-requests/${req.id}`))).toBe('access_request_not_found');

    // Withdrawn by its author, it can no longer be approved.
    expect(errorCode(await call(engineer.bearer, 'POST', `/api/v1/staff/access-requests/${req.id}/cancel`))).toBe('access_request_not_found');
    expect((await call(support.bearer, 'POST', `/api/v1/staff/access-requests/${req.id}/cancel`)).json()).toMatchObject({ status: 'cancelled' });
    expect(errorCode(await call(owner.bearer, 'POST', `${wbase()}/${req.id}/approve`, {}))).toBe('access_request_not_pending');
  });

  it('approval makes a time-boxed grant; reads run within its scope and each is one event in the workspace chain', async () => {
    const before = Date.now();
    const { id, grantId } = await granted(support, { durationMinutes: 90 });
    const view = (await call(owner.bearer, 'GET', `${wbase()}/${id}`)).json<{ status: string; decidedBy: string; grant: { expiresAt: string } }>();
    expect(view).toMatchObject({ status: 'approved', decidedBy: owner.accountId });
    const expires = Date.parse(view.grant.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 90 * 60_000 - 5000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 90 * 60_000 + 5000);
    expect((await workspaceChain(t, ws)).find((e) => e.action === 'staff.access.approved' && e.details['accessRequestId'] === id)).toMatchObject({
      actor: { type: 'account', id: owner.accountId },
      details: { grantId, staffId: support.id, scope: 'records:read' },
    });

    const g = `/api/v1/staff/grants/${grantId}`;
    const collections = await call(support.bearer, 'GET', `${g}/collections`);
    expect(collections.statusCode, collections.body).toBe(200);
    expect(collections.json<{ data: Array<{ name: string }> }>().data.map((c) => c.name)).toEqual(['tickets']);
    const records = await call(support.bearer, 'GET', `${g}/collections/tickets/records`);
    expect(records.json<{ data: Array<{ id: string; data: { subject: string } }> }>().data.map((r) => r.data.subject)).toEqual(['Printer on fire', 'Cannot save record']);
    const one = await call(support.bearer, 'GET', `${g}/collections/tickets/records/${recordIds[1]}`);
    expect(one.json()).toMatchObject({ id: recordIds[1], data: { subject: 'Cannot save record' } });

    const reads = (await workspaceChain(t, ws)).filter((e) => e.action === 'staff.records.read' && e.details['grantId'] === grantId);
    expect(reads).toHaveLength(3);
    for (const e of reads) {
      expect(e).toMatchObject({
        actor: { type: 'staff', id: support.id, name: 'Sam Support', role: 'support' },
        outcome: 'success',
        details: { grantId, accessRequestId: id, justification: 'customer-initiated-support', ticket: 'SUP-1234', scope: 'records:read', breakGlass: false },
      });
    }
    expect(reads.map((e) => e.target)).toEqual([
      { type: 'collection', id: '*' },
      { type: 'collection', id: 'tickets' },
      { type: 'record', id: recordIds[1] },
    ]);
    expect(reads[1]?.details['recordIds']).toEqual(recordIds);

    // Only the grant's scope; only its workspace; only its holder.
    expect(errorCode(await call(support.bearer, 'GET', `${g}/documents`))).toBe('forbidden');
    const other = await call(support.bearer, 'GET', `${g}/collections/tickets/records/${bRecordId}`);
    expect(errorCode(other)).toBe('record_not_found');
    expect(other.body).not.toContain('beta-only-secret');
    expect((await workspaceChain(t, ws)).filter((e) => e.action === 'staff.records.read' && e.outcome === 'failure')).toHaveLength(1);
    expect(await workspaceChain(t, wsB)).not.toContainEqual(expect.objectContaining({ action: 'staff.records.read' }));
    expect(errorCode(await call(engineer.bearer, 'GET', `${g}/collections`))).toBe('staff_grant_not_found');
    expect(errorCode(await call(support.bearer, 'GET', '/api/v1/staff/grants/018f0000-0000-7000-8000-000000000000/collections'))).toBe('staff_grant_not_found');

    // Its list shows the grant.
    const mine = (await call(support.bearer, 'GET', '/api/v1/staff/access-requests')).json<{ data: Array<{ id: string; status: string; grant: { id: string } | null }> }>().data;
    expect(mine.find((r) => r.id === id)).toMatchObject({ status: 'approved', grant: { id: grantId } });
  });

  it('an expired grant reads nothing: 403 staff_grant_expired, itself an event', async () => {
    const { id, grantId } = await granted(support, { durationMinutes: 30 });
    expect((await call(support.bearer, 'GET', `/api/v1/staff/grants/${grantId}/collections`)).statusCode).toBe(200);
    // The clock moves on: the grant's expiry is set in the past, as the database's owner.
    await t.database.raw(`UPDATE staff_access_requests SET expires_at = now() - interval '1 second', granted_at = now() - interval '31 minutes' WHERE id = $1`, [id]);
    const readsBefore = (await workspaceChain(t, ws)).filter((e) => e.action === 'staff.records.read').length;
    const res = await call(support.bearer, 'GET', `/api/v1/staff/grants/${grantId}/collections/tickets/records`);
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe('staff_grant_expired');
    expect(res.body).not.toContain('Printer on fire');
    expect((await workspaceChain(t, ws)).filter((e) => e.action === 'staff.records.read')).toHaveLength(readsBefore);
    expect((await refusals('staff_grant_expired')).at(-1)).toMatchObject({ actor: { id: support.id }, details: { route: '/api/v1/staff/grants/:grantId/collections/:collection/records' } });
    expect((await call(owner.bearer, 'GET', `${wbase()}/${id}`)).json()).toMatchObject({ status: 'expired' });
    expect((await call(support.bearer, 'GET', `/api/v1/staff/access-requests/${id}`)).json()).toMatchObject({ status: 'expired' });
    expect(errorCode(await call(owner.bearer, 'POST', `${wbase()}/${id}/revoke`, {}))).toBe('staff_grant_not_active');
  });

  it('a denied request grants nothing; a revoked grant stops at once', async () => {
    const filed = await request(support, { justification: 'legal-request', ticket: 'LEGAL-7' });
    const id = filed.json<{ id: string }>().id;
    const denied = await call(admin.bearer, 'POST', `${wbase()}/${id}/deny`, { note: 'Not without a court order.' });
    expect(denied.json()).toMatchObject({ status: 'denied', decidedBy: admin.accountId, decisionNote: 'Not without a court order.', grant: null });
    expect(errorCode(await call(owner.bearer, 'POST', `${wbase()}/${id}/approve`, {}))).toBe('access_request_not_pending');
    expect(errorCode(await call(owner.bearer, 'POST', `${wbase()}/018f0000-0000-7000-8000-000000000000/approve`, {}))).toBe('access_request_not_found');

    const { id: live, grantId } = await granted(support);
    expect((await call(support.bearer, 'GET', `/api/v1/staff/grants/${grantId}/collections`)).statusCode).toBe(200);
    const revoked = await call(admin.bearer, 'POST', `${wbase()}/${live}/revoke`, { note: 'Done, thanks.' });
    expect(revoked.json()).toMatchObject({ status: 'revoked', grant: { id: grantId, revokedBy: admin.accountId } });
    const res = await call(support.bearer, 'GET', `/api/v1/staff/grants/${grantId}/collections`);
    expect(res.statusCode).toBe(403);
    expect(errorCode(res)).toBe('staff_grant_revoked');
    expect(errorCode(await call(admin.bearer, 'POST', `${wbase()}/${live}/revoke`, {}))).toBe('staff_grant_not_active');

    const chain = await workspaceChain(t, ws);
    expect(chain.find((e) => e.action === 'staff.access.denied' && e.details['accessRequestId'] === id)).toMatchObject({ actor: { type: 'account', id: admin.accountId }, details: { note: 'Not without a court order.' } });
    expect(chain.find((e) => e.action === 'staff.access.revoked' && e.details['accessRequestId'] === live)).toMatchObject({ actor: { type: 'account', id: admin.accountId }, details: { grantId } });
  });

  it('refuses bad requests with stable codes, each recorded: too long, unknown scope, a scope staff may not ask for', async () => {
    const long = await request(support, { durationMinutes: 481 });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ error: { code: 'access_duration_too_long', details: { maxMinutes: 480, requestedMinutes: 481 } } });
    expect(errorCode(await request(support, { scope: 'records:obliterate' }))).toBe('unknown_scope');
    const writes = await request(support, { scope: 'records:write' });
    expect(writes.json()).toMatchObject({ error: { code: 'scope_not_requestable', details: { allowed: ['records:read', 'documents:read'] } } });
    expect(errorCode(await request(support, { workspaceId: '018f0000-0000-7000-8000-000000000000' }))).toBe('workspace_not_found');
    expect(errorCode(await request(support, { justification: 'curiosity' }))).toBe('validation_failed');
    for (const code of ['access_duration_too_long', 'unknown_scope', 'scope_not_requestable', 'workspace_not_found']) {
      expect((await refusals(code)).at(-1), code).toMatchObject({ actor: { type: 'staff', id: support.id, role: 'support' }, outcome: 'denied', details: { route: '/api/v1/staff/access-requests' } });
    }
    // Nothing was filed.
    expect((await workspaceChain(t, ws)).filter((e) => e.action === 'staff.access.requested' && e.details['durationMinutes'] === 481)).toEqual([]);
  });

  it('break-glass: security only, at most an hour, marked, and those who may approve are emailed at once', async () => {
    const body = { workspaceId: ws, scope: 'records:read', reason: 'Active incident INC-9: data exposure suspected.', ticket: 'INC-9' };
    expect(errorCode(await call(support.bearer, 'POST', '/api/v1/staff/break-glass', body))).toBe('forbidden');
    const long = await call(security.bearer, 'POST', '/api/v1/staff/break-glass', { ...body, durationMinutes: 61 });
    expect(long.json()).toMatchObject({ error: { code: 'access_duration_too_long', details: { maxMinutes: 60 } } });
    expect(errorCode(await call(security.bearer, 'POST', '/api/v1/staff/break-glass', { ...body, reason: '' }))).toBe('validation_failed');

    const before = Date.now();
    const opened = await call(security.bearer, 'POST', '/api/v1/staff/break-glass', body);
    expect(opened.statusCode, opened.body).toBe(201);
    const bg = opened.json<{ id: string; status: string; breakGlass: boolean; grant: { id: string; expiresAt: string } }>();
    expect(bg).toMatchObject({ status: 'approved', breakGlass: true, durationMinutes: 60, decidedBy: null, staff: { id: security.id, role: 'security' } });
    expect(Date.parse(bg.grant.expiresAt)).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect(Date.parse(bg.grant.expiresAt)).toBeGreaterThanOrEqual(before + 3600_000 - 5000);
    for (const who of [owner, admin]) {
      const mail = await latestMail(t, who.email);
      expect(mail.template).toBe('staff_break_glass');
      expect(mail.subject).toMatch(/Emergency staff access/);
      expect(mail.text).toContain('Sec Ops (security)');
      expect(mail.text).toContain('INC-9');
    }
    expect((await call(security.bearer, 'GET', `/api/v1/staff/grants/${bg.grant.id}/collections/tickets/records/${recordIds[0]}`)).statusCode).toBe(200);
    const chain = await workspaceChain(t, ws);
    expect(chain.find((e) => e.action === 'staff.break_glass.opened' && e.details['accessRequestId'] === bg.id)).toMatchObject({
      actor: { type: 'staff', id: security.id, role: 'security' },
      details: { breakGlass: true, grantId: bg.grant.id, reason: body.reason, notified: 2 },
    });
    expect(chain.filter((e) => e.action === 'staff.records.read' && e.details['grantId'] === bg.grant.id)).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ breakGlass: true, justification: 'incident-response', ticket: 'INC-9' }) }),
    ]);
    // The workspace can end it at once.
    expect((await call(owner.bearer, 'POST', `${wbase()}/${bg.id}/revoke`, {})).json()).toMatchObject({ status: 'revoked' });
    expect(errorCode(await call(security.bearer, 'GET', `/api/v1/staff/grants/${bg.grant.id}/collections`))).toBe('staff_grant_revoked');
  });

  it('documents:read grants list and download documents, each read an event', async () => {
    const file = multipart('invoice.txt', 'invoice body', 'text/plain');
    const up = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/documents`, headers: { ...owner.bearer, ...file.headers }, payload: file.payload });
    expect(up.statusCode, up.body).toBe(201);
    const docId = up.json<{ id: string }>().id;
    const { grantId } = await granted(engineer, { scope: 'documents:read', justification: 'incident-response', ticket: 'INC-10' });
    const list = await call(engineer.bearer, 'GET', `/api/v1/staff/grants/${grantId}/documents`);
    expect(list.json<{ data: Array<{ id: string }> }>().data.map((d) => d.id)).toEqual([docId]);
    const content = await call(engineer.bearer, 'GET', `/api/v1/staff/grants/${grantId}/documents/${docId}/content`);
    expect(content.statusCode).toBe(200);
    expect(content.body).toBe('invoice body');
    expect(content.headers['content-disposition']).toMatch(/^attachment/);
    expect(errorCode(await call(engineer.bearer, 'GET', `/api/v1/staff/grants/${grantId}/collections`))).toBe('forbidden');
    const reads = (await workspaceChain(t, ws)).filter((e) => e.action === 'staff.documents.read' && e.details['grantId'] === grantId);
    expect(reads.map((e) => [e.details['operation'], e.target])).toEqual([
      ['list_documents', { type: 'document', id: '*' }],
      ['download_document', { type: 'document', id: docId }],
    ]);
    expect(reads[0]).toMatchObject({ actor: { type: 'staff', role: 'engineer' }, details: { scope: 'documents:read', ticket: 'INC-10' } });
  });

  it('a replayed code and a wrong code are refused; lockout applies', async () => {
    const bearerRes = await call({}, 'POST', '/api/v1/staff/auth/tokens', { email: engineer.email, password: engineer.password });
    const bearer = { authorization: `Bearer ${bearerRes.json<{ token: string }>().token}` };
    expect(errorCode(await call(bearer, 'GET', '/api/v1/staff/access-requests'))).toBe('staff_mfa_required');
    await awayFromStepEdge();
    expect((await proveTotp(t, engineer.id, engineer.secret, bearer)).statusCode).toBe(200);
    const other = { authorization: `Bearer ${(await call({}, 'POST', '/api/v1/staff/auth/tokens', { email: engineer.email, password: engineer.password })).json<{ token: string }>().token}` };
    // The step just used works no more.
    expect(errorCode(await call(other, 'POST', '/api/v1/staff/mfa/totp/verify', { code: await totp(engineer.secret) }))).toBe('invalid_credentials');
    expect(errorCode(await call(other, 'GET', '/api/v1/staff/access-requests'))).toBe('staff_mfa_required');
  });
});
