/**
 * The schema as PostgreSQL sees it: every table with tenant_id forces row-level security with
 * the tenant policy, keys lead with tenant_id, no view runs with its owner's rights, every table
 * the app role can read is scoped to a tenant or an account (or listed, with the reason), every
 * SECURITY DEFINER function is one of the definer role's narrow lookups, and the app role can
 * bypass nothing and owns nothing. The audit is shown to catch each kind of mistake on a probe
 * schema built to contain it.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCatalog, UNSCOPED_EXEMPTIONS, type CatalogQuery } from '../src/platform/db/catalog-audit.js';
import { PostgresDatabase } from '../src/platform/db/postgres.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';

const serverUrl = process.env['TEST_DATABASE_URL'];

// PGlite has one session, its superuser; a production owner is a login with CREATEROLE only.
describe.skipIf(!serverUrl)('catalog audit after migrating as a non-superuser owner (PostgreSQL server only)', () => {
  const suffix = randomBytes(4).toString('hex');
  const owner = `audit_probe_owner_${suffix}`;
  const database = `rampart_t_owner_${suffix}`;
  let admin: pg.Client;
  let ownerUrl: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE ${owner} LOGIN NOSUPERUSER CREATEROLE`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${owner}`);
    const url = new URL(serverUrl as string);
    url.username = owner;
    url.password = '';
    url.pathname = `/${database}`;
    ownerUrl = url.toString();
  });

  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${owner}`);
    await admin.end();
  });

  it('hands every definer function to rampart_auth, takes back its CREATE, and finds nothing wrong', async () => {
    const db = new PostgresDatabase({ url: ownerUrl, poolSize: 1, statementTimeoutMs: 30_000 });
    try {
      // Every migration applies under such an owner, up to the newest.
      const newest = readdirSync(new URL('../migrations/', import.meta.url)).filter((f) => f.endsWith('.sql')).sort().at(-1);
      expect((await db.migrate()).current).toBe(newest?.replace(/\.sql$/, ''));
    } finally {
      await db.close();
    }
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    try {
      const query: CatalogQuery = async <R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) =>
        (await client.query<R>(sql, params as unknown[] | undefined)).rows;
      expect(await auditCatalog(query)).toEqual([]);
      const owners = await query<{ owner: string }>(
        `SELECT DISTINCT r.rolname AS owner FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = 'rampart' AND p.prosecdef`,
      );
      expect(owners).toEqual([{ owner: 'rampart_auth' }]);
    } finally {
      await client.end();
    }
  });
});

describe.each(BACKENDS)('catalog audit on $name', (backend) => {
  let t: TestDatabase;
  let query: CatalogQuery;

  beforeAll(async () => {
    t = await backend.open();
    query = (sql, params) => t.raw(sql, params);
  });
  afterAll(async () => t?.close());

  it('finds nothing wrong with the migrated schema', async () => {
    expect(await auditCatalog(query)).toEqual([]);
  });

  it('knows the tenant tables: every table with tenant_id, each with RLS enabled and forced', async () => {
    const tables = await t.raw<{ table: string; enabled: boolean; forced: boolean }>(
      `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'rampart' AND c.relkind = 'r'
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
        ORDER BY 1`,
    );
    expect(tables).toEqual(
      [
        'api_keys',
        'audit_events',
        'audit_queue',
        'collections',
        'directory_group_roles',
        'documents',
        'invitations',
        'member_roles',
        'memberships',
        'records',
        'roles',
        'saml_assertions',
        'saml_connections',
        'saml_requests',
        'scim_group_members',
        'scim_groups',
        'scim_tokens',
        'scim_users',
        'secrets',
        'sso_identities',
        'sso_setup_links',
        'staff_access_requests',
        'tenant_keyrings',
        'tenant_keys',
        'workspace_domains',
        'workspaces',
      ].map((table) => ({ table, enabled: true, forced: true })),
    );
  });

  describe('on a probe schema built with every mistake', () => {
    const suffix = randomBytes(4).toString('hex');
    const schema = `audit_probe_${suffix}`;
    const role = `audit_probe_role_${suffix}`;

    beforeAll(async () => {
      const statements = [
        `CREATE SCHEMA ${schema}`,
        `CREATE ROLE ${role} NOLOGIN BYPASSRLS`,
        `CREATE FUNCTION ${schema}.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT NULL::uuid $$`,
        // A tenant table done right, to show it is not reported.
        `CREATE TABLE ${schema}.good (tenant_id uuid, id uuid, PRIMARY KEY (tenant_id, id))`,
        `ALTER TABLE ${schema}.good ENABLE ROW LEVEL SECURITY`,
        `ALTER TABLE ${schema}.good FORCE ROW LEVEL SECURITY`,
        `CREATE POLICY tenant_isolation ON ${schema}.good FOR ALL USING (tenant_id = ${schema}.current_tenant_id()) WITH CHECK (tenant_id = ${schema}.current_tenant_id())`,
        `CREATE UNIQUE INDEX good_id_tenant ON ${schema}.good (id, tenant_id)`,
        // No RLS at all; primary key not led by tenant_id.
        `CREATE TABLE ${schema}.open_table (id uuid PRIMARY KEY, tenant_id uuid)`,
        // Enabled but not forced; policy only on reads; a foreign key without tenant_id.
        `CREATE TABLE ${schema}.unforced (tenant_id uuid, id uuid, good_id uuid, PRIMARY KEY (tenant_id, id))`,
        `ALTER TABLE ${schema}.unforced ADD CONSTRAINT unforced_good_fk FOREIGN KEY (good_id, tenant_id) REFERENCES ${schema}.good (id, tenant_id)`,
        `ALTER TABLE ${schema}.unforced ENABLE ROW LEVEL SECURITY`,
        `CREATE POLICY tenant_isolation ON ${schema}.unforced FOR SELECT USING (tenant_id = ${schema}.current_tenant_id())`,
        // Right policy plus a permissive write policy that widens it.
        `CREATE TABLE ${schema}.widened (tenant_id uuid, id uuid, PRIMARY KEY (tenant_id, id))`,
        `ALTER TABLE ${schema}.widened ENABLE ROW LEVEL SECURITY`,
        `ALTER TABLE ${schema}.widened FORCE ROW LEVEL SECURITY`,
        `CREATE POLICY tenant_isolation ON ${schema}.widened FOR ALL USING (tenant_id = ${schema}.current_tenant_id()) WITH CHECK (tenant_id = ${schema}.current_tenant_id())`,
        `CREATE POLICY anyone_writes ON ${schema}.widened FOR UPDATE USING (true)`,
        `CREATE VIEW ${schema}.definer_view AS SELECT * FROM ${schema}.good`,
        `CREATE VIEW ${schema}.invoker_view WITH (security_invoker = true) AS SELECT * FROM ${schema}.good`,
        `CREATE FUNCTION ${schema}.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT count(*) FROM ${schema}.good $$`,
        `CREATE TABLE ${schema}.owned_by_role (x int)`,
        `ALTER TABLE ${schema}.owned_by_role OWNER TO ${role}`,
      ];
      for (const sql of statements) await t.raw(sql);
    });

    afterAll(async () => {
      await t.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await t.raw(`DROP ROLE IF EXISTS ${role}`);
    });

    it('reports each mistake, and only the mistakes', async () => {
      const findings = (await auditCatalog(query, schema, role)).map((f) => `${f.kind} ${f.object}`).sort();
      expect(findings).toEqual(
        [
          'app_role_owns_objects relation owned_by_role',
          'app_role_privileged ' + role,
          'definer_execute peek()',
          'definer_search_path peek()',
          'extra_write_policy widened.anyone_writes',
          'foreign_key_not_tenant_leading unforced.unforced_good_fk',
          'primary_key_not_tenant_leading open_table.open_table_pkey',
          'rls_not_enabled open_table',
          'rls_not_enabled owned_by_role',
          'rls_not_forced open_table',
          'rls_not_forced owned_by_role',
          'rls_not_forced unforced',
          'security_definer_function peek()',
          'tenant_policy_missing open_table',
          'tenant_policy_missing unforced',
          'view_not_security_invoker definer_view',
        ].sort(),
      );
    });

    it('reports a missing app role', async () => {
      const findings = await auditCatalog(query, schema, `no_such_role_${suffix}`);
      expect(findings.filter((f) => f.kind === 'app_role_missing')).toHaveLength(1);
    });
  });

  it('exempts only tables the app role can read, each listed with its reason in docs/security-model.md', async () => {
    const readable = await t.raw<{ table: string }>(
      `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'rampart' AND c.relkind = 'r' AND has_any_column_privilege('rampart_app', c.oid, 'SELECT')`,
    );
    const tables = new Set(readable.map((r) => r.table));
    const policies = new Set((await t.raw<{ p: string }>(`SELECT tablename || '.' || policyname AS p FROM pg_policies WHERE schemaname = 'rampart'`)).map((r) => r.p));
    const doc = readFileSync(new URL('../docs/security-model.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    for (const e of UNSCOPED_EXEMPTIONS) {
      expect(tables.has(e.table), e.table).toBe(true);
      if (e.policy !== undefined) expect(policies.has(`${e.table}.${e.policy}`), `${e.table}.${e.policy}`).toBe(true);
      const name = e.policy === undefined ? `\`${e.table}\`` : `\`${e.table}.${e.policy}\``;
      expect(doc.includes(`| ${name} | ${e.reason} |`), `${name} with its reason`).toBe(true);
    }
  });

  describe('on a probe schema of global tables and definer functions built with every mistake', () => {
    const suffix = randomBytes(4).toString('hex');
    const schema = `scope_probe_${suffix}`;
    const app = `scope_probe_app_${suffix}`;
    const definer = `scope_probe_definer_${suffix}`;
    const reached = `scope_probe_reached_${suffix}`;
    const exemptions = [
      { table: 'listed_table', reason: 'nothing personal' },
      { table: 'listed_append', policy: 'anyone_appends', reason: 'append only' },
    ];
    const audit = (definerRole = definer) => auditCatalog(query, schema, app, { definerRole, exemptions });

    beforeAll(async () => {
      const scoped = (table: string) => [
        `ALTER TABLE ${schema}.${table} ENABLE ROW LEVEL SECURITY`,
        `ALTER TABLE ${schema}.${table} FORCE ROW LEVEL SECURITY`,
        `CREATE POLICY own ON ${schema}.${table} FOR ALL USING (account_id = ${schema}.current_account_id()) WITH CHECK (account_id = ${schema}.current_account_id())`,
        `GRANT SELECT, INSERT ON ${schema}.${table} TO ${app}`,
      ];
      const definerFunction = (name: string, body: string, extra = '') => [
        `CREATE FUNCTION ${schema}.${name} LANGUAGE sql STABLE SECURITY DEFINER ${extra} AS $$ ${body} $$`,
        `REVOKE ALL ON FUNCTION ${schema}.${name.replace(/ RETURNS .*$/, '')} FROM PUBLIC`,
        `GRANT EXECUTE ON FUNCTION ${schema}.${name.replace(/ RETURNS .*$/, '')} TO ${app}`,
        `ALTER FUNCTION ${schema}.${name.replace(/ RETURNS .*$/, '')} OWNER TO ${definer}`,
      ];
      const pinned = `SET search_path = ${schema}, pg_temp`;
      const statements = [
        `CREATE SCHEMA ${schema}`,
        `CREATE ROLE ${app} NOLOGIN`,
        `CREATE ROLE ${definer} NOLOGIN BYPASSRLS`,
        `CREATE ROLE ${reached} NOLOGIN`,
        `GRANT ${reached} TO ${app}`,
        `CREATE FUNCTION ${schema}.current_account_id() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT NULL::uuid $$`,
        // Scoped to the account: not reported.
        `CREATE TABLE ${schema}.scoped (account_id uuid, secret text)`,
        ...scoped('scoped'),
        // Readable and open; enabled but not forced.
        `CREATE TABLE ${schema}.open_global (id uuid, email text)`,
        `GRANT SELECT ON ${schema}.open_global TO ${app}`,
        `CREATE TABLE ${schema}.unforced_global (account_id uuid)`,
        `ALTER TABLE ${schema}.unforced_global ENABLE ROW LEVEL SECURITY`,
        `CREATE POLICY own ON ${schema}.unforced_global FOR SELECT USING (account_id = ${schema}.current_account_id())`,
        `GRANT SELECT ON ${schema}.unforced_global TO ${app}`,
        // Forced, but a policy lets every row through, or names the account without comparing it.
        `CREATE TABLE ${schema}.wide_open (account_id uuid)`,
        ...scoped('wide_open'),
        `CREATE POLICY everyone ON ${schema}.wide_open FOR SELECT USING (true)`,
        `CREATE TABLE ${schema}.fake_scope (account_id uuid)`,
        ...scoped('fake_scope'),
        `CREATE POLICY signed_in ON ${schema}.fake_scope FOR SELECT TO ${app} USING (${schema}.current_account_id() IS NOT NULL)`,
        // An insert policy for anyone: reported unless listed.
        `CREATE TABLE ${schema}.append_only (account_id uuid)`,
        ...scoped('append_only'),
        `CREATE POLICY anyone_inserts ON ${schema}.append_only FOR INSERT WITH CHECK (true)`,
        `CREATE TABLE ${schema}.listed_append (account_id uuid)`,
        ...scoped('listed_append'),
        `CREATE POLICY anyone_appends ON ${schema}.listed_append FOR INSERT WITH CHECK (true)`,
        // Listed; a wide policy for another role; unreadable by the app: none reported.
        `CREATE TABLE ${schema}.listed_table (id uuid)`,
        `GRANT SELECT ON ${schema}.listed_table TO ${app}`,
        `CREATE TABLE ${schema}.other_role (account_id uuid)`,
        ...scoped('other_role'),
        `CREATE POLICY for_definer ON ${schema}.other_role FOR SELECT TO ${definer} USING (true)`,
        `CREATE TABLE ${schema}.unreadable (id uuid)`,
        // Definer functions: one right, then each mistake once.
        ...definerFunction('good_lookup(p_key text, OUT id uuid, OUT email text) RETURNS record', 'SELECT NULL::uuid, p_key', pinned),
        ...definerFunction('unpinned() RETURNS uuid', 'SELECT NULL::uuid'),
        ...definerFunction('wrong_path() RETURNS uuid', 'SELECT NULL::uuid', 'SET search_path = public, pg_temp'),
        ...definerFunction('enumerate() RETURNS SETOF uuid', 'SELECT NULL::uuid', pinned),
        ...definerFunction('public_lookup() RETURNS uuid', 'SELECT NULL::uuid', pinned),
        `GRANT EXECUTE ON FUNCTION ${schema}.public_lookup() TO PUBLIC`,
        ...definerFunction('foreign_owner() RETURNS uuid', 'SELECT NULL::uuid', pinned),
        `ALTER FUNCTION ${schema}.foreign_owner() OWNER TO CURRENT_USER`,
        `CREATE SEQUENCE ${schema}.definer_sequence`,
        `ALTER SEQUENCE ${schema}.definer_sequence OWNER TO ${definer}`,
      ];
      for (const sql of statements) await t.raw(sql);
    });

    afterAll(async () => {
      await t.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await t.raw(`DROP ROLE IF EXISTS ${app}`);
      await t.raw(`DROP ROLE IF EXISTS ${definer}`);
      await t.raw(`DROP ROLE IF EXISTS ${reached}`);
    });

    it('reports each table the app role reads without a scope, and each stray definer function, and only those', async () => {
      const findings = (await audit()).map((f) => `${f.kind} ${f.object}`).sort();
      expect(findings).toEqual(
        [
          'definer_execute public_lookup()',
          'definer_returns_set enumerate()',
          'definer_role_owns_objects relation definer_sequence',
          `definer_role_privileged ${definer}`,
          'definer_search_path unpinned()',
          'definer_search_path wrong_path()',
          'rls_not_enabled open_global',
          'rls_not_forced open_global',
          'rls_not_forced unforced_global',
          'security_definer_function foreign_owner()',
          'unscoped_policy append_only.anyone_inserts',
          'unscoped_policy fake_scope.signed_in',
          'unscoped_policy wide_open.everyone',
        ].sort(),
      );
    });

    it('reports a definer role the app role could become', async () => {
      const findings = await audit(reached);
      expect(findings.filter((f) => f.kind === 'definer_role_reachable').map((f) => f.object)).toEqual([reached]);
    });

    it('reports a missing definer role', async () => {
      const findings = await audit(`no_such_definer_${suffix}`);
      expect(findings.filter((f) => f.kind === 'definer_role_missing').map((f) => f.object)).toEqual([`no_such_definer_${suffix}`]);
    });
  });
});
