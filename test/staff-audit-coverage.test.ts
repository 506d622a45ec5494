/**
 * Every successful staff write is exactly one audit event, and so is every read through a grant.
 * The routes are enumerated from the running app's route table: a new staff write route (or a
 * new grant read route) that is not exercised here fails this file, on both backends. Events are
 * counted with raw SQL across every chain (workspace chains and the platform chains, queued or
 * already chained), before and after each request.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';
import { addViaCli, allEventCount, onboard, proveTotp, staffChain, workspaceChain, type StaffCaller } from './helpers/staff.js';

type Run = () => Promise<LightMyRequestResponse>;
/** Prepares what a route needs (outside the count) and returns the one request to count. */
type Case = () => Promise<Run>;

const WRITE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

describe.each(BACKENDS)('staff audit coverage on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;
  let recordId: string;
  let documentId: string;
  let staffAdmin: StaffCaller;
  let support: StaffCaller;
  let security: StaffCaller;

  const inject = (headers: Record<string, string>, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  const wbase = () => `/api/v1/workspaces/${ws}/access-requests`;

  async function fileRequest(scope = 'records:read'): Promise<string> {
    const res = await inject(support.bearer, 'POST', '/api/v1/staff/access-requests', {
      workspaceId: ws,
      scope,
      justification: 'customer-initiated-support',
      reason: 'Coverage',
      ticket: 'COV-1',
      durationMinutes: 60,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: string }>().id;
  }

  async function grant(scope = 'records:read'): Promise<string> {
    const id = await fileRequest(scope);
    const res = await inject(owner.bearer, 'POST', `${wbase()}/${id}/approve`, {});
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ grant: { id: string } }>().grant.id;
  }

  /** A member who used their setup link but has no authenticator app yet, signed in for API use. */
  async function setUpOnly(): Promise<{ id: string; bearer: Record<string, string> }> {
    const added = await addViaCli(t, 'support');
    const password = 'coverage staff passphrase 1';
    expect((await inject({}, 'POST', '/api/v1/staff/setup', { token: added.setupToken, password })).statusCode).toBe(201);
    const token = (await inject({}, 'POST', '/api/v1/staff/auth/tokens', { email: added.email, password })).json<{ token: string }>().token;
    return { id: added.id, bearer: { authorization: `Bearer ${token}` } };
  }

  const writes: Record<string, Case> = {
    'POST /api/v1/staff/setup': async () => {
      const added = await addViaCli(t, 'support');
      return () => inject({}, 'POST', '/api/v1/staff/setup', { token: added.setupToken, password: 'coverage staff passphrase 2' });
    },
    'POST /api/v1/staff/auth/sign-in': async () => () => inject({}, 'POST', '/api/v1/staff/auth/sign-in', { email: support.email, password: support.password }),
    'POST /api/v1/staff/auth/tokens': async () => () => inject({}, 'POST', '/api/v1/staff/auth/tokens', { email: support.email, password: support.password }),
    'POST /api/v1/staff/auth/sign-out': async () => {
      const token = (await inject({}, 'POST', '/api/v1/staff/auth/tokens', { email: support.email, password: support.password })).json<{ token: string }>().token;
      return () => inject({ authorization: `Bearer ${token}` }, 'POST', '/api/v1/staff/auth/sign-out');
    },
    'POST /api/v1/staff/mfa/totp': async () => {
      const fresh = await setUpOnly();
      return () => inject(fresh.bearer, 'POST', '/api/v1/staff/mfa/totp');
    },
    'POST /api/v1/staff/mfa/totp/verify': async () => {
      const fresh = await setUpOnly();
      const secret = (await inject(fresh.bearer, 'POST', '/api/v1/staff/mfa/totp')).json<{ secret: string }>().secret;
      return () => proveTotp(t, fresh.id, secret, fresh.bearer);
    },
    'POST /api/v1/staff/members': async () => () =>
      inject(staffAdmin.bearer, 'POST', '/api/v1/staff/members', { email: `cov-${Date.now()}@staff.example.test`, name: 'Covered', role: 'engineer' }),
    'PATCH /api/v1/staff/members/:staffId': async () => {
      const added = await addViaCli(t, 'support');
      return () => inject(staffAdmin.bearer, 'PATCH', `/api/v1/staff/members/${added.id}`, { role: 'engineer' });
    },
    'POST /api/v1/staff/members/:staffId/disable': async () => {
      const added = await addViaCli(t, 'support');
      return () => inject(staffAdmin.bearer, 'POST', `/api/v1/staff/members/${added.id}/disable`);
    },
    'POST /api/v1/staff/members/:staffId/reset': async () => {
      const added = await addViaCli(t, 'support');
      return () => inject(staffAdmin.bearer, 'POST', `/api/v1/staff/members/${added.id}/reset`);
    },
    'POST /api/v1/staff/access-requests': async () => () =>
      inject(support.bearer, 'POST', '/api/v1/staff/access-requests', {
        workspaceId: ws,
        scope: 'records:read',
        justification: 'incident-response',
        reason: 'Coverage',
        ticket: 'COV-2',
        durationMinutes: 30,
      }),
    'POST /api/v1/staff/access-requests/:requestId/cancel': async () => {
      const id = await fileRequest();
      return () => inject(support.bearer, 'POST', `/api/v1/staff/access-requests/${id}/cancel`);
    },
    'POST /api/v1/staff/break-glass': async () => () =>
      inject(security.bearer, 'POST', '/api/v1/staff/break-glass', { workspaceId: ws, scope: 'records:read', reason: 'Coverage incident' }),
    'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/approve': async () => {
      const id = await fileRequest();
      return () => inject(owner.bearer, 'POST', `${wbase()}/${id}/approve`, {});
    },
    'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/deny': async () => {
      const id = await fileRequest();
      return () => inject(owner.bearer, 'POST', `${wbase()}/${id}/deny`, { note: 'No.' });
    },
    'POST /api/v1/workspaces/:workspaceId/access-requests/:requestId/revoke': async () => {
      const id = await fileRequest();
      await inject(owner.bearer, 'POST', `${wbase()}/${id}/approve`, {});
      return () => inject(owner.bearer, 'POST', `${wbase()}/${id}/revoke`, {});
    },
  };

  const reads: Record<string, Case> = {
    'GET /api/v1/staff/grants/:grantId/collections': async () => {
      const g = await grant();
      return () => inject(support.bearer, 'GET', `/api/v1/staff/grants/${g}/collections`);
    },
    'GET /api/v1/staff/grants/:grantId/collections/:collection/records': async () => {
      const g = await grant();
      return () => inject(support.bearer, 'GET', `/api/v1/staff/grants/${g}/collections/notes/records`);
    },
    'GET /api/v1/staff/grants/:grantId/collections/:collection/records/:recordId': async () => {
      const g = await grant();
      return () => inject(support.bearer, 'GET', `/api/v1/staff/grants/${g}/collections/notes/records/${recordId}`);
    },
    'GET /api/v1/staff/grants/:grantId/documents': async () => {
      const g = await grant('documents:read');
      return () => inject(support.bearer, 'GET', `/api/v1/staff/grants/${g}/documents`);
    },
    'GET /api/v1/staff/grants/:grantId/documents/:documentId/content': async () => {
      const g = await grant('documents:read');
      return () => inject(support.bearer, 'GET', `/api/v1/staff/grants/${g}/documents/${documentId}/content`);
    },
  };

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Covered')).id;
    await inject(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/collections`, { name: 'notes' });
    recordId = (await inject(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/collections/notes/records`, { data: { n: 1 } })).json<{ id: string }>().id;
    const file = multipart('a.txt', 'a', 'text/plain');
    documentId = (await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${ws}/documents`, headers: { ...owner.bearer, ...file.headers }, payload: file.payload })).json<{ id: string }>().id;
    staffAdmin = await onboard(t, await addViaCli(t, 'staff-admin'), 'staff-admin');
    support = await onboard(t, await addViaCli(t, 'support', 'Cover Support'), 'support');
    security = await onboard(t, await addViaCli(t, 'security', 'Cover Security'), 'security');
    await t.services.accounts.settle();
  });
  afterAll(async () => t?.close());

  const key = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

  it('knows every staff write route of the route table, and no other', () => {
    const routes = t.routes
      .filter((r) => WRITE.has(r.method) && (r.access === 'staff' || r.url.startsWith('/api/v1/staff/') || r.url.includes('/access-requests')))
      .map(key)
      .sort();
    expect(routes.length).toBeGreaterThanOrEqual(16);
    expect(Object.keys(writes).sort()).toEqual(routes);
  });

  it('knows every read through a grant', () => {
    const routes = t.routes.filter((r) => r.method === 'GET' && r.access === 'staff' && r.staffPermission === 'access:use').map(key).sort();
    expect(Object.keys(reads).sort()).toEqual(routes);
    // Every staff route is a staff route by its declaration, with a permission.
    for (const r of t.routes.filter((x) => x.access === 'staff')) expect(r.staffPermission, key(r)).toBeDefined();
  });

  it.each(Object.keys(writes))('%s: a success is exactly one audit event', async (route) => {
    const run = await (writes[route] as Case)();
    await t.services.accounts.settle();
    const before = await allEventCount(t);
    const res = await run();
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect((await allEventCount(t)) - before, route).toBe(1);
  });

  it.each(Object.keys(reads))('%s: a read through a grant is exactly one event, in the workspace chain', async (route) => {
    const run = await (reads[route] as Case)();
    const before = await allEventCount(t);
    const inWorkspace = (await workspaceChain(t, ws)).length;
    const res = await run();
    expect(res.statusCode, res.body).toBe(200);
    expect((await allEventCount(t)) - before, route).toBe(1);
    const chain = await workspaceChain(t, ws);
    expect(chain).toHaveLength(inWorkspace + 1);
    expect(chain.at(-1)).toMatchObject({ actor: { type: 'staff', id: support.id }, outcome: 'success' });
    expect(chain.at(-1)?.action).toMatch(/^staff\.(records|documents)\.read$/);
  });

  it('a refused staff write is one event too, in the staff chain', async () => {
    const before = await allEventCount(t);
    const staffBefore = (await staffChain(t)).length;
    const res = await inject(support.bearer, 'POST', '/api/v1/staff/access-requests', {
      workspaceId: ws,
      scope: 'records:read',
      justification: 'customer-initiated-support',
      reason: 'Too long',
      ticket: 'COV-3',
      durationMinutes: 9 * 60,
    });
    expect(res.statusCode).toBe(400);
    expect((await allEventCount(t)) - before).toBe(1);
    expect((await staffChain(t)).slice(staffBefore)).toEqual([
      expect.objectContaining({ action: 'staff.refused', outcome: 'denied', details: expect.objectContaining({ code: 'access_duration_too_long' }) }),
    ]);
  });
});
