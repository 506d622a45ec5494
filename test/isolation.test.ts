/**
 * Tenant isolation, route by route. Two tenants; every route of the route table (enumerated from
 * the running app, so a new route joins by existing) with each of its methods; tenant B's
 * credentials against tenant A's ids. Afterwards tenant A's rows and objects are byte-for-byte
 * what they were (0 written) and no response to B carried anything of A's (0 read). Then the
 * same below HTTP: SQL as the app role with B's tenant naming A's rows, and a pooled connection
 * reused after a failed transaction. Runs on PGlite and on PostgreSQL.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, multipart, signUp, type Caller, type TestApp } from './helpers/app.js';
import { bodySchema, sample, type OpenApi } from './helpers/samples.js';

/** Every table with tenant_id (read from the catalog), and which of them the app role may not update or delete from. */
let TENANT_TABLES: string[] = [];
let NO_UPDATE = new Set<string>();
let NO_DELETE = new Set<string>();
const SECRET_MARKER = 'tenant-a-secret-7f3c';
const INVITEE = 'invitee-of-a-7f3c@example.test';

interface TenantA {
  workspaceId: string;
  workspaceName: string;
  recordId: string;
  documentId: string;
  documentName: string;
}

describe.each(BACKENDS)('tenant isolation on $name', (backend) => {
  let t: TestApp;
  let alice: Caller;
  let bob: Caller;
  let a: TenantA;
  let bWorkspace: string;
  let spec: OpenApi;

  /** A digest of each of tenant A's tables and of its object directory: a difference names where. */
  async function snapshotA(): Promise<Record<string, string>> {
    // Work that runs after an answer (the audit sequencer moving A's queued events into its
    // chain, deferred touches) is the system's, not B's: let it finish before reading.
    await t.services.accounts.settle();
    await t.services.audit.settle();
    const digest = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
    const out: Record<string, string> = {};
    for (const table of TENANT_TABLES) {
      const rows = await t.database.raw<{ row: string }>(`SELECT t::text AS row FROM ${table} t WHERE tenant_id = $1 ORDER BY 1`, [a.workspaceId]);
      out[table] = `${rows.length} rows ${digest(rows.map((r) => r.row).join('\n'))}`;
    }
    const dir = path.join(t.objectsDir, 'eu', a.workspaceId);
    const files = existsSync(dir) ? readdirSync(dir).sort() : [];
    out.objects = `${files.length} files ${digest(files.map((f) => `${f}:${digest(readFileSync(path.join(dir, f)))}`).join('\n'))}`;
    return out;
  }

  /** Everything of tenant A's that must never appear in a response to tenant B. */
  function aTraces(): string[] {
    return [a.workspaceId, a.workspaceName, a.recordId, a.documentId, a.documentName, SECRET_MARKER, alice.email, alice.accountId, INVITEE];
  }

  beforeAll(async () => {
    t = await buildTestApp(backend);
    alice = await signUp(t, 'alice');
    bob = await signUp(t, 'bob');
    const wa = await createWorkspace(t, alice, `Alpha ${SECRET_MARKER}`);
    const base = `/api/v1/workspaces/${wa.id}`;
    await t.app.inject({ method: 'POST', url: `${base}/collections`, headers: alice.bearer, payload: { name: 'secrets' } });
    const rec = await t.app.inject({ method: 'POST', url: `${base}/collections/secrets/records`, headers: alice.bearer, payload: { data: { note: SECRET_MARKER, status: 'open' } } });
    const doc = multipart(`plan-${SECRET_MARKER}.txt`, `document body ${SECRET_MARKER}`);
    const up = await t.app.inject({ method: 'POST', url: `${base}/documents`, headers: { ...alice.bearer, ...doc.headers }, payload: doc.payload });
    expect(up.statusCode).toBe(201);
    a = { workspaceId: wa.id, workspaceName: wa.name, recordId: rec.json().id, documentId: up.json().id, documentName: up.json().name };
    // A's roles, invitations, API keys and events exist too.
    const role = await t.app.inject({ method: 'POST', url: `${base}/roles`, headers: alice.bearer, payload: { name: `Role ${SECRET_MARKER}`, scopes: ['records:read'] } });
    expect(role.statusCode).toBe(201);
    const invite = await t.app.inject({ method: 'POST', url: `${base}/invitations`, headers: alice.bearer, payload: { email: INVITEE, roleId: role.json().id } });
    expect(invite.statusCode).toBe(201);
    const key = await t.app.inject({ method: 'POST', url: `${base}/api-keys`, headers: alice.bearer, payload: { name: `Key ${SECRET_MARKER}`, scopes: ['records:read'] } });
    expect(key.statusCode).toBe(201);
    const secret = await t.app.inject({
      method: 'POST',
      url: `${base}/secrets`,
      headers: alice.bearer,
      payload: { integration: 'slack', name: 'bot-token', value: `xoxb-${SECRET_MARKER}` },
    });
    expect(secret.statusCode).toBe(201);
    const tables = await t.database.raw<{ table: string; updatable: boolean; deletable: boolean }>(
      `SELECT c.relname AS table, has_table_privilege('rampart_app', c.oid, 'UPDATE') AS updatable,
              has_table_privilege('rampart_app', c.oid, 'DELETE') AS deletable
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'rampart' AND c.relkind = 'r'
          AND EXISTS (SELECT 1 FROM pg_attribute at WHERE at.attrelid = c.oid AND at.attname = 'tenant_id' AND NOT at.attisdropped)
        ORDER BY 1`,
    );
    TENANT_TABLES = tables.map((r) => r.table);
    NO_UPDATE = new Set(tables.filter((r) => !r.updatable).map((r) => r.table));
    NO_DELETE = new Set(tables.filter((r) => !r.deletable).map((r) => r.table));
    expect(TENANT_TABLES).toEqual(
      expect.arrayContaining(['api_keys', 'invitations', 'member_roles', 'roles', 'audit_queue', 'audit_events', 'records', 'secrets', 'tenant_keys', 'tenant_keyrings', 'staff_access_requests']),
    );
    bWorkspace = (await createWorkspace(t, bob, 'Beta')).id;
    await t.app.inject({ method: 'POST', url: `/api/v1/workspaces/${bWorkspace}/collections`, headers: bob.bearer, payload: { name: 'secrets' } });
    spec = (await t.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json();
  });
  afterAll(async () => t?.close());

  function routesUnderTest() {
    return t.routes.filter((r) => r.url.startsWith('/api/') && r.method !== 'HEAD' && !r.url.startsWith('/api/v1/docs'));
  }

  /** A route's URL with the given workspace and, unless told otherwise, A's record, document and vault secret path. */
  function fill(url: string, workspaceId: string, ids: { recordId: string; documentId: string } = a): string {
    return url
      .replace(':workspaceId', workspaceId)
      .replace(':collection', 'secrets')
      .replace(':recordId', ids.recordId)
      .replace(':documentId', ids.documentId)
      .replace(':integration', 'slack')
      .replace(/\*$/, 'bot-token');
  }

  function payloadFor(method: string, url: string): { payload?: unknown; headers: Record<string, string> } {
    if (method === 'POST' && url.endsWith('/documents')) {
      const m = multipart('from-b.txt', 'b');
      return { payload: m.payload, headers: m.headers };
    }
    const schema = bodySchema(spec, method, url);
    return schema ? { payload: sample(schema, spec), headers: {} } : { headers: {} };
  }

  it('the route table has the routes this suite must cover', () => {
    const routes = routesUnderTest();
    expect(routes.filter((r) => r.access === 'workspace').length).toBeGreaterThanOrEqual(15);
    for (const r of routes) expect(r.access, `${r.method} ${r.url}`).toMatch(/^(public|account|workspace|api_key|staff)$/);
    expect(routes.filter((r) => r.access === 'api_key').length).toBeGreaterThanOrEqual(1);
  });

  it("B, with its own credentials on A's workspace, reads nothing and writes nothing, on every route", async () => {
    const before = await snapshotA();
    const checked: string[] = [];
    for (const route of routesUnderTest().filter((r) => r.access === 'workspace')) {
      for (const auth of [bob.bearer, bob.cookie]) {
        const { payload, headers } = payloadFor(route.method, route.url);
        const res = await t.app.inject({
          method: route.method as 'GET',
          url: fill(route.url, a.workspaceId),
          headers: { ...auth, ...headers },
          ...(payload === undefined ? {} : Buffer.isBuffer(payload) ? { payload } : { payload: payload as object }),
        });
        const where = `${route.method} ${route.url}`;
        expect(res.statusCode, where).toBe(404);
        expect(res.json().error.code, where).toBe('workspace_not_found');
        for (const trace of aTraces()) expect(res.body, where).not.toContain(trace);
        checked.push(where);
      }
    }
    expect(checked.length).toBeGreaterThanOrEqual(30);
    expect(await snapshotA()).toEqual(before);
  });

  it("B, in its own workspace, addressing A's records, documents and secrets, reads nothing and writes nothing", async () => {
    const before = await snapshotA();
    for (const route of routesUnderTest().filter((r) => r.access === 'workspace')) {
      if (!['recordId', 'documentId', 'integration'].some((p) => route.url.includes(`:${p}`))) continue;
      const { payload, headers } = payloadFor(route.method, route.url);
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: fill(route.url, bWorkspace),
        headers: { ...bob.bearer, ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      const where = `${route.method} ${route.url}`;
      expect(res.statusCode, where).toBe(404);
      expect(res.json().error.code, where).toMatch(/^(record|document|secret)_not_found$/);
      for (const trace of aTraces()) expect(res.body, where).not.toContain(trace);
    }
    expect(await snapshotA()).toEqual(before);
  });

  it("B's lists, in B's workspace and across its account, contain nothing of A's", async () => {
    const before = await snapshotA();
    for (const route of routesUnderTest().filter((r) => r.method === 'GET')) {
      const absent = '018f0000-0000-7000-8000-000000000000';
      const url = fill(route.url, bWorkspace, { recordId: absent, documentId: absent });
      const res = await t.app.inject({ method: 'GET', url, headers: bob.bearer });
      expect(res.statusCode, route.url).toBeLessThan(500);
      for (const trace of aTraces()) expect(res.body, route.url).not.toContain(trace);
    }
    expect(await snapshotA()).toEqual(before);
  });

  it('account and public routes called by B touch nothing of A', async () => {
    const before = await snapshotA();
    for (const route of routesUnderTest().filter((r) => r.access !== 'workspace')) {
      if (route.url.endsWith('/sign-out')) continue; // would end B's session for the rest of the suite
      const { payload } = payloadFor(route.method, route.url);
      const res = await t.app.inject({
        method: route.method as 'GET',
        url: route.url,
        headers: bob.bearer,
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      expect(res.statusCode, route.url).toBeLessThan(500);
      for (const trace of aTraces()) expect(res.body, `${route.method} ${route.url}`).not.toContain(trace);
    }
    expect(await snapshotA()).toEqual(before);
  });

  it("B's API key, on the routes that take a key alone, gets B's workspace and nothing of A's", async () => {
    const before = await snapshotA();
    const created = await t.app.inject({
      method: 'POST',
      url: `/api/v1/workspaces/${bWorkspace}/api-keys`,
      headers: bob.bearer,
      payload: { name: 'B key', scopes: ['workspace:read'] },
    });
    const keyB = { authorization: `Bearer ${created.json<{ secret: string }>().secret}` };
    const routes = routesUnderTest().filter((r) => r.access === 'api_key');
    for (const route of routes) {
      const res = await t.app.inject({ method: route.method as 'GET', url: route.url, headers: keyB });
      const where = `${route.method} ${route.url}`;
      expect(res.statusCode, where).toBe(200);
      expect(res.json().id, where).toBe(bWorkspace);
      for (const trace of aTraces()) expect(res.body, where).not.toContain(trace);
      // B's session is no key: it opens neither workspace here.
      const bySession = await t.app.inject({ method: route.method as 'GET', url: route.url, headers: bob.bearer });
      expect(bySession.statusCode, where).toBe(401);
      for (const trace of aTraces()) expect(bySession.body, where).not.toContain(trace);
    }
    expect(await snapshotA()).toEqual(before);
  });

  it("SQL as the app role with B's tenant reads and writes none of A's rows", async () => {
    const before = await snapshotA();
    const ctxB = tenantContext(bWorkspace, bob.accountId);
    const outcome = await t.database.db.withTenant(ctxB, async (tx) => {
      const out: Record<string, number> = {};
      for (const table of TENANT_TABLES) {
        out[`select ${table}`] = (await tx.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [a.workspaceId])).rowCount;
        // Append-only tables (and key rows, which are never deleted) refuse these to the app role outright.
        if (!NO_UPDATE.has(table)) {
          out[`update ${table}`] = (await tx.query(`UPDATE ${table} SET tenant_id = tenant_id WHERE tenant_id = $1`, [a.workspaceId])).rowCount;
        }
        if (!NO_DELETE.has(table)) out[`delete ${table}`] = (await tx.query(`DELETE FROM ${table} WHERE tenant_id = $1`, [a.workspaceId])).rowCount;
      }
      return out;
    });
    for (const [op, n] of Object.entries(outcome)) expect(n, op).toBe(0);
    // Direct, without Rampart's transaction at all: no tenant, no rows.
    for (const table of TENANT_TABLES) expect(await t.database.raw(`SELECT * FROM ${table}`, [], 'app-login'), table).toEqual([]);
    expect(await snapshotA()).toEqual(before);
  });

  it("a pooled connection reused after A's failed transaction carries nothing into B's", async () => {
    const single = await backend.open({ poolSize: 1 });
    try {
      const db = single.db;
      const ta = newId();
      const tb = newId();
      await db.withTenant(tenantContext(ta, null), (tx) => tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'A', 'eu')`, [ta]));
      await db.withTenant(tenantContext(tb, null), (tx) => tx.query(`INSERT INTO workspaces (tenant_id, name, region) VALUES ($1, 'B', 'eu')`, [tb]));
      for (const readOnly of [false, true]) {
        await expect(
          db.withTenant(
            tenantContext(ta, null),
            async (tx) => {
              await tx.query('SELECT * FROM workspaces');
              await tx.query('SELECT * FROM no_such_table');
            },
            { readOnly },
          ),
        ).rejects.toThrow();
        const seen = await db.withTenant(tenantContext(tb, null), (tx) => tx.query<{ tenant_id: string }>('SELECT tenant_id FROM workspaces'), { readOnly });
        expect(seen.rows.map((r) => r.tenant_id)).toEqual([tb]);
      }
    } finally {
      await single.close();
    }
  });
});
