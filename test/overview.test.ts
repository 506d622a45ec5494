/**
 * The workspace overview: each part read only with the scope that reads its data elsewhere (null
 * without it, and no alert from it), the alerts derived from the state as it is now, and the
 * overview of a workspace the caller is not in answered as every workspace route answers it.
 * Real flows build the state (TOTP enrolment, a DNS-verified domain and a samlify IdP, a staff
 * request, a checkpoint); where a test needs time to have passed or the database to have been
 * tampered with, it writes that as the database's owner. On every backend.
 */
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addStaffMember } from '../src/modules/staff/index.js';
import { tenantContext } from '../src/platform/db/types.js';
import type { StaffPrincipal } from '../src/platform/http/context.js';
import type { Scope } from '../src/platform/http/scopes.js';
import { newId } from '../src/platform/ids.js';
import { recordEvents, withoutTriggers } from './helpers/audit-chain.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { startTestDns, type TestDns } from './helpers/dns.js';
import { connectIdp, verifyDomain } from './helpers/saml-flow.js';
import { TestIdp } from './helpers/saml-idp.js';

type Headers = Record<string, string>;
interface Alert {
  id: string;
  severity: 'critical' | 'warning' | 'info';
  at: string;
  title: string;
  section: string;
}
interface Overview {
  members: { total: number; withMfa: number; mfaRequired: boolean } | null;
  sso: { saml: boolean; oidc: boolean; scim: boolean; enforced: boolean; domains: { verified: number; pending: number } } | null;
  keys: { currentVersion: number; versions: number; rotatedAt: string | null; nextRotationAt: string | null } | null;
  accessRequests: { pending: number } | null;
  audit: { chain: 'verified' | 'failed' | 'unknown'; lastCheckpointAt: string | null } | null;
  alerts: Alert[];
}

const DAY_MS = 86_400_000;

describe.each(BACKENDS)('the workspace overview on $name', (backend) => {
  let t: TestApp;
  let dns: TestDns;
  let owner: Caller;
  let ws: string;

  const get = (workspaceId: string, headers: Headers) => t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${workspaceId}/overview`, headers });
  async function overview(headers: Headers, workspaceId = ws): Promise<Overview> {
    await t.services.audit.settle();
    const res = await get(workspaceId, headers);
    if (res.statusCode !== 200) throw new Error(`overview: ${res.statusCode} ${res.body}`);
    return res.json<Overview>();
  }
  const ids = (o: Overview) => o.alerts.map((a) => a.id);
  async function apiKey(scopes: readonly Scope[], workspaceId = ws, by = owner): Promise<Headers> {
    const res = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${workspaceId}/api-keys`, headers: by.bearer, payload: { name: scopes.join(' '), scopes } });
    if (res.statusCode !== 201) throw new Error(`key: ${res.body}`);
    return { authorization: `Bearer ${res.json<{ secret: string }>().secret}` };
  }
  let totpSecret = '';
  async function enrolTotp(c: Caller): Promise<void> {
    const { secret } = (await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/totp', headers: c.bearer })).json<{ secret: string }>();
    const code = await generate({ secret, epoch: Math.floor(Date.now() / 1000) });
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/account/mfa/totp/confirm', headers: c.bearer, payload: { code } });
    if (res.statusCode !== 200) throw new Error(`totp: ${res.body}`);
    totpSecret = secret;
  }

  beforeAll(async () => {
    dns = await startTestDns();
    // An OpenID Connect provider configured on the instance (never contacted here).
    t = await buildTestApp(backend, { dnsServers: [dns.server], oidcIssuer: 'https://accounts.example.test', oidcClientId: 'rampart', oidcClientSecret: 'not-used-here' });
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Posture')).id;
  });
  afterAll(async () => {
    await t?.close();
    await dns?.close();
  });

  it('a new workspace, as its owner: every part, and no alert yet', async () => {
    expect(await overview(owner.bearer)).toEqual({
      members: { total: 1, withMfa: 0, mfaRequired: false },
      sso: { saml: false, oidc: true, scim: false, enforced: false, domains: { verified: 0, pending: 0 } },
      keys: { currentVersion: 0, versions: 0, rotatedAt: null, nextRotationAt: null },
      accessRequests: { pending: 0 },
      audit: { chain: 'unknown', lastCheckpointAt: null },
      alerts: [{ id: 'members.mfa_not_required', severity: 'info', at: expect.any(String), title: expect.stringMatching(/^1 member has no second factor/), section: 'settings' }],
    });
  });

  it('each part needs the scope that reads its data; without it the part is null and says nothing in the alerts', async () => {
    const bare = await overview(await apiKey(['workspace:read']));
    expect(bare).toEqual({ members: null, sso: null, keys: null, accessRequests: null, audit: null, alerts: [] });
    const parts: Array<[Scope, keyof Overview]> = [
      ['members:read', 'members'],
      ['sso:manage', 'sso'],
      ['keys:manage', 'keys'],
      ['staff-access:approve', 'accessRequests'],
      ['audit:read', 'audit'],
    ];
    for (const [scope, part] of parts) {
      const o = await overview(await apiKey(['workspace:read', scope]));
      const shown = (Object.keys(o) as Array<keyof Overview>).filter((k) => k !== 'alerts' && o[k] !== null);
      expect(shown, scope).toEqual([part]);
    }
    // A member (workspace:read, members:read): the members part only.
    const member = await signUp(t, 'member');
    await t.services.members.addMember(tenantContext(ws, owner.accountId), member.accountId, 'member');
    const seen = await overview(member.bearer);
    expect(seen).toMatchObject({ members: { total: 2 }, sso: null, keys: null, accessRequests: null, audit: null });
    expect(seen.alerts.every((a) => a.section === 'members' || a.section === 'settings')).toBe(true);
    // Without workspace:read at all: refused like any route.
    const res = await get(ws, await apiKey(['records:read']));
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'forbidden', details: { scope: 'workspace:read' } });
  });

  it("another workspace's overview: 404 for a signed-in non-member, 401 for its key, nothing of it in either answer", async () => {
    const stranger = await signUp(t, 'stranger');
    const theirs = (await createWorkspace(t, stranger, 'Elsewhere')).id;
    const res = await get(ws, stranger.bearer);
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('workspace_not_found');
    const keyed = await get(ws, await apiKey(['workspace:read', 'members:read', 'audit:read'], theirs, stranger));
    expect(keyed.statusCode).toBe(401);
    for (const r of [res, keyed]) {
      expect(r.body).not.toContain(owner.email);
      expect(r.body).not.toContain('Posture');
    }
  });

  it('members: second factors counted; requiring MFA turns the nudge into a warning about those without', async () => {
    await enrolTotp(owner);
    let o = await overview(owner.bearer);
    expect(o.members).toEqual({ total: 2, withMfa: 1, mfaRequired: false });
    expect(o.alerts.find((a) => a.id === 'members.mfa_not_required')).toMatchObject({ severity: 'info', section: 'settings' });
    // Requiring MFA takes a session that proved a second factor (the next 30-second step's code:
    // each step works once, and enrolment used this one).
    const started = (await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: owner.email, password: owner.password } })).json<{ mfaToken: string }>();
    const code = await generate({ secret: totpSecret, epoch: Math.floor(Date.now() / 1000) + 30 });
    const verified = await t.app.inject({ method: 'POST', url: '/api/v1/auth/mfa/verify', payload: { mfaToken: started.mfaToken, factor: 'totp', code } });
    expect(verified.statusCode, verified.body).toBe(200);
    const strong = { authorization: `Bearer ${verified.json<{ token: string }>().token}` };
    const setRequired = (requireMfa: boolean) => t.app.inject({ method: 'PATCH', url: `/api/v1/workspaces/${ws}`, headers: strong, payload: { requireMfa } });
    expect((await setRequired(true)).statusCode).toBe(200);
    o = await overview(strong);
    expect(o.members).toEqual({ total: 2, withMfa: 1, mfaRequired: true });
    expect(ids(o)).not.toContain('members.mfa_not_required');
    expect(o.alerts.find((a) => a.id === 'members.mfa_missing')).toMatchObject({ severity: 'warning', section: 'members', title: expect.stringMatching(/^1 member has no second factor/) });
    // The rest of this file works with the owner's first session.
    expect((await setRequired(false)).statusCode).toBe(200);
  });

  it('single sign-on: domains, the SAML connection, SCIM and enforcement; a signing certificate close to expiry is a warning', async () => {
    const domain = `posture-${newId().slice(-8)}.test`;
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/domains`, headers: owner.bearer, payload: { domain: `pending-${domain}` } });
    const domainId = await verifyDomain(t, dns, ws, domain, owner.bearer);
    let o = await overview(owner.bearer);
    expect(o.sso).toEqual({ saml: false, oidc: true, scim: false, enforced: false, domains: { verified: 1, pending: 1 } });
    expect(ids(o).filter((id) => id.startsWith('sso.'))).toEqual([]);
    // The test IdP's certificate is valid for three days.
    const idp = new TestIdp(`https://idp.${domain}/metadata`);
    const put = await connectIdp(t, ws, idp, `https://idp.${domain}/sso`, owner.bearer);
    expect(put.entityId).toBeTruthy();
    const cert = (await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}/sso/saml`, headers: owner.bearer })).json<{ connection: { certificates: Array<{ notAfter: string }> } }>().connection.certificates[0];
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/scim/tokens`, headers: owner.bearer, payload: { name: 'Okta' } });
    await t.app.inject({ method: 'PATCH', url: `/api/v1/workspaces/${ws}/domains/${domainId}`, headers: owner.bearer, payload: { ssoEnforced: true } });
    o = await overview(owner.bearer);
    expect(o.sso).toEqual({ saml: true, oidc: true, scim: true, enforced: true, domains: { verified: 1, pending: 1 } });
    const alert = o.alerts.find((a) => a.id === 'sso.certificate_expiring');
    expect(alert).toEqual({ id: 'sso.certificate_expiring', severity: 'warning', at: cert?.notAfter, title: expect.stringContaining(cert?.notAfter.slice(0, 10) ?? 'x'), section: 'sso' });
    expect(Date.parse(alert?.at ?? '') - Date.now()).toBeLessThan(4 * DAY_MS);
  });

  it('staff access requests waiting for a decision are counted and flagged from the oldest', async () => {
    const { member } = await addStaffMember(t.database.db, t.services.staffEvents, { email: `support-${newId()}@operator.test`, name: 'Sam Support', role: 'support' }, null, null);
    const staff: StaffPrincipal = { staffId: member.id, name: member.name, role: member.role, sessionId: newId(), sessionKind: 'bearer', mfaAt: new Date(), csrfToken: null };
    const input = { workspaceId: ws, scope: 'records:read', justification: 'customer-initiated-support' as const, reason: 'A record the customer cannot find', ticket: 'T-1', durationMinutes: 60 };
    const first = await t.services.staffAccess.request(staff, input, { ip: null, userAgent: null, requestId: null });
    await t.services.staffAccess.request(staff, { ...input, ticket: 'T-2' }, { ip: null, userAgent: null, requestId: null });
    const o = await overview(owner.bearer);
    expect(o.accessRequests).toEqual({ pending: 2 });
    expect(o.alerts.find((a) => a.id === 'access_requests.pending')).toEqual({
      id: 'access_requests.pending',
      severity: 'warning',
      at: first.createdAt,
      title: '2 staff requests for access wait for a decision.',
      section: 'access-requests',
    });
    // Decided, it is gone.
    for (const id of [first.id]) await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/access-requests/${id}/deny`, headers: owner.bearer, payload: {} });
    expect((await overview(owner.bearer)).accessRequests).toEqual({ pending: 1 });
  });

  it('keys: versions and rotation; a key older than the rotation period is flagged from the day it was due', async () => {
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections`, headers: owner.bearer, payload: { name: 'notes' } });
    const rec = await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/collections/notes/records`, headers: owner.bearer, payload: { data: { a: 1 } } });
    expect(rec.statusCode).toBe(201);
    let o = await overview(owner.bearer);
    expect(o.keys).toMatchObject({ currentVersion: 1, versions: 1 });
    expect(Date.parse(o.keys?.rotatedAt ?? '')).toBeGreaterThan(Date.now() - DAY_MS);
    expect(ids(o)).not.toContain('keys.rotation_overdue');
    const rotatedAt = new Date(Date.now() - 100 * DAY_MS);
    await t.database.raw('UPDATE rampart.tenant_keyrings SET rotated_at = $2 WHERE tenant_id = $1', [ws, rotatedAt]);
    o = await overview(owner.bearer);
    expect(o.alerts.find((a) => a.id === 'keys.rotation_overdue')).toEqual({
      id: 'keys.rotation_overdue',
      severity: 'warning',
      at: new Date(rotatedAt.getTime() + t.config.keyRotationDays * DAY_MS).toISOString(),
      title: `The encryption key is older than the rotation period of ${t.config.keyRotationDays} days; rotate it.`,
      section: 'encryption',
    });
    // Rotated, the alert is gone.
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/keys/rotate`, headers: owner.bearer })).statusCode).toBe(200);
    o = await overview(owner.bearer);
    expect(o.keys).toMatchObject({ currentVersion: 2, versions: 2 });
    expect(ids(o)).not.toContain('keys.rotation_overdue');
  });

  it('the audit chain: unknown before a checkpoint, verified after one, failed (and critical, first) once a checkpoint is refused', async () => {
    const audited = (await createWorkspace(t, owner, 'Chain')).id;
    expect((await overview(owner.bearer, audited)).audit).toEqual({ chain: 'unknown', lastCheckpointAt: null });
    await recordEvents(t, audited, 3);
    const cp = await t.services.audit.checkpoint(audited);
    let o = await overview(owner.bearer, audited);
    expect(o.audit).toEqual({ chain: 'verified', lastCheckpointAt: cp?.signedAt });
    expect(ids(o).filter((id) => id.startsWith('audit.'))).toEqual([]);
    // An event after the checkpoint edited in the database: the next checkpoint is refused and recorded.
    await recordEvents(t, audited, 2);
    const head = (await t.services.audit.head(audited)).seq;
    await withoutTriggers(t, [`UPDATE rampart.audit_events SET body = replace(body, '"outcome":"success"', '"outcome":"failure"') WHERE tenant_id = '${audited}' AND seq = ${head}`]);
    await expect(t.services.audit.checkpoint(audited)).rejects.toThrow(/failed verification/);
    o = await overview(owner.bearer, audited);
    expect(o.audit).toEqual({ chain: 'failed', lastCheckpointAt: cp?.signedAt });
    const [failed] = await t.services.audit.list(audited, { action: 'audit.verification_failed', limit: 1 });
    expect(o.alerts[0]).toEqual({
      id: 'audit.verification_failed',
      severity: 'critical',
      at: new Date(Date.parse(failed?.time ?? '')).toISOString(),
      title: 'The audit log failed verification: no checkpoint has been signed since.',
      section: 'audit',
    });
  });

  it('a chain whose start was pruned without a signed statement is failed, and says so', async () => {
    const pruned = (await createWorkspace(t, owner, 'Pruned')).id;
    await recordEvents(t, pruned, 4);
    await t.services.audit.checkpoint(pruned);
    await withoutTriggers(t, [`DELETE FROM rampart.audit_events WHERE tenant_id = '${pruned}' AND seq <= 2`, `UPDATE rampart.audit_heads SET pruned_through = 2 WHERE chain = '${pruned}'`]);
    const o = await overview(owner.bearer, pruned);
    expect(o.audit?.chain).toBe('failed');
    expect(o.alerts.find((a) => a.id === 'audit.pruning_unproven')).toMatchObject({ severity: 'critical', section: 'audit' });
  });

  it('alerts come most severe first', async () => {
    const o = await overview(owner.bearer);
    const order = { critical: 0, warning: 1, info: 2 };
    const severities = o.alerts.map((a) => order[a.severity]);
    // The earlier tests leave alerts of more than one severity here; with one, the order proves nothing.
    expect(new Set(severities).size, JSON.stringify(ids(o))).toBeGreaterThan(1);
    expect(severities).toEqual([...severities].sort((a, b) => a - b));
    expect(new Set(ids(o)).size).toBe(o.alerts.length);
  });
});
