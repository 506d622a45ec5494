/**
 * P2 — an authenticated read over HTTP, against a bare Fastify + pg server doing the same query.
 *
 * Starts Rampart (`node bin/rampart.js start`, the built server) on a fresh database, creates an
 * account, a bearer token, a workspace, a collection and records through the API, then starts the
 * bare peer (bench/bare-server.ts) on the same database. Both answer the same record with the
 * same JSON; autocannon (16 connections, no pipelining) loads them in alternating rounds, bare
 * first. Each side's figure is its best round. Rampart's resident memory is read idle (after
 * setup) and sampled every 100 ms under load.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import autocannon from 'autocannon';
import ts from 'typescript';
import { LocalKeyProvider } from '../src/platform/crypto/providers/local.js';
import { measure, type Measure } from './report.js';
import {
  BARE_ROLE,
  Child,
  childEnv,
  ensureBareRole,
  expectStatus,
  http,
  MB,
  percentile,
  pgUrl,
  postgresCpuBetween,
  postgresCpuSnapshot,
  progress,
  readCpuSeconds,
  readMemory,
  recreateDatabase,
  RssSampler,
  ROOT,
  sleep,
  startRampart,
  START_TIMEOUT_MS,
  stringField,
  timing,
  withClient,
  type BenchSettings,
} from './util.js';

export const P2_DATABASE = 'rampart_bench_http';
export const CONNECTIONS = 16;
const DEFAULTS = { seconds: 10, warmupSeconds: 3, rounds: 2 };
const RECORDS = 100;
const TARGET = 50;
const COLLECTION = 'tickets';
const BARE_POOL_SIZE = 10;

const recordData = (n: number) => ({ title: `Ticket ${n}`, n, status: 'open', priority: 'normal', tags: ['bench', 'p2'] });

interface Target {
  readonly key: 'bare' | 'rampart';
  readonly label: string;
  readonly how: string;
  readonly child: Child;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** The exact body every response must carry (checked by autocannon on each response). */
  readonly body: string;
}

interface Run {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly mismatches: number;
  /** CPU per request of the server process, and of PostgreSQL (all its processes). */
  readonly serverCpuUsPerRequest: number;
  readonly pgCpuUsPerRequest: number;
}

export interface P2Side {
  readonly key: Target['key'];
  readonly label: string;
  readonly how: string;
  /** The best measured round. */
  readonly best: Run;
  readonly rounds: readonly Run[];
  /** Over every run of this side, warmup included. */
  readonly failures: { readonly non2xx: number; readonly errors: number; readonly timeouts: number; readonly mismatches: number };
  readonly rssIdleMb: number;
  readonly rssLoadedMaxMb: number;
  readonly rssSamples: number;
  /** Peak RSS since the process started (VmHWM), read at the end. */
  readonly rssPeakMb: number;
}

export interface P2Result {
  readonly timing: { readonly seconds: number; readonly warmupSeconds: number; readonly rounds: number; readonly connections: number };
  readonly checks: readonly string[];
  readonly sides: readonly P2Side[];
  readonly measures: readonly Measure[];
}

/**
 * One autocannon run. Latencies are taken from every response (autocannon's own histogram keeps
 * whole milliseconds); CPU is the server process's, and PostgreSQL's, over the run.
 */
async function load(target: Target, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  const pgBefore = postgresCpuSnapshot();
  const cpuBefore = readCpuSeconds(target.child.pid);
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      { url: target.url, connections: CONNECTIONS, pipelining: 1, duration: seconds, headers: target.headers, expectBody: target.body },
      (err: unknown, result) => (err ? reject(err instanceof Error ? err : new Error('autocannon failed', { cause: err })) : resolve(result)),
    );
    instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  });
  const serverCpu = readCpuSeconds(target.child.pid) - cpuBefore;
  const pgCpu = postgresCpuBetween(pgBefore, postgresCpuSnapshot());
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: r.requests.average,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    serverCpuUsPerRequest: (serverCpu / r.requests.total) * 1e6,
    pgCpuUsPerRequest: (pgCpu / r.requests.total) * 1e6,
  };
}

/**
 * The workspace's current tenant key, unwrapped with the root key from the data directory's key
 * file, for the bare server (which has no keyring or KMS).
 */
async function unwrapTenantKey(dbUrl: string, dataDir: string, tenantId: string): Promise<Buffer> {
  const file = JSON.parse(readFileSync(path.join(dataDir, 'root-keys.json'), 'utf8')) as { versions: Array<{ version: number; key: string }> };
  const root = LocalKeyProvider.open({ kind: 'env', value: file.versions.map((v) => `${v.version}:${v.key}`).join(',') });
  const row = await withClient(dbUrl, async (c) => {
    const { rows } = await c.query<{ version: number; key_ref: string; wrapped: Buffer }>(
      `SELECT k.version, k.key_ref, k.wrapped FROM rampart.tenant_keys k JOIN rampart.tenant_keyrings r
          ON r.tenant_id = k.tenant_id AND r.current_version = k.version WHERE k.tenant_id = $1`,
      [tenantId],
    );
    return rows[0];
  });
  if (!row) throw new Error('the bench workspace has no tenant key');
  return root.unwrap(row.key_ref, row.wrapped, { tenantId, version: row.version });
}

/** Account, bearer token, workspace, collection and records, all through the API. */
async function seed(base: string, setupToken: string): Promise<{ token: string; workspaceId: string; recordId: string }> {
  const email = 'bench@example.com';
  const password = randomBytes(18).toString('base64url');
  expectStatus(await http('POST', `${base}/api/v1/auth/sign-up`, { email, password, setupToken }), 201, 'sign-up');
  const token = stringField(expectStatus(await http('POST', `${base}/api/v1/auth/tokens`, { email, password }), 201, 'token'), 'token', 'token');
  const workspaceId = stringField(
    expectStatus(await http('POST', `${base}/api/v1/workspaces`, { name: 'Bench' }, token), 201, 'create workspace'),
    'id',
    'create workspace',
  );
  const collections = `${base}/api/v1/workspaces/${workspaceId}/collections`;
  expectStatus(await http('POST', collections, { name: COLLECTION }, token), 201, 'create collection');
  let recordId = '';
  for (let n = 1; n <= RECORDS; n++) {
    const created = expectStatus(await http('POST', `${collections}/${COLLECTION}/records`, { data: recordData(n) }, token), 201, 'create record');
    if (n === TARGET) recordId = stringField(created, 'id', 'create record');
  }
  return { token, workspaceId, recordId };
}

/** Both servers answer the record, with the same JSON, and Rampart refuses an anonymous read. */
async function verify(rampart: Target, bare: Target, recordId: string, token: string): Promise<string[]> {
  const r = await http('GET', rampart.url, undefined, token);
  const rJson = expectStatus(r, 200, 'Rampart GET record');
  if (stringField(rJson, 'id', 'Rampart GET record') !== recordId) throw new Error(`Rampart returned another record: ${r.text}`);
  const data = (rJson as { data?: unknown }).data;
  if (!isDeepStrictEqual(data, recordData(TARGET))) throw new Error(`Rampart returned other data: ${r.text}`);
  expectStatus(await http('GET', rampart.url), 401, 'Rampart GET record without a token');
  const b = await http('GET', bare.url);
  const bJson = expectStatus(b, 200, 'bare GET record');
  if (!isDeepStrictEqual(rJson, bJson)) throw new Error(`the bare server answers differently:\n  Rampart: ${r.text}\n  bare:    ${b.text}`);
  if (r.text !== rampart.body || b.text !== bare.body) throw new Error('internal: verified bodies differ from the expected ones');
  return [
    'Rampart answers the record (200) with the bearer token, and 401 without it',
    'the bare server answers the same JSON',
    'autocannon checks every response body against the verified one (mismatches must be 0)',
  ];
}

/**
 * The bare server as plain JavaScript (types stripped by the TypeScript compiler) in .bench/, so
 * it runs on bare Node as Rampart's dist/ does — a loader like tsx would add ~20 MB and a thread.
 */
function compileBareServer(): string {
  const source = readFileSync(path.join(ROOT, 'bench', 'bare-server.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'bare-server.ts',
  });
  // Rampart's compiled envelope code, as the server itself runs it.
  const js = outputText.replace("'../src/platform/crypto/envelope.js'", "'../dist/platform/crypto/envelope.js'");
  if (js === outputText) throw new Error('internal: the bare server no longer imports the envelope code');
  const dir = path.join(ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'bare-server.mjs');
  writeFileSync(file, js);
  return file;
}

function mb(bytes: number): number {
  return bytes / MB;
}

export async function runP2(settings: BenchSettings): Promise<P2Result> {
  const t = timing(settings, DEFAULTS);
  const dbUrl = pgUrl(settings.adminUrl, { database: P2_DATABASE });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-'));
  const started: Child[] = [];
  try {
    await recreateDatabase(settings.adminUrl, P2_DATABASE);
    progress(`P2 starting Rampart on database ${P2_DATABASE}`);
    const rampartProc = await startRampart({ dbUrl, dataDir, started, profileDir: '/tmp/prof' });
    const { token, workspaceId, recordId } = await seed(rampartProc.url, rampartProc.setupToken);
    progress(`P2 seeded workspace ${workspaceId} with ${RECORDS} records`);

    await withClient(dbUrl, (c) => ensureBareRole(c));
    const tenantKey = await unwrapTenantKey(dbUrl, dataDir, workspaceId);
    const bareChild = new Child('bare server', process.execPath, [compileBareServer()], {
      cwd: ROOT,
      env: childEnv({
        BARE_DATABASE_URL: pgUrl(dbUrl, { user: BARE_ROLE }),
        BARE_TENANT_KEY: tenantKey.toString('hex'),
        BARE_POOL_SIZE: String(BARE_POOL_SIZE),
        PORT: '0',
      }),
    });
    started.push(bareChild);
    const bareUrl = (await bareChild.waitForLine(/listening on (https?:\/\/\S+)/, START_TIMEOUT_MS))[1]!;

    const rampartGet = `${rampartProc.url}/api/v1/workspaces/${workspaceId}/collections/${COLLECTION}/records/${recordId}`;
    const bareGet = `${bareUrl}/records/${workspaceId}/${recordId}`;
    const rampartBody = (await http('GET', rampartGet, undefined, token)).text;
    const bareBody = (await http('GET', bareGet)).text;
    const targets: Target[] = [
      {
        key: 'bare',
        label: 'bare Fastify+pg',
        how: `Fastify 5 + pg.Pool(${BARE_POOL_SIZE}) as ${BARE_ROLE}, no auth, same query with explicit tenant`,
        child: bareChild,
        url: bareGet,
        headers: {},
        body: bareBody,
      },
      {
        key: 'rampart',
        label: 'Rampart',
        how: 'node bin/rampart.js start (dist/), Authorization: Bearer, membership check, withTenant + RLS',
        child: rampartProc.child,
        url: rampartGet,
        headers: { authorization: `Bearer ${token}` },
        body: rampartBody,
      },
    ];
    const checks = await verify(targets[1]!, targets[0]!, recordId, token);
    for (const c of checks) progress(`P2 check: ${c}`);

    await sleep(1_000);
    const idle = new Map(targets.map((x) => [x.key, readMemory(x.child.pid).rss]));
    progress(`P2 idle RSS: ${targets.map((x) => `${x.label} ${mb(idle.get(x.key)!).toFixed(1)} MB`).join(', ')}`);

    const samplers = new Map(targets.map((x) => [x.key, new RssSampler(x.child.pid, 100)]));
    const runs = new Map<Target['key'], Run[]>(targets.map((x) => [x.key, []]));
    const all = new Map<Target['key'], Run[]>(targets.map((x) => [x.key, []]));
    try {
      for (const target of targets) {
        progress(`P2 warmup ${target.label} ${t.warmupSeconds} s`);
        all.get(target.key)!.push(await load(target, t.warmupSeconds));
      }
      for (let r = 0; r < t.rounds; r++) {
        for (const target of targets) {
          const run = await load(target, t.seconds);
          runs.get(target.key)!.push(run);
          all.get(target.key)!.push(run);
          progress(`P2 round ${r + 1}/${t.rounds} ${target.label}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms`);
        }
      }
    } finally {
      for (const sampler of samplers.values()) sampler.stop();
    }
    const sampled = new Map(targets.map((x) => [x.key, samplers.get(x.key)!.stop()]));

    const sides: P2Side[] = targets.map((x) => {
      const rounds = runs.get(x.key)!;
      const best = rounds.reduce((a, b) => (b.rps > a.rps ? b : a));
      const sum = (f: (run: Run) => number) => all.get(x.key)!.reduce((acc, run) => acc + f(run), 0);
      return {
        key: x.key,
        label: x.label,
        how: x.how,
        best,
        rounds,
        failures: { non2xx: sum((z) => z.non2xx), errors: sum((z) => z.errors), timeouts: sum((z) => z.timeouts), mismatches: sum((z) => z.mismatches) },
        rssIdleMb: mb(idle.get(x.key)!),
        rssLoadedMaxMb: mb(sampled.get(x.key)!.maxRss),
        rssSamples: sampled.get(x.key)!.samples,
        rssPeakMb: mb(readMemory(x.child.pid).hwm),
      };
    });

    const side = (key: Target['key']) => sides.find((s) => s.key === key)!;
    const rampart = side('rampart');
    const bare = side('bare');
    const invalid = sides.flatMap((s) =>
      Object.entries(s.failures)
        .filter(([, n]) => n > 0)
        .map(([what, n]) => `${s.label}: ${n} ${what}`),
    );
    const measures = [
      measure(
        {
          id: 'p2.rampart_vs_bare',
          title: `P2 GET one record, ${CONNECTIONS} conns: Rampart vs bare`,
          figure: { label: rampart.label, value: rampart.best.rps, unit: 'req/s' },
          reference: { label: bare.label, value: bare.best.rps, unit: 'req/s' },
          goal: { op: '>=', value: 0.6, unit: 'x', source: 'project brief' },
        },
        invalid,
      ),
      measure({
        id: 'p2.rss_idle',
        title: 'P2 Rampart RSS idle (after setup)',
        figure: { label: rampart.label, value: rampart.rssIdleMb, unit: 'MB' },
        reference: { label: bare.label, value: bare.rssIdleMb, unit: 'MB' },
        goal: { op: '<=', value: 150, unit: 'MB', source: 'project brief' },
      }),
      measure(
        {
          id: 'p2.rss_loaded',
          title: 'P2 Rampart RSS under load (max, 100 ms samples)',
          figure: { label: rampart.label, value: rampart.rssLoadedMaxMb, unit: 'MB' },
          reference: { label: bare.label, value: bare.rssLoadedMaxMb, unit: 'MB' },
          goal: { op: '<=', value: 300, unit: 'MB', source: 'project brief' },
        },
        rampart.rssSamples < 10 ? [`only ${rampart.rssSamples} RSS samples`] : [],
      ),
    ];
    return { timing: { ...t, connections: CONNECTIONS }, checks, sides, measures };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}
