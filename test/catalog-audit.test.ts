/**
 * The schema as PostgreSQL sees it: every table with tenant_id forces row-level security with
 * the tenant policy, keys lead with tenant_id, no view or function runs with its owner's
 * rights, and the app role can bypass nothing and owns nothing. The audit is shown to catch each
 * kind of mistake on a probe schema built to contain it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditCatalog, type CatalogQuery } from '../src/platform/db/catalog-audit.js';
import { BACKENDS, type TestDatabase } from './helpers/backends.js';

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
          'extra_write_policy widened.anyone_writes',
          'foreign_key_not_tenant_leading unforced.unforced_good_fk',
          'primary_key_not_tenant_leading open_table.open_table_pkey',
          'rls_not_enabled open_table',
          'rls_not_forced open_table',
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
});
