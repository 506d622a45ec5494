/**
 * Shared pieces of the benchmark harness: settings from the environment, statistics, PostgreSQL
 * administration, child processes (always killed on exit), /proc memory readings, JSON over HTTP.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Database, MigrationReport, TenantContext, Tx, TxOptions } from '../src/platform/db/types.js';

/** The repository root (bench/ sits directly below it). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// Settings

export interface BenchSettings {
  /** A superuser URL; the benchmark databases are created next to its database. */
  readonly adminUrl: string;
  /** Length of each measured round in seconds; undefined means each part's default. */
  readonly seconds: number | undefined;
  /** Warmup length in seconds; undefined means each part's default (capped by `seconds`). */
  readonly warmupSeconds: number | undefined;
  /** Measured rounds per side; undefined means each part's default. */
  readonly rounds: number | undefined;
  readonly only: BenchPart | undefined;
  /** Exit non-zero when a goal is missed (not only when the harness fails). */
  readonly strict: boolean;
}

function envNumber(name: string, integer = false): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
  }
  return n;
}

/** The parts BENCH_ONLY may name. */
export const BENCH_PARTS = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9', 'p10'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

function isBenchPart(value: string | undefined): value is BenchPart {
  return (BENCH_PARTS as readonly string[]).includes(value ?? '');
}

export function readSettings(): BenchSettings {
  const only = process.env['BENCH_ONLY']?.trim().toLowerCase();
  if (only !== undefined && only !== '' && !isBenchPart(only)) {
    throw new Error(`BENCH_ONLY must be one of ${BENCH_PARTS.join(', ')}, got "${only}"`);
  }
  return {
    adminUrl: process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres',
    seconds: envNumber('BENCH_SECONDS'),
    warmupSeconds: envNumber('BENCH_WARMUP_SECONDS'),
    rounds: envNumber('BENCH_ROUNDS', true),
    only: isBenchPart(only) ? only : undefined,
    strict: ['1', 'true', 'yes'].includes(process.env['BENCH_STRICT']?.toLowerCase() ?? ''),
  };
}

/** A part's timing: the settings when given, its defaults otherwise; warmup never exceeds a round. */
export function timing(settings: BenchSettings, defaults: { seconds: number; warmupSeconds: number; rounds: number }) {
  const seconds = settings.seconds ?? defaults.seconds;
  return {
    seconds,
    warmupSeconds: settings.warmupSeconds ?? Math.min(defaults.warmupSeconds, seconds),
    rounds: settings.rounds ?? defaults.rounds,
  };
}

/** Progress goes to stderr, so stdout carries only the report. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------
// Statistics

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of values sorted ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Rotates a list left by n, so alternating sides take turns going first. */
export function rotate<T>(items: readonly T[], n: number): T[] {
  const k = ((n % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// PostgreSQL administration

/** The same server URL with another database and/or user (no password: trust auth). */
export function pgUrl(base: string, change: { database?: string; user?: string }): string {
  const u = new URL(base);
  if (change.database !== undefined) u.pathname = `/${change.database}`;
  if (change.user !== undefined) {
    u.username = change.user;
    u.password = '';
  }
  return u.toString();
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`refusing to use "${name}" as an SQL identifier`);
  return name;
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'rampart-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates the database when it does not exist; true when it was created. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  return withClient(adminUrl, async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await c.query(`CREATE DATABASE ${ident(name)}`);
    return true;
  });
}

export async function recreateDatabase(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${ident(name)}`);
  });
}

/**
 * Creates a login role, or resets the attributes of an existing one. Roles are cluster-wide, so a
 * concurrent creator is tolerated.
 */
export async function ensureLoginRole(c: pg.ClientBase, name: string, attributes: string, memberOf?: string): Promise<void> {
  const role = ident(name);
  if (!/^[A-Z ]+$/.test(attributes)) throw new Error(`unexpected role attributes "${attributes}"`);
  await c.query(`DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
        BEGIN
          CREATE ROLE ${role} LOGIN ${attributes};
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
          NULL;
        END;
      END IF;
    END
  $$`);
  await c.query(`ALTER ROLE ${role} LOGIN ${attributes}`);
  if (memberOf !== undefined) await c.query(`GRANT ${ident(memberOf)} TO ${role}`);
}

/** A role that reads the rampart schema around row-level security: the "bare" side. */
export const BARE_ROLE = 'rampart_bench_bare';

/** Creates the bare role (BYPASSRLS, not superuser) and lets it read this database's rampart tables. */
export async function ensureBareRole(c: pg.ClientBase): Promise<void> {
  await ensureLoginRole(c, BARE_ROLE, 'NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE');
  await c.query(`GRANT USAGE ON SCHEMA rampart TO ${BARE_ROLE}`);
  await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA rampart TO ${BARE_ROLE}`);
}

export interface RoleFlags {
  readonly superuser: boolean;
  readonly bypassRls: boolean;
}

export async function roleFlags(c: pg.ClientBase, name: string): Promise<RoleFlags> {
  const { rows } = await c.query<{ superuser: boolean; bypass: boolean }>(
    'SELECT rolsuper AS superuser, rolbypassrls AS bypass FROM pg_roles WHERE rolname = $1',
    [name],
  );
  const row = rows[0];
  if (!row) throw new Error(`role ${name} does not exist`);
  return { superuser: row.superuser, bypassRls: row.bypass };
}

// ---------------------------------------------------------------------------------------------
// Child processes

const children = new Set<ChildProcess>();

function killAllChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// Whatever ends this process, its servers go with it.
process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    progress(`received ${signal}; stopping child processes`);
    killAllChildren();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}

/** A child process whose output is kept (the last lines) and can be waited on line by line. */
export class Child {
  readonly process: ChildProcess;
  private readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();
  private exited = false;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions,
  ) {
    this.process = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.process);
    for (const stream of [this.process.stdout, this.process.stderr]) {
      if (!stream) continue;
      // Always drained: a child blocked on a full pipe would stall the benchmark.
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        if (this.lines.length > 500) this.lines.shift();
        for (const wake of this.waiters) wake();
      });
    }
    this.process.once('exit', () => {
      this.exited = true;
      children.delete(this.process);
      for (const wake of this.waiters) wake();
    });
  }

  get pid(): number {
    if (this.process.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.process.pid;
  }

  /** The last lines it printed, for error messages. */
  tail(n = 30): string {
    return this.lines.slice(-n).join('\n');
  }

  /** Resolves with the first line (printed so far or later) that matches. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.lines) {
          const m = pattern.exec(line);
          if (m) return finish(() => resolve(m));
        }
        if (this.exited) {
          finish(() => reject(new Error(`${this.name} exited (code ${String(this.process.exitCode)}) before printing ${pattern}:\n${this.tail()}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`${this.name} did not print ${pattern} within ${timeoutMs} ms:\n${this.tail()}`))),
        timeoutMs,
      );
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return;
    const exited = once(this.process, 'exit');
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Runs a command to completion with its output on our stderr; rejects on a non-zero exit. */
export async function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', process.stderr, process.stderr] });
  children.add(child);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  children.delete(child);
  if (code !== 0) throw new Error(`\`${command} ${args.join(' ')}\` failed (${signal ?? `exit code ${String(code)}`})`);
}

/** Environment for a child: ours without any Rampart or database settings, plus the given ones. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(RAMPART_|DATABASE_|BENCH_)/.test(key) || ['PORT', 'HOST', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Memory

export interface ProcMemory {
  /** Resident set size now, in bytes. */
  readonly rss: number;
  /** Peak resident set size since the process started, in bytes. */
  readonly hwm: number;
}

export function readMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

let clockTicks: number | undefined;

/** user + system CPU seconds from the text of /proc/<pid>/stat. */
function cpuFromStat(stat: string): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** CPU time (user + system) the process has used so far, in seconds. */
export function readCpuSeconds(pid: number): number {
  return cpuFromStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds used so far by each process named `postgres` on this machine (server, backends, workers). */
export function postgresCpuSnapshot(): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres') snapshot.set(Number(entry), cpuFromStat(stat));
    } catch {
      // The process ended while we looked.
    }
  }
  return snapshot;
}

/**
 * PostgreSQL CPU seconds between two snapshots. Processes that started in between count whole;
 * processes that ended in between are left out (idle pool connections timing out). NaN when no
 * postgres process is visible (a server on another machine).
 */
export function postgresCpuBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  if (after.size === 0) return Number.NaN;
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/** Samples VmRSS every intervalMs and keeps the maximum. */
export class RssSampler {
  private max = 0;
  private samples = 0;
  private result: { maxRss: number; samples: number } | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs = 100,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    try {
      this.max = Math.max(this.max, readMemory(this.pid).rss);
      this.samples++;
    } catch {
      // The process is gone; the run will fail on its own.
    }
  }

  /** Takes a last sample and stops; later calls return the same result. */
  stop(): { maxRss: number; samples: number } {
    if (!this.result) {
      clearInterval(this.timer);
      this.sample();
      this.result = { maxRss: this.max, samples: this.samples };
    }
    return this.result;
  }
}

export const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// JSON over HTTP

export interface HttpReply {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

export async function http(method: 'GET' | 'POST', url: string, body?: unknown, token?: string): Promise<HttpReply> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, text, json: parseJson(text) };
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** The reply's JSON, when its status is the expected one. */
export function expectStatus(reply: HttpReply, status: number, what: string): unknown {
  if (reply.status !== status) throw new Error(`${what}: expected HTTP ${status}, got ${reply.status}: ${reply.text.slice(0, 500)}`);
  return reply.json;
}

/** A string field of a JSON object, or an error naming what was expected. */
export function stringField(value: unknown, key: string, what: string): string {
  if (typeof value === 'object' && value !== null && key in value) {
    const field = (value as Record<string, unknown>)[key];
    if (typeof field === 'string') return field;
  }
  throw new Error(`${what}: expected a string "${key}" in ${JSON.stringify(value)?.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------------------------
// Rampart itself

export const START_TIMEOUT_MS = 60_000;

/**
 * Starts the built server (`bin/rampart.js start`) on a fresh database, with `env` on top of the
 * bench defaults; resolves with its URL and the one-time setup token. The child is pushed onto
 * `started` before anything can fail, so the caller stops it either way. With PROF set, the
 * server writes a CPU profile into `profileDir`.
 */
export async function startRampart(options: {
  dbUrl: string;
  dataDir: string;
  started: Child[];
  profileDir: string;
  env?: Record<string, string>;
}): Promise<{ child: Child; url: string; setupToken: string }> {
  const prof = process.env['PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const child = new Child('rampart', process.execPath, [...prof, path.join(ROOT, 'bin', 'rampart.js'), 'start'], {
    cwd: ROOT,
    env: childEnv({
      DATABASE_URL: options.dbUrl,
      RAMPART_ROOT_SECRET: randomBytes(32).toString('base64url'),
      PORT: '0',
      LOG_LEVEL: 'warn',
      RAMPART_DATA_DIR: options.dataDir,
      ...options.env,
    }),
  });
  options.started.push(child);
  const listening = await child.waitForLine(/listening on (https?:\/\/\S+)/, START_TIMEOUT_MS);
  const setup = await child.waitForLine(/\/setup#token=(\S+)/, START_TIMEOUT_MS);
  return { child, url: listening[1]!, setupToken: setup[1]! };
}

// ---------------------------------------------------------------------------------------------
// Rampart's transactions, timed from outside

/** Which of a Database's kinds of transaction ran. */
export type TxKind = 'tenant' | 'account' | 'global';

/**
 * The same database, each transaction's wall time handed to `timed` as it ends: where Rampart's
 * time goes, measured without changing Rampart.
 */
export abstract class TimedDatabase implements Database {
  constructor(private readonly inner: Database) {}
  get kind() {
    return this.inner.kind;
  }
  /** A transaction of `kind` (run with `options`) took `ms`. */
  protected abstract timed(ms: number, kind: TxKind, options: TxOptions | undefined): void;
  private async time<T>(kind: TxKind, options: TxOptions | undefined, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.timed(performance.now() - start, kind, options);
    }
  }
  withTenant<T>(ctx: TenantContext, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.time('tenant', options, () => this.inner.withTenant(ctx, fn, options));
  }
  withAccount<T>(accountId: string, fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.time('account', options, () => this.inner.withAccount(accountId, fn, options));
  }
  withGlobal<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.time('global', options, () => this.inner.withGlobal(fn, options));
  }
  migrate(): Promise<MigrationReport> {
    return this.inner.migrate();
  }
  ready(): Promise<void> {
    return this.inner.ready();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
