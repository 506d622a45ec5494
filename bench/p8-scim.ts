/**
 * P8 — a SCIM lookup as identity providers make it before every change:
 * `GET /scim/v2/{workspace}/Users?filter=userName eq "…"` in a workspace of 10,000 SCIM users,
 * through the whole HTTP app in process (`app.inject`: token authentication in the workspace's
 * tenant context, filter parsed and compiled to parameterised SQL, one read-only tenant
 * transaction, the SCIM resource built and serialised), against the bare SQL that reads the same
 * row (pg, prepared, as the schema owner, `WHERE tenant_id = $1 AND user_name_ci = lower($2)`).
 * p50 and p99 of each; the ratio is Rampart's p50 over bare's. The plan of the query the server
 * runs is printed and must be an index scan on scim_users_user_name_key, or the run is INVALID.
 *
 * Both sides look up random users of the 10,000, alternating in rounds (after a warmup each).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { compileFilter, listUsersSql, parseFilter, USER_FILTER } from '../src/modules/scim/index.js';
import { PostgresDatabase } from '../src/platform/db/postgres.js';
import { APP_ROLE, tenantContext } from '../src/platform/db/types.js';
import { newId } from '../src/platform/ids.js';
import { LocalObjectStore } from '../src/platform/storage/object-store.js';
import { measure, type Measure } from './report.js';
import { ensureLoginRole, median, percentile, pgUrl, progress, recreateDatabase, withClient, type BenchSettings } from './util.js';

export const P8_DATABASE = 'rampart_bench_scim';
const APP_LOGIN = 'rampart_bench_app';
const USERS = 10_000;
const DOMAIN = 'bench.test';
const WARMUP = 300;
const ROUNDS = 4;
const PER_ROUND = 1000;

export interface P8Side {
  readonly label: string;
  readonly how: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly roundsP50Ms: readonly number[];
  readonly requests: number;
}

export interface P8Result {
  readonly users: number;
  readonly rampart: P8Side;
  readonly bare: P8Side;
  readonly plan: readonly string[];
  readonly barePlan: readonly string[];
  readonly checks: readonly string[];
  readonly measures: readonly Measure[];
}

const userName = (i: number) => `user-${i}@${DOMAIN}`;

export async function runP8(settings: BenchSettings): Promise<P8Result> {
  await recreateDatabase(settings.adminUrl, P8_DATABASE);
  const ownerUrl = pgUrl(settings.adminUrl, { database: P8_DATABASE });
  const migrator = new PostgresDatabase({ url: ownerUrl, poolSize: 1, statementTimeoutMs: 60_000 });
  await migrator.migrate();
  await migrator.close();
  await withClient(ownerUrl, (c) => ensureLoginRole(c, APP_LOGIN, 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', APP_ROLE));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-scim-'));
  const db = new PostgresDatabase({ url: pgUrl(ownerUrl, { user: APP_LOGIN }), ownerUrl, poolSize: 4, statementTimeoutMs: 30_000 });
  const config = {
    ...loadConfig({ env: {} }),
    rootSecret: randomBytes(32).toString('base64url'),
    localRootKeys: `1:${randomBytes(32).toString('base64url')}`,
    dataDir: dir,
    logLevel: 'warn' as const,
  };
  const { app, services } = await buildApp({ config, db, objects: new LocalObjectStore(path.join(dir, 'objects')), webRoot: null });
  const bare = new pg.Pool({ connectionString: ownerUrl, max: 1 });
  try {
    // The workspace, its owner, its verified domain and a SCIM token, written as the app does.
    const ownerId = newId();
    const ws = newId();
    await withClient(ownerUrl, (c) => c.query(`INSERT INTO rampart.accounts (id, email, name) VALUES ($1, 'owner@${DOMAIN}', 'Owner')`, [ownerId]));
    await db.withTenant(tenantContext(ws, ownerId), async (tx) => {
      await tx.query(`INSERT INTO workspaces (tenant_id, name, region, created_by) VALUES (current_tenant_id(), 'Bench', 'local', $1)`, [ownerId]);
      await services.members.setUpWorkspaceIn(tx, ownerId);
      await tx.query(`INSERT INTO workspace_domains (tenant_id, id, domain, verification_token, verified_at) VALUES (current_tenant_id(), $1, $2, $3, now())`, [
        newId(),
        DOMAIN,
        'b'.repeat(40),
      ]);
    });
    const caller = { tenant: tenantContext(ws, ownerId), actor: { type: 'account' as const, id: ownerId }, scopes: new Set<never>(), meta: { ip: null, userAgent: null, requestId: null } };
    const { token } = await services.scim.createToken(caller, { name: 'bench' });

    // 10,000 SCIM users with their accounts, set-based (the server's own writes are in the tests).
    progress(`P8: loading ${USERS.toLocaleString('en-US')} SCIM users`);
    await withClient(ownerUrl, async (c) => {
      await c.query(
        `WITH a AS (
           INSERT INTO rampart.accounts (id, email, name)
           SELECT gen_random_uuid(), 'user-' || i || '@${DOMAIN}', 'User ' || i FROM generate_series(1, ${USERS}) i RETURNING id, email, name)
         INSERT INTO rampart.scim_users (tenant_id, id, account_id, user_name, external_id, display_name, emails)
         SELECT $1, gen_random_uuid(), a.id, a.email, 'ext-' || a.email, a.name, jsonb_build_array(jsonb_build_object('value', a.email, 'type', 'work', 'primary', true)) FROM a`,
        [ws],
      );
      await c.query('ANALYZE rampart.scim_users, rampart.accounts, rampart.scim_group_members');
    });

    const checks: string[] = [];
    const invalid: string[] = [];
    const probe = userName(4242);

    // The plan of the statement the server runs for this filter, in a tenant transaction as the app role.
    const compiled = compileFilter(parseFilter(`userName eq "${probe}"`), USER_FILTER, 1);
    const { sql, params } = listUsersSql(compiled);
    const plan = await db.withTenant(
      tenantContext(ws, null),
      async (tx) => (await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, [...params, 100, 0])).rows.map((r) => r['QUERY PLAN']),
      { readOnly: true },
    );
    const BARE_SQL = `SELECT id, external_id, user_name, account_id, active, display_name, given_name, family_name, formatted_name, emails, enterprise, version, created_at, updated_at
                        FROM rampart.scim_users WHERE tenant_id = $1 AND user_name_ci = lower($2::text)`;
    const barePlan = (await bare.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${BARE_SQL}`, [ws, probe])).rows.map((r) => r['QUERY PLAN']);
    if (plan.some((l) => /Index (Only )?Scan using scim_users_user_name_key/.test(l))) checks.push('the server\'s plan is an index scan on scim_users_user_name_key');
    else invalid.push('the server\'s plan does not use scim_users_user_name_key');
    if (plan.some((l) => /Seq Scan on scim_users/.test(l))) invalid.push('the server\'s plan scans scim_users sequentially');

    const headers = { authorization: `Bearer ${token}` };
    const rampartOnce = async (i: number): Promise<number> => {
      const name = userName(i);
      const start = performance.now();
      const res = await app.inject({ method: 'GET', url: `/scim/v2/${ws}/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`, headers });
      const ms = performance.now() - start;
      if (res.statusCode !== 200) throw new Error(`SCIM lookup answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      const body = JSON.parse(res.body) as { totalResults: number; Resources: Array<{ userName: string }> };
      if (body.totalResults !== 1 || body.Resources[0]?.userName !== name) throw new Error(`SCIM lookup of ${name} found ${res.body.slice(0, 200)}`);
      return ms;
    };
    const bareOnce = async (i: number): Promise<number> => {
      const name = userName(i);
      const start = performance.now();
      const { rows } = await bare.query<{ user_name: string }>({ name: 'p8-bare', text: BARE_SQL, values: [ws, name] });
      const ms = performance.now() - start;
      if (rows.length !== 1 || rows[0]?.user_name !== name) throw new Error(`bare lookup of ${name} found ${rows.length} rows`);
      return ms;
    };
    const pick = () => 1 + Math.floor(Math.random() * USERS);
    const loop = async (once: (i: number) => Promise<number>, n: number) => {
      const out: number[] = [];
      for (let k = 0; k < n; k++) out.push(await once(pick()));
      return out;
    };

    progress('P8: warming up');
    await loop(rampartOnce, WARMUP);
    await loop(bareOnce, WARMUP);
    const samples = { rampart: [] as number[], bare: [] as number[] };
    const rounds = { rampart: [] as number[], bare: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      progress(`P8: round ${r + 1} of ${ROUNDS}`);
      const order = r % 2 === 0 ? (['rampart', 'bare'] as const) : (['bare', 'rampart'] as const);
      for (const side of order) {
        const got = await loop(side === 'rampart' ? rampartOnce : bareOnce, PER_ROUND);
        samples[side].push(...got);
        rounds[side].push(median(got));
      }
    }
    checks.push(`every answer checked: ${ROUNDS * PER_ROUND} SCIM answers with totalResults 1 and the userName asked for; as many bare rows`);
    const sideOf = (key: 'rampart' | 'bare', label: string, how: string): P8Side => {
      const sorted = Float64Array.from(samples[key]).sort();
      return { label, how, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), roundsP50Ms: rounds[key], requests: sorted.length };
    };
    const rampart = sideOf(
      'rampart',
      'Rampart SCIM (inject)',
      'app.inject GET /scim/v2/{ws}/Users?filter=userName eq "…": token lookup (one autocommit statement), filter → SQL, read-only withTenant, resource JSON',
    );
    const bareSide = sideOf('bare', 'bare SQL', 'pg.Pool (1 connection) as the schema owner (no RLS), prepared: the same row by tenant_id and user_name_ci');

    const measures = [
      measure(
        {
          id: 'p8.scim_lookup_vs_bare',
          title: 'P8 SCIM userName eq lookup, 10k users: p50 vs bare SQL',
          figure: { label: rampart.label, value: rampart.p50Ms, unit: 'ms' },
          reference: { label: bareSide.label, value: bareSide.p50Ms, unit: 'ms' },
          goal: { op: '<=', value: 10, unit: 'x', source: 'harness default: a whole authenticated HTTP request within 10× of one bare indexed SELECT' },
        },
        invalid,
        `p99 ${rampart.p99Ms.toFixed(2)} ms vs ${bareSide.p99Ms.toFixed(2)} ms`,
      ),
    ];
    return { users: USERS, rampart, bare: bareSide, plan, barePlan, checks, measures };
  } finally {
    await bare.end();
    await app.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
