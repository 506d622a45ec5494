/**
 * Reads the PostgreSQL catalog and reports every way the schema could let one tenant's rows
 * reach another: a tenant table without forced row-level security or without the tenant policy,
 * a write policy besides it, a key that does not lead with tenant_id, a view that runs with its
 * owner's rights, a SECURITY DEFINER function, or an app role that can bypass RLS or owns
 * anything. The catalog-audit test fails on any finding; `rampart` can run it against a live
 * database.
 */
import { APP_ROLE, SCHEMA } from './types.js';

export type FindingKind =
  | 'rls_not_enabled'
  | 'rls_not_forced'
  | 'tenant_policy_missing'
  | 'extra_write_policy'
  | 'primary_key_not_tenant_leading'
  | 'foreign_key_not_tenant_leading'
  | 'view_not_security_invoker'
  | 'security_definer_function'
  | 'app_role_missing'
  | 'app_role_privileged'
  | 'app_role_owns_objects';

export interface Finding {
  readonly kind: FindingKind;
  readonly object: string;
  readonly detail: string;
}

export type CatalogQuery = <R extends Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

/** The policy every tenant table must carry, for all commands, on both USING and WITH CHECK. */
export const TENANT_POLICY = 'tenant_isolation';
const TENANT_PREDICATE = /^\(tenant_id = ([a-z_][a-z0-9_]*\.)?current_tenant_id\(\)\)$/;

export async function auditCatalog(query: CatalogQuery, schema: string = SCHEMA, appRole: string = APP_ROLE): Promise<Finding[]> {
  const findings: Finding[] = [];

  const tables = await query<{ table: string; enabled: boolean; forced: boolean }>(
    `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
        AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
      ORDER BY c.relname`,
    [schema],
  );
  const tenantTables = new Set(tables.map((t) => t.table));
  for (const t of tables) {
    if (!t.enabled) findings.push({ kind: 'rls_not_enabled', object: t.table, detail: 'row-level security is not enabled' });
    if (!t.forced) findings.push({ kind: 'rls_not_forced', object: t.table, detail: 'row-level security is not forced (the owner bypasses it)' });
  }

  const policies = await query<{ table: string; name: string; cmd: string; permissive: string; qual: string | null; check: string | null; roles: string[] }>(
    `SELECT tablename AS table, policyname AS name, cmd, permissive, qual, with_check AS check, roles::text[] AS roles
       FROM pg_policies WHERE schemaname = $1 ORDER BY tablename, policyname`,
    [schema],
  );
  for (const table of tenantTables) {
    const own = policies.filter((p) => p.table === table);
    const tenant = own.find((p) => p.name === TENANT_POLICY);
    const ok =
      tenant !== undefined &&
      tenant.cmd === 'ALL' &&
      tenant.permissive === 'PERMISSIVE' &&
      TENANT_PREDICATE.test(tenant.qual ?? '') &&
      TENANT_PREDICATE.test(tenant.check ?? '');
    if (!ok) {
      findings.push({
        kind: 'tenant_policy_missing',
        object: table,
        detail: `needs policy ${TENANT_POLICY} FOR ALL USING and WITH CHECK (tenant_id = current_tenant_id())`,
      });
    }
    for (const p of own) {
      if (p.name !== TENANT_POLICY && p.permissive === 'PERMISSIVE' && p.cmd !== 'SELECT') {
        findings.push({ kind: 'extra_write_policy', object: `${table}.${p.name}`, detail: `a permissive ${p.cmd} policy widens writes beyond the tenant` });
      }
    }
  }

  const keys = await query<{ table: string; name: string; type: string; first_column: string | null; referenced: string | null }>(
    `SELECT c.relname AS table, con.conname AS name, con.contype AS type,
            (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = con.conrelid AND a.attnum = con.conkey[1]) AS first_column,
            rc.relname AS referenced
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE n.nspname = $1 AND con.contype IN ('p', 'f')
      ORDER BY c.relname, con.conname`,
    [schema],
  );
  for (const k of keys) {
    if (!tenantTables.has(k.table)) continue;
    if (k.type === 'p' && k.first_column !== 'tenant_id') {
      findings.push({ kind: 'primary_key_not_tenant_leading', object: `${k.table}.${k.name}`, detail: 'the primary key must start with tenant_id' });
    }
    // Between tenant tables a key must carry the tenant (Citus co-location, and no cross-tenant link).
    if (k.type === 'f' && k.referenced !== null && tenantTables.has(k.referenced) && k.first_column !== 'tenant_id') {
      findings.push({ kind: 'foreign_key_not_tenant_leading', object: `${k.table}.${k.name}`, detail: `the foreign key to ${k.referenced} must start with tenant_id` });
    }
  }

  const views = await query<{ view: string; options: string[] | null }>(
    `SELECT c.relname AS view, c.reloptions AS options
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')`,
    [schema],
  );
  for (const v of views) {
    const invoker = (v.options ?? []).some((o) => /^security_invoker=(true|on|1)$/i.test(o));
    if (!invoker) findings.push({ kind: 'view_not_security_invoker', object: v.view, detail: "the view runs with its owner's rights; set security_invoker" });
  }

  const definers = await query<{ name: string }>(
    `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1 AND p.prosecdef`,
    [schema],
  );
  for (const f of definers) {
    findings.push({ kind: 'security_definer_function', object: f.name, detail: "runs with its owner's rights, around row-level security" });
  }

  const roles = await query<{ super: boolean; bypass: boolean; createrole: boolean; createdb: boolean }>(
    'SELECT rolsuper AS super, rolbypassrls AS bypass, rolcreaterole AS createrole, rolcreatedb AS createdb FROM pg_roles WHERE rolname = $1',
    [appRole],
  );
  const role = roles[0];
  if (!role) {
    findings.push({ kind: 'app_role_missing', object: appRole, detail: 'the app role does not exist' });
  } else if (role.super || role.bypass || role.createrole || role.createdb) {
    findings.push({ kind: 'app_role_privileged', object: appRole, detail: 'the app role must be NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB' });
  }

  const owned = await query<{ object: string }>(
    `SELECT 'relation ' || c.relname AS object FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = $1
     UNION ALL SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE r.rolname = $1
     UNION ALL SELECT 'schema ' || s.nspname FROM pg_namespace s JOIN pg_roles r ON r.oid = s.nspowner WHERE r.rolname = $1
     UNION ALL SELECT 'type ' || t.typname FROM pg_type t JOIN pg_roles r ON r.oid = t.typowner
                WHERE r.rolname = $1 AND t.typrelid = 0 AND t.typcategory <> 'A'`,
    [appRole],
  );
  for (const o of owned) findings.push({ kind: 'app_role_owns_objects', object: o.object, detail: 'the app role must own nothing' });

  return findings;
}
