/**
 * P1 — the price of row-level security on the hot path.
 *
 * Lists one page (50 records) of one random tenant out of 1,000,000 rows over 1,000 tenants, from
 * 8 concurrent loops, three ways:
 *   bare        pg.Pool as a BYPASSRLS role, the same SQL with an explicit `r.tenant_id = $1`;
 *   withTenant  Rampart's PostgresDatabase.withTenant (read-only) calling the store's listRecords;
 *   peer        the pattern RLS guides show: BEGIN; SET LOCAL ROLE; set_config(tenant); query;
 *               COMMIT — five round trips on a pg.Pool.
 * Sides alternate in rounds (rotating who goes first); each side's figure is its median round.
 */
import pg from 'pg';
import { listRecords } from '../src/modules/records/store.js';
import { PostgresDatabase, pgTypes } from '../src/platform/db/postgres.js';
import { APP_ROLE, MigrationError, tenantContext, type QueryResult, type Row, type Tx } from '../src/platform/db/types.js';
import { measure, type Measure } from './report.js';
import {
  BARE_ROLE,
  ensureBareRole,
  ensureDatabase,
  ensureLoginRole,
  median,
  percentile,
  pgUrl,
  postgresCpuBetween,
  postgresCpuSnapshot,
  progress,
  recreateDatabase,
  roleFlags,
  rotate,
  timing,
  withClient,
  type BenchSettings,
} from './util.js';

export const P1_DATABASE = 'rampart_bench';
/** A login that is not superuser, cannot bypass RLS, and may become the app role. */
export const APP_LOGIN = 'rampart_bench_app';
export const TENANTS = 1_000;
export const RECORDS_PER_TENANT = 1_000;
export const PAGE = 50;
export const CONCURRENCY = 8;
const DEFAULTS = { seconds: 5, warmupSeconds: 2, rounds: 3 };
const STATEMENT_TIMEOUT_MS = 30_000;

const COLUMNS = 'r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at';
/** The store's listRecords, with the tenant explicit instead of current_tenant_id(). */
const BARE_SQL = `SELECT ${COLUMNS} FROM rampart.records r WHERE r.tenant_id = $1 AND r.collection_id = $2 ORDER BY r.id LIMIT $3`;
/** What the peer runs after setting the role and the tenant itself. */
const PEER_SQL = `SELECT ${COLUMNS} FROM rampart.records r WHERE r.tenant_id = rampart.current_tenant_id() AND r.collection_id = $1 ORDER BY r.id LIMIT $2`;
/** The preamble for EXPLAIN on the RLS side, as the brief gives it. */
const EXPLAIN_PREAMBLE = `SELECT set_config('role', '${APP_ROLE}', true), set_config('search_path', 'rampart', true), set_config('rampart.tenant_id', $1, true)`;

interface Tenant {
  readonly tenantId: string;
  readonly collectionId: string;
}

type IdRow = { id: string };

interface Side {
  readonly key: 'bare' | 'bare-prepared' | 'rls' | 'peer';
  readonly label: string;
  readonly how: string;
  list(t: Tenant): Promise<readonly IdRow[]>;
}

export interface P1Side {
  readonly key: Side['key'];
  readonly label: string;
  readonly how: string;
  /** Median of the measured rounds. */
  readonly qps: number;
  readonly roundsQps: readonly number[];
  readonly queries: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU per query over the measured rounds: this client process, and PostgreSQL (all its processes). */
  readonly clientCpuUsPerQuery: number;
  readonly pgCpuUsPerQuery: number;
}

export interface Plan {
  readonly side: 'bare' | 'rls';
  readonly role: string;
  readonly sql: string;
  readonly plan: string;
}

export interface P1Result {
  readonly dataset: { readonly tenants: number; readonly records: number; readonly page: number; readonly loadedThisRun: boolean; readonly loadSeconds: number | null };
  readonly timing: { readonly seconds: number; readonly warmupSeconds: number; readonly rounds: number; readonly concurrency: number };
  readonly checks: readonly string[];
  readonly sides: readonly P1Side[];
  readonly plans: readonly Plan[];
  readonly planNotes: readonly string[];
  readonly measures: readonly Measure[];
}

// ---------------------------------------------------------------------------------------------
// Data

// Deterministic ids. Tenants and collections differ in one group; record ids are UUIDv7-shaped,
// a millisecond timestamp (one record a minute) first, so they sort in creation order within a
// tenant, and carry the tenant and the record number so they are unique.
const TENANT_ID = (t: string) => `('018f0000-0000-7000-8000-' || lpad(to_hex(${t}), 12, '0'))::uuid`;
const COLLECTION_ID = (t: string) => `('018f0000-0001-7000-8000-' || lpad(to_hex(${t}), 12, '0'))::uuid`;
const RECORD_MS = (i: string) => `(1700000000000::bigint + ${i}::bigint * 60000)`;

async function migrate(url: string): Promise<void> {
  const db = new PostgresDatabase({ url, poolSize: 1, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  try {
    await db.migrate();
  } finally {
    await db.close();
  }
}

/**
 * Creates, migrates and loads the database once; later runs find it loaded and skip. Loading is
 * set-based, as superuser, in one transaction. Rows are written tenant by tenant, so a page of 50
 * touches few heap pages: the cheap query, where a per-transaction cost weighs most.
 */
async function prepareDatabase(adminUrl: string, dbUrl: string): Promise<{ loaded: boolean; seconds: number | null }> {
  if (await ensureDatabase(adminUrl, P1_DATABASE)) progress(`created database ${P1_DATABASE}`);
  try {
    await migrate(dbUrl);
  } catch (err) {
    if (!(err instanceof MigrationError)) throw err;
    // The migrations changed since this scratch database was made: start it over.
    progress(`${err.message}; recreating ${P1_DATABASE}`);
    await recreateDatabase(adminUrl, P1_DATABASE);
    await migrate(dbUrl);
  }

  return withClient(dbUrl, async (c) => {
    await ensureBareRole(c);
    await ensureLoginRole(c, APP_LOGIN, 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', APP_ROLE);

    const { rows } = await c.query<{ workspaces: number; collections: number; records: number }>(
      `SELECT (SELECT count(*) FROM rampart.workspaces)::int AS workspaces,
              (SELECT count(*) FROM rampart.collections)::int AS collections,
              (SELECT count(*) FROM rampart.records)::int AS records`,
    );
    const counts = rows[0]!;
    if (counts.workspaces === TENANTS && counts.collections === TENANTS && counts.records === TENANTS * RECORDS_PER_TENANT) {
      progress(`dataset already loaded (${counts.records.toLocaleString('en-US')} records)`);
      return { loaded: false, seconds: null };
    }

    progress(`loading ${TENANTS} tenants × ${RECORDS_PER_TENANT} records (once) …`);
    const started = performance.now();
    await c.query('BEGIN');
    try {
      await c.query("SET LOCAL synchronous_commit = off; SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL work_mem = '256MB'");
      await c.query('TRUNCATE rampart.workspaces CASCADE');
      await c.query(
        `INSERT INTO rampart.workspaces (tenant_id, name, region)
         SELECT ${TENANT_ID('t')}, 'bench tenant ' || t, 'local' FROM generate_series(1, $1::int) t`,
        [TENANTS],
      );
      await c.query(
        `INSERT INTO rampart.collections (tenant_id, id, name)
         SELECT ${TENANT_ID('t')}, ${COLLECTION_ID('t')}, 'tickets' FROM generate_series(1, $1::int) t`,
        [TENANTS],
      );
      await c.query(
        `INSERT INTO rampart.records (tenant_id, id, collection_id, body, body_format, created_at, updated_at)
         SELECT ${TENANT_ID('t')},
                (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-7' || lpad(to_hex(t), 3, '0') || '-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
                ${COLLECTION_ID('t')},
                convert_to(format('{"title":"Ticket %s of tenant %s","n":%s,"status":"open","priority":"normal","tags":["bench","p1"]}', i, t, i), 'UTF8'),
                0,
                to_timestamp(ms / 1000.0),
                to_timestamp(ms / 1000.0)
           FROM generate_series(1, $1::int) t,
                generate_series(1, $2::int) i,
                LATERAL (SELECT ${RECORD_MS('i')} AS ms) m,
                LATERAL (SELECT lpad(to_hex(m.ms), 12, '0') AS h) x
          ORDER BY t, i`,
        [TENANTS, RECORDS_PER_TENANT],
      );
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
    // Sets hint bits and the visibility map and gathers statistics, as a settled table would have.
    await c.query('VACUUM (ANALYZE) rampart.workspaces, rampart.collections, rampart.records');
    const seconds = (performance.now() - started) / 1000;
    progress(`loaded in ${seconds.toFixed(1)} s`);
    return { loaded: true, seconds };
  });
}

async function loadTenants(dbUrl: string): Promise<Tenant[]> {
  return withClient(dbUrl, async (c) => {
    const { rows } = await c.query<{ tenant_id: string; id: string }>('SELECT tenant_id, id FROM rampart.collections ORDER BY tenant_id');
    return rows.map((r) => ({ tenantId: r.tenant_id, collectionId: r.id }));
  });
}

// ---------------------------------------------------------------------------------------------
// The three sides

/** The guide pattern, one statement per round trip. Used for the peer side and its checks. */
async function peerTransaction<R extends Row>(pool: pg.Pool, tenantId: string, sql: string, params: readonly unknown[]): Promise<R[]> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
    await client.query(`SELECT set_config('rampart.tenant_id', $1, true)`, [tenantId]);
    const { rows } = await client.query<R>(sql, params as unknown[]);
    await client.query('COMMIT');
    return rows;
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A connection left inside a failed transaction is dropped, not reused.
    client.release(failure);
  }
}

function makeSides(bare: pg.Pool, db: PostgresDatabase, peer: pg.Pool): Side[] {
  return [
    {
      key: 'bare',
      label: 'bare',
      how: `pg.Pool as ${BARE_ROLE} (BYPASSRLS), explicit tenant_id = $1, no transaction`,
      list: async (t) => (await bare.query<IdRow>(BARE_SQL, [t.tenantId, t.collectionId, PAGE])).rows,
    },
    {
      // withTenant prepares its statements (plans are cached per connection); this bare side
      // does the same, so the comparison isolates what row-level security itself costs.
      key: 'bare-prepared',
      label: 'bare, prepared',
      how: `as bare, but as a named prepared statement (plan cached per connection, as withTenant does)`,
      list: async (t) => (await bare.query<IdRow>({ name: 'bench_bare_list', text: BARE_SQL, values: [t.tenantId, t.collectionId, PAGE] })).rows,
    },
    {
      key: 'rls',
      label: 'withTenant',
      how: `PostgresDatabase.withTenant(readOnly) as ${APP_LOGIN} → ${APP_ROLE}, store.listRecords`,
      list: (t) =>
        db.withTenant(
          tenantContext(t.tenantId, null),
          (tx) => listRecords(tx, { collectionId: t.collectionId, afterId: null, tokens: [], limit: PAGE }),
          { readOnly: true },
        ),
    },
    {
      key: 'peer',
      label: 'peer (SET LOCAL)',
      how: `pg.Pool as ${APP_LOGIN}: BEGIN; SET LOCAL ROLE; set_config(tenant); query; COMMIT (5 round trips)`,
      list: (t) => peerTransaction<IdRow>(peer, t.tenantId, PEER_SQL, [t.collectionId, PAGE]),
    },
  ];
}

interface Drive {
  readonly qps: number;
  readonly queries: number;
  /** CPU seconds of this (client) process and of PostgreSQL over the run. */
  readonly clientCpu: number;
  readonly pgCpu: number;
}

/** Runs one side from `concurrency` loops for `seconds`, each query for a random tenant. */
async function drive(side: Side, tenants: readonly Tenant[], seconds: number, concurrency: number, latencies: number[] | null): Promise<Drive> {
  let queries = 0;
  const pgBefore = postgresCpuSnapshot();
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t = tenants[Math.floor(Math.random() * tenants.length)]!;
      const t0 = performance.now();
      const rows = await side.list(t);
      const ms = performance.now() - t0;
      if (rows.length !== PAGE) throw new Error(`${side.label} returned ${rows.length} rows for tenant ${t.tenantId}, expected ${PAGE}`);
      latencies?.push(ms);
      queries++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return { qps: queries / elapsed, queries, clientCpu: (cpu.user + cpu.system) / 1e6, pgCpu: postgresCpuBetween(pgBefore, postgresCpuSnapshot()) };
}

// ---------------------------------------------------------------------------------------------
// Checks: the sides do the same work, and each runs with the privileges it claims.

async function check(dbUrl: string, sides: readonly Side[], db: PostgresDatabase, peer: pg.Pool, tenants: readonly Tenant[]): Promise<string[]> {
  const done: string[] = [];
  await withClient(dbUrl, async (c) => {
    const bare = await roleFlags(c, BARE_ROLE);
    if (!bare.bypassRls || bare.superuser) throw new Error(`${BARE_ROLE} must be BYPASSRLS and not superuser`);
    for (const role of [APP_LOGIN, APP_ROLE]) {
      const f = await roleFlags(c, role);
      if (f.bypassRls || f.superuser) throw new Error(`${role} must be neither superuser nor BYPASSRLS`);
    }
  });
  done.push(`${BARE_ROLE} is BYPASSRLS, not superuser; ${APP_LOGIN} and ${APP_ROLE} are neither`);

  const sample = [tenants[0]!, tenants[Math.floor(tenants.length / 2)]!, tenants.at(-1)!];
  for (const t of sample) {
    const [reference, ...others] = await Promise.all(sides.map((s) => s.list(t)));
    const ids = reference!.map((r) => r.id).join();
    if (reference!.length !== PAGE) throw new Error(`bare returned ${reference!.length} rows, expected ${PAGE}`);
    others.forEach((rows, i) => {
      if (rows.map((r) => r.id).join() !== ids) throw new Error(`${sides[i + 1]!.label} returned other rows than bare for tenant ${t.tenantId}`);
    });
  }
  done.push(`all sides return the same ${PAGE} ids, in order, for ${sample.length} sample tenants`);

  // Without any WHERE clause, the policy alone must confine both RLS sides to one tenant.
  const t = sample[1]!;
  const countSql = 'SELECT current_user::text AS who, count(*)::int AS n FROM rampart.records';
  const viaDb = await db.withTenant(tenantContext(t.tenantId, null), (tx) => tx.query<{ who: string; n: number }>(countSql), { readOnly: true });
  const viaPeer = await peerTransaction<{ who: string; n: number }>(peer, t.tenantId, countSql, []);
  for (const [label, row] of [['withTenant', viaDb.rows[0]], ['peer', viaPeer[0]]] as const) {
    if (row?.who !== APP_ROLE || row.n !== RECORDS_PER_TENANT) {
      throw new Error(`${label}: expected ${APP_ROLE} to see ${RECORDS_PER_TENANT} records of one tenant, got ${JSON.stringify(row)}`);
    }
  }
  done.push(`RLS binds: an unfiltered count(*) as ${APP_ROLE} sees only the tenant's ${RECORDS_PER_TENANT} rows (withTenant and peer)`);
  return done;
}

// ---------------------------------------------------------------------------------------------
// Plans

async function explainBare(bareUrl: string, t: Tenant): Promise<Plan> {
  return withClient(bareUrl, async (c) => {
    const run = () => c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${BARE_SQL}`, [t.tenantId, t.collectionId, PAGE]);
    await run(); // the second run is the warm one
    const { rows } = await run();
    return { side: 'bare', role: BARE_ROLE, sql: BARE_SQL, plan: rows.map((r) => r['QUERY PLAN']).join('\n') };
  });
}

/** EXPLAINs the statement the store's listRecords sends, by handing it a Tx that explains. */
async function explainRls(appUrl: string, t: Tenant): Promise<Plan> {
  return withClient(appUrl, async (c) => {
    let sql = '';
    let plan = '';
    const explaining: Tx = {
      query: async <R extends Row>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
        sql = text;
        const { rows } = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, params as unknown[] | undefined);
        plan = rows.map((r) => r['QUERY PLAN']).join('\n');
        return { rows: [], rowCount: 0 };
      },
      afterCommit: () => undefined,
      bindAccount: () => Promise.reject(new Error('listRecords acts for no account')),
    };
    for (let i = 0; i < 2; i++) {
      await c.query('BEGIN');
      try {
        await c.query(EXPLAIN_PREAMBLE, [t.tenantId]);
        await listRecords(explaining, { collectionId: t.collectionId, afterId: null, tokens: [], limit: PAGE });
      } finally {
        await c.query('ROLLBACK');
      }
    }
    return { side: 'rls', role: `${APP_LOGIN} → ${APP_ROLE}`, sql, plan };
  });
}

function planNotes(plans: readonly Plan[]): string[] {
  const notes: string[] = [];
  for (const p of plans) {
    const scans = [...p.plan.matchAll(/(Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan)(?: Backward)?(?: using (\S+))?/g)].map((m) =>
      m[2] ? `${m[1]} using ${m[2]}` : m[1],
    );
    const sort = /\bSort\b/.test(p.plan) ? ', with a Sort' : ', no Sort';
    const time = /Execution Time: ([\d.]+) ms/.exec(p.plan)?.[1];
    notes.push(`${p.side === 'rls' ? 'withTenant' : 'bare'}: ${scans.join(', ') || 'no scan found'}${sort}; execution ${time ?? '?'} ms`);
  }
  return notes;
}

// ---------------------------------------------------------------------------------------------

export async function runP1(settings: BenchSettings): Promise<P1Result> {
  const t = timing(settings, DEFAULTS);
  const dbUrl = pgUrl(settings.adminUrl, { database: P1_DATABASE });
  const bareUrl = pgUrl(dbUrl, { user: BARE_ROLE });
  const appUrl = pgUrl(dbUrl, { user: APP_LOGIN });

  const load = await prepareDatabase(settings.adminUrl, dbUrl);
  const tenants = await loadTenants(dbUrl);
  if (tenants.length !== TENANTS) throw new Error(`expected ${TENANTS} tenants, found ${tenants.length}`);

  // Pool settings as PostgresDatabase has them, so every side keeps (or drops) idle connections alike.
  const poolOptions = { max: CONCURRENCY, types: pgTypes, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 };
  const barePool = new pg.Pool({ ...poolOptions, connectionString: bareUrl, application_name: 'bench-bare' });
  const db = new PostgresDatabase({ url: appUrl, poolSize: CONCURRENCY, statementTimeoutMs: STATEMENT_TIMEOUT_MS, applicationName: 'bench-rls' });
  const peerPool = new pg.Pool({ ...poolOptions, connectionString: appUrl, application_name: 'bench-peer' });
  for (const pool of [barePool, peerPool]) pool.on('error', (err) => progress(`P1 idle connection failed: ${err.message}`));
  try {
    const sides = makeSides(barePool, db, peerPool);
    const checks = await check(dbUrl, sides, db, peerPool, tenants);
    for (const c of checks) progress(`P1 check: ${c}`);

    for (const side of sides) {
      progress(`P1 warmup ${side.label} ${t.warmupSeconds} s`);
      await drive(side, tenants, t.warmupSeconds, CONCURRENCY, null);
    }
    const drives = new Map<Side['key'], Drive[]>(sides.map((s) => [s.key, []]));
    const latencies = new Map<Side['key'], number[]>(sides.map((s) => [s.key, []]));
    for (let r = 0; r < t.rounds; r++) {
      for (const side of rotate(sides, r)) {
        const d = await drive(side, tenants, t.seconds, CONCURRENCY, latencies.get(side.key)!);
        drives.get(side.key)!.push(d);
        progress(`P1 round ${r + 1}/${t.rounds} ${side.label}: ${d.qps.toFixed(0)} qps`);
      }
    }

    const results: P1Side[] = sides.map((s) => {
      const runs = drives.get(s.key)!;
      const sorted = Float64Array.from(latencies.get(s.key)!).sort();
      const total = (f: (d: Drive) => number) => runs.reduce((acc, d) => acc + f(d), 0);
      const queries = total((d) => d.queries);
      return {
        key: s.key,
        label: s.label,
        how: s.how,
        qps: median(runs.map((d) => d.qps)),
        roundsQps: runs.map((d) => d.qps),
        queries,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        clientCpuUsPerQuery: (total((d) => d.clientCpu) / queries) * 1e6,
        pgCpuUsPerQuery: (total((d) => d.pgCpu) / queries) * 1e6,
      };
    });

    progress('P1 EXPLAIN (ANALYZE, BUFFERS)');
    const sample = tenants[Math.floor(tenants.length / 2)]!;
    const plans = [await explainBare(bareUrl, sample), await explainRls(appUrl, sample)];

    const side = (key: Side['key']) => results.find((s) => s.key === key)!;
    const qpsFigure = (s: P1Side) => ({ label: s.label, value: s.qps, unit: 'qps' });
    const comparisons = [
      { id: 'p1.withTenant_vs_bare', against: 'bare', goal: 0.95, source: 'project brief' },
      { id: 'p1.withTenant_vs_bare_prepared', against: 'bare-prepared', goal: 0.95, source: 'project brief, with plan caching on both sides' },
      { id: 'p1.withTenant_vs_peer', against: 'peer', goal: 1.0, source: 'harness default: no slower than the common pattern' },
    ] as const;
    const measures = comparisons.map((c) =>
      measure({
        id: c.id,
        title: `P1 list 50 of 1M rows: withTenant vs ${side(c.against).label}`,
        figure: qpsFigure(side('rls')),
        reference: qpsFigure(side(c.against)),
        goal: { op: '>=', value: c.goal, unit: 'x', source: c.source },
      }),
    );
    return {
      dataset: { tenants: TENANTS, records: TENANTS * RECORDS_PER_TENANT, page: PAGE, loadedThisRun: load.loaded, loadSeconds: load.seconds },
      timing: { ...t, concurrency: CONCURRENCY },
      checks,
      sides: results,
      plans,
      planNotes: planNotes(plans),
      measures,
    };
  } finally {
    await Promise.all([barePool.end(), db.close(), peerPool.end()]);
  }
}
