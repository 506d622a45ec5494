/**
 * P4 — audit appends per second with 8 concurrent writers on one tenant, as a ratio to raw
 * INSERTs of the same rows, with 0 forks.
 *
 * Rampart: one workspace (its row and its audit head, as insertWorkspace writes them), an
 * AuditLog over a PostgresDatabase whose login is a non-superuser member of rampart_app (pool of
 * WRITERS + 1 connections), its background sequencer started (`audit.start()`; appends nudge it
 * too). 8 concurrent loops each append EVENTS_PER_WRITER events through
 * `WorkspaceEvents.record(tenantContext(tenant, null), actor, event, meta)` — each append its own
 * tenant transaction, as the app records a refusal — with an account actor, `record.updated`, a
 * target, ip, user agent, request id and small details. The timed span ends when every appended
 * event is chained (`await audit.sequence(tenant)` after the writers finish). Reported: appends/s
 * end to end, the writers' own rate (appends committed/s while they ran), the sequencer's tail
 * (chaining what was still queued when the writers stopped) and its busy share (wall time of its
 * transactions, timed through a wrapper around the AuditLog's database, over the span).
 *
 * Bare: the same rows — the same columns and the same body text, built by the same functions
 * (bodyTail/bodyOf) — INSERTed by 8 concurrent loops on a pg.Pool of 8 superuser connections into
 * a plain table with audit_queue's columns and primary key and nothing else (no RLS, no
 * triggers, no CHECKs, no second index), one autocommit INSERT each. A second bare side, for
 * context, runs each INSERT inside BEGIN … COMMIT with the same round trips as a Rampart append
 * (BEGIN and the INSERT pipelined in one, COMMIT in the next). And a second Rampart side, for
 * context, on the server: the same appends with the sequencer paused while the writers run, then
 * one `audit.sequence` — the writers' cost alone, then the sequencer's alone.
 *
 * Sides alternate for ROUNDS rounds each (who goes first rotates), after one warmup round each
 * of a quarter of the events, with VACUUM (ANALYZE) of every table either side writes before
 * every round (untimed); each side's figure is its median round. After the Rampart rounds,
 * 0 forks is checked — `audit.verify` ok, seq gap-free 1..N with N = every event appended, no two
 * events with the same prev_hash (or hash), the head at N, nothing left in the queue — and the
 * part fails otherwise. The same is run on PGlite (in process, one connection: writers
 * serialise), against a bare PGlite side, as an extra line with no goal.
 *
 * Env: BENCH_P4_EVENTS  events per writer per round (default 2000; fewer marks the measure INVALID)
 *      BENCH_ROUNDS     rounds per side (default 3 on the server, 2 on PGlite)
 */
import pg from 'pg';
import { actorRef } from '../src/modules/events/actors.js';
import { WorkspaceEvents, type WorkspaceEvent } from '../src/modules/events/workspace.js';
import { bodyOf, bodyTail, type AuditEntry } from '../src/platform/audit/entry.js';
import { AuditLog } from '../src/platform/audit/log.js';
import { microTime } from '../src/platform/audit/record.js';
import { runBatch } from '../src/platform/db/pg-batch.js';
import { PgliteDatabase } from '../src/platform/db/pglite.js';
import { PostgresDatabase, pgTypes } from '../src/platform/db/postgres.js';
import { APP_ROLE, tenantContext, type Database } from '../src/platform/db/types.js';
import type { Actor, RequestMeta } from '../src/platform/http/context.js';
import { newId } from '../src/platform/ids.js';
import { APP_LOGIN } from './p1-tenant-query.js';
import { measure, type Measure } from './report.js';
import {
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
  TimedDatabase,
  withClient,
  type BenchSettings,
} from './util.js';

export const P4_DATABASE = 'rampart_bench_p4';
const WRITERS = 8;
const DEFAULT_EVENTS_PER_WRITER = 2_000;
const DEFAULT_ROUNDS = { postgres: 3, pglite: 2 } as const;
const GOAL_VS_RAW = 0.8;
const STATEMENT_TIMEOUT_MS = 120_000;
const BARE_TABLE = 'public.p4_bare_events';

type Engine = 'postgres' | 'pglite';
type SideKey = 'rampart' | 'rampart-deferred' | 'bare' | 'bare-tx';

// ---------------------------------------------------------------------------------------------
// The events

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

interface Append {
  readonly actor: Actor;
  readonly event: WorkspaceEvent;
  readonly meta: RequestMeta;
}

/** What writer w appends as its i-th event: an account updating a record over HTTP. */
function appendOf(accounts: readonly string[], w: number, i: number): Append {
  return {
    actor: { type: 'account', id: accounts[w]! },
    event: {
      action: 'record.updated',
      outcome: 'success',
      target: { type: 'record', id: newId() },
      details: { collection: 'tickets', fields: ['status', 'assignee'], version: i + 2 },
    },
    meta: { ip: `203.0.113.${10 + w}`, userAgent: USER_AGENT, requestId: `req-${w.toString(36)}${i.toString(36)}` },
  };
}

/** The entry WorkspaceEvents.recordIn hands to the audit log for the same append. */
function entryOf(a: Append): AuditEntry {
  return { action: a.event.action, outcome: a.event.outcome, actor: actorRef(a.actor), target: a.event.target ?? null, details: a.event.details };
}

/** The row Rampart's append writes (audit_queue's columns but queued_at), built the same way. */
function bareRow(tenant: string, a: Append): unknown[] {
  const id = newId();
  const time = microTime();
  const entry = entryOf(a);
  return [tenant, id, time, entry.actor.type, entry.actor.id, entry.action, entry.outcome, bodyOf(tenant, bodyTail(id, time, entry, a.meta))];
}

const BARE_INSERT = `INSERT INTO ${BARE_TABLE} (tenant_id, id, occurred_at, actor_type, actor_id, action, outcome, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`;

// ---------------------------------------------------------------------------------------------
// The sequencer's clock: the AuditLog gets the database through this, the writers do not.

class SequencerClock extends TimedDatabase {
  busyMs = 0;
  transactions = 0;
  protected override timed(ms: number): void {
    this.busyMs += ms;
    this.transactions += 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Engines

/** Superuser SQL, for setup, the bare side of PGlite and the checks. */
type Sql = <R>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

interface EngineSetup {
  readonly engine: Engine;
  readonly label: string;
  readonly db: Database;
  readonly sql: Sql;
  readonly sides: Record<'bare', BareSide> & Partial<Record<'bare-tx', BareSide>>;
  /** PostgreSQL CPU snapshot; empty for PGlite (in this process). */
  readonly pgCpu: () => Map<number, number>;
  close(): Promise<void>;
}

interface BareSide {
  readonly label: string;
  readonly how: string;
  insert(row: unknown[]): Promise<void>;
}

async function serverEngine(settings: BenchSettings): Promise<EngineSetup> {
  await recreateDatabase(settings.adminUrl, P4_DATABASE);
  const dbUrl = pgUrl(settings.adminUrl, { database: P4_DATABASE });
  const appUrl = pgUrl(dbUrl, { user: APP_LOGIN });
  const owner = new PostgresDatabase({ url: dbUrl, poolSize: 1, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
  try {
    await owner.migrate();
  } finally {
    await owner.close();
  }
  await withClient(dbUrl, async (c) => {
    await ensureLoginRole(c, APP_LOGIN, 'NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE', APP_ROLE);
    for (const role of [APP_LOGIN, APP_ROLE]) {
      const f = await roleFlags(c, role);
      if (f.bypassRls || f.superuser) throw new Error(`${role} must be neither superuser nor BYPASSRLS`);
    }
  });
  const admin = new pg.Client({ connectionString: dbUrl, types: pgTypes, application_name: 'bench-p4-admin' });
  await admin.connect();
  const sql: Sql = async <R>(text: string, params?: readonly unknown[]) => (await admin.query(text, params as unknown[] | undefined)).rows as R[];
  const db = new PostgresDatabase({ url: appUrl, ownerUrl: dbUrl, poolSize: WRITERS + 1, statementTimeoutMs: STATEMENT_TIMEOUT_MS, applicationName: 'bench-p4-rampart' });
  // Pool settings as PostgresDatabase has them.
  const barePool = new pg.Pool({ connectionString: dbUrl, max: WRITERS, types: pgTypes, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000, application_name: 'bench-p4-bare' });
  barePool.on('error', (err) => progress(`P4 idle connection failed: ${err.message}`));
  return {
    engine: 'postgres',
    label: 'PostgreSQL server',
    db,
    sql,
    sides: {
      bare: {
        label: 'bare INSERT',
        how: `pg.Pool of ${WRITERS} superuser connections, one autocommit INSERT per row into a plain table with audit_queue's columns and primary key (no RLS, triggers, CHECKs or other index)`,
        insert: async (row) => {
          await barePool.query(BARE_INSERT, row);
        },
      },
      'bare-tx': {
        label: 'bare BEGIN/INSERT/COMMIT (context)',
        how: `the same INSERT as bare inside an explicit transaction (BEGIN and the INSERT pipelined, then COMMIT), the shape of an event recorded inside a business transaction; no preamble, no RLS`,
        insert: async (row) => {
          const client = await barePool.connect();
          let failure: Error | undefined;
          try {
            await runBatch(client, [{ text: 'BEGIN' }, { text: BARE_INSERT, values: row }], pgTypes);
            await client.query('COMMIT');
          } catch (err) {
            failure = err instanceof Error ? err : new Error(String(err));
            await client.query('ROLLBACK').catch(() => {});
            throw err;
          } finally {
            client.release(failure);
          }
        },
      },
    },
    pgCpu: postgresCpuSnapshot,
    close: async () => {
      await Promise.allSettled([db.close(), barePool.end(), admin.end()]);
      await withClient(settings.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${P4_DATABASE} WITH (FORCE)`)).catch(() => {});
    },
  };
}

async function pgliteEngine(): Promise<EngineSetup> {
  const db = await PgliteDatabase.open({});
  await db.migrate();
  const sql: Sql = async <R>(text: string, params?: readonly unknown[]) => (await db.pg.query<R>(text, params as unknown[] | undefined)).rows;
  return {
    engine: 'pglite',
    label: 'embedded (PGlite, in process)',
    db,
    sql,
    sides: {
      bare: {
        label: 'bare INSERT',
        how: `the PGlite session as its superuser, one autocommit INSERT per row into the same plain table, from ${WRITERS} loops (PGlite runs one at a time)`,
        insert: async (row) => {
          await db.pg.query(BARE_INSERT, row);
        },
      },
    },
    pgCpu: () => new Map(),
    close: () => db.close(),
  };
}

async function createWorkspace(sql: Sql, tenant: string): Promise<void> {
  // As insertWorkspace writes it: the workspace row, and its audit chain's head with it.
  await sql(`INSERT INTO rampart.workspaces (tenant_id, name, region, created_by) VALUES ($1, 'p4 audit', 'local', NULL)`, [tenant]);
  await sql('INSERT INTO rampart.audit_heads (chain) VALUES ($1) ON CONFLICT DO NOTHING', [tenant]);
}

// ---------------------------------------------------------------------------------------------
// Rounds

export interface P4Round {
  readonly appends: number;
  readonly seconds: number;
  /** Appends per second over the whole span (Rampart: until every one is chained). */
  readonly perSecond: number;
  /** Appends committed per second while the writers ran. */
  readonly writerPerSecond: number;
  /** Rampart: seconds from the writers' last commit until everything was chained. */
  readonly tailSeconds: number | null;
  /** Rampart: wall time of the sequencer's transactions ÷ the span, and how many it ran. */
  readonly sequencerShare: number | null;
  readonly sequencerTransactions: number | null;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly clientCpuUsPerAppend: number;
  readonly pgCpuUsPerAppend: number;
}

export interface P4Side {
  readonly key: SideKey;
  readonly label: string;
  readonly how: string;
  /** Median round. */
  readonly perSecond: number;
  readonly writerPerSecond: number;
  readonly rounds: readonly P4Round[];
}

export interface P4EngineResult {
  readonly engine: Engine;
  readonly label: string;
  readonly writers: number;
  readonly eventsPerWriter: number;
  readonly rounds: number;
  readonly bodyBytes: number;
  readonly sides: readonly P4Side[];
  readonly forks: number;
  readonly checks: readonly string[];
}

export interface P4Result {
  readonly engines: readonly P4EngineResult[];
  readonly measures: readonly Measure[];
}

interface Driven {
  readonly appends: number;
  readonly startMs: number;
  readonly writersDoneMs: number;
  readonly latencies: Float64Array;
}

/** WRITERS loops, each doing `perWriter` appends one after another. */
async function drive(perWriter: number, append: (w: number, i: number) => Promise<void>): Promise<Driven> {
  const latencies = new Float64Array(WRITERS * perWriter);
  const startMs = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const t0 = performance.now();
        await append(w, i);
        latencies[w * perWriter + i] = performance.now() - t0;
      }
    }),
  );
  return { appends: WRITERS * perWriter, startMs, writersDoneMs: performance.now(), latencies: latencies.sort() };
}

interface Context {
  readonly setup: EngineSetup;
  readonly tenant: string;
  readonly accounts: readonly string[];
  readonly audit: AuditLog;
  readonly clock: SequencerClock;
  readonly events: WorkspaceEvents;
  /** Events appended so far on each side (warmup included), to check against. */
  readonly appended: Record<SideKey, number>;
}

/**
 * With `deferred`, the sequencer is stopped before the writers start (appends then only queue)
 * and chains everything in one `audit.sequence` after they finish: the same work, for context.
 */
async function rampartRound(ctx: Context, perWriter: number, deferred = false): Promise<P4Round> {
  const { audit, clock, events, tenant, accounts } = ctx;
  if (deferred) await audit.stop();
  clock.busyMs = 0;
  clock.transactions = 0;
  const pgBefore = ctx.setup.pgCpu();
  const cpuBefore = process.cpuUsage();
  const d = await drive(perWriter, (w, i) => {
    const a = appendOf(accounts, w, i);
    return events.record(tenantContext(tenant, null), a.actor, a.event, a.meta);
  });
  await audit.sequence(tenant);
  const endMs = performance.now();
  const busyMs = clock.busyMs;
  const transactions = clock.transactions;
  const cpu = process.cpuUsage(cpuBefore);
  const pgCpu = postgresCpuBetween(pgBefore, ctx.setup.pgCpu());
  if (deferred) audit.start();
  ctx.appended.rampart += d.appends;
  const head = (await ctx.setup.sql<{ seq: number }>('SELECT seq::int AS seq FROM rampart.audit_heads WHERE chain = $1', [tenant]))[0]?.seq;
  if (head !== ctx.appended.rampart) throw new Error(`P4: after a round the chain's head is at seq ${String(head)}, but ${ctx.appended.rampart} events were appended`);
  const seconds = (endMs - d.startMs) / 1000;
  return {
    appends: d.appends,
    seconds,
    perSecond: d.appends / seconds,
    writerPerSecond: (d.appends * 1000) / (d.writersDoneMs - d.startMs),
    tailSeconds: (endMs - d.writersDoneMs) / 1000,
    sequencerShare: busyMs / (endMs - d.startMs),
    sequencerTransactions: transactions,
    p50Ms: percentile(d.latencies, 50),
    p99Ms: percentile(d.latencies, 99),
    clientCpuUsPerAppend: (cpu.user + cpu.system) / d.appends,
    pgCpuUsPerAppend: (pgCpu * 1e6) / d.appends,
  };
}

async function bareRound(ctx: Context, key: 'bare' | 'bare-tx', side: BareSide, perWriter: number): Promise<P4Round> {
  const pgBefore = ctx.setup.pgCpu();
  const cpuBefore = process.cpuUsage();
  const d = await drive(perWriter, (w, i) => side.insert(bareRow(ctx.tenant, appendOf(ctx.accounts, w, i))));
  const cpu = process.cpuUsage(cpuBefore);
  const pgCpu = postgresCpuBetween(pgBefore, ctx.setup.pgCpu());
  ctx.appended[key] += d.appends;
  const seconds = (d.writersDoneMs - d.startMs) / 1000;
  return {
    appends: d.appends,
    seconds,
    perSecond: d.appends / seconds,
    writerPerSecond: d.appends / seconds,
    tailSeconds: null,
    sequencerShare: null,
    sequencerTransactions: null,
    p50Ms: percentile(d.latencies, 50),
    p99Ms: percentile(d.latencies, 99),
    clientCpuUsPerAppend: (cpu.user + cpu.system) / d.appends,
    pgCpuUsPerAppend: (pgCpu * 1e6) / d.appends,
  };
}

/** 0 forks, or the part fails: the chain verifies, is gap-free from 1 to every event appended, and no link is taken twice. */
async function checkForks(ctx: Context): Promise<string[]> {
  const { audit, tenant, setup } = ctx;
  const n = ctx.appended.rampart;
  const report = await audit.verify(tenant, []);
  if (!report.ok || report.count !== n || report.from !== 1 || report.through !== n) {
    throw new Error(`P4 (${setup.engine}): audit.verify: ${JSON.stringify(report)}; expected ok over seq 1..${n}`);
  }
  const [stats] = await setup.sql<{ n: number; min: number; max: number; prevs: number; hashes: number; ids: number }>(
    `SELECT count(*)::int AS n, coalesce(min(seq), 0)::int AS min, coalesce(max(seq), 0)::int AS max,
            count(DISTINCT prev_hash)::int AS prevs, count(DISTINCT hash)::int AS hashes, count(DISTINCT id)::int AS ids
       FROM rampart.audit_events WHERE tenant_id = $1`,
    [tenant],
  );
  const [queued] = await setup.sql<{ n: number }>('SELECT count(*)::int AS n FROM rampart.audit_queue WHERE tenant_id = $1', [tenant]);
  const [head] = await setup.sql<{ seq: number }>('SELECT seq::int AS seq FROM rampart.audit_heads WHERE chain = $1', [tenant]);
  const problems: string[] = [];
  if (!stats || stats.n !== n || stats.min !== 1 || stats.max !== n) problems.push(`seq not gap-free 1..${n}: ${JSON.stringify(stats)}`);
  if (stats && (stats.prevs !== stats.n || stats.hashes !== stats.n || stats.ids !== stats.n)) problems.push(`a prev_hash, hash or id is taken twice: ${JSON.stringify(stats)}`);
  if (queued?.n !== 0) problems.push(`${String(queued?.n)} events left in audit_queue`);
  if (head?.seq !== n) problems.push(`the head is at seq ${String(head?.seq)}, expected ${n}`);
  if (problems.length > 0) throw new Error(`P4 (${setup.engine}): the chain forked or lost events: ${problems.join('; ')}`);
  return [
    `audit.verify(tenant, []) ok: seq 1–${n}, ${report.count} events, head ${report.head.slice(0, 16)}… = the head row`,
    `${n} events appended (warmup included) = ${stats!.n} chained, seq gap-free 1–${stats!.max}, ${stats!.prevs} distinct prev_hash, ${stats!.hashes} distinct hash, 0 left in audit_queue`,
  ];
}

async function runEngine(setup: EngineSetup, perWriter: number, rounds: number): Promise<P4EngineResult> {
  const tenant = newId();
  const accounts = Array.from({ length: WRITERS }, () => newId());
  await createWorkspace(setup.sql, tenant);
  await setup.sql(`CREATE TABLE ${BARE_TABLE} (LIKE rampart.audit_queue INCLUDING DEFAULTS, PRIMARY KEY (tenant_id, id))`);
  const clock = new SequencerClock(setup.db);
  const audit = new AuditLog(clock);
  const events = new WorkspaceEvents(setup.db, audit);
  audit.start();
  const ctx: Context = { setup, tenant, accounts, audit, clock, events, appended: { rampart: 0, 'rampart-deferred': 0, bare: 0, 'bare-tx': 0 } };
  try {
    const sides: Array<{ key: SideKey; run: (n: number) => Promise<P4Round> }> = [
      { key: 'rampart', run: (n) => rampartRound(ctx, n) },
      ...(setup.engine === 'postgres' ? [{ key: 'rampart-deferred' as const, run: (n: number) => rampartRound(ctx, n, true) }] : []),
      ...(['bare', 'bare-tx'] as const).flatMap((key) => {
        const side = setup.sides[key];
        return side ? [{ key, run: (n: number) => bareRound(ctx, key, side, n) }] : [];
      }),
    ];
    // As a settled database would be (autovacuum may be off, as on the bench server): before
    // every round, dead queue rows vacuumed and statistics current on every table either side writes.
    const settle = () => setup.sql(`VACUUM (ANALYZE) rampart.audit_queue, rampart.audit_events, rampart.audit_heads, ${BARE_TABLE}`);
    const warmup = Math.max(50, Math.floor(perWriter / 4));
    for (const side of sides) {
      await settle();
      const r = await side.run(warmup);
      progress(`P4 (${setup.engine}) warmup ${side.key}: ${r.perSecond.toFixed(0)} appends/s`);
    }
    const done = new Map<SideKey, P4Round[]>(sides.map((s) => [s.key, []]));
    for (let r = 0; r < rounds; r++) {
      for (const side of rotate(sides, r)) {
        await settle();
        const round = await side.run(perWriter);
        done.get(side.key)!.push(round);
        progress(
          `P4 (${setup.engine}) round ${r + 1}/${rounds} ${side.key}: ${round.perSecond.toFixed(0)} appends/s` +
            (round.tailSeconds !== null
              ? ` (writers ${round.writerPerSecond.toFixed(0)}/s; sequencer tail ${(round.tailSeconds * 1000).toFixed(0)} ms, busy ${((round.sequencerShare ?? 0) * 100).toFixed(0)}% in ${round.sequencerTransactions} transactions)`
              : '') +
            `; client ${round.clientCpuUsPerAppend.toFixed(0)} µs, PG ${round.pgCpuUsPerAppend.toFixed(0)} µs CPU per append`,
        );
      }
    }
    await audit.stop();
    const checks = await checkForks(ctx);
    const [bare] = await setup.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${BARE_TABLE}`);
    const bareExpected = ctx.appended.bare + ctx.appended['bare-tx'];
    if (bare?.n !== bareExpected) throw new Error(`P4 (${setup.engine}): the bare table holds ${String(bare?.n)} rows, expected ${bareExpected}`);
    checks.push(`the bare table holds the ${bareExpected} rows its sides inserted`);
    const [sample] = await setup.sql<{ rampart: number; bare: number }>(
      `SELECT (SELECT avg(octet_length(body))::float8 FROM rampart.audit_events WHERE tenant_id = $1) AS rampart,
              (SELECT avg(octet_length(body))::float8 FROM ${BARE_TABLE}) AS bare`,
      [tenant],
    );
    checks.push(`mean body ${sample!.rampart.toFixed(1)} bytes (Rampart) and ${sample!.bare.toFixed(1)} bytes (bare): the same text, built by the same functions`);
    const labels = {
      rampart: {
        label: 'Rampart WorkspaceEvents.record',
        how:
          setup.engine === 'postgres'
            ? `PostgresDatabase as ${APP_LOGIN} → ${APP_ROLE}, pool of ${WRITERS + 1}: each append its own one-statement transaction (withTenant with autocommit: the preamble and the INSERT … RETURNING in one round trip, committing on its own); the AuditLog sequencer running meanwhile (nudged on commit); the span ends when audit.sequence(tenant) has chained every event`
            : `PgliteDatabase (one connection: transactions run one at a time), each append its own withTenant transaction; the sequencer running meanwhile; the span ends when every event is chained`,
      },
      'rampart-deferred': {
        label: 'Rampart, sequencer paused (context)',
        how: `the same appends with the sequencer stopped while the writers run (they only queue), then one audit.sequence(tenant) chains the round's events in batches of 2,000 inside the span: the writers' cost alone, and the sequencer's alone`,
      },
      bare: setup.sides.bare,
      'bare-tx': setup.sides['bare-tx'] ?? { label: '', how: '' },
    };
    return {
      engine: setup.engine,
      label: setup.label,
      writers: WRITERS,
      eventsPerWriter: perWriter,
      rounds,
      bodyBytes: sample!.rampart,
      sides: sides.map((s) => {
        const rs = done.get(s.key)!;
        return {
          key: s.key,
          label: labels[s.key].label,
          how: labels[s.key].how,
          perSecond: median(rs.map((x) => x.perSecond)),
          writerPerSecond: median(rs.map((x) => x.writerPerSecond)),
          rounds: rs,
        };
      }),
      forks: 0,
      checks,
    };
  } finally {
    await audit.stop().catch(() => {});
  }
}

function eventsSetting(): number {
  const raw = process.env['BENCH_P4_EVENTS'];
  if (raw === undefined || raw.trim() === '') return DEFAULT_EVENTS_PER_WRITER;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10) throw new Error(`BENCH_P4_EVENTS must be an integer ≥ 10, got "${raw}"`);
  return n;
}

export async function runP4(settings: BenchSettings): Promise<P4Result> {
  const perWriter = eventsSetting();
  const engines: P4EngineResult[] = [];

  progress(`P4 (postgres): ${WRITERS} writers × ${perWriter} appends per round`);
  const server = await serverEngine(settings);
  try {
    engines.push(await runEngine(server, perWriter, settings.rounds ?? DEFAULT_ROUNDS.postgres));
  } finally {
    await server.close();
  }

  progress(`P4 (pglite): ${WRITERS} writers × ${perWriter} appends per round`);
  const lite = await pgliteEngine();
  try {
    engines.push(await runEngine(lite, perWriter, settings.rounds ?? DEFAULT_ROUNDS.pglite));
  } finally {
    await lite.close();
  }

  const pgServer = engines.find((e) => e.engine === 'postgres')!;
  const side = (key: SideKey) => pgServer.sides.find((s) => s.key === key)!;
  const invalid = perWriter < DEFAULT_EVENTS_PER_WRITER ? [`${perWriter} events per writer (BENCH_P4_EVENTS), not ${DEFAULT_EVENTS_PER_WRITER}`] : [];
  const measures = [
    measure(
      {
        id: 'p4.appends_vs_raw_insert',
        title: `P4 audit appends/s, ${WRITERS} writers on one tenant, 0 forks: Rampart vs raw INSERT`,
        figure: { label: 'appended + chained', value: side('rampart').perSecond, unit: 'appends/s' },
        reference: { label: 'raw INSERT', value: side('bare').perSecond, unit: 'rows/s' },
        goal: { op: '>=', value: GOAL_VS_RAW, unit: 'x', source: 'project brief' },
      },
      invalid,
    ),
  ];
  return { engines, measures };
}
