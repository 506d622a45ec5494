/**
 * Workspace access control on every backend: deny by default on every workspace route (walked
 * from the route table), roles made of scopes and the no-escalation rules, members and
 * ownership, invitations, API keys, and the events each change and each refusal leaves.
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from 'otplib';
import { publicUrl } from '../src/config.js';
import { isWellFormedApiKey } from '../src/modules/api-keys/index.js';
import { tenantContext } from '../src/platform/db/types.js';
import { GRANTABLE_SCOPES, OWNER_ONLY_SCOPES, SCOPES, type Scope } from '../src/platform/http/scopes.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { openApiPath } from './helpers/samples.js';
import { buildTestApp, createWorkspace, latestMail, signUp, type Caller, type TestApp } from './helpers/app.js';
import { SoftAuthenticator } from './helpers/soft-authenticator.js';

type Headers = Record<string, string>;
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function code(res: LightMyRequestResponse): string | undefined {
  return res.statusCode >= 400 ? res.json<{ error: { code: string } }>().error.code : undefined;
}

describe.each(BACKENDS)('access control on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;

  const call = (headers: Headers, method: Method, url: string, payload?: unknown) =>
    t.app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test responses are read loosely
  const ok = async (res: Promise<LightMyRequestResponse>, status = 200): Promise<any> => {
    const r = await res;
    if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
    return r.statusCode === 204 ? null : r.json<unknown>();
  };
  const roleIds = async (ws: string) => {
    const roles = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/roles`))).data as { id: string; builtin: string | null; name: string }[];
    return Object.fromEntries(roles.map((r) => [r.builtin ?? r.name, r.id])) as Record<string, string>;
  };
  const createRole = async (ws: string, name: string, scopes: readonly Scope[], as = owner.bearer) =>
    (await ok(call(as, 'POST', `/api/v1/workspaces/${ws}/roles`, { name, scopes }), 201)).id as string;
  const setRoles = (ws: string, accountId: string, ids: string[], as = owner.bearer) =>
    call(as, 'PATCH', `/api/v1/workspaces/${ws}/members/${accountId}`, { roleIds: ids });
  const events = async (ws: string, action?: string) =>
    (await t.database.raw<{ action: string; actor_type: string; actor_id: string | null; outcome: string; details: Record<string, unknown> }>(
      `SELECT action, actor_type, actor_id, outcome, details FROM rampart.workspace_events WHERE tenant_id = $1 ${action ? 'AND action = $2' : ''} ORDER BY created_at`,
      action ? [ws, action] : [ws],
    ));
  const member = async (ws: string, name: string, builtin: 'admin' | 'member' = 'member') => {
    const c = await signUp(t, name);
    await t.services.members.addMember(tenantContext(ws, owner.accountId), c.accountId, builtin);
    return c;
  };

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
  });
  afterAll(async () => t?.close());

  describe('deny by default, walked from the route table', () => {
    it('every workspace route names a known scope; account and public routes name none', () => {
      // The browsable documentation under /api/v1/docs is the docs plugin's, public by nature.
      const api = t.routes.filter((r) => r.url.startsWith('/api/') && !r.url.startsWith('/api/v1/docs'));
      expect(api.length).toBeGreaterThan(40);
      for (const r of api) {
        expect(r.access, `${r.method} ${r.url}`).toBeDefined();
        if (r.access === 'workspace') expect(SCOPES, `${r.method} ${r.url}`).toContain(r.scope);
        else expect(r.scope, `${r.method} ${r.url}`).toBeUndefined();
      }
    });

    it('offers no scope that no route needs: each in the catalogue guards at least one route', () => {
      const needed = new Set(t.routes.map((r) => r.scope));
      expect(SCOPES.filter((s) => !needed.has(s))).toEqual([]);
    });

    it('publishes each operation\'s scope in the OpenAPI document', async () => {
      const spec = (await ok(call({}, 'GET', '/api/v1/openapi.json'))) as { paths: Record<string, Record<string, Record<string, unknown>>> };
      for (const r of t.routes.filter((x) => x.access === 'workspace' && x.method !== 'HEAD' && !x.hidden)) {
        const op = spec.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
        expect(op?.['x-required-scope'], `${r.method} ${r.url}`).toBe(r.scope);
      }
    });

    it('for each route: a caller without its scope gets 403, one with it does not — by session and by API key', async () => {
      const ws = (await createWorkspace(t, owner, 'Walk')).id;
      const bob = await member(ws, 'walker');
      const admin = await member(ws, 'walk-admin', 'admin');
      const only = new Map<Scope, string>();
      const allBut = new Map<Scope, string>();
      for (const s of GRANTABLE_SCOPES) {
        only.set(s, await createRole(ws, `only ${s}`, [s]));
        allBut.set(s, await createRole(ws, `all but ${s}`, GRANTABLE_SCOPES.filter((x) => x !== s)));
      }
      // Keys: one with only each scope, one with all but it (the owner can give all grantable scopes).
      const keyOf = async (scopes: readonly Scope[]) =>
        `Bearer ${(await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: scopes.length === 1 ? scopes[0] : 'most', scopes }), 201)).secret}`;

      const routes = t.routes.filter((r) => r.access === 'workspace');
      let refusals = 0;
      for (const route of routes) {
        const scope = route.scope as Scope;
        const url = route.url
          .replace(':workspaceId', ws)
          .replace(':collection', 'no-such-collection')
          .replace(/:[A-Za-z]+Id\b/g, () => newId());
        const payload = route.jsonBody ? {} : undefined;
        const where = `${route.method} ${route.url}`;
        // HEAD answers carry no body: the status alone tells.
        const head = route.method === 'HEAD';
        const refused = (res: LightMyRequestResponse) => res.statusCode === 403 && (head || code(res) === 'forbidden');
        const named = (res: LightMyRequestResponse) => {
          if (!head) expect(res.json().error.details, where).toEqual({ scope });
        };

        if (OWNER_ONLY_SCOPES.includes(scope)) {
          const without = await call(admin.bearer, route.method as Method, url, payload);
          expect(refused(without), `${where} as admin: ${without.statusCode} ${without.body}`).toBe(true);
          named(without);
          const withIt = await call(owner.bearer, route.method as Method, url, payload);
          expect(refused(withIt), `${where} as owner: ${withIt.statusCode} ${withIt.body}`).toBe(false);
          refusals += 1;
          continue;
        }
        await ok(setRoles(ws, bob.accountId, [allBut.get(scope)!]));
        const without = await call(bob.bearer, route.method as Method, url, payload);
        expect(refused(without), `${where} without ${scope}: ${without.statusCode} ${without.body}`).toBe(true);
        named(without);
        await ok(setRoles(ws, bob.accountId, [only.get(scope)!]));
        const withIt = await call(bob.bearer, route.method as Method, url, payload);
        expect(refused(withIt), `${where} with ${scope}: ${withIt.statusCode} ${withIt.body}`).toBe(false);
        // Leaving is the one route a member may take against themselves: bring bob back.
        if (withIt.statusCode === 204 && route.url.endsWith('/membership')) await t.services.members.addMember(tenantContext(ws, owner.accountId), bob.accountId, 'member');

        const keyWithout = await call({ authorization: await keyOf(GRANTABLE_SCOPES.filter((x) => x !== scope)) }, route.method as Method, url, payload);
        expect(refused(keyWithout), `${where} key without ${scope}: ${keyWithout.statusCode} ${keyWithout.body}`).toBe(true);
        const keyWith = await call({ authorization: await keyOf([scope]) }, route.method as Method, url, payload);
        expect(refused(keyWith), `${where} key with ${scope}: ${keyWith.statusCode} ${keyWith.body}`).toBe(false);
        refusals += 2;
      }
      // Every one of those refusals is an event in the workspace, naming the scope and the route.
      const denied = await events(ws, 'access.denied');
      expect(denied).toHaveLength(refusals);
      expect(denied.every((e) => e.outcome === 'denied' && typeof e.details['scope'] === 'string' && typeof e.details['route'] === 'string')).toBe(true);
      expect(new Set(denied.map((e) => e.actor_type))).toEqual(new Set(['account', 'api_key']));
    });

    it('records a refusal outside any workspace in the authentication events', async () => {
      const res = await call({ ...owner.cookie, 'x-csrf-token': 'wrong' }, 'POST', '/api/v1/workspaces', { name: 'Nope' });
      expect(res.statusCode).toBe(403);
      const rows = await t.database.raw<{ details: Record<string, unknown> }>(
        `SELECT details FROM rampart.auth_events WHERE account_id = $1 AND action = 'access.denied' ORDER BY created_at DESC LIMIT 1`,
        [owner.accountId],
      );
      expect(rows[0]?.details).toMatchObject({ code: 'csrf_failed', method: 'POST', route: '/api/v1/workspaces' });
    });
  });

  describe('roles', () => {
    it('lists the built-in roles first, and custom roles with their scopes and member counts', async () => {
      const ws = (await createWorkspace(t, owner, 'Roles')).id;
      await createRole(ws, 'Auditors', ['audit:read', 'workspace:read']);
      const roles = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/roles`))).data;
      expect(roles.map((r: { name: string }) => r.name)).toEqual(['Owner', 'Admin', 'Member', 'Auditors']);
      expect(roles[0]).toMatchObject({ builtin: 'owner', memberCount: 1, scopes: SCOPES });
      expect(roles[1].scopes).toEqual(GRANTABLE_SCOPES);
      expect(roles[3]).toMatchObject({ builtin: null, memberCount: 0, scopes: ['workspace:read', 'audit:read'] });
      expect((await ok(call({}, 'GET', '/api/v1/scopes'))).data.map((s: { scope: string }) => s.scope)).toEqual(SCOPES);
    });

    it('refuses unknown and owner-only scopes, duplicate names, and changes to built-in roles', async () => {
      const ws = (await createWorkspace(t, owner, 'Bad roles')).id;
      const ids = await roleIds(ws);
      const base = `/api/v1/workspaces/${ws}/roles`;
      expect(code(await call(owner.bearer, 'POST', base, { name: 'X', scopes: ['records:fly'] }))).toBe('validation_failed');
      expect(code(await call(owner.bearer, 'POST', base, { name: 'X', scopes: ['workspace:delete'] }))).toBe('validation_failed');
      expect(code(await call(owner.bearer, 'POST', base, { name: 'X', scopes: [] }))).toBe('validation_failed');
      await createRole(ws, 'Support', ['records:read']);
      expect(code(await call(owner.bearer, 'POST', base, { name: 'support', scopes: ['records:read'] }))).toBe('role_name_taken');
      for (const builtin of ['owner', 'admin', 'member']) {
        const edit = await call(owner.bearer, 'PATCH', `${base}/${ids[builtin]}`, { scopes: ['records:read'] });
        expect(edit.statusCode).toBe(403);
        expect(code(edit)).toBe('role_immutable');
        expect(code(await call(owner.bearer, 'DELETE', `${base}/${ids[builtin]}`))).toBe('role_immutable');
      }
      const after = (await ok(call(owner.bearer, 'GET', base))).data;
      expect(after.map((r: { name: string }) => r.name)).toEqual(['Owner', 'Admin', 'Member', 'Support']);
    });

    it('nobody grants a scope they lack: creating, editing or deleting a role beyond their own is refused, nothing changes', async () => {
      const ws = (await createWorkspace(t, owner, 'Escalate')).id;
      const rm = await createRole(ws, 'Role manager', ['roles:manage', 'members:read', 'records:read']);
      const wide = await createRole(ws, 'Wide', ['records:read', 'audit:read']);
      const carol = await member(ws, 'carol');
      await ok(setRoles(ws, carol.accountId, [rm]));
      const base = `/api/v1/workspaces/${ws}/roles`;
      const grab = await call(carol.bearer, 'POST', base, { name: 'Mine', scopes: ['records:read', 'members:manage'] });
      expect(grab.statusCode).toBe(403);
      expect(grab.json().error).toMatchObject({ code: 'scope_escalation', details: { missing: ['members:manage'] } });
      // Editing her own role to add a scope she lacks.
      expect(code(await call(carol.bearer, 'PATCH', `${base}/${rm}`, { scopes: ['roles:manage', 'members:read', 'records:read', 'api-keys:manage'] }))).toBe('scope_escalation');
      // Editing or deleting a role that holds what she lacks.
      expect(code(await call(carol.bearer, 'PATCH', `${base}/${wide}`, { scopes: ['records:read'] }))).toBe('scope_escalation');
      expect(code(await call(carol.bearer, 'DELETE', `${base}/${wide}`))).toBe('scope_escalation');
      // Within her scopes she can.
      const made = await ok(call(carol.bearer, 'POST', base, { name: 'Reader', scopes: ['records:read'] }), 201);
      const roles = (await ok(call(owner.bearer, 'GET', base))).data;
      expect(roles.find((r: { id: string }) => r.id === rm).scopes).toEqual(['members:read', 'roles:manage', 'records:read']);
      expect(roles.find((r: { id: string }) => r.id === wide).scopes).toEqual(['records:read', 'audit:read']);
      expect(roles.map((r: { name: string }) => r.name)).toEqual(['Owner', 'Admin', 'Member', 'Reader', 'Role manager', 'Wide']);
      expect(made.scopes).toEqual(['records:read']);
    });

    it('edits a custom role: every holder gains or loses its scopes on their next request', async () => {
      const ws = (await createWorkspace(t, owner, 'Edit role')).id;
      const role = await createRole(ws, 'Editors', ['workspace:read', 'records:read']);
      const dan = await member(ws, 'dan');
      await ok(setRoles(ws, dan.accountId, [role]));
      const collections = `/api/v1/workspaces/${ws}/collections`;
      expect((await call(dan.bearer, 'POST', collections, { name: 'notes' })).statusCode).toBe(403);
      await ok(call(owner.bearer, 'PATCH', `/api/v1/workspaces/${ws}/roles/${role}`, { scopes: ['workspace:read', 'records:read', 'records:write'] }));
      expect((await call(dan.bearer, 'POST', collections, { name: 'notes' })).statusCode).toBe(201);
      await ok(call(owner.bearer, 'PATCH', `/api/v1/workspaces/${ws}/roles/${role}`, { scopes: ['workspace:read'] }));
      expect((await call(dan.bearer, 'GET', collections)).statusCode).toBe(403);
      const changes = await events(ws, 'role.updated');
      expect(changes.map((e) => e.details)).toEqual([
        { name: 'Editors', added: ['records:write'], removed: [] },
        { name: 'Editors', added: [], removed: ['records:read', 'records:write'] },
      ]);
    });

    it('deletes a role only when nobody holds it and no invitation waits on it; another workspace\'s role is not found', async () => {
      const ws = (await createWorkspace(t, owner, 'Delete role')).id;
      const other = (await createWorkspace(t, owner, 'Other')).id;
      const role = await createRole(ws, 'Temp', ['records:read']);
      const foreign = await createRole(other, 'Foreign', ['records:read']);
      const erin = await member(ws, 'erin');
      await ok(setRoles(ws, erin.accountId, [role]));
      const del = await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/roles/${role}`);
      expect(del.statusCode).toBe(409);
      expect(del.json().error).toMatchObject({ code: 'role_in_use', details: { members: 1, pendingInvitations: 0 } });
      await ok(setRoles(ws, erin.accountId, [(await roleIds(ws))['member']!]));
      await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: 'later@example.test', roleId: role }), 201);
      expect((await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/roles/${role}`)).json().error.details).toEqual({ members: 0, pendingInvitations: 1 });
      const [inv] = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/invitations`))).data;
      await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/invitations/${inv.id}`), 204);
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/roles/${foreign}`))).toBe('role_not_found');
      expect(code(await call(owner.bearer, 'PATCH', `/api/v1/workspaces/${ws}/roles/${foreign}`, { name: 'Mine' }))).toBe('role_not_found');
      expect(code(await setRoles(ws, erin.accountId, [foreign]))).toBe('role_not_found');
      await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/roles/${role}`), 204);
      expect((await roleIds(other))['Foreign']).toBe(foreign);
      expect((await events(ws, 'role.deleted')).map((e) => e.details)).toEqual([{ name: 'Temp' }]);
    });
  });

  describe('members', () => {
    it('a member may hold several roles; their scopes add up', async () => {
      const ws = (await createWorkspace(t, owner, 'Several')).id;
      const auditors = await createRole(ws, 'Auditors', ['audit:read']);
      const frank = await member(ws, 'frank');
      const ids = await roleIds(ws);
      const updated = await ok(setRoles(ws, frank.accountId, [ids['member']!, auditors, auditors]));
      expect(updated.roles.map((r: { name: string }) => r.name)).toEqual(['Member', 'Auditors']);
      const seen = await ok(call(frank.bearer, 'GET', `/api/v1/workspaces/${ws}`));
      expect(seen.scopes).toEqual(expect.arrayContaining(['records:write', 'audit:read']));
      expect(seen.scopes).not.toContain('members:manage');
      expect(code(await setRoles(ws, frank.accountId, []))).toBe('validation_failed');
      expect((await events(ws, 'member.roles_changed')).map((e) => e.details)).toEqual([{ added: ['Auditors'], removed: [] }]);
    });

    it('refuses escalation through role changes, and the owner role outside a transfer', async () => {
      const ws = (await createWorkspace(t, owner, 'Member rules')).id;
      const ids = await roleIds(ws);
      const hr = await createRole(ws, 'People', ['members:read', 'members:manage']);
      const gina = await member(ws, 'gina');
      const hank = await member(ws, 'hank');
      const boss = await member(ws, 'boss', 'admin');
      await ok(setRoles(ws, gina.accountId, [hr]));
      // Granting admin, or taking admin away, needs admin's scopes.
      expect(code(await setRoles(ws, hank.accountId, [ids['admin']!], gina.bearer))).toBe('scope_escalation');
      expect(code(await setRoles(ws, boss.accountId, [ids['member']!], gina.bearer))).toBe('scope_escalation');
      expect(code(await call(gina.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${boss.accountId}`))).toBe('scope_escalation');
      // Nobody gives or takes the owner role this way, not even the owner.
      expect(code(await setRoles(ws, hank.accountId, [ids['owner']!]))).toBe('owner_role_reserved');
      expect(code(await setRoles(ws, owner.accountId, [ids['admin']!], boss.bearer))).toBe('owner_role_reserved');
      expect(code(await setRoles(ws, owner.accountId, [ids['member']!]))).toBe('owner_role_reserved');
      const last = await call(boss.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${owner.accountId}`);
      expect(last.statusCode).toBe(409);
      expect(code(last)).toBe('last_owner');
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${owner.accountId}`))).toBe('last_owner');
      // Another workspace's member, or no member at all, is not found.
      const elsewhere = await signUp(t, 'elsewhere');
      expect(code(await setRoles(ws, elsewhere.accountId, [ids['member']!]))).toBe('member_not_found');
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${elsewhere.accountId}`))).toBe('member_not_found');
      // Nothing changed.
      const members = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/members`))).data as { accountId: string; roles: { name: string }[] }[];
      const rolesOf = (id: string) => members.find((m) => m.accountId === id)?.roles.map((r) => r.name);
      expect([rolesOf(owner.accountId), rolesOf(hank.accountId), rolesOf(boss.accountId)]).toEqual([['Owner'], ['Member'], ['Admin']]);
      expect(await events(ws, 'member.removed')).toEqual([]);
    });

    it('removing a member ends their access at once and revokes their API keys and invitations', async () => {
      const ws = (await createWorkspace(t, owner, 'Removal')).id;
      const ivan = await member(ws, 'ivan', 'admin');
      const key = (await ok(call(ivan.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'ci', scopes: ['records:read'] }), 201)).secret as string;
      const memberRole = (await roleIds(ws))['member']!;
      await ok(call(ivan.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: 'friend@example.test', roleId: memberRole }), 201);
      expect((await call({ authorization: `Bearer ${key}` }, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(200);
      await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${ivan.accountId}`), 204);
      expect(code(await call(ivan.bearer, 'GET', `/api/v1/workspaces/${ws}`))).toBe('workspace_not_found');
      expect(code(await call(ivan.cookie, 'GET', `/api/v1/workspaces/${ws}/collections`))).toBe('workspace_not_found');
      expect((await call({ authorization: `Bearer ${key}` }, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(401);
      expect((await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/api-keys`))).data[0].status).toBe('revoked');
      expect((await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/invitations`))).data).toEqual([]);
      // One event for the removal, naming the keys and invitations that went with the member.
      const [removal, ...others] = await events(ws, 'member.removed');
      expect(others).toEqual([]);
      expect(removal?.details).toMatchObject({ roles: ['Admin'], apiKeysRevoked: [expect.any(String)], invitationsRevoked: 1 });
    });

    it('a member leaves on their own; the owner cannot, and an API key is no member', async () => {
      const ws = (await createWorkspace(t, owner, 'Leaving')).id;
      const rita = await member(ws, 'rita', 'admin');
      const key = (await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'k', scopes: ['workspace:read'] }), 201)).secret as string;
      expect(code(await call({ authorization: `Bearer ${key}` }, 'DELETE', `/api/v1/workspaces/${ws}/membership`))).toBe('bad_request');
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/membership`))).toBe('last_owner');
      await ok(call(rita.bearer, 'DELETE', `/api/v1/workspaces/${ws}/membership`), 204);
      expect(code(await call(rita.bearer, 'GET', `/api/v1/workspaces/${ws}`))).toBe('workspace_not_found');
      expect((await events(ws, 'member.left')).map((e) => [e.actor_id, e.details['roles']])).toEqual([[rita.accountId, ['Admin']]]);
    });

    it("says which members have a second factor (an authenticator app or a passkey); the workspace reads it for its own members only", async () => {
      const ws = (await createWorkspace(t, owner, 'Factors')).id;
      const other = (await createWorkspace(t, owner, 'Factors other')).id;
      const [app, passkey, started, none] = [await member(ws, 'app'), await member(ws, 'passkey'), await member(ws, 'started'), await member(ws, 'none')];
      // An authenticator app, confirmed.
      const { secret } = await ok(call(app.bearer, 'POST', '/api/v1/account/mfa/totp'));
      await ok(call(app.bearer, 'POST', '/api/v1/account/mfa/totp/confirm', { code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) }) }));
      // A passkey alone.
      const origin = publicUrl(t.config);
      const soft = new SoftAuthenticator(origin, new URL(origin).hostname);
      const options = await ok(call(passkey.bearer, 'POST', '/api/v1/account/mfa/passkeys/options'));
      await ok(call(passkey.bearer, 'POST', '/api/v1/account/mfa/passkeys', { response: soft.register(options), name: 'Laptop' }), 201);
      // An authenticator app never confirmed is no second factor.
      await ok(call(started.bearer, 'POST', '/api/v1/account/mfa/totp'));
      const listed = (await ok(call(none.bearer, 'GET', `/api/v1/workspaces/${ws}/members`))).data as Array<{ accountId: string; mfa: boolean }>;
      const mfa = Object.fromEntries(listed.map((m) => [m.accountId, m.mfa]));
      expect(mfa).toEqual({ [owner.accountId]: false, [app.accountId]: true, [passkey.accountId]: true, [started.accountId]: false, [none.accountId]: false });
      // A role change answers the member with it too.
      const updated = await ok(setRoles(ws, app.accountId, [(await roleIds(ws))['admin']!]));
      expect(updated).toMatchObject({ accountId: app.accountId, mfa: true });
      // Below the API: in another workspace's transaction the function says nothing of these accounts.
      const asks = async (tenant: string, accountId: string) =>
        (await t.database.db.withTenant(tenantContext(tenant, null), (tx) => tx.query<{ mfa: boolean }>('SELECT member_has_mfa($1) AS mfa', [accountId]), { readOnly: true })).rows[0]?.mfa;
      expect(await asks(ws, app.accountId)).toBe(true);
      expect(await asks(other, app.accountId)).toBe(false);
      expect(await asks(other, passkey.accountId)).toBe(false);
      // Second factors stay their accounts' rows: a workspace transaction reads none of them.
      const rows = await t.database.db.withTenant(tenantContext(ws, null), async (tx) => [
        ...(await tx.query('SELECT account_id FROM totp_factors')).rows,
        ...(await tx.query('SELECT account_id FROM webauthn_credentials')).rows,
      ]);
      expect(rows).toEqual([]);
    });

    it('transfers ownership: owner only, with a recent sign-in; the old owner becomes an admin', async () => {
      const ws = (await createWorkspace(t, owner, 'Transfer')).id;
      const jane = await member(ws, 'jane', 'admin');
      const kim = await member(ws, 'kim');
      const url = `/api/v1/workspaces/${ws}/transfer-ownership`;
      const byAdmin = await call(jane.bearer, 'POST', url, { accountId: jane.accountId });
      expect([byAdmin.statusCode, code(byAdmin)]).toEqual([403, 'forbidden']);
      expect(code(await call(owner.bearer, 'POST', url, { accountId: owner.accountId }))).toBe('validation_failed');
      expect(code(await call(owner.bearer, 'POST', url, { accountId: newId() }))).toBe('member_not_found');
      // A session older than 15 minutes must sign in again first.
      await t.database.raw(`UPDATE rampart.sessions SET created_at = now() - interval '16 minutes' WHERE account_id = $1`, [owner.accountId]);
      expect(code(await call(owner.bearer, 'POST', url, { accountId: kim.accountId }))).toBe('reauthentication_required');
      await t.database.raw(`UPDATE rampart.sessions SET created_at = now() WHERE account_id = $1`, [owner.accountId]);
      await ok(call(owner.bearer, 'POST', url, { accountId: kim.accountId }), 204);
      const members = (await ok(call(kim.bearer, 'GET', `/api/v1/workspaces/${ws}/members`))).data as { accountId: string; roles: { builtin: string | null }[] }[];
      const builtins = (id: string) => members.find((m) => m.accountId === id)?.roles.map((r) => r.builtin).sort();
      expect(builtins(kim.accountId)).toEqual(['member', 'owner']);
      expect(builtins(owner.accountId)).toEqual(['admin']);
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}`, { confirm: 'Transfer' }))).toBe('forbidden');
      expect(code(await call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${kim.accountId}`))).toBe('last_owner');
      expect((await events(ws, 'ownership.transferred')).map((e) => [e.actor_id, e.details['from']])).toEqual([[owner.accountId, owner.accountId]]);
    });
  });

  describe('invitations', () => {
    const tokenOf = async (email: string) => {
      const mail = await latestMail(t, email);
      expect(mail.template).toBe('workspace_invitation');
      const match = /\/invitations\/accept#token=([A-Za-z0-9_-]+)/.exec(mail.text);
      if (!match) throw new Error('no invitation link');
      return match[1]!;
    };

    it('invites by email with a role; the invited account accepts once and holds that role', async () => {
      const ws = (await createWorkspace(t, owner, 'Invites')).id;
      const reader = await createRole(ws, 'Reader', ['workspace:read', 'records:read']);
      const lee = await signUp(t, 'lee');
      const inv = await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: lee.email.toUpperCase(), roleId: reader }), 201);
      expect(inv).toMatchObject({ email: lee.email, role: { id: reader, name: 'Reader' }, status: 'pending', sendCount: 1 });
      expect(Date.parse(inv.expiresAt) - Date.parse(inv.createdAt)).toBeCloseTo(7 * 86_400_000, -5);
      const token = await tokenOf(lee.email);
      // Stored only as a digest.
      const stored = await t.database.raw<{ row: string }>('SELECT i::text AS row FROM rampart.invitations i WHERE id = $1', [inv.id]);
      expect(stored[0]!.row).not.toContain(token.slice(-20));
      const preview = await ok(call(lee.bearer, 'POST', '/api/v1/invitations/preview', { token }));
      expect(preview).toMatchObject({ workspace: { id: ws, name: 'Invites' }, email: lee.email, role: { name: 'Reader' } });
      const joined = await ok(call(lee.bearer, 'POST', '/api/v1/invitations/accept', { token }));
      expect(joined).toMatchObject({ id: ws, roles: [{ name: 'Reader' }], scopes: ['workspace:read', 'records:read'] });
      expect((await call(lee.bearer, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(200);
      expect((await call(lee.bearer, 'POST', `/api/v1/workspaces/${ws}/collections`, { name: 'x' })).statusCode).toBe(403);
      const again = await call(lee.bearer, 'POST', '/api/v1/invitations/accept', { token });
      expect([again.statusCode, code(again)]).toEqual([410, 'invitation_invalid']);
      expect((await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/invitations`))).data).toEqual([]);
      expect((await events(ws)).map((e) => e.action)).toEqual(expect.arrayContaining(['invitation.created', 'invitation.accepted']));
      expect(t.logs.join('\n')).not.toContain(token.slice(-30));
      expect(JSON.stringify(await events(ws))).not.toContain(token.slice(-30));
      // Already a member: a new invitation is refused.
      expect(code(await call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: lee.email, roleId: reader }))).toBe('already_member');
    });

    it('accepting needs the invited email; stale, revoked, resent-over and forged links are refused', async () => {
      const ws = (await createWorkspace(t, owner, 'Stale')).id;
      const memberRole = (await roleIds(ws))['member']!;
      const mia = await signUp(t, 'mia');
      const nick = await signUp(t, 'nick');
      const base = `/api/v1/workspaces/${ws}/invitations`;
      const inv = await ok(call(owner.bearer, 'POST', base, { email: mia.email, roleId: memberRole, expiresInDays: 2 }), 201);
      expect(code(await call(owner.bearer, 'POST', base, { email: mia.email, roleId: memberRole }))).toBe('invitation_pending');
      const first = await tokenOf(mia.email);
      const wrong = await call(nick.bearer, 'POST', '/api/v1/invitations/accept', { token: first });
      expect([wrong.statusCode, code(wrong)]).toEqual([403, 'invitation_email_mismatch']);
      // Resending: at most once a minute; then a new link, and the old one stops working.
      expect(code(await call(owner.bearer, 'POST', `${base}/${inv.id}/resend`))).toBe('rate_limited');
      await t.database.raw(
        `UPDATE rampart.invitations SET sent_at = sent_at - interval '2 minutes', created_at = created_at - interval '2 minutes', expires_at = expires_at - interval '2 minutes' WHERE id = $1`,
        [inv.id],
      );
      const resent = await ok(call(owner.bearer, 'POST', `${base}/${inv.id}/resend`));
      expect(resent.sendCount).toBe(2);
      expect(Date.parse(resent.expiresAt) - Date.parse(resent.sentAt)).toBeCloseTo(2 * 86_400_000, -5);
      const second = await tokenOf(mia.email);
      expect(second).not.toBe(first);
      expect(code(await call(mia.bearer, 'POST', '/api/v1/invitations/accept', { token: first }))).toBe('invitation_invalid');
      // Expired.
      await t.database.raw(`UPDATE rampart.invitations SET expires_at = now() - interval '1 second' WHERE id = $1`, [inv.id]);
      expect(code(await call(mia.bearer, 'POST', '/api/v1/invitations/accept', { token: second }))).toBe('invitation_invalid');
      expect((await ok(call(owner.bearer, 'GET', base))).data[0].status).toBe('expired');
      // Expired ones make way for a new invitation; revoking kills its link.
      await ok(call(owner.bearer, 'POST', base, { email: mia.email, roleId: memberRole }), 201);
      const third = await tokenOf(mia.email);
      const [pending] = (await ok(call(owner.bearer, 'GET', base))).data;
      await ok(call(owner.bearer, 'DELETE', `${base}/${pending.id}`), 204);
      expect(code(await call(mia.bearer, 'POST', '/api/v1/invitations/accept', { token: third }))).toBe('invitation_invalid');
      expect(code(await call(owner.bearer, 'DELETE', `${base}/${pending.id}`))).toBe('invitation_not_found');
      // Forged tokens: wrong shape, or a real workspace with random bits.
      for (const token of ['rinv_' + 'A'.repeat(65), third.slice(0, 27) + randomBytes(32).toString('base64url'), 'x'.repeat(40)]) {
        expect(code(await call(mia.bearer, 'POST', '/api/v1/invitations/accept', { token }))).toBe('invitation_invalid');
      }
      const members = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/members`))).data;
      expect(members.map((m: { accountId: string }) => m.accountId)).toEqual([owner.accountId]);
    });

    it('the preview works signed out, with the token as its only credential; every unusable token is the same 410', async () => {
      const ws = (await createWorkspace(t, owner, 'Preview')).id;
      const email = `invitee-${randomBytes(3).toString('hex')}@example.test`;
      const inv = await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email, roleId: (await roleIds(ws))['member'] }), 201);
      const token = await tokenOf(email);
      const preview = await ok(call({}, 'POST', '/api/v1/invitations/preview', { token }));
      expect(preview).toEqual({ workspace: { id: ws, name: 'Preview' }, email, role: { name: 'Member' }, invitedBy: 'owner', expiresAt: inv.expiresAt });
      // A stale cookie changes nothing: the route reads no session.
      expect(await ok(call({ cookie: '__Host-rampart_session=rs_stale' }, 'POST', '/api/v1/invitations/preview', { token }))).toEqual(preview);
      const forged = [token.slice(0, 27) + randomBytes(32).toString('base64url'), 'rinv_' + 'A'.repeat(65), 'x'.repeat(40)];
      const answers = [];
      for (const bad of forged) answers.push(await call({}, 'POST', '/api/v1/invitations/preview', { token: bad }));
      await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/invitations/${inv.id}`), 204);
      answers.push(await call({}, 'POST', '/api/v1/invitations/preview', { token }));
      for (const res of answers) {
        expect(res.statusCode).toBe(410);
        expect(res.json().error).toMatchObject({ code: 'invitation_invalid', message: 'The invitation is no longer valid: it was used, revoked, or has expired.', details: null });
        expect(res.body).not.toContain('Preview');
        expect(res.body).not.toContain(email);
      }
      // Accepting still needs the invited account signed in.
      expect((await call({}, 'POST', '/api/v1/invitations/accept', { token })).statusCode).toBe(401);
    });

    it('the signed-out preview is rate limited per address, as the other token routes are', async () => {
      const limited = await buildTestApp(backend, {}, { limits: { ip: { points: 3, durationSeconds: 60 } } });
      try {
        const preview = () => limited.app.inject({ method: 'POST', url: '/api/v1/invitations/preview', remoteAddress: '203.0.113.7', payload: { token: 'rinv_' + 'A'.repeat(65) } });
        for (let i = 0; i < 3; i++) expect((await preview()).statusCode).toBe(410);
        const over = await preview();
        expect(over.statusCode).toBe(429);
        expect(code(over)).toBe('rate_limited');
        expect(over.headers['retry-after']).toBeDefined();
      } finally {
        await limited.close();
      }
    });

    it('refuses inviting with the owner role or a role beyond the inviter; another workspace\'s invitation is not found', async () => {
      const ws = (await createWorkspace(t, owner, 'Inviter rules')).id;
      const other = (await createWorkspace(t, owner, 'Inviter other')).id;
      const ids = await roleIds(ws);
      const recruiter = await createRole(ws, 'Recruiter', ['invitations:manage', 'records:read']);
      const olga = await member(ws, 'olga');
      await ok(setRoles(ws, olga.accountId, [recruiter]));
      const base = `/api/v1/workspaces/${ws}/invitations`;
      expect(code(await call(owner.bearer, 'POST', base, { email: 'x@example.test', roleId: ids['owner'] }))).toBe('owner_role_reserved');
      expect(code(await call(olga.bearer, 'POST', base, { email: 'x@example.test', roleId: ids['member'] }))).toBe('scope_escalation');
      expect(code(await call(owner.bearer, 'POST', base, { email: 'not-an-email', roleId: ids['member'] }))).toBe('validation_failed');
      expect(code(await call(owner.bearer, 'POST', base, { email: 'x@example.test', roleId: ids['member'], expiresInDays: 90 }))).toBe('validation_failed');
      const theirs = await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${other}/invitations`, { email: 'y@example.test', roleId: (await roleIds(other))['member'] }), 201);
      expect(code(await call(owner.bearer, 'DELETE', `${base}/${theirs.id}`))).toBe('invitation_not_found');
      expect(code(await call(owner.bearer, 'POST', `${base}/${theirs.id}/resend`))).toBe('invitation_not_found');
      expect((await ok(call(owner.bearer, 'GET', base))).data).toEqual([]);
    });
  });

  describe('API keys', () => {
    it('shows the secret once, stores a digest, and acts as the key with its scopes', async () => {
      const ws = (await createWorkspace(t, owner, 'Keys')).id;
      const created = await ok(
        call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'reporting', scopes: ['records:read', 'records:write'] }),
        201,
      );
      const secret = created.secret as string;
      expect(secret).toMatch(/^rk_live_[0-9A-Za-z]{49}$/);
      expect(isWellFormedApiKey(secret)).toBe(true);
      expect(created).toMatchObject({ name: 'reporting', prefix: secret.slice(0, 12), status: 'active', createdBy: { accountId: owner.accountId }, createdByKey: null });
      const listed = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/api-keys`))).data;
      expect(JSON.stringify(listed)).not.toContain(secret.slice(12));
      const stored = await t.database.raw<{ row: string }>('SELECT k::text AS row FROM rampart.api_keys k WHERE id = $1', [created.id]);
      expect(stored[0]!.row).not.toContain(secret.slice(12));

      const key = { authorization: `Bearer ${secret}` };
      const made = await ok(call(key, 'POST', `/api/v1/workspaces/${ws}/collections`, { name: 'by-key' }), 201);
      expect(made.name).toBe('by-key');
      expect(code(await call(key, 'GET', `/api/v1/workspaces/${ws}/members`))).toBe('forbidden');
      // Not a session: no account routes, no other workspace.
      expect((await call(key, 'GET', '/api/v1/workspaces')).statusCode).toBe(401);
      expect((await call(key, 'GET', '/api/v1/auth/session')).statusCode).toBe(401);
      const other = (await createWorkspace(t, owner, 'Keys other')).id;
      expect((await call(key, 'GET', `/api/v1/workspaces/${other}/collections`)).statusCode).toBe(401);
      // A look-alike with a broken checksum is refused without a lookup.
      const flipped = secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A');
      expect(isWellFormedApiKey(flipped)).toBe(false);
      expect((await call({ authorization: `Bearer ${flipped}` }, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(401);
      // Its use is recorded (after the answer), and its actions are the key's.
      await t.services.accounts.settle();
      const used = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/api-keys`))).data[0];
      expect(used.lastUsedAt).not.toBeNull();
      const denied = await events(ws, 'access.denied');
      expect(denied.map((e) => [e.actor_type, e.actor_id])).toEqual([['api_key', created.id]]);
      // Never in a log line, and never in an event.
      expect(t.logs.join('\n')).not.toContain(secret.slice(12));
      expect(JSON.stringify(await events(ws))).not.toContain(secret.slice(12));
    });

    it('a key never exceeds its creator: subset at creation, cut at use, dead when the creator leaves', async () => {
      const ws = (await createWorkspace(t, owner, 'Key bounds')).id;
      const paul = await member(ws, 'paul', 'admin');
      const base = `/api/v1/workspaces/${ws}/api-keys`;
      const limited = await createRole(ws, 'Keys and reads', ['api-keys:manage', 'records:read']);
      await ok(setRoles(ws, paul.accountId, [limited]));
      const grab = await call(paul.bearer, 'POST', base, { name: 'too much', scopes: ['records:read', 'records:write'] });
      expect(grab.json().error).toMatchObject({ code: 'scope_escalation', details: { missing: ['records:write'] } });
      expect(code(await call(paul.bearer, 'POST', base, { name: 'owner', scopes: ['workspace:delete'] }))).toBe('validation_failed');
      const parent = await ok(call(paul.bearer, 'POST', base, { name: 'parent', scopes: ['api-keys:manage', 'records:read'] }), 201);
      const parentKey = { authorization: `Bearer ${parent.secret}` };
      // A key minting a key: only within its own scopes; the child is attributed to it.
      expect(code(await call(parentKey, 'POST', base, { name: 'child', scopes: ['records:read', 'documents:read'] }))).toBe('scope_escalation');
      const child = await ok(call(parentKey, 'POST', base, { name: 'child', scopes: ['records:read'] }), 201);
      expect(child).toMatchObject({ createdByKey: parent.id, createdBy: { accountId: paul.accountId } });
      const childKey = { authorization: `Bearer ${child.secret}` };
      expect((await call(childKey, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(200);
      // The creator loses records:read: so do the keys, on their next request.
      await ok(setRoles(ws, paul.accountId, [await createRole(ws, 'Keys only', ['api-keys:manage'])]));
      expect(code(await call(childKey, 'GET', `/api/v1/workspaces/${ws}/collections`))).toBe('forbidden');
      await ok(setRoles(ws, paul.accountId, [limited]));
      expect((await call(childKey, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(200);
      // Revoking the parent revokes the child.
      await ok(call(owner.bearer, 'DELETE', `${base}/${parent.id}`), 204);
      expect((await call(childKey, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(401);
      expect(code(await call(owner.bearer, 'DELETE', `${base}/${parent.id}`))).toBe('api_key_not_found');
      const statuses = (await ok(call(owner.bearer, 'GET', base))).data.map((k: { name: string; status: string }) => [k.name, k.status]);
      expect(statuses).toEqual(expect.arrayContaining([['parent', 'revoked'], ['child', 'revoked']]));
      // One event: the parent, naming the child revoked with it.
      expect((await events(ws, 'api_key.revoked')).map((e) => e.details)).toEqual([{ name: 'parent', descendantsRevoked: [child.id] }]);
    });

    it("GET /workspace tells a key its own workspace and what it may do now, whatever its scopes; anything but a live key is 401", async () => {
      const ws = (await createWorkspace(t, owner, 'Key home')).id;
      const other = (await createWorkspace(t, owner, 'Key elsewhere')).id;
      const rita = await member(ws, 'rita', 'admin');
      const base = `/api/v1/workspaces/${ws}/api-keys`;
      const created = await ok(call(rita.bearer, 'POST', base, { name: 'sync', scopes: ['records:read', 'records:write'] }), 201);
      const key = { authorization: `Bearer ${created.secret}` };
      const workspace = await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}`));
      expect(await ok(call(key, 'GET', '/api/v1/workspace'))).toEqual({
        id: ws,
        name: 'Key home',
        region: workspace.region,
        createdAt: workspace.createdAt,
        apiKey: { id: created.id, name: 'sync', scopes: ['records:read', 'records:write'], createdAt: created.createdAt },
      });
      // Another workspace's key answers with that workspace.
      const theirs = await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${other}/api-keys`, { name: 'theirs', scopes: ['documents:read'] }), 201);
      expect((await ok(call({ authorization: `Bearer ${theirs.secret}` }, 'GET', '/api/v1/workspace'))).id).toBe(other);
      // Its creator loses records:write: so does the key, here as on every route.
      await ok(setRoles(ws, rita.accountId, [await createRole(ws, 'Readers of keys', ['api-keys:manage', 'records:read'])]));
      expect((await ok(call(key, 'GET', '/api/v1/workspace'))).apiKey.scopes).toEqual(['records:read']);
      // A session is not a key (signed in or not, cookie or bearer), nor is a look-alike or a revoked key.
      for (const headers of [owner.bearer, owner.cookie, {}, { authorization: `Bearer ${created.secret.slice(0, -1)}${created.secret.endsWith('A') ? 'B' : 'A'}` }]) {
        const res = await call(headers, 'GET', '/api/v1/workspace');
        expect(res.statusCode).toBe(401);
        expect(code(res)).toBe('unauthenticated');
        expect(res.body).not.toContain('Key home');
      }
      await ok(call(owner.bearer, 'DELETE', `${base}/${created.id}`), 204);
      expect((await call(key, 'GET', '/api/v1/workspace')).statusCode).toBe(401);
    });

    it('expires, and refuses an expiry in the past or beyond two years', async () => {
      const ws = (await createWorkspace(t, owner, 'Key expiry')).id;
      const base = `/api/v1/workspaces/${ws}/api-keys`;
      for (const expiresAt of [new Date(Date.now() - 1000), new Date(Date.now() + 3 * 366 * 86_400_000)]) {
        expect(code(await call(owner.bearer, 'POST', base, { name: 'x', scopes: ['records:read'], expiresAt: expiresAt.toISOString() }))).toBe('validation_failed');
      }
      const key = await ok(call(owner.bearer, 'POST', base, { name: 'short', scopes: ['records:read'], expiresAt: new Date(Date.now() + 3_600_000).toISOString() }), 201);
      expect((await call({ authorization: `Bearer ${key.secret}` }, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(200);
      await t.database.raw(`UPDATE rampart.api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [key.id]);
      expect((await call({ authorization: `Bearer ${key.secret}` }, 'GET', `/api/v1/workspaces/${ws}/collections`)).statusCode).toBe(401);
      expect((await ok(call(owner.bearer, 'GET', base))).data[0].status).toBe('expired');
    });
  });

  it('every change to roles, members, invitations and keys is an event, attributed to its actor', async () => {
    const ws = (await createWorkspace(t, owner, 'Events')).id;
    const role = await createRole(ws, 'Ops', ['records:read']);
    const quinn = await member(ws, 'quinn');
    await ok(setRoles(ws, quinn.accountId, [role]));
    const key = await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/api-keys`, { name: 'k', scopes: ['records:read'] }), 201);
    await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/api-keys/${key.id}`), 204);
    await ok(call(owner.bearer, 'POST', `/api/v1/workspaces/${ws}/invitations`, { email: 'evt@example.test', roleId: role }), 201);
    await ok(call(owner.bearer, 'DELETE', `/api/v1/workspaces/${ws}/members/${quinn.accountId}`), 204);
    const listed = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/events?limit=50`))).data as { action: string; actor: { type: string; id: string } }[];
    expect(listed.map((e) => e.action).reverse()).toEqual([
      'workspace.created',
      'role.created',
      'member.roles_changed',
      'api_key.created',
      'api_key.revoked',
      'invitation.created',
      'member.removed',
    ]);
    expect(listed.every((e) => e.actor.type === 'account' && e.actor.id === owner.accountId)).toBe(true);
    const onlyRemovals = (await ok(call(owner.bearer, 'GET', `/api/v1/workspaces/${ws}/events?action=member.removed`))).data;
    expect(onlyRemovals).toHaveLength(1);
    // Append-only: even in its own workspace, the app role cannot change or remove an event.
    const ctx = tenantContext(ws, owner.accountId);
    await expect(t.database.db.withTenant(ctx, (tx) => tx.query(`UPDATE audit_events SET outcome = 'failure'`))).rejects.toThrow(/permission denied/);
    await expect(t.database.db.withTenant(ctx, (tx) => tx.query('DELETE FROM audit_events'))).rejects.toThrow(/append-only/);
    await expect(t.database.db.withTenant(ctx, (tx) => tx.query(`UPDATE workspace_events SET outcome = 'failure'`))).rejects.toThrow(/cannot update view/);
    // Only with audit:read.
    const reader = await member(ws, 'reader');
    expect(code(await call(reader.bearer, 'GET', `/api/v1/workspaces/${ws}/events`))).toBe('forbidden');
  });
});
