/**
 * Reads the PostgreSQL catalog and reports every way the schema could let one tenant's rows
 * reach another, or let anyone read rows that are not theirs: a tenant table without forced
 * row-level security or without the tenant policy, a write policy besides it, a key that does not
 * lead with tenant_id, a view that runs with its owner's rights, a table the app role can read
 * without a scope (current_tenant_id() or current_account_id()) that is not a listed exemption, a
 * SECURITY DEFINER function that is not one of the definer role's narrow lookups, or an app or
 * definer role that can bypass RLS or owns what it should not. The catalog-audit test fails on
 * any finding; `rampart` can run it against a live database.
 */
import { APP_ROLE, DEFINER_ROLE, SCHEMA } from './types.js';

export type FindingKind =
  | 'rls_not_enabled'
  | 'rls_not_forced'
  | 'tenant_policy_missing'
  | 'extra_write_policy'
  | 'primary_key_not_tenant_leading'
  | 'foreign_key_not_tenant_leading'
  | 'view_not_security_invoker'
  | 'unscoped_policy'
  | 'security_definer_function'
  | 'definer_search_path'
  | 'definer_execute'
  | 'definer_returns_set'
  | 'definer_role_missing'
  | 'definer_role_privileged'
  | 'definer_role_reachable'
  | 'definer_role_owns_objects'
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
/** A scope in a policy: the transaction's tenant or account, compared with something. */
const SCOPE = String.raw`([a-z_][a-z0-9_]*\.)?current_(tenant|account)_id\(\)`;
const SCOPED = new RegExp(String.raw`(^|[^<>!])=\s*${SCOPE}|${SCOPE}\s*=($|[^>])`);

/**
 * What the app role may read without a scope: a whole table (no policy at all), or one policy that
 * lets any transaction add a row it cannot read back. Each with the reason; the same list is in
 * docs/security-model.md (a test keeps them in step).
 */
export interface Exemption {
  readonly table: string;
  /** Only this policy of the table is exempt; without it, the whole table. */
  readonly policy?: string;
  readonly reason: string;
}

export const UNSCOPED_EXEMPTIONS: readonly Exemption[] = [
  { table: 'schema_migrations', reason: 'migration versions and checksums: the history of the schema, nothing about anyone' },
  { table: 'key_schedule', reason: "tenant ids and due times, so the key scheduler finds its work without reading any tenant's rows; no key material" },
  {
    table: 'verified_domains',
    reason: "sign-in asks a domain's SSO policy before any account or workspace is known: a domain its workspace proved in public DNS, the workspace id, a flag",
  },
  {
    table: 'webauthn_sign_in_challenges',
    reason: "random challenges of passwordless passkey sign-ins, made before any account is known: no account, useless without the authenticator's private key",
  },
  {
    table: 'key_caches',
    reason: 'one number, the longest key cache any process declared, which a retirement waits out (decision 0018); nothing about anyone',
  },
  { table: 'audit_heads', reason: "each audit chain's name (a tenant id), last sequence number and hash" },
  { table: 'audit_checkpoints', reason: 'signed chain heads, handed to workspaces and SIEM sinks by design' },
  { table: 'audit_signing_keys', reason: 'checkpoint public keys (published) and private seeds wrapped by the KMS root key' },
  { table: 'audit_sink_cursors', reason: 'how far each SIEM sink has acknowledged each chain: names and sequence numbers' },
  {
    table: 'outbox',
    policy: 'outbox_enqueue',
    reason: 'any transaction queues mail (a new, unsent message) that it cannot read back; the relay reads the outbox in the operator realm',
  },
  {
    table: 'platform_audit_queue',
    policy: 'platform_audit_append',
    reason: 'any transaction appends an event to a platform chain that it cannot read back; the sequencer reads the queue in the operator realm',
  },
];

export interface AuditOptions {
  /** The role that owns the SECURITY DEFINER functions. */
  readonly definerRole?: string;
  /** What the app role may read without a scope (by default Rampart's own list). */
  readonly exemptions?: readonly Exemption[];
}

export async function auditCatalog(
  query: CatalogQuery,
  schema: string = SCHEMA,
  appRole: string = APP_ROLE,
  options: AuditOptions = {},
): Promise<Finding[]> {
  const definerRole = options.definerRole ?? DEFINER_ROLE;
  const exemptions = options.exemptions ?? UNSCOPED_EXEMPTIONS;
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

  const policies = await query<PolicyRow>(
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
  if (role) findings.push(...(await auditUnscopedReads(query, schema, appRole, tenantTables, policies, exemptions)));
  findings.push(...(await auditDefiners(query, schema, role ? appRole : null, definerRole)));

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

type PolicyRow = { table: string; name: string; cmd: string; permissive: string; qual: string | null; check: string | null; roles: string[] };

/**
 * Every table the app role can read is either listed in `exemptions` or has row-level security
 * enabled and forced, with every permissive policy that applies to the app role comparing
 * current_tenant_id() or current_account_id() with something (in USING and in WITH CHECK).
 */
async function auditUnscopedReads(
  query: CatalogQuery,
  schema: string,
  appRole: string,
  tenantTables: ReadonlySet<string>,
  policies: readonly PolicyRow[],
  exemptions: readonly Exemption[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const exemptTables = new Set(exemptions.filter((e) => e.policy === undefined).map((e) => e.table));
  const exemptPolicies = new Set(exemptions.filter((e) => e.policy !== undefined).map((e) => `${e.table}.${e.policy}`));
  const readable = await query<{ table: string; enabled: boolean; forced: boolean }>(
    `SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND has_any_column_privilege($2, c.oid, 'SELECT')
      ORDER BY c.relname`,
    [schema, appRole],
  );
  const applying = new Set(
    (
      await query<{ table: string; name: string }>(
        `SELECT tablename AS table, policyname AS name FROM pg_policies
          WHERE schemaname = $1 AND ('public' = ANY (roles) OR EXISTS (SELECT 1 FROM unnest(roles) r WHERE r <> 'public' AND pg_has_role($2, r, 'MEMBER')))`,
        [schema, appRole],
      )
    ).map((p) => `${p.table}.${p.name}`),
  );
  for (const t of readable) {
    if (exemptTables.has(t.table)) continue;
    // A tenant table's RLS is reported above, as a tenant table.
    if (!tenantTables.has(t.table)) {
      const detail = 'the app role can read it, so it needs row-level security scoped to a tenant or an account (or a listed exemption)';
      if (!t.enabled) findings.push({ kind: 'rls_not_enabled', object: t.table, detail });
      if (!t.forced) findings.push({ kind: 'rls_not_forced', object: t.table, detail });
    }
    for (const p of policies) {
      if (p.table !== t.table || p.permissive !== 'PERMISSIVE' || !applying.has(`${p.table}.${p.name}`) || exemptPolicies.has(`${p.table}.${p.name}`)) continue;
      const using = p.cmd === 'INSERT' ? null : p.qual;
      const check = p.cmd === 'SELECT' || p.cmd === 'DELETE' ? null : (p.check ?? p.qual);
      if ([using, check].some((expr) => expr !== null && !SCOPED.test(expr))) {
        findings.push({
          kind: 'unscoped_policy',
          object: `${p.table}.${p.name}`,
          detail: `a ${p.cmd} policy for the app role that compares neither current_tenant_id() nor current_account_id() with anything`,
        });
      }
    }
  }
  return findings;
}

/**
 * SECURITY DEFINER functions are the definer role's narrow lookups: owned by it, with the search
 * path pinned to the schema (then pg_temp), executable by the app role alone, never returning a
 * set. The definer role logs in as nobody, bypasses nothing, creates nothing, owns no relation,
 * and the app role cannot become it.
 */
async function auditDefiners(query: CatalogQuery, schema: string, appRole: string | null, definerRole: string): Promise<Finding[]> {
  const findings: Finding[] = [];
  const definers = await query<{ name: string; owner: string; config: string[] | null; returns_set: boolean; public_execute: boolean; executors: string[] }>(
    `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS name, o.rolname AS owner, p.proconfig AS config,
            p.proretset AS returns_set,
            EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.privilege_type = 'EXECUTE' AND a.grantee = 0) AS public_execute,
            ARRAY(SELECT g.rolname::text FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a JOIN pg_roles g ON g.oid = a.grantee
                   WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner ORDER BY 1) AS executors
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles o ON o.oid = p.proowner
      WHERE n.nspname = $1 AND p.prosecdef
      ORDER BY 1`,
    [schema],
  );
  const pinned = `search_path=${schema}, pg_temp`;
  for (const f of definers) {
    if (f.owner !== definerRole) {
      findings.push({ kind: 'security_definer_function', object: f.name, detail: `runs with the rights of ${f.owner}, not of the definer role ${definerRole}` });
    }
    if (!(f.config ?? []).includes(pinned)) {
      findings.push({ kind: 'definer_search_path', object: f.name, detail: `its search_path must be pinned: SET search_path = ${schema}, pg_temp` });
    }
    if (f.public_execute || f.executors.length !== 1 || f.executors[0] !== appRole) {
      findings.push({ kind: 'definer_execute', object: f.name, detail: `must be executable by ${appRole ?? 'the app role'} alone (REVOKE ALL … FROM PUBLIC)` });
    }
    if (f.returns_set) findings.push({ kind: 'definer_returns_set', object: f.name, detail: 'returns a set a caller could enumerate; answer one row at most' });
  }

  const roles = await query<{ super: boolean; bypass: boolean; login: boolean; createrole: boolean; createdb: boolean; creates: boolean }>(
    `SELECT rolsuper AS super, rolbypassrls AS bypass, rolcanlogin AS login, rolcreaterole AS createrole, rolcreatedb AS createdb,
            EXISTS (SELECT 1 FROM pg_namespace n WHERE n.nspname = $2 AND has_schema_privilege(rolname, n.oid, 'CREATE')) AS creates
       FROM pg_roles WHERE rolname = $1`,
    [definerRole, schema],
  );
  const role = roles[0];
  if (!role) {
    findings.push({ kind: 'definer_role_missing', object: definerRole, detail: 'the definer role does not exist' });
    return findings;
  }
  if (role.super || role.bypass || role.login || role.createrole || role.createdb || role.creates) {
    findings.push({
      kind: 'definer_role_privileged',
      object: definerRole,
      detail: 'the definer role must be NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB, without CREATE on the schema',
    });
  }
  if (appRole !== null) {
    const [reach] = await query<{ reachable: boolean }>(`SELECT pg_has_role($1, $2, 'MEMBER') AS reachable`, [appRole, definerRole]);
    if (reach?.reachable) findings.push({ kind: 'definer_role_reachable', object: definerRole, detail: `${appRole} is a member of the definer role, so it could SET ROLE to it` });
  }
  const owned = await query<{ object: string }>(
    `SELECT 'relation ' || c.relname AS object FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner
      WHERE r.rolname = $1 AND n.nspname = $2
     UNION ALL SELECT 'schema ' || s.nspname FROM pg_namespace s JOIN pg_roles r ON r.oid = s.nspowner WHERE r.rolname = $1`,
    [definerRole, schema],
  );
  for (const o of owned) findings.push({ kind: 'definer_role_owns_objects', object: o.object, detail: 'the definer role owns its functions and nothing else' });
  return findings;
}
