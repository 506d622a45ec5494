/**
 * The SCIM 2.0 server (RFC 7643/7644) on every backend, driven as Okta and Entra ID drive it:
 * discovery, Users and Groups with their PATCH dialects, filters, pagination, projections,
 * ETags, and the SCIM error format. And what provisioning means in the workspace: an account
 * and a membership (only for a domain the workspace verified), access gone at once on
 * deactivation (sessions revoked), directory groups mapped to roles, one event per write with
 * the SCIM token as actor, and another workspace's token refused without touching anything.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { auditEventCount, auditEventsOfRequest } from './helpers/audit.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import {
  body,
  ENTERPRISE,
  expectScimError,
  expectStatus,
  GROUP,
  LIST,
  newScimToken as newToken,
  patchOps,
  scimClient,
  USER,
  verifyDomain,
  type Json,
  type Method,
} from './helpers/scim.js';

const DOMAIN = 'example.test';

describe.each(BACKENDS)('SCIM on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  let ws: string;
  let token: string;
  let bob: Caller;
  let wsB: string;
  let tokenB: string;
  let counter = 0;

  const fresh = (name: string) => `${name}-${++counter}-${newId().slice(-6)}@${DOMAIN}`;

  const client = scimClient(
    () => t,
    () => ({ workspace: ws, token }),
  );
  const scim = client.request;
  const write = client.write;
  const userBody = (userName: string, extra: Record<string, unknown> = {}) => ({
    schemas: [USER],
    userName,
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  });
  const createUser = (userName: string, extra: Record<string, unknown> = {}) => write(() => scim('POST', '/Users', { body: userBody(userName, extra) }), 201, 'scim.user.created');
  async function membership(accountId: string, workspace = ws): Promise<{ roles: Array<{ name: string; via_directory: boolean }> } | null> {
    const [m] = await t.database.raw('SELECT 1 FROM rampart.memberships WHERE tenant_id = $1 AND account_id = $2', [workspace, accountId]);
    if (!m) return null;
    const roles = await t.database.raw<{ name: string; via_directory: boolean }>(
      `SELECT r.name, mr.via_directory FROM rampart.member_roles mr JOIN rampart.roles r ON r.tenant_id = mr.tenant_id AND r.id = mr.role_id
        WHERE mr.tenant_id = $1 AND mr.account_id = $2 ORDER BY r.name`,
      [workspace, accountId],
    );
    return { roles };
  }
  /** A digest of each of a tenant's tables: a difference names where. */
  async function snapshot(tenant: string, skip: readonly string[] = []): Promise<Record<string, string>> {
    await t.services.accounts.settle();
    await t.services.audit.settle();
    const tables = await t.database.raw<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'rampart' AND c.relkind = 'r'
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) ORDER BY 1`,
    );
    const out: Record<string, string> = {};
    for (const { table } of tables) {
      if (skip.includes(table)) continue;
      const rows = await t.database.raw<{ row: string }>(`SELECT x::text AS row FROM rampart.${table} x WHERE tenant_id = $1 ORDER BY 1`, [tenant]);
      out[table] = `${rows.length} ${createHash('sha256').update(rows.map((r) => r.row).join('\n')).digest('hex')}`;
    }
    return out;
  }
  const roleIdOf = async (name: string) => (await t.database.raw<{ id: string }>('SELECT id FROM rampart.roles WHERE tenant_id = $1 AND (builtin = $2 OR name = $2)', [ws, name]))[0]!.id;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
    ws = (await createWorkspace(t, owner, 'Acme')).id;
    await verifyDomain(t, ws, DOMAIN);
    token = await newToken(t, ws, owner);
    bob = await signUp(t, 'bob');
    wsB = (await createWorkspace(t, bob, 'Beta')).id;
    await verifyDomain(t, wsB, 'beta.test');
    tokenB = await newToken(t, wsB, bob);
  });
  afterAll(async () => t?.close());

  describe('discovery', () => {
    it('serves ServiceProviderConfig, ResourceTypes and Schemas as application/scim+json', async () => {
      const spc = await scim('GET', '/ServiceProviderConfig');
      expect(spc.headers['content-type']).toMatch(/^application\/scim\+json/);
      expect(spc.headers['cache-control']).toBe('no-store');
      expect(body(spc)).toMatchObject({ patch: { supported: true }, bulk: { supported: false }, filter: { supported: true, maxResults: 200 }, etag: { supported: true }, sort: { supported: false } });
      const types = body(await scim('GET', '/ResourceTypes'));
      expect(types.Resources.map((r: { id: string }) => r.id)).toEqual(['User', 'Group']);
      expect(body(await scim('GET', '/ResourceTypes/User')).schemaExtensions).toEqual([{ schema: ENTERPRISE, required: false }]);
      const schemas = body(await scim('GET', '/Schemas'));
      expect(schemas.Resources.map((r: { id: string }) => r.id)).toEqual([USER, ENTERPRISE, GROUP]);
      expect(body(await scim('GET', `/Schemas/${USER}`)).attributes.map((a: { name: string }) => a.name)).toContain('userName');
      expectScimError(await scim('GET', '/Schemas/urn:nope'), 404);
      expectScimError(await scim('GET', '/NoSuchEndpoint'), 404);
    });
  });

  describe('authentication', () => {
    it('missing, empty, malformed, unknown and revoked tokens: 401 in SCIM format, each one event', async () => {
      const revoked = await newToken(t, ws, owner, 'to revoke');
      const [row] = await t.database.raw<{ id: string }>("SELECT id FROM rampart.scim_tokens WHERE tenant_id = $1 AND name = 'to revoke'", [ws]);
      expectStatus(await t.app.inject({ method: 'DELETE', url: `/api/v1/workspaces/${ws}/scim/tokens/${row!.id}`, headers: owner.bearer }), 204);
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'missing'],
        [{ authorization: 'Bearer ' }, 'empty'],
        [{ authorization: 'Bearer' }, 'malformed'],
        [{ authorization: 'Basic dXNlcjpwYXNz' }, 'malformed'],
        [{ authorization: 'Bearer not-a-scim-token' }, 'malformed'],
        [{ authorization: `Bearer ${token.slice(0, -4)}AAAA` }, 'unknown_token'],
        [{ authorization: `Bearer ${revoked}` }, 'unknown_token'],
        [{ authorization: `Bearer ${owner.token}` }, 'malformed'],
      ];
      for (const [headers, reason] of cases) {
        const before = await auditEventCount(t);
        const res = await scim('GET', '/Users', { token: null, headers });
        expectScimError(res, 401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="scim"');
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string), reason).toEqual([{ action: 'scim.auth_failed', outcome: 'denied' }]);
        expect((await auditEventCount(t)) - before).toBe(1);
        const [event] = await t.database.raw<{ details: { reason: string }; actor_type: string; tenant_id: string }>(
          'SELECT details, actor_type, tenant_id FROM rampart.workspace_events WHERE request_id = $1',
          [res.headers['x-request-id']],
        );
        expect(event).toMatchObject({ details: { reason }, actor_type: 'anonymous', tenant_id: ws });
      }
      // A workspace id that is not one: 404, recorded where no workspace is.
      const bad = await scim('GET', '/Users', { workspace: 'not-a-uuid' });
      expectScimError(bad, 404);
      expect(await auditEventsOfRequest(t, bad.headers['x-request-id'] as string)).toEqual([{ action: 'scim.auth_failed', outcome: 'denied' }]);
    });

    it("another workspace's token: 404, nothing of either workspace touched but the addressed one's refusal event", async () => {
      await createUser(fresh('isolated'));
      const beforeA = await snapshot(ws, ['audit_queue', 'audit_events']);
      const beforeB = await snapshot(wsB);
      const attempts: Array<[Method, string, unknown]> = [
        ['GET', '/Users', undefined],
        ['POST', '/Users', userBody(fresh('intruder'))],
        ['POST', '/Groups', { schemas: [GROUP], displayName: 'Intruders' }],
        ['GET', '/ServiceProviderConfig', undefined],
      ];
      const aUsers = (await t.database.raw<{ id: string }>('SELECT id FROM rampart.scim_users WHERE tenant_id = $1', [ws])).map((r) => r.id);
      for (const id of aUsers) attempts.push(['DELETE', `/Users/${id}`, undefined], ['PATCH', `/Users/${id}`, patchOps({ op: 'replace', value: { active: false } })]);
      for (const [method, path, payload] of attempts) {
        const res = await scim(method, path, { token: tokenB, ...(payload === undefined ? {} : { body: payload }) });
        expectScimError(res, 404);
        expect(res.body).not.toContain(aUsers[0]);
        expect(await auditEventsOfRequest(t, res.headers['x-request-id'] as string)).toEqual([{ action: 'scim.auth_failed', outcome: 'denied' }]);
      }
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(beforeA);
      // B's token was not even looked up in B: its last use, B's events, everything, unchanged.
      expect(await snapshot(wsB)).toEqual(beforeB);
      // And A's token does not reach B either.
      expectScimError(await scim('GET', '/Users', { workspace: wsB }), 404);
    });
  });

  describe('an Okta client', () => {
    it('looks the user up, creates it, reads it, deactivates it with a path-less replace, and replaces it', async () => {
      const userName = fresh('okta.user');
      const empty = expectStatus(await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&startIndex=1&count=100`), 200);
      expect(empty).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

      const res = await scim('POST', '/Users', { body: userBody(userName, { externalId: '00u1okta', displayName: 'Ada Lovelace', locale: 'en-US', groups: [] }) });
      const created = expectStatus(res, 201);
      expect(res.headers['location']).toBe(created.meta.location);
      expect(created.meta.location).toMatch(new RegExp(`/scim/v2/${ws}/Users/${created.id}$`));
      expect(res.headers['etag']).toBe('W/"1"');
      expect(created).toMatchObject({ schemas: [USER], userName, externalId: '00u1okta', active: true, name: { givenName: 'Ada', familyName: 'Lovelace' }, groups: [] });
      expect(created).not.toHaveProperty('locale');
      // An account, verified, member of the workspace with the member role, granted by the directory.
      const [account] = await t.database.raw<{ id: string; email_verified_at: Date | null; password_hash: string | null }>(
        'SELECT a.id, a.email_verified_at, a.password_hash FROM rampart.accounts a JOIN rampart.scim_users u ON u.account_id = a.id WHERE u.id = $1',
        [created.id],
      );
      expect(account?.email_verified_at).not.toBeNull();
      expect(account?.password_hash).toBeNull();
      expect(await membership(account!.id)).toEqual({ roles: [{ name: 'Member', via_directory: true }] });

      const got = await scim('GET', `/Users/${created.id}`);
      expect(body(got)).toEqual(created);

      const deactivated = await write(() => scim('PATCH', `/Users/${created.id}`, { body: patchOps({ op: 'replace', value: { active: false } }) }), 200, 'scim.user.deactivated');
      expect(deactivated.active).toBe(false);
      expect(deactivated.meta.version).toBe('W/"2"');
      expect(await membership(account!.id)).toBeNull();

      const replaced = await write(
        () =>
          scim('PUT', `/Users/${created.id}`, { body: { ...userBody(userName, { externalId: '00u1okta', displayName: 'Ada King' }), id: created.id, meta: { created: 'ignored' } } }),
        200,
        'scim.user.reactivated',
      );
      expect(replaced).toMatchObject({ displayName: 'Ada King', active: true, meta: { version: 'W/"3"', created: created.meta.created } });
      expect(await membership(account!.id)).toEqual({ roles: [{ name: 'Member', via_directory: true }] });
    });
  });

  describe('an Entra ID client', () => {
    it('filters by externalId and userName, patches with paths and boolean strings, and manages groups', async () => {
      const userName = fresh('entra.user');
      const external = `entra-${newId()}`;
      expect(expectStatus(await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${external}"`)}`), 200).totalResults).toBe(0);
      const created = await createUser(userName, { externalId: external, schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: 'R&D', employeeNumber: '42' } });
      expect(created.schemas).toEqual([USER, ENTERPRISE]);
      expect(created[ENTERPRISE]).toEqual({ department: 'R&D', employeeNumber: '42' });
      const byExternal = expectStatus(await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${external}"`)}`), 200);
      expect(byExternal.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
      // userName compares case-insensitively; externalId exactly.
      expect(expectStatus(await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`), 200).totalResults).toBe(1);
      expect(expectStatus(await scim('GET', `/Users?filter=${encodeURIComponent(`externalId eq "${external.toUpperCase()}"`)}`), 200).totalResults).toBe(0);

      const patched = await write(
        () =>
          scim('PATCH', `/Users/${created.id}`, {
          body: patchOps(
            { op: 'Replace', path: 'displayName', value: 'Grace Hopper' },
            { op: 'Add', path: 'name.givenName', value: 'Grace' },
            { op: 'Replace', path: 'emails[type eq "work"].value', value: userName },
            { op: 'Add', path: 'emails[type eq "home"].value', value: 'grace@home.example' },
            { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Navy' },
            { op: 'Remove', path: `${ENTERPRISE}:employeeNumber` },
            { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 555' },
          ),
        }),
        200,
        'scim.user.updated',
      );
      expect(patched).toMatchObject({ displayName: 'Grace Hopper', name: { givenName: 'Grace', familyName: 'Lovelace' }, [ENTERPRISE]: { department: 'Navy' } });
      expect(patched[ENTERPRISE]).not.toHaveProperty('employeeNumber');
      expect(patched.emails).toEqual([
        { value: userName, type: 'work', primary: true },
        { value: 'grace@home.example', type: 'home' },
      ]);
      const off = await write(() => scim('PATCH', `/Users/${created.id}`, { body: patchOps({ op: 'Replace', path: 'active', value: 'False' }) }), 200, 'scim.user.deactivated');
      expect(off.active).toBe(false);
      const on = await write(() => scim('PATCH', `/Users/${created.id}`, { body: patchOps({ op: 'Replace', path: 'active', value: 'True' }) }), 200, 'scim.user.reactivated');
      expect(on.active).toBe(true);

      // Groups: create, find by displayName, add and remove members the Entra way.
      const other = await createUser(fresh('entra.other'));
      const group = await write(() => scim('POST', '/Groups', { body: { schemas: [GROUP], displayName: 'Entra Group', externalId: 'eg-1', members: [] } }), 201, 'scim.group.created');
      expect(group).toMatchObject({ schemas: [GROUP], displayName: 'Entra Group', externalId: 'eg-1', members: [] });
      const found = expectStatus(await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "entra group"')}&excludedAttributes=members`), 200);
      expect(found.totalResults).toBe(1);
      expect(found.Resources[0]).not.toHaveProperty('members');
      await write(
        () =>
          scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'Add', path: 'members', value: [{ value: created.id }, { value: other.id }] }) }),
        200,
        'scim.group.updated',
      );
      const withMembers = body(await scim('GET', `/Groups/${group.id}`));
      expect(withMembers.members.map((m: { value: string }) => m.value).sort()).toEqual([created.id, other.id].sort());
      expect(withMembers.members.find((m: Json) => m.value === other.id)).toMatchObject({ type: 'User', $ref: expect.stringMatching(/\/Users\//) });
      const removed = await write(
        () =>
          scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'Remove', path: `members[value eq "${created.id}"]` }) }),
        200,
        'scim.group.updated',
      );
      expect(removed.members.map((m: { value: string }) => m.value)).toEqual([other.id]);
      // Removing by value list, and removing one not there: idempotent.
      const emptied = await write(
        () =>
          scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'remove', path: 'members', value: [{ value: other.id }, { value: created.id }] }) }),
        200,
        'scim.group.updated',
      );
      expect(emptied.members).toEqual([]);
      expect(body(await scim('GET', `/Users/${other.id}`)).groups).toEqual([]);
      await write(() => scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'Renamed' }) }), 200, 'scim.group.updated');
      await write(() => scim('DELETE', `/Groups/${group.id}`), 204, 'scim.group.deleted');
      expectScimError(await scim('GET', `/Groups/${group.id}`), 404);
    });
  });

  describe('filters', () => {
    let ids: Record<string, string>;
    const q = async (filter: string, resource = 'Users') =>
      expectStatus(await scim('GET', `/${resource}?filter=${encodeURIComponent(filter)}&count=200`), 200).Resources.map((r: { id: string }) => r.id).sort() as string[];
    const only = (...names: string[]) => names.map((n) => ids[n]!).sort();

    beforeAll(async () => {
      ids = {};
      const prefix = `flt${newId().slice(-5)}`;
      const make = async (key: string, local: string, extra: Record<string, unknown>) => {
        ids[key] = (await createUser(`${prefix}.${local}@${DOMAIN}`, extra)).id;
      };
      await make('anna', 'anna', { displayName: 'Anna Alpha', externalId: 'X-1', emails: [{ value: `${prefix}.anna@${DOMAIN}`, type: 'work', primary: true }] });
      await make('bert', 'bert', { displayName: 'Bert Beta', externalId: 'X-2', active: false });
      await make('cora', 'cora', { displayName: 'Cora Alpha', emails: [{ value: `${prefix}.cora@${DOMAIN}`, type: 'home' }] });
      ids['prefix'] = prefix;
    });

    it('eq, co, sw, ew, pr, ne, and the comparison operators, case-insensitive names and values', async () => {
      const p = ids['prefix']!;
      expect(await q(`userName eq "${p}.anna@${DOMAIN}"`)).toEqual(only('anna'));
      expect(await q(`USERNAME Eq "${p.toUpperCase()}.ANNA@${DOMAIN}"`)).toEqual(only('anna'));
      expect(await q(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "${p}.bert@${DOMAIN}"`)).toEqual(only('bert'));
      expect(await q(`userName sw "${p}." and displayName co "alpha"`)).toEqual(only('anna', 'cora'));
      expect(await q(`userName sw "${p}." and displayName ew "beta"`)).toEqual(only('bert'));
      expect(await q(`userName sw "${p}." and externalId pr`)).toEqual(only('anna', 'bert'));
      expect(await q(`userName sw "${p}." and externalId ne "X-1"`)).toEqual(only('bert', 'cora'));
      expect(await q(`userName sw "${p}." and active eq false`)).toEqual(only('bert'));
      expect(await q(`userName sw "${p}." and displayName gt "B"`)).toEqual(only('bert', 'cora'));
      expect(await q(`userName sw "${p}." and displayName le "Bert Beta"`)).toEqual(only('anna', 'bert'));
      expect(await q(`id eq "${ids['cora']}"`)).toEqual(only('cora'));
      expect(await q('id eq "not-a-uuid"')).toEqual([]);
      expect(await q(`emails.value eq "${p}.cora@${DOMAIN}"`)).toEqual(only('cora'));
      expect(await q(`emails[type eq "work" and value sw "${p}."]`)).toEqual(only('anna', 'bert'));
      expect(await q(`userName sw "${p}." and emails[type eq "home"]`)).toEqual(only('cora'));
      const { meta } = body(await scim('GET', `/Users/${ids['bert']}`));
      expect(await q(`userName sw "${p}." and meta.lastModified ge "${meta.lastModified}"`)).toEqual(only('bert', 'cora'));
      expect(await q(`userName sw "${p}." and meta.lastModified lt "${meta.lastModified}"`)).toEqual(only('anna'));
    });

    it('and binds tighter than or; parentheses and not change that', async () => {
      const p = ids['prefix']!;
      const anna = `userName eq "${p}.anna@${DOMAIN}"`;
      expect(await q(`${anna} or userName sw "${p}." and active eq false`)).toEqual(only('anna', 'bert'));
      expect(await q(`(${anna} or userName sw "${p}.") and active eq false`)).toEqual(only('bert'));
      expect(await q(`userName sw "${p}." and not (displayName co "alpha")`)).toEqual(only('bert'));
      expect(await q(`userName sw "${p}." and not (externalId eq "X-1")`)).toEqual(only('bert', 'cora'));
    });

    it('bad filters: 400 invalidFilter, never 5xx', async () => {
      for (const filter of [
        'userName eq',
        'userName zz "x"',
        '((userName eq "a")',
        'userName eq "a")',
        'bogus eq "x"',
        'active eq "yes"',
        'active co true',
        'meta.lastModified gt "not a date"',
        'userName eq 5',
        'emails[type eq "work"',
        'name[givenName eq "x"]',
        `${'('.repeat(3000)}userName eq "x"${')'.repeat(3000)}`,
        Array.from({ length: 60 }, (_, i) => `userName eq "${i}"`).join(' or '),
        'userName eq "x" junk',
      ]) {
        expectScimError(await scim('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
      }
      expectScimError(await scim('GET', `/Groups?filter=${encodeURIComponent('userName eq "x"')}`), 400, 'invalidFilter');
    });
  });

  describe('lists', () => {
    it('paginates 1-based with totals, caps count at 200, and answers count=0 with the total only', async () => {
      // 205 users at once, straight into the tables (the server's own writes are tested above).
      const tag = `page${newId().slice(-6)}`;
      await t.database.raw(
        `WITH a AS (INSERT INTO rampart.accounts (id, email, name) SELECT gen_random_uuid(), '${tag}-' || i || '@${DOMAIN}', '' FROM generate_series(1, 205) i RETURNING id, email)
         INSERT INTO rampart.scim_users (tenant_id, id, account_id, user_name) SELECT $1, gen_random_uuid(), a.id, a.email FROM a`,
        [ws],
      );
      const filter = encodeURIComponent(`userName sw "${tag}-"`);
      const first = expectStatus(await scim('GET', `/Users?filter=${filter}&startIndex=1&count=10`), 200);
      expect(first).toMatchObject({ totalResults: 205, startIndex: 1, itemsPerPage: 10 });
      const last = expectStatus(await scim('GET', `/Users?filter=${filter}&startIndex=201&count=10`), 200);
      expect(last).toMatchObject({ totalResults: 205, startIndex: 201, itemsPerPage: 5 });
      const beyond = expectStatus(await scim('GET', `/Users?filter=${filter}&startIndex=300&count=10`), 200);
      expect(beyond).toMatchObject({ totalResults: 205, startIndex: 300, itemsPerPage: 0, Resources: [] });
      const capped = expectStatus(await scim('GET', `/Users?filter=${filter}&count=1000`), 200);
      expect(capped).toMatchObject({ totalResults: 205, itemsPerPage: 200 });
      expect(expectStatus(await scim('GET', `/Users?filter=${filter}&count=0`), 200)).toMatchObject({ totalResults: 205, itemsPerPage: 0, Resources: [] });
      expect(expectStatus(await scim('GET', `/Users?filter=${filter}&startIndex=0&count=3`), 200)).toMatchObject({ startIndex: 1, itemsPerPage: 3 });
      // Pages do not overlap.
      const ids = new Set<string>();
      for (const start of [1, 101, 201]) for (const r of expectStatus(await scim('GET', `/Users?filter=${filter}&startIndex=${start}&count=100`), 200).Resources) ids.add(r.id);
      expect(ids.size).toBe(205);
      expectScimError(await scim('GET', '/Users?count=ten'), 400, 'invalidValue');
      expectScimError(await scim('GET', '/Users?count=1&count=2'), 400, 'invalidValue');
    });

    it('projects with attributes and excludedAttributes', async () => {
      const user = await createUser(fresh('projected'), { externalId: 'proj-1' });
      const only = body(await scim('GET', `/Users/${user.id}?attributes=userName,name.givenName`));
      expect(only).toEqual({ schemas: [USER], id: user.id, userName: user.userName, name: { givenName: 'Ada' } });
      const without = body(await scim('GET', `/Users/${user.id}?excludedAttributes=emails,meta,name.familyName,id`));
      expect(without).not.toHaveProperty('emails');
      expect(without).not.toHaveProperty('meta');
      expect(without).toMatchObject({ id: user.id, name: { givenName: 'Ada' }, externalId: 'proj-1' });
      expect(without.name).not.toHaveProperty('familyName');
      const listed = body(await scim('GET', `/Users?filter=${encodeURIComponent(`id eq "${user.id}"`)}&attributes=emails.value`));
      expect(listed.Resources).toEqual([{ schemas: [USER], id: user.id, emails: [{ value: user.userName }] }]);
    });
  });

  describe('versions and errors', () => {
    it('ETag on every answer; If-Match mismatch is 412 and changes nothing; If-None-Match is 304', async () => {
      const user = await createUser(fresh('etag'));
      const got = await scim('GET', `/Users/${user.id}`);
      expect(got.headers['etag']).toBe('W/"1"');
      const notModified = await scim('GET', `/Users/${user.id}`, { headers: { 'if-none-match': 'W/"1"' } });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.body).toBe('');
      const put = await scim('PUT', `/Users/${user.id}`, { body: userBody(user.userName, { displayName: 'v2' }), headers: { 'if-match': 'W/"1"' } });
      expect(expectStatus(put, 200).meta.version).toBe('W/"2"');
      expect(put.headers['etag']).toBe('W/"2"');
      expectScimError(await scim('PUT', `/Users/${user.id}`, { body: userBody(user.userName, { displayName: 'stale' }), headers: { 'if-match': 'W/"1"' } }), 412);
      expectScimError(await scim('PATCH', `/Users/${user.id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'stale' }), headers: { 'if-match': '"1"' } }), 412);
      expectScimError(await scim('DELETE', `/Users/${user.id}`, { headers: { 'if-match': 'W/"7"' } }), 412);
      expect(body(await scim('GET', `/Users/${user.id}`))).toMatchObject({ displayName: 'v2', meta: { version: 'W/"2"' } });
      expect((await scim('GET', `/Users/${user.id}`, { headers: { 'if-none-match': 'W/"1"' } })).statusCode).toBe(200);
      await write(() => scim('PATCH', `/Users/${user.id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'v3' }), headers: { 'if-match': '*' } }), 200, 'scim.user.updated');
    });

    it('unknown schemas, wrong types, read-only attributes and bad PATCH bodies: 400 with the scimType, nothing written', async () => {
      const user = await createUser(fresh('strict'));
      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), schemas: [USER, 'urn:example:unknown'], 'urn:example:unknown': { a: 1 } } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { body: { userName: fresh('x') } }), 400, 'invalidSyntax');
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), 'urn:example:ext:1.0:User': { a: 1 } } }), 400, 'invalidSyntax');
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), userName: 5 } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), active: 'yes' } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { body: [1, 2] }), 400, 'invalidSyntax');
      expectScimError(await scim('POST', '/Users', { raw: '{"schemas": [' }), 400, 'invalidSyntax');
      expectScimError(await scim('POST', '/Users', { raw: '{"__proto__": {"x": 1}, "schemas": []}' }), 400, 'invalidSyntax');
      expectScimError(await scim('POST', '/Groups', { body: { schemas: [USER], displayName: 'x' } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Groups', { body: { schemas: [GROUP], displayName: 'Ghosts', members: [{ value: newId() }] } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { raw: 'userName=x', headers: { 'content-type': 'text/plain' } }), 415);
      const id = user.id as string;
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'id', value: newId() }) }), 400, 'mutability');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'meta.created', value: 'x' }) }), 400, 'mutability');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'add', path: 'groups', value: [{ value: newId() }] }) }), 400, 'mutability');
      expectScimError(await scim('PUT', `/Users/${id}`, { body: { ...userBody(user.userName), id: newId() } }), 400, 'mutability');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: { schemas: [USER], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] } }), 400, 'invalidSyntax');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'move', path: 'displayName', value: 'x' }) }), 400, 'invalidSyntax');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'remove' }) }), 400, 'noTarget');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'emails[type eq "fax"].value', value: 'x@y.z' }) }), 400, 'noTarget');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'urn:example:other:department', value: 'x' }) }), 400, 'invalidPath');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'emails[type eq', value: 'x' }) }), 400, 'invalidPath');
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'emails[type zz "x"].value', value: 'x' }) }), 400, 'invalidFilter');
      // The first operation would succeed; the second fails: neither is kept.
      expectScimError(
        await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'half' }, { op: 'remove', path: 'userName' }) }),
        400,
        'invalidValue',
      );
      expectScimError(await scim('POST', '/Users', { body: userBody(user.userName.toUpperCase()) }), 409, 'uniqueness');
      expectScimError(await scim('GET', `/Users/${newId()}`), 404);
      expectScimError(await scim('GET', '/Users/not-an-id'), 404);
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);
    });
  });

  describe('provisioning', () => {
    it('refuses an email whose domain the workspace has not verified: no account, no user', async () => {
      const email = `someone-${newId().slice(-6)}@unverified.test`;
      const refused = expectScimError(await scim('POST', '/Users', { body: userBody(email) }), 400, 'invalidValue');
      expect(refused.detail).toMatch(/domain is not verified for this workspace/);
      // The other workspace's verified domain is not this one's either.
      expectScimError(await scim('POST', '/Users', { body: userBody(`someone@beta.test`) }), 400, 'invalidValue');
      expect(await t.database.raw('SELECT 1 FROM rampart.accounts WHERE email = $1', [email])).toEqual([]);
      expect(await t.database.raw('SELECT 1 FROM rampart.scim_users WHERE lower(user_name) = $1', [email])).toEqual([]);
      // An existing account of an unverified domain is not attached either.
      const outsider = await signUp(t, 'outsider');
      const [{ n }] = (await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM rampart.memberships WHERE tenant_id = $1', [ws])) as [{ n: number }];
      await t.database.raw('UPDATE rampart.accounts SET email = $2 WHERE id = $1', [outsider.accountId, `outsider-${newId().slice(-6)}@unverified.test`]);
      const [{ email: outsiderEmail }] = (await t.database.raw<{ email: string }>('SELECT email FROM rampart.accounts WHERE id = $1', [outsider.accountId])) as [{ email: string }];
      expectScimError(await scim('POST', '/Users', { body: userBody(outsiderEmail) }), 400, 'invalidValue');
      expect((await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM rampart.memberships WHERE tenant_id = $1', [ws]))[0]?.n).toBe(n);
    });

    it('deactivation removes the membership and ends every session at once; reactivation lets the person back in', async () => {
      // A person with an account of the verified domain, signed in (cookie and bearer sessions).
      const alice = await signUp(t, 'alice');
      expect(alice.email.endsWith(`@${DOMAIN}`)).toBe(true);
      expectStatus(await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: alice.bearer }), 200);
      const user = await createUser(alice.email);
      const [link] = await t.database.raw<{ account_id: string }>('SELECT account_id FROM rampart.scim_users WHERE id = $1', [user.id]);
      expect(link?.account_id).toBe(alice.accountId);
      expectStatus(await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}`, headers: alice.bearer }), 200);
      const live = await t.database.raw<{ n: number }>('SELECT count(*)::int AS n FROM rampart.sessions WHERE account_id = $1 AND revoked_at IS NULL', [alice.accountId]);
      expect(live[0]!.n).toBeGreaterThanOrEqual(2);

      const res = await scim('PATCH', `/Users/${user.id}`, { body: patchOps({ op: 'replace', path: 'active', value: false }) });
      expectStatus(res, 200);
      const [event] = await t.database.raw<{ details: Json }>('SELECT details FROM rampart.workspace_events WHERE request_id = $1', [res.headers['x-request-id']]);
      expect(event?.details).toMatchObject({ sessionsRevoked: live[0]!.n, membershipRemoved: true, roles: ['Member'] });
      expect(await membership(alice.accountId)).toBeNull();
      expect(await t.database.raw('SELECT 1 FROM rampart.sessions WHERE account_id = $1 AND revoked_at IS NULL', [alice.accountId])).toEqual([]);
      for (const headers of [alice.bearer, alice.cookie]) {
        expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers })).statusCode).toBe(401);
        expect((await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}`, headers })).statusCode).toBe(401);
      }

      await write(() => scim('PATCH', `/Users/${user.id}`, { body: patchOps({ op: 'replace', value: { active: true } }) }), 200, 'scim.user.reactivated');
      expect(await membership(alice.accountId)).toEqual({ roles: [{ name: 'Member', via_directory: true }] });
      const signedIn = await t.app.inject({ method: 'POST', url: '/api/v1/auth/tokens', payload: { email: alice.email, password: alice.password } });
      const fresh = expectStatus(signedIn, 201).token as string;
      expectStatus(await t.app.inject({ method: 'GET', url: `/api/v1/workspaces/${ws}`, headers: { authorization: `Bearer ${fresh}` } }), 200);

      // Deleting the user: membership and SCIM user gone, the account stays.
      const deleted = await scim('DELETE', `/Users/${user.id}`);
      expect(deleted.statusCode).toBe(204);
      expect(await membership(alice.accountId)).toBeNull();
      expectScimError(await scim('GET', `/Users/${user.id}`), 404);
      expect(await t.database.raw('SELECT 1 FROM rampart.accounts WHERE id = $1', [alice.accountId])).toHaveLength(1);
      expect((await t.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: { authorization: `Bearer ${fresh}` } })).statusCode).toBe(401);
    });

    it("the workspace's owner is never removed by the directory", async () => {
      const user = await createUser(owner.email);
      expectScimError(await scim('PATCH', `/Users/${user.id}`, { body: patchOps({ op: 'replace', path: 'active', value: false }) }), 409);
      expect(await membership(owner.accountId)).toMatchObject({ roles: [{ name: 'Owner', via_directory: false }] });
      expect(body(await scim('GET', `/Users/${user.id}`)).active).toBe(true);
    });

    it('groups give the roles mapped to them; hand-given roles stay; never the owner role; never no role', async () => {
      const base = `/api/v1/workspaces/${ws}`;
      const engineers = expectStatus(await t.app.inject({ method: 'POST', url: `${base}/roles`, headers: owner.bearer, payload: { name: 'Engineers', scopes: ['records:read'] } }), 201).id as string;
      // Mapping to the owner role is refused; a mapping is one event.
      const ownerRole = await roleIdOf('owner');
      expect(expectStatus(await t.app.inject({ method: 'POST', url: `${base}/directory/group-roles`, headers: owner.bearer, payload: { group: 'Owners', roleId: ownerRole } }), 403).error.code).toBe(
        'owner_role_reserved',
      );
      const mapping = expectStatus(await t.app.inject({ method: 'POST', url: `${base}/directory/group-roles`, headers: owner.bearer, payload: { group: 'Engineering', roleId: engineers } }), 201);
      expect(mapping).toMatchObject({ groupKey: 'engineering', role: { id: engineers, name: 'Engineers' } });
      expect(expectStatus(await t.app.inject({ method: 'POST', url: `${base}/directory/group-roles`, headers: owner.bearer, payload: { group: 'ENGINEERING', roleId: engineers } }), 409).error.code).toBe(
        'group_role_mapping_exists',
      );

      const u = await createUser(fresh('engineer'));
      const [{ account_id: accountId }] = (await t.database.raw<{ account_id: string }>('SELECT account_id FROM rampart.scim_users WHERE id = $1', [u.id])) as [{ account_id: string }];
      const group = await write(() => scim('POST', '/Groups', { body: { schemas: [GROUP], displayName: 'Engineering', members: [{ value: u.id }] } }), 201, 'scim.group.created');
      expect(await membership(accountId)).toEqual({ roles: [{ name: 'Engineers', via_directory: true }] });
      expect(body(await scim('GET', `/Users/${u.id}`)).groups).toEqual([{ value: group.id, display: 'Engineering', $ref: expect.stringContaining(`/Groups/${group.id}`) }]);

      // Out of the group: the mapped role goes, the default role comes back (never no role).
      await write(() => scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'remove', path: `members[value eq "${u.id}"]` }) }), 200, 'scim.group.updated');
      expect(await membership(accountId)).toEqual({ roles: [{ name: 'Member', via_directory: true }] });

      // A role given by hand is the directory's to leave alone.
      const admin = await roleIdOf('admin');
      const member = await roleIdOf('member');
      expectStatus(await t.app.inject({ method: 'PATCH', url: `${base}/members/${accountId}`, headers: owner.bearer, payload: { roleIds: [member, admin] } }), 200);
      await write(() => scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'add', path: 'members', value: [{ value: u.id }] }) }), 200, 'scim.group.updated');
      expect(await membership(accountId)).toEqual({ roles: [{ name: 'Admin', via_directory: false }, { name: 'Engineers', via_directory: true }] });
      await write(() => scim('DELETE', `/Groups/${group.id}`), 204, 'scim.group.deleted');
      expect(await membership(accountId)).toEqual({ roles: [{ name: 'Admin', via_directory: false }] });

      // A mapping made (or removed) later applies at once to the group's members; externalId is a key too.
      const g2 = await write(() => scim('POST', '/Groups', { body: { schemas: [GROUP], displayName: 'Platform', externalId: 'OID-42', members: [{ value: u.id }] } }), 201, 'scim.group.created');
      const later = await t.app.inject({ method: 'POST', url: `${base}/directory/group-roles`, headers: owner.bearer, payload: { group: 'oid-42', roleId: engineers } });
      const created = expectStatus(later, 201);
      const [event] = await t.database.raw<{ details: Json }>('SELECT details FROM rampart.workspace_events WHERE request_id = $1', [later.headers['x-request-id']]);
      expect(event?.details).toMatchObject({ group: 'oid-42', role: 'Engineers', membersUpdated: 1 });
      expect((await membership(accountId))?.roles.map((r) => r.name)).toEqual(['Admin', 'Engineers']);
      const listed = expectStatus(await t.app.inject({ method: 'GET', url: `${base}/directory/group-roles`, headers: owner.bearer }), 200);
      expect(listed.data.map((m: { groupKey: string }) => m.groupKey).sort()).toEqual(['engineering', 'oid-42']);
      expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/directory/group-roles/${created.id}`, headers: owner.bearer }), 204);
      expect((await membership(accountId))?.roles.map((r) => r.name)).toEqual(['Admin']);
      expect(expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/directory/group-roles/${created.id}`, headers: owner.bearer }), 404).error.code).toBe(
        'group_role_mapping_not_found',
      );
      expect(g2.members).toHaveLength(1);
      // Members may not map groups, or manage tokens.
      const m = await signUp(t, 'plain');
      await t.services.members.addMember(tenantContext(ws, owner.accountId), m.accountId, 'member');
      expect((await t.app.inject({ method: 'GET', url: `${base}/directory/group-roles`, headers: m.bearer })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'POST', url: `${base}/scim/tokens`, headers: m.bearer, payload: { name: 'x' } })).statusCode).toBe(403);
    });
  });

  describe('interoperability: requests as Okta and Entra ID send them', () => {
    it('discovery endpoints answer writes with 405, the SCIM error body and Allow; so do the other methods a resource does not have', async () => {
      const cases: Array<[string, string]> = [
        ['/ServiceProviderConfig', 'GET'],
        ['/ResourceTypes', 'GET'],
        ['/ResourceTypes/User', 'GET'],
        ['/Schemas', 'GET'],
        [`/Schemas/${USER}`, 'GET'],
        ['/Users', 'GET, POST'],
        ['/Groups', 'GET, POST'],
        [`/Users/${newId()}`, 'GET, PUT, PATCH, DELETE'],
        [`/Groups/${newId()}`, 'GET, PUT, PATCH, DELETE'],
      ];
      for (const [path, allow] of cases) {
        for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
          if (allow.split(', ').includes(method)) continue;
          const res = await scim(method, path, method === 'DELETE' ? {} : { raw: '{"schemas":' });
          expectScimError(res, 405);
          expect(res.headers['allow'], `${method} ${path}`).toBe(allow);
          // Without the token: 401, as for every endpoint (nothing said about what exists).
          expectScimError(await scim(method, path, { token: null }), 401);
        }
      }
    });

    it('an unknown extension schema that carries no attributes is ignored; one with attributes is refused', async () => {
      const userName = fresh('ext');
      const created = await write(() => scim('POST', '/Users', { body: { ...userBody(userName), schemas: [USER, 'urn:example:unknown:2.0:User', 'http://schemas.example.com/Ext'] } }), 201, 'scim.user.created');
      expect(created.schemas).toEqual([USER]);
      const replaced = await write(() => scim('PUT', `/Users/${created.id}`, { body: { ...userBody(userName), schemas: ['urn:example:unknown:2.0:User', USER, ENTERPRISE], [ENTERPRISE]: { division: 'D' } } }), 200, 'scim.user.updated');
      expect(replaced.schemas).toEqual([USER, ENTERPRISE]);
      const group = await write(() => scim('POST', '/Groups', { body: { schemas: [GROUP, 'urn:example:unknown:2.0:Group'], displayName: `Ext ${newId().slice(-6)}` } }), 201, 'scim.group.created');
      expect(group.schemas).toEqual([GROUP]);
      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), schemas: [USER, 'urn:example:unknown:2.0:User'], 'urn:example:unknown:2.0:User': { badge: 1 } } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { body: { ...userBody(fresh('x')), schemas: [USER, 'urn:example:unknown:2.0:User'], 'URN:EXAMPLE:UNKNOWN:2.0:USER:badge': 1 } }), 400, 'invalidValue');
      expectScimError(await scim('PUT', `/Users/${created.id}`, { body: { ...userBody(userName), schemas: [USER, 'urn:example:unknown:2.0:User'], 'urn:example:unknown:2.0:User': { badge: 1 } } }), 400, 'invalidValue');
      // A schema this server serves, for another resource type, is still refused.
      expectScimError(await scim('POST', '/Groups', { body: { schemas: [GROUP, USER], displayName: 'Mixed' } }), 400, 'invalidValue');
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);
    });

    it('a read-only attribute given with its current value is accepted; a real change is refused (mutability) and nothing is written', async () => {
      const user = await createUser(fresh('readonly'));
      const id = user.id as string;
      // Okta's group push sends the resource's own id in a path-less replace; the same for a user.
      const renamed = await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', value: { id, displayName: 'Same Id' } }) }), 200, 'scim.user.updated');
      expect(renamed).toMatchObject({ id, displayName: 'Same Id' });
      await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'id', value: id }) }), 200, 'scim.user.updated');
      await write(
        () => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'Replace', value: { schemas: [USER], meta: { resourceType: 'User', created: user.meta.created }, groups: [], displayName: 'As Read' } }) }),
        200,
        'scim.user.updated',
      );
      expect(body(await scim('GET', `/Users/${id}`)).displayName).toBe('As Read');

      const group = await write(() => scim('POST', '/Groups', { body: { schemas: [GROUP], displayName: `Pushed ${newId().slice(-6)}`, members: [{ value: id }] } }), 201, 'scim.group.created');
      const pushed = await write(() => scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'replace', value: { id: group.id, displayName: group.displayName } }) }), 200, 'scim.group.updated');
      expect(pushed).toMatchObject({ id: group.id, displayName: group.displayName, members: [{ value: id }] });
      // The user's groups, as read, are its current value too.
      await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', value: { groups: [{ value: group.id, display: group.displayName }] } }) }), 200, 'scim.user.updated');

      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      const refused: unknown[] = [
        { op: 'replace', value: { id: newId(), displayName: 'Other Id' } },
        { op: 'replace', value: { meta: { created: '2001-01-01T00:00:00.000Z' } } },
        { op: 'replace', value: { groups: [] } },
        { op: 'add', value: { groups: [{ value: newId() }] } },
        { op: 'replace', path: 'id', value: newId() },
        { op: 'remove', path: 'id' },
        { op: 'replace', path: 'meta.lastModified', value: user.meta.lastModified },
      ];
      for (const operation of refused) {
        expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'half' }, operation) }), 400, 'mutability');
      }
      expectScimError(await scim('PATCH', `/Groups/${group.id}`, { body: patchOps({ op: 'replace', value: { id: newId(), displayName: 'Other' } }) }), 400, 'mutability');
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);
    });

    it('fully qualified attribute names, in any case, as PATCH value keys and paths, for core and enterprise attributes', async () => {
      const user = await createUser(fresh('qualified'));
      const id = user.id as string;
      await write(
        () =>
          scim('PATCH', `/Users/${id}`, {
            body: patchOps({
              op: 'replace',
              value: {
                [`${ENTERPRISE}:employeeNumber`]: 'A',
                [`${ENTERPRISE}:Department`.toUpperCase()]: 'Research',
                [`${USER}:displayName`]: 'Qualified',
                [`${USER}:name.givenName`.toLowerCase()]: 'Kay',
              },
            }),
          }),
        200,
        'scim.user.updated',
      );
      const read = body(await scim('GET', `/Users/${id}`));
      expect(read).toMatchObject({ schemas: [USER, ENTERPRISE], displayName: 'Qualified', name: { givenName: 'Kay', familyName: 'Lovelace' }, [ENTERPRISE]: { employeeNumber: 'A', department: 'Research' } });
      await write(
        () => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'Add', path: `${ENTERPRISE.toUpperCase()}:COSTCENTER`, value: 'CC-1' }, { op: 'Remove', path: `${USER}:name.givenName` }) }),
        200,
        'scim.user.updated',
      );
      const after = body(await scim('GET', `/Users/${id}`));
      expect(after[ENTERPRISE]).toEqual({ employeeNumber: 'A', department: 'Research', costCenter: 'CC-1' });
      expect(after.name).toEqual({ familyName: 'Lovelace' });
      // A schema this server does not serve, with an attribute: refused, nothing written.
      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', value: { displayName: 'x', 'urn:example:other:2.0:User:badge': '7' } }) }), 400, 'invalidPath');
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);
    });

    it('dotted sub-attribute keys in a value apply as their paths do; a value the server cannot apply is refused, never dropped', async () => {
      const user = await createUser(fresh('dotted'));
      const id = user.id as string;
      const patched = await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', value: { 'name.givenName': 'K', 'name.familyName': 'U' } }) }), 200, 'scim.user.updated');
      expect(patched.name).toEqual({ givenName: 'K', familyName: 'U' });
      await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'add', value: { 'NAME.Formatted': 'K U', 'emails[type eq "home"].value': 'k@home.example' } }) }), 200, 'scim.user.updated');
      const read = body(await scim('GET', `/Users/${id}`));
      expect(read.name).toEqual({ givenName: 'K', familyName: 'U', formatted: 'K U' });
      expect(read.emails).toEqual([
        { value: user.userName, type: 'work', primary: true },
        { value: 'k@home.example', type: 'home' },
      ]);
      // A value filter's value is a string like any other, a URL included: no element matches, nothing removed.
      const kept = await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'remove', path: 'emails[value eq "https://k.example/home"]' }) }), 200, 'scim.user.updated');
      expect(kept.emails).toEqual(read.emails);
      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      for (const operation of [
        { op: 'replace', path: 'emails[type eq "work"]', value: 'not-an-object@example.test' },
        { op: 'add', path: 'emails[type eq "other"]', value: 'not-an-object@example.test' },
        { op: 'replace', value: { 'name.givenName': { nested: true } } },
        { op: 'replace', path: `${ENTERPRISE}:manager`, value: [{ value: 'a' }, { value: 'b' }] },
      ]) {
        expectScimError(await scim('PATCH', `/Users/${id}`, { body: patchOps(operation) }), 400, 'invalidValue');
      }
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);
    });

    it('what a PATCH accepts is what the resource then shows, whatever the shape of the request (property)', async () => {
      const user = await createUser(fresh('property'));
      const id = user.id as string;
      const ext = (name: string) => ({ path: `${ENTERPRISE}:${name}`, nested: (v: unknown) => ({ [ENTERPRISE]: { [name]: v } }), read: (r: Json) => r[ENTERPRISE]?.[name] as unknown });
      const sub = (top: string, name: string) => ({ path: `${top}.${name}`, qualified: `${USER}:${top}.${name}`, nested: (v: unknown) => ({ [top]: { [name]: v } }), read: (r: Json) => r[top]?.[name] as unknown });
      const top = (name: string) => ({ path: name, qualified: `${USER}:${name}`, nested: (v: unknown) => ({ [name]: v }), read: (r: Json) => r[name] as unknown });
      const attributes: Record<string, { path: string; qualified?: string; nested: (v: unknown) => Record<string, unknown>; read: (r: Json) => unknown }> = {
        displayName: top('displayName'),
        externalId: top('externalId'),
        givenName: sub('name', 'givenName'),
        familyName: sub('name', 'familyName'),
        formatted: sub('name', 'formatted'),
        employeeNumber: ext('employeeNumber'),
        costCenter: ext('costCenter'),
        organization: ext('organization'),
        division: ext('division'),
        department: ext('department'),
        manager: { ...ext('manager'), read: (r: Json) => r[ENTERPRISE]?.manager?.value as unknown },
      };
      const names = Object.keys(attributes);
      const model: Record<string, unknown> = { givenName: 'Ada', familyName: 'Lovelace' };
      const randomCase = (s: string, flips: number) => [...s].map((c, i) => ((flips >> i % 16) & 1 ? c.toUpperCase() : c.toLowerCase())).join('');
      const op = fc.record({
        name: fc.constantFrom(...names),
        remove: fc.boolean(),
        verb: fc.constantFrom('add', 'replace', 'Add', 'Replace'),
        shape: fc.constantFrom('path', 'qualified', 'dotted-key', 'nested', 'nested-with-id'),
        flips: fc.integer({ min: 0, max: 0xffff }),
        value: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,15}$/),
        managerShape: fc.constantFrom('string', 'object', 'array'),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 4 }), async (ops) => {
          const operations = ops.map((o) => {
            const a = attributes[o.name]!;
            const path = randomCase(o.shape === 'qualified' ? (a.qualified ?? a.path) : a.path, o.flips);
            if (o.remove) return { op: 'Remove', path };
            const value = o.name !== 'manager' || o.managerShape === 'string' ? o.value : o.managerShape === 'object' ? { value: o.value } : [{ value: o.value }];
            if (o.shape === 'path' || o.shape === 'qualified') return { op: o.verb, path, value };
            if (o.shape === 'dotted-key') return { op: o.verb, value: { [path]: value } };
            return { op: o.verb, value: { ...a.nested(value), ...(o.shape === 'nested-with-id' ? { id } : {}) } };
          });
          const res = await scim('PATCH', `/Users/${id}`, { body: patchOps(...operations) });
          expect(res.statusCode, `${JSON.stringify(operations)} → ${res.body}`).toBe(200);
          for (const o of ops) {
            if (o.remove) delete model[o.name];
            else model[o.name] = o.value;
          }
          for (const r of [body(res), body(await scim('GET', `/Users/${id}`))]) {
            for (const name of names) expect(attributes[name]!.read(r), `${name} after ${JSON.stringify(operations)}`).toBe(model[name]);
          }
        }),
        { numRuns: 30 },
      );
    });

    it('the manager: a bare id, an object, an array of one, by the short or the qualified path; removed by either', async () => {
      const user = await createUser(fresh('managed'));
      const id = user.id as string;
      const boss = newId();
      const managerOf = async (): Promise<unknown> => body(await scim('GET', `/Users/${id}`))[ENTERPRISE]?.manager;
      for (const [path, value] of [
        ['manager', boss],
        ['Manager', { value: boss }],
        ['manager', [{ $ref: `https://idp.example/Users/${boss}`, value: boss }]],
        [`${ENTERPRISE}:manager`, boss],
        [`${ENTERPRISE}:manager.value`, boss],
      ] as const) {
        await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'remove', path: 'manager' }, { op: 'Add', path, value }) }), 200, 'scim.user.updated');
        expect(await managerOf(), `${path} ${JSON.stringify(value)}`).toEqual({ value: boss });
      }
      const removed = await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'Remove', path: 'manager' }) }), 200, 'scim.user.updated');
      expect(removed).not.toHaveProperty(ENTERPRISE);
      // A PUT with the manager as a bare id is read the same way; null clears it.
      const put = await write(() => scim('PUT', `/Users/${id}`, { body: userBody(user.userName, { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: boss } }) }), 200, 'scim.user.updated');
      expect(put[ENTERPRISE]).toEqual({ manager: { value: boss } });
      await write(() => scim('PATCH', `/Users/${id}`, { body: patchOps({ op: 'replace', path: 'manager', value: null }) }), 200, 'scim.user.updated');
      expect(await managerOf()).toBeUndefined();
    });

    it('the rules of a create bind PUT and PATCH: another workspace\'s userName, an unverified domain, another user\'s address', async () => {
      const taken = `taken-${newId().slice(-6)}@beta.test`;
      expectStatus(await scim('POST', '/Users', { workspace: wsB, token: tokenB, body: { schemas: [USER], userName: taken } }), 201);
      // A user whose address is its userName, and one with a primary work email.
      const solo = await write(() => scim('POST', '/Users', { body: { schemas: [USER], userName: fresh('solo') } }), 201, 'scim.user.created');
      const mailed = await createUser(fresh('mailed'));
      // Create refuses these; so must every update.
      expectScimError(await scim('POST', '/Users', { body: { schemas: [USER], userName: taken } }), 400, 'invalidValue');
      expectScimError(await scim('POST', '/Users', { body: userBody(`x-${newId().slice(-6)}@unverified.test`) }), 400, 'invalidValue');
      const before = await snapshot(ws, ['audit_queue', 'audit_events']);
      const refusals: Array<[string, string, unknown, number, string]> = [
        ['PATCH', `/Users/${solo.id}`, patchOps({ op: 'replace', path: 'userName', value: taken }), 400, 'invalidValue'],
        ['PATCH', `/Users/${solo.id}`, patchOps({ op: 'replace', value: { userName: taken.toUpperCase() } }), 400, 'invalidValue'],
        ['PUT', `/Users/${solo.id}`, { schemas: [USER], userName: taken }, 400, 'invalidValue'],
        ['PATCH', `/Users/${solo.id}`, patchOps({ op: 'replace', path: 'userName', value: 'not an address' }), 400, 'invalidValue'],
        ['PATCH', `/Users/${mailed.id}`, patchOps({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'mailed@unverified.test' }), 400, 'invalidValue'],
        ['PATCH', `/Users/${mailed.id}`, patchOps({ op: 'replace', value: { emails: [{ value: 'mailed@unverified.test', primary: true }] } }), 400, 'invalidValue'],
        ['PUT', `/Users/${mailed.id}`, userBody(mailed.userName, { emails: [{ value: 'mailed@unverified.test', type: 'work', primary: true }] }), 400, 'invalidValue'],
        ['PATCH', `/Users/${mailed.id}`, patchOps({ op: 'replace', path: 'emails[type eq "work"].value', value: solo.userName.toUpperCase() }), 409, 'uniqueness'],
        ['PUT', `/Users/${solo.id}`, { schemas: [USER], userName: mailed.userName }, 409, 'uniqueness'],
      ];
      for (const [method, path, payload, status, scimType] of refusals) {
        const refused = expectScimError(await scim(method as 'PUT' | 'PATCH', path, { body: payload }), status, scimType);
        if (scimType === 'invalidValue' && !JSON.stringify(payload).includes('not an address')) expect(refused.detail).toMatch(/domain is not verified for this workspace/);
      }
      expect(await snapshot(ws, ['audit_queue', 'audit_events'])).toEqual(before);

      // The rules are about the address a write gives: with the address unchanged, a write goes
      // through even after its domain stopped being verified — deprovisioning is never blocked.
      const lapsing = `lapse-${newId().slice(-6)}.test`;
      await verifyDomain(t, ws, lapsing);
      const later = await createUser(`someone@${lapsing}`);
      await t.database.raw('UPDATE rampart.workspace_domains SET verified_at = NULL WHERE tenant_id = $1 AND domain = $2', [ws, lapsing]);
      await write(() => scim('PATCH', `/Users/${later.id}`, { body: patchOps({ op: 'replace', path: 'displayName', value: 'Still here' }) }), 200, 'scim.user.updated');
      await write(() => scim('PATCH', `/Users/${later.id}`, { body: patchOps({ op: 'replace', value: { active: false } }) }), 200, 'scim.user.deactivated');
      await write(() => scim('DELETE', `/Users/${later.id}`), 204, 'scim.user.deleted');
    });
  });

  describe('tokens', () => {
    it('are shown once, listed without the secret, limited to 3 live, and stop working when revoked', async () => {
      const base = `/api/v1/workspaces/${wsB}/scim/tokens`;
      expectStatus(await scim('GET', '/Users', { workspace: wsB, token: tokenB }), 200);
      const listed = expectStatus(await t.app.inject({ method: 'GET', url: base, headers: bob.bearer }), 200);
      expect(listed.data).toHaveLength(1);
      expect(JSON.stringify(listed)).not.toContain(tokenB);
      expect(listed.data[0].prefix).toBe(tokenB.slice(0, 32));
      expect(listed.data[0].lastUsedAt).not.toBeNull();
      const second = expectStatus(await t.app.inject({ method: 'POST', url: base, headers: bob.bearer, payload: { name: 'rotation' } }), 201);
      expect(second.baseUrl).toMatch(new RegExp(`/scim/v2/${wsB}$`));
      expect(second.token).toMatch(/^rscim_[A-Za-z0-9_-]{65}$/);
      expectStatus(await t.app.inject({ method: 'POST', url: base, headers: bob.bearer, payload: { name: 'third' } }), 201);
      expect(expectStatus(await t.app.inject({ method: 'POST', url: base, headers: bob.bearer, payload: { name: 'fourth' } }), 409).error.code).toBe('scim_token_limit');
      expectStatus(await scim('GET', '/Users', { workspace: wsB, token: second.token }), 200);
      expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/${second.id}`, headers: bob.bearer }), 204);
      expectScimError(await scim('GET', '/Users', { workspace: wsB, token: second.token }), 401);
      expect(expectStatus(await t.app.inject({ method: 'DELETE', url: `${base}/${second.id}`, headers: bob.bearer }), 404).error.code).toBe('scim_token_not_found');
      expectStatus(await t.app.inject({ method: 'POST', url: base, headers: bob.bearer, payload: { name: 'fourth' } }), 201);
      // application/json is accepted as well as application/scim+json.
      const plain = await scim('POST', '/Users', { workspace: wsB, token: tokenB, body: userBody('json@beta.test'), headers: { 'content-type': 'application/json' } });
      expectStatus(plain, 201);
    });
  });
});
