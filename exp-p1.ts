import pg from 'pg';
import { PostgresDatabase } from './src/platform/db/postgres.js';
import { preamble } from './src/platform/db/base.js';
import { tenantContext } from './src/platform/db/types.js';
import { listRecords } from './src/modules/records/store.js';
const admin = 'postgres://postgres@127.0.0.1:5432/';
const DB = 'rampart_p1_scratch';
const a = new pg.Client(admin + 'postgres'); await a.connect();
const exists = (await a.query('select 1 from pg_database where datname=$1', [DB])).rowCount;
if (!exists) await a.query(`create database ${DB}`);
await a.end();
const url = admin + DB;
const owner = new PostgresDatabase({ url, poolSize: 1, statementTimeoutMs: 30000 }); await owner.migrate(); await owner.close();
const su = new pg.Pool({ connectionString: url, max: 8 });
const n = Number((await su.query('select count(*) from rampart.records')).rows[0].count);
const T = 200, R = 1000;
if (n === 0) {
  await su.query(`insert into rampart.workspaces (tenant_id, name, region) select ('00000000-0000-4000-8000-'||lpad(to_hex(t),12,'0'))::uuid, 'w'||t, 'local' from generate_series(1,${T}) t`);
  await su.query(`insert into rampart.collections (tenant_id, id, name) select tenant_id, tenant_id, 'tickets' from rampart.workspaces`);
  await su.query(`insert into rampart.records (tenant_id, id, collection_id, body, body_format) select w.tenant_id, ('00000000-0000-7000-8000-'||lpad(to_hex(w.n*100000+i),12,'0'))::uuid, w.tenant_id, convert_to('{"title":"record number '||i||' of tenant","n":'||i||',"status":"open","tags":["a","b"]}','UTF8'), 0 from (select tenant_id, row_number() over (order by tenant_id) n from rampart.workspaces) w, generate_series(1,${R}) i`);
  await su.query('analyze');
}
await su.query(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='rampart_x_app') THEN CREATE ROLE rampart_x_app LOGIN IN ROLE rampart_app; END IF; IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='rampart_x_bare') THEN CREATE ROLE rampart_x_bare LOGIN BYPASSRLS; END IF; END $$`);
await su.query('grant usage on schema rampart to rampart_x_bare; grant select on all tables in schema rampart to rampart_x_bare');
const tenants = (await su.query('select tenant_id from rampart.workspaces')).rows.map(r => r.tenant_id as string);
await su.end();
const C = 8, SECS = Number(process.env.SECS ?? 4);
const u = (user: string) => `postgres://${user}@127.0.0.1:5432/${DB}`;
const bare = new pg.Pool({ connectionString: u('rampart_x_bare'), max: C });
const db = new PostgresDatabase({ url: u('rampart_x_app'), poolSize: C, statementTimeoutMs: 30000 });
const naive = new pg.Pool({ connectionString: u('rampart_x_app'), max: C });
const pipe = new pg.Pool({ connectionString: u('rampart_x_app'), max: C, pipeline: true } as pg.PoolConfig);
const SQL = `SELECT r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at FROM rampart.records r WHERE r.tenant_id = $1 AND r.collection_id = $2 ORDER BY r.id LIMIT $3`;
const pick = () => tenants[Math.floor(Math.random() * tenants.length)]!;
const sides: Record<string, () => Promise<unknown>> = {
  bare: async () => { const t = pick(); return (await bare.query(SQL, [t, t, 51])).rows; },
  withTenant: async () => { const t = pick(); return db.withTenant(tenantContext(t, null), tx => listRecords(tx, { collectionId: t, afterId: null, tokens: [], limit: 51 }), { readOnly: true }); },
  pipeline: async () => { const t = pick(); const c = await pipe.connect(); try {
      const b = c.query('BEGIN READ ONLY'); const pre = preamble({ tenantId: t, accountId: '' }, 30000); const p = c.query(pre.text, [...pre.values]);
      const r = c.query('SELECT r.id, r.body, r.body_format, r.version, r.created_at, r.updated_at FROM records r WHERE r.tenant_id = current_tenant_id() AND r.collection_id = $1 ORDER BY r.id LIMIT $2', [t, 51]);
      const cm = c.query('COMMIT'); await b; await p; const res = await r; await cm; return res.rows; } finally { c.release(); } },
};
async function run(name: string, secs: number) {
  let count = 0; const end = Date.now() + secs * 1000;
  await Promise.all(Array.from({ length: C }, async () => { while (Date.now() < end) { const rows = await sides[name]!() as unknown[]; if ((rows as unknown[]).length !== 51) throw new Error('bad ' + name); count++; } }));
  return count / secs;
}
for (const s of Object.keys(sides)) await run(s, 1);
for (let round = 0; round < 2; round++) for (const s of Object.keys(sides)) console.log(s, Math.round(await run(s, SECS)));
await Promise.all([bare.end(), db.close(), naive.end(), pipe.end()]);
// micro: cost of preamble parse vs prepared
{
  const c = await (new pg.Pool({ connectionString: u('rampart_x_app'), max: 1 })).connect();
  const pre = preamble({ tenantId: tenants[0]!, accountId: '' }, 30000);
  const N = 3000;
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await c.query(pre.text, [...pre.values]);
  console.log('unnamed preamble us', ((performance.now() - t0) / N * 1000).toFixed(1));
  t0 = performance.now();
  for (let i = 0; i < N; i++) await c.query({ name: 'pre', text: pre.text, values: [...pre.values] });
  console.log('named preamble us', ((performance.now() - t0) / N * 1000).toFixed(1));
  t0 = performance.now();
  for (let i = 0; i < N; i++) await c.query('SELECT 1');
  console.log('select 1 us', ((performance.now() - t0) / N * 1000).toFixed(1));
  const t = tenants[0]!;
  t0 = performance.now();
  for (let i = 0; i < N/3; i++) await c.query(SQL.replace(/rampart\./g, 'rampart.'), [t, t, 51]).catch(() => {});
  console.log('query (app login, no rls ctx) us', ((performance.now() - t0) / (N/3) * 1000).toFixed(1));
  c.release();
}
